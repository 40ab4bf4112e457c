"""What each query and mutation does: reads, business rules and transactions. Knows nothing of
HTTP; one module per area."""
