output "bucket" {
  description = "Bucket to upload the built front end (frontend/dist) to."
  value       = module.site.id
}

output "distribution_id" {
  description = "CloudFront distribution id (for cache invalidations after an upload)."
  value       = aws_cloudfront_distribution.this.id
}

output "url" {
  description = "Public URL of the front end."
  value       = "https://${aws_cloudfront_distribution.this.domain_name}"
}
