"""TikTok service: creator analytics of several accounts (extractor, cleaners, schemas)."""
