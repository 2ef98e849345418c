-- name: failure_rate_per_operation
-- description: Share of executions per operation that did not succeed (failed, timed out, stopped or interrupted), and how they ended, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    operation,
    count(*) AS executions,
    count_if(status <> 'SUCCEEDED') AS not_succeeded,
    count_if(status = 'FAILED') AS failed,
    count_if(status = 'TIMED_OUT') AS timed_out,
    count_if(status IN ('ABORTED', 'INTERRUPTED')) AS stopped_or_interrupted,
    round(CAST(count_if(status <> 'SUCCEEDED') AS double) / count(*), 4) AS failure_rate
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
GROUP BY operation
ORDER BY operation
