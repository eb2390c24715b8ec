"""Reading one YAML file, with its errors turned into ConfigFileError."""

from __future__ import annotations

import os
from typing import Any

import yaml

from .errors import ConfigFileError


def load_yaml(path: str) -> Any:
    """The parsed content of path (None for an empty or comment-only file).

    Raises:
        ConfigFileError: the file cannot be read or is not valid YAML; the
            message names the file and the line.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigFileError(f"cannot read the file: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError:
        raise ConfigFileError("the file is not UTF-8 text", path) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigFileError(f"invalid YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"invalid YAML: {exc}", path) from None


def display_path(path: str) -> str:
    """path with the home directory shortened to ~ (for messages)."""
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path
