"""The ICD-10-CM part of d_icd_diagnoses, from the simple_icd_10_cm package.

The package parses its bundled CMS tabular list on import, which takes a couple of seconds, so the generator
builds this list in a helper process while the main process simulates the population.
"""

from __future__ import annotations


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
