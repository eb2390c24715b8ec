"""Choosing and binding the listening port.

The port is bound here, once, and the bound socket is handed to the HTTP
server: unlike a test-bind followed by a second bind (the reference's way),
no other process can take the port in between.
"""

from __future__ import annotations

import errno
import random
import socket

from .. import errormap
from ..exceptions import SeamlessError

#: With no port given, a random free port from this range (as the reference).
RANDOM_PORT_RANGE = (49152, 65535)
#: Errors of one port that the next port of a range may not have.
_NEXT_PORT = (errno.EADDRINUSE, errno.EACCES)


class PortError(SeamlessError, OSError):
    """No port could be bound."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_listening_socket(host: str, port: int | None = None,
                          port_range: tuple[int, int] | None = None) -> socket.socket:
    """A listening socket on host: on port, or on a random free port of
    port_range (default 49152-65535).

    Raises:
        PortError: the port is taken, no port of the range is free, or
            the host cannot be listened on at all (an unknown name, an
            address of no interface): that is said at once, not after
            trying every port of the range.
        ValueError: an invalid port or range.
    """
    if port is not None:
        if not 0 <= port <= 65535:
            raise ValueError(f"--port must be in 0..65535, not {port}")
        try:
            return _bind(host, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortError(f"{host} port {port} is already in use") from None
            raise PortError(f"cannot listen on {host} port {port}: {errormap.public_message(exc)}") from None
    start, end = port_range or RANDOM_PORT_RANGE
    if not (0 <= start <= 65535 and 0 <= end <= 65535 and start <= end):
        raise ValueError(f"--port-range must be two ports in 0..65535 with START <= END, not {start} {end}")
    candidates = list(range(start, end + 1))
    random.shuffle(candidates)
    for candidate in candidates[:2000]:
        try:
            return _bind(host, candidate)
        except OSError as exc:
            if exc.errno in _NEXT_PORT:
                continue
            raise PortError(f"cannot listen on {host}: {errormap.public_message(exc)}") from None
    raise PortError(f"No free port available in range {start}-{end}")
