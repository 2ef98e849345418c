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
