"""seamless-run [options] [--] COMMAND...

Runs a bash command as a transformation: files and folders named on the
command line become inputs (checksummed, uploaded only when the store lacks
them, streamed in bounded memory), outputs named by redirections or -cp
are captured, and the result is cached by the identity of the command and
its inputs, so the same command on the same inputs is never run twice.
The identity is the reference's (cli.md §2.3-2.7), byte for byte.

Differences from the reference: ``--`` ends the options (after it, or
after the first command word, everything is the command; a seamless-run
option found after the command is pointed out); the command's own exit
code is the exit code; existing output files are replaced together with
their sidecar; stdout is printed byte for byte; a missing upload is an
error; input redirections (``< file``) are inputs; with nothing
configured, the embedded store in ~/.cache/seamless is used.
"""

from __future__ import annotations

import argparse
import os
import sys

from ...exceptions import SeamlessError
from .. import common

OUR_OPTIONS = {"-cp", "--capture", "-i", "--input", "--var", "--metavar", "--scratch", "--dry", "--local",
               "-nd", "--no-download", "--prologue", "-y", "--yes"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-run", description="Run a bash command as a cached transformation.",
                                epilog="Options go before the command (or use -- before it).")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more messages (up to -vvv)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress")
    p.add_argument("--project", help="PROJECT[:SUBPROJECT] of the configuration")
    p.add_argument("--stage", help="STAGE[:SUBSTAGE] of the configuration")
    p.add_argument("-g1", dest="rule1", action="store_false", help="no rule 1: an argument with an extension "
                   "need not be an existing file")
    p.add_argument("-g2", dest="rule2", action="store_false", help="no rule 2: a later argument without an "
                   "extension may be an existing file")
    p.add_argument("-w", "--workdir", help="argument-typing folder (default: the current directory)")
    p.add_argument("-W", dest="root_workdir", action="store_true", help="argument-typing folder /")
    mapping = p.add_mutually_exclusive_group()
    mapping.add_argument("-ms", dest="mapping", action="store_const", const="strip", default="literal",
                         help="file mapping 'strip': inputs are named by their base name")
    mapping.add_argument("-mx", dest="mapping", action="store_const", const="extension",
                         help="file mapping 'extension': input files become file1.ext, file2.ext...")
    p.add_argument("-c", dest="literal", action="store_true", help="the single argument is the whole command")
    p.add_argument("-cp", "--capture", action="append", default=[], metavar="X[:Y]",
                   help="capture file or folder X (as local Y); ':Y' captures stdout as Y")
    p.add_argument("-i", "--input", action="append", default=[], metavar="PATH", help="an extra input")
    p.add_argument("-I", "--input-file", action="append", default=[], metavar="LIST",
                   help="a file listing extra inputs, one per line (relative to the list's folder)")
    p.add_argument("--metafile", action="append", default=[], metavar="FILE",
                   help="a file given to the command that is not part of the identity")
    p.add_argument("--conda", metavar="ENV", help="activate this conda environment first (not part of the identity)")
    p.add_argument("--docker", metavar="IMAGE", help="recorded in the environment (not part of the identity)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable that is part of the identity ($NAME and a file NAME)")
    p.add_argument("--metavar", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable that is not part of the identity ($NAME)")
    p.add_argument("--prologue", action="append", default=[], metavar="CMD", help="a command run before")
    p.add_argument("--primary", type=int, default=1, help="which command of a ';' list is argument-typed")
    p.add_argument("-y", "--yes", action="store_true", help="(accepted: uploads are never asked about)")
    p.add_argument("-n", "--no", action="store_true", help="refuse to upload anything the store lacks")
    p.add_argument("-nd", "--no-download", action="store_true", help="write only the .CHECKSUM/.INDEX sidecars")
    p.add_argument("--scratch", action="store_true", help="do not keep the result buffers (needs capture targets)")
    p.add_argument("--local", action="store_true", help="run here, whatever the execution mode says")
    p.add_argument("--dry", "--dry-run", dest="dry", action="store_true",
                   help="prepare (checksum inputs, build the transformation), run nothing")
    p.add_argument("-j", "--write-job", metavar="DIR", help="with --dry: write the job into DIR")
    p.add_argument("--upload", action="store_true", help="with --dry: upload the inputs too")
    p.add_argument("--write-remote-job", metavar="DIR",
                   help="with --dry (implies --upload): write the job as the executor would run it (its inputs "
                   "and transform.sh) into the new folder DIR, and run nothing")
    p.add_argument("--qsubmit", "--qsub", dest="qsubmit", action="store_true",
                   help="queue the job for seamless-queue instead of running it (needs capture targets)")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command")
    return p


class RunError(SeamlessError):
    """A command line or a situation seamless-run cannot work with (exit 1,
    one line, no traceback)."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        parser.print_usage(sys.stderr)
        sys.stderr.write("seamless-run: error: no command\n")
        return 2
    for word in words[1:]:
        if word in OUR_OPTIONS:
            sys.stderr.write(f"seamless-run: note: {word!r} comes after the command, so it is part of the command; "
                             "put seamless-run's options before the command\n")
            break
    if (args.write_job or args.upload or args.write_remote_job) and not args.dry:
        parser.error("-j/--write-job, --upload and --write-remote-job need --dry")
    if args.write_remote_job is not None:
        if not args.write_remote_job:
            parser.error("--write-remote-job needs a folder")
        args.upload = True
    if args.qsubmit and args.dry:
        parser.error("--qsubmit and --dry do not go together")
    if args.qsubmit and not args.capture and not _has_redirect(words):
        parser.error("--qsubmit needs capture targets (-cp or a redirection): a queued job cannot print to "
                     "the screen")
    if args.scratch and not args.capture and not _has_redirect(words):
        parser.error("--scratch needs a capture target (-cp or a redirection): the result must go somewhere")
    return common.run(lambda: _run(args, words), debug=args.debug)


def _has_redirect(words: list[str]) -> bool:
    return any(">" in w for w in words)


def _say(args: argparse.Namespace, level: int, text: str) -> None:
    if not args.quiet and args.verbose >= level:
        sys.stderr.write(f"seamless-run: {text}\n")


def _run(args: argparse.Namespace, words: list[str]) -> int:
    from ... import config
    from ...transformer.errors import TransformationError
    from .build import UsageError, build

    command = words[0] if args.literal and len(words) == 1 else " ".join(words)
    if args.literal and len(words) != 1:
        raise RunError("-c takes exactly one argument, the whole command")
    session = config.session.SESSION
    if args.project:
        project, _, sub = args.project.partition(":")
        config.select_project(project)
        if sub:
            config.select_subproject(sub)
    if args.stage:
        session.stage, _, substage = args.stage.partition(":")
        session.substage = substage or None
    if args.local:
        config.select_execution("process")
    workdir = "/" if args.root_workdir else os.path.abspath(args.workdir or os.getcwd())
    stores = None
    if not (args.dry and not args.upload):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            configuration = config.init_for_tool("seamless-run")
        stores = config.get_stores()
        if stores is None or stores.buffers is None:
            raise RunError(f"no buffer store ({configuration.execution} mode without persistence); configure "
                           "a cluster or set SEAMLESS_CACHE")
    _check_job_folders(args)  # before the inputs are hashed and stored
    try:
        from ..transfer import input_checksummer
        from .build import read_input_list

        checksum_file = input_checksummer(stores.buffers if stores else None, args.quiet)

        extra = list(args.input) + [p for f in args.input_file for p in read_input_list(f, workdir)]
        job = build(command, workdir=workdir, captures=args.capture, extra_inputs=extra,
                    variables=args.var, metavars=args.metavar, prologues=args.prologue, primary=args.primary,
                    rule1=args.rule1, rule2=args.rule2, checksum_file=checksum_file,
                    mapping=args.mapping, metafiles=args.metafile, conda=args.conda, docker=args.docker)
    except (UsageError, ValueError, OSError) as exc:
        raise RunError(str(exc)) from None
    if (args.qsubmit or args.scratch) and job.stdout_mode:
        raise RunError(f"{'--qsubmit' if args.qsubmit else '--scratch'} needs a capture target (-cp or an "
                       "output redirection of the last command): the result must go somewhere")
    if stores is None:
        return _dry(args, job)
    _upload(args, job, stores)
    if args.dry:
        from ...transformer.runtime import store_definition

        store_definition(job.tf_dict, job.buffers)  # so that the job can be run from its checksum
        return _dry(args, job)
    from ...transformer.runtime import get_runtime, store_definition

    tf = store_definition(job.tf_dict, job.buffers)
    _say(args, 3, f"transformation {tf.hex()}")
    if args.qsubmit:
        from ..queue import queue_path, submit

        submit({"original_command": "seamless-run " + " ".join(sys.argv[1:]),
                "transformation_checksum": tf.hex(), "transformation_dict": job.tf_dict,
                "result_targets": {local: name for name, local in job.targets},
                "params": {"undo": False, "scratch": args.scratch, "workdir": workdir, "cwd": os.getcwd(),
                           "download": not (args.no_download or args.scratch), "auto_confirm": args.yes,
                           "capture_stdout": any(name == "STDOUT" for name, _ in job.targets)}})
        _say(args, 1, f"queued in {queue_path()}")
        return 0
    from ..running import registered
    from .futures import Announcement

    announced = [os.path.join(workdir, local) for _, local in job.targets]
    try:
        with Announcement(announced, tf.hex(), [name for name, _ in job.targets]), registered(tf.hex()):
            result = get_runtime().compute(job.tf_dict, tf, scratch=args.scratch, require_value=not args.scratch)
            status = _results(args, job, result, workdir)
    except TransformationError as exc:
        if exc.returncode is not None:
            sys.stdout.buffer.write(exc.stdout)
            sys.stdout.flush()
            sys.stderr.buffer.write(exc.stderr)
            sys.stderr.write(f"seamless-run: the command failed with exit code {exc.returncode}\n")
            sys.stderr.flush()
            return exc.returncode
        raise RunError(f"the transformation failed:\n{exc}") from None
    return status


def _dry(args: argparse.Namespace, job) -> int:
    from ...buffer_class import Buffer
    from ...transformer.identity import dunder_envelope, identity_buffer

    identity = identity_buffer(job.tf_dict)
    if args.write_job:
        os.makedirs(args.write_job)  # checked by _check_job_folders
        if args.upload:
            with open(os.path.join(args.write_job, "transformation.json.CHECKSUM"), "w") as f:
                f.write(identity.get_checksum().hex())
        else:
            with open(os.path.join(args.write_job, "transformation.json"), "wb") as f:
                f.write(identity.content)
            with open(os.path.join(args.write_job, "command.txt"), "wb") as f:
                f.write(Buffer(job.code, "text").content)
        # The META__ pins go with the envelope: they are not in the identity,
        # and a replay needs them (the reference loses them here).
        envelope = {**dunder_envelope(job.tf_dict),
                    **{k: v for k, v in job.tf_dict.items() if k.startswith("META__")}}
        if envelope:
            with open(os.path.join(args.write_job, "dunder.json"), "wb") as f:
                f.write(Buffer(envelope, "plain").content)
    if args.write_remote_job:
        return _write_remote_job(args, job)
    if args.write_job or args.upload or args.verbose >= 3:
        print(identity.get_checksum().hex())
    return 0


def _check_job_folders(args: argparse.Namespace) -> None:
    """Refuse what would fail after the upload (which may be gigabytes)."""
    from ...transformer.runtime import execution_mode

    for folder in (args.write_job, args.write_remote_job):
        if not folder:
            continue
        if os.path.lexists(folder):
            raise RunError(f"{folder} exists already")
        parent = os.path.dirname(os.path.abspath(os.path.expanduser(folder)))
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
            raise RunError(f"cannot create {folder}: {parent} is not a folder this user can write to")
    if args.write_remote_job and execution_mode() == "remote" and not args.local:
        raise RunError("--write-remote-job: execution 'remote' has no backend in this version; with "
                       "'execution: process' or 'spawn' (or --local) the job folder is written on this machine")


def _write_remote_job(args: argparse.Namespace, job) -> int:
    """--write-remote-job: the executor writes the job folder instead of
    running the command. The executor of execution 'process' and 'spawn' is
    this machine, so the folder is written here (as the reference's
    in-process executor does); 'remote' has no backend in this version.
    Nothing goes to the database."""
    from ...transformer import execute
    from ...transformer.errors import TransformationError
    from ...transformer.runtime import get_runtime, store_path

    try:
        directory = execute.write_bash_job(job.tf_dict, get_runtime().resolve, store_path, args.write_remote_job)
    except TransformationError as exc:
        raise RunError(str(exc)) from None
    print(f"Job written to {directory} (run {os.path.join(directory, 'transform.sh')}: it works in that "
          "folder and leaves RESULT there)")
    return 0


def _upload(args: argparse.Namespace, job, stores) -> None:
    """Put into the buffer store what it lacks: the inputs' files (streamed),
    folder indexes, the small buffers; then check that all arrived."""
    from ...checksum.directory import index_buffer
    from ...checksum_class import Checksum
    from ..transfer import upload

    files: dict[Checksum, str] = {}
    small: list[bytes] = [b.content for b in job.buffers]
    for item in job.inputs:
        if item.kind == "directory":
            for key, path in item.files.items():
                files.setdefault(Checksum(item.index[key]), path)
            small.append(index_buffer(item.index))
        elif os.path.exists(item.path):
            files.setdefault(item.checksum, item.path)
    upload(stores.buffers, files, small, quiet=args.quiet, refuse=args.no,
           say=lambda text: _say(args, 1, text), source_kept=True)


def _results(args: argparse.Namespace, job, result, workdir: str) -> int:
    from ...transformer.runtime import get_runtime
    from .results import write_results

    if job.stdout_mode:
        sys.stdout.buffer.write(get_runtime().fingertip(result).content)
        sys.stdout.flush()
        return 0
    return write_results(job.targets, result, workdir, download=not (args.no_download or args.scratch),
                         quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
