import Testing
import VoltClient
import VoltModel
import VoltWire

@Suite struct SQLStatementParsing {
    @Test func execWithArguments() throws {
        #expect(try SQLStatement.parse("exec STORE.select 'K1'") == .exec(procedure: "STORE.select", arguments: [.string("K1")]))
        #expect(try SQLStatement.parse("EXECUTE Add 1, 2.5,NULL  'x y'") == .exec(
            procedure: "Add", arguments: [.integer(1), .decimal("2.5"), .null, .string("x y")]))
        #expect(try SQLStatement.parse("exec Ping") == .exec(procedure: "Ping", arguments: []))
    }

    @Test func directives() throws {
        #expect(try SQLStatement.parse("show tables") == .showTables)
        #expect(try SQLStatement.parse("SHOW Procedures") == .showProcedures)
        #expect(try SQLStatement.parse("show classes") == .showClasses)
        #expect(try SQLStatement.parse("describe store") == .describe(table: "store"))
        #expect(try SQLStatement.parse("explain select 1") == .explain("select 1"))
        #expect(try SQLStatement.parse("quit") == .quit)
        #expect(try SQLStatement.parse("EXIT") == .quit)
    }

    @Test func sqlAndDDL() throws {
        #expect(try SQLStatement.parse("  SELECT * FROM T ") == .adHoc("SELECT * FROM T", isDDL: false))
        #expect(try SQLStatement.parse("create table T (A INTEGER)") == .adHoc("create table T (A INTEGER)", isDDL: true))
        #expect(try SQLStatement.parse("PARTITION TABLE T ON COLUMN A") == .adHoc("PARTITION TABLE T ON COLUMN A", isDDL: true))
        #expect(try SQLStatement.parse("DROP TABLE T") == .adHoc("DROP TABLE T", isDDL: true))
        #expect(try SQLStatement.parse("delete from T") == .adHoc("delete from T", isDDL: false))
    }

    @Test func malformedDirectivesAreRejected() {
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("exec") }
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("show nothing") }
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("describe") }
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("exec P 'open") }
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("exec P 1,,2") }
        #expect(throws: SQLInputError.self) { try SQLStatement.parse("exec P 1,") }
    }

    @Test func immediateDirectives() {
        #expect(SQLStatement.isImmediateDirective("exit"))
        #expect(SQLStatement.isImmediateDirective(" quit; "))
        #expect(SQLStatement.isImmediateDirective("show tables"))
        #expect(SQLStatement.isImmediateDirective("describe T"))
        #expect(!SQLStatement.isImmediateDirective("select 1"))
        #expect(!SQLStatement.isImmediateDirective("exec P 1"))
    }
}

@Suite struct SQLLiteralParsing {
    @Test func literalKinds() throws {
        #expect(try SQLLiteral.parseList("-12, 3.50 1e3 null NULL 'a''b' X'0aFF' bare") == [
            .integer(-12), .decimal("3.50"), .decimal("1e3"), .null, .null, .string("a'b"), .bytes([0x0A, 0xFF]), .string("bare"),
        ])
        #expect(try SQLLiteral.parseList("") == [])
        #expect(try SQLLiteral.parseList("'', ' '") == [.string(""), .string(" ")])
        #expect(try SQLLiteral.parseList("99999999999999999999") == [.decimal("99999999999999999999")])
    }

    @Test func badLiterals() {
        #expect(throws: SQLInputError.self) { try SQLLiteral.parseList("X'ABC'") }
        #expect(throws: SQLInputError.self) { try SQLLiteral.parseList("'a'b") }
        #expect(throws: SQLInputError.self) { try SQLLiteral.parseList(", 1") }
    }

    @Test func naturalTypesWhenTheProcedureIsUnknown() {
        #expect(SQLLiteral.integer(5).naturalParameter == .bigint(5))
        #expect(SQLLiteral.decimal("1.5").naturalParameter == .decimal(VoltDecimal(string: "1.5")))
        #expect(SQLLiteral.decimal("1e3").naturalParameter == .float(1000))
        #expect(SQLLiteral.string("x").naturalParameter == .string("x"))
        #expect(SQLLiteral.null.naturalParameter == .null)
        #expect(SQLLiteral.bytes([1]).naturalParameter == .varbinary([1]))
    }

    @Test func conversionToDeclaredTypes() throws {
        #expect(try SQLLiteral.integer(7).wireParameter(for: .tinyint) == .tinyint(7))
        #expect(try SQLLiteral.string("42").wireParameter(for: .integer) == .integer(42))
        #expect(try SQLLiteral.decimal("3.0").wireParameter(for: .bigint) == .bigint(3))
        #expect(try SQLLiteral.integer(2).wireParameter(for: .float) == .float(2))
        #expect(try SQLLiteral.decimal("2.25").wireParameter(for: .decimal) == .decimal(VoltDecimal(string: "2.25")))
        #expect(try SQLLiteral.integer(12).wireParameter(for: .varchar) == .string("12"))
        #expect(try SQLLiteral.string("0aff").wireParameter(for: .varbinary) == .varbinary([0x0A, 0xFF]))
        #expect(try SQLLiteral.string("1970-01-02 00:00:01.5").wireParameter(for: .timestamp)
            == .timestamp(micros: 86_401_500_000))
        #expect(try SQLLiteral.null.wireParameter(for: .integer) == .value(.null, wireType: .integer))
    }

    @Test func conversionErrorsSayWhatIsWrong() {
        #expect(throws: SQLInputError("300 is out of range for TINYINT (-127...127)")) {
            try SQLLiteral.integer(300).wireParameter(for: .tinyint)
        }
        #expect(throws: SQLInputError("1.5 is not a valid INTEGER value")) {
            try SQLLiteral.decimal("1.5").wireParameter(for: .integer)
        }
        #expect(throws: SQLInputError("'yesterday' is not a valid TIMESTAMP value")) {
            try SQLLiteral.string("yesterday").wireParameter(for: .timestamp)
        }
    }
}
