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
