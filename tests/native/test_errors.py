"""Bad input raises the same documented exception, with the same message,
from the native backend and from its fallback twin."""

from __future__ import annotations

import os

import pytest

from seamless.exceptions import FileChangedError, SeamlessError, UnsupportedAlgorithmError
from support import BACKEND_MODULES


def _outcome(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - we compare whatever is raised
        return type(exc), str(exc)
    return None, None


def _same_everywhere(call):
    """Run call(backend) on every backend; all must raise alike. Returns it."""
    outcomes = {_outcome(lambda b=b: call(b)) for b in BACKEND_MODULES}
    assert len(outcomes) == 1, outcomes
    kind, message = outcomes.pop()
    assert kind is not None, "expected an exception"
    return kind, message


class TestAlgorithms:
    @pytest.mark.parametrize("name", ["md5", "SHA-1", "", None, 3])
    def test_unknown_algorithm(self, name):
        """An unknown algorithm is an UnsupportedAlgorithmError naming it."""
        kind, message = _same_everywhere(lambda b: b.hash(b"x", name))
        assert issubclass(kind, UnsupportedAlgorithmError)
        assert issubclass(kind, ValueError) and issubclass(kind, SeamlessError)
        assert repr(name) in message

    def test_aliases(self, backend):
        """sha256 and SHA-256 name the same algorithm."""
        assert backend.hash(b"a", "sha256") == backend.hash(b"a", "SHA-256")

    def test_unknown_kernel(self, backend):
        """Forcing a kernel that does not exist is refused."""
        with pytest.raises(UnsupportedAlgorithmError, match="no-such-kernel"):
            backend.set_sha256_kernel("no-such-kernel")


class TestData:
    @pytest.mark.parametrize("value", [5, "text", None, [b"a"], 1.5])
    def test_not_bytes_like(self, value):
        """Non-bytes input is a TypeError naming its type."""
        kind, message = _same_everywhere(lambda b: b.hash(value))
        assert kind is TypeError and type(value).__name__ in message

    def test_not_bytes_like_in_streaming_and_batch(self):
        """The same check guards Hasher.update, batches and fingerprints."""
        assert _same_everywhere(lambda b: b.Hasher().update("s"))[0] is TypeError
        assert _same_everywhere(lambda b: b.hash_batch([b"a", 7]))[0] is TypeError
        assert _same_everywhere(lambda b: b.fingerprint(7))[0] is TypeError

    def test_strided_views_are_hashed_in_c_order(self, backend):
        """A non-contiguous view hashes as its tobytes()."""
        view = memoryview(bytes(range(100)))[::3]
        assert backend.hash(view) == backend.hash(view.tobytes())

    def test_sizes_of_bytes_like_objects(self):
        """nbytes (the store's size check before a large put) counts bytes,
        not items, and refuses what contiguous() refuses, alike."""
        import numpy as np

        from seamless._native import _args

        assert _args.nbytes(b"abc") == 3 and _args.nbytes(bytearray(5)) == 5
        assert _args.nbytes(np.arange(10, dtype=np.float64)) == 80
        assert _args.nbytes(memoryview(bytes(100))[::3]) == 34
        with pytest.raises(TypeError) as by_size:
            _args.nbytes("text")
        with pytest.raises(TypeError) as by_buffer:
            _args.contiguous("text")
        assert str(by_size.value) == str(by_buffer.value) and "str" in str(by_size.value)

    @pytest.mark.parametrize("threads,kind", [(-1, ValueError), ("2", TypeError), (True, TypeError)])
    def test_bad_thread_count(self, threads, kind):
        """A negative or non-int thread count is refused."""
        assert _same_everywhere(lambda b: b.hash_batch([b"a"], threads=threads))[0] is kind

    def test_digest_list_length(self):
        """hex_digests refuses a length that is not a multiple of 32."""
        kind, message = _same_everywhere(lambda b: b.hex_digests(b"x" * 33))
        assert kind is ValueError and "33" in message


class TestFiles:
    def test_missing_file(self, tmp_path):
        """A missing file is the FileNotFoundError open() would raise."""
        path = str(tmp_path / "missing")
        for call in (lambda b: b.hash_file(path), lambda b: b.fingerprint_file(path),
                     lambda b: b.hash_files([path])):
            kind, message = _same_everywhere(call)
            assert kind is FileNotFoundError and path in message

    def test_directory(self, tmp_path):
        """A directory where a file is expected is an IsADirectoryError."""
        for call in (lambda b: b.hash_file(tmp_path), lambda b: b.fingerprint_file(tmp_path)):
            kind, message = _same_everywhere(call)
            assert kind is IsADirectoryError and str(tmp_path) in message

    def test_first_failure_of_many(self, tmp_path):
        """hash_files reports the first failing file in input order."""
        good = tmp_path / "good"
        good.write_bytes(b"x")
        paths = [good, tmp_path / "a-missing", tmp_path]
        kind, message = _same_everywhere(lambda b: b.hash_files(paths))
        assert kind is FileNotFoundError and "a-missing" in message

    def test_unreadable_file(self, tmp_path):
        """A file without read permission is a PermissionError."""
        if os.geteuid() == 0:
            pytest.skip("root reads every file")
        path = tmp_path / "secret"
        path.write_bytes(b"x")
        path.chmod(0)
        assert _same_everywhere(lambda b: b.hash_file(path))[0] is PermissionError

    @pytest.mark.parametrize("path,kind", [(3.5, TypeError), ("a\0b", ValueError), (b"a\0b", ValueError)])
    def test_bad_paths(self, path, kind):
        """Paths that are not paths, or hold NUL bytes, are refused up front."""
        assert _same_everywhere(lambda b: b.hash_file(path))[0] is kind

    def test_bytes_and_pathlike_paths(self, backend, tmp_path):
        """str, bytes and os.PathLike paths all work."""
        path = tmp_path / "f"
        path.write_bytes(b"abc")
        assert backend.hash_file(path) == backend.hash_file(str(path)) == backend.hash_file(bytes(path))

    def test_file_changed_error_is_oserror(self):
        """FileChangedError can be caught as OSError."""
        assert issubclass(FileChangedError, OSError) and issubclass(FileChangedError, SeamlessError)
