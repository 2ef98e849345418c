-- name: cost_per_user_operation_per_day
-- description: What runs cost per user (the hash of their id) and per operation per UTC day, in USD, from each run's recorded cost (device seconds at the price table's or the configured price), over the last 30 days (UTC); runs that recorded no cost are counted apart.
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    CAST(year || '-' || month || '-' || day AS date) AS utc_date,
    user_hash,
    operation,
    count(*) AS executions,
    count(cost_usd) AS costed,
    coalesce(sum(cost_usd), 0) AS cost_usd
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
GROUP BY 1, 2, 3
ORDER BY utc_date, user_hash, operation
