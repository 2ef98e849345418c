variable "table_name" {
  description = "Name of the execution index table (the API reads it from AIORCH_INDEX_URL=dynamodb://<name>)."
  type        = string
}

variable "role_access" {
  description = <<-EOT
    IAM role name => what it may do with the index: "api" (start, read pages, finalise),
    "recorder" (read and finalise one execution), "status_change" (a recorder that also
    reads the running-records index, for events without input and for the sweep) or "stage"
    (note a running execution's stage, as ValidateInput does).
  EOT
  type        = map(string)
  validation {
    condition     = alltrue([for v in values(var.role_access) : contains(["api", "recorder", "status_change", "stage"], v)])
    error_message = "Each role's access must be one of api, recorder, status_change, stage."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for server-side encryption; null: the AWS-owned DynamoDB key (still encrypted)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse DeleteTable (off only for throw-away environments)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "sweep_function" {
  description = "The status-change function ({ name, arn }) that a schedule calls to recompute the running counts; null: no schedule."
  type = object({
    name = string
    arn  = string
  })
  default = null
}

variable "sweep_schedule" {
  description = "How often the running counts are recomputed from the records (an EventBridge schedule expression)."
  type        = string
  default     = "rate(15 minutes)"
}
