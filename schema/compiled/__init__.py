"""Trusted documents compiled once at start-up.

`registry` knows the documents front-ends send, by SHA-256; `plan` turns each query operation
into a plan (field sets collected once, every field classified); `executor` runs a plan with
graphql-core's own semantics for anything that resolves, and reads plain attributes and leaf
values directly; `run` is the request-level entry point.
"""
