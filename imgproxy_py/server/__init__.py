"""The HTTP server: starlette app, request handlers, worker pool."""
