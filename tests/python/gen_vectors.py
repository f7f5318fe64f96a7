"""Writes the test fixtures Tests/Fixtures/hashinator-vectors.json and wire-vectors.json.

The Swift tests check our MurmurHash3, hash ring and wire codec against these files, so every
value in them must come from the official VoltDB Python client (PyPI ``voltdbclient``, pinned in
requirements.txt), never from our own Swift code: a vector our code produced could only agree with
our code. Where the client has the code, it computes the value:

* murmur tokens: ``voltclient._murmur3_token``; the bytes a typed key hashes as:
  ``voltclient._partition_value_to_bytes``; partitions of keys and tokens:
  ``voltclient.ElasticHashinator`` decoding each ring's config blob (``from_bytes``);
* login requests: ``FastSerializer.authenticate`` writing to an in-memory socket; what the client
  reads from a login reply: the same call reading that reply;
* invocations: ``voltclient._serialize_invocation`` (and the legacy ``VoltProcedure.call``);
* what the client reads from a response: ``VoltResponse``, ``voltclient._parse_topology``,
  ``_parse_overview`` and ``_parse_procedures``.

The client never builds a ring or writes a server frame, so two kinds of value are made here from
fixed inputs, and each file's notes say so:

* ring config blobs come from a port of VoltDB's ``Buckets`` (``Buckets`` below; the Java original
  is src/frontend/org/voltdb/Buckets.java in github.com/VoltDB/voltdb), and the client's decoder
  must accept every blob;
* server frames (login replies, responses, the topology push) are written with the client's
  ``FastSerializer`` primitives in the layouts of docs/PROTOCOL.md §2.3, §4.1 and §4.3, then read
  back with the client's parsers, whose results are recorded next to the bytes.

Output is deterministic: no clock, no randomness, no dependence on the local time zone, dicts
built in a fixed order. Run it through ``scripts/gen-vectors`` (which sets up .venv); with a
directory argument it writes there instead of Tests/Fixtures.
"""

import argparse
import bisect
import datetime
import decimal
import hashlib
import importlib.metadata
import json
import struct
import sys
from pathlib import Path

import voltclient
from voltdbclient import FastSerializer, VoltProcedure, VoltResponse

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = REPO / "Tests" / "Fixtures"
HASHINATOR_FILE = "hashinator-vectors.json"
WIRE_FILE = "wire-vectors.json"

CLIENT_VERSION = importlib.metadata.version("voltdbclient")

F = FastSerializer
NULL, TINYINT, SMALLINT, INTEGER, BIGINT = (F.VOLTTYPE_NULL, F.VOLTTYPE_TINYINT,
                                            F.VOLTTYPE_SMALLINT, F.VOLTTYPE_INTEGER,
                                            F.VOLTTYPE_BIGINT)
FLOAT, STRING, TIMESTAMP, DATE = (F.VOLTTYPE_FLOAT, F.VOLTTYPE_STRING, F.VOLTTYPE_TIMESTAMP,
                                  F.VOLTTYPE_DATE)
DECIMAL, BOOLEAN, VARBINARY = F.VOLTTYPE_DECIMAL, F.VOLTTYPE_BOOLEAN, F.VOLTTYPE_VARBINARY
GEOGRAPHY_POINT = F.VOLTTYPE_GEOGRAPHY_POINT
TYPE_CODES = {"TINYINT": TINYINT, "SMALLINT": SMALLINT, "INTEGER": INTEGER, "BIGINT": BIGINT,
              "STRING": STRING, "VARBINARY": VARBINARY}

INT32_MIN = -2 ** 31
INT32_MAX = 2 ** 31 - 1


def write_json(path, obj):
    """One fixed formatting for both files (1-space indent, ASCII-only escapes, final newline), so
    that regenerating an unchanged fixture gives byte-identical output."""
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=True) + "\n", encoding="ascii")


# -- hash ring construction ------------------------------------------------------------------


