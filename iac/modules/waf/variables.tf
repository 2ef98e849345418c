variable "name" {
  description = "Web ACL name."
  type        = string
}

variable "rate_limit_per_5min" {
  description = "Requests one IP may send in 5 minutes before it is blocked."
  type        = number
  default     = 2000
}

variable "log_retention_days" {
  description = "Retention of the WAF log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
