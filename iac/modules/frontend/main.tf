# The built Vue app and the API on ONE origin: CloudFront serves the app from a
# private bucket (origin access control) and routes the API's paths (the same
# paths the local server answers) to API Gateway, all behind the WAF web ACL of
# the waf module (a separate module because CloudFront web ACLs must live in
# us-east-1). One origin means no CORS preflight (the JWT authorizer on $default
# would refuse it: AWS "Configuring CORS for an HTTP API",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html),
# a SameSite=Strict refresh cookie that the browser sends, and the web ACL in
# front of the API too (HTTP APIs cannot take a web ACL themselves:
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-chapter.html lists
# REST APIs, not HTTP APIs).

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
  origin_id     = "frontend-bucket"
  api_origin_id = "api"
  # AWS-managed policies (fixed ids, "Use managed cache policies" / "Use managed origin request
  # policies" in the CloudFront developer guide): CachingOptimized, CachingDisabled,
  # AllViewerExceptHostHeader (every viewer header incl. Authorization, cookies and query strings,
  # but API Gateway's own Host).
  caching_optimized_policy_id      = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  caching_disabled_policy_id       = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  all_viewer_except_host_policy_id = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
  api_origin_domain                = trimsuffix(trimprefix(var.api_endpoint, "https://"), "/")
}

# The front end's security headers: AWS's managed SecurityHeadersPolicy (HSTS, nosniff, DENY framing,
# the referrer policy, XSS protection) plus the app's Content-Security-Policy. Its text is the core's
# (aiorch/web_headers.py content_security_policy, which the local server sends): this template holds
# it and tests/unit/api/test_cloudfront_csp.py fails when the two differ. The storage origin is
# where presigned S3 links point (the data bucket's regional virtual host). CloudFront: "Understand
# response headers policies" (security headers, override),
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html
resource "aws_cloudfront_response_headers_policy" "security" {
  # checkov:skip=CKV_AWS_259:includeSubDomains and preload would commit the deployer's whole domain (a custom domain's siblings, the browsers' preload list) to HTTPS: the domain owner's decision, not this module's; HSTS itself is sent for a year.
  name    = "${var.name_prefix}-security-headers"
  comment = "The app's Content-Security-Policy (aiorch/web_headers.py) and AWS's security headers."

  security_headers_config {
    content_security_policy {
      content_security_policy = trimspace(templatefile("${path.module}/content_security_policy.tftpl", { storage_origin = var.storage_origin }))
      override                = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = false
      override                   = true
    }
    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
  }
}

# SPA fallback on the bucket's behaviour only: a path without a file extension
# is a route of the app, so the viewer gets index.html. A distribution-wide
# custom_error_response (403/404 -> index.html) would also turn every API 403
# and 404 into the app's page with status 200.
resource "aws_cloudfront_function" "spa_fallback" {
  name    = "${var.name_prefix}-spa-fallback"
  runtime = "cloudfront-js-2.0"
  comment = "Extension-less paths are app routes: serve /index.html."
  publish = true
  code    = file("${path.module}/spa_fallback.js")
}

resource "aws_cloudfront_distribution" "this" {
  # checkov:skip=CKV_AWS_86:Standard CloudFront logs need bucket ACLs, which every bucket here disables; WAF logs record requests instead.
  # checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate fixes the TLS policy; set a custom domain and certificate for TLSv1.2_2021.
  # checkov:skip=CKV_AWS_310:Two origins (bucket, API) with different content; a failover origin group would need a replica of each.
  # checkov:skip=CKV_AWS_374:No geo restriction: the service is not limited to regions.
  # checkov:skip=CKV2_AWS_42:A custom certificate needs a domain the deployer owns; see docs/deploy.md.
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

  origin {
    origin_id   = local.api_origin_id
    domain_name = local.api_origin_domain
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
    # Keeps the API's own execute-api URL from being a side door around the web ACL:
    # the API Lambda refuses requests without this header (lambdas/api/origin.py).
    # disable_execute_api_endpoint would close that URL for CloudFront too unless the API
    # has a custom domain (a certificate and a domain the deployer owns), so it is not the
    # default here. AWS: "Disabling the default endpoint for HTTP APIs"
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-disable-default-endpoint.html),
    # "Adding custom headers to origin requests"
    # (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html).
    custom_header {
      name  = var.origin_verify_header
      value = var.origin_verify_secret
    }
  }

  # The API's paths, exactly as the local server serves them (lambdas/api/routes/*.py):
  # never cached, every method, the viewer's headers (Authorization), cookies and query.
  dynamic "ordered_cache_behavior" {
    for_each = var.api_path_patterns
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = local.api_origin_id
      viewer_protocol_policy   = "https-only"
      allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
      cached_methods           = ["GET", "HEAD"]
      compress                 = true
      cache_policy_id          = local.caching_disabled_policy_id
      origin_request_policy_id = local.all_viewer_except_host_policy_id
    }
  }

  default_cache_behavior {
    target_origin_id           = local.origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.spa_fallback.arn
    }
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