class Buckets:
    """VoltDB's ``Buckets``: the ring a cluster of ``partition_count`` partitions starts with, and
    its elastic growth (``add_partitions``).

    Tokens are ``-2^31 + i * interval`` for ``i < token_count``, with
    ``interval = Integer.MAX_VALUE / (token_count / 2)`` in integer division. All start on partition
    0; partitions 1, 2, ... are then added one at a time, and after each addition the most loaded
    partition (most tokens, ties to the higher id) hands its numerically smallest token to the least
    loaded one (fewest tokens, ties to the lower id) until their counts differ by at most one. The
    Java code keeps a TreeSet ordered by (token count, partition id) and polls its last and first
    elements; scanning the few partitions for the same two is equivalent.
    """

    def __init__(self, partition_count, token_count):
        if partition_count < 1 or token_count <= partition_count or token_count % 2:
            raise ValueError("need 1 <= partitions < tokens and an even token count, got %d and %d"
                             % (partition_count, token_count))
        self.token_count = token_count
        interval = INT32_MAX // (token_count // 2)
        # Each partition's tokens, kept sorted ascending: moves take the smallest token from the
        # front of one list and insert into another, and these rings are small enough (16,384
        # tokens) for list insertion to be cheap.
        self.tokens = [[INT32_MIN + i * interval for i in range(token_count)]]
        self.add_partitions(partition_count - 1)

    def add_partitions(self, count):
        if self.token_count <= len(self.tokens) + count:
            raise ValueError("%d partitions cannot share %d tokens" % (len(self.tokens) + count,
                                                                       self.token_count))
        for _ in range(count):
            self.tokens.append([])
            while self._balance_once():
                pass
        return self

    def _balance_once(self):
        order = sorted(range(len(self.tokens)), key=lambda p: (len(self.tokens[p]), p))
        least, most = order[0], order[-1]
        if len(self.tokens[most]) - len(self.tokens[least]) <= 1:
            return False
        bisect.insort(self.tokens[least], self.tokens[most].pop(0))
        return True

    def config_blob(self):
        """The raw HASHCONFIG blob: int32 entry count, then (int32 token, int32 partition) pairs
        by ascending token, all big-endian."""
        entries = sorted((t, p) for p, tokens in enumerate(self.tokens) for t in tokens)
        pairs = b"".join(struct.pack(">ii", t, p) for t, p in entries)
        return struct.pack(">i", len(entries)) + pairs


RING_CONFIGS = [
    ("elastic_6p_16384t",
     "Initial ring for a 6-partition cluster, 16384 tokens (VoltDB default ELASTIC_TOTAL_TOKENS)",
     lambda: Buckets(6, 16384)),
    ("elastic_8p_16384t",
     "Initial ring for an 8-partition cluster, 16384 tokens",
     lambda: Buckets(8, 16384)),
    ("elastic_6p_expanded_to_8p_16384t",
     "6-partition ring after an elastic expansion adding partitions 6 and 7 "
     "(token moves, not a rebuild)",
     lambda: Buckets(6, 16384).add_partitions(2)),
    ("elastic_2p_16t_small",
     "Tiny ring (2 partitions, 16 tokens) for readable unit tests",
     lambda: Buckets(2, 16)),
    ("elastic_3p_8t_small",
     "Tiny ring (3 partitions, 8 tokens) for readable unit tests",
     lambda: Buckets(3, 8)),
]


def ring_summary(hashinator):
    """Facts about a decoded ring, read from the client's own ElasticHashinator."""
    tokens, owners = list(hashinator._tokens), list(hashinator._partitions)
    counts = {}
    for p in owners:
        counts[p] = counts.get(p, 0) + 1
    runs = 1 + sum(1 for a, b in zip(owners, owners[1:]) if a != b)
    entries = [[t, p] for t, p in zip(tokens, owners)]
    return {
        "token_count": len(tokens),
        "tokens_per_partition": {str(p): counts[p] for p in sorted(counts)},
        "first_16_entries": entries[:16],
        "last_4_entries": entries[-4:],
        "number_of_contiguous_runs": runs,
    }


