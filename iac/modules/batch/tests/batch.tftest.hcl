# The GPU Batch module with a mock AWS provider.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_default_tags" {
    defaults = { tags = { project = "aiorch" } }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/mock" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::111122223333:instance-profile/mock" }
  }
  mock_resource "aws_batch_compute_environment" {
    defaults = { arn = "arn:aws:batch:eu-west-1:111122223333:compute-environment/mock" }
  }
  mock_resource "aws_batch_scheduling_policy" {
    defaults = { arn = "arn:aws:batch:eu-west-1:111122223333:scheduling-policy/mock" }
  }
}

variables {
  name_prefix     = "bt"
  vpc_id          = "vpc-123"
  subnet_ids      = ["subnet-a", "subnet-b"]
  image_uri       = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/bt/jobs:v1"
  data_bucket_arn = "arn:aws:s3:::bt-data"
  job_environment = { AIORCH_STORAGE_URL = "s3://bt-data", AIORCH_AWS_REGION = "eu-west-1" }
}

# Issue H7: a container that never started (image pull, task start) failed the job at once. moto's
# Batch runs no retry strategy, so the rules are asserted here. AWS Batch: "Automated job retries"
# (https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html: rules are matched in order,
# at most 5; its own example retries onStatusReason "Task failed to start").
run "spot_terminations_and_failed_starts_are_retried_and_nothing_else" {
  command = plan

  assert {
    condition     = aws_batch_job_definition.model.retry_strategy[0].attempts == 3
    error_message = "three attempts by default"
  }
  assert {
    condition = [for r in aws_batch_job_definition.model.retry_strategy[0].evaluate_on_exit :
      "${r.action} status_reason=${coalesce(r.on_status_reason, "-")} reason=${coalesce(r.on_reason, "-")}"] == [
      "RETRY status_reason=Host EC2* reason=-",
      "RETRY status_reason=Task failed to start* reason=-",
      "RETRY status_reason=CannotPullContainer* reason=-",
      "RETRY status_reason=- reason=CannotPullContainer*",
      "EXIT status_reason=- reason=*",
    ]
    error_message = "retry Spot host terminations, containers that failed to start and failed image pulls; exit on anything else (the job wrote error.json)"
  }
  assert {
    condition     = aws_batch_job_definition.model.timeout[0].attempt_duration_seconds == 900
    error_message = "each attempt must have a timeout (900 s by default, so 3 attempts and the start allowance fit the state machine's 3600 s)"
  }
}

run "one_gpu_image_for_every_operation" {
  command = apply # the container properties name the job role's ARN

  assert {
    condition     = jsondecode(aws_batch_job_definition.model.container_properties).image == var.image_uri
    error_message = "the job runs the given image"
  }
  assert {
    condition = contains(jsondecode(aws_batch_job_definition.model.container_properties).resourceRequirements,
    { type = "GPU", value = "1" })
    error_message = "a job asks for one GPU"
  }
  assert {
    condition = [for e in jsondecode(aws_batch_job_definition.model.container_properties).environment : e.name] == [
    "AIORCH_AWS_REGION", "AIORCH_JOB_DEVICE", "AIORCH_STORAGE_URL"]
    error_message = "the job gets the AIORCH_* settings, sorted"
  }
  assert {
    # A job in AWS must require the GPU, so a host whose driver does not
    # fit fails at once (error.json) instead of running on the CPU until the timeout.
    condition = contains(jsondecode(aws_batch_job_definition.model.container_properties).environment,
    { name = "AIORCH_JOB_DEVICE", value = "cuda" })
    error_message = "the job definition must pass AIORCH_JOB_DEVICE=cuda"
  }
  assert {
    condition     = aws_batch_job_definition.model.name == "bt-model-job"
    error_message = "job definition name"
  }
}

