output "function_names" {
  description = "Function name by handler key (validate_input, record_result, record_failure, status_change, api)."
  value       = { for k, f in aws_lambda_function.fn : k => f.function_name }
}

output "role_names" {
  description = "Execution role name by handler key (other modules attach their own grants)."
  value       = { for k, r in aws_iam_role.fn : k => r.name }
}

output "function_arns" {
  description = "Function ARN by handler key."
  value       = { for k, f in aws_lambda_function.fn : k => f.arn }
}

output "handlers" {
  description = "Handler string by handler key."
  value       = local.handlers
}

output "api_invoke_arn" {
  description = "Invoke ARN of the API function (for API Gateway)."
  value       = aws_lambda_function.fn["api"].invoke_arn
}

output "log_group_names" {
  description = "Log group name by handler key."
  value       = { for k, g in aws_cloudwatch_log_group.fn : k => g.name }
}

output "status_change_dlq_arn" {
  description = "Dead-letter queue of the status-change function."
  value       = aws_sqs_queue.status_change_dlq.arn
}

output "timeouts_s" {
  description = "Timeout of each function, seconds, by handler key."
  value       = { for k, fn in aws_lambda_function.fn : k => fn.timeout }
}
