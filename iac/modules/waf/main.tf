# A CloudFront-scope web ACL: AWS managed rule groups plus a per-IP rate
# limit, with request logs. CloudFront web ACLs exist only in us-east-1, so
# call this module with a us-east-1 provider.
resource "aws_wafv2_web_acl" "this" {
  # checkov:skip=CKV_AWS_192:AWSManagedRulesKnownBadInputsRuleSet (the Log4j rule) is in the dynamic rule list below; checkov does not expand dynamic blocks.
  name        = var.name
  description = "Managed rule groups and a per-IP rate limit for the front end."
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = {
      AWSManagedRulesCommonRuleSet          = 1
      AWSManagedRulesKnownBadInputsRuleSet  = 2
      AWSManagedRulesAmazonIpReputationList = 3
    }
    content {
      name     = rule.key
      priority = rule.value
      override_action {
        none {}
      }
      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = rule.key
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = rule.key
        sampled_requests_enabled   = true
      }
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 10
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.rate_limit_per_5min
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "waf" {
  # checkov:skip=CKV_AWS_158:Request logs hold no secrets (tokens, cookies and query strings are redacted); default CloudWatch Logs encryption suffices.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost).
  # WAF only logs to groups whose name starts with aws-waf-logs-.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # WAF logs every request's headers and query string. Keep the secrets out: the bearer token
  # (Authorization), the refresh cookie (Cookie), and the sign-in's OAuth code and PKCE
  # code_verifier, which /authorize takes as query arguments. WAF redacts only whole fields
  # (SingleHeader, QueryString, UriPath, Method; no single query argument), so the query string
  # goes as a whole. AWS WAF: "LoggingConfiguration", RedactedFields
  # (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html);
  # Developer Guide "Log fields for protection pack (web ACL) traffic" / "Redacting log fields".
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
  redacted_fields {
    query_string {}
  }

  # Only what a rule acted on is kept: blocked requests, and requests a rule (or a managed rule
  # overridden to Count) only counted. Allowed requests, nearly all of them, are dropped: WAF
  # logged every request (cost per GB ingested, and a record of every user's activity). The web
  # ACL's sampled requests (sampled_requests_enabled) still show recent allowed traffic in the
  # console. AWS WAF API Reference: "LoggingFilter"
  # (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingFilter.html), "Filter",
  # "ActionCondition" (BLOCK, COUNT, EXCLUDED_AS_COUNT); Developer Guide "Logging protection pack
  # (web ACL) traffic" (log filtering).
  logging_filter {
    default_behavior = "DROP"

    filter {
      behavior    = "KEEP"
      requirement = "MEETS_ANY"

      dynamic "condition" {
        for_each = ["BLOCK", "COUNT", "EXCLUDED_AS_COUNT"]
        content {
          action_condition {
            action = condition.value
          }
        }
      }
    }
  }
}
