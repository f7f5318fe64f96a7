"""Small helpers shared by the test modules (fixtures live in conftest.py)."""

from voltdbclient import FastSerializer, VoltProcedure

STRING = FastSerializer.VOLTTYPE_STRING
INTEGER = FastSerializer.VOLTTYPE_INTEGER
BIGINT = FastSerializer.VOLTTYPE_BIGINT
VARBINARY = FastSerializer.VOLTTYPE_VARBINARY
FLOAT = FastSerializer.VOLTTYPE_FLOAT
TINYINT = FastSerializer.VOLTTYPE_TINYINT

SUCCESS = 1
USER_ABORT = -1
GRACEFUL_FAILURE = -2
UNEXPECTED_FAILURE = -3


def describe(response):
    return "status %r, statusString %r" % (response.status, response.statusString)


def ok(response):
    """The response, after asserting it succeeded (the message carries the server's words)."""
    assert response.status == SUCCESS, describe(response)
    return response


def adhoc(client, sql):
    """Run @AdHoc through a VoltClient and return the successful response."""
    return ok(client.call("@AdHoc", [STRING], [sql]))


def scalar(client, sql):
    """The single value of a one-row, one-column @AdHoc query."""
    response = adhoc(client, sql)
    rows = response.tables[0].tuples
    assert len(rows) == 1 and len(rows[0]) == 1, "expected one value from %r, got %r" % (sql, rows)
    return rows[0][0]


def legacy_call(fser, proc, types, params, timeout=30):
    """One call through the legacy `VoltProcedure` path on a `FastSerializer` connection."""
    return VoltProcedure(fser, proc, types).call(params, timeout=timeout)


def legacy_scalar(fser, sql):
    response = ok(legacy_call(fser, "@AdHoc", [STRING], [sql]))
    rows = response.tables[0].tuples
    assert len(rows) == 1 and len(rows[0]) == 1, "expected one value from %r, got %r" % (sql, rows)
    return rows[0][0]


def connect_legacy(server, port=None):
    """A logged-in legacy client connection with bounded connect and call timeouts."""
    return FastSerializer(server.host, port or server.client_port, connect_timeout=10,
                          procedure_timeout=30, default_timeout=30)
