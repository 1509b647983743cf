"""DistroKid service: extractors, cleaners, schemas and synthetic samples."""
