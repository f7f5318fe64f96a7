import Testing
@testable import Node
import VoltModel

@Suite("Storage: column coercion")
struct StorageCoercionTests {
    func column(_ type: SQLType, _ maxLength: Int? = nil, bytes: Bool = false, nullable: Bool = true) -> ColumnDefinition {
        ColumnDefinition(name: "X", type: type, maxLength: maxLength, lengthInBytes: bytes, nullable: nullable)
    }

    func error(_ c: ColumnDefinition, _ v: Value) -> StorageError? {
        storageError { _ = try c.coerce(v) }
    }

    @Test func integerWidthsKeepTheirRangeAndRejectTheNullSentinel() throws {
        for type in [SQLType.tinyint, .smallint, .integer, .bigint] {
            let range = type.integerRange!
            #expect(try column(type).coerce(.integer(range.lowerBound)) == .integer(range.lowerBound))
            #expect(try column(type).coerce(.integer(range.upperBound)) == .integer(range.upperBound))
            let sentinel = type.integerNullSentinel!
            #expect(error(column(type), .integer(sentinel))?.kind == .valueOutOfRange, "\(type) sentinel")
        }
        let e = error(column(.tinyint), .integer(300))
        #expect(e == StorageError(kind: .valueOutOfRange, message: "Value 300 out of range for TINYINT column X"))
        #expect(error(column(.smallint), .integer(40_000))?.message == "Value 40000 out of range for SMALLINT column X")
        #expect(error(column(.integer), .integer(Int64(Int32.max) + 1))?.kind == .valueOutOfRange)
    }

    @Test func integersFromWholeFloatsDecimalsAndText() throws {
        #expect(try column(.integer).coerce(.float(42)) == .integer(42))
        #expect(try column(.integer).coerce(.decimal(VoltDecimal(7))) == .integer(7))
        #expect(try column(.bigint).coerce(.string(" -12 ")) == .integer(-12))
        #expect(error(column(.integer), .float(2.5))?.kind == .typeMismatch)
        #expect(error(column(.integer), .decimal(VoltDecimal(string: "2.5")!))?.kind == .typeMismatch)
        #expect(error(column(.integer), .string("abc"))?.message == "Value 'abc' can't be converted to INTEGER for column X")
        #expect(error(column(.tinyint), .float(1000))?.kind == .valueOutOfRange)
        #expect(error(column(.bigint), .bytes([1]))?.message == "Type VARBINARY can't be cast as BIGINT for column X")
        #expect(error(column(.bigint), .timestamp(5))?.kind == .typeMismatch)
    }

    @Test func floatFromNumbersAndItsNullSentinel() throws {
        #expect(try column(.float).coerce(.integer(3)) == .float(3))
        #expect(try column(.float).coerce(.decimal(VoltDecimal(string: "1.25")!)) == .float(1.25))
        #expect(try column(.float).coerce(.string("2.5")) == .float(2.5))
        let negativeZero = try column(.float).coerce(.float(-0.0))
        #expect(negativeZero == .float(0) && { if case .float(let d) = negativeZero { d.sign == .plus } else { false } }())
        #expect(error(column(.float), .float(ColumnDefinition.floatNullSentinel))?.kind == .valueOutOfRange)
        #expect(error(column(.float), .float(.nan))?.kind == .valueOutOfRange)
        #expect(error(column(.float), .float(.infinity))?.kind == .valueOutOfRange)
        #expect(error(column(.float), .string("x"))?.kind == .typeMismatch)
        #expect(error(column(.float), .bytes([]))?.kind == .typeMismatch)
    }

    @Test func decimalFromIntegerFloatAndText() throws {
        #expect(try column(.decimal).coerce(.integer(5)) == .decimal(VoltDecimal(5)))
        #expect(try column(.decimal).coerce(.float(0.1)) == .decimal(VoltDecimal(string: "0.1")!))
        #expect(try column(.decimal).coerce(.string("-12.345")) == .decimal(VoltDecimal(string: "-12.345")!))
        #expect(error(column(.decimal), .string("1" + String(repeating: "0", count: 30)))?.kind == .valueOutOfRange)
        #expect(error(column(.decimal), .string("twelve"))?.kind == .typeMismatch)
        #expect(error(column(.decimal), .float(1e30))?.kind == .valueOutOfRange)
        #expect(error(column(.decimal), .timestamp(1))?.kind == .typeMismatch)
    }

