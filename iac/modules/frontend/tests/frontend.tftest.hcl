# One origin for the app and the API (no CORS preflight, a same-site refresh cookie), with a mock AWS provider.
# moto cannot emulate CloudFront's routing, functions or origin headers, so the
# configuration is asserted here. AWS: "Cache behavior settings"
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html),
# "Use managed origin request policies" (AllViewerExceptHostHeader),
# "Adding custom headers to origin requests".
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
}

variables {
  name_prefix          = "ft"
  bucket_prefix        = "ft-111122223333"
  access_log_bucket    = "ft-logs"
  web_acl_arn          = "arn:aws:wafv2:us-east-1:111122223333:global/webacl/ft/1"
  api_endpoint         = "https://abc123.execute-api.eu-west-1.amazonaws.com"
  origin_verify_secret = "test-secret"
  storage_origin       = "https://ft-111122223333-data.s3.eu-west-1.amazonaws.com"
}

run "the_api_paths_go_to_api_gateway_uncached_with_every_method_and_the_viewers_headers" {
  command = plan

  assert {
    condition = [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.path_pattern] == [
      "/image-ai-analysis*", "/uploads*", "/authorize", "/analytics/queries*", "/operations*", "/webhooks/*", "/healthz", "/readyz", "/.well-known/*",
    "/downloads/*", "/local-uploads/*"]
    error_message = "CloudFront must route exactly the API's paths (lambdas/api/routes/*.py) to the API"
  }
  assert {
    condition = alltrue([for b in aws_cloudfront_distribution.this.ordered_cache_behavior :
      b.target_origin_id == "api" &&
      b.cache_policy_id == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" &&          # CachingDisabled
      b.origin_request_policy_id == "b689b0a8-53d0-40ab-baf2-68738e2966ac" && # AllViewerExceptHostHeader (Authorization, cookies)
      toset(b.allowed_methods) == toset(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"])
    ])
    error_message = "API behaviours: the API origin, no caching, every method, the viewer's headers and cookies"
  }
  assert {
    condition = one([for o in aws_cloudfront_distribution.this.origin : o.domain_name if o.origin_id == "api"]) == (
    "abc123.execute-api.eu-west-1.amazonaws.com")
    error_message = "the API origin is the HTTP API's execute-api domain"
  }
}

run "the_api_origin_carries_the_secret_header_the_lambda_checks" {
  command = plan

  assert {
    condition = one(flatten([for o in aws_cloudfront_distribution.this.origin :
      [for h in o.custom_header : h if h.name == "X-Origin-Verify" && h.value == "test-secret"]
    if o.origin_id == "api"])) != null
    error_message = "CloudFront must send X-Origin-Verify to the API (lambdas/api/origin.py refuses requests without it)"
  }
}

run "spa_fallback_only_on_the_app_not_a_distribution_wide_error_page" {
  command = plan

  assert {
    # A distribution-wide 403/404 -> index.html would answer every API 403/404 with the app and 200.
    condition     = length(aws_cloudfront_distribution.this.custom_error_response) == 0
    error_message = "no distribution-wide custom_error_response"
  }
  assert {
    condition = (
      aws_cloudfront_distribution.this.default_cache_behavior[0].target_origin_id == "frontend-bucket" &&
      one(aws_cloudfront_distribution.this.default_cache_behavior[0].function_association).event_type == "viewer-request"
    )
    error_message = "the SPA fallback is a viewer-request function on the bucket's default behaviour"
  }
  assert {
    condition     = aws_cloudfront_function.spa_fallback.runtime == "cloudfront-js-2.0" && strcontains(aws_cloudfront_function.spa_fallback.code, "/index.html")
    error_message = "the fallback function rewrites app routes to /index.html"
  }
}

# Issue H10: the app's pages through CloudFront carried AWS's managed security headers but no
# Content-Security-Policy (the local server sends the core's, aiorch/web_headers.py). The front end's
# behaviour now has a response headers policy whose CSP is the template that
# tests/unit/api/test_cloudfront_csp.py holds equal to the core's text. CloudFront: "Understand
# response headers policies"
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html).
run "the_front_end_carries_the_apps_content_security_policy" {
  command = plan

  assert {
    condition = one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).content_security_policy).content_security_policy == join("; ", [
      "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob: https://ft-111122223333-data.s3.eu-west-1.amazonaws.com",
      "connect-src 'self' https://ft-111122223333-data.s3.eu-west-1.amazonaws.com",
      "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
    ])
    error_message = "the CSP is the core's, with the data bucket's origin for presigned links"
  }
  assert {
    condition = alltrue([
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).frame_options).frame_option == "DENY",
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).referrer_policy).referrer_policy == "strict-origin-when-cross-origin",
      length(one(aws_cloudfront_response_headers_policy.security.security_headers_config).content_type_options) == 1,
      length(one(aws_cloudfront_response_headers_policy.security.security_headers_config).strict_transport_security) == 1,
    ])
    error_message = "the managed SecurityHeadersPolicy's headers stay (nosniff, DENY framing, referrer policy, HSTS)"
  }
}
