-- name: throughput_per_model
-- description: Input megapixels processed per second of the model's own work (model_ms: no start-up, imports, model load, decode or encode), per model, over succeeded executions that record dimensions and model time, over the last 30 days (UTC).
-- The window: the day partitions of the last 30 days, so Athena reads (and bills) only those.
SELECT
    model,
    count(*) AS executions,
    sum(CAST(input_width AS bigint) * input_height) / 1e6 AS input_megapixels,
    sum(model_ms) / 1e3 AS model_seconds,
    (sum(CAST(input_width AS bigint) * input_height) / 1e6) / (sum(model_ms) / 1e3) AS megapixels_per_second
FROM results
WHERE year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)
  AND status = 'SUCCEEDED'
  AND input_width IS NOT NULL
  AND input_height IS NOT NULL
  AND model_ms > 0
GROUP BY model
ORDER BY model
