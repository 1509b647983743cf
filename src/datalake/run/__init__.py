"""The master runner: discovery of scripts, planning, process control, run records and reports."""
