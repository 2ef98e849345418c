# Alarms on failed executions and failed Batch jobs, and one dashboard.
data "aws_region" "current" {}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# CloudWatch alarms can publish to an encrypted topic only when the topic's key
# is customer-managed and its key policy lets cloudwatch.amazonaws.com use it:
# the AWS-managed aws/sns key's policy cannot be changed, so alarms on such a
# topic never deliver. AWS: "Encrypting SNS topics for CloudWatch alarms"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-sns-encryption)
# and "Configure AWS KMS permissions" (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
locals {
  alarm_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name_prefix}: encrypts the alarm topic; CloudWatch may use it to publish."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = jsonencode(local.alarm_key_policy)
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name_prefix}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Failed and timed-out executions page; aborted ones do not: POST /image-ai-analysis/{id}/cancel
# ends an execution ABORTED, so an alarm on ExecutionsAborted fired on every user's cancel. The
# dashboard still shows aborts. AWS: "Monitoring Step Functions metrics using Amazon CloudWatch"
# (execution metrics), https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
resource "aws_cloudwatch_metric_alarm" "failed_executions" {
  for_each            = toset(["ExecutionsFailed", "ExecutionsTimedOut"])
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "Executions of the image-AI state machine ended ${each.key}."
  namespace           = "AWS/States"
  metric_name         = each.key
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.failed_executions_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# Batch publishes no failure metric: an EventBridge rule matches failed jobs of
# our queue, keeps the events in a log group, and the rule's own
# TriggeredRules metric drives the alarm.
resource "aws_cloudwatch_event_rule" "failed_jobs" {
  name        = "${var.name_prefix}-batch-job-failed"
  description = "Model jobs on the GPU queue that ended FAILED."
  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      jobQueue = [var.job_queue_arn]
      status   = ["FAILED"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_log_group" "failed_jobs" {
  # checkov:skip=CKV_AWS_158:Batch state-change events hold no secrets; default CloudWatch Logs encryption suffices.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost).
  name              = "/aws/events/${var.name_prefix}-batch-job-failed"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "events_to_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.failed_jobs.arn}:*", "${aws_cloudwatch_log_group.queue_blocked.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }
}

# A job waiting RUNNABLE at the head of the queue for a reason Batch can name (no capacity of the
# instance types, a placement no compute environment can give): Batch sends "Batch Job Queue
# Blocked" events; the queue cancels such a job after queue_start_allowance_s (module batch), and
# this alarm says it happened before users do. AWS Batch: "Job queue blocked events"
# (https://docs.aws.amazon.com/batch/latest/userguide/batch-job-queue-blocked-events.html).
resource "aws_cloudwatch_event_rule" "queue_blocked" {
  name        = "${var.name_prefix}-batch-queue-blocked"
  description = "A model job blocks the GPU queue in RUNNABLE (no capacity, or no environment can place it)."
  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job Queue Blocked"]
    detail        = { jobQueue = [var.job_queue_arn] }
  })
  tags = var.tags
}

resource "aws_cloudwatch_log_group" "queue_blocked" {
  # checkov:skip=CKV_AWS_158:Batch events hold no secrets; default CloudWatch Logs encryption suffices.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost).
  name              = "/aws/events/${var.name_prefix}-batch-queue-blocked"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_event_target" "queue_blocked" {
  rule = aws_cloudwatch_event_rule.queue_blocked.name
  arn  = aws_cloudwatch_log_group.queue_blocked.arn
}

resource "aws_cloudwatch_metric_alarm" "queue_blocked" {
  alarm_name          = "${var.name_prefix}-batch-queue-blocked"
  alarm_description   = "A model job waits RUNNABLE with a blocking reason (events in ${aws_cloudwatch_log_group.queue_blocked.name}): GPU quota, Spot capacity or max_vcpus."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.queue_blocked.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# Throttled invocations of any function: the account's Lambda concurrency (10 on new accounts) is
# too small for the load. The state machine retries throttling for about 150 s; this says it
# happens. AWS Lambda: "Types of metrics for Lambda functions" (Throttles),
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each            = var.lambda_function_names
  alarm_name          = "${var.name_prefix}-lambda-throttles-${replace(each.key, "_", "-")}"
  alarm_description   = "Invocations of ${each.value} were throttled (account concurrency quota; docs/deploy.md, step 1)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.lambda_throttles_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# The API's share of error answers, in percent of its requests over 5 minutes (only once there are
# api_error_rate_min_requests of them, so one 500 at night does not page). HTTP API metrics
# Count, 4xx and 5xx by ApiId: "Monitor CloudWatch metrics for HTTP APIs in API Gateway"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html); metric math
# IF(): "Using metric math" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
resource "aws_cloudwatch_metric_alarm" "api_error_rate" {
  for_each            = { "4xx" = var.api_4xx_rate_percent, "5xx" = var.api_5xx_rate_percent }
  alarm_name          = "${var.name_prefix}-api-${each.key}-rate"
  alarm_description   = "More than ${each.value}% of the API's answers were ${each.key} in 5 minutes."
  evaluation_periods  = 1
  threshold           = each.value
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(requests >= ${var.api_error_rate_min_requests}, 100 * errors / requests, 0)"
    label       = "${each.key} answers, percent of requests"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = each.key
      dimensions  = { ApiId = var.api_id }
      stat        = "Sum"
      period      = 300
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = { ApiId = var.api_id }
      stat        = "Sum"
      period      = 300
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "events_to_logs" {
  policy_name     = "${var.name_prefix}-events-to-logs"
  policy_document = data.aws_iam_policy_document.events_to_logs.json
}

resource "aws_cloudwatch_event_target" "failed_jobs" {
  rule = aws_cloudwatch_event_rule.failed_jobs.name
  arn  = aws_cloudwatch_log_group.failed_jobs.arn
}

resource "aws_cloudwatch_metric_alarm" "failed_jobs" {
  alarm_name          = "${var.name_prefix}-batch-job-failed"
  alarm_description   = "Model jobs on the GPU queue failed (events in ${aws_cloudwatch_log_group.failed_jobs.name})."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.failed_jobs.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.failed_jobs_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

locals {
  region = data.aws_region.current.name
  widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "Executions"
        region = local.region
        stat   = "Sum"
        period = 300
        metrics = [for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] :
        ["AWS/States", m, "StateMachineArn", var.state_machine_arn]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title   = "Execution time (ms)"
        region  = local.region
        period  = 300
        metrics = [["AWS/States", "ExecutionTime", "StateMachineArn", var.state_machine_arn, { stat = "p50" }], ["...", { stat = "p90" }]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title   = "Lambda errors"
        region  = local.region
        stat    = "Sum"
        period  = 300
        metrics = [for k in sort(keys(var.lambda_function_names)) : ["AWS/Lambda", "Errors", "FunctionName", var.lambda_function_names[k]]]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title   = "API requests and errors"
        region  = local.region
        stat    = "Sum"
        period  = 300
        metrics = [for m in ["Count", "4xx", "5xx"] : ["AWS/ApiGateway", m, "ApiId", var.api_id]]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "Failed model jobs"
        region  = local.region
        stat    = "Sum"
        period  = 300
        metrics = [["AWS/Events", "TriggeredRules", "RuleName", aws_cloudwatch_event_rule.failed_jobs.name]]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({ widgets = local.widgets })
}
