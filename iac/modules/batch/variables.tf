variable "name_prefix" {
  description = "Prefix of resource names, e.g. \"aiorch-dev\"."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the GPU instances."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets for the GPU instances (they need a route to S3, ECR and CloudWatch Logs)."
  type        = list(string)
}

variable "instance_types" {
  description = "Exact GPU instance types (size included) for one-GPU jobs. A family (\"g5\") lets Batch pick any of its sizes, up to g5.48xlarge (8 GPUs, 192 vCPUs), for a job that uses one GPU."
  type        = list(string)
  default     = ["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"]

  validation {
    # AWS Batch: a family name means "any size of it" ("Compute environment parameters", instanceTypes,
    # https://docs.aws.amazon.com/batch/latest/userguide/compute_environment_parameters.html#compute_environment_instance_types).
    condition     = alltrue([for t in var.instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "Name exact instance types with their size (g5.xlarge), not families (g5) or optimal: Batch would place one-GPU jobs on hosts up to 48xlarge."
  }
}

variable "root_volume_gib" {
  description = "Root volume of each GPU host (GiB, gp3): the job image (~6 GiB Python layer) compressed and extracted, with room for a second pull."
  type        = number
  default     = 80
  validation {
    condition     = var.root_volume_gib >= 40 && var.root_volume_gib <= 1000
    error_message = "root_volume_gib must be 40-1000: under 40 the image and its extracted layers do not fit twice."
  }
}

variable "root_volume_iops" {
  description = "Provisioned IOPS of the gp3 root volume (3000 is gp3's free baseline)."
  type        = number
  default     = 4000
  validation {
    condition     = var.root_volume_iops >= 3000 && var.root_volume_iops <= 16000
    error_message = "gp3 takes 3000-16000 IOPS."
  }
}

variable "root_volume_throughput_mibps" {
  description = "Provisioned throughput of the gp3 root volume in MiB/s (125 is gp3's free baseline): image pulls are disk-bound."
  type        = number
  default     = 400
  validation {
    condition     = var.root_volume_throughput_mibps >= 125 && var.root_volume_throughput_mibps <= 1000
    error_message = "gp3 takes 125-1000 MiB/s."
  }
}

variable "min_vcpus" {
  description = "vCPUs kept running when idle: 0 scales to zero; raise it for a warm pool (costs while idle)."
  type        = number
  default     = 0
}

variable "max_vcpus_spot" {
  description = "Upper bound of the Spot compute environment, vCPUs."
  type        = number
  default     = 32
}

variable "max_vcpus_on_demand" {
  description = "Upper bound of the On-Demand compute environment, vCPUs (it takes jobs only while the Spot one is at max_vcpus_spot)."
  type        = number
  default     = 16
}

variable "image_uri" {
  description = "Job container image (built from jobs/Dockerfile, pushed to the ECR repository), with tag or digest."
  type        = string
}

variable "job_vcpus" {
  description = "vCPUs per model job."
  type        = number
  default     = 4
}

variable "job_memory_mib" {
  description = "Memory per model job, MiB (fits g5.xlarge / g6.xlarge after the ECS agent's share)."
  type        = number
  default     = 14000
}

variable "job_gpus" {
  description = "GPUs per model job."
  type        = number
  default     = 1
}

variable "job_timeout_s" {
  description = "Seconds after which Batch stops one attempt (from its start on a host; queueing is not counted)."
  type        = number
  default     = 900
}

variable "queue_start_allowance_s" {
  description = "Time allowed for queueing, instance start and image pull of all attempts together: the state machine's job task timeout must cover job_attempts x job_timeout_s plus this. Also how long a job may stay RUNNABLE for want of capacity (or a placement no environment can give) before the queue cancels it."
  type        = number
  default     = 900

  validation {
    # jobStateTimeLimitActions maxTimeSeconds: 600..86400 (AWS Batch API Reference, "JobStateTimeLimitAction").
    condition     = var.queue_start_allowance_s >= 600 && var.queue_start_allowance_s <= 86400
    error_message = "queue_start_allowance_s must be 600..86400 s (Batch's jobStateTimeLimitActions bounds)."
  }
}

variable "gpu_image_type" {
  description = "ECS GPU AMI type of the compute environments; null: batch_image_type of iac/gpu_amis.json (its driver fits the job image's CUDA)."
  type        = string
  default     = null
}

variable "job_device" {
  description = "AIORCH_JOB_DEVICE of the job container: cuda makes a job on a host whose GPU torch cannot use fail at once (error.json) instead of running on the CPU."
  type        = string
  default     = "cuda"
}

variable "job_attempts" {
  description = "Attempts per job; only Spot host terminations (status reason \"Host EC2*\") and failures to start the container (\"Task failed to start\", CannotPullContainer*) are retried."
  type        = number
  default     = 3
}

variable "job_environment" {
  description = "AIORCH_* settings for the job container (e.g. AIORCH_STORAGE_URL)."
  type        = map(string)
  default     = {}
}

variable "data_bucket_arn" {
  description = "Bucket with the application keys: jobs read uploads/ and results/, write results/."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the job log group."
  type        = number
  default     = 30
}

variable "fair_share_decay_s" {
  description = "How long a user's past GPU use lowers their turn in the fair-share queue (seconds; 0 counts only the jobs running now)."
  type        = number
  default     = 3600
  validation {
    condition     = var.fair_share_decay_s >= 0 && var.fair_share_decay_s <= 604800
    error_message = "share_decay_seconds is 0 to 604800 (a week)."
  }
}

variable "fair_share_compute_reservation" {
  description = "Percent of the GPUs kept back for users not yet running (AWS Batch compute reservation, 0 to 99)."
  type        = number
  default     = 0
  validation {
    condition     = var.fair_share_compute_reservation >= 0 && var.fair_share_compute_reservation <= 99
    error_message = "compute_reservation is 0 to 99."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
