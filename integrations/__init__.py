"""Outbound adapters: Stripe, SMTP, SMS, each behind a small interface. Nothing here opens a
database transaction."""