run "spot_and_on_demand_environments_scaling_to_zero" {
  command = plan

  assert {
    condition = (
      aws_batch_compute_environment.gpu["spot"].compute_resources[0].type == "SPOT" &&
      aws_batch_compute_environment.gpu["on_demand"].compute_resources[0].type == "EC2"
    )
    error_message = "one Spot and one On-Demand environment"
  }
  assert {
    condition = alltrue([for ce in aws_batch_compute_environment.gpu :
    ce.compute_resources[0].min_vcpus == 0 && ce.compute_resources[0].instance_type == toset(["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"])])
    error_message = "exact one-GPU sizes of g5/g6 (issue C2: a family lets Batch pick up to 48xlarge), scaling to zero by default"
  }
  assert {
    # AL2's NVIDIA AMI ships driver 550 (CUDA <= 12.4); the image's torch is
    # cu130 and needs driver 580 (AL2023). AWS Batch: "Using a GPU workload AMI"
    # (https://docs.aws.amazon.com/batch/latest/userguide/batch-gpu-ami.html).
    condition = alltrue([for ce in aws_batch_compute_environment.gpu :
    ce.compute_resources[0].ec2_configuration[0].image_type == "ECS_AL2023_NVIDIA"])
    error_message = "GPU instances need the AL2023 NVIDIA ECS AMI (driver 580, CUDA 13)"
  }
  assert {
    condition     = output.gpu_image_type == jsondecode(file("../../gpu_amis.json")).batch_image_type
    error_message = "the compute environments must use the AMI type iac/gpu_amis.json names (the table the Dockerfile test reads)"
  }
  assert {
    # Names are prefixes, so a replacement can be created before the old one goes.
    condition     = aws_batch_compute_environment.gpu["spot"].compute_environment_name_prefix == "bt-gpu-spot-"
    error_message = "compute environments must use a name prefix (create_before_destroy)"
  }
}

run "queue_tries_spot_before_on_demand" {
  command = apply

  assert {
    condition = [for o in aws_batch_job_queue.gpu.compute_environment_order : o.order] == [1, 2] && (
      aws_batch_job_queue.gpu.compute_environment_order[0].compute_environment == aws_batch_compute_environment.gpu["spot"].arn
    )
    error_message = "Spot must come first in the queue"
  }
}

run "warm_pool_is_a_variable" {
  command = plan
  variables {
    min_vcpus = 8
  }

  assert {
    condition     = aws_batch_compute_environment.gpu["spot"].compute_resources[0].min_vcpus == 8 && aws_batch_compute_environment.gpu["on_demand"].compute_resources[0].min_vcpus == 0
    error_message = "the warm pool is kept on Spot only"
  }
}

run "an_ami_type_with_unknown_driver_is_refused" {
  command = plan
  variables {
    gpu_image_type = "ECS_AL2_NVIDIA_UNKNOWN"
  }
  expect_failures = [aws_batch_compute_environment.gpu]
}

# jobs/cli.py deletes a stale error.json before it runs; with GetObject and
# PutObject only, S3 answers that DeleteObject with AccessDenied and every job fails at once.
# ListBucket (scoped by prefix) makes S3 answer a missing key with 404, not 403
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
run "job_role_may_delete_and_list_under_its_prefixes" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.job.statement :
      contains(s.actions, "s3:DeleteObject") && contains(s.resources, "${var.data_bucket_arn}/results/*")
    ])
    error_message = "the job role must allow s3:DeleteObject on results/* (the stale error.json delete)"
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.job.statement :
      contains(s.actions, "s3:ListBucket") && contains(s.resources, var.data_bucket_arn) &&
      anytrue([for c in s.condition : c.variable == "s3:prefix" && contains(c.values, "results/*")])
    ])
    error_message = "the job role must allow s3:ListBucket on the bucket, scoped by s3:prefix to results/*"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.job.statement :
      !contains(s.actions, "s3:DeleteObject") || alltrue([for r in s.resources : endswith(r, "/results/*")])
    ])
    error_message = "the job role may delete only under results/"
  }
}

# Issue C2: a family name lets Batch choose any size of it ("Compute environment parameters",
# instanceTypes, https://docs.aws.amazon.com/batch/latest/userguide/compute_environment_parameters.html),
# g5.48xlarge included, for a job that uses one GPU. The variable refuses families.
run "instance_families_are_refused" {
  command = plan

  variables {
    instance_types = ["g5", "g6.xlarge"]
  }
  expect_failures = [var.instance_types]
}

