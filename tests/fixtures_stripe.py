"""Fixtures for payments (localstripe on 127.0.0.1, an empty store per test)."""
