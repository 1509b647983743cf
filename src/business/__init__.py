"""Business tables: cross-platform curated tables built from the other services' curated tables."""
