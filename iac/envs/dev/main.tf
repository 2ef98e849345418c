# The dev deployment: every module wired together. The state machine is the
# file the local states service runs (workflows/image_ai_analysis.asl.json).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_vpc" "default" {
  count   = var.vpc_id == null ? 1 : 0
  default = true
}

# Given subnets should be private: Batch launches the GPU hosts with the subnet's own public-IP
# setting (an EC2 compute environment has no switch of its own; only Fargate jobs take
# assignPublicIp, AWS Batch API Reference "NetworkConfiguration",
# https://docs.aws.amazon.com/batch/latest/APIReference/API_NetworkConfiguration.html), so a subnet
# that maps public IPs on launch gives every host one (Amazon VPC: MapPublicIpOnLaunch).
data "aws_subnet" "gpu" {
  for_each = toset(coalesce(var.subnet_ids, []))
  id       = each.value
}

check "gpu_subnets_are_private" {
  assert {
    condition     = alltrue([for s in data.aws_subnet.gpu : !s.map_public_ip_on_launch])
    error_message = "These GPU subnets give every host a public IP (map_public_ip_on_launch): ${join(", ", [for s in data.aws_subnet.gpu : s.id if s.map_public_ip_on_launch])}. Use private subnets with a NAT gateway or VPC endpoints (docs/deploy.md, \"Network\")."
  }
}

data "aws_subnets" "default" {
  count = var.subnet_ids == null ? 1 : 0
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
}

locals {
  repo          = "${path.module}/../../.."
  account_id    = data.aws_caller_identity.current.account_id
  bucket_prefix = "${var.name}-${local.account_id}"
  vpc_id        = var.vpc_id != null ? var.vpc_id : data.aws_vpc.default[0].id
  subnet_ids    = var.subnet_ids != null ? var.subnet_ids : data.aws_subnets.default[0].ids
  package_path  = coalesce(var.lambda_package_path, "${path.module}/../../build/lambda.zip")

  state_machine_name = "${var.name}-image-ai-analysis"
  # Named here, not taken from module.index: the index grants need the Lambda roles (no cycle).
  index_table_name = "${var.name}-executions"
  # Known before the state machine exists, which breaks the cycle Lambda env -> state machine -> Lambda.
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${var.region}:${local.account_id}:stateMachine:${local.state_machine_name}"

  frontend_origins = concat([module.frontend.url], var.extra_frontend_origins)
  # The SPA signs in on its own page (frontend/src/lib/signin.ts: origin + path).
  redirect_uri = "${module.frontend.url}/"

  # AIORCH_* settings (aiorch/settings.py) of every function.
  weights_manifest_key = "config/weights-manifest.json"
  lambda_environment = {
    AIORCH_STORAGE_URL         = module.storage.storage_url
    AIORCH_INDEX_URL           = "dynamodb://${local.index_table_name}"
    AIORCH_AWS_REGION          = var.region
    AIORCH_DATA_DIR            = "/tmp/aiorch" # Lambda's only writable folder
    AIORCH_STATE_MACHINE_NAME  = local.state_machine_name
    AIORCH_STATE_MACHINE_ARN   = local.state_machine_arn
    AIORCH_STATES_ENDPOINT_URL = coalesce(var.endpoint_url, "https://states.${var.region}.amazonaws.com")
    AIORCH_ATHENA_WORKGROUP    = module.analytics.workgroup_name
    AIORCH_ATHENA_DATABASE     = module.analytics.database_name
    AIORCH_AUTH_ISSUER         = module.auth.issuer
    AIORCH_AUTH_CLIENT_ID      = module.auth.client_id
    AIORCH_AUTH_DOMAIN         = module.auth.hosted_ui_url
    AIORCH_AUTH_REDIRECT_URI   = local.redirect_uri
    # The refresh cookie lives exactly as long as Cognito's refresh token (lambdas/api/routes/signin.py).
    AIORCH_AUTH_REFRESH_TOKEN_DAYS = tostring(module.auth.refresh_token_validity_days)
    AIORCH_LOCAL_AUTO_SIGN_IN      = "false"
    # Analytics span every user's executions: only this Cognito group may read them.
    AIORCH_AUTH_ANALYSTS_GROUP = module.auth.analysts_group
  }
}

module "storage" {
  source               = "../../modules/storage"
  name_prefix          = local.bucket_prefix
  upload_expiry_days   = var.upload_expiry_days
  cors_allowed_origins = local.frontend_origins
  force_destroy        = var.force_destroy
}

