import Testing
@testable import Node

/// One conformance case: a schema, setup statements, a statement with parameters, and either the
/// expected rows (rendered "a|b|c"; `ordered: false` compares as sorted multisets) or the expected
/// error kind plus a fragment of its message.
struct SQLCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable {
        case rows([String], ordered: Bool)
        case error(SQLError.Kind, String)
    }
    var name: String
    var schema: String = SQLCase.defaultSchema
    var setup: [String] = SQLCase.defaultSetup
    var sql: String
    var params: [Value] = []
    var expected: Expected
    var testDescription: String { name }

    static let defaultSchema = """
        CREATE TABLE emp (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, dept VARCHAR(10), salary DECIMAL,
                          age TINYINT, hired TIMESTAMP, score FLOAT);
        CREATE TABLE dept (code VARCHAR(10) NOT NULL PRIMARY KEY, title VARCHAR(40), budget BIGINT);
        CREATE INDEX idx_emp_dept ON emp (dept, age);
        """
    static let defaultSetup = [
        "INSERT INTO emp VALUES (1, 'Alice', 'ENG', 120.50, 30, '2020-01-15 09:30:00', 1.5)",
        "INSERT INTO emp VALUES (2, 'Bob', 'ENG', 100, 45, '2019-06-01 00:00:00', 2.5)",
        "INSERT INTO emp VALUES (3, 'Carol', 'OPS', 90, 28, NULL, NULL)",
        "INSERT INTO emp VALUES (4, 'Dan', NULL, NULL, NULL, NULL, 4.0)",
        "INSERT INTO emp (id, name, dept, age) VALUES (5, 'Eve', 'OPS', 35)",
        "INSERT INTO dept VALUES ('ENG', 'Engineering', 1000), ('OPS', 'Operations', 500), ('HR', 'People', NULL)",
    ]

    static func rows(_ name: String, _ sql: String, params: [Value] = [], _ rows: [String], ordered: Bool = true) -> SQLCase {
        SQLCase(name: name, sql: sql, params: params, expected: .rows(rows, ordered: ordered))
    }

    static func error(_ name: String, _ sql: String, params: [Value] = [], _ kind: SQLError.Kind, _ fragment: String) -> SQLCase {
        SQLCase(name: name, sql: sql, params: params, expected: .error(kind, fragment))
    }
}

