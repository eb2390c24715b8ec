"""Running one transformation dict: building the namespace from the pins,
running Python or bash code, serializing the result (cli.md §6.5).

Everything here works on buffers and values; where the buffers come from
(the in-process cache, the stores, shared memory of a spawn worker) is the
caller's business, through ``resolve``.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import shutil
import subprocess
import tempfile
import time
import traceback
import types
from typing import Any, Callable

from ..buffer_class import Buffer
from ..checksum.compression import compress_file, strip_compression_suffix
from ..checksum_class import Checksum
from .code import runnable
from .errors import TransformationError
from .identity import META_PREFIX, is_pin
from .record import note_child

Resolver = Callable[[Checksum], Buffer]
#: The path of a buffer's file in a store folder on this machine, or None.
Locator = Callable[[Checksum], "str | None"]
#: The start of every bash transformation's script (as the reference's).
BASH_HEADER = "set -u -e\ntrap 'jobs -p | xargs -r kill' EXIT\n"
SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Names in a bash workspace that are not inputs: the script and the result.
RESERVED_NAMES = ("transform.sh", "RESULT")
TEXT_LIKE = ("text", "python", "ipython", "yaml", "str", "int", "float", "bool", "plain", "mixed", "checksum")


def _pin_values(tf_dict: dict[str, Any], resolve: Resolver) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain pins, module pins) deserialized with their celltypes, in sorted order."""
    values: dict[str, Any] = {}
    modules: dict[str, Any] = {}
    for name in sorted(tf_dict):
        if not (is_pin(name) or name.startswith(META_PREFIX)) or name == "code":
            continue
        celltype, subcelltype, checksum = tf_dict[name]
        buffer = resolve(Checksum(checksum))
        if celltype == "plain" and subcelltype == "module":
            modules[name] = buffer.get_value("plain")
            continue
        if celltype in ("deepcell", "deepfolder", "folder"):
            values[name] = buffer.get_value("plain")
        elif celltype == "bytes":
            values[name] = buffer.content
        else:
            values[name] = buffer.get_value(celltype)
    return values, modules


def _build_module(name: str, definition: dict[str, Any]) -> types.ModuleType:
    """A module from its definition dict (one file, or a package of files)."""
    module = types.ModuleType(name)
    code = definition.get("code")
    if isinstance(code, str):
        exec(compile(code, f"<module {name}>", "exec"), module.__dict__)  # noqa: S102 - the transformer's own code
        return module
    if isinstance(code, dict):
        module.__path__ = []  # a package
        for sub, subdef in sorted(code.items()):
            submodule = _build_module(f"{name}.{sub}", subdef if isinstance(subdef, dict) else {"code": subdef})
            setattr(module, sub.split(".")[-1], submodule)
        return module
    raise TransformationError(f"module pin {name!r} has no code")


def run_python(tf_dict: dict[str, Any], resolve: Resolver) -> Any:
    """The value of a Python transformation."""
    code = resolve(Checksum(tf_dict["code"][2])).get_value("python")
    values, modules = _pin_values(tf_dict, resolve)
    namespace: dict[str, Any] = {"__name__": "transformer", "PINS": dict(values),
                                 "OUTPUTPIN": tf_dict.get("__output__", ["result", "mixed", None])[1],
                                 "FILESYSTEM": tf_dict.get("__format__", {})}
    for name, definition in modules.items():
        if name == "main" and isinstance(definition.get("code"), str):
            exec(compile(definition["code"], "<globals>", "exec"), namespace)  # noqa: S102
        else:
            namespace[name] = _build_module(name, definition)
    namespace.update(values)
    inputs = [n for n in values if not n.startswith(META_PREFIX)]
    try:
        exec(compile(runnable(code, inputs), "transformer", "exec"), namespace)  # noqa: S102
    except Exception:
        lines = traceback.format_exc().splitlines()
        raise TransformationError("\n".join(lines)) from None
    if "result" not in namespace:
        raise TransformationError("the code did not assign 'result'")
    result = namespace["result"]
    if result is None:
        raise TransformationError("Result is empty")
    return result


