# Analysts query the execution records with Athena. The table's columns are
# read from analytics/schema.json, the file the local DuckDB runner and the
# record writers also use, so there is one schema. Partitions are projected
# (year/month/day), so no crawler or MSCK REPAIR is needed.

locals {
  schema   = jsondecode(file(var.schema_path))
  location = "s3://${var.data_bucket}/${local.schema.location_prefix}"

  query_files = fileset(var.queries_dir, "*.sql")
  queries = {
    for f in local.query_files : trimsuffix(f, ".sql") => {
      sql         = file("${var.queries_dir}/${f}")
      name        = trimspace(regex("(?m)^-- name:(.*)$", file("${var.queries_dir}/${f}"))[0])
      description = trimspace(regex("(?m)^-- description:(.*)$", file("${var.queries_dir}/${f}"))[0])
    }
  }

  projection = merge(
    { "projection.enabled" = "true" },
    {
      "projection.year.type"   = "integer"
      "projection.year.range"  = var.projection_year_range
      "projection.year.digits" = "4"
    },
    { for p in ["month", "day"] : "projection.${p}.type" => "integer" },
    { "projection.month.range" = "1,12", "projection.day.range" = "1,31" },
    { for p in ["month", "day"] : "projection.${p}.digits" => "2" },
    {
      "storage.location.template" = "${local.location}${join("/", [for k in local.schema.partition_keys : "${k.name}=$${${k.name}}"])}/"
    },
  )
}

resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "Execution records of the image-AI state machine."
}

resource "aws_glue_catalog_table" "results" {
  name          = local.schema.table
  database_name = aws_glue_catalog_database.this.name
  description   = try(local.schema.description, null)
  table_type    = "EXTERNAL_TABLE"
  parameters = merge(local.projection, {
    EXTERNAL         = "TRUE"
    classification   = "parquet"
    "schema.version" = tostring(local.schema.version)
  })

  dynamic "partition_keys" {
    for_each = local.schema.partition_keys
    content {
      name = partition_keys.value.name
      type = partition_keys.value.type
    }
  }

  storage_descriptor {
    location      = local.location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = local.schema.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = try(columns.value.description, null)
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = var.name_prefix
  description   = "Analytics over the execution records, with a per-query scan limit."
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = "s3://${var.athena_results_bucket}/results/"
      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "this" {
  for_each    = local.queries
  name        = each.value.name
  description = each.value.description
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = each.value.sql
}