let conformanceCases: [SQLCase] = [
    // SELECT basics
    .rows("select star", "SELECT * FROM dept ORDER BY code", ["ENG|Engineering|1000", "HR|People|NULL", "OPS|Operations|500"]),
    .rows("qualified star and alias", "SELECT d.*, 1 AS one FROM dept d WHERE d.code = 'HR'", ["HR|People|NULL|1"]),
    .rows("where and order desc", "SELECT name FROM emp WHERE age > 29 ORDER BY age DESC", ["Bob", "Eve", "Alice"]),
    .rows("order by ordinal", "SELECT name, age FROM emp WHERE age IS NOT NULL ORDER BY 2", ["Carol|28", "Alice|30", "Eve|35", "Bob|45"]),
    .rows("order by alias", "SELECT name AS n FROM emp ORDER BY n DESC LIMIT 2", ["Eve", "Dan"]),
    .rows("limit offset", "SELECT id FROM emp ORDER BY id LIMIT 2 OFFSET 1", ["2", "3"]),
    .rows("limit param", "SELECT id FROM emp ORDER BY id LIMIT ?", params: [.integer(1)], ["1"]),
    .rows("distinct", "SELECT DISTINCT dept FROM emp ORDER BY dept", ["NULL", "ENG", "OPS"]),
    .rows("nulls sort first", "SELECT id FROM emp ORDER BY salary, id", ["4", "5", "3", "2", "1"]),
    // expressions
    .rows("arithmetic", "SELECT id * 2 + 1, 7 / 2, 7 % 3, -id FROM emp WHERE id = 3", ["7|3|1|-3"]),
    .rows("decimal arithmetic", "SELECT salary * 2 FROM emp WHERE id = 1", ["241.000000000000"]),
    .rows("float arithmetic", "SELECT score / 2 FROM emp WHERE id = 2", ["1.25"]),
    .rows("concat", "SELECT name || '-' || dept FROM emp WHERE id = 1", ["Alice-ENG"]),
    .rows("concat null", "SELECT name || dept FROM emp WHERE id = 4", ["NULL"]),
    .rows("in list", "SELECT id FROM emp WHERE id IN (1, 3, 9) ORDER BY id", ["1", "3"]),
    .rows("not in with null is unknown", "SELECT id FROM emp WHERE id NOT IN (1, NULL)", []),
    .rows("between", "SELECT id FROM emp WHERE age BETWEEN 30 AND 40 ORDER BY id", ["1", "5"]),
    .rows("not between", "SELECT id FROM emp WHERE age NOT BETWEEN 30 AND 40 ORDER BY id", ["2", "3"]),
    .rows("like", "SELECT name FROM emp WHERE name LIKE '%a%' ORDER BY name", ["Carol", "Dan"]),
    .rows("like underscore", "SELECT name FROM emp WHERE name LIKE '_ve'", ["Eve"]),
    .rows("like escape", "SELECT COUNT(*) FROM dept WHERE title LIKE 'Eng!%' ESCAPE '!'", ["0"]),
    .rows("is null", "SELECT id FROM emp WHERE dept IS NULL", ["4"]),
    .rows("three valued and/or", "SELECT id FROM emp WHERE (dept = 'ENG' OR age > 100) AND NOT (salary < 110) ORDER BY id", ["1"]),
    .rows("null comparison is unknown", "SELECT COUNT(*) FROM emp WHERE dept <> 'ENG'", ["2"]),
    .rows("case when", "SELECT id, CASE WHEN age < 30 THEN 'young' WHEN age >= 30 THEN 'senior' ELSE 'n/a' END FROM emp ORDER BY id",
          ["1|senior", "2|senior", "3|young", "4|n/a", "5|senior"]),
    .rows("simple case", "SELECT CASE dept WHEN 'ENG' THEN 1 ELSE 0 END FROM emp WHERE id = 2", ["1"]),
    .rows("cast", "SELECT CAST(age AS VARCHAR), CAST('12' AS INTEGER), CAST(salary AS INTEGER) FROM emp WHERE id = 1", ["30|12|120"]),
    .rows("string functions", "SELECT UPPER(name), LOWER(name), CHAR_LENGTH(name), SUBSTRING(name, 2, 3), TRIM('  x  '), REPLACE(name, 'l', 'L') FROM emp WHERE id = 1",
          ["ALICE|alice|5|lic|x|ALice"]),
    .rows("more string functions", "SELECT CONCAT(name, '!', dept), POSITION('c' IN name), LTRIM('  a'), RTRIM('a  '), OCTET_LENGTH('é') FROM emp WHERE id = 1",
          ["Alice!ENG|4|a|a|2"]),
    .rows("numeric functions", "SELECT ABS(-5), FLOOR(2.7), CEILING(2.1), ROUND(2.567, 2), MOD(10, 3), POWER(2, 10), SQRT(16.0) FROM emp WHERE id = 1",
          ["5|2.000000000000|3.000000000000|2.570000000000|1|1024.0|4.0"]),
    .rows("coalesce nullif decode", "SELECT COALESCE(dept, 'none'), NULLIF(id, 4), DECODE(id, 4, 'four', 'other') FROM emp WHERE id = 4", ["none|NULL|four"]),
    .rows("timestamp functions", "SELECT YEAR(hired), MONTH(hired), DAY(hired), EXTRACT(HOUR FROM hired), SINCE_EPOCH(SECOND, hired) FROM emp WHERE id = 1",
          ["2020|1|15|9|1579080600"]),
    .rows("now comes from the transaction", "SELECT NOW, TO_TIMESTAMP(SECOND, 0), FROM_UNIXTIME(1) FROM emp WHERE id = 1",
          ["TIMESTAMP(1600000000123456)|TIMESTAMP(0)|TIMESTAMP(1000000)"]),
    .rows("timestamp literal comparison", "SELECT id FROM emp WHERE hired > '2019-12-31' ORDER BY id", ["1"]),
    // aggregates
    .rows("count star", "SELECT COUNT(*) FROM emp", ["5"]),
    .rows("count column skips nulls", "SELECT COUNT(dept), COUNT(DISTINCT dept) FROM emp", ["4|2"]),
    .rows("sum min max avg", "SELECT SUM(age), MIN(age), MAX(age), AVG(age) FROM emp", ["138|28|45|34"]),
    .rows("avg of decimal", "SELECT AVG(salary) FROM emp", ["103.500000000000"]),
    .rows("aggregates of empty set", "SELECT COUNT(*), SUM(age), MAX(name) FROM emp WHERE id > 100", ["0|NULL|NULL"]),
    .rows("group by", "SELECT dept, COUNT(*), SUM(age) FROM emp GROUP BY dept ORDER BY dept", ["NULL|1|NULL", "ENG|2|75", "OPS|2|63"]),
    .rows("group by having", "SELECT dept, COUNT(*) AS n FROM emp GROUP BY dept HAVING COUNT(*) > 1 ORDER BY n DESC, dept", ["ENG|2", "OPS|2"]),
    .rows("group by expression", "SELECT age / 10, COUNT(*) FROM emp WHERE age IS NOT NULL GROUP BY age / 10 ORDER BY 1", ["2|1", "3|2", "4|1"]),
    .rows("order by aggregate", "SELECT dept FROM emp WHERE dept IS NOT NULL GROUP BY dept ORDER BY MAX(age) DESC", ["ENG", "OPS"]),
    .error("bare column needs group by", "SELECT name, COUNT(*) FROM emp", .planning, "GROUP BY"),
    .error("sum of varchar", "SELECT SUM(name) FROM emp", .typeMismatch, "numeric"),
    // joins
    .rows("comma join", "SELECT e.name, d.title FROM emp e, dept d WHERE e.dept = d.code AND e.age > 29 ORDER BY e.name",
          ["Alice|Engineering", "Bob|Engineering", "Eve|Operations"]),
    .rows("inner join on", "SELECT emp.id, budget FROM emp INNER JOIN dept ON emp.dept = dept.code WHERE budget < 1000 ORDER BY emp.id", ["3|500", "5|500"]),
    .rows("join with aggregate", "SELECT d.title, COUNT(*) FROM dept d JOIN emp e ON e.dept = d.code GROUP BY d.title ORDER BY d.title",
          ["Engineering|2", "Operations|2"]),
    .error("ambiguous column", "SELECT title FROM dept a, dept b", .planning, "ambiguous"),
    // DML
    .rows("insert returns count", "INSERT INTO dept VALUES ('FIN', 'Finance', 7), ('LEG', NULL, NULL)", ["2"]),
    .rows("update returns count", "UPDATE emp SET age = age + 1, name = 'X' || name WHERE dept = 'OPS'", ["2"]),
    .rows("delete returns count", "DELETE FROM emp WHERE age < 31", ["2"]),
    .rows("upsert", "UPSERT INTO dept VALUES ('HR', 'Humans', 5)", ["1"]),
    .rows("insert select", "INSERT INTO dept (code, title) SELECT code || '2', title FROM dept WHERE budget IS NOT NULL", ["2"]),
    // coercion of parameters and literals
    .rows("string param for integer column", "SELECT name FROM emp WHERE id = ?", params: [.string("2")], ["Bob"]),
    .rows("integer param for varchar column", "SELECT COUNT(*) FROM dept WHERE code = ?", params: [.integer(5)], ["0"]),
    .rows("param in like", "SELECT name FROM emp WHERE name LIKE ?", params: [.string("B%")], ["Bob"]),
    .error("bad string param", "SELECT name FROM emp WHERE id = ?", params: [.string("two")], .typeMismatch, "Parameter 1"),
    .error("wrong parameter count", "SELECT name FROM emp WHERE id = ?", .wrongParameterCount, "EXPECTS 1 PARAMS"),
    .error("varchar vs integer literal", "SELECT * FROM emp WHERE name = 5", .typeMismatch, "Incompatible"),
    // errors
    .error("unknown table", "SELECT * FROM nope", .unknownTable, "NOPE"),
    .error("unknown column", "SELECT nope FROM emp", .unknownColumn, "NOPE"),
    .error("unknown function", "SELECT FROBNICATE(id) FROM emp", .planning, "Unknown function FROBNICATE"),
    .error("division by zero", "SELECT id / 0 FROM emp", .divisionByZero, "divide"),
    .error("integer overflow", "SELECT 9223372036854775807 + id FROM emp", .valueOutOfRange, "overflow"),
    .error("syntax error", "SELECT id FORM emp", .syntax, "unexpected token 'FORM' at line 1, column 11; expected FROM"),
    .error("duplicate primary key", "INSERT INTO emp (id, name) VALUES (1, 'Dup')", .constraintViolation, ""),
    .error("not null", "INSERT INTO emp (id) VALUES (9)", .constraintViolation, ""),
    .error("varchar too long", "INSERT INTO dept (code) VALUES ('ABCDEFGHIJKLMNOP')", .valueOutOfRange, ""),
    .error("tinyint out of range", "UPDATE emp SET age = 300 WHERE id = 1", .valueOutOfRange, "TINYINT"),
    .error("upsert needs primary key", "UPSERT INTO nopk VALUES (1)", .unknownTable, "NOPK"),
]

