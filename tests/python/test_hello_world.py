"""The legacy single-connection client (`FastSerializer` + `VoltProcedure`): VoltDB's hello world,
default CRUD procedures and user procedures (checklist §9a of docs/PROTOCOL.md)."""

from voltdbclient import FastSerializer

from support import (GRACEFUL_FAILURE, INTEGER, STRING, SUCCESS, VARBINARY, connect_legacy,
                     describe, legacy_call, legacy_scalar, ok)


def test_login_reports_a_host_id_and_build(server):
    fser = connect_legacy(server)
    try:
        assert isinstance(fser.hostId, int) and fser.hostId >= 0
        assert isinstance(fser.connectionId, int)
        assert isinstance(fser.buildString, str)
        response = ok(legacy_call(fser, "@Ping", [], []))
        assert response.clientHandle == 1  # the legacy client always uses handle 1
    finally:
        fser.close()


def test_hello_world_through_user_and_default_procedures(server, unique):
    fser = connect_legacy(server)
    try:
        english, french, missing = unique + "-English", unique + "-French", unique + "-Klingon"
        # Default CRUD insert (all columns in table order) and the user procedure HelloInsert.
        inserted = ok(legacy_call(fser, "HELLOWORLD.insert", [STRING] * 3,
                                  ["Hello", "World", english]))
        assert inserted.tables[0].tuples == [[1]], "modified_tuples of one insert"
        ok(legacy_call(fser, "HelloInsert", [STRING] * 3, ["Bonjour", "Monde", french]))

        # The user procedure HelloSelect and the default HELLOWORLD.select both find them.
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [french])).tables[0].tuples == \
            [["Bonjour", "Monde"]]
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [english])).tables[0].tuples == \
            [["Hello", "World"]]
        assert ok(legacy_call(fser, "HELLOWORLD.select", [STRING], [french])).tables[0].tuples == \
            [["Bonjour", "Monde", french]]
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [missing])).tables[0].tuples == []

        # The same key again violates the primary key: refused, and the row keeps its values.
        dup = legacy_call(fser, "HelloInsert", [STRING] * 3, ["Salut", "Monde", french])
        assert dup.status != SUCCESS, "duplicate primary key accepted: " + describe(dup)
        assert dup.statusString, "a refused insert must say why"
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [french])).tables[0].tuples == \
            [["Bonjour", "Monde"]]

        # update (all columns, then the key), upsert, delete.
        ok(legacy_call(fser, "HELLOWORLD.update", [STRING] * 4, ["Salut", "Monde", french, french]))
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [french])).tables[0].tuples == \
            [["Salut", "Monde"]]
        ok(legacy_call(fser, "HELLOWORLD.upsert", [STRING] * 3, ["Hi", "Earth", english]))
        assert ok(legacy_call(fser, "HelloSelect", [STRING], [english])).tables[0].tuples == \
            [["Hi", "Earth"]]
        deleted = ok(legacy_call(fser, "HELLOWORLD.delete", [STRING], [english]))
        assert deleted.tables[0].tuples == [[1]]
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM HELLOWORLD WHERE DIALECT LIKE '%s%%'"
                             % unique) == 1
    finally:
        fser.close()


def test_values_round_trip_exactly(server, unique):
    """VARBINARY bytes (including 0x00 and 0xff), SQL NULL and non-ASCII text survive the trip."""
    fser = connect_legacy(server)
    try:
        cases = {
            unique + "-bytes": bytes(range(256)),
            unique + "-empty": b"",
            unique + "-null": None,
            unique + "-\u00e9t\u00e9-\u6771\u4eac": b"\x00\xff",
        }
        for key, value in cases.items():
            ok(legacy_call(fser, "KV.insert", [STRING, VARBINARY], [key, value]))
        for key, value in cases.items():
            rows = ok(legacy_call(fser, "KV_GET", [STRING], [key])).tables[0].tuples
            assert len(rows) == 1, "key %r: %r" % (key, rows)
            got = rows[0][0]
            assert (None if got is None else bytes(got)) == value, "key %r" % key
    finally:
        fser.close()


def test_admin_port_serves_the_same_database(server, unique):
    fser = connect_legacy(server, port=server.admin_port)
    try:
        ok(legacy_call(fser, "@Ping", [], []))
        ok(legacy_call(fser, "HelloInsert", [STRING] * 3, ["Hallo", "Welt", unique + "-Deutsch"]))
    finally:
        fser.close()
    fser = connect_legacy(server)
    try:
        rows = ok(legacy_call(fser, "HelloSelect", [STRING], [unique + "-Deutsch"])).tables[0].tuples
        assert rows == [["Hallo", "Welt"]]
    finally:
        fser.close()


def test_wrong_arity_is_refused_and_the_connection_keeps_working(server, unique):
    fser = connect_legacy(server)
    try:
        response = legacy_call(fser, "HelloInsert", [STRING] * 2, ["Hej", "Verden"])
        assert response.status == GRACEFUL_FAILURE, describe(response)
        assert response.statusString
        ok(legacy_call(fser, "HelloInsert", [STRING] * 3, ["Hej", "Verden", unique + "-Dansk"]))
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM HELLOWORLD WHERE DIALECT = '%s-Dansk'"
                             % unique) == 1
    finally:
        fser.close()


def test_integer_widths_convert_to_the_column_type(server):
    """The wire type is the caller's choice (§3.5): any integer width for an INTEGER column."""
    fser = connect_legacy(server)
    try:
        for i, t in enumerate([FastSerializer.VOLTTYPE_TINYINT, FastSerializer.VOLTTYPE_SMALLINT,
                               INTEGER, FastSerializer.VOLTTYPE_BIGINT]):
            ok(legacy_call(fser, "REGIONS.insert", [t, STRING], [100 + i, "width-%d" % i]))
        assert legacy_scalar(fser, "SELECT COUNT(*) FROM REGIONS WHERE ID BETWEEN 100 AND 103") == 4
    finally:
        fser.close()
