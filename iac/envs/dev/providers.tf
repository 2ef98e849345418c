locals {
  # With endpoint_url set, every service the configuration uses goes to the
  # emulator: path-style S3 and no EC2 metadata lookups. The account id is still
  # requested (skip_requesting_account_id = false) so ARNs are complete.
  emulated = var.endpoint_url != null
  endpoint_services = [
    "apigatewayv2", "athena", "batch", "cloudfront", "cloudwatch", "cognitoidp", "ec2", "ecr", "events",
    "glue", "iam", "kms", "lambda", "logs", "s3", "sfn", "sns", "sqs", "sts", "wafv2",
  ]
  default_tags = { project = "aiorch", deployment = var.name }
}

provider "aws" {
  region                      = var.region
  s3_use_path_style           = local.emulated
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_requesting_account_id  = false

  dynamic "endpoints" {
    for_each = local.emulated ? [1] : []
    content {
      apigatewayv2 = var.endpoint_url
      athena       = var.endpoint_url
      batch        = var.endpoint_url
      cloudfront   = var.endpoint_url
      cloudwatch   = var.endpoint_url
      cognitoidp   = var.endpoint_url
      dynamodb     = var.endpoint_url
      ec2          = var.endpoint_url
      ecr          = var.endpoint_url
      events       = var.endpoint_url
      glue         = var.endpoint_url
      iam          = var.endpoint_url
      kms          = var.endpoint_url
      lambda       = var.endpoint_url
      logs         = var.endpoint_url
      s3           = var.endpoint_url
      sfn          = var.endpoint_url
      sns          = var.endpoint_url
      sqs          = var.endpoint_url
      sts          = var.endpoint_url
      wafv2        = var.endpoint_url
    }
  }

  default_tags {
    tags = local.default_tags
  }
}

# CloudFront-scope WAF web ACLs exist only in us-east-1.
provider "aws" {
  alias                       = "us_east_1"
  region                      = "us-east-1"
  s3_use_path_style           = local.emulated
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_requesting_account_id  = false

  dynamic "endpoints" {
    for_each = local.emulated ? [1] : []
    content {
      cloudwatch = var.endpoint_url
      iam        = var.endpoint_url
      logs       = var.endpoint_url
      sts        = var.endpoint_url
      wafv2      = var.endpoint_url
    }
  }

  default_tags {
    tags = local.default_tags
  }
}