module "ecr" {
  source       = "../../modules/ecr"
  name         = "${var.name}/jobs"
  force_delete = var.force_destroy
}

module "waf" {
  source             = "../../modules/waf"
  providers          = { aws = aws.us_east_1 }
  name               = "${var.name}-frontend"
  log_retention_days = var.log_retention_days
}

# The value CloudFront adds to every API request and the API Lambda checks, so the
# API's execute-api URL is no side door around the web ACL. Created once and kept
# (uuid() would change on every plan; ignore_changes holds the first value).
resource "terraform_data" "origin_verify_secret" {
  input = uuid()
  lifecycle {
    ignore_changes = [input]
  }
}

module "frontend" {
  source               = "../../modules/frontend"
  name_prefix          = var.name
  bucket_prefix        = local.bucket_prefix
  access_log_bucket    = module.storage.access_log_bucket
  web_acl_arn          = module.waf.web_acl_arn
  api_endpoint         = module.api.api_endpoint
  origin_verify_secret = terraform_data.origin_verify_secret.output
  # Presigned S3 links are SigV4 on the bucket's regional virtual host (aiorch/storage/s3.py).
  storage_origin = "https://${module.storage.data_bucket}.s3.${var.region}.amazonaws.com"
  force_destroy  = var.force_destroy
}

module "auth" {
  source              = "../../modules/auth"
  name                = var.name
  domain_prefix       = local.bucket_prefix
  callback_urls       = concat([local.redirect_uri], [for o in var.extra_frontend_origins : "${o}/"])
  logout_urls         = local.frontend_origins
  deletion_protection = !var.force_destroy
}

module "analytics" {
  source                = "../../modules/analytics"
  name_prefix           = var.name
  database_name         = replace(var.name, "-", "_")
  schema_path           = "${local.repo}/analytics/schema.json"
  queries_dir           = "${local.repo}/analytics/queries"
  data_bucket           = module.storage.data_bucket
  athena_results_bucket = module.storage.athena_results_bucket
}

module "batch" {
  source         = "../../modules/batch"
  name_prefix    = var.name
  vpc_id         = local.vpc_id
  subnet_ids     = local.subnet_ids
  instance_types = var.gpu_instance_types
  job_timeout_s  = var.job_attempt_timeout_s
  min_vcpus      = var.gpu_min_vcpus
  image_uri      = "${module.ecr.repository_url}:${var.job_image_tag}"
  job_environment = {
    AIORCH_STORAGE_URL = module.storage.storage_url
    AIORCH_AWS_REGION  = var.region
    # A job's price (aiorch/pricing.py): a container cannot read the instance metadata (IMDSv2 hop
    # limit 1), so it gets the types it may run on; one prices exactly, several as the dearest.
    AIORCH_INSTANCE_TYPE = join(",", var.gpu_instance_types)
  }
  data_bucket_arn    = module.storage.data_bucket_arn
  log_retention_days = var.log_retention_days
}

module "lambdas" {
  source                    = "../../modules/lambdas"
  name_prefix               = var.name
  package_path              = local.package_path
  package_bucket            = module.storage.artifacts_bucket
  data_bucket_arn           = module.storage.data_bucket_arn
  state_machine_arn         = local.state_machine_arn
  athena_workgroup_arn      = module.analytics.workgroup_arn
  athena_results_bucket_arn = module.storage.athena_results_bucket_arn
  glue_database_name        = module.analytics.database_name
  job_queue_arn             = module.batch.job_queue_arn
  environment               = local.lambda_environment
  api_environment = {
    AIORCH_API_ORIGIN_SECRET = terraform_data.origin_verify_secret.output
    # The job image's weights manifest, copied to the bucket by the deploy (docs/deploy.md, step 5):
    # GET /operations marks models installed from it; until it exists every model is "unknown".
    AIORCH_WEIGHTS_MANIFEST = "${module.storage.storage_url}/${local.weights_manifest_key}"
    # The estimate a submit charges to the monthly budget is priced like the jobs (see the batch module's).
    AIORCH_INSTANCE_TYPE = join(",", var.gpu_instance_types)
  }
  log_retention_days = var.log_retention_days
}

