-- name: throughput_per_model
-- description: Input megapixels processed per second of model job time, per model, over succeeded executions that record dimensions and job time.
SELECT
    model,
    count(*) AS executions,
    sum(CAST(input_width AS bigint) * input_height) / 1e6 AS input_megapixels,
    sum(job_ms) / 1e3 AS job_seconds,
    (sum(CAST(input_width AS bigint) * input_height) / 1e6) / (sum(job_ms) / 1e3) AS megapixels_per_second
FROM results
WHERE status = 'SUCCEEDED'
  AND input_width IS NOT NULL
  AND input_height IS NOT NULL
  AND job_ms > 0
GROUP BY model
ORDER BY model
