"""Full-text search over sources: the words of a text (``text``), the index written in the
same flush as each source (``index``), and the ranked queries (``service``)."""
