output "database_name" {
  description = "Glue database (AIORCH_ATHENA_DATABASE)."
  value       = aws_glue_catalog_database.this.name
}

output "table_name" {
  description = "Glue table of the execution records."
  value       = aws_glue_catalog_table.results.name
}

output "table_columns" {
  description = "Column names and types of the table, in order (tests compare them with schema.json)."
  value       = [for c in aws_glue_catalog_table.results.storage_descriptor[0].columns : { name = c.name, type = c.type }]
}

output "workgroup_name" {
  description = "Athena workgroup (AIORCH_ATHENA_WORKGROUP)."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "Athena workgroup ARN."
  value       = aws_athena_workgroup.this.arn
}

output "named_query_names" {
  description = "Named query name by SQL file stem."
  value       = { for k, q in aws_athena_named_query.this : k => q.name }
}
