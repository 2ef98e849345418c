# The application's storage. The app reads ONE storage URL (AIORCH_STORAGE_URL)
# and lays out uploads/, results/, executions/, idempotency/ and analytics/
# under it (DESIGN.md key layout), so there is one "data" bucket with
# per-prefix lifecycle rules instead of one bucket per kind of data.
# Beside it: Athena query results, Lambda packages and the access logs.

module "access_logs" {
  source                             = "../bucket"
  name                               = "${var.name_prefix}-access-logs"
  versioning                         = false
  access_logging                     = false # the log bucket does not log to itself
  log_delivery                       = true
  force_destroy                      = var.force_destroy
  expire_prefixes                    = { "s3/" = var.access_log_expiry_days }
  noncurrent_version_expiration_days = 1
  tags                               = var.tags
}

module "data" {
  source            = "../bucket"
  name              = "${var.name_prefix}-data"
  versioning        = true
  access_log_bucket = module.access_logs.id
  force_destroy     = var.force_destroy
  # Originals are only needed while the work runs; results, records and analytics stay.
  expire_prefixes      = { "uploads/" = var.upload_expiry_days }
  cors_allowed_origins = var.cors_allowed_origins
  # What a user deletes (DELETE /image-ai-analysis/{id}: results/...) and what jobs overwrite
  # (progress.json, many times per job) become noncurrent versions: kept a few days against a
  # mistake, not the bucket module's 30. Amazon S3: "Lifecycle configuration elements"
  # (NoncurrentVersionExpiration), https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
  noncurrent_version_expiration_days = var.deleted_versions_retention_days
  tags                               = var.tags
}

module "athena_results" {
  source                             = "../bucket"
  name                               = "${var.name_prefix}-athena-results"
  versioning                         = false
  access_log_bucket                  = module.access_logs.id
  force_destroy                      = var.force_destroy
  expire_prefixes                    = { "results/" = var.athena_results_expiry_days }
  noncurrent_version_expiration_days = 1
  tags                               = var.tags
}

module "artifacts" {
  source            = "../bucket"
  name              = "${var.name_prefix}-artifacts"
  versioning        = true
  access_log_bucket = module.access_logs.id
  force_destroy     = var.force_destroy
  tags              = var.tags
}
