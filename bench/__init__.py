"""Benchmarks that print figures (never asserted in the test suite). `python -m bench <name>`."""
