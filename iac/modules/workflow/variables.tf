variable "name" {
  description = "State machine name (AIORCH_STATE_MACHINE_NAME)."
  type        = string
}

variable "definition_path" {
  description = "The ASL file, the same one the local states service runs (workflows/image_ai_analysis.asl.json)."
  type        = string
}

variable "function_names" {
  description = "Lambda function names by handler key: validate_input, record_result, record_failure, status_change."
  type        = map(string)
}

variable "function_arns" {
  description = "Lambda function ARNs by the same keys (for IAM and the EventBridge target)."
  type        = map(string)
}

variable "job_queue_arn" {
  description = "Batch job queue ARN."
  type        = string
}

variable "job_queue_name" {
  description = "Batch job queue name (what the definition submits to)."
  type        = string
}

variable "job_definition_name" {
  description = "Batch job definition name (latest active revision is used)."
  type        = string
}

variable "job_definition_arn_prefix" {
  description = "Batch job definition ARN without the revision (IAM covers every revision)."
  type        = string
}

variable "log_level" {
  description = "Step Functions log level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"
  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machine's log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
