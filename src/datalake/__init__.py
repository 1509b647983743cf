"""BEDROT Data Lake shared package.

Everything the service scripts share lives here, one concept per module: settings, paths,
atomic writes, the dedup registry, quarantine, schemas, lineage, curated publishing, archive,
run records, logging, discovery and the master runner. Importing it is cheap (no pandas, no
pyarrow): heavy libraries are imported only by the modules that process data.
"""

__version__ = "0.1.0"
