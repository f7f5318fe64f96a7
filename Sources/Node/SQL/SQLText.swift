// Small text helpers shared by the SQL layer's files. The C math library is imported here so that
// the module links libm (Double rounding, pow, sqrt) on Linux as well as on Darwin.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// The text without leading and trailing whitespace.
    var sqlTrimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
