"""seamless-queue: run the jobs that ``seamless-run --qsubmit`` queued.

    seamless-run --qsubmit -cp out.txt 'sort in.txt > out.txt'    (queued)
    seamless-queue --workers 4 &                                   (runs them)
    seamless-queue-finish                                          (waits for all)

The queue file (``$SEAMLESS_QUEUE_FILE``, default ``./.seamless-queue``)
holds JSON records, each followed by a NUL byte; appends are guarded by
``<queue>.LOCK`` (created exclusively, broken after 30 s), as in the
reference. Unlike the reference, jobs run side by side up to ``--workers``
(default: the configured nparallel), each in its own folder, so none can
lose another's outputs, and a record still being written is never skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .common import run

LOCK_STALE = 30.0
POLL = 0.1


def queue_path() -> str:
    return os.path.abspath(os.environ.get("SEAMLESS_QUEUE_FILE", "").strip() or ".seamless-queue")


def _locked_append(path: str, record: dict[str, Any]) -> None:
    lock = path + ".LOCK"
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            break
        except FileExistsError:
            try:
                if time.time() - os.stat(lock).st_mtime > LOCK_STALE:
                    os.unlink(lock)  # its holder died
                    continue
            except FileNotFoundError:
                continue
            time.sleep(POLL)
    try:
        with open(path, "ab") as f:
            f.write(json.dumps(record, indent=2).encode() + b"\0")
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.unlink(lock)


def submit(job: dict[str, Any]) -> None:
    """Append a SUBMIT record (seamless-run --qsubmit)."""
    _locked_append(queue_path(), {"queue_command": "SUBMIT", **job})


def _records(path: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete records from offset on, and the offset after them (a
    record without its NUL yet is read next time)."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    records = []
    while True:
        end = data.find(b"\0")
        if end < 0:
            break
        records.append(json.loads(data[:end].decode()))
        offset += end + 1
        data = data[end + 1:]
    return records, offset


def _run_job(number: int, job: dict[str, Any], quiet: bool) -> bool:
    from ..checksum_class import Checksum
    from ..transformer.errors import TransformationError
    from ..transformer.runtime import get_runtime
    from .run.results import write_results

    params = job.get("params", {})
    if not quiet:
        print(f"Job {number}, run command:\n{job.get('original_command', '')}", flush=True)
    try:
        runtime = get_runtime()
        tf = Checksum(job["transformation_checksum"])
        result = runtime.compute(job["transformation_dict"], tf, scratch=params.get("scratch", False),
                                 require_value=not params.get("scratch", False))
        targets = [(name, local) for local, name in job["result_targets"].items()]
        write_results(targets, result, params["workdir"], download=params.get("download", True) and
                      not params.get("scratch", False), quiet=True, base=params.get("cwd", params["workdir"]))
    except (TransformationError, OSError, ValueError) as exc:
        print(f"*** Job {number}: EXCEPTION ***\n{exc}", flush=True)
        return False
    except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the queue
        print(f"*** Job {number}: EXCEPTION ***\n{type(exc).__name__}: {exc}", flush=True)
        return False
    if not quiet:
        print(f"*** Job {number}: {job.get('original_command', '')}, FINISHED ***", flush=True)
    return True


def _serve(args: argparse.Namespace) -> int:
    import warnings

    from .. import config
    from ..transformer import runtime  # noqa: F401 - imported here, not by several job threads at once
    from .run import results  # noqa: F401

    path = queue_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config.init_for_tool("seamless-queue")
    workers = args.workers or config.get_nparallel()
    while not os.path.exists(path):
        time.sleep(POLL)
    offset, number, failures = 0, 0, 0
    lock = threading.Lock()
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        finished = False
        while not finished:
            records, offset = _records(path, offset)
            for record in records:
                if record.get("queue_command") == "EOF":
                    finished = True
                    break
                number += 1
                futures.append(pool.submit(_run_job, number, record, args.quiet))
            if not finished:
                time.sleep(POLL)
        for future in futures:
            if not future.result():
                with lock:
                    failures += 1
    os.unlink(path)
    return 1 if failures else 0


def queue_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="seamless-queue", description="Run the jobs queued by seamless-run "
                                "--qsubmit, until seamless-queue-finish.")
    p.add_argument("--workers", type=int, help="jobs at once (default: the configured nparallel)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    args = p.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        p.error("--workers must be at least 1")
    return run(lambda: _serve(args), debug=args.debug)


def finish_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="seamless-queue-finish", description="Tell seamless-queue that no more "
                                "jobs come, and wait until it has run them all.")
    p.parse_args(argv)
    path = queue_path()
    _locked_append(path, {"queue_command": "EOF"})
    while os.path.exists(path):
        time.sleep(POLL)
    return 0


if __name__ == "__main__":
    sys.exit(queue_main())
