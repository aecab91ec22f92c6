"""Loads MIMIC-IV's files (a PhysioNet download, demo or full) into the warehouse's raw tables:
`python -m mimic_loader MIMIC_DIR --db PATH`. The checks and their reasons are in mimic_loader/load.py."""
