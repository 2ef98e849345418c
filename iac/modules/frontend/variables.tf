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

variable "storage_origin" {
  description = "Origin of presigned storage links (https://<data bucket>.s3.<region>.amazonaws.com): the Content-Security-Policy lets the app show images from it and post uploads to it."
  type        = string

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.storage_origin))
    error_message = "storage_origin is an https origin: scheme and host, no path."
  }
}

variable "api_endpoint" {
  description = "The HTTP API's base URL (https://<id>.execute-api.<region>.amazonaws.com); CloudFront routes api_path_patterns there."
  type        = string
}

variable "api_path_patterns" {
  description = "Paths CloudFront sends to the API, the local server's routes (lambdas/api/routes/*.py); everything else is the app."
  type        = list(string)
  default = [
    "/image-ai-analysis*", # POST/GET list, /{id}, DELETE /{id}, /{id}/events
    "/uploads*",           # POST /uploads (upload targets)
    "/authorize",          # sign-in: code exchange and the refresh cookie (Path=/authorize)
    "/analytics/queries*", # the analysts' named queries (the SPA's own /analytics page stays the app's)
    "/operations*",        # the operations and their option schemas
    "/webhooks/*",         # the user's webhook signing secret (GET, POST rotate)
    "/healthz",
    "/readyz",        # readiness (states service and storage); it went to the bucket before
    "/.well-known/*", # JWKS
    "/downloads/*",   # local stand-ins for presigned links; in AWS the links go to S3
    "/local-uploads/*",
  ]
}

variable "origin_verify_header" {
  description = "Header CloudFront adds to every API request; the API Lambda refuses requests without it."
  type        = string
  default     = "X-Origin-Verify"
}

variable "origin_verify_secret" {
  description = "Value of origin_verify_header (the API Lambda's AIORCH_API_ORIGIN_SECRET)."
  type        = string
  sensitive   = true
}
