"""Accounts, password hashing, database sessions, the current-user dependency and routes."""
