# API Gateway HTTP API in front of the API Lambda. Every route except the
# public ones needs a Cognito JWT; the app verifies the token again itself
# (same verifier code as locally), so the gateway is a first gate, not the only one.

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  # Kept on: CloudFront's API origin is this execute-api host (module frontend), and a disabled
  # default endpoint answers only on a custom domain name. Requests that skip CloudFront meet the
  # JWT authorizer, the stage throttle below and the Lambda's origin check (docs/deploy.md, step 7).
  # API Gateway: "Disable the default endpoint for HTTP APIs"
  # (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-disable-default-endpoint.html).
  disable_execute_api_endpoint = false
  # The SPA reaches the API through CloudFront on its own origin (module frontend), so it needs
  # no CORS. Other origins (a front-end dev server) get CORS here, but their preflights still
  # meet the JWT authorizer on $default (AWS: "Configuring CORS for an HTTP API",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html): use the
  # dev server's proxy instead where possible.
  dynamic "cors_configuration" {
    for_each = length(var.cors_allowed_origins) > 0 ? [1] : []
    content {
      allow_origins = var.cors_allowed_origins
      allow_methods = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
      allow_headers = ["authorization", "content-type", "idempotency-key"]
      max_age       = 3600
    }
  }
  tags = var.tags
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.this.id
  name             = "cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audience
  }
}

resource "aws_apigatewayv2_integration" "lambda" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = var.lambda_invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "protected" {
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = "$default"
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id
}

locals {
  # The routes the app serves without a token (DESIGN.md auth exemptions), from the app's own route
  # table: lambdas/api/public_routes.py writes this file and tests/unit/api/test_public_routes.py
  # fails when it differs from what FastAPI serves, so this list cannot drift from the app's.
  public_routes = jsondecode(file("${path.module}/public_routes.json"))
}

resource "aws_apigatewayv2_route" "public" {
  # checkov:skip=CKV_AWS_309:These routes are the documented auth exemptions (health, readiness, operations, sign-in, JWKS, signed local links).
  for_each           = toset(local.public_routes)
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "access" {
  # checkov:skip=CKV_AWS_158:Access logs hold no secrets; the default CloudWatch Logs encryption suffices and a CMK costs per deployment.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost); a year is not needed for access logs by default.
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      sub            = "$context.authorizer.claims.sub"
      error          = "$context.error.message"
      authorizer     = "$context.authorizer.error"
    })
  }
  tags = var.tags
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}
