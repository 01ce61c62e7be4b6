"""Benchmarks and fault drills, run as `python -m benchmarks.<name>` (see the README)."""