# Typed partition keys: (type, value, note). Values cover every integer width, the null sentinels
# and None, integer strings, UTF-8 beyond ASCII, and strings and byte strings around the murmur
# block size (8 and 16 bytes) so that every tail length of the hash is exercised.
KEY_INPUTS = [
    ("BIGINT", 0, None), ("BIGINT", 1, None), ("BIGINT", -1, None), ("BIGINT", 2, None),
    ("BIGINT", 7, None), ("BIGINT", 42, None), ("BIGINT", 100, None), ("BIGINT", 12345, None),
    ("BIGINT", 5551234567, None), ("BIGINT", 123456789012345, None),
    ("BIGINT", 2147483647, None), ("BIGINT", -2147483647, None), ("BIGINT", -1234567890123, None),
    ("BIGINT", 2 ** 63 - 1, None), ("BIGINT", -(2 ** 63) + 1, None),
    ("BIGINT", 0x0102030405060708, None), ("BIGINT", 999999999999, None),
    ("INTEGER", 0, None), ("INTEGER", 1, None), ("INTEGER", -1, None), ("INTEGER", 42, None),
    ("INTEGER", 100000, None), ("INTEGER", 2147483647, None), ("INTEGER", -2147483647, None),
    ("SMALLINT", 0, None), ("SMALLINT", 5, None), ("SMALLINT", -5, None), ("SMALLINT", 32767, None),
    ("TINYINT", 0, None), ("TINYINT", 1, None), ("TINYINT", 127, None), ("TINYINT", -127, None),
    ("BIGINT", -(2 ** 63), "null sentinel"), ("INTEGER", -(2 ** 31), "null sentinel"),
    ("SMALLINT", -(2 ** 15), "null sentinel"), ("TINYINT", -(2 ** 7), "null sentinel"),
    ("BIGINT", None, "None"), ("STRING", None, "None"),
    ("BIGINT", "5551234567", "decimal string coerced to integer"),
    ("INTEGER", "-42", "decimal string coerced to integer"),
    ("STRING", "", None), ("STRING", "a", None), ("STRING", "0", None), ("STRING", "5", None),
    ("STRING", "hello", None), ("STRING", "KV-key-0001", None), ("STRING", "user:42", None),
    ("STRING", "abcdefgh", None), ("STRING", "abcdefghi", None),
    ("STRING", "fifteen-chars!!", None), ("STRING", "sixteen-chars!!!", None),
    ("STRING", "seventeen-chars!!", None),
    ("STRING", "The quick brown fox jumps over the lazy dog", None),
    ("STRING", "Gr\u00fc\u00dfe", None), ("STRING", "\u65e5\u672c\u8a9e\u30ad\u30fc", None),
    ("STRING", "\u00e9\u00e8\u00ea", None), ("STRING", "x" * 100, None),
    ("VARBINARY", b"", None), ("VARBINARY", b"\x00", None), ("VARBINARY", b"\xff", None),
    ("VARBINARY", b"\x80", None), ("VARBINARY", bytes(range(8)), None),
    ("VARBINARY", bytes(range(9)), None), ("VARBINARY", bytes(range(16)), None),
    ("VARBINARY", bytes(range(17)), None), ("VARBINARY", b"\xff" * 15, None),
    ("VARBINARY", bytes(range(0x80, 0x9f)), None),
    ("VARBINARY", struct.pack(">i", 1), None), ("VARBINARY", struct.pack("<q", 42), None),
    ("VARBINARY", b"hello", None),
]

# Ring positions probed directly: the ends of the token range, around zero, exactly on and either
# side of the second token of a 16384-token ring, and two arbitrary points.
TOKEN_PROBES = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX,
                -2147221505, -2147221506, -2147221504, 1000000000, -1000000000]
TOKEN_PROBE_CONFIGS = ["elastic_6p_16384t", "elastic_2p_16t_small"]

# Java's @GetPartitionKeys tries candidates 0, 1, 2, ... up to this bound.
PARTITION_KEY_CANDIDATES = 500000


def murmur_inputs():
    """Byte strings of every length 0..33 (prefixes of one arithmetic byte sequence, so that every
    block and tail length of MurmurHash3 x64_128 is covered), then a few int64s as the 8
    little-endian bytes integer keys hash as."""
    sequence = bytes((0x91 + 37 * i) & 0xFF for i in range(33))
    out = [(sequence[:n], None) for n in range(34)]
    for v in (0, 1, -1, 42, 2 ** 62):
        out.append((struct.pack("<q", v), "int64 %d little-endian" % v))
    return out


def partition_keys(hashinator, partition_count):
    """The rows @GetPartitionKeys returns for each key type, by Java's recipe: try 0, 1, 2, ... as
    an INTEGER, as its decimal STRING, or as its 4-byte big-endian VARBINARY, keep the first
    candidate that lands on each partition, and stop when every partition has one. Rows are in
    the order found."""
    def four_bytes(i):
        return struct.pack(">i", i)

    shapes = [("INTEGER", INTEGER, lambda i: i, lambda i: i),
              ("STRING", STRING, str, str),
              ("VARBINARY", VARBINARY, four_bytes, lambda i: four_bytes(i).hex())]
    out = {}
    for name, vtype, make, show in shapes:
        rows, seen = [], set()
        for i in range(PARTITION_KEY_CANDIDATES):
            pid = hashinator.get_partition_for_parameter(vtype, make(i))
            if pid not in seen:
                seen.add(pid)
                rows.append([pid, show(i)])
                if len(seen) == partition_count:
                    break
        out[name] = rows
    return out


def key_value_json(value):
    """How the fixture shows a key value and which encoding the Swift loader must apply."""
    if value is None:
        return None, "null"
    if isinstance(value, bytes):
        return value.hex(), "hex"
    if isinstance(value, str):
        return value, "utf8-string"
    return value, "integer"


