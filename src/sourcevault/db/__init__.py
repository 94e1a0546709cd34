"""Database plumbing: the declarative base, engines and session factories."""
