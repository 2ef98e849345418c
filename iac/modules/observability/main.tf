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

resource "aws_cloudwatch_metric_alarm" "failed_executions" {
  for_each            = toset(["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
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
    resources = ["${aws_cloudwatch_log_group.failed_jobs.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
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
