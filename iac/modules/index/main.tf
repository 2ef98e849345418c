# The execution index (aiorch/index/dynamodb.py): one table, the user's partition holding their
# records (EXEC#<ulid>), their running count (RUNNING_COUNT) and Idempotency-Key claims (IDEM#<key>).
# A sparse global index on "live" holds only running records and the counters (the sweep and
# status-change events without input read it, never the whole table).
resource "aws_dynamodb_table" "index" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "live"
    type = "S"
  }

  global_secondary_index {
    name            = "live"
    hash_key        = "live"
    range_key       = "sk"
    projection_type = "ALL"
  }

  # Idempotency-Key claims and tombstones carry expires_at (aiorch/index/dynamodb.py TTL_ATTRIBUTE,
  # IDEMPOTENCY_TTL_S, TOMBSTONE_TTL_S); DynamoDB deletes them after it, without write cost.
  # Records and running counts have no expires_at and stay.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

locals {
  # Transactions need the item actions they contain (Put, Update, Delete). Only the API deletes (a user
  # removing an ended execution from their history, aiorch/index/dynamodb.py delete); nothing scans.
  actions = {
    api           = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    recorder      = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    status_change = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    # A step that only notes its stage on a running record (ValidateInput: "validating").
    stage = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
  }
  reads_live_index = toset(["status_change"])
}

data "aws_iam_policy_document" "access" {
  for_each = var.role_access

  statement {
    sid       = "Items"
    actions   = local.actions[each.value]
    resources = [aws_dynamodb_table.index.arn]
  }

  dynamic "statement" {
    for_each = contains(local.reads_live_index, each.value) ? [1] : []
    content {
      sid       = "RunningRecords"
      actions   = ["dynamodb:Query"]
      resources = ["${aws_dynamodb_table.index.arn}/index/live"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "TableKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "access" {
  for_each = var.role_access
  name     = "execution-index"
  role     = each.key
  policy   = data.aws_iam_policy_document.access[each.key].json
}

# The sweep: the status-change handler answers a "Scheduled Event" by recomputing every user's
# running count from the RUNNING records (lambdas/status_change/handler.py sweep_running_counts).
resource "aws_cloudwatch_event_rule" "sweep" {
  count               = var.sweep_function == null ? 0 : 1
  name                = "${var.table_name}-sweep"
  description         = "Recompute the execution index's running counts and log any drift."
  schedule_expression = var.sweep_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  count = var.sweep_function == null ? 0 : 1
  rule  = aws_cloudwatch_event_rule.sweep[0].name
  arn   = var.sweep_function.arn
}

resource "aws_lambda_permission" "sweep" {
  count         = var.sweep_function == null ? 0 : 1
  statement_id  = "IndexSweepSchedule"
  action        = "lambda:InvokeFunction"
  function_name = var.sweep_function.name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep[0].arn
}
