"""Benchmarks for the model jobs: ``python -m bench --help`` (see docs/benchmarks.md)."""
