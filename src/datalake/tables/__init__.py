"""Tabular data: schemas checked column-wise, CSV/Parquet/NDJSON reading and writing, lineage
columns.
"""
