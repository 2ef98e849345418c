variable "name" {
  description = "Name of this deployment; prefixes every resource."
  type        = string
  default     = "aiorch-dev"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name: 3 to 21 lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the deployment (the WAF web ACL is always in us-east-1)."
  type        = string
  default     = "us-east-1"
}

variable "endpoint_url" {
  description = "Send every AWS API call to this endpoint (a local emulator such as the project's states service); null for AWS."
  type        = string
  default     = null
}

variable "lambda_package_path" {
  description = "The Lambda zip from iac/scripts/build_lambda_zip.py; default: iac/build/lambda.zip."
  type        = string
  default     = null
}

variable "job_image_tag" {
  description = "Tag of the job image in the ECR repository (tags are immutable: use a version or git commit)."
  type        = string
}

variable "vpc_id" {
  description = "VPC for the GPU instances; null for the region's default VPC (absent in many Organizations accounts: then give vpc_id and subnet_ids). docs/deploy.md, \"Network\"."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of vpc_id for the GPU instances: private subnets with a NAT gateway (or VPC endpoints for S3, ECR, ECS and CloudWatch Logs), so the hosts get no public IP. Null (with vpc_id null): the default VPC's public subnets, where each host gets a public IP (no inbound is allowed)."
  type        = list(string)
  default     = null

  validation {
    condition     = (var.subnet_ids == null) == (var.vpc_id == null)
    error_message = "Give vpc_id and subnet_ids together (subnets of that VPC), or neither (the default VPC)."
  }
  validation {
    condition     = var.subnet_ids == null || length(coalesce(var.subnet_ids, [])) > 0
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "extra_frontend_origins" {
  description = "More browser origins allowed for uploads, API calls and sign-in (e.g. http://localhost:5173 while developing the front end)."
  type        = list(string)
  default     = []
}

variable "gpu_min_vcpus" {
  description = "Warm pool: vCPUs of the Spot GPU environment kept running when idle (0 scales to zero)."
  type        = number
  default     = 0
}

variable "gpu_instance_types" {
  description = "Exact GPU instance types for Batch (sizes, not families: a family lets Batch pick up to 48xlarge for a one-GPU job)."
  type        = list(string)
  default     = ["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"]
}

variable "job_attempt_timeout_s" {
  description = "Batch's timeout of one job attempt, seconds; 3 attempts plus 900 s for queueing and instance start must fit in the state machine's job task timeout (3600 s), which check timeouts_nest enforces."
  type        = number
  default     = 900
}

variable "upload_expiry_days" {
  description = "Days after which uploaded originals are deleted."
  type        = number
  default     = 7
}

variable "alarm_email" {
  description = "Address that receives alarm notifications; null for none."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let `terraform destroy` remove buckets, images and the user pool with their contents (dev only)."
  type        = bool
  default     = true
}
