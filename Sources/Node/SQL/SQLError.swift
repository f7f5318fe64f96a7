// The one error type of the SQL layer. Every failure a client can cause — bad syntax, an unknown
// object, a constraint violation, a division by zero — is a `SQLError` with a kind the engine maps to
// a wire status and a message that says what happened (VoltDB's wording where we know it). Storage
// errors are re-raised with the storage layer's own message so that one violation reads the same
// however it was reached.

public struct SQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax, unknownTable, unknownColumn, unknownProcedure, unknownIndex, duplicateObject
        case typeMismatch, constraintViolation, valueOutOfRange, planning, wrongParameterCount
        case userAbort, divisionByZero, internalError
        /// A written row belongs to another partition (VoltDB's "Mispartitioned tuple").
        case mispartitioned
    }

    public var kind: Kind
    public var message: String
    /// 1-based line and column of the offending token, when the error comes from a statement's text.
    public var line: Int?
    public var column: Int?

    public var position: (line: Int, column: Int)? {
        get { if let line, let column { (line, column) } else { nil } }
        set { line = newValue?.line; column = newValue?.column }
    }

    public init(_ kind: Kind, _ message: String, position: (line: Int, column: Int)? = nil) {
        self.kind = kind
        self.message = message
        self.line = position?.line
        self.column = position?.column
    }

    public var description: String { message }

    init(storage e: StorageError) {
        let kind: Kind = switch e.kind {
        case .constraintViolation, .nullNotAllowed, .partitionRowLimit: .constraintViolation
        case .typeMismatch: .typeMismatch
        case .valueOutOfRange, .valueTooLong: .valueOutOfRange
        case .internalError: .internalError
        case .mispartitioned: .mispartitioned
        }
        self.init(kind, e.message)
    }
}
