# The built Vue app: a private bucket that only this CloudFront distribution
# may read (origin access control), behind the WAF web ACL of the waf module
# (a separate module because CloudFront web ACLs must live in us-east-1).

module "site" {
  source            = "../bucket"
  name              = "${var.bucket_prefix}-frontend"
  versioning        = true
  access_log_bucket = var.access_log_bucket
  force_destroy     = var.force_destroy
  policy_statements = [{
    Sid       = "CloudFrontReads"
    Effect    = "Allow"
    Principal = { Service = "cloudfront.amazonaws.com" }
    Action    = "s3:GetObject"
    Resource  = "${module.site.arn}/*"
    Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }
  }]
  tags = var.tags
}

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name_prefix}-frontend"
  description                       = "CloudFront reads the front-end bucket with SigV4."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

locals {
  origin_id = "frontend-bucket"
  # AWS-managed policies (fixed ids): CachingOptimized and SecurityHeadersPolicy.
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  security_headers_policy_id  = "67f7725c-6f97-4210-82d7-5512b31e9d03"
}

resource "aws_cloudfront_distribution" "this" {
  # checkov:skip=CKV_AWS_86:Standard CloudFront logs need bucket ACLs, which every bucket here disables; WAF logs record requests instead.
  # checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate fixes the TLS policy; set a custom domain and certificate for TLSv1.2_2021.
  # checkov:skip=CKV_AWS_310:One origin (the bucket); a failover origin group would need a replica bucket.
  # checkov:skip=CKV_AWS_374:No geo restriction: the service is not limited to regions.
  # checkov:skip=CKV2_AWS_42:A custom certificate needs a domain the deployer owns; see docs/deploy.md.
  # checkov:skip=CKV2_AWS_32:response_headers_policy_id is AWS's managed SecurityHeadersPolicy, given by its fixed id, which checkov does not recognise.
  # checkov:skip=CKV2_AWS_47:The attached web ACL includes AWSManagedRulesKnownBadInputsRuleSet (Log4j), which checkov does not trace through the module.
  enabled             = true
  comment             = "${var.name_prefix} front end"
  default_root_object = "index.html"
  price_class         = var.price_class
  http_version        = "http2and3"
  web_acl_id          = var.web_acl_arn

  origin {
    origin_id                = local.origin_id
    domain_name              = module.site.regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  default_cache_behavior {
    target_origin_id           = local.origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = local.security_headers_policy_id
  }

  # A single-page app: unknown paths are routes of the app, so serve index.html.
  custom_error_response {
    error_code         = 403
    response_code      = 200
    response_page_path = "/index.html"
  }
  custom_error_response {
    error_code         = 404
    response_code      = 200
    response_page_path = "/index.html"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  tags = var.tags
}
