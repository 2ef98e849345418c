# The storage module with a mock AWS provider: one data bucket for every application key,
# originals expiring, everything private and encrypted.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
}

variables {
  name_prefix          = "st-111122223333"
  cors_allowed_origins = ["https://example.cloudfront.net"]
}

run "uploads_expire_and_results_stay" {
  command = apply # mock apply: lifecycle rules hold computed parts

  assert {
    condition = one([
      for r in module.data.lifecycle_rules : r.expiration[0].days if try(r.filter[0].prefix, "") == "uploads/"
    ]) == 7
    error_message = "uploads/ must expire after upload_expiry_days (7 by default)"
  }
  assert {
    condition     = length([for r in module.data.lifecycle_rules : r if length(r.expiration) > 0]) == 1
    error_message = "only uploads/ expires in the data bucket: results, records and analytics stay"
  }
  assert {
    condition     = output.storage_url == "s3://st-111122223333-data"
    error_message = "AIORCH_STORAGE_URL names the data bucket"
  }
}

run "data_is_versioned_and_private" {
  command = apply # mock apply: lifecycle rules hold computed parts

  assert {
    condition     = module.data.versioning_status == "Enabled" && module.artifacts.versioning_status == "Enabled"
    error_message = "the data and artifacts buckets keep versions"
  }
  assert {
    condition = alltrue([for b in [module.data, module.athena_results, module.artifacts, module.access_logs] :
    b.public_access_blocked])
    error_message = "every bucket blocks public access"
  }
  assert {
    condition = alltrue([for b in [module.data, module.athena_results, module.artifacts, module.access_logs] :
    b.sse_algorithm == "AES256"])
    error_message = "every bucket encrypts at rest"
  }
}

run "browser_uploads_only_to_the_data_bucket" {
  command = apply # mock apply: lifecycle rules hold computed parts

  assert {
    condition     = module.data.cors_allowed_origins == ["https://example.cloudfront.net"]
    error_message = "the data bucket allows the front end's origin (presigned POST)"
  }
  assert {
    condition     = module.athena_results.cors_allowed_origins == [] && module.artifacts.cors_allowed_origins == []
    error_message = "no other bucket takes browser requests"
  }
}

# Issue H10: a user's DELETE of an execution left its results as noncurrent versions for 30 days
# (and every overwritten progress.json with them). The data bucket drops them after 3 days. moto
# runs no lifecycle, so the rule is asserted here. Amazon S3: "Lifecycle configuration elements"
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html).
run "deleted_results_do_not_linger_as_old_versions" {
  command = apply # mock apply: lifecycle rules hold computed parts

  assert {
    condition = one(flatten([
      for r in module.data.lifecycle_rules : [for n in r.noncurrent_version_expiration : n.noncurrent_days]
    ])) == 3
    error_message = "the data bucket keeps noncurrent versions (deleted results) 3 days"
  }
}

run "deleted_versions_retention_is_bounded" {
  command = plan

  variables {
    deleted_versions_retention_days = 30
  }
  expect_failures = [var.deleted_versions_retention_days]
}
