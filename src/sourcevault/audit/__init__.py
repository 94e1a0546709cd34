"""The event log: one row per committed mutation, numbered per vault without gaps."""
