variable "name" {
  description = "Name of the user pool and its app client."
  type        = string
}

variable "domain_prefix" {
  description = "Prefix of the Cognito hosted UI domain (<prefix>.auth.<region>.amazoncognito.com); globally unique."
  type        = string
}

variable "callback_urls" {
  description = "OAuth redirect URIs of the front end (the SPA's callback page)."
  type        = list(string)
}

variable "logout_urls" {
  description = "Where the hosted UI may send the browser after sign-out."
  type        = list(string)
}

variable "access_token_validity_minutes" {
  description = "Lifetime of access and ID tokens."
  type        = number
  default     = 60
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (keep users). Off in dev so that `destroy` works."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "analysts_group" {
  description = "Cognito group whose members may read analytics (the API's AIORCH_AUTH_ANALYSTS_GROUP)."
  type        = string
  default     = "analysts"
}
