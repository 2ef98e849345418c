# The analytics module with a mock AWS provider: the Glue table follows the schema file,
# partitions are projected, every SQL file becomes a named query.
mock_provider "aws" {}

variables {
  name_prefix           = "an"
  database_name         = "an_db"
  schema_path           = "tests/schema.json"
  queries_dir           = "tests/queries"
  data_bucket           = "an-data"
  athena_results_bucket = "an-athena"
}

run "table_columns_are_the_schema_files_columns_in_order" {
  command = plan

  assert {
    condition = [for c in aws_glue_catalog_table.results.storage_descriptor[0].columns : [c.name, c.type, c.comment]] == [
      ["execution_id", "string", "id"], ["total_ms", "bigint", "wall time"], ["started_at", "timestamp", "start"],
    ]
    error_message = "columns differ from tests/schema.json"
  }
  assert {
    condition     = aws_glue_catalog_table.results.name == "fixture_results" && aws_glue_catalog_table.results.parameters["schema.version"] == "3"
    error_message = "table name and schema version come from the schema file"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.results.partition_keys : k.name] == ["year", "month", "day"]
    error_message = "partition keys come from the schema file"
  }
  assert {
    condition     = aws_glue_catalog_table.results.storage_descriptor[0].location == "s3://an-data/analytics/results/"
    error_message = "the table lies under the data bucket's analytics/results/"
  }
}

run "partitions_are_projected_by_day" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.results.parameters["projection.enabled"] == "true"
    error_message = "partition projection is off"
  }
  assert {
    condition     = aws_glue_catalog_table.results.parameters["storage.location.template"] == "s3://an-data/analytics/results/year=$${year}/month=$${month}/day=$${day}/"
    error_message = "the location template must follow the key layout analytics/results/year=YYYY/month=MM/day=DD/"
  }
  assert {
    condition = (
      aws_glue_catalog_table.results.parameters["projection.month.range"] == "1,12" &&
      aws_glue_catalog_table.results.parameters["projection.month.digits"] == "2" &&
      aws_glue_catalog_table.results.parameters["projection.day.range"] == "1,31" &&
      aws_glue_catalog_table.results.parameters["projection.year.digits"] == "4"
    )
    error_message = "month and day are two-digit, year four-digit"
  }
}

run "every_sql_file_is_a_named_query" {
  command = plan

  assert {
    condition     = { for k, q in aws_athena_named_query.this : k => q.name } == { count = "execution_count", slowest = "slowest_executions" }
    error_message = "named queries take their names from the -- name: lines"
  }
  assert {
    condition     = aws_athena_named_query.this["count"].description == "How many executions there are."
    error_message = "descriptions come from the -- description: lines"
  }
  assert {
    condition     = aws_athena_named_query.this["slowest"].query == file("tests/queries/slowest.sql")
    error_message = "the query is the file's text"
  }
}

run "workgroup_enforces_results_location_and_scan_limit" {
  command = plan

  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 1073741824 &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://an-athena/results/"
    )
    error_message = "the workgroup must enforce its result location and a bytes-scanned limit"
  }
}

run "project_schema_file_deploys_as_is" {
  command = plan
  variables {
    schema_path = "../../../analytics/schema.json"
    queries_dir = "../../../analytics/queries"
  }

  assert {
    condition = [for c in aws_glue_catalog_table.results.storage_descriptor[0].columns : { name = c.name, type = c.type }] == [
    for c in jsondecode(file("../../../analytics/schema.json")).columns : { name = c.name, type = c.type }]
    error_message = "the table's columns differ from analytics/schema.json"
  }
  assert {
    condition     = length(aws_athena_named_query.this) == length(fileset("../../../analytics/queries", "*.sql"))
    error_message = "every analytics/queries/*.sql file must become a named query"
  }
}
