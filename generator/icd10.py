"""The ICD-10-CM part of d_icd_diagnoses: codes and titles from the simple_icd_10_cm package.

The package parses its bundled CMS tabular list on import, which costs seconds of single-threaded work on
every run, so the list it yields ships with the generator as data/icd10cm_codes.tsv.gz (one `code<TAB>title`
line per code) and a test keeps that file identical to what the installed package yields. After upgrading
simple_icd_10_cm, rebuild it with `python -m generator.icd10 --write`.
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Sequence
from pathlib import Path

from generator.datafiles import DataFileError, data_path

SHIPPED_FILE = "icd10cm_codes.tsv.gz"
SEPARATOR = "\t"


def package_dictionary() -> tuple[list[str], list[str]]:
    """Every ICD-10-CM category, subcategory and code (chapters and blocks left out), without the dot, and
    its title, in the package's order."""
    import simple_icd_10_cm as cm

    dotted = cm.get_all_codes(with_dots=True)
    plain = cm.get_all_codes(with_dots=False)
    # get_all_codes lists chapters and blocks too ('1', 'A00-A09'), and a block made of one category shares
    # its name ('Z66'): keep each code once, and only codes, as MIMIC's dictionary does.
    with_dot = dict(zip(plain, dotted, strict=True))
    codes = list(dict.fromkeys(
        code for code, name in zip(plain, dotted, strict=True)
        if cm.is_category_or_subcategory(name) or cm.is_extended_subcategory(name)
    ))
    # Some titles of the tabular list carry layout whitespace (tabs, doubled spaces); CMS titles have none.
    titles = [" ".join(cm.get_description(with_dot[code]).split()) for code in codes]
    return codes, titles


def shipped_dictionary(path: Path | None = None) -> tuple[list[str], list[str]]:
    path = path or data_path(SHIPPED_FILE)
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as handle:
        lines = handle.read().splitlines()
    pairs = [line.split(SEPARATOR) for line in lines]
    malformed = [number for number, pair in enumerate(pairs, start=1) if len(pair) != 2 or not all(pair)]
    if malformed:
        raise DataFileError(f"{path.name}, line {malformed[0]}: expected a code, a tab and a title")
    return [code for code, _ in pairs], [title for _, title in pairs]


def write_shipped(path: Path) -> int:
    codes, titles = package_dictionary()
    lines = "".join(f"{code}{SEPARATOR}{title}\n" for code, title in zip(codes, titles, strict=True))
    # mtime=0 keeps the file byte-identical between rebuilds of the same list.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(lines.encode("utf-8"))
    return len(codes)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m generator.icd10", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rebuild generator/data/{SHIPPED_FILE}")
    args = parser.parse_args(argv)
    if args.write:
        count = write_shipped(data_path(SHIPPED_FILE))
        print(f"wrote {count:,} ICD-10-CM codes to {data_path(SHIPPED_FILE)}")
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
