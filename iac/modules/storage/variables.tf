variable "name_prefix" {
  description = "Prefix of every bucket name, e.g. \"aiorch-dev-123456789012\" (bucket names are global)."
  type        = string
}

variable "upload_expiry_days" {
  description = "Days after which uploaded originals under uploads/ are deleted."
  type        = number
  default     = 7
}

variable "deleted_versions_retention_days" {
  description = "Days the data bucket keeps a deleted or overwritten object's old version (a user's deleted results, superseded progress.json) before S3 removes it for good."
  type        = number
  default     = 3

  validation {
    condition     = var.deleted_versions_retention_days >= 1 && var.deleted_versions_retention_days <= 7
    error_message = "Keep deleted versions 1 to 7 days: a user's delete must not linger for a month."
  }
}

variable "athena_results_expiry_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30
}

variable "access_log_expiry_days" {
  description = "Days after which S3 server access logs are deleted."
  type        = number
  default     = 90
}

variable "cors_allowed_origins" {
  description = "Browser origins of the front end (presigned POST uploads go straight to the data bucket)."
  type        = list(string)
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete buckets that still hold objects (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
