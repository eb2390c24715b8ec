"""Moving files into and out of the buffer store, for every tool.

``upload`` asks the store which buffers it lacks (one batched call), puts
only those, streamed from their files in bounded memory with a progress
line on a terminal, then asks again: a buffer that did not arrive is an
error, never a silent loss. ``download`` writes a buffer to a file through a
temporary name, so the file is either the old or the new content.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ..checksum_class import Checksum
from ..exceptions import SeamlessError
from .common import Progress, human_bytes

#: Transfers smaller than this show no progress line.
PROGRESS_MIN = 200 * 1000 * 1000


class TransferError(SeamlessError):
    """Buffers that could not be stored or fetched."""


def input_checksummer(buffers: Any = None, quiet: bool = False) -> Callable[[str], str]:
    """path -> checksum (hex) of input files, remembered (an unchanged file
    is not hashed again: same size, mtime, ctime, inode and device, as git
    decides; files changed within two seconds of being recorded are checked
    by content). Given a writable store in this process, a file that must
    be hashed is stored at the same time (one pass: hash while copying)."""
    from ..checksum.calculate_checksum import calculate_file_checksum
    from ..checksum.fingerprint import FileChecksumCache, default_cache_path

    try:
        cache = FileChecksumCache(default_cache_path(), verify="stat")
    except (OSError, ImportError):
        return calculate_file_checksum

    def reporting(verb: str, path: str) -> tuple[Progress, Callable[[int, int], None] | None]:
        """A progress line for a large file (shown only if it gets updates:
        not when the checksum is remembered)."""
        line = Progress(f"{verb} {os.path.basename(path)}", quiet=quiet or os.path.getsize(path) < PROGRESS_MIN)
        if not line.enabled:
            return line, None
        return line, line.report_bytes

    if buffers is None or buffers.transport != "local" or not buffers.store.writable:
        def hashed(path: str) -> str:
            line, report = reporting("hash", path)
            try:
                return cache.checksum(path, progress=report)
            finally:
                line.done()

        return hashed

    def store(path: str) -> str:
        line, report = reporting("store", path)
        try:
            return buffers.put_file(path, progress=report, source_kept=True).hex()
        finally:
            line.done()

    return lambda path: cache.checksum(path, hasher=store)


def upload(buffers: Any, files: dict[Checksum, str], small: list[bytes] = (), *, quiet: bool = False,
           refuse: bool = False, say: Callable[[str], None] | None = None,
           source_kept: bool = False) -> tuple[int, int]:
    """Store what the store lacks of files (checksum -> path) and small
    buffers; (files uploaded, bytes uploaded).

    In a store on this machine, a stored buffer whose length differs from
    its (uncompressed) file's size counts as missing: a copy that a power
    loss truncated (in a store that does not sync) is stored again,
    atomically. A server is only asked which ones it has.
    ``source_kept``: the files stay where they are (not --move).
    """
    wanted = list(files)
    if not wanted:
        missing = []
    elif buffers.transport == "local":
        missing = [cs for cs, length in zip(wanted, buffers.lengths(wanted)) if not _stored_whole(files[cs], length)]
    else:
        missing = [cs for cs, present in zip(wanted, buffers.has(wanted)) if not present]
    if missing and refuse:
        raise TransferError(f"{len(missing)} buffers are missing from the store, and uploads were refused (-n)")
    total = sum(os.path.getsize(files[cs]) for cs in missing)
    if missing and say is not None:
        say(f"upload {len(missing)} files, {human_bytes(total)} ({len(wanted) - len(missing)} already stored)")
    progress = Progress("upload", quiet=quiet or total < PROGRESS_MIN)
    done = 0
    for cs in missing:
        path = files[cs]
        size = os.path.getsize(path)

        def update(sent: int, _total: int, base: int = done) -> None:
            progress.report_bytes(base + sent, total)

        report = update if progress.enabled else None  # no reports: the fastest way in
        if path.endswith((".gz", ".zst")):
            stored = _put_decompressed(buffers, path, report)
        else:
            stored = buffers.put_file(path, progress=report, source_kept=source_kept)
        if stored != cs:
            raise TransferError(f"{path} changed while it was uploaded")
        done += size
    progress.done()
    if small:
        buffers.put_many(list(small))
    if missing:
        still = [cs for cs, ok in zip(missing, buffers.has(missing)) if not ok]
        if still:
            raise TransferError(f"{len(still)} buffers could not be stored (first: {files[still[0]]})")
    return len(missing), total


def _stored_whole(path: str, length: int | None) -> bool:
    """Whether a stored length (None: absent) is that of the file's content."""
    if length is None:
        return False
    if path.endswith((".gz", ".zst")):
        # the content's size is not known without decompressing (such files
        # are stored through a temporary file, with the store's durability)
        return True
    try:
        return os.path.getsize(path) == length
    except OSError:
        return True  # gone meanwhile: nothing to store it from


def _put_decompressed(buffers: Any, path: str, report: Any) -> Checksum:
    """Store the content of a compressed file, decompressed through a
    temporary file (bounded memory, like any other upload)."""
    import shutil
    import tempfile

    from ..checksum.compression import open_decompressed, strip_compression_suffix

    with tempfile.NamedTemporaryFile(prefix="seamless-upload-", suffix=".part") as tmp:
        with open_decompressed(path, strip_compression_suffix(path)[1]) as source:
            shutil.copyfileobj(source, tmp, 1 << 20)
        tmp.flush()
        return buffers.put_file(tmp.name, progress=report)


def download(buffers: Any, checksum: Checksum, path: str, fallback: Callable[[Checksum], bytes] | None = None,
             quiet: bool = False) -> None:
    """The buffer into path, replacing what was there (with a progress line
    on a terminal for large buffers)."""
    from ..exceptions import CacheMissError

    line = Progress(f"download {os.path.basename(path)}", quiet=quiet)

    def progress(done: int, total: int) -> None:
        if max(done, total) >= PROGRESS_MIN:
            line.update(human_bytes(done) + (f" of {human_bytes(total)}" if total else ""))

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.seamless-download")
    try:
        try:
            buffers.get_to_file(checksum, tmp, progress=progress)
        except CacheMissError:
            if fallback is None:
                raise
            with open(tmp, "wb") as f:
                f.write(fallback(checksum))
        os.replace(tmp, path)
        line.done()
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
