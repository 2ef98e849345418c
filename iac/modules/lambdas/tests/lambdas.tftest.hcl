# The Lambda module with a mock AWS provider: one package, five handlers.
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
}

variables {
  name_prefix               = "lt"
  package_path              = "tests/package.zip"
  package_bucket            = "lt-artifacts"
  data_bucket_arn           = "arn:aws:s3:::lt-data"
  state_machine_arn         = "arn:aws:states:eu-west-1:111122223333:stateMachine:lt-sm"
  athena_workgroup_arn      = "arn:aws:athena:eu-west-1:111122223333:workgroup/lt"
  athena_results_bucket_arn = "arn:aws:s3:::lt-athena"
  glue_database_name        = "lt"
  environment               = { AIORCH_STORAGE_URL = "s3://lt-data" }
}

run "five_functions_from_one_package" {
  command = plan

  assert {
    condition = { for k, f in aws_lambda_function.fn : k => f.handler } == {
      validate_input = "lambdas.validate_input.handler.handler"
      record_result  = "lambdas.record_result.handler.handler"
      record_failure = "lambdas.record_failure.handler.handler"
      status_change  = "lambdas.status_change.handler.handler"
      api            = "lambdas.api.handler.handler"
    }
    error_message = "handler strings"
  }
  assert {
    condition     = alltrue([for f in aws_lambda_function.fn : f.runtime == "python3.12" && f.environment[0].variables == var.environment])
    error_message = "every function runs Python 3.11 with the AIORCH_* settings"
  }
  assert {
    condition     = aws_s3_object.package.key == "lambda/aiorch-${filesha256("tests/package.zip")}.zip"
    error_message = "the package is stored under its sha256"
  }
  assert {
    condition     = { for k, f in aws_lambda_function.fn : k => f.function_name }["status_change"] == "lt-status-change"
    error_message = "function names are <prefix>-<handler with hyphens>"
  }
}

run "only_the_async_status_change_function_has_a_dead_letter_queue" {
  command = plan

  assert {
    condition     = [for k, f in aws_lambda_function.fn : k if length(f.dead_letter_config) > 0] == ["status_change"]
    error_message = "the status-change function (invoked by EventBridge) keeps failed events"
  }
  assert {
    condition     = length(aws_iam_role.fn) == 5
    error_message = "one role per function"
  }
}

run "only_the_api_and_the_compaction_delete_each_under_its_prefix" {
  command = plan

  assert {
    condition = [
      for k, doc in data.aws_iam_policy_document.fn : k
      if anytrue([for st in doc.statement : contains(st.actions, "s3:DeleteObject")])
    ] == ["api", "status_change"]
    error_message = "only the API (an ended execution's results) and the status-change schedule (compacted analytics rows) delete"
  }
  assert {
    condition = alltrue(flatten([
      for st in data.aws_iam_policy_document.fn["api"].statement : [
        for r in st.resources : endswith(r, "/results/*") if contains(st.actions, "s3:DeleteObject")
      ]
    ]))
    error_message = "the API deletes under results/ only (uploads stay: another execution may use them)"
  }
  assert {
    condition = alltrue(flatten([
      for st in data.aws_iam_policy_document.fn["status_change"].statement : [
        for r in st.resources : endswith(r, "/analytics/results/*") if contains(st.actions, "s3:DeleteObject")
      ]
    ]))
    error_message = "the compaction deletes under analytics/results/ only"
  }
}

# GET /readyz (lambdas/api/routes/health.py readiness) calls DescribeStateMachine and heads
# health/ready-probe, a key that does not exist. Neither was granted: /readyz answered 503 in AWS.
# moto's IAM enforcement in tests/iac runs neither call, so the grants are asserted here. AWS:
# "Actions, resources, and condition keys for AWS Step Functions" (DescribeStateMachine on the
# stateMachine resource, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html);
# S3 API Reference "HeadObject", Permissions: a missing key answers 404 only to a caller with
# s3:ListBucket, else 403 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
run "the_api_role_may_do_what_readyz_checks" {
  command = plan

  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.fn["api"].statement :
      contains(st.actions, "states:DescribeStateMachine") &&
    contains(st.resources, "arn:aws:states:eu-west-1:111122223333:stateMachine:lt-sm")])
    error_message = "the API role must DescribeStateMachine the state machine (readiness of the states service)"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.fn["api"].statement :
    contains(st.actions, "s3:GetObject") && contains(st.resources, "arn:aws:s3:::lt-data/health/*")])
    error_message = "the API role must read health/ (HeadObject of health/ready-probe needs s3:GetObject)"
  }
  assert {
    condition = anytrue(flatten([for st in data.aws_iam_policy_document.fn["api"].statement : [
      for c in st.condition : contains(c.values, "health/*") if c.variable == "s3:prefix"
    ] if contains(st.actions, "s3:ListBucket")]))
    error_message = "the API role must list health/ so the probe's missing key answers 404, not 403"
  }
}

# No model job outlives its execution (W8): the status-change function lists an ended execution's
# jobs (batch:ListJobs, which has no resource-level permissions) and terminates the unfinished ones
# (batch:TerminateJob on job ARNs), in the queue named by AIORCH_BATCH_JOB_QUEUE. moto's IAM checks
# in tests/iac never run that path, so the grant is asserted here. AWS: "Actions, resources, and
# condition keys for AWS Batch"
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html).
run "the_status_change_role_may_end_the_jobs_of_an_ended_execution" {
  command = plan

  variables {
    job_queue_arn = "arn:aws:batch:eu-west-1:111122223333:job-queue/lt-gpu"
  }

  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.fn["status_change"].statement :
    contains(st.actions, "batch:ListJobs") && st.resources == toset(["*"])])
    error_message = "the status-change role must ListJobs (no resource-level permissions: \"*\")"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.fn["status_change"].statement :
      contains(st.actions, "batch:TerminateJob") &&
    st.resources == toset(["arn:aws:batch:eu-west-1:111122223333:job/*"])])
    error_message = "the status-change role must TerminateJob on the account's job ARNs"
  }
  assert {
    condition = [
      for k, doc in data.aws_iam_policy_document.fn : k
      if anytrue([for st in doc.statement : length(setintersection(st.actions, ["batch:ListJobs", "batch:TerminateJob"])) > 0])
    ] == ["status_change"]
    error_message = "only the status-change role touches Batch jobs"
  }
  assert {
    condition     = aws_lambda_function.fn["status_change"].environment[0].variables["AIORCH_BATCH_JOB_QUEUE"] == var.job_queue_arn
    error_message = "the status-change function is told the job queue (aiorch/settings.py batch_job_queue)"
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.fn["api"].environment[0].variables), "AIORCH_BATCH_JOB_QUEUE")
    error_message = "only the status-change function gets the job queue"
  }
}
