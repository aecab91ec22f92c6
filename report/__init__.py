"""What an analyst sees first: the population report, the run summary, the SQL shell and the user settings.

The report (`python -m report`) reads the BI export only (exports/bi.duckdb), so it shows exactly what BI
users may see; `python -m report.run` drives make's steps with short progress lines and a closing summary.
"""
