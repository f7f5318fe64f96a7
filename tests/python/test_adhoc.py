"""@AdHoc: DDL then queries, through the topology-aware client (any node must accept it)."""

from voltclient import VoltType

from support import STRING, adhoc, describe, ok, scalar


def test_create_insert_select_drop_partitioned_table(server, client, unique):
    table = unique.upper() + "_P"
    adhoc(client, "CREATE TABLE %s (ID BIGINT NOT NULL, NAME VARCHAR(20), PRIMARY KEY (ID));"
                  " PARTITION TABLE %s ON COLUMN ID;" % (table, table))
    for i in range(20):
        dml = adhoc(client, "INSERT INTO %s VALUES (%d, 'n%d')" % (table, i, i))
        assert dml.tables[0].tuples == [[1]], "DML answers one row: modified_tuples"
    assert scalar(client, "SELECT COUNT(*) FROM %s" % table) == 20
    rows = adhoc(client, "SELECT ID, NAME FROM %s WHERE ID >= 18 ORDER BY ID" % table).tables[0]
    assert [c.name for c in rows.columns] == ["ID", "NAME"]
    assert rows.tuples == [[18, "n18"], [19, "n19"]]
    assert adhoc(client, "UPDATE %s SET NAME = 'x' WHERE ID < 5" % table).tables[0].tuples == [[5]]
    assert adhoc(client, "DELETE FROM %s WHERE ID >= 10" % table).tables[0].tuples == [[10]]
    assert scalar(client, "SELECT COUNT(*) FROM %s WHERE NAME = 'x'" % table) == 5

    # The new table's default procedures exist and are reported for routing after a refresh.
    ok(client.call("%s.insert" % table, [VoltType.BIGINT, VoltType.STRING], [100, "crud"]))
    procs = client.refresh_topology().procedures
    assert procs["%s.insert" % table].single_partition
    assert ok(client.call("%s.select" % table, [VoltType.BIGINT], [100])).tables[0].tuples == \
        [[100, "crud"]]

    adhoc(client, "DROP TABLE %s" % table)
    gone = client.call("@AdHoc", [STRING], ["SELECT COUNT(*) FROM %s" % table])
    assert gone.status != 1, "query of a dropped table succeeded: " + describe(gone)
    assert table in (gone.statusString or "").upper(), describe(gone)
    gone = client.call("%s.insert" % table, [VoltType.BIGINT, VoltType.STRING], [1, "x"])
    assert gone.status != 1, "default procedure of a dropped table still runs: " + describe(gone)


def test_replicated_table_ddl_and_multi_statement_batch(server, client, unique):
    table = unique.upper() + "_R"
    adhoc(client, "CREATE TABLE %s (ID INTEGER NOT NULL, NAME VARCHAR(20), PRIMARY KEY (ID))"
          % table)
    batch = adhoc(client, "INSERT INTO %s VALUES (1, 'a'); INSERT INTO %s VALUES (2, 'b');"
                          " SELECT NAME FROM %s ORDER BY ID;" % (table, table, table))
    assert len(batch.tables) == 3, "one result table per statement"
    assert batch.tables[0].tuples == [[1]] and batch.tables[1].tuples == [[1]]
    assert batch.tables[2].tuples == [["a"], ["b"]]
    adhoc(client, "DROP TABLE %s" % table)


def test_bad_sql_is_refused_with_a_message(server, client, unique):
    for sql in ["SELEC 1", "SELECT * FROM NO_SUCH_TABLE_%s" % unique.upper(),
                "INSERT INTO KV VALUES ('only-one-column-of-two')",
                "CREATE TABLE KV (K VARCHAR(4))"]:
        response = client.call("@AdHoc", [STRING], [sql])
        assert response.status != 1, "%r succeeded" % sql
        assert response.statusString, "%r refused without a message" % sql
    # The failures changed nothing and the server still answers.
    assert scalar(client, "SELECT COUNT(*) FROM KV WHERE K = 'only-one-column-of-two'") == 0


def test_failed_statement_rolls_back_its_batch(server, client, unique):
    """A duplicate key in the second statement undoes the first: VoltDB runs the statements of
    one @AdHoc call as a single transaction ("they all succeed as a group or they all roll back
    if any of them fail", docs.voltactivedata.com/UsingVoltDB/sysprocadhoc.php)."""
    table = unique.upper() + "_TX"
    adhoc(client, "CREATE TABLE %s (ID INTEGER NOT NULL, PRIMARY KEY (ID))" % table)
    adhoc(client, "INSERT INTO %s VALUES (1)" % table)
    response = client.call("@AdHoc", [STRING], ["INSERT INTO %s VALUES (2); INSERT INTO %s VALUES (1);"
                                                % (table, table)])
    assert response.status != 1, describe(response)
    assert scalar(client, "SELECT COUNT(*) FROM %s" % table) == 1
    adhoc(client, "DROP TABLE %s" % table)
