"""Zone files: atomic writes, the dedup registry, change detection, locks, curated publishing and
the archive.
"""
