# The user pool's groups with a mock AWS provider: the web app's Ops and Analytics views each have one.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name          = "it-users"
  domain_prefix = "it-users"
  callback_urls = ["https://app.example/"]
  logout_urls   = ["https://app.example/"]
}

run "operators_and_analysts_are_groups_of_the_pool" {
  command = plan

  assert {
    condition     = aws_cognito_user_group.operators.name == "operators"
    error_message = "the API checks the Ops view's group by the name \"operators\" (lambdas/api/auth.py)"
  }
  assert {
    condition     = aws_cognito_user_group.analysts.name == "analysts"
    error_message = "analytics are for the analysts group by default"
  }
  assert {
    condition     = output.operators_group == "operators" && output.analysts_group == "analysts"
    error_message = "both group names are outputs, for the environments to pass on"
  }
}

run "the_analysts_group_can_be_renamed" {
  command = plan

  variables {
    analysts_group = "data-team"
  }

  assert {
    condition     = aws_cognito_user_group.analysts.name == "data-team" && aws_cognito_user_group.operators.name == "operators"
    error_message = "a renamed analysts group leaves the operators group as it is"
  }
}