class _Links:
    """Store files hard-linked into a workspace, checked after the command.

    A command that wrote to its input through the link (as root, the
    store's 0444 does not stop it), or another job's command that did so
    meanwhile, is caught: the transformation fails and the damaged copy
    leaves the store. Small files are hashed again. A large file is
    compared by its inode, size, mtime and ctime instead: any write or
    chmod moves its ctime, which no one can set back, so an unchanged
    signature proves it unwritten without reading it; a changed one (a
    write, or only another job's link) is decided by hashing.

    That proof needs a later write to get a later ctime, which file systems
    with coarse timestamps (whole seconds, or a clock tick) do not give
    within the same step. So before the command starts, settle() touches a
    file of the workspace (the same file system, the same clock) until its
    ctime is past the signatures'; if that does not happen within 0.1 s,
    the large files are hashed like the small ones."""

    #: Files from this size on are checked by signature, not by hashing.
    SIGNATURE_MIN = 4 << 20
    #: How long settle() waits for the file system's clock to move on.
    SETTLE_TIMEOUT = 0.1

    def __init__(self) -> None:
        # (store path, workspace path, checksum, signature or None to hash)
        self.links: list[tuple[str, str, Checksum, tuple[int, int, int, int] | None]] = []
        self.written: dict[str, Checksum] = {}  # workspace path -> the checksum written there

    def add(self, store_path: str, target: str, checksum: Checksum) -> bool:
        try:
            os.link(store_path, target)
        except OSError:  # another file system, or links refused
            return False
        st = os.stat(store_path)
        self.links.append((store_path, target, checksum, None if st.st_size < self.SIGNATURE_MIN else _signature(st)))
        return True

    def settle(self, probe: str) -> None:
        """Make sure that a write from now on gives the linked files a later
        ctime than their signatures (probe: a file of the workspace, which
        is touched), or else have them hashed."""
        newest = max((signature[3] for *_, signature in self.links if signature is not None), default=None)
        if newest is None:
            return
        deadline = time.monotonic() + self.SETTLE_TIMEOUT
        while True:
            os.utime(probe)
            if _ctime_ns(probe) > newest:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.001)
        self.links = [(store_path, target, checksum, None) for store_path, target, checksum, _ in self.links]

    def check(self) -> None:
        from .. import _native

        changed = []
        for store_path, target, checksum, signature in self.links:
            try:
                st = os.stat(store_path)
                intact = (signature is not None and _signature(st) == signature) or \
                    _native.hash_file(store_path)[0] == checksum.bytes()
            except FileNotFoundError:
                continue
            if not intact:
                try:
                    os.unlink(store_path)
                except FileNotFoundError:
                    pass
                changed.append(os.path.basename(target))
        if changed:
            raise TransformationError(f"input file(s) {', '.join(changed)} changed while the command ran "
                                      "(inputs must be read only); the damaged copies were removed from the "
                                      "store and nothing was cached")


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _ctime_ns(path: str) -> int:
    return os.stat(path).st_ctime_ns


def _write_leaf(target: str, checksum: Checksum, resolve: Resolver, locate: Locator | None,
                links: _Links | None) -> None:
    """One file of the workspace: a hard link to the store's file when the
    store is a folder on the same file system (checked afterwards, see
    _Links), else a copy made by the kernel, else the buffer's bytes. A pin
    named like a compressed file gets compressed bytes."""
    if links is not None:
        previous = links.written.setdefault(os.path.normpath(target), checksum)
        if previous != checksum:
            raise TransformationError(f"two pins of different content map to the same file "
                                      f"{os.path.basename(target)!r} in the workspace")
        if os.path.lexists(target):
            return  # the same content, already there (an input that is also a --metafile)
    path = locate(checksum) if locate is not None else None
    _, suffix = strip_compression_suffix(target)
    if suffix is not None:
        if path is None:
            path = f"{target}.plain"
            with open(path, "wb") as f:
                f.write(resolve(checksum).content)
            compress_file(path, target, suffix)
            os.unlink(path)
        else:
            compress_file(path, target, suffix)
        return
    if path is not None:
        if links is not None and links.add(path, target, checksum):
            return
        shutil.copyfile(path, target)
    else:
        with open(target, "wb") as f:
            f.write(resolve(checksum).content)


def _file_name(pin: str) -> str:
    """The workspace name of a pin (a --metafile's META__FILE__ prefix dropped)."""
    return pin[len("META__FILE__"):] if pin.startswith("META__FILE__") else pin