    @Test func timestampFromMicroseconds() throws {
        #expect(try column(.timestamp).coerce(.integer(1_700_000_000_000_000)) == .timestamp(1_700_000_000_000_000))
        #expect(try column(.timestamp).coerce(.timestamp(-5)) == .timestamp(-5))
        #expect(error(column(.timestamp), .integer(Int64.min))?.kind == .valueOutOfRange)
        #expect(error(column(.timestamp), .string("2024-01-01"))?.kind == .typeMismatch)
    }

    @Test func varcharLengthInCharactersOrBytes() throws {
        let name = ColumnDefinition(name: "NAME", type: .varchar, maxLength: 10)
        #expect(try name.coerce(.string("éééééééééé")) == .string("éééééééééé"))  // 10 characters, 20 bytes
        #expect(error(name, .string("abcdefghijkl")) ==
                StorageError(kind: .valueTooLong, message: "Value too long for column NAME (VARCHAR(10)): 12 characters"))
        let inBytes = ColumnDefinition(name: "NAME", type: .varchar, maxLength: 10, lengthInBytes: true)
        #expect(error(inBytes, .string("éééééé"))?.message == "Value too long for column NAME (VARCHAR(10 BYTES)): 12 bytes")
        #expect(error(name, .integer(1))?.message == "Type BIGINT can't be cast as VARCHAR for column NAME")
        #expect(error(name, .bytes([0x41]))?.kind == .typeMismatch)
        let unbounded = ColumnDefinition(name: "NAME", type: .varchar)
        #expect(error(unbounded, .string(String(repeating: "a", count: 1_048_577)))?.kind == .valueTooLong)
    }

    @Test func varbinaryLengthAndHexText() throws {
        let c = column(.varbinary, 4)
        #expect(try c.coerce(.bytes([1, 2, 3, 4])) == .bytes([1, 2, 3, 4]))
        #expect(try c.coerce(.string("0aFF")) == .bytes([0x0a, 0xff]))
        #expect(error(c, .bytes([1, 2, 3, 4, 5]))?.message == "Value too long for column X (VARBINARY(4)): 5 bytes")
        #expect(error(c, .string("xyz"))?.kind == .typeMismatch)
        #expect(error(c, .integer(1))?.kind == .typeMismatch)
    }

    @Test func notNullColumnsRejectNull() throws {
        #expect(try column(.integer).coerce(.null) == .null)
        let e = error(column(.varchar, 5, nullable: false), .null)
        #expect(e?.kind == .nullNotAllowed)
        #expect(e?.message.contains("X") == true)
    }

    @Test func everyTypeRoundTripsThroughATableIncludingNull() throws {
        let table = Table(definition: Fixtures.allTypes)
        let full: [Value] = [
            .integer(1), .integer(-127), .integer(-32767), .integer(-2_147_483_647), .integer(Int64.min + 1),
            .float(-1.5e300), .decimal(VoltDecimal(string: "-99999999999999999999999999.999999999999")!),
            .timestamp(-1), .string("€uro"), .bytes([0, 255]),
        ]
        let id = try table.insert(full, log: nil)
        #expect(table.row(id) == full)
        let nulls: [Value] = [.integer(2)] + Array(repeating: .null, count: 9)
        let id2 = try table.insert(nulls, log: nil)
        #expect(table.row(id2) == nulls)
        // Values not yet in stored form are coerced on the way in.
        let loose: [Value] = [.integer(3), .string("5"), .float(6), .decimal(VoltDecimal(7)), .integer(8), .integer(9),
                              .integer(10), .integer(11), .string(""), .string("CAFE")]
        let id3 = try table.insert(loose, log: nil)
        #expect(table.row(id3) == [.integer(3), .integer(5), .integer(6), .integer(7), .integer(8), .float(9),
                                   .decimal(VoltDecimal(10)), .timestamp(11), .string(""), .bytes([0xca, 0xfe])])
        #expect(storageError { _ = try table.insert([.integer(4), .integer(128)] + Array(repeating: .null, count: 8), log: nil) }?
                    .message == "Value 128 out of range for TINYINT column T")
        #expect(storageError { _ = try table.insert([.null] + Array(repeating: .null, count: 9), log: nil) }?.kind == .nullNotAllowed)
        #expect(table.rowCount == 3)
        table.verifyInvariants()
    }
}
