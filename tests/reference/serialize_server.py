"""Serialize values with the *reference* implementation, on request.

Not a test: tests/checksum/test_against_reference.py starts this script with
the interpreter of the separate virtualenv in which the reference
(``seamless-core``, import name ``seamless``) is installed, and compares its
buffers with ours.

Protocol, over stdin/stdout, until EOF on stdin: frames of an 8-byte
little-endian length followed by that many bytes of pickle.

* request: ``(celltype, value)``
* response: ``("ok", buffer_bytes)`` or
  ``("error", exception_type_name, message)``

Nothing else is written to stdout (anything the reference prints goes to
stderr). The script refuses to run if it imports this project's own
``seamless`` package instead of the reference.
"""

import os
import pickle
import struct
import sys

PROJECT_ROOT = os.path.realpath(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)


def _import_reference_buffer():
    """The reference's Buffer class, never the project's."""
    sys.path[:] = [
        p for p in sys.path if os.path.realpath(p or os.getcwd()) != PROJECT_ROOT
    ]
    import seamless

    location = os.path.realpath(os.path.dirname(seamless.__file__))
    # The reference may live in a virtualenv inside the project folder, so
    # only the project's own package folder is refused.
    if location == os.path.join(PROJECT_ROOT, "seamless"):
        sys.exit(
            "serialize_server.py: imported the project's own 'seamless' from "
            f"{location}, not the reference; run it with the reference interpreter"
        )
    from seamless import Buffer

    return Buffer


def _read_exactly(stream, size):
    """size bytes from stream, or None at a clean EOF before the first byte."""
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            if data:
                raise EOFError("truncated frame")
            return None
        data += chunk
    return data


def _write_frame(stream, obj):
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def main():
    """Answer serialization requests until stdin is closed."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # keep stray prints out of the protocol stream
    Buffer = _import_reference_buffer()
    while True:
        header = _read_exactly(stdin, 8)
        if header is None:
            return
        (size,) = struct.unpack("<Q", header)
        payload = _read_exactly(stdin, size) if size else b""
        if payload is None:
            raise EOFError("truncated frame")
        celltype, value = pickle.loads(payload)
        try:
            response = ("ok", bytes(Buffer(value, celltype).content))
        except Exception as exc:  # noqa: BLE001 - reported to the client
            response = ("error", type(exc).__name__, str(exc))
        _write_frame(stdout, response)


if __name__ == "__main__":
    main()
