output "web_acl_arn" {
  description = "Web ACL ARN (for the CloudFront distribution)."
  value       = aws_wafv2_web_acl.this.arn
}
