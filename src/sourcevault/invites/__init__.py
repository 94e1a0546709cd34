"""Invite links: an owner makes a link with a secret in it; whoever opens it may join the vault."""
