-- name: cost_per_image
-- description: Estimated compute cost (from the configured hourly prices, an assumption) per operation and device; cost per delivered image counts the cost of failed attempts too, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    operation,
    device,
    count(*) AS executions,
    count_if(status = 'SUCCEEDED') AS images,
    sum(estimated_cost_usd) AS total_cost_usd,
    sum(estimated_cost_usd) / nullif(count_if(status = 'SUCCEEDED'), 0) AS cost_per_image_usd
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
GROUP BY operation, device
ORDER BY operation, device
