// Reading, writing, comparing and hashing single cells in column storage. Everything here works on
// the stored form, so the hot paths (key compares in indexes, primary-key probes, row hashes) never
// build a `Value`; the few mixed-kind comparisons (an integer column probed with 2.5) fall back to
// `Value.compare` on a materialised cell, which defines the order.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A var-length cell: `offset << 24 | (length + 1)` into the table's arena; 0 is NULL.
enum VarRef {
    static let null: UInt64 = 0
    static let maxLength = 0xff_ffff - 1
    static let maxOffset = 1 << 40

    @inline(__always)
    static func make(offset: Int, length: Int) -> UInt64 {
        precondition(length <= maxLength && offset + length < maxOffset, "var-length value of \(length) bytes at \(offset) does not fit a reference")
        return UInt64(offset) << 24 | UInt64(length + 1)
    }

    @inline(__always) static func offset(_ r: UInt64) -> Int { Int(truncatingIfNeeded: r >> 24) }
    /// -1 for NULL.
    @inline(__always) static func length(_ r: UInt64) -> Int { Int(truncatingIfNeeded: r & 0xff_ffff) - 1 }
    /// 0 for NULL.
    @inline(__always) static func byteCount(_ r: UInt64) -> Int { r == null ? 0 : length(r) }
}

@inline(__always)
func compareByteRuns(_ a: UnsafeRawPointer?, _ na: Int, _ b: UnsafeRawPointer?, _ nb: Int) -> Int {
    let n = min(na, nb)
    if n > 0, let a, let b {
        let r = memcmp(a, b, n)
        if r != 0 { return r < 0 ? -1 : 1 }
    }
    return na < nb ? -1 : (na == nb ? 0 : 1)
}

extension TableStorage {
    // MARK: Values in and out

    /// Writes a prepared value (exact stored kind, or NULL) into a cell; var-length bytes are
    /// appended to the arena.
    @inline(__always)
    mutating func writeCell(_ c: Int, _ s: Int, _ v: Value) {
        let l = layout[c]
        switch (l.kind, v) {
        case (.int64, .null): ints[l.store][s] = l.intNull
        case (.int64, .integer(let x)), (.int64, .timestamp(let x)): ints[l.store][s] = x
        case (.float64, .null): floats[l.store][s] = ColumnDefinition.floatNullSentinel
        case (.float64, .float(let x)): floats[l.store][s] = x
        case (.decimal, .null): decimals[l.store][s] = VoltDecimal.nullSentinel
        case (.decimal, .decimal(let x)): decimals[l.store][s] = x.unscaled
        case (.varlen, .null): refs[s &* varCount &+ l.store] = VarRef.null
        case (.varlen, .string(let x)):
            let offset = arena.count
            arena.append(contentsOf: x.utf8)
            refs[s &* varCount &+ l.store] = VarRef.make(offset: offset, length: arena.count - offset)
        case (.varlen, .bytes(let x)):
            let offset = arena.count
            arena.append(contentsOf: x)
            refs[s &* varCount &+ l.store] = VarRef.make(offset: offset, length: x.count)
        default:
            preconditionFailure("value \(v) is not in the stored form of column \(definition.columns[c].name)")
        }
    }

