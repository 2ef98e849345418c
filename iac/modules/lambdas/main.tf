# The five functions share one zip (aiorch/ + lambdas/ + dependencies, no torch)
# and differ in handler and in what their role may touch: each gets only the
# key prefixes and APIs it uses.
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  handlers = {
    validate_input = "lambdas.validate_input.handler.handler"
    record_result  = "lambdas.record_result.handler.handler"
    record_failure = "lambdas.record_failure.handler.handler"
    status_change  = "lambdas.status_change.handler.handler"
    api            = "lambdas.api.handler.handler"
  }

  # Key prefixes (DESIGN.md key layout) each function reads and writes.
  s3_read = {
    validate_input = ["uploads/"]
    record_result  = ["results/", "executions/", "analytics/"]
    record_failure = ["results/", "executions/", "analytics/"]
    status_change  = ["results/", "executions/", "analytics/"]
    # health/: GET /readyz heads health/ready-probe (lambdas/api/routes/health.py READY_PROBE_KEY); it
    # does not exist, so the role also lists health/ to be answered 404, not 403 (HeadObject, "Permissions").
    # config/: the job image's weights manifest (AIORCH_WEIGHTS_MANIFEST), read by GET /operations.
    api = ["uploads/", "results/", "executions/", "idempotency/", "analytics/", "health/", "config/"]
  }
  s3_write = {
    validate_input = []
    record_result  = ["executions/", "analytics/"]
    record_failure = ["executions/", "analytics/"]
    status_change  = ["executions/", "analytics/"]
    api            = ["uploads/", "executions/", "idempotency/"]
  }
  # The API deletes an ended execution's results, when its user deletes it from the history.
  # The status-change handler's schedule compacts the analytics rows: it deletes the per-execution
  # files it folded into a day's compacted file (aiorch/analytics/compaction.py), under analytics/results/ only.
  s3_delete = {
    api           = ["results/"]
    status_change = ["analytics/results/"]
  }

  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  executions_arn  = replace(var.state_machine_arn, ":stateMachine:", ":execution:")
  # arn:<partition>:batch:<region>:<account>:job, from the queue's ARN (same region and account).
  batch_job_arn_prefix = var.job_queue_arn == null ? null : replace(var.job_queue_arn, "/:job-queue/.*$/", ":job")
}

