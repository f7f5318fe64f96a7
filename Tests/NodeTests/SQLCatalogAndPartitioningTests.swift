import Testing
@testable import Node

private let partitionedSchema = """
    CREATE TABLE kv (k VARCHAR(32) NOT NULL, v VARBINARY(64), n INTEGER, PRIMARY KEY (k));
    PARTITION TABLE kv ON COLUMN k;
    CREATE TABLE orders (id BIGINT NOT NULL, cust INTEGER NOT NULL, amount DECIMAL, qty INTEGER, note VARCHAR(20),
                         PRIMARY KEY (id, cust));
    PARTITION TABLE orders ON COLUMN cust;
    CREATE INDEX idx_orders_qty ON orders (qty);
    CREATE TABLE customers (cust INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20));
    PARTITION TABLE customers ON COLUMN cust;
    CREATE TABLE region (code INTEGER NOT NULL PRIMARY KEY, label VARCHAR(10));
    CREATE TABLE events (id INTEGER NOT NULL);
    PARTITION TABLE events ON COLUMN id;
    """

@Suite struct SQLCatalogTests {
    @Test func ddlBuildsCatalogAndChanges() throws {
        let (catalog, changes) = try Catalog.empty.applying(ddl: partitionedSchema)
        #expect(catalog.version == 1)
        #expect(catalog.tableNames == ["CUSTOMERS", "EVENTS", "KV", "ORDERS", "REGION"])
        #expect(catalog.table(named: "orders")?.partitionColumn == 1)
        #expect(catalog.table(named: "kv")?.columns[0].nullable == false)
        #expect(changes.contains(.createIndex(IndexDefinition(name: "IDX_ORDERS_QTY", table: "ORDERS", columns: [3], unique: false))))
        let names = catalog.procedures.map(\.name)
        #expect(names == names.sorted())
        #expect(names.contains("KV.insert") && names.contains("KV.select") && names.contains("KV.update"))
        #expect(names.contains("EVENTS.insert") && !names.contains("EVENTS.upsert"))
        #expect(names.contains("REGION.delete") && !names.contains("REGION.select"))
        let select = try #require(catalog.procedure(named: "orders.SELECT"))
        #expect(select.partitioning == .single(parameterIndex: 1, type: .integer))
        #expect(select.readOnly && select.isDefault)
        #expect(catalog.procedure(named: "ORDERS.update")?.partitioning == .single(parameterIndex: 6, type: .integer))
        #expect(catalog.procedure(named: "REGION.insert")?.partitioning == .multi)
    }

    @Test func ddlErrorsLeaveCatalogUnchanged() throws {
        let (catalog, _) = try Catalog.empty.applying(ddl: partitionedSchema)
        let bad: [(String, SQLError.Kind)] = [
            ("CREATE TABLE kv (a INT)", .duplicateObject),
            ("CREATE TABLE t2 (a INT); CREATE TABLE t2 (b INT)", .duplicateObject),
            ("DROP TABLE nope", .unknownTable),
            ("DROP INDEX nope", .unknownIndex),
            ("DROP PROCEDURE nope", .unknownProcedure),
            ("CREATE INDEX i ON nope (a)", .unknownTable),
            ("CREATE TABLE u (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a)); PARTITION TABLE u ON COLUMN b", .planning),
            ("CREATE TABLE f (a FLOAT NOT NULL); PARTITION TABLE f ON COLUMN a", .planning),
            ("CREATE UNIQUE INDEX ui ON orders (qty)", .planning),
            ("CREATE PROCEDURE p PARTITION ON TABLE kv COLUMN k AS INSERT INTO region VALUES (?, ?)", .planning),
            ("CREATE PROCEDURE p PARTITION ON TABLE kv COLUMN k PARAMETER 3 AS SELECT * FROM kv WHERE k = ?", .planning),
            ("CREATE PROCEDURE p AS SELECT nope FROM kv", .unknownColumn),
            ("CREATE TABLE x (a INT", .syntax),
        ]
        for (ddl, kind) in bad {
            do {
                _ = try catalog.applying(ddl: ddl)
                Issue.record("expected \(kind) for \(ddl)")
            } catch {
                #expect(error.kind == kind, "\(ddl): \(error)")
            }
        }
        #expect(catalog.version == 1)
        // IF EXISTS forms succeed silently; ASSUMEUNIQUE is allowed without the partition column.
        let (next, _) = try catalog.applying(ddl: "DROP TABLE nope IF EXISTS; DROP INDEX IF EXISTS nope; DROP PROCEDURE IF EXISTS nope; CREATE ASSUMEUNIQUE INDEX au ON orders (qty)")
        #expect(next.version == 2)
        // Dropping a table that a procedure uses fails as a whole.
        let (withProc, _) = try next.applying(ddl: "CREATE PROCEDURE GetKV PARTITION ON TABLE kv COLUMN k AS SELECT v FROM kv WHERE k = ?")
        #expect(throws: SQLError.self) { try withProc.applying(ddl: "DROP TABLE kv") }
        let (dropped, changes) = try withProc.applying(ddl: "DROP PROCEDURE getkv; DROP TABLE kv")
        #expect(dropped.table(named: "KV") == nil && changes == [.dropTable("KV")])
    }

