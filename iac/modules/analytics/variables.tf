variable "name_prefix" {
  description = "Prefix of resource names, e.g. \"aiorch-dev\"."
  type        = string
}

variable "database_name" {
  description = "Glue database name (AIORCH_ATHENA_DATABASE); letters, digits and underscores."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9_]+$", var.database_name))
    error_message = "Glue database names are lower-case letters, digits and underscores."
  }
}

variable "schema_path" {
  description = "analytics/schema.json: table name, columns, partition keys and location prefix (shared with the local DuckDB runner)."
  type        = string
}

variable "queries_dir" {
  description = "Folder of Athena SQL files (each starts with `-- name:` and `-- description:` lines); every *.sql becomes a named query."
  type        = string
}

variable "data_bucket" {
  description = "Bucket holding analytics/results/ (the data bucket)."
  type        = string
}

variable "athena_results_bucket" {
  description = "Bucket for Athena query results."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query that would scan more bytes than this (a cost guard)."
  type        = number
  default     = 1073741824
}

variable "projection_year_range" {
  description = "Years the partition projection covers, \"first,last\"."
  type        = string
  default     = "2024,2099"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
