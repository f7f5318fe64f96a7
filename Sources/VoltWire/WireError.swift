// The one error type of the wire codec. Every decoder in this target reads untrusted bytes from a
// socket, so every read is bounds-checked and a malformed message becomes a `WireError` naming what
// was being read (`what`, e.g. "parameter 3 STRING length") and the byte offset inside the message
// where that read started. The server logs the description and, when the client handle was already
// parsed, answers UNEXPECTED_FAILURE for that handle (docs/PROTOCOL.md §5.13);
// otherwise it closes the connection.
//
// Encoders throw it too, for values that do not fit their declared wire type (an engine bug or a
// user-typed value out of range): the caller can then answer with an error instead of trapping.

/// A malformed or unencodable wire message.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The message ended: `needed` bytes were required, `available` remained.
        case truncated(needed: Int, available: Int)
        /// A length field holds a value that no valid message has (negative other than the NULL -1).
        case invalidLength(Int)
        /// A string's bytes are not UTF-8.
        case invalidUTF8
        /// A type code that the protocol does not define, or that is not allowed where it appeared.
        case unsupportedType(Int8)
        /// A version byte this codec does not speak.
        case unsupportedVersion(Int8)
        /// A login hash scheme other than 0 (SHA-1) and 1 (SHA-256). Answer login status 3.
        case unknownHashScheme(Int8)
        /// A password digest whose size does not match its hash scheme.
        case invalidDigestLength(Int)
        /// A frame length prefix above the configured maximum. The server should close the connection.
        case frameTooLarge(length: Int, maxBytes: Int)
        /// A frame length prefix below zero. The server should close the connection.
        case negativeFrameLength(Int32)
        /// The Python client's empty-list quirk (§3.4): an array marker and element type with no
        /// count after them. Answer UNEXPECTED_FAILURE for the handle.
        case emptyArrayQuirk(elementType: Int8)
        /// Bytes left over after a complete message or a length-delimited structure.
        case trailingBytes(Int)
        /// A length field that disagrees with the bytes its structure actually occupies.
        case lengthMismatch(declared: Int, actual: Int)
        /// A field that the protocol restricts (a fields-present bit, a count, a flag) holds a value
        /// this codec does not accept.
        case invalidField(Int64)
        /// An encoder was given a value that cannot be written as the declared wire type.
        case valueDoesNotFitType(value: String, type: Int8)
    }

    public var kind: Kind
    /// What was being read or written, e.g. "invocation procedure name" or "parameter 2 INTEGER".
    public var what: String
    /// Byte offset inside the message (frame body) where the failing read started; -1 for encoders.
    public var offset: Int

    public init(_ kind: Kind, what: String, offset: Int) {
        self.kind = kind
        self.what = what
        self.offset = offset
    }

    /// The same error with a prefix that says which enclosing structure was being read.
    func within(_ context: String) -> WireError {
        WireError(kind, what: context + " " + what, offset: offset)
    }

    public var description: String {
        let place = offset >= 0 ? " at offset \(offset)" : ""
        switch kind {
        case let .truncated(needed, available):
            return "truncated \(what)\(place): needs \(needed) bytes, \(available) remain"
        case .invalidLength(let n):
            return "invalid length \(n) for \(what)\(place)"
        case .invalidUTF8:
            return "\(what)\(place) is not valid UTF-8"
        case .unsupportedType(let t):
            return "unsupported type code \(t) for \(what)\(place)"
        case .unsupportedVersion(let v):
            return "unsupported version \(v) of \(what)\(place)"
        case .unknownHashScheme(let s):
            return "unknown password hash scheme \(s) in \(what)\(place)"
        case .invalidDigestLength(let n):
            return "password digest of \(n) bytes in \(what)\(place) does not match its hash scheme"
        case let .frameTooLarge(length, maxBytes):
            return "frame of \(length) bytes exceeds the maximum of \(maxBytes) bytes (\(what)\(place))"
        case .negativeFrameLength(let n):
            return "negative frame length \(n) (\(what)\(place))"
        case .emptyArrayQuirk(let t):
            return "array parameter of element type \(t) has no count (\(what)\(place)): the Python client sends an empty list this way; send at least one element"
        case .trailingBytes(let n):
            return "\(n) unexpected bytes after \(what)\(place)"
        case let .lengthMismatch(declared, actual):
            return "\(what)\(place) declares \(declared) bytes but occupies \(actual)"
        case .invalidField(let v):
            return "invalid value \(v) for \(what)\(place)"
        case let .valueDoesNotFitType(value, type):
            return "value \(value) cannot be written as wire type \(type) (\(what))"
        }
    }
}
