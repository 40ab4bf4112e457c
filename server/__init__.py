"""The running service: settings, the Starlette app, auth, request context, the database
handle, the embedded PostgreSQL runner and the command line."""
