variable "name_prefix" {
  description = "Prefix of function, role and log group names, e.g. \"aiorch-dev\"."
  type        = string
}

variable "package_path" {
  description = "Path of the Lambda zip built by iac/scripts/build_lambda_zip.py (aiorch/ + lambdas/ + deps, no torch)."
  type        = string
}

variable "package_bucket" {
  description = "Bucket the zip is uploaded to (zips with dependencies exceed the 50 MB direct-upload limit)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the bucket that holds every application key."
  type        = string
}

variable "state_machine_arn" {
  description = "ARN of the image-AI state machine (known before it exists: built from its name)."
  type        = string
}

variable "job_queue_arn" {
  description = "The Batch job queue the state machine submits to: the status-change function ends an ended execution's unfinished jobs there (AIORCH_BATCH_JOB_QUEUE). Null: no Batch grant, no such cleanup."
  type        = string
  default     = null
}

variable "athena_workgroup_arn" {
  description = "Athena workgroup the API runs analytics queries in."
  type        = string
}

variable "athena_results_bucket_arn" {
  description = "Bucket Athena writes query results to (the API reads them)."
  type        = string
}

variable "glue_database_name" {
  description = "Glue database with the results table."
  type        = string
}

variable "environment" {
  description = "AIORCH_* settings common to every function (names from aiorch/settings.py)."
  type        = map(string)
}

variable "runtime" {
  description = "Lambda Python runtime; must match the version the zip was built for."
  type        = string
  default     = "python3.12"
}

variable "memory_mb" {
  description = "Memory per function. Validation decodes images, the API serves presigned URLs and queries."
  type        = map(number)
  default = {
    validate_input = 1024
    record_result  = 512
    record_failure = 512
    status_change  = 512
    api            = 1024
  }
}

variable "timeout_s" {
  description = "Timeout per function, seconds. The state machine's Lambda tasks (TimeoutSeconds 60 in workflows/image_ai_analysis.asl.json) must outlast their function; the API must end before API Gateway's 29 s integration limit."
  type        = map(number)
  default = {
    validate_input = 45
    record_result  = 45
    record_failure = 45
    status_change  = 45
    # API Gateway HTTP APIs stop waiting after 29 s ("Amazon API Gateway quotas": integration
    # timeout, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html);
    # a Lambda that ends first answers with its own error instead of a bare 503.
    api = 28
  }
  validation {
    condition     = lookup(var.timeout_s, "api", 0) <= 29
    error_message = "The API function's timeout must be at most 29 s (API Gateway's integration timeout)."
  }
}

variable "api_environment" {
  description = "Settings for the API function only, merged over environment (e.g. AIORCH_API_ORIGIN_SECRET)."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
