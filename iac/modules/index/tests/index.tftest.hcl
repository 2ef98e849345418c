# The execution index table with a mock AWS provider: recovery, encryption, capacity and grants.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/it-executions" }
  }
}

variables {
  table_name = "it-executions"
  role_access = {
    "it-api"           = "api"
    "it-record-result" = "recorder"
    "it-status-change" = "status_change"
  }
}

run "table_is_recoverable_encrypted_and_on_demand" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.index.point_in_time_recovery[0].enabled
    error_message = "point-in-time recovery must be on"
  }
  assert {
    condition     = aws_dynamodb_table.index.server_side_encryption[0].enabled
    error_message = "server-side encryption must be on"
  }
  assert {
    condition     = aws_dynamodb_table.index.billing_mode == "PAY_PER_REQUEST"
    error_message = "on-demand capacity"
  }
  assert {
    condition     = aws_dynamodb_table.index.hash_key == "pk" && aws_dynamodb_table.index.range_key == "sk"
    error_message = "keys must match aiorch/index/dynamodb.py (pk, sk)"
  }
  assert {
    condition     = aws_dynamodb_table.index.deletion_protection_enabled
    error_message = "deletion protection is on by default"
  }
}

run "grants_are_least_privilege" {
  command = apply

  assert {
    condition = alltrue([
      for name, doc in data.aws_iam_policy_document.access : alltrue([
        for st in doc.statement : (name == "it-api" || !contains(st.actions, "dynamodb:DeleteItem")) && !contains(st.actions, "dynamodb:Scan")
      ])
    ])
    error_message = "only the API deletes (a user's delete from history); no role scans"
  }
  assert {
    condition     = contains(data.aws_iam_policy_document.access["it-api"].statement[0].actions, "dynamodb:DeleteItem")
    error_message = "the API deletes an ended execution's record (DELETE /image-ai-analysis/{id})"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.access["it-record-result"].statement) == 1 && !contains(data.aws_iam_policy_document.access["it-record-result"].statement[0].actions, "dynamodb:Query")
    error_message = "recorders read one item at a time, from the table only"
  }
  assert {
    condition     = contains(data.aws_iam_policy_document.access["it-status-change"].statement[1].resources, "arn:aws:dynamodb:eu-west-1:111122223333:table/it-executions/index/live")
    error_message = "the status-change role reads the running-records index"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.access["it-api"].statement) == 1 && length(data.aws_iam_policy_document.access["it-api"].statement[0].resources) == 1 && contains(data.aws_iam_policy_document.access["it-api"].statement[0].resources, "arn:aws:dynamodb:eu-west-1:111122223333:table/it-executions")
    error_message = "the API gets the table itself, not its indexes"
  }
  assert {
    condition     = aws_iam_role_policy.access["it-api"].role == "it-api"
    error_message = "each grant goes to its own role"
  }
  assert {
    condition     = output.index_url == "dynamodb://it-executions"
    error_message = "the index URL selects the table"
  }
}

run "unknown_access_is_refused" {
  command = plan
  variables {
    role_access = { "it-api" = "admin" }
  }
  expect_failures = [var.role_access]
}

run "a_schedule_calls_the_sweep" {
  command = plan
  variables {
    sweep_function = { name = "it-status-change", arn = "arn:aws:lambda:eu-west-1:111122223333:function:it-status-change" }
  }

  assert {
    condition     = aws_cloudwatch_event_rule.sweep[0].schedule_expression == "rate(15 minutes)"
    error_message = "the sweep runs every 15 minutes by default"
  }
  assert {
    condition     = aws_lambda_permission.sweep[0].function_name == "it-status-change" && aws_lambda_permission.sweep[0].principal == "events.amazonaws.com"
    error_message = "EventBridge may invoke the status-change function"
  }
}

# Idempotency-Key claims and tombstones expire (issue H6): the code writes expires_at
# (aiorch/index/dynamodb.py TTL_ATTRIBUTE, held to this file by tests/unit/index/test_dynamodb_ttl.py),
# and only a TTL setting on the table makes DynamoDB delete them ("Using time to live (TTL) in
# DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html). moto keeps
# expired items, so this is asserted here.
run "claims_and_tombstones_expire_by_ttl" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.index.ttl[0].enabled && aws_dynamodb_table.index.ttl[0].attribute_name == "expires_at"
    error_message = "TTL must be on, on expires_at (the attribute aiorch/index/dynamodb.py writes)"
  }
}
