variable "name" {
  description = "Repository name of the job image."
  type        = string
}

variable "keep_images" {
  description = "How many tagged images to keep; older ones are expired."
  type        = number
  default     = 10
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (old layers of re-pushed tags) are expired."
  type        = number
  default     = 7
}

variable "force_delete" {
  description = "Let `terraform destroy` delete a repository that still holds images (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
