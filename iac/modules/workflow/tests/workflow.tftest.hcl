# The state machine module with a mock AWS provider: what it renders and grants.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  # ARNs the provider checks or the module reads after (mock) apply.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/sm-test-states" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vendedlogs/states/sm-test" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:sm-test" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:111122223333:rule/sm-test-status-change" }
  }
}

variables {
  name            = "sm-test"
  definition_path = "tests/fixture.asl.json"
  function_names = {
    validate_input = "fn-validate"
    record_result  = "fn-result"
    record_failure = "fn-failure"
    status_change  = "fn-status"
  }
  function_arns = {
    validate_input = "arn:aws:lambda:eu-west-1:111122223333:function:fn-validate"
    record_result  = "arn:aws:lambda:eu-west-1:111122223333:function:fn-result"
    record_failure = "arn:aws:lambda:eu-west-1:111122223333:function:fn-failure"
    status_change  = "arn:aws:lambda:eu-west-1:111122223333:function:fn-status"
  }
  job_queue_arn             = "arn:aws:batch:eu-west-1:111122223333:job-queue/q-gpu"
  job_queue_name            = "q-gpu"
  job_definition_name       = "jd-model"
  job_definition_arn_prefix = "arn:aws:batch:eu-west-1:111122223333:job-definition/jd-model"
}

run "definition_is_the_file_with_names_filled_in_parameters" {
  command = plan

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Validate.Parameters.FunctionName == "fn-validate"
    error_message = "validate_input_function is not filled in"
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.this.definition).States.Job.Parameters.JobQueue == "q-gpu" &&
      jsondecode(aws_sfn_state_machine.this.definition).States.Job.Parameters.JobDefinition == "jd-model"
    )
    error_message = "job_queue / job_definition are not filled in"
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.this.definition).States.Record.Parameters.FunctionName == "fn-result" &&
      jsondecode(aws_sfn_state_machine.this.definition).States.Fail.Parameters.FunctionName == "fn-failure"
    )
    error_message = "record_*_function are not filled in"
  }
  assert {
    condition     = !strcontains(aws_sfn_state_machine.this.definition, "$${")
    error_message = "a placeholder is left in the rendered definition"
  }
  assert {
    # Apart from the placeholders, the deployed text is the file's text.
    condition = aws_sfn_state_machine.this.definition == replace(replace(replace(replace(replace(
      file("tests/fixture.asl.json"),
      "$${validate_input_function}", "fn-validate"), "$${record_result_function}", "fn-result"),
    "$${record_failure_function}", "fn-failure"), "$${job_queue}", "q-gpu"), "$${job_definition}", "jd-model")
    error_message = "the deployed definition differs from the file beyond the placeholders"
  }
}

run "standard_type_with_logging_and_tracing" {
  command = plan

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD"
    error_message = "the state machine must be STANDARD (long GPU jobs, exactly-once)"
  }
  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" && aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "execution logging is not configured"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/vendedlogs/states/sm-test"
    error_message = "unexpected log group name"
  }
  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "X-Ray tracing is off"
  }
}

run "role_may_invoke_the_task_functions_and_run_batch_sync" {
  command = plan

  assert {
    condition = toset(one([for s in output.role_policy.Statement : s.Resource if s.Sid == "InvokeTaskFunctions"])) == toset(flatten([
      for k in ["validate_input", "record_result", "record_failure"] : [var.function_arns[k], "${var.function_arns[k]}:*"]
    ]))
    error_message = "the role must invoke exactly the three task functions"
  }
  assert {
    condition     = toset(one([for s in output.role_policy.Statement : s.Action if s.Sid == "FollowBatchJobs"])) == toset(["batch:DescribeJobs", "batch:TerminateJob"])
    error_message = "Batch .sync needs DescribeJobs and TerminateJob"
  }
  assert {
    condition     = one([for s in output.role_policy.Statement : s.Resource if s.Sid == "BatchSyncRule"]) == "arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForBatchJobsRule"
    error_message = "Batch .sync needs the managed EventBridge rule"
  }
  assert {
    condition     = toset(one([for s in output.role_policy.Statement : s.Action if s.Sid == "BatchSyncRule"])) == toset(["events:PutTargets", "events:PutRule", "events:DescribeRule"])
    error_message = "wrong actions on the managed EventBridge rule"
  }
}

run "ended_executions_go_to_the_status_change_handler" {
  command = apply # the pattern names the state machine's ARN, known after (mock) apply

  assert {
    condition     = toset(jsondecode(aws_cloudwatch_event_rule.status_change.event_pattern).detail.status) == toset(["ABORTED", "TIMED_OUT", "FAILED"])
    error_message = "the rule must match ABORTED, TIMED_OUT and FAILED"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.status_change.event_pattern).detail.stateMachineArn == ["arn:aws:states:eu-west-1:111122223333:stateMachine:sm-test"]
    error_message = "the rule must match this state machine only"
  }
  assert {
    condition     = aws_cloudwatch_event_target.status_change.arn == var.function_arns["status_change"]
    error_message = "the rule must target the status-change function"
  }
  assert {
    condition     = aws_lambda_permission.status_change.principal == "events.amazonaws.com"
    error_message = "EventBridge may not invoke the status-change function"
  }
}

run "log_level_is_checked" {
  command = plan
  variables {
    log_level = "VERBOSE"
  }
  expect_failures = [var.log_level]
}

# Status from our own records: Batch's job states reach the status-change handler, which writes the
# execution's stage to the index (a status poll then calls no Step Functions read API).
run "job_state_changes_on_the_queue_go_to_the_status_change_handler" {
  command = plan

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.job_state_change.event_pattern).source == ["aws.batch"]
    error_message = "the rule must match Batch's events"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.job_state_change.event_pattern)["detail-type"] == ["Batch Job State Change"]
    error_message = "the rule must match job state changes"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.job_state_change.event_pattern).detail.jobQueue == ["arn:aws:batch:eu-west-1:111122223333:job-queue/q-gpu"]
    error_message = "the rule must match this queue's jobs only"
  }
  assert {
    condition     = toset(jsondecode(aws_cloudwatch_event_rule.job_state_change.event_pattern).detail.status) == toset(["RUNNABLE", "STARTING", "RUNNING"])
    error_message = "queued, starting and running are the stages a poll shows"
  }
  assert {
    condition     = aws_cloudwatch_event_target.job_state_change.arn == var.function_arns["status_change"]
    error_message = "the rule must target the status-change function"
  }
  assert {
    condition     = aws_lambda_permission.job_state_change.principal == "events.amazonaws.com"
    error_message = "EventBridge may invoke the status-change function for job states"
  }
}
