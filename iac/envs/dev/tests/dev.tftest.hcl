# The dev environment with mock AWS providers: the pieces fit together as the contracts say.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

# The state machine's ARN, known only after apply, for main.tf's check block while planning.
override_resource {
  target          = module.workflow.aws_sfn_state_machine.this
  override_during = plan
  values = {
    arn = "arn:aws:states:us-east-1:111122223333:stateMachine:tdev-image-ai-analysis"
  }
}

variables {
  name                = "tdev"
  job_image_tag       = "v1"
  lambda_package_path = "tests/fixture-package.zip"
  vpc_id              = "vpc-1"
  subnet_ids          = ["subnet-1"]
}

run "deploys_exactly_the_workflow_file_with_its_names" {
  command = plan

  assert {
    condition = module.workflow.definition == replace(replace(replace(replace(replace(
      file("../../../workflows/image_ai_analysis.asl.json"),
      "$${validate_input_function}", "tdev-validate-input"),
      "$${record_result_function}", "tdev-record-result"),
      "$${record_failure_function}", "tdev-record-failure"),
      "$${job_queue}", "tdev-gpu"),
    "$${job_definition}", "tdev-model-job")
    error_message = "the deployed definition must be workflows/image_ai_analysis.asl.json with the five names filled in"
  }
}

run "functions_know_where_everything_is" {
  command = plan

  assert {
    condition     = output.lambda_environment["AIORCH_STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:111122223333:stateMachine:tdev-image-ai-analysis"
    error_message = "AIORCH_STATE_MACHINE_ARN must name the deployed state machine"
  }
  assert {
    condition     = output.lambda_environment["AIORCH_STORAGE_URL"] == "s3://tdev-111122223333-data"
    error_message = "AIORCH_STORAGE_URL must name the data bucket"
  }
  assert {
    condition     = output.lambda_environment["AIORCH_ATHENA_DATABASE"] == "tdev" && output.lambda_environment["AIORCH_ATHENA_WORKGROUP"] == "tdev"
    error_message = "the Athena settings must name the deployed database and workgroup"
  }
  assert {
    condition = output.lambda_handlers == {
      validate_input = "lambdas.validate_input.handler.handler"
      record_result  = "lambdas.record_result.handler.handler"
      record_failure = "lambdas.record_failure.handler.handler"
      status_change  = "lambdas.status_change.handler.handler"
      api            = "lambdas.api.handler.handler"
    }
    error_message = "handler strings must match the lambdas/ package"
  }
}

run "timeouts_nest_with_the_real_values" {
  # The timeouts nest: read from the deployed ASL file and the modules' real defaults.
  command = plan

  assert {
    condition = alltrue([for state, seconds in output.timeouts.lambda_states :
    output.timeouts.lambda_functions[{ ValidateInput = "validate_input", RecordResult = "record_result", RecordFailure = "record_failure" }[state]] < seconds])
    error_message = "each Lambda task's function must time out before its state's TimeoutSeconds"
  }
  assert {
    condition     = output.timeouts.lambda_functions["api"] < output.timeouts.api_gateway_integration && output.timeouts.api_gateway_integration <= 29
    error_message = "the API function must end before API Gateway's 29 s integration timeout"
  }
  assert {
    condition = alltrue([for state, seconds in output.timeouts.job_states :
    output.timeouts.job_attempts * output.timeouts.job_attempt_timeout + output.timeouts.queue_start_allowance <= seconds])
    error_message = "Batch attempts x attempt timeout + queueing/start allowance must fit in the job task's TimeoutSeconds"
  }
}

run "timeouts_that_do_not_nest_are_caught" {
  # The same check fails when Batch may run longer than the state machine waits.
  command = plan
  variables {
    job_attempt_timeout_s = 3600
  }
  expect_failures = [check.timeouts_nest]
}

run "analytics_are_for_the_analysts_group_only" {
  # Without the group every signed-in user reads everyone's analytics.
  command = plan

  assert {
    condition     = output.lambda_environment["AIORCH_AUTH_ANALYSTS_GROUP"] == "analysts"
    error_message = "the API must limit analytics to the analysts group"
  }
  assert {
    condition     = module.auth.analysts_group == "analysts"
    error_message = "the Cognito group must exist in the user pool"
  }
}

run "the_spa_calls_the_api_on_its_own_origin" {
  # CloudFront routes the API's paths, so config.json's base is "".
  command = plan

  assert {
    condition     = output.frontend_config.api_base_url == ""
    error_message = "config.json must point the SPA at its own origin"
  }
}

# Issue W2: the API's refresh cookie lived 30 days and Cognito's refresh token 7, so for 23 days a
# user met a 401 at every visit. The API is told the app client's own refresh_token_validity (in
# days, token_validity_units) and sets the cookie's Max-Age from it. Amazon Cognito: "Refresh tokens"
# (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-refresh-token.html).
# Sign-out's logout_uri is the redirect URI's origin (lambdas/api/cognito.py logout_url): it must be
# one of the app client's sign-out URLs ("The logout endpoint",
# https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html).
run "the_refresh_cookie_lives_as_long_as_cognitos_refresh_token" {
  command = plan

  # The front end's URL (CloudFront's domain), known only after apply.
  override_resource {
    target          = module.frontend.aws_cloudfront_distribution.this
    override_during = plan
    values = {
      domain_name = "d111111abcdef8.cloudfront.net"
    }
  }

  assert {
    condition     = output.lambda_environment["AIORCH_AUTH_REFRESH_TOKEN_DAYS"] == tostring(module.auth.refresh_token_validity_days)
    error_message = "AIORCH_AUTH_REFRESH_TOKEN_DAYS must be the app client's refresh_token_validity"
  }
  assert {
    condition     = module.auth.refresh_token_validity_days == 7
    error_message = "the app client's refresh tokens live 7 days (aiorch/settings.py auth_refresh_token_days defaults to the same)"
  }
  assert {
    condition     = contains(module.auth.logout_urls, trimsuffix(output.lambda_environment["AIORCH_AUTH_REDIRECT_URI"], "/"))
    error_message = "the redirect URI's origin (sign-out's logout_uri) must be one of the app client's sign-out URLs"
  }
}

# Issue H9: the default VPC was assumed (absent in many Organizations accounts) and its public
# subnets give every GPU host a public IP. A VPC and its subnets can be given; given subnets that map
# public IPs on launch are named by a check (Batch has no public-IP switch for EC2 hosts: the subnet
# decides). AWS Batch API Reference: "NetworkConfiguration" (Fargate only)
# (https://docs.aws.amazon.com/batch/latest/APIReference/API_NetworkConfiguration.html).
run "private_gpu_subnets_pass" {
  command = plan

  override_data {
    target = data.aws_subnet.gpu["subnet-1"]
    values = { id = "subnet-1", map_public_ip_on_launch = false }
  }

  assert {
    condition     = module.batch.compute_environment_arns != null && keys(data.aws_subnet.gpu) == ["subnet-1"]
    error_message = "the given subnets are read and used"
  }
}

run "public_gpu_subnets_are_named" {
  command = plan

  override_data {
    target = data.aws_subnet.gpu["subnet-1"]
    values = { id = "subnet-1", map_public_ip_on_launch = true }
  }
  expect_failures = [check.gpu_subnets_are_private]
}

run "a_vpc_without_its_subnets_is_refused" {
  command = plan

  variables {
    subnet_ids = null
  }
  expect_failures = [var.subnet_ids]
}
