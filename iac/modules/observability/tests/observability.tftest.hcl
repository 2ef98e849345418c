# The alarm topic with a mock AWS provider: alarms can only deliver to it when
# its key is customer-managed and lets CloudWatch use it (an AWS-managed key's policy
# cannot grant CloudWatch, so alarms would fail to publish without a word).
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

# Issue H8: a user's cancel ends an execution ABORTED, and ExecutionsAborted paged on every one.
# Alarms were missing for what does go wrong: a job blocking the queue in RUNNABLE, throttled
# Lambdas, API error rates. moto evaluates no alarms, so they are asserted here. AWS: "Monitoring
# Step Functions metrics using Amazon CloudWatch"
# (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html), "Job queue
# blocked events" (https://docs.aws.amazon.com/batch/latest/userguide/batch-job-queue-blocked-events.html),
# "Types of metrics for Lambda functions" (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html),
# "Monitor CloudWatch metrics for HTTP APIs" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
run "a_users_cancel_does_not_page" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.failed_executions)) == toset(["ExecutionsFailed", "ExecutionsTimedOut"])
    error_message = "failed and timed-out executions page; aborted ones (a user's cancel) do not"
  }
}

run "blocked_queue_throttled_lambdas_and_api_error_rates_page" {
  command = plan

  variables {
    lambda_function_names = { api = "ot-api", status_change = "ot-status-change" }
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.queue_blocked.event_pattern) == {
      source        = ["aws.batch"]
      "detail-type" = ["Batch Job Queue Blocked"]
      detail        = { jobQueue = ["arn:aws:batch:eu-west-1:111122223333:job-queue/ot-gpu"] }
    }
    error_message = "Batch's queue-blocked events of our queue are matched"
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.queue_blocked.metric_name == "TriggeredRules" &&
    aws_cloudwatch_metric_alarm.queue_blocked.threshold == 1)
    error_message = "one blocked job raises the alarm"
  }
  assert {
    condition = { for k, a in aws_cloudwatch_metric_alarm.lambda_throttles : k => "${a.namespace} ${a.metric_name} ${a.dimensions.FunctionName}" } == {
      api           = "AWS/Lambda Throttles ot-api"
      status_change = "AWS/Lambda Throttles ot-status-change"
    }
    error_message = "every function's throttles raise an alarm"
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.api_error_rate)) == toset(["4xx", "5xx"])
    error_message = "the API's 4xx and 5xx rates raise alarms"
  }
  assert {
    condition = alltrue([for k, a in aws_cloudwatch_metric_alarm.api_error_rate :
      anytrue([for q in a.metric_query : q.return_data == true && strcontains(coalesce(q.expression, "-"), "100 * errors / requests")]) &&
      anytrue([for q in a.metric_query : q.id == "errors" && anytrue([for m in q.metric : m.metric_name == k && m.dimensions.ApiId == "abc123"])]) &&
      anytrue([for q in a.metric_query : q.id == "requests" && anytrue([for m in q.metric : m.metric_name == "Count"])])
    ])
    error_message = "the error alarms are rates: errors / requests of the HTTP API, in percent"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.api_error_rate["5xx"].threshold == 5 && aws_cloudwatch_metric_alarm.api_error_rate["4xx"].threshold == 25
    error_message = "5% of 5xx, 25% of 4xx by default"
  }
}
