"""The GPU job image: ``python -m jobs JOB ...``, JOB one of the registry's jobs (aiorch/registry/)."""
