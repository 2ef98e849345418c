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

output "job_attempts" {
  description = "Attempts per job (retry_strategy)."
  value       = var.job_attempts
}

output "job_attempt_timeout_s" {
  description = "Batch's timeout of one attempt, seconds."
  value       = var.job_timeout_s
}

output "queue_start_allowance_s" {
  description = "Seconds allowed for queueing, instance start and image pull of all attempts."
  value       = var.queue_start_allowance_s
}

output "gpu_image_type" {
  description = "ECS GPU AMI type of the compute environments."
  value       = local.gpu_image_type
}
