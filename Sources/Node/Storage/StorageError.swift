// Errors the storage layer reports to its caller (the SQL executor). Expected failures — a value
// that does not fit its column, a duplicate key, a full table — are typed `throws(StorageError)`;
// a broken invariant (a dead RowID, a mutation inside `forEachRow`) is a `precondition`.

/// An expected failure of a storage operation. `message` is what the client sees, worded like
/// VoltDB's own messages; `constraint` names the violated constraint or index where there is one.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case constraintViolation
        case typeMismatch
        case valueOutOfRange
        case valueTooLong
        case nullNotAllowed
        case partitionRowLimit
        /// A row whose partition key hashes to a partition other than the one the table belongs to.
        case mispartitioned
        case internalError
    }

    public var kind: Kind
    public var message: String
    public var constraint: String?

    public init(kind: Kind, message: String, constraint: String? = nil) {
        self.kind = kind
        self.message = message
        self.constraint = constraint
    }

    public var description: String { message }
}
