# GPU Batch: a Spot compute environment and an On-Demand one, one queue over
# both (Spot first), and one job definition for every operation (the state
# machine passes the command per task in ContainerOverrides).
#
# What the queue order does, and what it does not: the scheduler places a job
# in the first compute environment that can take it; it moves on to the second
# only when the first cannot place it, which in practice means the Spot
# environment is at its max_vcpus. It is NOT a fallback for a Spot capacity
# shortage: when Spot has no G instances to give, the Spot environment is
# still below max_vcpus, so jobs wait in RUNNABLE there and the On-Demand
# environment stays idle. AWS: "Job queue parameters: computeEnvironmentOrder"
# (https://docs.aws.amazon.com/batch/latest/userguide/job_queue_parameters.html).
data "aws_partition" "current" {}

locals {
  partition           = data.aws_partition.current.partition
  job_definition_name = "${var.name_prefix}-model-job"
  # The GPU AMI type and the driver it ships (iac/gpu_amis.json, which a unit
  # test holds against jobs/Dockerfile's CUDA base image and torch wheels).
  # A GPU host whose driver does not fit must fail the job, not run it on the CPU (jobs/devices.py).
  job_environment = merge(var.job_environment, { AIORCH_JOB_DEVICE = var.job_device })
  gpu_amis        = jsondecode(file("${path.module}/../../gpu_amis.json"))
  gpu_image_type  = coalesce(var.gpu_image_type, local.gpu_amis.batch_image_type)
  # RUNNABLE status reasons Batch can act on (jobStateTimeLimitActions): no capacity of the
  # instance types, or a job no compute environment can ever place.
  runnable_cancel_reasons = [
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
  ]
  compute = {
    spot      = { type = "SPOT", max_vcpus = var.max_vcpus_spot, allocation = "SPOT_PRICE_CAPACITY_OPTIMIZED" }
    on_demand = { type = "EC2", max_vcpus = var.max_vcpus_on_demand, allocation = "BEST_FIT_PROGRESSIVE" }
  }
}

# --- roles ----------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  for_each = { instance = "ec2.amazonaws.com", job = "ecs-tasks.amazonaws.com" }
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

# No custom Batch service role: the compute environments use Batch's service-linked role
# (AWSServiceRoleForBatch), which Batch creates itself when service_role is left out ("Using
# service-linked roles for AWS Batch", AWS Batch User Guide; AWS recommends it). A custom role made
# in the same apply raced IAM propagation (environment INVALID, "not authorized to perform
# ecs:DescribeClusters": terraform-provider-aws#37945), and with one every environment change was a
# replacement.

resource "aws_iam_role" "instance" {
  name               = "${var.name_prefix}-batch-instance"
  assume_role_policy = data.aws_iam_policy_document.assume["instance"].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name_prefix}-batch-instance"
  role = aws_iam_role.instance.name
  tags = var.tags
}

