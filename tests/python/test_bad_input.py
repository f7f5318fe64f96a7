"""Bad input over raw sockets: whatever one connection sends, the server keeps serving everyone
else and loses nothing. Every test ends by checking that the baseline rows loaded at the start of
the module are all still there (`assert_nothing_lost`) and conftest checks the process is alive.
"""

import socket
import struct
import threading
import time

import pytest
from voltclient import VoltBulkLoader, VoltClient, VoltTimeoutError, VoltType

import voltwire as w
from support import (GRACEFUL_FAILURE, INTEGER, STRING, SUCCESS, UNEXPECTED_FAILURE, VARBINARY,
                     connect_legacy, describe, legacy_call, legacy_scalar, ok, scalar)

BASELINE_KV = 1000
BASELINE_REGIONS = 10
CLOSE_WITHIN_S = 10.0
# Tests/Fixtures/wire-vectors.json, invocations.empty_array_quirk: EmptyArr(INTEGER[] []),
# handle 11, exactly as the client serializes it.
EMPTY_ARRAY_QUIRK_HEX = "000000190000000008456d707479417272000000000000000b00019d05"
EMPTY_ARRAY_QUIRK_HANDLE = 11


@pytest.fixture(scope="module")
def baseline(server):
    """Rows every test checks afterwards: 1,000 partitioned KV rows, 10 replicated REGIONS rows."""
    fser = connect_legacy(server)
    try:
        for i in range(BASELINE_KV):
            ok(legacy_call(fser, "KV.insert", [STRING, VARBINARY], ["base-%04d" % i, b"%d" % i]))
        for i in range(BASELINE_REGIONS):
            ok(legacy_call(fser, "REGIONS.insert", [INTEGER, STRING], [i, "region-%d" % i]))
    finally:
        fser.close()
    return server


def assert_nothing_lost(server):
    """A new connection is served, and the baseline rows are intact."""
    assert server.alive(), "server died:\n" + server.log_tail()
    fser = connect_legacy(server)
    try:
        ok(legacy_call(fser, "@Ping", [], []))
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM KV WHERE K LIKE 'base-%'") == BASELINE_KV
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM REGIONS WHERE ID < %d"
                             % BASELINE_REGIONS) == BASELINE_REGIONS
        rows = ok(legacy_call(fser, "KV_GET", [STRING], ["base-0999"])).tables[0].tuples
        assert [bytes(rows[0][0])] == [b"999"]
    finally:
        fser.close()


def assert_closed_or_refused(sock, what):
    """The server must close a connection that broke the protocol, and anything it sent first
    must be a refusal (a login failure or an error response), never a success."""
    closed, received = w.wait_closed(sock, CLOSE_WITHIN_S)
    assert closed, "%s: the connection is still open after %d s" % (what, CLOSE_WITHIN_S)
    if len(received) >= 6:
        (length,) = struct.unpack(">i", received[:4])
        body = received[4:4 + length]
        if length == 2:  # login failure: version, status
            assert struct.unpack(">b", body[1:2])[0] != 0, "%s: login accepted" % what
        elif len(body) == length and length > 11:
            response = w.parse_response(body)
            assert response.status != SUCCESS, "%s: answered with success" % what


# -- garbage ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("garbage", [
    pytest.param(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id="http-request"),
    pytest.param(w.frame(bytes((i * 37 + 11) % 256 for i in range(64))), id="framed-junk-login"),
    pytest.param(b"\xff\xff\xff\xfe" + b"\x00" * 16, id="negative-length"),
    pytest.param(w.frame(b"\x01\x07" + b"\x00" * 40), id="unknown-hash-scheme"),
])
def test_garbage_instead_of_a_login(baseline, garbage):
    with w.connect(baseline.client_port) as sock:
        sock.sendall(garbage)
        assert_closed_or_refused(sock, "garbage login")
    assert_nothing_lost(baseline)


@pytest.mark.parametrize("body", [
    pytest.param(b"\x55" + bytes(range(100)), id="unknown-version"),
    pytest.param(b"\x00\x7f\xff\xff\xff", id="name-length-past-the-frame"),
    pytest.param(b"", id="empty-frame"),
])
def test_garbage_frame_after_login(baseline, body):
    """A frame that cannot even yield a handle: the server closes that connection
    (docs/PROTOCOL.md §5.13)."""
    with w.login(baseline.client_port) as sock:
        sock.sendall(w.frame(body))
        assert_closed_or_refused(sock, "garbage invocation")
    assert_nothing_lost(baseline)


