"""Test doubles (fake web sites, fake APIs) used by the BEDROT Data Lake test suite."""
