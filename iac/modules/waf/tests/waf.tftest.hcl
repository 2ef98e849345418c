# The WAF module with a mock AWS provider.
mock_provider "aws" {}

variables {
  name = "wt"
}

run "managed_rule_groups_and_a_rate_limit" {
  command = plan

  assert {
    condition = toset([for r in aws_wafv2_web_acl.this.rule : r.name if length(r.statement[0].managed_rule_group_statement) > 0]) == toset([
    "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"])
    error_message = "the AWS managed rule groups are missing"
  }
  assert {
    condition     = one([for r in aws_wafv2_web_acl.this.rule : r.statement[0].rate_based_statement[0].limit if r.name == "rate-limit-per-ip"]) == 2000
    error_message = "a per-IP rate limit blocks floods"
  }
  assert {
    condition     = aws_wafv2_web_acl.this.scope == "CLOUDFRONT"
    error_message = "the web ACL is for CloudFront"
  }
  assert {
    condition     = startswith(aws_cloudwatch_log_group.waf.name, "aws-waf-logs-")
    error_message = "WAF logs only to groups named aws-waf-logs-*"
  }
}

# Issue H1: the WAF request log kept every bearer token, refresh cookie and OAuth code. moto keeps
# no WAF logs, so the redaction is asserted here. AWS WAF API Reference "LoggingConfiguration",
# RedactedFields (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html):
# only SingleHeader, QueryString, UriPath and Method can be redacted, so the OAuth code goes with
# the whole query string.
run "the_log_keeps_no_tokens_cookies_or_oauth_codes" {
  command = plan

  assert {
    condition = toset(flatten([for f in aws_wafv2_web_acl_logging_configuration.this.redacted_fields :
    [for h in f.single_header : lower(h.name)]])) == toset(["authorization", "cookie"])
    error_message = "the Authorization and Cookie headers must be redacted"
  }
  assert {
    condition = anytrue([for f in aws_wafv2_web_acl_logging_configuration.this.redacted_fields :
    length(f.query_string) > 0])
    error_message = "the query string (the sign-in's code and code_verifier) must be redacted"
  }
}

# Issue C4: WAF logged every request, allowed ones included (ingestion cost, and a log of every
# user's activity). Only requests a rule blocked or counted are kept. moto's WAF keeps no logs, so
# the filter is asserted here. AWS WAF API Reference: "LoggingFilter"
# (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingFilter.html), "ActionCondition"
# (https://docs.aws.amazon.com/waf/latest/APIReference/API_ActionCondition.html).
run "the_log_keeps_only_blocked_and_counted_requests" {
  command = plan

  assert {
    condition     = one(aws_wafv2_web_acl_logging_configuration.this.logging_filter).default_behavior == "DROP"
    error_message = "requests no filter keeps (allowed ones) are dropped from the log"
  }
  assert {
    condition = [for f in one(aws_wafv2_web_acl_logging_configuration.this.logging_filter).filter : {
      behavior    = f.behavior
      requirement = f.requirement
      actions     = toset(flatten([for c in f.condition : [for a in c.action_condition : a.action]]))
      }] == [{
      behavior    = "KEEP"
      requirement = "MEETS_ANY"
      actions     = toset(["BLOCK", "COUNT", "EXCLUDED_AS_COUNT"])
    }]
    error_message = "blocked and counted requests (COUNT, and managed rules overridden to count) are kept"
  }
}