module "index" {
  source     = "../../modules/index"
  table_name = local.index_table_name
  role_access = {
    (module.lambdas.role_names["api"])            = "api"
    (module.lambdas.role_names["record_result"])  = "recorder"
    (module.lambdas.role_names["record_failure"]) = "recorder"
    (module.lambdas.role_names["status_change"])  = "status_change"
    (module.lambdas.role_names["validate_input"]) = "stage" # its "validating" stage, shown by status polls
  }
  deletion_protection = !var.force_destroy
  sweep_function      = { name = module.lambdas.function_names["status_change"], arn = module.lambdas.function_arns["status_change"] }
}

module "workflow" {
  source                    = "../../modules/workflow"
  name                      = local.state_machine_name
  definition_path           = "${local.repo}/workflows/image_ai_analysis.asl.json"
  function_names            = module.lambdas.function_names
  function_arns             = module.lambdas.function_arns
  job_queue_arn             = module.batch.job_queue_arn
  job_queue_name            = module.batch.job_queue_name
  job_definition_name       = module.batch.job_definition_name
  job_definition_arn_prefix = module.batch.job_definition_arn_prefix
  log_retention_days        = var.log_retention_days
}

module "api" {
  source               = "../../modules/api"
  name                 = var.name
  lambda_function_name = module.lambdas.function_names["api"]
  lambda_invoke_arn    = module.lambdas.api_invoke_arn
  jwt_issuer           = module.auth.issuer
  jwt_audience         = [module.auth.client_id]
  # Not the front end's own origin: CloudFront serves the SPA and the API on one origin.
  cors_allowed_origins = var.extra_frontend_origins
  log_retention_days   = var.log_retention_days
}

module "observability" {
  source                = "../../modules/observability"
  name_prefix           = var.name
  state_machine_arn     = module.workflow.state_machine_arn
  job_queue_arn         = module.batch.job_queue_arn
  lambda_function_names = module.lambdas.function_names
  api_id                = module.api.api_id
  alarm_email           = var.alarm_email
  log_retention_days    = var.log_retention_days
}

check "state_machine_arn_matches" {
  assert {
    condition     = module.workflow.state_machine_arn == local.state_machine_arn
    error_message = "The Lambda environment's AIORCH_STATE_MACHINE_ARN differs from the deployed state machine's ARN."
  }
}

# Timeouts nest, so no outer limit cuts an inner step short before it can answer its own error: each
# Lambda ends before its state's TimeoutSeconds, the API before API Gateway's 29 s integration
# limit, and Batch's attempts x attempt timeout plus the
# queueing and instance-start allowance fit in the state machine's job task timeout.
locals {
  deployed_states = jsondecode(module.workflow.definition).States
  lambda_task_functions = {
    ValidateInput = "validate_input"
    RecordResult  = "record_result"
    RecordFailure = "record_failure"
  }
  # Every job's task state and the batch's (inside its two Maps), written from the registry of
  # operations by `python -m workflows.render` (a unit test holds the file current).
  job_task_names = jsondecode(file("${path.module}/job_tasks.json"))
  job_tasks      = local.job_task_names.job_tasks
  batch_job_path = local.job_task_names.batch_job_task_path # its Map, the Map inside, the task
  batch_job_task = local.deployed_states[local.batch_job_path[0]].ItemProcessor.States[local.batch_job_path[1]].ItemProcessor.States[local.batch_job_path[2]]
  job_task_timeouts_s = concat(
    [for state in local.job_tasks : local.deployed_states[state].TimeoutSeconds],
    [local.batch_job_task.TimeoutSeconds],
  )
  job_budget_s     = module.batch.job_attempts * module.batch.job_attempt_timeout_s + module.batch.queue_start_allowance_s
  api_gateway_wait = module.api.integration_timeout_ms / 1000
}

check "timeouts_nest" {
  assert {
    condition = alltrue([for state, fn in local.lambda_task_functions :
    module.lambdas.timeouts_s[fn] < local.deployed_states[state].TimeoutSeconds])
    error_message = "A Lambda task's function timeout must be shorter than its state's TimeoutSeconds."
  }
  assert {
    condition     = module.lambdas.timeouts_s["api"] < local.api_gateway_wait && local.api_gateway_wait <= 29
    error_message = "The API function must end before API Gateway's integration timeout (at most 29 s)."
  }
  assert {
    condition     = alltrue([for timeout_s in local.job_task_timeouts_s : local.job_budget_s <= timeout_s])
    error_message = "Batch attempts x attempt timeout + queueing allowance must fit in the job tasks' TimeoutSeconds."
  }
}