def hashinator_vectors():
    rings = {}
    configs = {}
    for name, description, build in RING_CONFIGS:
        blob = build().config_blob()
        # Decoding with the client proves it accepts the blob; every partition below is then the
        # client's answer, not ours.
        rings[name] = voltclient.ElasticHashinator.from_bytes(blob)
        configs[name] = {
            "description": description,
            "config_sha256": hashlib.sha256(blob).hexdigest(),
            "config_len": len(blob),
            "summary": ring_summary(rings[name]),
            "config_hex": blob.hex(),
        }

    probes = []
    for token in TOKEN_PROBES:
        probe = {"token": token}
        for name in TOKEN_PROBE_CONFIGS:
            probe[name] = rings[name].partition_for_token(token)
        probes.append(probe)

    murmur = []
    for data, note in murmur_inputs():
        vector = {"bytes_hex": data.hex(), "token": voltclient._murmur3_token(data)}
        if note:
            vector["note"] = note
        murmur.append(vector)

    by_config = {}
    for name, _, _ in RING_CONFIGS:
        count = len(set(rings[name]._partitions))
        by_config[name] = partition_keys(rings[name], count)

    keys = []
    for type_name, value, note in KEY_INPUTS:
        vtype = TYPE_CODES[type_name]
        hashed = voltclient._partition_value_to_bytes(vtype, value)
        shown, encoding = key_value_json(value)
        vector = {
            "type": type_name,
            "type_code": vtype,
            "value": shown,
            "value_encoding": encoding,
            "hashed_bytes_hex": None if hashed is None else hashed.hex(),
            "token": None if hashed is None else voltclient._murmur3_token(hashed),
            "partitions": {name: rings[name].get_partition_for_parameter(vtype, value)
                           for name, _, _ in RING_CONFIGS},
        }
        if note:
            vector["note"] = note
        keys.append(vector)

    return {
        "generator": "tests/python/gen_vectors.py (scripts/gen-vectors) with voltdbclient %s "
                     "(voltclient.ElasticHashinator, _murmur3_token, _partition_value_to_bytes)"
                     % CLIENT_VERSION,
        "notes": "Tokens, hashed bytes and every partition come from the client's code: each "
                 "config blob is decoded with voltclient.ElasticHashinator.from_bytes and looked "
                 "up with its get_partition_for_parameter and partition_for_token. The client "
                 "cannot build rings, so the blobs come from the generator's port of VoltDB's "
                 "Buckets (src/frontend/org/voltdb/Buckets.java in github.com/VoltDB/voltdb); "
                 "docs/PROTOCOL.md section 7 describes the hash, the blob and the construction.",
        "algorithm": {
            "hash": "MurmurHash3_x64_128, seed 0, over the value bytes; token = signed int32 of "
                    "the upper 32 bits of h1 (the first 64-bit half) after finalization",
            "value_bytes": "TINYINT/SMALLINT/INTEGER/BIGINT: value widened to int64, 8 bytes "
                           "little-endian; STRING: UTF-8 bytes; VARBINARY: raw bytes; SQL NULL "
                           "(None or the type's minimum value): not hashed, partition 0",
            "config_blob": "int32 BE count N, then N x (int32 BE token, int32 BE partition id), "
                           "tokens ascending, first token = -2^31",
            "lookup": "partition = partition of the entry with the greatest token <= hash token "
                      "(binary search, bisect_right - 1)",
        },
        "configs": configs,
        "token_probes": probes,
        "murmur_vectors": murmur,
        "get_partition_keys": {
            "note": "rows [PARTITION_ID, PARTITION_KEY] in discovery order, as @GetPartitionKeys "
                    "returns them; VARBINARY keys are 4-byte big-endian ints shown as hex",
            "by_config": by_config,
        },
        "key_vectors": keys,
    }


# -- wire frames -----------------------------------------------------------------------------


class MemorySocket:
    """Enough of a socket for FastSerializer: what the client sends is collected, and what it
    reads comes from a fixed reply, so the client's own login and call code runs unchanged."""

    def __init__(self, reply=b""):
        self.sent = bytearray()
        self.reply = bytearray(reply)
        self.timeout = None

    def sendall(self, data):
        self.sent += data

    def recv(self, size):
        chunk = bytes(self.reply[:size])
        del self.reply[:size]
        return chunk

    def settimeout(self, timeout):
        self.timeout = timeout

    def gettimeout(self):
        return self.timeout


