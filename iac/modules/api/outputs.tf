output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the API (the front end's API base)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "access_log_group" {
  description = "Access log group name."
  value       = aws_cloudwatch_log_group.access.name
}

output "integration_timeout_ms" {
  description = "How long API Gateway waits for the Lambda, milliseconds."
  value       = aws_apigatewayv2_integration.lambda.timeout_milliseconds
}