resource "aws_s3_object" "package" {
  bucket = var.package_bucket
  # Content-addressed: a rebuilt but identical zip (the build is reproducible) keeps its key.
  key         = "lambda/aiorch-${filesha256(var.package_path)}.zip"
  source      = var.package_path
  source_hash = filemd5(var.package_path)
  tags        = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fn" {
  for_each           = local.handlers
  name               = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "fn" {
  for_each = local.handlers

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.fn[each.key].arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions.
  }

  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in local.s3_read[each.key] : "${p}*"]
    }
  }

  statement {
    sid       = "ReadOwnPrefixes"
    actions   = ["s3:GetObject"]
    resources = [for p in local.s3_read[each.key] : "${var.data_bucket_arn}/${p}*"]
  }

  dynamic "statement" {
    for_each = length(local.s3_write[each.key]) > 0 ? [1] : []
    content {
      sid       = "WriteOwnPrefixes"
      actions   = ["s3:PutObject"]
      resources = [for p in local.s3_write[each.key] : "${var.data_bucket_arn}/${p}*"]
    }
  }

  dynamic "statement" {
    for_each = length(lookup(local.s3_delete, each.key, [])) > 0 ? [1] : []
    content {
      sid       = "DeleteOwnObjects"
      actions   = ["s3:DeleteObject"]
      resources = [for p in local.s3_delete[each.key] : "${var.data_bucket_arn}/${p}*"]
    }
  }

  dynamic "statement" {
    # The status-change handler and the API read live status from Step Functions.
    for_each = contains(["status_change", "api"], each.key) ? [1] : []
    content {
      sid       = "ReadExecutions"
      actions   = ["states:DescribeExecution", "states:GetExecutionHistory"]
      resources = ["${local.executions_arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "api" ? [1] : []
    content {
      # GET /readyz asks for the state machine (lambdas/api/routes/health.py readiness).
      sid       = "ReadinessProbe"
      actions   = ["states:DescribeStateMachine"]
      resources = [var.state_machine_arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "api" ? [1] : []
    content {
      sid       = "StartAndStopExecutions"
      actions   = ["states:StartExecution", "states:StopExecution", "states:DescribeExecution"]
      resources = [var.state_machine_arn, "${local.executions_arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "api" ? [1] : []
    content {
      sid       = "AnalyticsQueries"
      actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]
      resources = [var.athena_workgroup_arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "api" ? [1] : []
    content {
      sid     = "AnalyticsCatalog"
      actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"]
      resources = [
        "${local.glue_arn_prefix}:catalog",
        "${local.glue_arn_prefix}:database/${var.glue_database_name}",
        "${local.glue_arn_prefix}:table/${var.glue_database_name}/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = each.key == "api" ? [1] : []
    content {
      sid       = "AnalyticsQueryResults"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload"]
      resources = [var.athena_results_bucket_arn, "${var.athena_results_bucket_arn}/*"]
    }
  }

  # No model job outlives its execution (lambdas/status_change/handler.py end_jobs_of): the
  # status-change handler lists the ended execution's jobs by name and terminates the unfinished
  # ones. ListJobs has no resource-level permissions ("*"); TerminateJob takes the job ARN.
  # "Actions, resources, and condition keys for AWS Batch"
  # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html).
  dynamic "statement" {
    for_each = each.key == "status_change" && var.job_queue_arn != null ? [1] : []
    content {
      sid       = "ListJobsOfEndedExecutions"
      actions   = ["batch:ListJobs"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "status_change" && var.job_queue_arn != null ? [1] : []
    content {
      sid       = "EndJobsOfEndedExecutions"
      actions   = ["batch:TerminateJob"]
      resources = ["${local.batch_job_arn_prefix}/*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "status_change" ? [1] : []
    content {
      sid       = "DeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.status_change_dlq.arn]
    }
  }
}

resource "aws_iam_role_policy" "fn" {
  for_each = local.handlers
  name     = "least-privilege"
  role     = aws_iam_role.fn[each.key].id
  policy   = data.aws_iam_policy_document.fn[each.key].json
}

resource "aws_cloudwatch_log_group" "fn" {
  # checkov:skip=CKV_AWS_158:Logs hold no secrets; default CloudWatch Logs encryption suffices and a CMK costs per deployment.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost); debugging needs weeks, not a year.
  for_each          = local.handlers
  name              = "/aws/lambda/${var.name_prefix}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# EventBridge invokes the status-change handler asynchronously: keep what fails.
resource "aws_sqs_queue" "status_change_dlq" {
  name                      = "${var.name_prefix}-status-change-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
  tags                      = var.tags
}

resource "aws_lambda_function" "fn" {
  # checkov:skip=CKV_AWS_117:The functions call only AWS APIs (S3, Step Functions, Athena); a VPC would add NAT cost and nothing to protect.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile per deployment; the zip is built reproducibly and content-addressed instead.
  # checkov:skip=CKV_AWS_173:Names and URLs, and for the API the CloudFront origin-verify value, which only proves a request came through CloudFront (no data access); a KMS CMK per deployment adds cost, not protection.
  # checkov:skip=CKV_AWS_115:Reserved concurrency would carve capacity out of small account quotas; throttling is set on the API stage.
  # checkov:skip=CKV_AWS_116:Only the asynchronously invoked status-change function can use a dead-letter queue, and it has one; the others are invoked synchronously.
  for_each         = local.handlers
  function_name    = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  role             = aws_iam_role.fn[each.key].arn
  handler          = each.value
  runtime          = var.runtime
  architectures    = ["x86_64"]
  s3_bucket        = aws_s3_object.package.bucket
  s3_key           = aws_s3_object.package.key
  source_code_hash = filebase64sha256(var.package_path)
  memory_size      = var.memory_mb[each.key]
  timeout          = var.timeout_s[each.key]

  environment {
    # The API alone gets the origin secret CloudFront sends (lambdas/api/origin.py).
    variables = (
      each.key == "api" ? merge(var.environment, var.api_environment) :
      each.key == "status_change" && var.job_queue_arn != null ? merge(var.environment, { AIORCH_BATCH_JOB_QUEUE = var.job_queue_arn }) :
      var.environment
    )
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "dead_letter_config" {
    for_each = each.key == "status_change" ? [1] : []
    content {
      target_arn = aws_sqs_queue.status_change_dlq.arn
    }
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.fn, aws_iam_role_policy.fn]
}
