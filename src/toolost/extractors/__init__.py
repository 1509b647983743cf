"""TooLost extractors (browser session: analytics JSON and monthly sales reports)."""
