-- name: throughput_per_model
-- description: Input megapixels processed per second of the model's own work (model_ms: no start-up, imports, model load, decode or encode), per model, over succeeded executions that record dimensions and model time.
SELECT
    model,
    count(*) AS executions,
    sum(CAST(input_width AS bigint) * input_height) / 1e6 AS input_megapixels,
    sum(model_ms) / 1e3 AS model_seconds,
    (sum(CAST(input_width AS bigint) * input_height) / 1e6) / (sum(model_ms) / 1e3) AS megapixels_per_second
FROM results
WHERE status = 'SUCCEEDED'
  AND input_width IS NOT NULL
  AND input_height IS NOT NULL
  AND model_ms > 0
GROUP BY model
ORDER BY model