def serializer_on(reply=b""):
    fser = FastSerializer()  # no host: no connection and no login on construction
    fser.socket = MemorySocket(reply)
    return fser


def login_reply(host_id, connection_id, start_ms, leader_ipv4, build):
    """A successful login reply as a server writes it (docs/PROTOCOL.md §2.3)."""
    f = FastSerializer()
    f.writeByte(0)  # version: anything but 2, which would select the Kerberos exchange
    f.writeByte(0)  # status: success
    f.writeInt32(host_id)
    f.writeInt64(connection_id)
    f.writeInt64(start_ms)
    f.writeInt32(leader_ipv4)
    f.writeString(build)
    f.prependLength()
    return f.wbuf.tobytes()


def login_failure_reply(status):
    f = FastSerializer()
    f.writeByte(0)
    f.writeByte(status)
    f.prependLength()
    return f.wbuf.tobytes()


def login_vectors():
    reply = login_reply(3, 7, 1700000000000, 0x7F000001, "volt-swift-0.1")
    fser = serializer_on(reply)
    fser.authenticate("alice", "secret")
    login = {
        "username": "alice",
        "password": "secret",
        "request_hex": bytes(fser.socket.sent).hex(),
        "request_layout": "len(4) | version=1 (1) | hash scheme=1 SHA-256 (1) | string 'database' "
                          "| string username | 32 raw bytes SHA-256(password)",
        "response_hex": reply.hex(),
        "response_layout": "len(4) | version=0 (1) | status=0 (1) | hostId int32 | connectionId "
                           "int64 | cluster start ts int64 (ms) | leader IPv4 int32 | build "
                           "string (int32 len + bytes)",
        "client_parsed": {
            "hostId": fser.hostId,
            "connectionId": fser.connectionId,
            "clusterInstanceId": list(fser.clusterInstanceId),
            "buildString": fser.buildString,
        },
    }

    anonymous = serializer_on(reply)
    anonymous.authenticate("", "")

    failure = login_failure_reply(-1)
    try:
        serializer_on(failure).authenticate("alice", "wrong")
    except RuntimeError as e:
        raised = str(e)
    else:
        raise AssertionError("the client accepted a failed login reply")

    return login, {
        "username": "",
        "password": "",
        "request_hex": bytes(anonymous.socket.sent).hex(),
    }, {
        "response_hex": failure.hex(),
        "client_raises": raised,
    }


def invocation(name, handle, params, partition_destination=None):
    """Serializes with the client's own invocation writer; ``params`` are
    (label, type code, Python value, value as the fixture shows it)."""
    frame = voltclient._serialize_invocation(F.BIG_ENDIAN, name, [p[1] for p in params],
                                             [p[2] for p in params], handle, partition_destination)
    return frame, [[p[0], p[3]] for p in params]


