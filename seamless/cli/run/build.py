"""From a command line to a transformation dict, as the reference's
seamless-run builds it (cli.md §2.3-2.7): argument typing, file mapping,
word substitution, output targets, the bash code and the pins.

Inputs are checksummed here (with their sidecars when present, else
streamed through the native core, remembered by file fingerprint); nothing
is uploaded or run.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Any

from ...buffer_class import Buffer
from ...checksum.compression import strip_compression_suffix
from ...checksum.sidecar import read_sidecar
from ...checksum_class import Checksum
from .bashparse import Command, Script, parse

SYSTEM_DIRS = ("/bin", "/sbin", "/usr")
# Commands that are never made executable: the reference's list, plus every
# other builtin and keyword (the reference runs "chmod +x 'exit'" and fails).
NO_CHMOD = {"cd", "echo", "eval", "exec", "export", "set", "source", ".", "exit", "wait", "read", "[", "test",
            "true", "false", "return", "shift", "unset", "local", "declare", "printf", "pwd", "trap", "type",
            "alias", "let", "break", "continue", "umask", "ulimit", "times", "kill", "jobs", "bg", "fg",
            "command", "builtin", "hash", "getopts", "readonly", "typeset", "mapfile", "readarray", "shopt",
            "time", "!"}
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UsageError(ValueError):
    """A command line that cannot be turned into a transformation."""


@dataclass
class Input:
    """A file or folder that becomes a pin."""

    path: str  # as found on disk (absolute)
    pin: str  # the mapped name inside the workspace
    kind: str  # "file" or "directory"
    checksum: Checksum | None = None
    index: dict[str, str] | None = None  # a directory's index
    files: dict[str, str] = field(default_factory=dict)  # index key -> path on disk (directories)


@dataclass
class Job:
    """Everything seamless-run needs after building."""

    command: str  # after substitution and prologues
    code: str
    tf_dict: dict[str, Any]
    inputs: list[Input]
    targets: list[tuple[str, str]]  # (name under RESULT, local download name)
    stdout_mode: bool
    buffers: list[Buffer]  # the small buffers of the dict (code, vars)


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


def _extension(word: str) -> str:
    base, _ = strip_compression_suffix(word)
    return os.path.splitext(os.path.basename(base.rstrip("/")))[1]


def type_argument(word: str, index: int, workdir: str, rule1: bool = True, rule2: bool = True) -> str | None:
    """"file", "directory", or None (a value) for one argument; UsageError
    where a rule is broken. An input that another job announced with a
    .FUTURE file is waited for."""
    from .futures import wait_for

    path = os.path.expanduser(word)
    full = os.path.join(workdir, path)
    wait_for(full.rstrip("/"))
    stripped, _ = strip_compression_suffix(full)
    if os.path.exists(stripped + ".CHECKSUM") and not word.endswith((".CHECKSUM", ".INDEX")):
        return "directory" if os.path.exists(stripped + ".INDEX") else "file"
    extension = _extension(word)
    if extension and _is_number(word):
        return None
    if rule1 and extension and not word.endswith("/"):
        if not os.path.exists(full):
            raise UsageError(f"Argument #{index} '{word}' has an extension, so it must exist as a file, but it "
                             "does not. To disable this rule, specify the -g1 option.")
        if os.path.isdir(full):
            raise UsageError(f"Argument #{index} '{word}' has an extension, so it must be a file, but it is a "
                             "directory. To disable this rule, specify the -g1 option.")
        return "file"
    if rule2 and index > 1 and not extension and os.path.isfile(full):
        raise UsageError(f"Argument #{index} '{word}' has no extension and is not the command, so it must not "
                         "be an existing file. To disable this rule, specify the -g2 option.")
    if word.endswith("/"):
        if not os.path.isdir(full):
            raise UsageError(f"Argument #{index} '{word}' ends with '/', so it must be an existing directory")
        return "directory"
    if os.path.isdir(full):
        return "directory"
    if os.path.isfile(full):
        return "file"
    return None


def map_name(path: str, workdir: str) -> str:
    """The literal mapping: the path relative to the working directory."""
    full = os.path.normpath(os.path.join(workdir, os.path.expanduser(path)))
    rel = os.path.relpath(full, workdir)
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        raise UsageError(f"Argument '{path}' is not under the current working directory '{workdir}'")
    return rel.replace(os.sep, "/")


def _resolve_executable(word: str) -> str | None:
    """The path of an executable outside the system folders, or None."""
    if word == "conda":
        return None
    found = shutil.which(word)
    if found is None:
        return None
    directory = os.path.dirname(os.path.abspath(found))
    if directory.endswith(SYSTEM_DIRS):
        return None
    return found


def _primary_pipeline(script: Script, primary: int) -> list[Command]:
    count = 0
    for pipeline in script.pipelines:
        count += len(pipeline.commands)
        if count >= primary:
            return pipeline.commands
    raise UsageError(f"--primary {primary}: the command has only {count} commands")


def build_code(command: str, targets: list[str], stdout_capture: bool, make_executables: list[str],
               metavars: list[str]) -> str:
    """The bash code of the code pin (cli.md §2.6, exact)."""
    code = ""
    if make_executables:
        if any("/" not in entry for entry in make_executables):
            code += "export PATH=./:$PATH\n"
        code += "chmod +x" + "".join(f" '{entry}'" for entry in make_executables) + "\n"
    for name in sorted(metavars):
        code += f'export {name}="${{META__{name}}}"\n'
    if not targets:
        return code + f"(\n{command}\n) > RESULT"
    body = f"(\n{command}\n) > STDOUT" if stdout_capture else command
    moves, dirs = [], []
    for target in targets:
        destination = os.path.join("RESULT", os.path.dirname(target))
        moves.append(f"mv {target} {destination}\n")
        if destination not in dirs:
            dirs.append(destination)
    return code + "mkdir -p " + " ".join(dirs) + "\n" + body + "\n" + "".join(moves)


def read_input_list(list_file: str, workdir: str) -> list[str]:
    """The paths of an -I file, one per line, relative to the file's own
    folder, as paths relative to workdir. Empty lines are skipped (the
    reference turns them into the list's whole folder)."""
    base = os.path.dirname(os.path.abspath(list_file))
    with open(list_file, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [os.path.relpath(os.path.join(base, line), workdir) for line in lines if line]


class _Mapper:
    """Pin names of inputs: literal (the path relative to the working
    folder), strip (the base name) or extension (file1.ext, file2.ext...)."""

    def __init__(self, mode: str, workdir: str):
        if mode not in ("literal", "strip", "extension"):
            raise UsageError(f"unknown file mapping {mode!r}")
        self.mode, self.workdir, self.count = mode, workdir, 0

    def __call__(self, path: str, kind: str) -> str:
        literal = map_name(path, self.workdir)
        if self.mode == "strip":
            return os.path.basename(literal.rstrip("/"))
        if self.mode == "extension" and kind == "file":
            self.count += 1
            stem, suffix = strip_compression_suffix(os.path.basename(literal))
            return f"file{self.count}{os.path.splitext(stem)[1]}{suffix or ''}"
        return literal


def environment_buffer(conda: str | None, docker: str | None) -> Buffer | None:
    """The __env__ buffer of --conda / --docker (orthogonal to identity)."""
    environment: dict[str, Any] = {}
    if conda:
        environment["conda_environment"] = conda
    if docker:
        environment["docker"] = {"name": docker}
    return Buffer(environment, "plain") if environment else None


def build(command: str, *, workdir: str, captures: list[str], extra_inputs: list[str], variables: list[str],
          metavars: list[str], prologues: list[str], primary: int = 1, rule1: bool = True,
          rule2: bool = True, checksum_file: Any = None, mapping: str = "literal",
          metafiles: list[str] = (), conda: str | None = None, docker: str | None = None) -> Job:
    """The Job of a command line (cli.md §2.3)."""
    if not command.strip():
        raise UsageError("no command")
    script = parse(command)
    if not script.commands:
        raise UsageError("no command")
    words = [w for c in _primary_pipeline(script, primary) for w in c.words]
    inputs: dict[str, Input] = {}
    substitutions: list[tuple[int, int, str]] = []
    make_executables: list[str] = []

    mapper = _Mapper(mapping, workdir)
    by_path: dict[str, Input] = {}

    def add_input(path: str, kind: str, prefix: str = "") -> Input:
        full = os.path.normpath(os.path.join(workdir, os.path.expanduser(path)))
        if prefix + full in by_path:
            return by_path[prefix + full]
        pin = prefix + mapper(path, kind)
        previous = inputs.get(pin)
        if previous is not None and previous.path != full:
            raise UsageError(f"Two different mappings for '{pin}': {previous.path} and {full}")
        inputs[pin] = by_path[prefix + full] = previous or Input(full, pin, kind)
        return inputs[pin]

    for command_ in script.commands:
        first = command_.words[0]
        resolved = _resolve_executable(first.value)
        if resolved is not None:
            item = add_input(os.path.relpath(resolved, workdir) if not first.value.startswith("/") else resolved,
                             "file")
            if item.pin != first.raw:
                substitutions.append((first.start, first.end, item.pin))
            if first.value not in NO_CHMOD:
                make_executables.append(item.pin)
        elif shutil.which(first.value) is None and first.value not in NO_CHMOD and "$" not in first.value \
                and first.value != "conda":
            make_executables.append(first.value)
    for index, word in enumerate(words, 1):
        if any(word is c.words[0] for c in script.commands):
            continue  # commands were resolved above
        if "$" in word.value or "`" in word.value or "*" in word.value or "?" in word.value:
            continue  # expansions are left to bash
        kind = type_argument(word.value, index, workdir, rule1, rule2)
        if kind is None:
            continue
        item = add_input(word.value, kind)
        if item.pin != word.raw:
            substitutions.append((word.start, word.end, item.pin))
    for path in metafiles:
        if not os.path.isfile(os.path.join(workdir, path)):
            raise UsageError(f"--metafile '{path}' is not an existing file")
        add_input(path, "file", prefix="META__FILE__")
    primary_commands = _primary_pipeline(script, primary)
    for command_ in primary_commands:  # input redirections are inputs (the reference makes them outputs)
        for redirect in command_.redirects:
            if redirect.op in ("<", "<>") and redirect.fd in (None, 0):
                item = add_input(redirect.target.value, "file")
                if item.pin != redirect.target.raw:
                    substitutions.append((redirect.target.start, redirect.target.end, item.pin))
    for path in extra_inputs:
        full = os.path.join(workdir, path)
        stripped, _ = strip_compression_suffix(full)
        if not os.path.exists(full) and not os.path.exists(stripped + ".CHECKSUM"):
            raise UsageError(f"Input '{path}' does not exist (and has no .CHECKSUM)")
        add_input(path.rstrip("/"), "directory" if os.path.isdir(full) or os.path.exists(stripped + ".INDEX")
                  else "file")

    # outputs: the redirections of the last command, or of a subshell that starts the script
    redirect_targets: list[str] = []
    last = script.commands[-1]
    redirects = list(last.redirects)
    if script.leading_group is not None and last.group == script.leading_group:
        redirects += script.groups.get(script.leading_group, [])
    elif last.group is not None:
        redirects += script.groups.get(last.group, [])
    for redirect in redirects:
        if redirect.fd == 2 or redirect.op in (">&", "<&") or redirect.op == "<<<":
            continue
        target = redirect.target.value
        if redirect.op in ("<", "<>"):
            if last not in primary_commands:
                item = add_input(target, "file")
                if item.pin != redirect.target.raw:
                    substitutions.append((redirect.target.start, redirect.target.end, item.pin))
            continue
        mapped = map_name(target, workdir)
        if mapped != redirect.target.raw:
            substitutions.append((redirect.target.start, redirect.target.end, mapped))
        redirect_targets.append(mapped)

    text = command
    for start, end, replacement in sorted(substitutions, reverse=True):
        text = text[:start] + replacement + text[end:]
    if prologues:
        text = "".join(f"{p}; " for p in prologues) + text

    targets: list[tuple[str, str]] = []
    stdout_capture = False
    for capture in captures:
        if capture.startswith(":"):
            stdout_capture = True
            targets.append(("STDOUT", capture[1:]))
        elif ":" in capture:
            name, local = capture.split(":", 1)
            targets.append((map_name(name, workdir), local))
        else:
            targets.append((map_name(capture, workdir), capture))
    for target in redirect_targets:
        targets.append((target, target))
    names = [name for name, _ in targets]

    metavar_names = []
    tf_dict: dict[str, Any] = {"__language__": "bash"}
    buffers: list[Buffer] = []
    for assignment in variables + metavars:
        name, sep, value = assignment.partition("=")
        if not sep or not NAME_PATTERN.match(name) or name.startswith("META__"):
            raise UsageError(f"--var/--metavar needs NAME=VALUE with a shell variable name, not {assignment!r}")
        buffer = Buffer(value, "str")
        buffers.append(buffer)
        if assignment in metavars:
            metavar_names.append(name)
            tf_dict[f"META__{name}"] = ["str", None, buffer.get_checksum().hex()]
        else:
            tf_dict[name] = ["str", None, buffer.get_checksum().hex()]
    code = build_code(text, names, stdout_capture, make_executables, metavar_names)
    code_buffer = Buffer(code, "text")
    buffers.append(code_buffer)
    tf_dict["__output__"] = ["result", "bytes" if not targets else "deepfolder", None]
    env = environment_buffer(conda, docker)
    if env is not None:
        buffers.append(env)
        tf_dict["__env__"] = env.get_checksum().hex()
    formats: dict[str, Any] = {}
    for item in inputs.values():
        if item.pin in ("bashcode", "pins_", "code"):
            raise UsageError(f"an input cannot be named {item.pin!r}")
        if item.pin.startswith("META__FILE__"):
            continue
        if item.kind == "directory":
            formats[item.pin] = {"filesystem": {"optional": True, "mode": "directory"}, "celltype": "deepfolder"}
        else:
            formats[item.pin] = {"filesystem": {"optional": True, "mode": "file"}}
    if formats:
        tf_dict["__format__"] = formats
    tf_dict["code"] = ["text", None, code_buffer.get_checksum().hex()]
    job = Job(text, code, tf_dict, list(inputs.values()), targets, not targets, buffers)
    checksum_inputs(job, checksum_file)
    return job


def checksum_inputs(job: Job, checksum_file: Any = None) -> None:
    """Fill in the checksums of the inputs and their pins: from sidecars when
    present, else by hashing (checksum_file(path) -> hex, streamed)."""
    from ...checksum.algorithms import DEFAULT_ALGORITHM
    from ...checksum.compression import decompressed_checksum
    from ...checksum.directory import build_index, index_buffer, index_paths

    if checksum_file is None:
        from ...checksum.calculate_checksum import (
            calculate_file_checksum as checksum_file,
        )
    for item in job.inputs:
        stripped, _ = strip_compression_suffix(item.path)
        sidecar = read_sidecar(stripped) if os.path.exists(stripped + ".CHECKSUM") else None
        if item.kind == "directory":
            if sidecar is not None and not os.path.isdir(item.path):
                item.checksum = sidecar
                index_path = stripped + ".INDEX"
                with open(index_path, "rb") as f:
                    buffer = Buffer(f.read())
                item.index = buffer.get_value("plain")
            else:
                item.index = build_index(item.path, decompress=True)
                item.checksum = Buffer(index_buffer(item.index)).get_checksum()
                item.files.update(index_paths(item.path))
            job.tf_dict[item.pin] = ["mixed", None, item.checksum.hex()]
        else:
            _, suffix = strip_compression_suffix(item.path)
            if sidecar is not None and not os.path.exists(item.path):
                item.checksum = sidecar
            elif suffix is not None:  # the checksum of the decompressed content
                item.checksum = Checksum(decompressed_checksum(item.path, suffix, DEFAULT_ALGORITHM))
            else:
                item.checksum = Checksum(checksum_file(item.path))
                if sidecar is not None and sidecar != item.checksum:
                    raise UsageError(f"'{item.path}' does not match its .CHECKSUM sidecar")
            job.tf_dict[item.pin] = ["bytes", None, item.checksum.hex()]
