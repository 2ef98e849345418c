variable "name_prefix" {
  description = "Prefix of resource names, e.g. \"aiorch-dev\"; the bucket is \"<bucket_prefix>-frontend\"."
  type        = string
}

variable "bucket_prefix" {
  description = "Prefix of the front-end bucket name (bucket names are global)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving the front-end bucket's S3 access logs."
  type        = string
}

variable "web_acl_arn" {
  description = "ARN of the CloudFront-scope WAF web ACL (module waf, in us-east-1)."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class (which edge locations serve; a cost choice)."
  type        = string
  default     = "PriceClass_100"
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with the built files in it (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
