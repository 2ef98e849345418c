terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # State stays local here; for a shared deployment configure an S3 backend
  # (see docs/deploy.md) with `terraform init -backend-config=...`.
}