def test_truncated_parameters_get_an_error_for_their_handle(baseline):
    """The handle parsed, the parameters did not: an error reply for that handle, nothing applied,
    and the connection goes on serving."""
    raw = struct.pack(">h", 2) + w.param(w.STRING, "cut-params")  # says 2 parameters, carries 1
    with w.login(baseline.client_port) as sock:
        sock.sendall(w.invocation("KV.insert", 77, raw_params=raw))
        try:
            response = w.parse_response(w.read_frame(sock))
        except w.Closed:
            response = None  # closing is acceptable too; then check a fresh connection below
        if response is not None:
            assert response.clientHandle == 77
            assert response.status in (GRACEFUL_FAILURE, UNEXPECTED_FAILURE), describe(response)
            assert response.statusString
            ok(w.call(sock, "@Ping", 78))
    fser = connect_legacy(baseline)
    try:
        assert ok(legacy_call(fser, "KV_GET", [STRING], ["cut-params"])).tables[0].tuples == []
    finally:
        fser.close()
    assert_nothing_lost(baseline)


# -- absurd lengths and cut frames -------------------------------------------------------------

@pytest.mark.parametrize("logged_in", [False, True], ids=["before-login", "after-login"])
def test_two_gigabyte_length_prefix(baseline, logged_in):
    rss_before = baseline.rss_kib()
    sock = w.login(baseline.client_port) if logged_in else w.connect(baseline.client_port)
    with sock:
        sock.sendall(struct.pack(">i", 2 ** 31 - 1) + b"\x00" * 1024)
        assert_closed_or_refused(sock, "2 GB frame")
    grown_mib = (baseline.rss_kib() - rss_before) / 1024
    assert grown_mib < 256, "RSS grew by %.0f MiB after a 2 GB length prefix" % grown_mib
    assert_nothing_lost(baseline)


