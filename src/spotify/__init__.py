"""Spotify for Artists service: extractor, cleaners, schemas (audience and song metrics)."""
