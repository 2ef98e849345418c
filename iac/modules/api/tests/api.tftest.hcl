# Which routes skip the JWT authorizer (issue W1), with a mock AWS provider. moto neither routes
# HTTP APIs nor runs their authorizers, so the route keys are asserted here. AWS: "Controlling
# access to HTTP APIs with JWT authorizers"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html) and
# "Working with routes for HTTP APIs"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
# a request matching no route of its own meets $default, which carries the JWT authorizer.
mock_provider "aws" {}

variables {
  name                 = "at"
  lambda_function_name = "at-api"
  lambda_invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:at-api/invocations"
  jwt_issuer           = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"
  jwt_audience         = ["client"]
}

run "the_apps_public_routes_skip_the_authorizer_and_everything_else_meets_it" {
  command = plan

  assert {
    condition     = toset(keys(aws_apigatewayv2_route.public)) == toset(jsondecode(file("public_routes.json")))
    error_message = "one public route per entry of public_routes.json (written from the app's route table)"
  }
  assert {
    condition = alltrue([for key in ["GET /operations", "GET /readyz", "GET /healthz", "GET /authorize", "GET /.well-known/jwks.json"] :
    contains(keys(aws_apigatewayv2_route.public), key)])
    error_message = "the web app loads GET /operations before sign-in, and probes read /healthz and /readyz: no JWT there"
  }
  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.public : r.authorization_type == "NONE"])
    error_message = "public routes carry no authorizer"
  }
  assert {
    condition     = aws_apigatewayv2_route.protected.route_key == "$default" && aws_apigatewayv2_route.protected.authorization_type == "JWT"
    error_message = "every other request meets the JWT authorizer on $default"
  }
}

# Issue H2: the execute-api URL skips CloudFront's web ACL. It cannot be disabled here: CloudFront's
# API origin is that host, and with disable_execute_api_endpoint only a custom domain answers (API
# Gateway: "Disable the default endpoint for HTTP APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-disable-default-endpoint.html).
# So the stage throttles every request, whichever way it came ("Throttle requests to your HTTP APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html), and the
# Lambda refuses requests without CloudFront's origin header (lambdas/api/origin.py).
run "the_execute_api_url_stays_for_cloudfront_and_the_stage_throttles_it" {
  command = plan

  assert {
    condition     = aws_apigatewayv2_api.this.disable_execute_api_endpoint == false
    error_message = "CloudFront reaches the API at its execute-api host: disabling it needs a custom domain first"
  }
  assert {
    condition = (aws_apigatewayv2_stage.default.default_route_settings[0].throttling_rate_limit == var.throttling_rate_limit &&
    aws_apigatewayv2_stage.default.default_route_settings[0].throttling_burst_limit == var.throttling_burst_limit)
    error_message = "the stage throttles every route at the module's throttle (sized with the web app's poll pace)"
  }
}
