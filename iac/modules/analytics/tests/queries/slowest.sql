-- name: slowest_executions
-- description: The ten slowest executions.
SELECT execution_id, total_ms FROM fixture_results ORDER BY total_ms DESC LIMIT 10
