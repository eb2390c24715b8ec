"""The command language of seamless.yaml and seamless.profile.yaml.

Each file is a YAML list; each item is a bare command name
(``inherit_from_parent``) or a single-key mapping ``{command: argument}``;
``stage NAME`` blocks hold a nested list that counts only in that stage, at
the block's position. Reading gives a flat list of Invocations, each with its
file and line, so that an error found later (an unknown queue, a bad
execution mode) still says where it came from.

Differences from the reference, all in error handling: the file and line are
in every message; a bare ``stage`` key is an error with a message (the
reference crashes); ``stageprod`` (no space) is an unknown command, not a
stage block for "prod".
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import yaml

from .errors import ConfigFileError
from .yamlfile import load_yaml

PROJECT_FILE = "seamless.yaml"
PROFILE_FILE = "seamless.profile.yaml"
COMMANDS = ("project", "subproject", "cluster", "execution", "queue", "remote", "persistent",
            "record", "node", "nparallel", "clusters", "inherit_from_parent")
EXAMPLE = "Example:\n- project: myproject"


class Invocation(NamedTuple):
    """One command as written, and where."""

    name: str
    argument: Any
    path: str
    line: int | None

    def error(self, message: str) -> ConfigFileError:
        return ConfigFileError(f"{self.name!r}: {message}", self.path, self.line)


class _Item(NamedTuple):
    value: Any
    line: int | None
    children: tuple["_Item", ...] | None = None  # for a stage block's list


def _items(path: str) -> list[_Item]:
    """The top-level items of a command file, each with its line."""
    data = load_yaml(path)
    if not isinstance(data, list):
        what = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigFileError(f"expected a YAML list of commands, found {what}. {EXAMPLE}", path)
    with open(path, encoding="utf-8") as f:
        node = yaml.compose(f.read())
    return _attach_lines(data, node)


def _attach_lines(values: list[Any], node: Any) -> list[_Item]:
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [None] * len(values)
    items = []
    for value, item_node in zip(values, nodes):
        line = item_node.start_mark.line + 1 if item_node is not None else None
        children = None
        if isinstance(value, dict) and len(value) == 1:
            (inner,) = value.values()
            if isinstance(inner, list) and isinstance(item_node, yaml.MappingNode):
                children = tuple(_attach_lines(inner, item_node.value[0][1]))
        items.append(_Item(value, line, children))
    return items


def stage_of_block(key: str) -> str | None:
    """'stage prod' -> 'prod'; None for keys that are not stage blocks."""
    if key == "stage" or key.startswith(("stage ", "stage\t")):
        return key[5:].strip()
    return None


def _check(path: str, item: _Item) -> tuple[str, Any]:
    value = item.value
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict) or len(value) != 1:
        raise ConfigFileError(f"commands must be strings or single-key mappings, found {value!r}. {EXAMPLE}",
                              path, item.line)
    ((name, argument),) = value.items()
    if not isinstance(name, str):
        raise ConfigFileError(f"command names must be strings, found {name!r}", path, item.line)
    return name, argument


def expand(path: str, items: list[_Item] | tuple[_Item, ...], stage: str | None,
           out: list[Invocation]) -> bool:
    """Append the invocations of items to out, splicing in the stage blocks
    of the current stage. True if inherit_from_parent was among the
    top-level items."""
    inherit = False
    for item in items:
        name, argument = _check(path, item)
        block_stage = stage_of_block(name)
        if block_stage is not None:
            if not block_stage:
                raise ConfigFileError("a stage block needs a name: '- stage NAME:' followed by a list",
                                      path, item.line)
            if not isinstance(argument, list):
                raise ConfigFileError(f"{name!r} must be followed by a YAML list of commands", path, item.line)
            if block_stage == stage:
                expand(path, item.children or (), stage, out)
            continue
        if name not in COMMANDS:
            raise ConfigFileError(f"unknown command {name!r} (known commands: {', '.join(COMMANDS)}, "
                                  "'stage NAME')", path, item.line)
        if name == "inherit_from_parent":
            if argument is not None:
                raise ConfigFileError("'inherit_from_parent' takes no argument", path, item.line)
            inherit = True
            continue
        out.append(Invocation(name, argument, path, item.line))
    return inherit


def command_files(directory: str) -> list[str]:
    """The command files of one folder, project file first."""
    paths = [os.path.join(directory, PROJECT_FILE), os.path.join(directory, PROFILE_FILE)]
    return [p for p in paths if os.path.isfile(p)]


def collect(workdir: str, stage: str | None) -> tuple[list[Invocation], list[str]]:
    """The invocations of workdir's files and, through inherit_from_parent,
    of its parents' (parents first); and the files read, in order.

    Parents are read only when a file says inherit_from_parent (as in the
    reference); in a stage block it has no effect.
    """
    levels: list[tuple[list[Invocation], list[str]]] = []
    directory = os.path.abspath(workdir)
    while True:
        invocations: list[Invocation] = []
        paths = command_files(directory)
        inherit = False
        for path in paths:
            inherit |= expand(path, _items(path), stage, invocations)
        levels.append((invocations, paths))
        parent = os.path.dirname(directory)
        if not inherit or parent == directory:
            break
        directory = parent
    result: list[Invocation] = []
    files: list[str] = []
    for invocations, paths in reversed(levels):
        result += invocations
        files += paths
    return result, files
