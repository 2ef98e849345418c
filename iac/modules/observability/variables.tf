variable "name_prefix" {
  description = "Prefix of resource names, e.g. \"aiorch-dev\"."
  type        = string
}

variable "state_machine_arn" {
  description = "State machine whose failed executions raise an alarm."
  type        = string
}

variable "job_queue_arn" {
  description = "Batch job queue whose failed jobs raise an alarm."
  type        = string
}

variable "lambda_function_names" {
  description = "Function name by handler key, for the dashboard's error widgets."
  type        = map(string)
}

variable "api_id" {
  description = "HTTP API id, for the dashboard's 5xx widget."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic; null for none (subscribe later)."
  type        = string
  default     = null
}

variable "failed_executions_threshold" {
  description = "Failed (or timed-out) executions in 5 minutes that raise the alarm. Aborted ones (a user's cancel) raise none."
  type        = number
  default     = 1
}

variable "failed_jobs_threshold" {
  description = "Failed Batch jobs in 5 minutes that raise the alarm."
  type        = number
  default     = 1
}

variable "lambda_throttles_threshold" {
  description = "Throttled invocations of one function in 5 minutes that raise the alarm."
  type        = number
  default     = 5
}

variable "api_5xx_rate_percent" {
  description = "Percent of the API's answers that may be 5xx in 5 minutes before the alarm."
  type        = number
  default     = 5
}

variable "api_4xx_rate_percent" {
  description = "Percent of the API's answers that may be 4xx in 5 minutes before the alarm (expired tokens and refused requests are normal: keep it high)."
  type        = number
  default     = 25
}

variable "api_error_rate_min_requests" {
  description = "Requests in 5 minutes below which the API error-rate alarms stay quiet."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "Retention of the failed-job event log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
