"""sourcevault: shared vaults of research sources, live to every member."""

__version__ = "0.1.0"
