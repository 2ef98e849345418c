-- name: top_errors
-- description: The ten most frequent error types of executions that did not succeed, with the operations they hit and the last time seen, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    coalesce(error_type, '(none recorded)') AS error_type,
    count(*) AS executions,
    array_join(array_sort(array_agg(DISTINCT operation)), ',') AS operations,
    max(coalesce(finished_at, started_at)) AS last_seen
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
  AND status <> 'SUCCEEDED'
GROUP BY 1
ORDER BY executions DESC, error_type
LIMIT 10
