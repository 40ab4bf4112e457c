"""Fixtures for outgoing mail and background jobs (an aiosmtpd server the tests start)."""