def invocation_vectors():
    out = {}

    upsert_params = [("STRING", STRING, "key1", "key1"),
                     ("VARBINARY", VARBINARY, b"\x01\x02\xff", "0102ff")]
    frame, shown = invocation("KV.upsert", 1, upsert_params)
    # The legacy client always uses handle 1, so the same call through VoltProcedure must give
    # the same bytes; it needs some reply to read, and any well-formed response will do.
    legacy = serializer_on(response_frame(1, 1, [dml_table(1)]))
    VoltProcedure(legacy, "KV.upsert", [STRING, VARBINARY]).call([p[2] for p in upsert_params])
    out["KV.upsert"] = {"handle": 1, "params": shown, "hex": frame.hex(),
                        "legacy_voltprocedure_hex": bytes(legacy.socket.sent).hex()}

    frame, shown = invocation("@Ping", voltclient.PING_HANDLE, [])
    out["@Ping"] = {"handle": voltclient.PING_HANDLE, "params": shown, "hex": frame.hex()}

    frame, shown = invocation("@Subscribe", 5, [("STRING", STRING, "TOPOLOGY", "TOPOLOGY")])
    out["@Subscribe"] = {"handle": 5, "params": shown, "hex": frame.hex()}

    frame, shown = invocation("@Statistics", 3, [("STRING", STRING, "TOPO", "TOPO"),
                                                 ("INTEGER", INTEGER, 0, 0)])
    out["@Statistics"] = {"handle": 3, "params": shown, "hex": frame.hex()}

    frame, shown = invocation("AllTypes", 9, [
        ("NULL", NULL, None, None),
        ("TINYINT", TINYINT, -5, -5),
        ("SMALLINT", SMALLINT, 1000, 1000),
        ("INTEGER", INTEGER, -100000, -100000),
        ("BIGINT", BIGINT, 5551234567, 5551234567),
        ("FLOAT", FLOAT, 1.5, 1.5),
        ("STRING", STRING, "h\u00e9llo", "h\u00e9llo"),
        ("DECIMAL", DECIMAL, decimal.Decimal("-12.345"), "-12.345"),
        ("VARBINARY", VARBINARY, bytes.fromhex("deadbeef"), "deadbeef"),
        ("BIGINT(NULL)", BIGINT, None, None),
        ("STRING(NULL)", STRING, None, None),
        ("DECIMAL(NULL)", DECIMAL, None, None),
        ("BOOLEAN", BOOLEAN, True, True),
        ("DATE", DATE, datetime.date(2024, 2, 29), "2024-02-29"),
        ("GEOGRAPHY_POINT", GEOGRAPHY_POINT, (-71.5, 42.25), [-71.5, 42.25]),
    ])
    out["all_types"] = {
        "handle": 9, "params": shown,
        "note": "TIMESTAMP is not included because the client converts naive datetimes with the "
                "local time zone (strftime('%s')); see docs/PROTOCOL.md section 1.5",
        "hex": frame.hex(),
    }

    frame, shown = invocation("Arrays", 10, [
        ("INTEGER[]", INTEGER, [1, 2, 3], [1, 2, 3]),
        ("STRING[]", STRING, ["a", None, "ccc"], ["a", None, "ccc"]),
        ("BIGINT[]", BIGINT, [1, -1], [1, -1]),
        ("TINYINT[] from bytes", TINYINT, b"\x00\xff\x7f", "00ff7f"),
        ("FLOAT[]", FLOAT, [0.5], [0.5]),
    ])
    out["arrays"] = {
        "handle": 10, "params": shown, "hex": frame.hex(),
        "note": "array marker byte 0x9d (-99), element type byte, then int16 count (int32 count "
                "for TINYINT) and bare elements",
    }

    frame, shown = invocation("EmptyArr", 11, [("INTEGER[]", INTEGER, [], [])])
    out["empty_array_quirk"] = {
        "handle": 11, "params": shown, "hex": frame.hex(),
        "note": "QUIRK: the client writes 0x9d + type byte and then NOTHING for an empty list (no "
                "count). A server must treat the truncated parameter set as a malformed request "
                "(error response), not crash.",
    }

    frame, shown = invocation("Directed", 12, [("INTEGER", INTEGER, 17, 17),
                                               ("STRING", STRING, "x", "x")],
                              partition_destination=4)
    out["v2_partition_destination"] = {
        "handle": 12, "params": shown, "partition_destination": 4, "hex": frame.hex(),
        "note": "version byte 2, extension count 2: (type 2 ALL_PARTITION, len-code 0), (type 3 "
                "PARTITION_DESTINATION, len-code 3 => 4 bytes, int32 partition)",
    }
    return out


def table(columns, rows, status=-128):
    """One VoltTable as a server writes it (docs/PROTOCOL.md §4.3): ``columns`` are (name, type),
    and each row holds values the client's FastSerializer writers take, except that a TIMESTAMP
    value is the raw int64 microseconds (the client's timestamp writer reads the local time zone).

    The client's own VoltTable.writeToSerializer is not used: it writes a header length 4 bytes
    short, which the client never notices but a server must not copy."""
    header = FastSerializer()
    header.writeByte(status)
    header.writeInt16(len(columns))
    for _, vtype in columns:
        header.writeByte(vtype)
    for name, _ in columns:
        header.writeString(name)
    body = FastSerializer()
    body.writeInt32(header.size())
    body.writeRawBytes(header.wbuf)
    body.writeInt32(len(rows))
    for row in rows:
        values = FastSerializer()
        for (_, vtype), value in zip(columns, row):
            if vtype == TIMESTAMP:
                values.writeInt64(value)
            else:
                values.write(vtype, value)
        body.writeInt32(values.size())
        body.writeRawBytes(values.wbuf)
    body.prependLength()
    return body.wbuf.tobytes()


def dml_table(count):
    return table([("modified_tuples", BIGINT)], [[count]])


def response_frame(handle, status, tables=(), status_string=None, app_status=None,
                   app_status_string=None, roundtrip=0):
    """A procedure response as a server writes it (docs/PROTOCOL.md §4.1). An app status of None
    is written as -128, the value Java sends when a procedure sets none."""
    f = FastSerializer()
    f.writeByte(0)  # version
    f.writeInt64(handle)
    present = 0
    if status_string is not None:
        present |= 0x20
    if app_status_string is not None:
        present |= 0x80
    f.writeByte(present)
    f.writeByte(status)
    if status_string is not None:
        f.writeString(status_string)
    f.writeByte(app_status)
    if app_status_string is not None:
        f.writeString(app_status_string)
    f.writeInt32(roundtrip)
    f.writeInt16(len(tables))
    for t in tables:
        f.writeRawBytes(t)
    f.prependLength()
    return f.wbuf.tobytes()


