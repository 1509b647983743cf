"""YouTube service: channel and per-video daily analytics through Google's APIs (OAuth 2.0)."""
