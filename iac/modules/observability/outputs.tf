output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value       = concat([for a in aws_cloudwatch_metric_alarm.failed_executions : a.alarm_name], [aws_cloudwatch_metric_alarm.failed_jobs.alarm_name])
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_key_arn" {
  description = "Customer-managed KMS key of the alarm topic."
  value       = aws_kms_key.alarms.arn
}
