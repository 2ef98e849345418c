output "state_machine_arn" {
  description = "State machine ARN (AIORCH_STATE_MACHINE_ARN)."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "State machine name."
  value       = aws_sfn_state_machine.this.name
}

output "definition" {
  description = "The rendered definition, as deployed."
  value       = local.definition
}

output "log_group_name" {
  description = "Execution log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "status_change_rule_name" {
  description = "EventBridge rule that sends ended executions to the status-change handler."
  value       = aws_cloudwatch_event_rule.status_change.name
}

output "role_policy" {
  description = "The state machine role's policy document (an object)."
  value       = local.policy
}
