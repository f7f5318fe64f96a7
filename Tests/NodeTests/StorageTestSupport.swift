@testable import Node
import VoltModel

extension SplitMix64 {
    mutating func string(_ count: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzé€")
        return String((0..<count).map { _ in letters[below(letters.count)] })
    }
}

/// Runs a throwing storage call and returns its error, or nil if it succeeded. (Closures do not
/// infer typed throws, so this takes any error and insists that it is a StorageError.)
func storageError(_ body: () throws -> Void) -> StorageError? {
    do {
        try body()
        return nil
    } catch let error as StorageError {
        return error
    } catch {
        preconditionFailure("expected a StorageError, got \(error)")
    }
}

enum Fixtures {
    /// The KV benchmark's table: K VARCHAR(250) primary key and partition key, V VARBINARY.
    static let kv = TableDefinition(
        name: "KV",
        columns: [
            ColumnDefinition(name: "K", type: .varchar, maxLength: 250, nullable: false),
            ColumnDefinition(name: "V", type: .varbinary, maxLength: 1_048_576),
        ],
        primaryKey: UniqueConstraint(name: "PK_KV", columns: [0]),
        partitionColumn: 0)

    /// Every stored type, nullable, keyed and partitioned by ID.
    static let allTypes = TableDefinition(
        name: "ALLTYPES",
        columns: [
            ColumnDefinition(name: "ID", type: .bigint, nullable: false),
            ColumnDefinition(name: "T", type: .tinyint),
            ColumnDefinition(name: "S", type: .smallint),
            ColumnDefinition(name: "I", type: .integer),
            ColumnDefinition(name: "B", type: .bigint),
            ColumnDefinition(name: "F", type: .float),
            ColumnDefinition(name: "D", type: .decimal),
            ColumnDefinition(name: "TS", type: .timestamp),
            ColumnDefinition(name: "VC", type: .varchar, maxLength: 10),
            ColumnDefinition(name: "VB", type: .varbinary, maxLength: 8),
        ],
        primaryKey: UniqueConstraint(name: "PK_ALLTYPES", columns: [0]),
        partitionColumn: 0)

    /// A table with a composite primary key, a nullable UNIQUE column and room for indexes; used by
    /// the property tests. Partitioned on ID.
    static let orders = TableDefinition(
        name: "ORDERS",
        columns: [
            ColumnDefinition(name: "ID", type: .integer, nullable: false),
            ColumnDefinition(name: "LINE", type: .smallint, nullable: false),
            ColumnDefinition(name: "CODE", type: .integer),                 // UNIQUE, nullable
            ColumnDefinition(name: "NAME", type: .varchar, maxLength: 16),
            ColumnDefinition(name: "PRICE", type: .decimal),
            ColumnDefinition(name: "QTY", type: .float),
            ColumnDefinition(name: "PAYLOAD", type: .varbinary, maxLength: 300),
            ColumnDefinition(name: "AT", type: .timestamp),
        ],
        primaryKey: UniqueConstraint(name: "PK_ORDERS", columns: [0, 1]),
        uniqueConstraints: [UniqueConstraint(name: "UQ_ORDERS_CODE", columns: [2])],
        partitionColumn: 0)

    static let ordersNameIndex = IndexDefinition(name: "IX_ORDERS_NAME_PRICE", table: "ORDERS", columns: [3, 4])

    /// A random ORDERS row; small key domains so that duplicates and NULLs are common.
    static func orderRow(_ rng: inout SplitMix64, idDomain: Int = 60) -> [Value] {
        [
            .integer(Int64(rng.below(idDomain))),
            .integer(Int64(rng.below(3))),
            rng.chance(percent: 30) ? .null : .integer(Int64(rng.below(400))),
            rng.chance(percent: 10) ? .null : .string(rng.string(rng.below(6))),
            rng.chance(percent: 10) ? .null : .decimal(VoltDecimal(unscaled: Int128(rng.below(100_000)) * 10_000_000)),
            rng.chance(percent: 10) ? .null : .float(Double(rng.below(1000)) / 8),
            rng.chance(percent: 10) ? .null : .bytes(rng.bytes(rng.below(300))),
            rng.chance(percent: 10) ? .null : .timestamp(Int64(rng.below(1_000_000)) * 1_000),
        ]
    }

    /// A replicated table without a primary key (duplicates allowed).
    static let tags = TableDefinition(
        name: "TAGS",
        columns: [
            ColumnDefinition(name: "TAG", type: .varchar, maxLength: 20),
            ColumnDefinition(name: "N", type: .integer),
        ])
}

extension Table {
    /// All rows in slot order, as values (for comparing with a model).
    var allRows: [[Value]] {
        var out: [[Value]] = []
        forEachRow { out.append(row($0)); return true }
        return out
    }

    /// Live slots in order.
    var liveSlots: [Int32] {
        var out: [Int32] = []
        forEachRow { out.append($0.slot); return true }
        return out
    }
}

/// Sorts rows by their canonical bytes, to compare multisets of rows.
func canonicalSorted(_ rows: [[Value]]) -> [[UInt8]] {
    rows.map { r in
        var b: [UInt8] = []
        for v in r { v.appendCanonical(to: &b) }
        return b
    }.sorted { $0.lexicographicallyPrecedes($1) }
}