# Issue W8: a job waiting for capacity that never comes (or for a placement no environment can give)
# stayed RUNNABLE for hours, could start after its execution had timed out and burned GPU time for
# nobody. The queue cancels such a job after the queueing allowance. moto's Batch runs no scheduler,
# so the queue's setting is asserted here. AWS Batch: "Automatic remediation with
# jobStateTimeLimitActions" (ECS queues: action CANCEL only; supported reasons; maxTimeSeconds
# 600..86400), https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html
run "jobs_stuck_runnable_for_capacity_or_misconfiguration_are_cancelled" {
  command = plan

  assert {
    condition = toset([for a in aws_batch_job_queue.gpu.job_state_time_limit_action :
      "${a.state} ${a.reason} ${a.action} ${a.max_time_seconds}"]) == toset([
      "RUNNABLE CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY CANCEL 900",
      "RUNNABLE MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE CANCEL 900",
      "RUNNABLE MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT CANCEL 900",
    ])
    error_message = "RUNNABLE jobs without capacity, or that no environment can place, are cancelled after queue_start_allowance_s"
  }
  assert {
    condition     = output.queue_start_allowance_s == 900
    error_message = "the cancel bound is the state machine's queueing allowance"
  }
}

run "a_queueing_allowance_outside_batchs_bounds_is_refused" {
  command = plan

  variables {
    queue_start_allowance_s = 300
  }
  expect_failures = [var.queue_start_allowance_s]
}

# The issue "1,000 images a minute, fair and costed": users take turns on the GPUs. The state machine
# passes each job's share identifier (its user's hash) as SubmitJob's ShareIdentifier
# (tests/unit/workflows/test_state_machine_definition.py).
run "the_queue_shares_the_gpus_fairly_between_users" {
  command = apply

  assert {
    condition     = aws_batch_job_queue.gpu.scheduling_policy_arn == aws_batch_scheduling_policy.fair_share.arn
    error_message = "the GPU job queue is scheduled by the fair-share policy, not first in, first out"
  }
  assert {
    condition     = length(aws_batch_scheduling_policy.fair_share.fair_share_policy) == 1
    error_message = "the scheduling policy is a fair-share policy"
  }
  assert {
    condition     = aws_batch_scheduling_policy.fair_share.fair_share_policy[0].share_decay_seconds == 3600
    error_message = "recent GPU use counts for an hour by default"
  }
  assert {
    condition     = length(aws_batch_scheduling_policy.fair_share.fair_share_policy[0].share_distribution) == 0
    error_message = "no user is weighted above another"
  }
}

run "the_fair_share_decay_is_bounded" {
  command = plan
  variables {
    fair_share_decay_s = 700000
  }
  expect_failures = [var.fair_share_decay_s]
}

run "gpu_hosts_boot_from_a_root_volume_sized_and_provisioned_for_the_image" {
  command = plan

  assert {
    # C1: the ECS AMI's default root volume (30 GiB gp3, 125 MiB/s) for a ~6 GiB image layer.
    condition = (
      aws_launch_template.gpu.block_device_mappings[0].device_name == "/dev/xvda" &&
      aws_launch_template.gpu.block_device_mappings[0].ebs[0].volume_type == "gp3" &&
      aws_launch_template.gpu.block_device_mappings[0].ebs[0].volume_size >= 40 &&
      aws_launch_template.gpu.block_device_mappings[0].ebs[0].throughput > 125 &&
      aws_launch_template.gpu.block_device_mappings[0].ebs[0].encrypted == "true"
    )
    error_message = "the GPU hosts need a larger, faster, encrypted gp3 root volume for the job image"
  }
  assert {
    condition     = alltrue([for ce in aws_batch_compute_environment.gpu : length(ce.compute_resources[0].launch_template) == 1])
    error_message = "every GPU compute environment must boot from the launch template"
  }
  assert {
    condition     = aws_launch_template.gpu.metadata_options[0].http_tokens == "required"
    error_message = "GPU hosts answer IMDSv2 only"
  }
  assert {
    # The provider's default tags reach the template, not the volumes it makes: they are merged in.
    condition = (
      aws_launch_template.gpu.tag_specifications[0].resource_type == "volume" &&
      aws_launch_template.gpu.tag_specifications[0].tags["project"] == "aiorch"
    )
    error_message = "the GPU hosts' root volumes carry the deployment's default tags"
  }
}

run "no_empty_volume_tag_specification_when_there_are_no_tags" {
  command = plan

  override_data {
    target = data.aws_default_tags.current
    values = { tags = {} }
  }

  assert {
    condition     = length(aws_launch_template.gpu.tag_specifications) == 0
    error_message = "a volume tag specification without tags is refused by EC2: leave it out"
  }
}

run "a_root_volume_too_small_for_the_image_is_refused" {
  command = plan
  variables {
    root_volume_gib = 30
  }
  expect_failures = [var.root_volume_gib]
}
