"""Serving the org over HTTPS: the ASGI app and its REST pipeline, routing, TLS and connection handling."""
