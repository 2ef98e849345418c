variable "name" {
  description = "Bucket name (globally unique)."
  type        = string
}

variable "versioning" {
  description = "Keep old object versions. On for buckets whose data matters; off for scratch buckets."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (dev only)."
  type        = bool
  default     = false
}

variable "access_logging" {
  description = "Send server access logs to access_log_bucket (off only for the log bucket itself)."
  type        = bool
  default     = true
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's server access logs (when access_logging is on)."
  type        = string
  default     = null
}

variable "expire_prefixes" {
  description = "Object key prefix => days after which objects under it expire."
  type        = map(number)
  default     = {}
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent versions are deleted (with versioning on)."
  type        = number
  default     = 30
}

variable "cors_allowed_origins" {
  description = "Origins allowed to POST (presigned uploads) and GET from a browser; empty for no CORS."
  type        = list(string)
  default     = []
}

variable "policy_statements" {
  description = "Extra bucket policy statements (IAM JSON objects), e.g. CloudFront read access."
  type        = list(any)
  default     = []
}

variable "log_delivery" {
  description = "This bucket receives S3 server access logs (its policy lets the logging service write under s3/)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
