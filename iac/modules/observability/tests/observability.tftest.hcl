# The alarm topic with a mock AWS provider: alarms can only deliver to it when
# its key is customer-managed and lets CloudWatch use it (issue 9, item 5).
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:ot-alarms" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:mock" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:111122223333:rule/mock" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/mock" }
  }
}

variables {
  name_prefix           = "ot"
  state_machine_arn     = "arn:aws:states:eu-west-1:111122223333:stateMachine:ot"
  job_queue_arn         = "arn:aws:batch:eu-west-1:111122223333:job-queue/ot-gpu"
  lambda_function_names = { api = "ot-api" }
  api_id                = "abc123"
  alarm_email           = "ops@example.com"
}

run "alarm_topic_uses_a_customer_managed_key_cloudwatch_may_use" {
  command = apply

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.alarms.arn
    error_message = "the alarm topic must use the module's customer-managed key, not alias/aws/sns"
  }
  assert {
    condition     = aws_kms_key.alarms.enable_key_rotation
    error_message = "the alarm key must rotate"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.alarms.policy).Statement :
      s.Effect == "Allow" && try(s.Principal.Service, "") == "cloudwatch.amazonaws.com" &&
      contains(flatten([s.Action]), "kms:Decrypt") && contains(flatten([s.Action]), "kms:GenerateDataKey*")
    ])
    error_message = "the key policy must let cloudwatch.amazonaws.com Decrypt and GenerateDataKey*"
  }
}
