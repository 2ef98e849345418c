output "job_queue_arn" {
  description = "Job queue ARN."
  value       = aws_batch_job_queue.gpu.arn
}

output "job_queue_name" {
  description = "Job queue name."
  value       = aws_batch_job_queue.gpu.name
}

output "job_definition_name" {
  description = "Job definition name (the state machine submits the latest active revision)."
  value       = aws_batch_job_definition.model.name
}

output "job_definition_arn" {
  description = "Job definition ARN with its revision."
  value       = aws_batch_job_definition.model.arn
}

output "job_definition_arn_prefix" {
  description = "Job definition ARN without the revision."
  value       = aws_batch_job_definition.model.arn_prefix
}

output "compute_environment_arns" {
  description = "Compute environment ARN by kind (spot, on_demand)."
  value       = { for k, ce in aws_batch_compute_environment.gpu : k => ce.arn }
}

output "job_log_group_name" {
  description = "Log group of the model jobs."
  value       = aws_cloudwatch_log_group.jobs.name
}
