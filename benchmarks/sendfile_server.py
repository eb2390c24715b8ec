"""A server that only sends one file from memory: the ceiling of a large GET.

Every connection gets the whole file (read into the page cache first) with
``sendfile``, after a fixed HTTP head, whatever it asked for; then the
connection is closed. No parsing, no store, no checks: what a client
receives from it is the most any server can send it on this machine.

    python benchmarks/sendfile_server.py FILE     # prints its loopback port, then serves

Ends on SIGTERM.
"""

from __future__ import annotations

import os
import socket
import sys


def serve(path: str) -> None:
    size = os.path.getsize(path)
    with open(path, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        print(listener.getsockname()[1], flush=True)
        while True:
            conn, _ = listener.accept()
            with conn, open(path, "rb") as f:
                conn.recv(65536)  # the request, whatever it is
                conn.sendall(head)
                offset = 0
                while offset < size:
                    offset += os.sendfile(conn.fileno(), f.fileno(), offset, size - offset)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sendfile_server.py FILE")
    serve(sys.argv[1])
