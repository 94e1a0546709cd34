"""Vaults, memberships, roles and the permission check."""
