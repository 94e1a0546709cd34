"""The multi-client test page and its static files."""