def parse(frame):
    """The client's own reading of a response frame."""
    return VoltResponse._from_body(FastSerializer(), frame[4:])


def value_json(value, vtype):
    """A value the client read, as JSON: bytes as hex, DECIMAL as the client's text. A TIMESTAMP is
    described rather than shown, because the client turns it into a local-time datetime."""
    if value is None:
        return None
    if vtype == TIMESTAMP:
        if value != datetime.datetime.fromtimestamp(0):
            raise ValueError("only the epoch has a time-zone-free description; got %r" % value)
        return "datetime.fromtimestamp(0) (local time) -- raw int64 0"
    if hasattr(value, "tobytes"):
        return value.tobytes().hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def response_json(response):
    return {
        "clientHandle": response.clientHandle,
        "status": response.status,
        "statusString": response.statusString,
        "appStatus": response.appStatus,
        "appStatusString": response.appStatusString,
        "roundtripTime": response.roundtripTime,
        "tables": [{
            "columns": [[c.name, c.type] for c in t.columns],
            "rows": [[value_json(v, c.type) for v, c in zip(row, t.columns)] for row in t.tuples],
        } for t in response.tables],
    }


TOPO_COLUMNS = [("Partition", INTEGER), ("Sites", STRING), ("Leader", STRING)]
HASH_COLUMNS = [("HASHTYPE", STRING), ("HASHCONFIG", VARBINARY)]
MP_INITIATOR = voltclient.MP_INIT_PID


def topology_json(response):
    partitions, hashtype, config = voltclient._parse_topology(response.tables)
    return {
        "partitions": {str(p): {"leader_host_id": partitions[p].leader_host_id,
                                "replica_host_ids": list(partitions[p].replica_host_ids)}
                       for p in sorted(partitions)},
        "hashtype": hashtype,
        "config_hex": config.hex(),
    }


def response_vectors():
    out = {}

    def plain(name, frame):
        out[name] = {"hex": frame.hex(), "client_parsed": response_json(parse(frame))}

    plain("two_column_table", response_frame(1, 1, [table(
        [("K", STRING), ("V", VARBINARY)],
        [["key1", b"\x01\x02\xff"], ["key2", None], [None, b""]])], roundtrip=3))
    plain("unknown_procedure_error",
          response_frame(42, -3, status_string="Procedure FOO was not found"))
    plain("graceful_failure", response_frame(
        43, -2, status_string="GetPartitionKeys must have one string parameter"))
    plain("adhoc_dml_result", response_frame(7, 1, [dml_table(1)]))
    plain("mixed_types_with_nulls", response_frame(8, 1, [table(
        [("I", INTEGER), ("B", BIGINT), ("F", FLOAT), ("TS", TIMESTAMP), ("D", DECIMAL),
         ("T", TINYINT), ("S", SMALLINT)],
        [[1, 2, 2.5, 0, decimal.Decimal("12.345"), 1, 2],
         [None, None, None, None, None, None, None]])],
        app_status=5, app_status_string="app says hi"))

    # @Statistics TOPO 0 of a 2-host, 2-partition, K=1 cluster on the 16-token ring, then the push
    # a 1-host cluster sends its subscribers: the ring is small so the frames stay readable.
    small_ring = Buckets(2, 16).config_blob()
    hash_table = table(HASH_COLUMNS, [["ELASTIC", small_ring]])
    topo = response_frame(3, 1, [table(TOPO_COLUMNS, [
        [0, "0:0, 1:0", "0:0"], [1, "0:1, 1:1", "1:1"], [MP_INITIATOR, "0:2", "0:2"]]), hash_table])
    out["statistics_topo"] = {"hex": topo.hex(), "client_parsed": topology_json(parse(topo))}

    push = response_frame(voltclient.ASYNC_TOPO_HANDLE, 1, [table(TOPO_COLUMNS, [
        [0, "0:0", "0:0"], [1, "0:1", "0:1"], [MP_INITIATOR, "0:2", "0:2"]]), hash_table])
    out["topology_push"] = {"hex": push.hex(),
                            "note": "client handle 0x7ffffffffffffffe (ASYNC_TOPO_HANDLE)",
                            "client_parsed_handle": parse(push).clientHandle}

    overview = response_frame(4, 1, [table(
        [("HOST_ID", INTEGER), ("KEY", STRING), ("VALUE", STRING)],
        [[host, key, value] for host in (0, 1) for key, value in (
            ("IPADDRESS", "127.0.0.1"), ("HOSTNAME", "node%d" % host),
            ("CLIENTPORT", str(21212 + host)))])])
    hosts = voltclient._parse_overview(parse(overview).tables[0])
    out["system_information_overview"] = {
        "hex": overview.hex(),
        "client_parsed": {str(h): {"ip": hosts[h].ip, "hostname": hosts[h].hostname,
                                   "client_port": hosts[h].client_port} for h in sorted(hosts)},
    }

    def remarks(read_only, single, parameter=None, parameter_type=None):
        # Java's key order, compact separators: the bytes are part of the vector.
        info = {"readOnly": read_only, "singlePartition": single}
        if single:
            info["partitionParameter"] = parameter
            info["partitionParameterType"] = parameter_type
        info["compound"] = False
        return json.dumps(info, separators=(",", ":"))

    catalog = response_frame(6, 1, [table(
        [("PROCEDURE_CAT", STRING), ("PROCEDURE_SCHEM", STRING), ("PROCEDURE_NAME", STRING),
         ("RESERVED1", STRING), ("RESERVED2", STRING), ("RESERVED3", STRING), ("REMARKS", STRING),
         ("PROCEDURE_TYPE", SMALLINT), ("SPECIFIC_NAME", STRING)],
        [[None, None, name, None, None, None, info, 0, name] for name, info in (
            ("KV.upsert", remarks(False, True, 0, STRING)),
            ("KV.select", remarks(True, True, 0, STRING)),
            ("CountAll", remarks(True, False)))])])
    procedures = voltclient._parse_procedures(parse(catalog).tables[0])
    out["system_catalog_procedures"] = {
        "hex": catalog.hex(),
        "client_parsed": {name: {"single_partition": p.single_partition, "read_only": p.read_only,
                                 "compound": p.compound, "partition_param": p.partition_param,
                                 "partition_param_type": p.partition_param_type}
                          for name, p in sorted(procedures.items())},
    }
    return out


