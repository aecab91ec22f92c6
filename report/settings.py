"""The user's lasting settings (settings.yml): dbt vars every command applies, so a plain `make run` never
silently goes back to the defaults after a change."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

VARS_FLAG = "--vars"


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the file and what is wrong."""


def load_vars(path: Path) -> dict[str, object]:
    """The `vars:` mapping of the settings file; none when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(content, dict) or not set(content) <= {"vars"}:
        raise SettingsError(f"{path} must hold one mapping, `vars:`, of dbt vars (see settings.example.yml)")
    found = content.get("vars") or {}
    if not isinstance(found, dict):
        raise SettingsError(f"{path}: `vars:` must be a mapping of dbt var names to values")
    return found


def split_vars(flags: list[str]) -> tuple[list[str], dict[str, object]]:
    """Separate a --vars option from other dbt flags, returning the flags without it and its vars."""
    rest: list[str] = []
    found: dict[str, object] = {}
    tokens = iter(flags)
    for token in tokens:
        if token == VARS_FLAG:
            text = next(tokens, "")
        elif token.startswith(f"{VARS_FLAG}="):
            text = token.split("=", 1)[1]
        else:
            rest.append(token)
            continue
        parsed = yaml.safe_load(text) or {}
        if not isinstance(parsed, dict):
            raise SettingsError(f"{VARS_FLAG} must be a mapping, got {text!r}")
        found.update(parsed)
    return rest, found


def dbt_flags(settings_file: Path, extra_flags: str) -> list[str]:
    """dbt arguments for one command: the settings file's vars, overridden by any --vars in `extra_flags`
    (DBT_FLAGS, for a one-off change), since dbt would otherwise keep only one of the two --vars."""
    rest, one_off = split_vars(shlex.split(extra_flags))
    merged = {**load_vars(settings_file), **one_off}
    return [*rest, VARS_FLAG, yaml.safe_dump(merged, default_flow_style=True).strip()] if merged else rest