@Suite struct SQLConformanceTests {
    @Test(arguments: conformanceCases)
    func conformance(_ c: SQLCase) throws {
        let cluster = try SQLTestCluster(schema: c.schema)
        for s in c.setup { try cluster.sql(s) }
        switch c.expected {
        case .rows(let expected, let ordered):
            let result = try cluster.sql(c.sql, c.params)
            let got = render(result.rows)
            #expect((ordered ? got : got.sorted()) == (ordered ? expected : expected.sorted()), "\(c.sql)")
        case .error(let kind, let fragment):
            do {
                let r = try cluster.sql(c.sql, c.params)
                Issue.record("expected \(kind) error, got \(render(r.rows))")
            } catch let e as SQLError {
                #expect(e.kind == kind, "\(e)")
                #expect(fragment.isEmpty || e.message.contains(fragment), "\(e.message)")
            }
        }
    }

    @Test func resultColumnNamesAndTypes() throws {
        let cluster = try SQLTestCluster(schema: SQLCase.defaultSchema)
        for s in SQLCase.defaultSetup { try cluster.sql(s) }
        let r = try cluster.sql("SELECT id, name AS who, COUNT(*), SUM(age), AVG(salary), age + 1 FROM emp GROUP BY id, name, age")
        #expect(r.columns.map(\.name) == ["ID", "WHO", "C3", "C4", "C5", "C6"])
        #expect(r.columns.map(\.type) == [.integer, .varchar, .bigint, .bigint, .decimal, .bigint])
        let dml = try cluster.sql("DELETE FROM emp WHERE id = 99")
        #expect(dml == .modifiedTuples(0))
    }

