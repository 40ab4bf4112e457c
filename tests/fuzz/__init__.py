"""Fuzzing the running service with schemathesis (run by .ci/run, not collected by pytest)."""
