"""Hand-rolled VoltDB wire frames for the bad-input tests.

The well-behaved tests use the real client (``voltdbclient`` / ``voltclient``). The bad-input
tests need to send what that client never sends -- garbage, truncated frames, absurd lengths,
requests nobody reads the answers to -- so they speak the protocol over a plain ``socket``.
Layouts follow docs/PROTOCOL.md: §1 framing, §2.2 login, §3 invocations,
§4.1 responses. Responses are decoded with the client's own ``VoltResponse`` so a test sees
exactly what a Python application would.
"""

import hashlib
import socket
import struct
import time

from voltdbclient import FastSerializer, VoltResponse

# Parameter type codes (§1.3).
NULL, TINYINT, SMALLINT, INTEGER, BIGINT = 1, 3, 4, 5, 6
FLOAT, STRING, VARBINARY = 8, 9, 25
ARRAY = 0x9D

PING_HANDLE = 2 ** 63 - 1


def frame(body):
    """A frame: int32 big-endian body length, then the body (§1.1)."""
    return struct.pack(">i", len(body)) + body


def _string(s):
    b = s.encode("utf-8")
    return struct.pack(">i", len(b)) + b


def login_frame(username="", password=""):
    """Version 1, SHA-256 login to the "database" service, as the Python client sends it (§2.2)."""
    body = b"\x01\x01" + _string("database") + _string(username)
    body += hashlib.sha256(password.encode("utf-8")).digest()
    return frame(body)


def param(type_code, value):
    """One scalar parameter: the type byte, then the value encoded as §1.3 says."""
    if type_code == NULL:
        return b"\x01"
    if type_code == TINYINT:
        return struct.pack(">bb", TINYINT, value)
    if type_code == SMALLINT:
        return struct.pack(">bh", SMALLINT, value)
    if type_code == INTEGER:
        return struct.pack(">bi", INTEGER, value)
    if type_code == BIGINT:
        return struct.pack(">bq", BIGINT, value)
    if type_code == FLOAT:
        return struct.pack(">bd", FLOAT, value)
    if type_code == STRING:
        return bytes([STRING]) + _string(value)
    if type_code == VARBINARY:
        return bytes([VARBINARY]) + struct.pack(">i", len(value)) + bytes(value)
    raise ValueError("no encoder for type %r" % type_code)


def invocation_body(proc, handle, params=(), raw_params=None):
    """A version-0 invocation body (§3.1). ``params`` is a list of (type, value); ``raw_params``
    replaces the encoded parameter section (count included) when a test needs bytes the encoder
    would never produce."""
    body = b"\x00" + _string(proc) + struct.pack(">q", handle)
    if raw_params is not None:
        return body + raw_params
    body += struct.pack(">h", len(params))
    for t, v in params:
        body += param(t, v)
    return body


def invocation(proc, handle, params=(), raw_params=None):
    return frame(invocation_body(proc, handle, params, raw_params))


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


def recv_exact(sock, n, deadline):
    """Exactly ``n`` bytes, or ``Closed`` on EOF/reset, or ``TimeoutError`` at ``deadline``."""
    chunks = []
    while n > 0:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete reply from the server in time")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(n, 1 << 20))
        except socket.timeout:
            raise TimeoutError("no complete reply from the server in time") from None
        except (ConnectionResetError, BrokenPipeError):
            raise Closed() from None
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(sock, timeout=10.0):
    """The next frame's body (without its length prefix)."""
    deadline = time.monotonic() + timeout
    (length,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    assert 0 <= length < 64 * 1024 * 1024, "server sent an absurd frame length %d" % length
    return recv_exact(sock, length, deadline)


def parse_response(body):
    """A response body decoded by the real client's parser (``VoltResponse``)."""
    return VoltResponse._from_body(FastSerializer(), body)


def parse_login_response(body):
    """(status, host_id) of a login reply (§2.3); host_id is None for a failure reply."""
    status = struct.unpack(">b", body[1:2])[0]
    if status != 0:
        return status, None
    return status, struct.unpack(">i", body[2:6])[0]


def connect(port, timeout=10.0):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def login(port, timeout=10.0):
    """A connected, logged-in raw socket."""
    sock = connect(port, timeout)
    try:
        sock.sendall(login_frame())
        status, _ = parse_login_response(read_frame(sock, timeout))
        assert status == 0, "login refused with status %d" % status
    except BaseException:
        sock.close()
        raise
    return sock


def call(sock, proc, handle, params=(), timeout=10.0):
    """Send one invocation and return its decoded response (checks the handle is echoed)."""
    sock.sendall(invocation(proc, handle, params))
    response = parse_response(read_frame(sock, timeout))
    assert response.clientHandle == handle, \
        "response handle %r does not echo request handle %r" % (response.clientHandle, handle)
    return response


def wait_closed(sock, timeout):
    """True if the server closes ``sock`` within ``timeout`` seconds; any frames it sends before
    closing are returned in the second element so the caller can check them."""
    deadline = time.monotonic() + timeout
    received = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, received
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return False, received
        except (ConnectionResetError, BrokenPipeError):
            return True, received
        if not chunk:
            return True, received
        received += chunk
