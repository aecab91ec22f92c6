"""`python -m generator`: write a synthetic MIMIC-IV population into a DuckDB warehouse."""

from generator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
