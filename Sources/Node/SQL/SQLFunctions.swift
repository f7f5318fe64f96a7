// Scalar SQL functions, compiled to closures. The set covers what VoltDB applications commonly use:
//
// numeric   ABS CEILING/CEIL FLOOR ROUND(x[,places]) POWER SQRT EXP LN/LOG LOG10 MOD
// null      COALESCE NULLIF IFNULL(=COALESCE of two) DECODE(x, k1, v1, ..., [default])
// string    LOWER UPPER TRIM/LTRIM/RTRIM (and TRIM(LEADING|TRAILING|BOTH c FROM s)) SUBSTRING(s, from[, len])
//           LEFT RIGHT CHAR_LENGTH/CHARACTER_LENGTH OCTET_LENGTH CONCAT REPLACE POSITION(a IN b)
//           REPEAT SPACE STARTS_WITH (for `s STARTS WITH p`)
// time      NOW / CURRENT_TIMESTAMP (the transaction's timestamp from ExecutionContext, never the clock),
//           FROM_UNIXTIME(seconds), TO_TIMESTAMP(unit, n), SINCE_EPOCH(unit, ts),
//           EXTRACT(field FROM ts), YEAR MONTH DAY DAYOFMONTH HOUR MINUTE SECOND WEEKDAY DAYOFWEEK
//           DAYOFYEAR QUARTER, TRUNCATE(unit, ts), DATEADD(unit, n, ts)
//
// Units are SECOND, MILLISECOND/MILLIS, MICROSECOND/MICROS (and for TRUNCATE/DATEADD also MINUTE,
// HOUR, DAY, MONTH, QUARTER, YEAR). SECOND in EXTRACT is a DECIMAL with the fraction, as in VoltDB.
// DAYOFWEEK is 1 = Sunday ... 7 = Saturday (VoltDB); WEEKDAY is 0 = Monday ... 6 = Sunday.
// Every function returns NULL when a value argument is NULL (COALESCE/NULLIF/DECODE excepted).
// An unknown function name is a `planning` error naming the function.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SQLFunctions {
    private static let unitFunctions: Set<String> = ["TO_TIMESTAMP", "SINCE_EPOCH", "EXTRACT", "TRUNCATE", "DATEADD"]

    static func compile(_ name: String, _ args: [Expr], _ c: ExprCompiler, _ p: SourcePosition) throws(SQLError) -> CompiledExpr {
        func arity(_ n: ClosedRange<Int>) throws(SQLError) {
            guard n.contains(args.count) else {
                throw c.error(.planning, "Function \(name) takes \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound) to \(n.upperBound)") arguments, not \(args.count)", p)
            }
        }
        var unit: String?
        var valueArgs = args
        if unitFunctions.contains(name) {
            guard let first = args.first, case .column(nil, let u) = first.kind else {
                throw c.error(.planning, "Function \(name) needs a time unit as its first argument", p)
            }
            unit = u
            valueArgs = Array(args.dropFirst())
        }
        // Parameter hints per function: what type a `?` argument should be converted to.
        let hint: SQLType? = switch name {
        case "LOWER", "UPPER", "LTRIM", "RTRIM", "TRIM_BOTH", "TRIM_LEADING", "TRIM_TRAILING", "SUBSTRING", "LEFT", "RIGHT",
             "CHAR_LENGTH", "CHARACTER_LENGTH", "OCTET_LENGTH", "CONCAT", "REPLACE", "POSITION", "REPEAT", "STARTS_WITH": .varchar
        case "ABS", "CEILING", "CEIL", "FLOOR", "ROUND", "POWER", "SQRT", "EXP", "LN", "LOG", "LOG10": .float
        case "MOD", "FROM_UNIXTIME", "TO_TIMESTAMP", "SPACE": .bigint
        case "SINCE_EPOCH", "YEAR", "MONTH", "DAY", "DAYOFMONTH", "HOUR", "MINUTE", "SECOND", "WEEKDAY", "DAYOFWEEK",
             "DAYOFYEAR", "QUARTER", "EXTRACT", "TRUNCATE": .timestamp
        default: nil
        }
        var compiled: [CompiledExpr] = []
        for (i, a) in valueArgs.enumerated() {
            var h = hint
            if name == "SUBSTRING" || name == "LEFT" || name == "RIGHT" || name == "REPEAT" { h = i == 0 ? .varchar : .bigint }
            if name == "ROUND" && i == 1 { h = .integer }
            if name == "DATEADD" { h = i == 0 ? .bigint : .timestamp }
            compiled.append(try c.compile(a, hint: h))
        }
        let fs = compiled.map(\.eval)
        let types = compiled.map(\.type)

        func unary(_ type: SQLType?, _ body: @escaping @Sendable (Value) throws(SQLError) -> Value) throws(SQLError) -> CompiledExpr {
            guard compiled.count == 1 else { try arity(1...1); fatalError() }
            let f = fs[0]
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let v = try f(row, env)
                return v.isNull ? .null : try body(v)
            }, type: type)
        }
        func nary(_ n: ClosedRange<Int>, _ type: SQLType?, _ body: @escaping @Sendable ([Value]) throws(SQLError) -> Value) throws(SQLError) -> CompiledExpr {
            guard n.contains(compiled.count) else { try arity(n.lowerBound + (args.count - valueArgs.count)...n.upperBound + (args.count - valueArgs.count)); fatalError() }
            return CompiledExpr(eval: { row, env throws(SQLError) in
                var vs: [Value] = []
                vs.reserveCapacity(fs.count)
                for f in fs {
                    let v = try f(row, env)
                    if v.isNull { return .null }
                    vs.append(v)
                }
                return try body(vs)
            }, type: type)
        }
        let numericType = types.first ?? nil

        switch name {
        case "ABS":
            return try unary(numericType) { v throws(SQLError) in
                switch v {
                case .integer(let i):
                    guard i != Int64.min else { throw SQLError(.valueOutOfRange, "ABS(\(i)) overflows BIGINT") }
                    return .integer(Swift.abs(i))
                case .float(let d): return .float(Swift.abs(d))
                case .decimal(let d): return .decimal(VoltDecimal(unscaled: d.unscaled < 0 ? -d.unscaled : d.unscaled))
                default: throw notNumeric(name, v)
                }
            }
        case "CEILING", "CEIL", "FLOOR":
            let up = name != "FLOOR"
            return try unary(numericType) { v throws(SQLError) in
                switch v {
                case .integer: return v
                case .float(let d): return .float(up ? d.rounded(.up) : d.rounded(.down))
                case .decimal(let d):
                    let f = VoltDecimal.scaleFactor
                    var q = d.unscaled / f
                    let r = d.unscaled % f
                    if r != 0 && (r > 0) == up { q += up ? 1 : -1 }
                    return .decimal(VoltDecimal(unscaled: q * f))
                default: throw notNumeric(name, v)
                }
            }
        case "ROUND":
            return try nary(1...2, numericType) { vs throws(SQLError) in
                var places: Int64 = 0
                if vs.count == 2 { guard case .integer(let p) = vs[1] else { throw notNumeric(name, vs[1]) }; places = p }
                switch vs[0] {
                case .integer(let i):
                    guard places < 0 else { return vs[0] }
                    let m = Int64(pow(10.0, Double(-places)))
                    let r = (i / m) * m + ((Swift.abs(i % m) * 2 >= m) ? (i < 0 ? -m : m) : 0)
                    return .integer(r)
                case .float(let d):
                    let m = pow(10.0, Double(places))
                    return .float((d * m).rounded(.toNearestOrAwayFromZero) / m)
                case .decimal(let d):
                    let drop = Int128(VoltDecimal.scale) - Int128(places)
                    guard drop > 0 else { return vs[0] }
                    var m: Int128 = 1
                    for _ in 0..<min(drop, 38) { m *= 10 }
                    return .decimal(VoltDecimal(unscaled: VoltDecimal.roundedDivideHalfAway(d.unscaled, m) * m))
                default: throw notNumeric(name, vs[0])
                }
            }
        case "POWER", "SQRT", "EXP", "LN", "LOG", "LOG10":
            let n = name == "POWER" ? 2 : 1
            return try nary(n...n, .float) { vs throws(SQLError) in
                let ds = try vs.map { v throws(SQLError) -> Double in
                    guard let d = v.doubleValue else { throw notNumeric(name, v) }
                    return d
                }
                let r: Double = switch name {
                case "POWER": pow(ds[0], ds[1])
                case "SQRT": sqrt(ds[0])
                case "EXP": exp(ds[0])
                case "LOG10": log10(ds[0])
                default: log(ds[0])
                }
                guard r.isFinite else { throw SQLError(.valueOutOfRange, "\(name) of \(ds.map { String($0) }.joined(separator: ", ")) is not a finite number") }
                return .float(r)
            }
        case "MOD":
            return try nary(2...2, SQLValues.arithmeticResultType(types[0], types.count > 1 ? types[1] : nil)) { vs throws(SQLError) in
                try SQLValues.arithmetic("%", vs[0], vs[1])
            }
        case "COALESCE", "IFNULL":
            try arity(name == "IFNULL" ? 2...2 : 1...64)
            let type = types.compactMap { $0 }.first
            return CompiledExpr(eval: { row, env throws(SQLError) in
                for f in fs { let v = try f(row, env); if !v.isNull { return v } }
                return .null
            }, type: type)
        case "NULLIF":
            try arity(2...2)
            let a = fs[0], b = fs[1]
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let x = try a(row, env), y = try b(row, env)
                if x.isNull || y.isNull { return x }
                return try SQLValues.compare(x, y) == 0 ? .null : x
            }, type: types[0])
        case "DECODE":
            try arity(3...64)
            let type = stride(from: 2, to: types.count, by: 2).compactMap { types[$0] }.first ?? (types.count % 2 == 0 ? types.last ?? nil : nil)
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let x = try fs[0](row, env)
                var i = 1
                while i + 1 < fs.count {
                    let k = try fs[i](row, env)
                    if x.isNull || k.isNull {
                        if x.isNull && k.isNull { return try fs[i + 1](row, env) }
                    } else if try SQLValues.compare(x, k) == 0 {
                        return try fs[i + 1](row, env)
                    }
                    i += 2
                }
                return i < fs.count ? try fs[i](row, env) : .null
            }, type: type)
        case "LOWER", "UPPER":
            let upper = name == "UPPER"
            return try unary(.varchar) { v throws(SQLError) in
                guard case .string(let s) = v else { throw notString(name, v) }
                return .string(upper ? s.uppercased() : s.lowercased())
            }
        case "LTRIM", "RTRIM":
            let leading = name == "LTRIM"
            return try unary(.varchar) { v throws(SQLError) in
                guard case .string(let s) = v else { throw notString(name, v) }
                return .string(trim(s, " ", leading: leading, trailing: !leading))
            }
        case "TRIM_BOTH", "TRIM_LEADING", "TRIM_TRAILING":
            let leading = name != "TRIM_TRAILING", trailing = name != "TRIM_LEADING"
            return try nary(2...2, .varchar) { vs throws(SQLError) in
                guard case .string(let chars) = vs[0], case .string(let s) = vs[1] else { throw notString("TRIM", vs[1]) }
                return .string(trim(s, chars, leading: leading, trailing: trailing))
            }
        case "SUBSTRING":
            return try nary(2...3, .varchar) { vs throws(SQLError) in
                guard case .string(let s) = vs[0] else { throw notString(name, vs[0]) }
                guard case .integer(let start) = vs[1] else { throw notNumeric(name, vs[1]) }
                let scalars = Array(s.unicodeScalars)
                var from = start - 1
                var end = Int64(scalars.count)
                if vs.count == 3 {
                    guard case .integer(let len) = vs[2] else { throw notNumeric(name, vs[2]) }
                    guard len >= 0 else { throw SQLError(.valueOutOfRange, "SUBSTRING length must not be negative") }
                    end = min(end, from + len)
                }
                from = max(0, from)
                guard from < end else { return .string("") }
                var out = String.UnicodeScalarView()
                out.append(contentsOf: scalars[Int(from)..<Int(end)])
                return .string(String(out))
            }
        case "LEFT", "RIGHT":
            let left = name == "LEFT"
            return try nary(2...2, .varchar) { vs throws(SQLError) in
                guard case .string(let s) = vs[0] else { throw notString(name, vs[0]) }
                guard case .integer(let n) = vs[1], n >= 0 else { throw SQLError(.valueOutOfRange, "\(name) needs a non-negative length") }
                let scalars = Array(s.unicodeScalars)
                let k = min(Int(n), scalars.count)
                var out = String.UnicodeScalarView()
                out.append(contentsOf: left ? scalars[0..<k] : scalars[(scalars.count - k)...])
                return .string(String(out))
            }
        case "CHAR_LENGTH", "CHARACTER_LENGTH", "OCTET_LENGTH":
            let bytes = name == "OCTET_LENGTH"
            return try unary(.integer) { v throws(SQLError) in
                switch v {
                case .string(let s): return .integer(Int64(bytes ? s.utf8.count : s.unicodeScalars.count))
                case .bytes(let b) where bytes: return .integer(Int64(b.count))
                default: throw notString(name, v)
                }
            }
        case "CONCAT":
            try arity(1...64)
            return try nary(1...64, .varchar) { vs throws(SQLError) in
                var out = ""
                for v in vs { guard case .string(let s) = v else { throw notString(name, v) }; out += s }
                return .string(out)
            }
        case "REPLACE":
            return try nary(3...3, .varchar) { vs throws(SQLError) in
                guard case .string(let s) = vs[0], case .string(let a) = vs[1], case .string(let b) = vs[2] else { throw notString(name, vs[0]) }
                return .string(replace(s, a, b))
            }
        case "POSITION":
            return try nary(2...2, .integer) { vs throws(SQLError) in
                guard case .string(let needle) = vs[0], case .string(let hay) = vs[1] else { throw notString(name, vs[0]) }
                return .integer(position(of: needle, in: hay))
            }
        case "STARTS_WITH":
            let compiledF = try nary(2...2, nil) { vs throws(SQLError) in
                guard case .string(let s) = vs[0], case .string(let prefix) = vs[1] else { throw notString("STARTS WITH", vs[0]) }
                return SQLValues.bool(s.unicodeScalars.starts(with: prefix.unicodeScalars))
            }
            var r = compiledF
            r.isBoolean = true
            return r
        case "REPEAT":
            return try nary(2...2, .varchar) { vs throws(SQLError) in
                guard case .string(let s) = vs[0], case .integer(let n) = vs[1], n >= 0, n < 1_048_576 else { throw notString(name, vs[0]) }
                return .string(String(repeating: s, count: Int(n)))
            }
        case "SPACE":
            return try unary(.varchar) { v throws(SQLError) in
                guard case .integer(let n) = v, n >= 0, n < 1_048_576 else { throw notNumeric(name, v) }
                return .string(String(repeating: " ", count: Int(n)))
            }
        case "NOW", "CURRENT_TIMESTAMP":
            try arity(0...0)
            return CompiledExpr(eval: { _, env in .timestamp(env.context.timestampMicros) }, type: .timestamp)
        case "FROM_UNIXTIME":
            return try unary(.timestamp) { v throws(SQLError) in
                guard case .integer(let s) = v else { throw notNumeric(name, v) }
                let (r, o) = s.multipliedReportingOverflow(by: 1_000_000)
                guard !o else { throw SQLError(.valueOutOfRange, "FROM_UNIXTIME(\(s)) is out of range") }
                return .timestamp(r)
            }
        case "TO_TIMESTAMP":
            let m = try unitMicros(unit!, name, c, p)
            return try unary(.timestamp) { v throws(SQLError) in
                guard case .integer(let n) = v else { throw notNumeric(name, v) }
                let (r, o) = n.multipliedReportingOverflow(by: m)
                guard !o else { throw SQLError(.valueOutOfRange, "TO_TIMESTAMP(\(n)) is out of range") }
                return .timestamp(r)
            }
        case "SINCE_EPOCH":
            let m = try unitMicros(unit!, name, c, p)
            return try unary(.bigint) { v throws(SQLError) in
                guard case .timestamp(let t) = v else { throw notTimestamp(name, v) }
                return .integer(SQLValues.floorDiv(t, m))
            }
        case "EXTRACT", "YEAR", "MONTH", "DAY", "DAYOFMONTH", "HOUR", "MINUTE", "SECOND", "WEEKDAY", "DAYOFWEEK", "DAYOFYEAR", "QUARTER", "WEEK", "WEEKOFYEAR":
            let field = unit ?? name
            let known: Set<String> = ["YEAR", "MONTH", "DAY", "DAYOFMONTH", "HOUR", "MINUTE", "SECOND", "WEEKDAY", "DAYOFWEEK", "DAYOFYEAR", "QUARTER", "WEEK", "WEEKOFYEAR"]
            guard known.contains(field) else { throw c.error(.planning, "Unknown date part \(field) in \(name)", p) }
            return try unary(field == "SECOND" ? .decimal : .integer) { v throws(SQLError) in
                guard case .timestamp(let t) = v else { throw notTimestamp(name, v) }
                return extract(field, t)
            }
        case "TRUNCATE":
            let u = unit!
            guard ["YEAR", "QUARTER", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND", "MILLIS", "MICROSECOND", "MICROS"].contains(u) else {
                throw c.error(.planning, "Unknown time unit \(u) in TRUNCATE", p)
            }
            return try unary(.timestamp) { v throws(SQLError) in
                guard case .timestamp(let t) = v else { throw notTimestamp(name, v) }
                return .timestamp(truncate(u, t))
            }
        case "DATEADD":
            let u = unit!
            return try nary(2...2, .timestamp) { vs throws(SQLError) in
                guard case .integer(let n) = vs[0] else { throw notNumeric(name, vs[0]) }
                guard case .timestamp(let t) = vs[1] else { throw notTimestamp(name, vs[1]) }
                return .timestamp(try dateAdd(u, n, t))
            }
        default:
            throw c.error(.planning, "Unknown function \(name)", p)
        }
    }

    static func notNumeric(_ f: String, _ v: Value) -> SQLError {
        SQLError(.typeMismatch, "Function \(f) needs a numeric argument, not \(SQLValues.typeName(v)) \(v)")
    }

    static func notString(_ f: String, _ v: Value) -> SQLError {
        SQLError(.typeMismatch, "Function \(f) needs a VARCHAR argument, not \(SQLValues.typeName(v)) \(v)")
    }

    static func notTimestamp(_ f: String, _ v: Value) -> SQLError {
        SQLError(.typeMismatch, "Function \(f) needs a TIMESTAMP argument, not \(SQLValues.typeName(v)) \(v)")
    }

    private static func unitMicros(_ u: String, _ f: String, _ c: ExprCompiler, _ p: SourcePosition) throws(SQLError) -> Int64 {
        switch u {
        case "SECOND": return 1_000_000
        case "MILLISECOND", "MILLIS": return 1_000
        case "MICROSECOND", "MICROS": return 1
        default: throw c.error(.planning, "Unknown time unit \(u) in \(f); use SECOND, MILLISECOND or MICROSECOND", p)
        }
    }

    static func trim(_ s: String, _ chars: String, leading: Bool, trailing: Bool) -> String {
        let set = Set(chars.unicodeScalars)
        var scalars = Substring(s).unicodeScalars[...]
        if leading { while let f = scalars.first, set.contains(f) { scalars = scalars.dropFirst() } }
        if trailing { while let l = scalars.last, set.contains(l) { scalars = scalars.dropLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func replace(_ s: String, _ a: String, _ b: String) -> String {
        guard !a.isEmpty else { return s }
        let hay = Array(s.unicodeScalars), needle = Array(a.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < hay.count {
            if i + needle.count <= hay.count, Array(hay[i..<(i + needle.count)]) == needle {
                out.append(contentsOf: b.unicodeScalars)
                i += needle.count
            } else {
                out.append(hay[i])
                i += 1
            }
        }
        return String(out)
    }

    static func position(of needle: String, in hay: String) -> Int64 {
        let h = Array(hay.unicodeScalars), n = Array(needle.unicodeScalars)
        guard !n.isEmpty else { return 1 }
        guard n.count <= h.count else { return 0 }
        for i in 0...(h.count - n.count) where Array(h[i..<(i + n.count)]) == n { return Int64(i + 1) }
        return 0
    }

    private static let microsPerDay: Int64 = 86_400_000_000

    static func extract(_ field: String, _ t: Int64) -> Value {
        let days = SQLValues.floorDiv(t, microsPerDay)
        let rest = t - days * microsPerDay
        let (y, m, d) = SQLValues.civilFromDays(days)
        switch field {
        case "YEAR": return .integer(y)
        case "MONTH": return .integer(m)
        case "DAY", "DAYOFMONTH": return .integer(d)
        case "HOUR": return .integer(rest / 3_600_000_000)
        case "MINUTE": return .integer(rest / 60_000_000 % 60)
        case "SECOND":
            let micros = rest % 60_000_000
            return .decimal(VoltDecimal(unscaled: Int128(micros) * 1_000_000))
        case "QUARTER": return .integer((m - 1) / 3 + 1)
        case "DAYOFYEAR": return .integer(days - SQLValues.daysFromCivil(y, 1, 1) + 1)
        case "DAYOFWEEK": return .integer(((days % 7 + 7 + 4) % 7) + 1)          // 1970-01-01 was a Thursday
        case "WEEKDAY": return .integer((days % 7 + 7 + 3) % 7)
        default:
            // ISO-8601 week number.
            let weekday = (days % 7 + 7 + 3) % 7                                        // Monday = 0
            let thursday = days - weekday + 3
            let (ty, _, _) = SQLValues.civilFromDays(thursday)
            return .integer((thursday - SQLValues.daysFromCivil(ty, 1, 1)) / 7 + 1)
        }
    }

    static func truncate(_ unit: String, _ t: Int64) -> Int64 {
        let days = SQLValues.floorDiv(t, microsPerDay)
        let (y, m, _) = SQLValues.civilFromDays(days)
        switch unit {
        case "YEAR": return SQLValues.daysFromCivil(y, 1, 1) * microsPerDay
        case "QUARTER": return SQLValues.daysFromCivil(y, (m - 1) / 3 * 3 + 1, 1) * microsPerDay
        case "MONTH": return SQLValues.daysFromCivil(y, m, 1) * microsPerDay
        case "DAY": return days * microsPerDay
        case "HOUR": return SQLValues.floorDiv(t, 3_600_000_000) * 3_600_000_000
        case "MINUTE": return SQLValues.floorDiv(t, 60_000_000) * 60_000_000
        case "SECOND": return SQLValues.floorDiv(t, 1_000_000) * 1_000_000
        case "MILLISECOND", "MILLIS": return SQLValues.floorDiv(t, 1_000) * 1_000
        default: return t
        }
    }

    static func dateAdd(_ unit: String, _ n: Int64, _ t: Int64) throws(SQLError) -> Int64 {
        let step: Int64? = switch unit {
        case "MICROSECOND", "MICROS": 1
        case "MILLISECOND", "MILLIS": 1_000
        case "SECOND": 1_000_000
        case "MINUTE": 60_000_000
        case "HOUR": 3_600_000_000
        case "DAY": microsPerDay
        default: nil
        }
        if let step {
            let (p, o1) = n.multipliedReportingOverflow(by: step)
            let (r, o2) = t.addingReportingOverflow(p)
            guard !o1, !o2 else { throw SQLError(.valueOutOfRange, "DATEADD result is out of range") }
            return r
        }
        let months: Int64 = switch unit {
        case "MONTH": n
        case "QUARTER": n * 3
        case "YEAR": n * 12
        default: throw SQLError(.planning, "Unknown time unit \(unit) in DATEADD")
        }
        let days = SQLValues.floorDiv(t, microsPerDay)
        let rest = t - days * microsPerDay
        let (y, m, d) = SQLValues.civilFromDays(days)
        let total = y * 12 + (m - 1) + months
        let ny = SQLValues.floorDiv(total, 12), nm = total - ny * 12 + 1
        let lastDay = SQLValues.daysFromCivil(nm == 12 ? ny + 1 : ny, nm == 12 ? 1 : nm + 1, 1) - SQLValues.daysFromCivil(ny, nm, 1)
        return (SQLValues.daysFromCivil(ny, nm, min(d, lastDay))) * microsPerDay + rest
    }
}

extension VoltDecimal {
    /// n / d rounded half away from zero.
    static func roundedDivideHalfAway(_ n: Int128, _ d: Int128) -> Int128 {
        let q = n / d
        let r = n % d
        if r.magnitude * 2 >= d.magnitude { return q + ((n < 0) != (d < 0) ? -1 : 1) }
        return q
    }
}