    @Test func failedStatementLeavesNothingBehind() throws {
        let cluster = try SQLTestCluster(schema: SQLCase.defaultSchema)
        for s in SQLCase.defaultSetup { try cluster.sql(s) }
        // The second row violates the primary key: the first must be rolled back with it.
        #expect(throws: SQLError.self) { try cluster.sql("INSERT INTO dept VALUES ('NEW', 'x', 1), ('ENG', 'dup', 2)") }
        #expect(try cluster.sql("SELECT COUNT(*) FROM dept").scalar == .integer(3))
        #expect(throws: SQLError.self) { try cluster.sql("UPDATE emp SET age = age * 10") }
        #expect(render(try cluster.sql("SELECT age FROM emp WHERE id = 1").rows) == ["30"])
    }

    @Test func multiStatementProcedureRollsBackAsAWhole() throws {
        let cluster = try SQLTestCluster(schema: SQLCase.defaultSchema + """
            CREATE PROCEDURE Transfer AS BEGIN
              UPDATE dept SET budget = budget - ? WHERE code = ?;
              UPDATE dept SET budget = budget + ? WHERE code = ?;
              INSERT INTO dept (code, title) VALUES (?, 'audit');
            END;
            """)
        for s in SQLCase.defaultSetup { try cluster.sql(s) }
        let proc = try #require(cluster.catalog.procedure(named: "transfer"))
        #expect(proc.parameterCount == 5)
        let ok = try cluster.procedure("Transfer", [.integer(10), .string("ENG"), .integer(10), .string("OPS"), .string("A1")])
        #expect(ok.map(\.scalar) == [.integer(1), .integer(1), .integer(1)])
        // The last statement fails (duplicate key): both updates must be undone.
        #expect(throws: SQLError.self) {
            try cluster.procedure("Transfer", [.integer(5), .string("ENG"), .integer(5), .string("OPS"), .string("A1")])
        }
        #expect(render(try cluster.sql("SELECT budget FROM dept WHERE code IN ('ENG', 'OPS') ORDER BY code").rows) == ["990", "510"])
    }
}
