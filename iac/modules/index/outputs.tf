output "table_name" {
  description = "Name of the execution index table."
  value       = aws_dynamodb_table.index.name
}

output "table_arn" {
  description = "ARN of the execution index table."
  value       = aws_dynamodb_table.index.arn
}

output "index_url" {
  description = "The AIORCH_INDEX_URL value that selects this table."
  value       = "dynamodb://${aws_dynamodb_table.index.name}"
}