def _materialize(workspace: str, name: str, checksum: Checksum, celltype: str, mode: str | None,
                 resolve: Resolver, locate: Locator | None, links: _Links | None = None) -> str | None:
    """Write a pin into the workspace; the value for its environment
    variable (None if it gets none)."""
    if os.path.isabs(name) or ".." in name.split("/"):
        raise TransformationError(f"pin name {name!r} is not a relative path inside the workspace")
    target = os.path.join(workspace, _file_name(name))
    os.makedirs(os.path.dirname(target) or workspace, exist_ok=True)
    if mode == "directory":
        index = resolve(checksum).get_value("plain")
        os.makedirs(target, exist_ok=True)
        for key, leaf in sorted(index.items()):
            if os.path.isabs(key) or ".." in key.split("/"):
                raise TransformationError(f"index entry {key!r} of {name!r} leaves its folder")
            leaf_path = os.path.join(target, key)
            os.makedirs(os.path.dirname(leaf_path), exist_ok=True)
            _write_leaf(leaf_path, Checksum(leaf), resolve, locate, links)
        return target
    if mode == "file" or celltype in ("bytes", "binary") or name.startswith("META__FILE__"):
        _write_leaf(target, checksum, resolve, locate, links)
        return target
    buffer = resolve(checksum)
    value = buffer.get_value(celltype if celltype in TEXT_LIKE else "mixed")
    if isinstance(value, (str, int, float, bool)):
        text = str(value) if not isinstance(value, bool) else json.dumps(value)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        return text if "." not in name and len(text) <= 1000 else None
    if isinstance(value, bytes):
        with open(target, "wb") as f:
            f.write(value)
        return target
    with open(target, "w", encoding="utf-8") as f:
        f.write(json.dumps(value))
    return target


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a command and everything it started (its own session)."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _collect(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """A command's stdout and stderr, read to their end; then the command
    is reaped with os.wait4, whose resource usage (the command's own, with
    whatever it started and waited for) goes to this job's execution record
    (Popen.communicate would leave only the process-wide total)."""
    output: dict[Any, list[bytes]] = {process.stdout: [], process.stderr: []}
    try:
        with selectors.DefaultSelector() as selector:
            for stream in output:
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                for key, _ in selector.select():
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        output[key.fileobj].append(data)
                    else:
                        selector.unregister(key.fileobj)
    finally:
        for stream in output:
            stream.close()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): no status, no figures
        process.wait()
    else:
        process.returncode = os.waitstatus_to_exitcode(status)
        note_child(usage)
    return b"".join(output[process.stdout]), b"".join(output[process.stderr])


def _conda_activation(tf_dict: dict[str, Any], resolve: Resolver) -> str:
    """The lines that activate the conda environment of __env__, if any."""
    env_checksum = tf_dict.get("__env__")
    if not env_checksum:
        return ""
    environment = resolve(Checksum(env_checksum)).get_value("plain")
    name = environment.get("conda_environment") if isinstance(environment, dict) else None
    if not name:
        return ""
    root = os.environ.get("CONDA_ROOT")
    if not root:
        conda = os.environ.get("CONDA_EXE") or shutil.which("conda")
        if conda is None:
            raise TransformationError(f"the command wants the conda environment {name!r}, but conda is not "
                                      "installed here")
        root = os.path.dirname(os.path.dirname(conda))
    return f"source {root}/etc/profile.d/conda.sh\nconda activate {name}\n"


def _partial_result(workspace: str, limit: int = 1 << 20) -> bytes:
    """What a failed command had written to RESULT (its stdout, when that is
    the result): kept for the error report instead of lost."""
    try:
        with open(os.path.join(workspace, "RESULT"), "rb") as f:
            return f.read(limit)
    except OSError:
        return b""


def _prepare_bash(tf_dict: dict[str, Any], resolve: Resolver, locate: Locator | None, workspace: str,
                  links: _Links | None) -> tuple[dict[str, str], str]:
    """Write the pins of a bash transformation into workspace: the
    variables they give the command and the script that runs it."""
    code = resolve(Checksum(tf_dict["code"][2])).get_value("text")
    variables = {}
    formats = tf_dict.get("__format__") or {}
    for name in sorted(tf_dict):
        if name == "code" or not (is_pin(name) or name.startswith(META_PREFIX)):
            continue
        file_name = _file_name(name)
        if file_name in RESERVED_NAMES or file_name.split("/")[0] == "RESULT":
            raise TransformationError(f"an input may not be named {file_name!r}: the workspace's "
                                      f"{' and '.join(map(repr, RESERVED_NAMES))} are the command's own "
                                      "(rename the file, or map it with -ms/-mx)")
        celltype, _, checksum = tf_dict[name]
        mode = ((formats.get(name) or {}).get("filesystem") or {}).get("mode")
        env_value = _materialize(workspace, name, Checksum(checksum), celltype, mode, resolve, locate, links)
        if env_value is not None and "/" not in name:
            variables[name] = env_value
    script = BASH_HEADER + _conda_activation(tf_dict, resolve) + code + "\n"
    return variables, script


def write_bash_job(tf_dict: dict[str, Any], resolve: Resolver, locate: Locator | None, directory: str) -> str:
    """Write a bash transformation as a job folder instead of running it
    (seamless-run --write-remote-job): its pins as files and transform.sh,
    which goes to the folder, sets the pins' variables and runs the
    command there, leaving RESULT. The folder must not exist yet; the inputs are copies, so the
    job may change them without touching the store. Returns its absolute
    path."""
    if tf_dict.get("__language__") != "bash":
        raise TransformationError("only a bash transformation can be written as a job folder")
    directory = os.path.abspath(os.path.expanduser(directory))
    try:
        os.makedirs(directory)
    except FileExistsError:
        raise TransformationError(f"the job folder {directory} exists already") from None
    except OSError as exc:
        raise TransformationError(f"cannot create the job folder {directory}: {exc.strerror}") from None
    try:
        variables, script = _prepare_bash(tf_dict, resolve, locate, directory, links=None)
        exports = []
        for name, value in sorted(variables.items()):
            if not SHELL_NAME.fullmatch(name):
                continue
            if value.startswith(directory + os.sep):  # a file of the job: relative, so the folder can move
                value = os.path.relpath(value, directory)
            exports.append(f"export {name}={shlex.quote(value)}\n")
        path = os.path.join(directory, "transform.sh")
        with open(path, "w", encoding="utf-8") as f:
            # run in the job's folder, wherever it is called from
            f.write('#!/bin/bash\ncd -- "$(dirname -- "${BASH_SOURCE[0]}")"\n' + "".join(exports) + script)
        os.chmod(path, 0o755)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory


def run_bash(tf_dict: dict[str, Any], resolve: Resolver, locate: Locator | None = None,
             workspace_root: str | None = None) -> Any:
    """The result of a bash transformation: the file or folder RESULT.

    Runs in a private temporary folder passed as the command's working
    directory (the reference changes the whole process's cwd and so runs one
    bash transformation at a time; here they run side by side)."""
    code = resolve(Checksum(tf_dict["code"][2])).get_value("text")
    output_celltype = tf_dict.get("__output__", ["result", "bytes", None])[1]
    if workspace_root is not None:
        os.makedirs(workspace_root, exist_ok=True)
    links = _Links()
    with tempfile.TemporaryDirectory(prefix="seamless-bash-transformer", dir=workspace_root) as workspace:
        variables, script = _prepare_bash(tf_dict, resolve, locate, workspace, links)
        env = {**os.environ, **variables}
        script_path = os.path.join(workspace, "transform.sh")
        with open(script_path, "w", encoding="utf-8") as f:
            f.write(script)
        links.settle(script_path)
        process = subprocess.Popen(["/bin/bash", "-c", script], cwd=workspace, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            stdout, stderr = _collect(process)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): the command goes too
            _kill_group(process)
            links.check()
            raise
        links.check()
        if process.returncode != 0:
            stdout += _partial_result(workspace)
            error = TransformationError(
                f"bash transformation failed with exit code {process.returncode}\ncommand:\n{code}\n"
                f"stdout:\n{stdout.decode(errors='replace')[-4000:]}\nstderr:\n{stderr.decode(errors='replace')[-4000:]}")
            # killed by signal N: 128 + N, as a shell reports it
            error.returncode = process.returncode if process.returncode > 0 else 128 - process.returncode
            error.stdout, error.stderr = stdout, stderr
            raise error
        result_path = os.path.join(workspace, "RESULT")
        if os.path.isdir(result_path):
            files = {}
            for root, _, names in os.walk(result_path):
                for filename in names:
                    path = os.path.join(root, filename)
                    with open(path, "rb") as f:
                        files[os.path.relpath(path, result_path)] = f.read()
            if not files:
                raise TransformationError("the RESULT folder is empty")
            return files
        if not os.path.exists(result_path):
            raise TransformationError(f"the command did not write RESULT\ncommand:\n{code}\n"
                                      f"stderr:\n{stderr.decode(errors='replace')[-2000:]}")
        with open(result_path, "rb") as f:
            data = f.read()
        if output_celltype in ("bytes", "folder", "deepfolder"):
            return data
        for parse in (lambda d: json.loads(d.decode()), lambda d: d.decode()):
            try:
                return parse(data)
            except (ValueError, UnicodeDecodeError):
                continue
        return data


def run(tf_dict: dict[str, Any], resolve: Resolver, locate: Locator | None = None,
        workspace_root: str | None = None) -> tuple[Buffer, list[Buffer]]:
    """Execute tf_dict: the result serialized with the output celltype, and
    for a deep result (a dict of checksums) the buffers of its leaves."""
    language = tf_dict.get("__language__", "python")
    output_celltype = tf_dict.get("__output__", ["result", "mixed", None])[1]
    if language == "python":
        value = run_python(tf_dict, resolve)
    elif language == "bash":
        value = run_bash(tf_dict, resolve, locate, workspace_root)
    else:
        raise TransformationError(f"language {language!r} is not supported (python, bash)")
    if output_celltype in ("deepcell", "deepfolder", "folder") and isinstance(value, dict):
        leaves = {k: Buffer(v if isinstance(v, bytes) else v, None if isinstance(v, bytes) else "mixed")
                  for k, v in value.items()}
        return Buffer({k: b.get_checksum().hex() for k, b in leaves.items()}, "plain"), list(leaves.values())
    if isinstance(value, Buffer):
        return value, []
    return Buffer(value, output_celltype), []
