output "id" {
  description = "Bucket name, once its policy is in place (a log bucket must allow delivery before others log to it)."
  value       = aws_s3_bucket.this.bucket # the configured name: known while planning
  depends_on  = [aws_s3_bucket_policy.this]
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "regional_domain_name" {
  description = "Regional domain name (CloudFront origins)."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "lifecycle_rules" {
  description = "The lifecycle rules as configured (for tests and reviews)."
  value       = aws_s3_bucket_lifecycle_configuration.this.rule
}

output "versioning_status" {
  description = "Enabled or Suspended."
  value       = aws_s3_bucket_versioning.this.versioning_configuration[0].status
}

output "public_access_blocked" {
  description = "All four public-access blocks are on."
  value = alltrue([
    aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy,
    aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets,
  ])
}

output "sse_algorithm" {
  description = "Default server-side encryption algorithm."
  value       = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm
}

output "cors_allowed_origins" {
  description = "Origins allowed by CORS (empty: none)."
  value       = flatten([for c in aws_s3_bucket_cors_configuration.this : [for r in c.cors_rule : r.allowed_origins]])
}
