"""The three cleaner stages (landing2raw, raw2staging, staging2curated), their common driver, and
the building blocks services declare formats and tables with.
"""
