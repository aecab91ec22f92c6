"""The ICD-10-CM part of d_icd_diagnoses, from the simple_icd_10_cm package.

The package parses its bundled CMS tabular list on import, which costs a couple of seconds of single-threaded
work, so the generator builds the list in a child process (`python -m generator.icd10`, one `code<TAB>title`
line per code on stdout) while it simulates the population.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType

from generator.errors import GenerationError

SEPARATOR = "\t"


def icd10_dictionary() -> tuple[list[str], list[str]]:
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
    titles = [cm.get_description(with_dot[code]) for code in codes]
    return codes, titles


class Icd10Dictionary:
    """The code list, built by a child process started on creation. `result()` waits for it; leaving the
    context stops a child that is still running, so a failed generation does not wait for it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "generator.icd10"], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def result(self) -> tuple[list[str], list[str]]:
        output, errors = self.process.communicate()
        if self.process.returncode != 0:
            reason = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise GenerationError(f"building the ICD-10-CM code list failed: {reason[0]}")
        pairs = [line.split(SEPARATOR, 1) for line in output.decode("utf-8").splitlines()]
        return [code for code, _ in pairs], [title for _, title in pairs]

    def __enter__(self) -> Icd10Dictionary:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def main() -> None:
    codes, titles = icd10_dictionary()
    unsafe = [code for code, title in zip(codes, titles, strict=True) if SEPARATOR in title or "\n" in title]
    if unsafe:
        raise SystemExit(f"titles with a tab or line break: {', '.join(unsafe[:5])}")
    lines = "".join(f"{code}{SEPARATOR}{title}\n" for code, title in zip(codes, titles, strict=True))
    sys.stdout.buffer.write(lines.encode("utf-8"))


if __name__ == "__main__":
    main()
