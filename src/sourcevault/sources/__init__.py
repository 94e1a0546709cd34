"""Sources: a link, a note on it, tags."""
