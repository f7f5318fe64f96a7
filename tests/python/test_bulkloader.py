"""`VoltBulkLoader`: 100,000 rows into a partitioned and into a replicated table through
@LoadSinglepartitionTable / @LoadMultipartitionTable (checklist §9d of docs/PROTOCOL.md), counted
back with @AdHoc."""

import pytest
from voltclient import VoltBulkLoader, VoltType

from support import adhoc, ok, scalar

ROWS = 100_000


def load(client, table, rows, **options):
    failures = []
    loader = VoltBulkLoader(client, table, timeout=60,
                            failure_callback=lambda fields, why: failures.append((fields, why)),
                            **options)
    loader.insert_rows(rows)
    loader.close()  # drains; every batch call has a 60 s deadline, so this is bounded
    return loader, failures


def first_failures(failures):
    return [(f, getattr(w, "statusString", w)) for f, w in failures[:3]]


@pytest.mark.timeout(300)
def test_bulk_load_partitioned_table(server, client):
    loader, failures = load(client, "bulk_p",
                            ((i, "name-%d" % i, i / 4.0) for i in range(ROWS)))
    assert loader.table_name == "BULK_P"
    assert loader.column_names == ("ID", "NAME", "AMOUNT")
    assert loader.column_types == (VoltType.BIGINT, VoltType.STRING, VoltType.FLOAT)
    assert failures == [], "%d rows failed, e.g. %r" % (len(failures), first_failures(failures))
    assert (loader.completed_row_count, loader.failed_row_count) == (ROWS, 0)

    assert scalar(client, "SELECT COUNT(*) FROM BULK_P") == ROWS
    assert scalar(client, "SELECT SUM(ID) FROM BULK_P") == ROWS * (ROWS - 1) // 2
    # Each row is where the ring puts it: the single-partition default select finds it.
    for i in (0, 1, 4242, ROWS - 1):
        rows = ok(client.call("BULK_P.select", [VoltType.BIGINT], [i])).tables[0].tuples
        assert rows == [[i, "name-%d" % i, i / 4.0]]


@pytest.mark.timeout(300)
def test_bulk_load_replicated_table(server, client):
    loader, failures = load(client, "BULK_R", ((i, "r-%d" % i) for i in range(ROWS)))
    assert failures == [], "%d rows failed, e.g. %r" % (len(failures), first_failures(failures))
    assert (loader.completed_row_count, loader.failed_row_count) == (ROWS, 0)
    assert scalar(client, "SELECT COUNT(*) FROM BULK_R") == ROWS
    assert adhoc(client, "SELECT NAME FROM BULK_R WHERE ID = 77777").tables[0].tuples == \
        [["r-77777"]]


@pytest.mark.timeout(300)
def test_bulk_upsert_replaces_and_insert_refuses_duplicates(server, client):
    """Runs after the partitioned load: upsert rewrites existing rows; insert of existing keys
    fails row by row (the loader retries a failed batch row by row) and changes nothing."""
    assert scalar(client, "SELECT COUNT(*) FROM BULK_P") == ROWS, "needs the partitioned load first"
    loader, failures = load(client, "BULK_P", ((i, "up-%d" % i, -1.0) for i in range(1000)),
                            upsert=True)
    assert failures == [] and loader.completed_row_count == 1000
    assert scalar(client, "SELECT COUNT(*) FROM BULK_P WHERE NAME LIKE 'up-%'") == 1000
    assert scalar(client, "SELECT COUNT(*) FROM BULK_P") == ROWS

    loader, failures = load(client, "BULK_P", ((i, "dup-%d" % i, 0.0) for i in range(10)))
    assert loader.failed_row_count == 10 and len(failures) == 10
    for fields, why in failures:
        assert getattr(why, "status", None) not in (None, 1), (fields, why)
    assert scalar(client, "SELECT COUNT(*) FROM BULK_P WHERE NAME LIKE 'dup-%'") == 0
    assert scalar(client, "SELECT COUNT(*) FROM BULK_P") == ROWS
