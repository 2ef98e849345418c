-- name:   execution_count
-- description:  How many executions there are.
SELECT count(*) FROM fixture_results