    func cellValue(_ c: Int, _ s: Int) -> Value {
        let l = layout[c]
        switch l.kind {
        case .int64:
            let x = ints[l.store][s]
            if x == l.intNull { return .null }
            return l.type == .timestamp ? .timestamp(x) : .integer(x)
        case .float64:
            let x = floats[l.store][s]
            return x == ColumnDefinition.floatNullSentinel ? .null : .float(x)
        case .decimal:
            let x = decimals[l.store][s]
            return x == VoltDecimal.nullSentinel ? .null : .decimal(VoltDecimal(unscaled: x))
        case .varlen:
            let r = refs[s &* varCount &+ l.store]
            if r == VarRef.null { return .null }
            let range = VarRef.offset(r)..<VarRef.offset(r) + VarRef.length(r)
            if l.type == .varchar {
                return .string(arena.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) })
            }
            return .bytes(Array(arena[range]))
        }
    }

    @inline(__always)
    func isNullCell(_ c: Int, _ s: Int) -> Bool {
        let l = layout[c]
        switch l.kind {
        case .int64: return ints[l.store][s] == l.intNull
        case .float64: return floats[l.store][s] == ColumnDefinition.floatNullSentinel
        case .decimal: return decimals[l.store][s] == VoltDecimal.nullSentinel
        case .varlen: return refs[s &* varCount &+ l.store] == VarRef.null
        }
    }

    /// The raw bits of a cell, for undo.
    func readImage(_ c: Int, _ s: Int) -> CellImage {
        let l = layout[c]
        switch l.kind {
        case .int64: return CellImage(column: Int32(c), lo: UInt64(bitPattern: ints[l.store][s]), hi: 0)
        case .float64: return CellImage(column: Int32(c), lo: floats[l.store][s].bitPattern, hi: 0)
        case .decimal:
            let bits = UInt128(bitPattern: decimals[l.store][s])
            return CellImage(column: Int32(c), lo: UInt64(truncatingIfNeeded: bits), hi: UInt64(truncatingIfNeeded: bits >> 64))
        case .varlen: return CellImage(column: Int32(c), lo: refs[s &* varCount &+ l.store], hi: 0)
        }
    }

    mutating func writeImage(_ image: CellImage, _ s: Int) {
        let l = layout[Int(image.column)]
        switch l.kind {
        case .int64: ints[l.store][s] = Int64(bitPattern: image.lo)
        case .float64: floats[l.store][s] = Double(bitPattern: image.lo)
        case .decimal: decimals[l.store][s] = Int128(bitPattern: UInt128(image.hi) << 64 | UInt128(image.lo))
        case .varlen: refs[s &* varCount &+ l.store] = image.lo
        }
    }

    // MARK: Equality and order

    /// Whether a cell holds exactly a prepared value.
    @inline(__always)
    func cellEquals(_ c: Int, _ s: Int, _ v: Value) -> Bool {
        let l = layout[c]
        switch l.kind {
        case .int64:
            let x = ints[l.store][s]
            switch v {
            case .null: return x == l.intNull
            case .integer(let y), .timestamp(let y): return x == y
            default: return false
            }
        case .float64:
            let x = floats[l.store][s]
            switch v {
            case .null: return x == ColumnDefinition.floatNullSentinel
            case .float(let y): return x.bitPattern == y.bitPattern
            default: return false
            }
        case .decimal:
            let x = decimals[l.store][s]
            switch v {
            case .null: return x == VoltDecimal.nullSentinel
            case .decimal(let y): return x == y.unscaled
            default: return false
            }
        case .varlen:
            let r = refs[s &* varCount &+ l.store]
            switch v {
            case .null: return r == VarRef.null
            case .string(var y):
                guard r != VarRef.null, VarRef.length(r) == y.utf8.count else { return false }
                return y.withUTF8 { p in varCompare(r, UnsafeRawBufferPointer(p)) == 0 }
            case .bytes(let y):
                guard r != VarRef.null, VarRef.length(r) == y.count else { return false }
                return y.withUnsafeBytes { p in varCompare(r, p) == 0 }
            default: return false
            }
        }
    }

    /// Compares a non-NULL var-length cell with bytes.
    @inline(__always)
    func varCompare(_ r: UInt64, _ probe: UnsafeRawBufferPointer) -> Int {
        arena.withUnsafeBytes { a in
            compareByteRuns(a.baseAddress.map { $0 + VarRef.offset(r) }, VarRef.length(r), probe.baseAddress, probe.count)
        }
    }

    /// Orders two cells of one column as `Value.compare` orders their values (NULL first).
    @inline(__always)
    func compareCells(_ c: Int, _ a: Int, _ b: Int) -> Int {
        let l = layout[c]
        switch l.kind {
        case .int64:
            let x = ints[l.store][a], y = ints[l.store][b]
            return x < y ? -1 : (x == y ? 0 : 1)
        case .float64:
            let x = floats[l.store][a], y = floats[l.store][b]
            return x < y ? -1 : (x == y ? 0 : 1)
        case .decimal:
            let x = decimals[l.store][a], y = decimals[l.store][b]
            return x < y ? -1 : (x == y ? 0 : 1)
        case .varlen:
            let x = refs[a &* varCount &+ l.store], y = refs[b &* varCount &+ l.store]
            if x == VarRef.null || y == VarRef.null { return x == y ? 0 : (x == VarRef.null ? -1 : 1) }
            return arena.withUnsafeBytes { p in
                compareByteRuns(p.baseAddress! + VarRef.offset(x), VarRef.length(x), p.baseAddress! + VarRef.offset(y), VarRef.length(y))
            }
        }
    }

    /// Orders a probe value against a cell: negative if the probe sorts first.
    func compareProbe(_ v: Value, _ c: Int, _ s: Int) -> Int {
        let l = layout[c]
        switch (l.kind, v) {
        case (_, .null):
            return isNullCell(c, s) ? 0 : -1
        case (.int64, .integer(let x)) where l.type != .timestamp:
            let y = ints[l.store][s]
            return y == l.intNull ? 1 : (x < y ? -1 : (x == y ? 0 : 1))
        case (.int64, .timestamp(let x)) where l.type == .timestamp:
            let y = ints[l.store][s]
            return y == l.intNull ? 1 : (x < y ? -1 : (x == y ? 0 : 1))
        case (.float64, .float(let x)) where !x.isNaN:
            let y = floats[l.store][s]
            return y == ColumnDefinition.floatNullSentinel ? 1 : (x < y ? -1 : (x == y ? 0 : 1))
        case (.decimal, .decimal(let x)):
            let y = decimals[l.store][s]
            return y == VoltDecimal.nullSentinel ? 1 : (x.unscaled < y ? -1 : (x.unscaled == y ? 0 : 1))
        case (.varlen, .string(var x)) where l.type == .varchar:
            let r = refs[s &* varCount &+ l.store]
            if r == VarRef.null { return 1 }
            return -x.withUTF8 { varCompare(r, UnsafeRawBufferPointer($0)) }
        case (.varlen, .bytes(let x)) where l.type == .varbinary:
            let r = refs[s &* varCount &+ l.store]
            if r == VarRef.null { return 1 }
            return -x.withUnsafeBytes { varCompare(r, $0) }
        default:
            return Value.compare(v, cellValue(c, s))
        }
    }

    /// Compares the key columns of two rows.
    @inline(__always)
    func compareKeys(_ columns: [Int], _ a: Int32, _ b: Int32) -> Int {
        for c in columns {
            let r = compareCells(c, Int(a), Int(b))
            if r != 0 { return r }
        }
        return 0
    }

    /// The total order of an ordered index: key columns, then slot.
    @inline(__always)
    func compareEntries(_ columns: [Int], _ a: Int32, _ b: Int32) -> Int {
        let r = compareKeys(columns, a, b)
        if r != 0 { return r }
        return a < b ? -1 : (a == b ? 0 : 1)
    }

    /// Compares probe values with the first `probe.count` key columns of a row.
    @inline(__always)
    func comparePrefix(_ probe: [Value], _ columns: [Int], _ s: Int32) -> Int {
        for i in 0..<probe.count {
            let r = compareProbe(probe[i], columns[i], Int(s))
            if r != 0 { return r }
        }
        return 0
    }

    func keyHasNull(_ columns: [Int], _ s: Int) -> Bool {
        for c in columns where isNullCell(c, s) { return true }
        return false
    }

    // MARK: Hashes

    /// Feeds a cell's canonical encoding — the bytes `Value.appendCanonical` writes for its value.
    @inline(__always)
    func hashCanonicalCell(_ c: Int, _ s: Int, into h: inout StableHasher) {
        let l = layout[c]
        switch l.kind {
        case .int64:
            let x = ints[l.store][s]
            if x == l.intNull { h.combine(byte: 0); return }
            h.combine(byte: l.canonicalTag)
            h.combine(word: UInt64(bitPattern: x))
        case .float64:
            let x = floats[l.store][s]
            if x == ColumnDefinition.floatNullSentinel { h.combine(byte: 0); return }
            h.combine(byte: 2)
            h.combine(word: x.bitPattern)
        case .decimal:
            let x = decimals[l.store][s]
            if x == VoltDecimal.nullSentinel { h.combine(byte: 0); return }
            let bits = UInt128(bitPattern: x)
            h.combine(byte: 3)
            h.combine(word: UInt64(truncatingIfNeeded: bits))
            h.combine(word: UInt64(truncatingIfNeeded: bits >> 64))
        case .varlen:
            let r = refs[s &* varCount &+ l.store]
            if r == VarRef.null { h.combine(byte: 0); return }
            h.combine(byte: l.canonicalTag)
            h.combine(word: UInt64(VarRef.length(r)))
            arena.withUnsafeBytes { a in
                h.combine(bytes: UnsafeRawBufferPointer(rebasing: a[VarRef.offset(r)..<VarRef.offset(r) + VarRef.length(r)]))
            }
        }
    }

    /// The stable 128-bit hash of a row's canonical bytes (every column's `appendCanonical`, in
    /// column order). Independent of the slot, the arena layout and the table.
    func rowHash(_ s: Int) -> (UInt64, UInt64) {
        var h = StableHasher()
        for c in 0..<layout.count { hashCanonicalCell(c, s, into: &h) }
        return h.finalize()
    }

    /// The token of the row in slot s: its partition key's MurmurHash3 token, or for a replicated
    /// table its content token.
    func computeToken(_ s: Int) -> Int32 {
        guard let p = partitionColumn else {
            return Int32(truncatingIfNeeded: rowHash(s).0 >> 32)
        }
        let l = layout[p]
        switch l.kind {
        case .int64:
            let x = ints[l.store][s]
            precondition(x != l.intNull, "partition key of slot \(s) of table \(name) is NULL")
            return MurmurHash3.token(integer: x).rawValue
        case .varlen:
            let r = refs[s &* varCount &+ l.store]
            precondition(r != VarRef.null, "partition key of slot \(s) of table \(name) is NULL")
            return arena.withUnsafeBytes { a in
                MurmurHash3.token(UnsafeRawBufferPointer(rebasing: a[VarRef.offset(r)..<VarRef.offset(r) + VarRef.length(r)])).rawValue
            }
        default:
            preconditionFailure("table \(name) is partitioned on a column of type \(l.type)")
        }
    }

    // MARK: Primary key

    /// The primary-key map entry of a stored row: the key's hash and the bucket payload (see
    /// SlotHashMap). Must agree with `primaryKeySlot`'s probes.
    func primaryKeyEntry(_ s: Int) -> (hash: UInt64, payload: UInt64) {
        switch primaryKeyShape {
        case .none:
            preconditionFailure("table \(name) has no primary key")
        case .singleInt(let c):
            let x = ints[layout[c].store][s]
            return (TableStorage.intKeyHash(x), UInt64(bitPattern: x))
        case .singleVar(let c):
            let r = refs[s &* varCount &+ layout[c].store]
            let hash = arena.withUnsafeBytes { a in
                TableStorage.bytesKeyHash(UnsafeRawBufferPointer(rebasing: a[VarRef.offset(r)..<VarRef.offset(r) + VarRef.length(r)]))
            }
            return (hash, r)
        case .general:
            var h = StableHasher(seed: 0x706b)
            for c in primaryKeyColumns { hashCanonicalCell(c, s, into: &h) }
            let (hash, second) = h.finalize()
            return (hash, second)
        }
    }

    @inline(__always)
    static func intKeyHash(_ x: Int64) -> UInt64 {
        StableHasher.fmix(UInt64(bitPattern: x) &* 0x9e37_79b9_7f4a_7c15 ^ 0x706b)
    }

    @inline(__always)
    static func bytesKeyHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = StableHasher(seed: 0x706b)
        h.combine(bytes: bytes)
        return h.finalize64()
    }

    /// The live slot whose primary key equals the probe, `key(i)` giving the i-th key value. A
    /// probe value not in the column's stored form is coerced first; one that cannot be matches
    /// nothing. Allocates nothing when the values are already in stored form.
    @inline(__always)
    func primaryKeySlot(_ key: (Int) -> Value) -> Int32? {
        switch primaryKeyShape {
        case .none:
            preconditionFailure("table \(name) has no primary key")
        case .singleInt(let c):
            let x: Int64
            switch key(0) {
            case .integer(let v) where layout[c].type != .timestamp: x = v
            case .timestamp(let v) where layout[c].type == .timestamp: x = v
            case let other:
                guard let v = try? definition.columns[c].coerce(other) else { return nil }
                switch v {
                case .integer(let i), .timestamp(let i): x = i
                default: return nil
                }
            }
            // The payload is the key itself: no trip to column storage.
            let bits = UInt64(bitPattern: x)
            return primaryMap.find(hash: TableStorage.intKeyHash(x)) { _, payload in payload == bits }
        case .singleVar(let c):
            switch key(0) {
            case .string(var v) where layout[c].type == .varchar:
                return v.withUTF8 { p in singleVarSlot(UnsafeRawBufferPointer(p)) }
            case .bytes(let v) where layout[c].type == .varbinary:
                return v.withUnsafeBytes { p in singleVarSlot(p) }
            case let other:
                guard let v = try? definition.columns[c].coerce(other) else { return nil }
                switch v {
                case .string(var s): return s.withUTF8 { p in singleVarSlot(UnsafeRawBufferPointer(p)) }
                case .bytes(let b): return b.withUnsafeBytes { p in singleVarSlot(p) }
                default: return nil
                }
            }
        case .general:
            var h = StableHasher(seed: 0x706b)
            var probe: [Value]? = nil
            for (i, c) in primaryKeyColumns.enumerated() {
                var v = key(i)
                if !isStorable(v, c) {
                    guard let coerced = try? definition.columns[c].coerce(v), !coerced.isNull else { return nil }
                    v = coerced
                    if probe == nil { probe = primaryKeyColumns.indices.map(key) }
                    probe![i] = v
                }
                if v.isNull { return nil }
                hashCanonicalValue(v, into: &h)
            }
            let (hash, second) = h.finalize()
            if let probe {
                return primaryMap.find(hash: hash) { s, payload in
                    payload == second && primaryKeyColumns.indices.allSatisfy { cellEquals(primaryKeyColumns[$0], Int(s), probe[$0]) }
                }
            }
            return primaryMap.find(hash: hash) { s, payload in
                payload == second && primaryKeyColumns.indices.allSatisfy { cellEquals(primaryKeyColumns[$0], Int(s), key($0)) }
            }
        }
    }

    /// A single var-length key: the payload is the key's arena reference, so the probe compares
    /// bytes without reading the row.
    @inline(__always)
    func singleVarSlot(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        primaryMap.find(hash: TableStorage.bytesKeyHash(bytes)) { _, r in
            VarRef.length(r) == bytes.count && varCompare(r, bytes) == 0
        }
    }

    /// Feeds a value's canonical encoding without building a byte array.
    func hashCanonicalValue(_ v: Value, into h: inout StableHasher) {
        switch v {
        case .null: h.combine(byte: 0)
        case .integer(let x): h.combine(byte: 1); h.combine(word: UInt64(bitPattern: x))
        case .float(let x): h.combine(byte: 2); h.combine(word: x.bitPattern)
        case .decimal(let x):
            let bits = UInt128(bitPattern: x.unscaled)
            h.combine(byte: 3)
            h.combine(word: UInt64(truncatingIfNeeded: bits))
            h.combine(word: UInt64(truncatingIfNeeded: bits >> 64))
        case .string(var x):
            h.combine(byte: 4)
            h.combine(word: UInt64(x.utf8.count))
            x.withUTF8 { h.combine(bytes: $0) }
        case .bytes(let x):
            h.combine(byte: 5)
            h.combine(word: UInt64(x.count))
            x.withUnsafeBytes { h.combine(bytes: $0) }
        case .timestamp(let x): h.combine(byte: 6); h.combine(word: UInt64(bitPattern: x))
        }
    }

    /// Whether two rows have equal values in `columns`.
    func keysEqual(_ columns: [Int], _ a: Int32, _ b: Int32) -> Bool {
        compareKeys(columns, a, b) == 0
    }

    /// The key of a row as VoltDB prints it in a constraint message: 'k1' or 'a', 'b'.
    func keyText(_ columns: [Int], _ s: Int) -> String {
        columns.map { "'\(cellValue($0, s))'" }.joined(separator: ", ")
    }
}
