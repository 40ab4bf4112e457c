"""Seed data: a small, hand-shaped demo (`seed.demo`) and a bulk load for benchmarks
(`seed.scale`). Both connect with an administrative URL and write as the table owner, which
row-level security does not restrict and which may use COPY."""
