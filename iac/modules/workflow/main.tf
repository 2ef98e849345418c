# The state machine Terraform deploys is exactly the file the local states
# service runs; only the resource names below are filled in (inside Parameters).
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  definition = templatefile(var.definition_path, {
    validate_input_function = var.function_names["validate_input"]
    record_result_function  = var.function_names["record_result"]
    record_failure_function = var.function_names["record_failure"]
    job_queue               = var.job_queue_name
    job_definition          = var.job_definition_name
  })
  task_functions = ["validate_input", "record_result", "record_failure"]
  # Step Functions manages this rule itself to learn when a .sync Batch job ends.
  batch_sync_rule_arn = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/StepFunctionsGetEventsForBatchJobsRule"
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:Execution logs carry storage keys, no secrets; default CloudWatch Logs encryption suffices.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost); executions are also recorded in the data bucket.
  # The /aws/vendedlogs/ prefix keeps the log resource policy small (AWS guidance for Step Functions).
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-states"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

locals {
  # Plain jsonencode (not a policy-document data source) so that module tests can read it.
  policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeTaskFunctions"
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = flatten([for k in local.task_functions : [var.function_arns[k], "${var.function_arns[k]}:*"]])
      },
      {
        Sid      = "RunBatchJobs"
        Effect   = "Allow"
        Action   = "batch:SubmitJob"
        Resource = [var.job_queue_arn, var.job_definition_arn_prefix, "${var.job_definition_arn_prefix}:*"]
      },
      {
        # DescribeJobs has no resource-level permissions; TerminateJob is used when an execution stops.
        Sid      = "FollowBatchJobs"
        Effect   = "Allow"
        Action   = ["batch:DescribeJobs", "batch:TerminateJob"]
        Resource = "*"
      },
      {
        Sid      = "BatchSyncRule"
        Effect   = "Allow"
        Action   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
        Resource = local.batch_sync_rule_arn
      },
      {
        # CloudWatch Logs delivery APIs have no resource-level permissions (AWS documents "*").
        Sid    = "DeliverLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        Resource = "*"
      },
      {
        Sid      = "Tracing" # X-Ray has no resource-level permissions.
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
        Resource = "*"
      },
    ]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "run-image-ai-analysis"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy)
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.this.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.this]
}

# Executions that end without reaching RecordResult/RecordFailure (stopped,
# timed out, failed outside a Catch) are recorded by the status-change handler.
resource "aws_cloudwatch_event_rule" "status_change" {
  name        = "${var.name}-status-change"
  description = "Executions of ${var.name} that ended ABORTED, TIMED_OUT or FAILED."
  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = [aws_sfn_state_machine.this.arn]
      status          = ["ABORTED", "TIMED_OUT", "FAILED"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "status_change" {
  rule = aws_cloudwatch_event_rule.status_change.name
  arn  = var.function_arns["status_change"]
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }
}

resource "aws_lambda_permission" "status_change" {
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.function_arns["status_change"]
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.status_change.arn
}

# Where a running execution is, without a Step Functions read per status poll: Batch's job state
# changes on the queue (queued for a GPU, starting, running) reach the status-change handler, which
# writes them to the execution's index record as its stage (lambdas/status_change/handler.py
# record_job_stage; aiorch/index/stages.py). Each job carries its execution's ARN and user in its
# environment (the ASL's AIORCH_EXECUTION_ARN and AIORCH_USER).
resource "aws_cloudwatch_event_rule" "job_state_change" {
  name        = "${var.name}-job-state-change"
  description = "Jobs on ${var.job_queue_name} that are queued for a GPU, starting or running."
  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      jobQueue = [var.job_queue_arn]
      status   = ["RUNNABLE", "STARTING", "RUNNING"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "job_state_change" {
  rule = aws_cloudwatch_event_rule.job_state_change.name
  arn  = var.function_arns["status_change"]
  retry_policy {
    maximum_event_age_in_seconds = 300 # a stage is only what a poll shows: a late one is worth little
    maximum_retry_attempts       = 3
  }
}

resource "aws_lambda_permission" "job_state_change" {
  statement_id  = "AllowEventBridgeInvokeForJobStates"
  action        = "lambda:InvokeFunction"
  function_name = var.function_arns["status_change"]
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.job_state_change.arn
}
