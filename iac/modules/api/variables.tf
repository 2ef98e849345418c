variable "name" {
  description = "Name of the HTTP API."
  type        = string
}

variable "lambda_function_name" {
  description = "Name of the API Lambda (the FastAPI app through Mangum)."
  type        = string
}

variable "lambda_invoke_arn" {
  description = "Invoke ARN of the API Lambda."
  type        = string
}

variable "jwt_issuer" {
  description = "Issuer of accepted JWTs (the Cognito user pool)."
  type        = string
}

variable "jwt_audience" {
  description = "Accepted audiences (the Cognito app client id)."
  type        = list(string)
}

variable "cors_allowed_origins" {
  description = "Browser origins other than the front end's own (CloudFront serves app and API on one origin) allowed to call the API."
  type        = list(string)
  default     = []
}

# Sized with the web app's fastest poll (MOVING_POLL_MS in frontend/src/lib/poll.ts): 100 users
# polling at it send about 60 requests in their busiest second, 304s included, so 150/s leaves 2.5x the
# room (tests/unit/capacity/simulation.py checks it; docs/capacity.md). Change the two together.
variable "throttling_burst_limit" {
  description = "Stage-wide burst limit (requests)."
  type        = number
  default     = 300
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady rate limit (requests per second)."
  type        = number
  default     = 150
}

variable "log_retention_days" {
  description = "Retention of the access log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