@pytest.mark.parametrize("cut", ["in-length-prefix", "mid-body", "one-byte-short"])
def test_frame_cut_then_socket_closed(baseline, cut):
    key = "cut-%s" % cut
    frame = w.invocation("KV.insert", 5, [(w.STRING, key), (w.VARBINARY, b"partial")])
    keep = {"in-length-prefix": 2, "mid-body": len(frame) // 2, "one-byte-short": len(frame) - 1}[cut]
    with w.login(baseline.client_port) as sock:
        sock.sendall(frame[:keep])
    # The half-sent insert never happened, and a new client is served.
    fser = connect_legacy(baseline)
    try:
        assert ok(legacy_call(fser, "KV_GET", [STRING], [key])).tables[0].tuples == []
    finally:
        fser.close()
    assert_nothing_lost(baseline)


def test_pipelined_and_split_frames(baseline):
    """Many frames in one send, and one frame dribbled a byte at a time (§1.1)."""
    with w.login(baseline.client_port) as sock:
        frames = b"".join(w.invocation("KV.insert", 1000 + i, [(w.STRING, "pipe-%03d" % i),
                                                               (w.VARBINARY, b"p")])
                          for i in range(200))
        sock.sendall(frames)
        handles = set()
        for _ in range(200):
            response = w.parse_response(w.read_frame(sock))
            ok(response)
            handles.add(response.clientHandle)
        assert handles == set(range(1000, 1200))
        one = w.invocation("KV_GET", 4242, [(w.STRING, "pipe-007")])
        for i in range(len(one)):
            sock.sendall(one[i:i + 1])
        response = w.parse_response(w.read_frame(sock))
        assert response.clientHandle == 4242
        assert [bytes(r[0]) for r in ok(response).tables[0].tuples] == [b"p"]
    assert_nothing_lost(baseline)


# -- well-formed requests the server must refuse ---------------------------------------------------

def test_unknown_procedure(baseline):
    fser = connect_legacy(baseline)
    try:
        response = legacy_call(fser, "NoSuchProc", [INTEGER], [1])
        assert response.status == UNEXPECTED_FAILURE, describe(response)
        assert "NoSuchProc" in response.statusString and "not found" in response.statusString, \
            describe(response)
    finally:
        fser.close()
    with w.login(baseline.client_port) as sock:  # and the handle is echoed
        response = w.call(sock, "AlsoMissing", 991, [(w.INTEGER, 1)])
        assert response.status == UNEXPECTED_FAILURE, describe(response)
        assert "AlsoMissing" in response.statusString
    assert_nothing_lost(baseline)


@pytest.mark.parametrize("proc,types,params", [
    pytest.param("KV.insert", [STRING], ["arity-1"], id="too-few"),
    pytest.param("KV.insert", [STRING, VARBINARY, INTEGER], ["arity-2", b"x", 3], id="too-many"),
    pytest.param("HelloSelect", [], [], id="none-for-one"),
    pytest.param("KV_GET", [STRING, STRING], ["a", "b"], id="user-proc-too-many"),
])
def test_wrong_parameter_count(baseline, proc, types, params):
    fser = connect_legacy(baseline)
    try:
        response = legacy_call(fser, proc, types, params)
        assert response.status == GRACEFUL_FAILURE, describe(response)
        assert response.statusString, "refused without a message"
        ok(legacy_call(fser, "@Ping", [], []))  # the connection is still good
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM KV WHERE K LIKE 'arity-%'") == 0
    finally:
        fser.close()
    assert_nothing_lost(baseline)


@pytest.mark.parametrize("types,params", [
    pytest.param([STRING, STRING], ["not-a-number", "x"], id="string-for-integer"),
    pytest.param([VARBINARY, STRING], [b"\x01\x02\x03\x04\x05", "x"], id="varbinary-for-integer"),
    pytest.param([VoltType.BIGINT, STRING], [2 ** 40, "x"], id="bigint-out-of-integer-range"),
    pytest.param([INTEGER, INTEGER], [2_000_001, 7], id="integer-for-varchar-ok-or-refused"),
])
def test_wrong_parameter_types(baseline, types, params):
    fser = connect_legacy(baseline)
    try:
        response = legacy_call(fser, "PCOUNT.insert", types, params)
        if params[1] == 7:
            # Java converts a number to VARCHAR; either that or a clean refusal is acceptable.
            assert response.status in (SUCCESS, GRACEFUL_FAILURE), describe(response)
        else:
            assert response.status == GRACEFUL_FAILURE, describe(response)
            assert response.statusString, "refused without a message"
            assert legacy_scalar(fser, "SELECT COUNT(*) FROM PCOUNT WHERE NOTE = 'x'") == 0
        ok(legacy_call(fser, "@Ping", [], []))
    finally:
        fser.close()
    assert_nothing_lost(baseline)


def test_empty_array_quirk(baseline):
    """An empty list is written as 0x9D + type with no count (§3.4): an error reply for that
    handle, and the connection keeps working."""
    fser = connect_legacy(baseline)
    try:
        response = legacy_call(fser, "KV_GET", [STRING], [[]])
        assert response.status in (GRACEFUL_FAILURE, UNEXPECTED_FAILURE), describe(response)
        assert response.statusString, "refused without a message"
        rows = ok(legacy_call(fser, "KV_GET", [STRING], ["base-0001"])).tables[0].tuples
        assert [bytes(rows[0][0])] == [b"1"]
    finally:
        fser.close()
    with w.login(baseline.client_port) as sock:
        sock.sendall(bytes.fromhex(EMPTY_ARRAY_QUIRK_HEX))
        response = w.parse_response(w.read_frame(sock))
        assert response.clientHandle == EMPTY_ARRAY_QUIRK_HANDLE
        assert response.status in (GRACEFUL_FAILURE, UNEXPECTED_FAILURE), describe(response)
        ok(w.call(sock, "@Ping", 12))
    assert_nothing_lost(baseline)


# -- many connections, and a client that never reads ---------------------------------------------

@pytest.mark.timeout(240)
def test_thousand_idle_connections_while_a_client_works(baseline):
    idle = []
    try:
        for _ in range(1000):
            idle.append(w.connect(baseline.client_port))
        for sock in idle:
            sock.sendall(w.login_frame())
        for i, sock in enumerate(idle):
            status, _ = w.parse_login_response(w.read_frame(sock, timeout=30))
            assert status == 0, "idle connection %d refused at login with status %d" % (i, status)

        # With 1,000 logged-in connections idle, a normal client connects and works.
        with VoltClient(hosts=[baseline.host], port=baseline.client_port, connect_timeout=10,
                        procedure_timeout=30) as client:
            for i in range(200):
                ok(client.call("KV.insert", [VoltType.STRING, VoltType.VARBINARY],
                               ["idle-%03d" % i, b"i"]))
            assert scalar(client, "SELECT COUNT(*) FROM KV WHERE K LIKE 'idle-%'") == 200
        # The idle ones are still served when they wake up.
        for i in (0, 1, 499, 998, 999):
            ok(w.call(idle[i], "@Ping", 100 + i))
    finally:
        for sock in idle:
            sock.close()
    assert_nothing_lost(baseline)


def load_large_answers(client, workload):
    """The rows behind a workload's request; returns (procedure, parameters, answer bytes)."""
    if workload == "large-values":
        if scalar(client, "SELECT COUNT(*) FROM BLOBS WHERE ID = 1") == 0:
            ok(client.call("BLOBS.insert", [VoltType.INTEGER, VoltType.VARBINARY],
                           [1, bytes(range(256)) * 2048]))
        answer = ok(client.call("BLOB_GET", [VoltType.INTEGER], [1]))
        return "BLOB_GET", [(w.INTEGER, 1)], len(answer.tables[0].tuples[0][0])
    if scalar(client, "SELECT COUNT(*) FROM BIG") == 0:
        with VoltBulkLoader(client, "BIG", timeout=60) as loader:
            loader.insert_rows((i, "%06d" % i + "x" * 240) for i in range(8000))
    answer = ok(client.call("BIG_FROM", [VoltType.INTEGER], [0]))
    rows = len(answer.tables[0].tuples)
    assert rows > 1000, "BIG_FROM(0) should answer about a quarter of BIG's 8,000 rows"
    return "BIG_FROM", [(w.INTEGER, 0)], rows * 254


@pytest.mark.timeout(300)
@pytest.mark.parametrize("workload", ["large-values", "many-rows"])
def test_client_that_never_reads_does_not_grow_the_server(baseline, workload):
    """One connection sends 20,000 requests with ~500 KB answers (10 GB in all) and never reads;
    meanwhile another client keeps calling. For OBSERVE_S seconds every one of its calls must be
    answered within CALL_BOUND_S and the server's RSS must stay within RSS_BOUND_MIB of where it
    started: the server has to stop taking work from the connection that does not read (VoltDB
    applies back-pressure per connection) rather than execute it all and queue the answers."""
    OBSERVE_S, CALL_BOUND_S, RSS_BOUND_MIB = 30, 30, 1024
    server = baseline
    with VoltClient(hosts=[server.host], port=server.client_port, connect_timeout=10,
                    procedure_timeout=CALL_BOUND_S) as client:
        proc, params, answer_bytes = load_large_answers(client, workload)
        rss_start = server.rss_kib()

        hog = w.login(server.client_port)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stats = {"sent": 0, "blocked": False, "error": None}

        def flood():
            # 20,000 requests, until the server stops taking them for 3 s (back-pressure).
            hog.settimeout(3.0)
            batch = w.invocation(proc, 1, params) * 50
            try:
                while stats["sent"] < 20000:
                    hog.sendall(batch)
                    stats["sent"] += 50
            except socket.timeout:
                stats["blocked"] = True
            except OSError as e:
                stats["error"] = repr(e)

        flooder = threading.Thread(target=flood, name="never-reads", daemon=True)
        flooder.start()
        peak, served, slowest, unserved = rss_start, 0, 0.0, None
        try:
            end = time.monotonic() + OBSERVE_S
            while time.monotonic() < end:
                started = time.monotonic()
                try:
                    ok(client.call("KV.upsert", [VoltType.STRING, VoltType.VARBINARY],
                                   ["hog-%s-%05d" % (workload, served), b"h"]))
                except VoltTimeoutError:
                    unserved = "a KV.upsert got no answer within %d s" % CALL_BOUND_S
                    break
                served += 1
                slowest = max(slowest, time.monotonic() - started)
                peak = max(peak, server.rss_kib())
                time.sleep(0.01)  # pacing of the other client, not synchronization
            flooder.join(timeout=10)
        finally:
            hog.close()
        grown_mib = (peak - rss_start) / 1024
        summary = ("%s: the never-reading client sent %d requests (~%d KB answers; blocked by "
                   "back-pressure: %s); the other client had %d calls answered, slowest %.2f s; "
                   "server RSS %d MiB, peak +%.0f MiB"
                   % (workload, stats["sent"], answer_bytes // 1000, stats["blocked"], served,
                      slowest, rss_start // 1024, grown_mib))
        print(summary)
        assert unserved is None, "%s -- %s" % (unserved, summary)
        assert grown_mib < RSS_BOUND_MIB, summary
        assert scalar(client, "SELECT COUNT(*) FROM KV WHERE K LIKE 'hog-%s-%%'" % workload) == served
    assert_nothing_lost(server)