def wire_vectors():
    login, anonymous, failure = login_vectors()
    return {
        "generator": "tests/python/gen_vectors.py (scripts/gen-vectors) with voltdbclient %s codec "
                     "(FastSerializer, _serialize_invocation, VoltResponse)" % CLIENT_VERSION,
        "notes": "All hex strings are complete frames including the 4-byte big-endian length "
                 "prefix. Frames a client sends (login requests, invocations) are the bytes the "
                 "client's own code wrote: FastSerializer.authenticate and VoltProcedure.call "
                 "against an in-memory socket, and voltclient._serialize_invocation. Frames a "
                 "server sends (login replies, responses, the topology push) have no writer in the "
                 "client, so the generator writes them from fixed inputs with the client's "
                 "FastSerializer primitives, in the layouts of docs/PROTOCOL.md sections 2.3, 4.1 "
                 "and 4.3 (table status byte -128, app status -128 unless stated, version 0); "
                 "every client_parsed value and client_raises text is what the client's own code "
                 "(authenticate, VoltResponse, voltclient._parse_topology, _parse_overview, "
                 "_parse_procedures) read from those bytes.",
        "login": login,
        "login_anonymous": anonymous,
        "login_failure_response": failure,
        "invocations": invocation_vectors(),
        "responses": response_vectors(),
    }


def generate(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / HASHINATOR_FILE, hashinator_vectors())
    write_json(out_dir / WIRE_FILE, wire_vectors())
    return [out_dir / HASHINATOR_FILE, out_dir / WIRE_FILE]


def pinned_client_version():
    """The voltdbclient version requirements.txt pins, or None if it pins none."""
    for line in (Path(__file__).resolve().parent / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.strip().lower() == "voltdbclient" and version:
            return version.strip()
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default=str(DEFAULT_OUT),
                        help="directory to write the two fixture files into (default: %(default)s)")
    args = parser.parse_args(argv)
    # The fixtures describe the client CI installs; ones made with another version would disagree
    # with the freshness check in CI, or quietly encode a different client's behaviour.
    pinned = pinned_client_version()
    if pinned != CLIENT_VERSION:
        print("gen_vectors: this python has voltdbclient %s but tests/python/requirements.txt pins "
              "%s; generate with the pinned client (scripts/gen-vectors sets up .venv with it)."
              % (CLIENT_VERSION, pinned), file=sys.stderr)
        return 2
    for path in generate(args.out_dir):
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
