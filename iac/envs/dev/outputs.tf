output "storage_url" {
  description = "AIORCH_STORAGE_URL: the data bucket holding every application key."
  value       = module.storage.storage_url
}

output "data_bucket" {
  description = "The data bucket."
  value       = module.storage.data_bucket
}

output "state_machine_arn" {
  description = "AIORCH_STATE_MACHINE_ARN."
  value       = module.workflow.state_machine_arn
}

output "state_machine_definition" {
  description = "The definition as deployed (the workflow file with names filled in)."
  value       = module.workflow.definition
}

output "function_names" {
  description = "Lambda function name by handler key."
  value       = module.lambdas.function_names
}

output "lambda_handlers" {
  description = "Lambda handler string by handler key."
  value       = module.lambdas.handlers
}

output "lambda_environment" {
  description = "AIORCH_* settings given to every function."
  value       = local.lambda_environment
}

output "job_queue" {
  description = "Batch job queue name."
  value       = module.batch.job_queue_name
}

output "job_definition" {
  description = "Batch job definition name."
  value       = module.batch.job_definition_name
}

output "ecr_repository_url" {
  description = "Push the job image here (docker tag/push with the tag given as job_image_tag)."
  value       = module.ecr.repository_url
}

output "api_endpoint" {
  description = "The HTTP API's own URL: it refuses requests that did not come through CloudFront (use frontend_url)."
  value       = module.api.api_endpoint
}

output "frontend_url" {
  description = "Public URL of the front end."
  value       = module.frontend.url
}

output "frontend_bucket" {
  description = "Upload frontend/dist here."
  value       = module.frontend.bucket
}

output "frontend_distribution_id" {
  description = "Invalidate this distribution after uploading the front end."
  value       = module.frontend.distribution_id
}

output "frontend_config" {
  description = "config.json to upload beside the built front end (frontend/src/lib/config.ts reads it)."
  # "": the API is on the page's own origin (CloudFront routes its paths), as on the local server.
  value = { api_base_url = "" }
}

output "cognito_user_pool_id" {
  description = "Cognito user pool id (create users here)."
  value       = module.auth.user_pool_id
}

output "athena_workgroup" {
  description = "AIORCH_ATHENA_WORKGROUP."
  value       = module.analytics.workgroup_name
}

output "glue_database" {
  description = "AIORCH_ATHENA_DATABASE."
  value       = module.analytics.database_name
}

output "glue_table_columns" {
  description = "Columns of the results table as deployed."
  value       = module.analytics.table_columns
}

output "named_queries" {
  description = "Athena named query by SQL file."
  value       = module.analytics.named_query_names
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.observability.alarm_topic_arn
}

output "timeouts" {
  description = "The timeouts that must nest (see check timeouts_nest), seconds."
  value = {
    lambda_functions        = module.lambdas.timeouts_s
    lambda_states           = { for state in keys(local.lambda_task_functions) : state => local.deployed_states[state].TimeoutSeconds }
    job_states              = { for state in local.job_tasks : state => local.deployed_states[state].TimeoutSeconds }
    job_attempts            = module.batch.job_attempts
    job_attempt_timeout     = module.batch.job_attempt_timeout_s
    queue_start_allowance   = module.batch.queue_start_allowance_s
    api_gateway_integration = local.api_gateway_wait
  }
}
