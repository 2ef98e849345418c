-- name: volume_per_operation_per_day
-- description: Executions per operation per UTC day (the day partition), with how many succeeded and how many users asked, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    CAST(year || '-' || month || '-' || day AS date) AS utc_date,
    operation,
    count(*) AS executions,
    count_if(status = 'SUCCEEDED') AS succeeded,
    approx_distinct(user_hash) AS users
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
GROUP BY 1, 2
ORDER BY utc_date, operation
