"""Benchmarks run only when asked for: `python -m pytest benchmarks/ --benchmark-only`."""