# What the job process itself may do: read inputs, write its result prefix.
resource "aws_iam_role" "job" {
  name               = "${var.name_prefix}-model-job"
  assume_role_policy = data.aws_iam_policy_document.assume["job"].json
  tags               = var.tags
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ReadInputs"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/uploads/*", "${var.data_bucket_arn}/results/*"]
  }
  statement {
    sid = "WriteResults"
    # DeleteObject: the job removes a stale error.json before it runs (jobs/cli.py); without
    # it S3 answers AccessDenied and every job fails at once.
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.data_bucket_arn}/results/*"]
  }
  statement {
    # Without ListBucket, S3 answers a read of a missing key with 403 instead of 404.
    sid       = "ListInputsAndResults"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["uploads/*", "results/*"]
    }
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "read-inputs-write-results"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

# --- network ----------------------------------------------------------------------

resource "aws_security_group" "instances" {
  name        = "${var.name_prefix}-batch-instances"
  description = "GPU Batch instances: no inbound; outbound HTTPS to AWS APIs, ECR and S3."
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.instances.id
  description       = "HTTPS to AWS APIs (S3, ECR, CloudWatch Logs, ECS)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- compute ----------------------------------------------------------------------

# The GPU hosts' root volume holds the job image: a ~6 GiB Python layer (torch and its CUDA wheels,
# docs/deploy.md) pulled compressed, then extracted beside it. The ECS AMI's default 30 GiB gp3 at
# 125 MiB/s leaves little room after a Spot retry's second pull and makes every cold start wait on
# the disk; a larger, faster gp3 volume is cheap next to the GPU's hour. AL2023 ECS AMIs boot from
# /dev/xvda. IMDSv2 only, hop limit 1: a job container cannot reach the host's metadata (and its
# instance role); jobs take their own role from ECS's credentials endpoint.
resource "aws_launch_template" "gpu" {
  name_prefix = "${var.name_prefix}-gpu-"
  description = "GPU Batch hosts: a root volume sized and provisioned for the job image"

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gib
      volume_type           = "gp3"
      iops                  = var.root_volume_iops
      throughput            = var.root_volume_throughput_mibps
      encrypted             = true
      delete_on_termination = true
    }
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Root volumes carry the deployment's tags for cost allocation: the provider's default_tags reach
  # only the launch template itself. An empty tag specification is left out (EC2 wants a tag in
  # each; moto answers 500 to one without).
  dynamic "tag_specifications" {
    for_each = length(local.volume_tags) > 0 ? [local.volume_tags] : []
    content {
      resource_type = "volume"
      tags          = tag_specifications.value
    }
  }
  tags = var.tags
}

data "aws_default_tags" "current" {}

locals {
  volume_tags = merge(data.aws_default_tags.current.tags, var.tags)
}

resource "aws_batch_compute_environment" "gpu" {
  for_each = local.compute
  # A name prefix plus create_before_destroy lets a changed environment be
  # replaced while the queue still points at it: the new one is created, the
  # queue is moved to it, and only then is the old one deleted. A fixed name
  # fails with "Cannot delete, found existing JobQueue relationship".
  compute_environment_name_prefix = "${var.name_prefix}-gpu-${replace(each.key, "_", "-")}-"
  type                            = "MANAGED"

  compute_resources {
    type                = each.value.type
    allocation_strategy = each.value.allocation
    min_vcpus           = each.key == "spot" ? var.min_vcpus : 0
    max_vcpus           = each.value.max_vcpus
    instance_type       = var.instance_types
    instance_role       = aws_iam_instance_profile.instance.arn
    subnets             = var.subnet_ids
    security_group_ids  = [aws_security_group.instances.id]
    bid_percentage      = each.key == "spot" ? 100 : null

    launch_template {
      launch_template_id = aws_launch_template.gpu.id
      version            = aws_launch_template.gpu.latest_version
    }

    ec2_configuration {
      # ECS-optimised AMI with the NVIDIA driver and container toolkit. Its driver
      # must run the image's CUDA build: the torch cu130 wheels need driver >= 580
      # (ECS_AL2023_NVIDIA); on ECS_AL2_NVIDIA (driver 550) torch starts but sees
      # no GPU. AWS Batch: "Using a GPU workload AMI"
      # (https://docs.aws.amazon.com/batch/latest/userguide/batch-gpu-ami.html).
      image_type = local.gpu_image_type
    }
    tags = var.tags
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = contains(keys(local.gpu_amis.ami_types), local.gpu_image_type)
      error_message = "gpu_image_type must be one of the GPU AMI types in iac/gpu_amis.json (their drivers are known)."
    }
    create_before_destroy = true
    # Batch changes desired vCPUs itself as it scales.
    ignore_changes = [compute_resources[0].desired_vcpus]
  }
}

# Fair share: users take turns on the GPUs instead of first in, first out, so one user's large batch
# does not hold everyone else's images behind it. Each job's share identifier is its user's hash
# (aiorch/index/stages.py share_identifier, bucketed to 256: a fair-share queue takes at most 500
# active identifiers), set by ValidateInput in the job spec and passed by the state machine as
# SubmitJob's ShareIdentifier. No share is weighted (every identifier weighs 1); recent use counts
# for share_decay_seconds. A queue with a policy refuses jobs without a share identifier.
resource "aws_batch_scheduling_policy" "fair_share" {
  name = "${var.name_prefix}-fair-share"

  fair_share_policy {
    compute_reservation = var.fair_share_compute_reservation
    share_decay_seconds = var.fair_share_decay_s
  }

  tags = var.tags
}

resource "aws_batch_job_queue" "gpu" {
  name                  = "${var.name_prefix}-gpu"
  state                 = "ENABLED"
  priority              = 1
  scheduling_policy_arn = aws_batch_scheduling_policy.fair_share.arn

  # Spot first; the scheduler places a job On-Demand only when the Spot
  # environment cannot take it (at its max_vcpus), not when Spot capacity is short.
  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.gpu["spot"].arn
  }
  compute_environment_order {
    order               = 2
    compute_environment = aws_batch_compute_environment.gpu["on_demand"].arn
  }

  # A job that can never start must not wait for hours, holding the head of the queue and maybe
  # starting long after its execution gave up: a RUNNABLE job blocked for one of these reasons is
  # cancelled after queue_start_allowance_s (the same allowance the state machine's job timeout
  # grants queueing). The status-change handler also ends the jobs of any ended execution
  # (lambdas/status_change/handler.py). AWS Batch: "Automatic remediation with
  # jobStateTimeLimitActions" (reasons supported for ECS compute environments; maxTimeSeconds
  # 600..86400), https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html
  dynamic "job_state_time_limit_action" {
    for_each = local.runnable_cancel_reasons
    content {
      state            = "RUNNABLE"
      reason           = job_state_time_limit_action.value
      action           = "CANCEL"
      max_time_seconds = var.queue_start_allowance_s
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "jobs" {
  # checkov:skip=CKV_AWS_158:Job logs hold no secrets; default CloudWatch Logs encryption suffices.
  # checkov:skip=CKV_AWS_338:Retention is a variable (cost); job errors are also kept as error.json.
  name              = "/aws/batch/${var.name_prefix}-model-job"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_batch_job_definition" "model" {
  name                  = local.job_definition_name
  type                  = "container"
  platform_capabilities = ["EC2"]
  propagate_tags        = true

  container_properties = jsonencode({
    image      = var.image_uri
    jobRoleArn = aws_iam_role.job.arn
    # Each task's command comes from the state machine (ContainerOverrides.Command);
    # this default only prints the usage.
    command = ["python", "-m", "jobs", "--help"]
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.job_vcpus) },
      { type = "MEMORY", value = tostring(var.job_memory_mib) },
      { type = "GPU", value = tostring(var.job_gpus) },
    ]
    environment            = [for k in sort(keys(local.job_environment)) : { name = k, value = local.job_environment[k] }]
    readonlyRootFilesystem = false
    privileged             = false
    logConfiguration = {
      logDriver = "awslogs"
      options   = { "awslogs-group" = aws_cloudwatch_log_group.jobs.name }
    }
  })

  retry_strategy {
    attempts = var.job_attempts
    # Retried: failures before our code ran, which another attempt (another host, another pull) cures.
    # Spot reclaims the host: the status reason starts with "Host EC2". The container never started:
    # the job's status reason is "Task failed to start" (AWS's own example) and the image pull's error,
    # CannotPullContainerError (ECR throttling, a registry hiccup), shows in the status reason or in
    # the container's reason. Any other failure is the job's own verdict (it wrote error.json), so
    # stop. At most 5 rules. AWS Batch: "Automated job retries"
    # (https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html), "EvaluateOnExit"
    # (https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html),
    # Amazon ECS "Stopped task error codes" (CannotPullContainerError).
    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }
    evaluate_on_exit {
      on_status_reason = "Task failed to start*"
      action           = "RETRY"
    }
    evaluate_on_exit {
      on_status_reason = "CannotPullContainer*"
      action           = "RETRY"
    }
    evaluate_on_exit {
      on_reason = "CannotPullContainer*"
      action    = "RETRY"
    }
    evaluate_on_exit {
      on_reason = "*"
      action    = "EXIT"
    }
  }

  timeout {
    attempt_duration_seconds = var.job_timeout_s
  }

  tags = var.tags
}
