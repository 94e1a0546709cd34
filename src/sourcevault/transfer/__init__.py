"""Import and export of a vault's sources: BibTeX, RIS, bookmarks, CSV and JSON."""
