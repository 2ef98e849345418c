output "data_bucket" {
  description = "Name of the bucket holding every application key (uploads/, results/, executions/, idempotency/, analytics/)."
  value       = module.data.id
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.data.arn
}

output "storage_url" {
  description = "The value for AIORCH_STORAGE_URL."
  value       = "s3://${module.data.id}"
}

output "athena_results_bucket" {
  description = "Bucket for Athena query results."
  value       = module.athena_results.id
}

output "athena_results_bucket_arn" {
  description = "ARN of the Athena results bucket."
  value       = module.athena_results.arn
}

output "artifacts_bucket" {
  description = "Bucket for deployment artifacts (the Lambda package)."
  value       = module.artifacts.id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = module.artifacts.arn
}

output "access_log_bucket" {
  description = "Bucket receiving S3 server access logs (also used by CloudFront's standard logs)."
  value       = module.access_logs.id
}
