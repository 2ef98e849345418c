-- name: duration_percentiles_by_operation_device
-- description: Median and 95th percentile of the end-to-end time (total_ms) and the model job time (job_ms) of succeeded executions, per operation and device, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    operation,
    device,
    count(*) AS executions,
    approx_percentile(total_ms, 0.5) AS p50_total_ms,
    approx_percentile(total_ms, 0.95) AS p95_total_ms,
    approx_percentile(job_ms, 0.5) AS p50_job_ms,
    approx_percentile(job_ms, 0.95) AS p95_job_ms
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
  AND status = 'SUCCEEDED'
GROUP BY operation, device
ORDER BY operation, device
