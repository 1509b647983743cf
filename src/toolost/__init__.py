"""TooLost service: extractors, cleaners and schemas (analytics JSON and monthly sales reports)."""