    @Test func userProcedurePartitioning() throws {
        let cluster = try SQLTestCluster(partitions: 3, schema: partitionedSchema + """
            CREATE PROCEDURE AddOrder PARTITION ON TABLE orders COLUMN cust PARAMETER 1 AS
              INSERT INTO orders (id, cust, amount, qty) VALUES (?, ?, ?, ?);
            CREATE PROCEDURE Summary AS SELECT cust, SUM(qty) FROM orders GROUP BY cust ORDER BY cust;
            """)
        let add = try #require(cluster.catalog.procedure(named: "AddOrder"))
        #expect(add.partitioning == .single(parameterIndex: 1, type: .integer))
        #expect(add.partitionTable == "ORDERS" && add.partitionColumn == "CUST" && !add.readOnly)
        #expect(cluster.catalog.procedure(named: "summary")?.partitioning == .multi)
        for i in 0..<10 {
            _ = try cluster.procedure("AddOrder", [.integer(Int64(i)), .string(String(i % 4)), .string("1.5"), .integer(Int64(i))])
        }
        let r = try cluster.procedure("Summary", [])[0]
        #expect(render(r.rows) == ["0|12", "1|15", "2|8", "3|10"])
    }

    @Test func defaultCrudProcedures() throws {
        let cluster = try SQLTestCluster(partitions: 4, schema: partitionedSchema)
        #expect(try cluster.procedure("KV.insert", [.string("a"), .bytes([1, 2]), .integer(1)])[0] == .modifiedTuples(1))
        #expect(throws: SQLError.self) { try cluster.procedure("KV.insert", [.string("a"), .null, .null]) }
        #expect(try cluster.procedure("KV.upsert", [.string("b"), .null, .integer(2)])[0] == .modifiedTuples(1))
        #expect(try cluster.procedure("KV.update", [.string("a"), .bytes([9]), .integer(7), .string("a")])[0] == .modifiedTuples(1))
        #expect(try cluster.procedure("KV.update", [.string("z"), .null, .null, .string("z")])[0] == .modifiedTuples(0))
        let row = try cluster.procedure("kv.select", [.string("a")])[0]
        #expect(row.columns.map(\.name) == ["K", "V", "N"])
        #expect(row.rows == [[.string("a"), .bytes([9]), .integer(7)]])
        #expect(try cluster.procedure("KV.delete", [.string("a")])[0] == .modifiedTuples(1))
        #expect(try cluster.procedure("KV.select", [.string("a")])[0].rows.isEmpty)
        #expect(throws: SQLError.self) { try cluster.procedure("KV.select", []) }
        #expect(throws: SQLError.self) { try cluster.procedure("KV.insert", [.string(String(repeating: "x", count: 40)), .null, .null]) }
        #expect(throws: SQLError.self) { try cluster.procedure("KV.insert", [.string("big"), .null, .integer(1 << 40)]) }
        // Replicated defaults run on every partition and report one partition's count.
        #expect(try cluster.procedure("REGION.insert", [.integer(1), .string("eu")])[0] == .modifiedTuples(1))
        #expect(try cluster.procedure("REGION.upsert", [.string("1"), .string("EU")])[0] == .modifiedTuples(1))
        for s in cluster.stores { #expect(s.table(named: "REGION")?.rowCount == 1) }
        #expect(try cluster.sql("SELECT label FROM region").rows == [[.string("EU")]])
    }

    @Test func statementClassification() throws {
        let (catalog, _) = try Catalog.empty.applying(ddl: partitionedSchema)
        let cases: [(String, ProcedurePartitioning)] = [
            ("SELECT * FROM kv WHERE k = 'x'", .singleConstant(.string("x"), type: .varchar)),
            ("SELECT * FROM kv WHERE k = ?", .single(parameterIndex: 0, type: .varchar)),
            ("SELECT * FROM orders WHERE id = ? AND cust = ?", .single(parameterIndex: 1, type: .integer)),
            ("SELECT * FROM orders WHERE cust > 5", .multi),
            ("SELECT * FROM kv", .multi),
            ("SELECT * FROM region", .multi),
            ("INSERT INTO kv VALUES ('a', NULL, 1)", .singleConstant(.string("a"), type: .varchar)),
            ("INSERT INTO kv (n, k) VALUES (1, ?)", .single(parameterIndex: 0, type: .varchar)),
            ("INSERT INTO kv VALUES ('a', NULL, 1), ('b', NULL, 2)", .multi),
            ("UPDATE orders SET qty = 1 WHERE cust = 3", .singleConstant(.integer(3), type: .integer)),
            ("DELETE FROM region WHERE code = 1", .multi),
            ("SELECT o.id FROM orders o, customers c WHERE o.cust = c.cust AND c.cust = ?", .single(parameterIndex: 0, type: .integer)),
            ("SELECT o.id FROM orders o JOIN region r ON o.qty = r.code WHERE o.cust = 4", .singleConstant(.integer(4), type: .integer)),
        ]
        for (sql, expected) in cases {
            #expect(try catalog.compileAdHoc(sql).partitioning == expected, "\(sql)")
        }
        do {
            _ = try catalog.compileAdHoc("SELECT * FROM orders o, customers c WHERE o.id = c.cust")
            Issue.record("expected a planning error")
        } catch {
            #expect(error.kind == .planning && error.message.contains("Join of multiple partitioned tables has insufficient join criteria"))
        }
        #expect(throws: SQLError.self) { try catalog.compileAdHoc("UPDATE orders SET cust = 1") }
    }

    @Test func explainShowsAccessPaths() throws {
        let (catalog, _) = try Catalog.empty.applying(ddl: partitionedSchema + "CREATE INDEX idx_note ON orders (note, qty);")
        let cases: [(String, String)] = [
            ("SELECT * FROM orders WHERE id = ? AND cust = ?", "PRIMARY KEY LOOKUP of ORDERS"),
            ("SELECT * FROM orders WHERE qty = 5", "INDEX SCAN of ORDERS using IDX_ORDERS_QTY"),
            ("SELECT * FROM orders WHERE qty > ? AND qty <= 9", "INDEX SCAN of ORDERS using IDX_ORDERS_QTY"),
            ("SELECT * FROM orders WHERE note = 'a' AND qty < 3", "INDEX SCAN of ORDERS using IDX_NOTE"),
            ("SELECT * FROM orders WHERE amount = 1", "SEQUENTIAL SCAN of ORDERS"),
            ("DELETE FROM orders WHERE qty = 1", "INDEX SCAN of ORDERS using IDX_ORDERS_QTY"),
            ("SELECT * FROM customers c, orders o WHERE o.id = 1 AND o.cust = c.cust", "PRIMARY KEY LOOKUP of ORDERS"),
            ("SELECT * FROM kv WHERE k = 'a'", "PRIMARY KEY LOOKUP of KV"),
        ]
        for (sql, fragment) in cases {
            let explain = try catalog.compileAdHoc(sql).explain
            #expect(explain.contains(fragment), "\(sql): \(explain)")
        }
        #expect(catalog.procedure(named: "KV.select")?.explain.contains("PRIMARY KEY LOOKUP") == true)
    }

    @Test func indexPathsReturnTheSameRowsAsScans() throws {
        let cluster = try SQLTestCluster(schema: partitionedSchema)
        for i in 0..<30 {
            try cluster.sql("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [.integer(Int64(i)), .integer(Int64(i % 5)), .integer(Int64(i)), i % 7 == 0 ? .null : .integer(Int64(i % 6)), .string("n\(i % 3)")])
        }
        let indexed = try cluster.sql("SELECT id FROM orders WHERE qty >= 2 AND qty < 4 ORDER BY id")
        let scanned = try cluster.sql("SELECT id FROM orders WHERE qty + 0 >= 2 AND qty + 0 < 4 ORDER BY id")
        #expect(indexed.rows == scanned.rows && !indexed.rows.isEmpty)
        let below = try cluster.sql("SELECT COUNT(*) FROM orders WHERE qty < 2")
        let belowScan = try cluster.sql("SELECT COUNT(*) FROM orders WHERE qty + 0 < 2")
        #expect(below.rows == belowScan.rows)
    }
}

@Suite struct SQLMultiPartitionTests {
    /// Loads the same rows into a 4-partition cluster and a 1-partition cluster, then compares.
    func clusters() throws -> (SQLTestCluster, SQLTestCluster) {
        let mp = try SQLTestCluster(partitions: 4, schema: partitionedSchema)
        let one = try SQLTestCluster(partitions: 1, schema: partitionedSchema)
        for c in [mp, one] {
            for i in 0..<60 {
                let qty: Value = i % 9 == 0 ? .null : .integer(Int64(i % 7))
                try c.sql("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [.integer(Int64(i)), .integer(Int64(i % 11)), .string("\(i).25"), qty, .string("n\(i % 4)")])
            }
            for i in 0..<11 { try c.sql("INSERT INTO customers VALUES (?, ?)", [.integer(Int64(i)), .string("c\(i)")]) }
            try c.sql("INSERT INTO region VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        }
        let counts = mp.stores.map { $0.table(named: "ORDERS")!.rowCount }
        #expect(counts.reduce(0, +) == 60 && counts.filter { $0 > 0 }.count > 1)
        return (mp, one)
    }

    @Test func mergeMatchesSinglePartition() throws {
        let (mp, one) = try clusters()
        let queries = [
            "SELECT id, qty FROM orders ORDER BY qty DESC, id LIMIT 7 OFFSET 3",
            "SELECT COUNT(*), SUM(qty), MIN(amount), MAX(note), AVG(qty), AVG(amount) FROM orders",
            "SELECT cust, COUNT(*), AVG(qty) FROM orders GROUP BY cust ORDER BY cust",
            "SELECT note, SUM(amount) AS s FROM orders GROUP BY note HAVING SUM(amount) > 400 ORDER BY s DESC",
            "SELECT DISTINCT qty FROM orders ORDER BY qty",
            "SELECT COUNT(DISTINCT qty), COUNT(qty) FROM orders",
            "SELECT note, COUNT(DISTINCT cust), MAX(qty) FROM orders GROUP BY note ORDER BY note",
            "SELECT o.id, c.name FROM orders o JOIN customers c ON o.cust = c.cust WHERE o.qty = 3 ORDER BY o.id",
            "SELECT o.id, r.label FROM orders o, region r WHERE o.qty = r.code ORDER BY o.id LIMIT 5",
            "SELECT COUNT(*) FROM orders WHERE qty > 2",
            "SELECT label FROM region ORDER BY code",
            "SELECT id FROM orders WHERE qty IS NULL ORDER BY id",
        ]
        for q in queries {
            let a = try mp.sql(q), b = try one.sql(q)
            #expect(a.columns == b.columns, "\(q)")
            #expect(render(a.rows) == render(b.rows), "\(q)")
        }
        // Unordered results compare as multisets.
        let a = try mp.sql("SELECT id FROM orders WHERE note = 'n1'"), b = try one.sql("SELECT id FROM orders WHERE note = 'n1'")
        #expect(render(a.rows).sorted() == render(b.rows).sorted())
    }

    @Test func multiPartitionDml() throws {
        let (mp, one) = try clusters()
        for c in [mp, one] {
            #expect(try c.sql("UPDATE orders SET qty = 100 WHERE qty = 1").scalar == .integer(8))
            #expect(try c.sql("DELETE FROM orders WHERE cust = 3 OR cust = 4").scalar == .integer(12))
            #expect(try c.sql("UPDATE region SET label = 'x' WHERE code > 1").scalar == .integer(2))
            #expect(try c.sql("INSERT INTO orders (id, cust) VALUES (1000, 1), (1001, 2), (1002, 7)").scalar == .integer(3))
        }
        #expect(render(try mp.sql("SELECT COUNT(*), SUM(qty) FROM orders").rows) == render(try one.sql("SELECT COUNT(*), SUM(qty) FROM orders").rows))
        for s in mp.stores { #expect(s.table(named: "REGION")!.rowCount == 3) }
        // Each routed row landed on the partition that owns its key.
        for (i, s) in mp.stores.enumerated() {
            s.table(named: "ORDERS")!.forEachRow { id in
                #expect(mp.partition(of: s.table(named: "ORDERS")!.value(id, 1), .integer) == i)
                return true
            }
        }
    }

    @Test func failedMultiPartitionStatementRollsBackEveryPartition() throws {
        let (mp, _) = try clusters()
        #expect(throws: SQLError.self) { try mp.sql("UPDATE orders SET qty = 1000000 / (qty - 3)") }
        #expect(try mp.sql("SELECT COUNT(*) FROM orders WHERE qty > 100").scalar == .integer(0))
    }
}
