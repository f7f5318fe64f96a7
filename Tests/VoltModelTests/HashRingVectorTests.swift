// The hashinator against every vector in Tests/Fixtures/hashinator-vectors.json (generated from
// the official voltdbclient by scripts/gen-vectors; layout in docs/PROTOCOL.md §7.5), plus the
// properties of ring construction and elastic expansion that VoltDB's `Buckets` guarantees.
import Foundation
import Testing
import VoltModel

// MARK: - The vectors file

struct HashinatorVectors: Sendable {
    struct Config: Sendable {
        var hex: String
        var sha256: String
        var byteCount: Int
        var tokenCount: Int
        var tokensPerPartition: [PartitionID: Int]
        var firstEntries: [Entry]
        var lastEntries: [Entry]
        var contiguousRuns: Int
    }

    struct Entry: Sendable, Equatable, CustomStringConvertible {
        var token: Token
        var partition: PartitionID
        var description: String { "(\(token), \(partition.rawValue))" }
    }

    struct KeyVector: Sendable, CustomStringConvertible {
        var type: SQLType
        var value: Value
        var hashedBytes: [UInt8]?
        var token: Token?
        var partitions: [String: PartitionID]
        var description: String { "\(type) \(value)" }
    }

    struct MurmurVector: Sendable {
        var bytes: [UInt8]
        var token: Token
    }

    struct TokenProbe: Sendable {
        var token: Token
        var partitions: [String: PartitionID]
    }

    struct PartitionKey: Sendable, Equatable, CustomStringConvertible {
        var partition: PartitionID
        var key: Value
        var description: String { "(\(partition.rawValue), \(key))" }
    }

    var configs: [String: Config]
    var keyVectors: [KeyVector]
    var murmurVectors: [MurmurVector]
    var tokenProbes: [TokenProbe]
    /// config -> type name (INTEGER, STRING, VARBINARY) -> rows in discovery order.
    var partitionKeys: [String: [String: [PartitionKey]]]

    /// The five vector rings and how this code builds each one.
    static let configNames = [
        "elastic_6p_16384t", "elastic_8p_16384t", "elastic_6p_expanded_to_8p_16384t",
        "elastic_2p_16t_small", "elastic_3p_8t_small",
    ]

    static func build(_ config: String) -> HashRing {
        switch config {
        case "elastic_6p_16384t": HashRing(partitionCount: 6)
        case "elastic_8p_16384t": HashRing(partitionCount: 8)
        case "elastic_6p_expanded_to_8p_16384t": HashRing(partitionCount: 6).addingPartitions(2)
        case "elastic_2p_16t_small": HashRing(partitionCount: 2, tokenCount: 16)
        case "elastic_3p_8t_small": HashRing(partitionCount: 3, tokenCount: 8)
        default: preconditionFailure("no recipe for vector config \(config)")
        }
    }

    /// Each vector ring built once for the whole run.
    static let rings: [String: HashRing] = Dictionary(uniqueKeysWithValues: configNames.map { ($0, build($0)) })

    /// The vectors, parsed once; tests that need them fail (not crash) when the file is missing.
    static let shared: Result<HashinatorVectors, any Error> = Result { try load() }

    static func load() throws -> HashinatorVectors {
        // #filePath is <root>/Tests/VoltModelTests/HashRingVectorTests.swift; the vectors are
        // checked in under <root>/Tests/Fixtures, so a fresh clone has them.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Tests/Fixtures/hashinator-vectors.json").standardizedFileURL
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try HashinatorVectors(json: json)
    }

    struct MalformedVectors: Error, CustomStringConvertible {
        var description: String
    }

    init(json: Any) throws {
        func fail(_ what: String) -> MalformedVectors { MalformedVectors(description: "hashinator-vectors.json: \(what)") }
        func dict(_ x: Any?, _ what: String) throws -> [String: Any] {
            guard let d = x as? [String: Any] else { throw fail("\(what) is not an object") }
            return d
        }
        func list(_ x: Any?, _ what: String) throws -> [Any] {
            guard let l = x as? [Any] else { throw fail("\(what) is not an array") }
            return l
        }
        func int(_ x: Any?, _ what: String) throws -> Int64 {
            guard let n = x as? NSNumber else { throw fail("\(what) is not a number") }
            return n.int64Value
        }
        func string(_ x: Any?, _ what: String) throws -> String {
            guard let s = x as? String else { throw fail("\(what) is not a string") }
            return s
        }
        func partitions(_ d: [String: Any], _ what: String) throws -> [String: PartitionID] {
            var out: [String: PartitionID] = [:]
            for (name, pid) in d where Self.configNames.contains(name) {
                out[name] = PartitionID(Int32(try int(pid, "\(what).\(name)")))
            }
            return out
        }

        let root = try dict(json, "the file")

        var configs: [String: Config] = [:]
        for (name, raw) in try dict(root["configs"], "configs") {
            let c = try dict(raw, name)
            let summary = try dict(c["summary"], "\(name).summary")
            func entries(_ key: String) throws -> [Entry] {
                try list(summary[key], "\(name).\(key)").map { pair in
                    let p = try list(pair, "\(name).\(key) entry")
                    return Entry(token: Token(Int32(try int(p[0], "token"))), partition: PartitionID(Int32(try int(p[1], "pid"))))
                }
            }
            var counts: [PartitionID: Int] = [:]
            for (pid, n) in try dict(summary["tokens_per_partition"], "\(name).tokens_per_partition") {
                guard let id = Int32(pid) else { throw fail("\(name): partition id \(pid)") }
                counts[PartitionID(id)] = Int(try int(n, "count"))
            }
            configs[name] = Config(
                hex: try string(c["config_hex"], "\(name).config_hex"),
                sha256: try string(c["config_sha256"], "\(name).config_sha256"),
                byteCount: Int(try int(c["config_len"], "\(name).config_len")),
                tokenCount: Int(try int(summary["token_count"], "\(name).token_count")),
                tokensPerPartition: counts,
                firstEntries: try entries("first_16_entries"),
                lastEntries: try entries("last_4_entries"),
                contiguousRuns: Int(try int(summary["number_of_contiguous_runs"], "\(name).number_of_contiguous_runs")))
        }

        var keyVectors: [KeyVector] = []
        for (i, raw) in try list(root["key_vectors"], "key_vectors").enumerated() {
            let v = try dict(raw, "key_vectors[\(i)]")
            let typeName = try string(v["type"], "key_vectors[\(i)].type")
            guard let type = SQLType(sqlName: typeName) else { throw fail("key_vectors[\(i)]: type \(typeName)") }
            let value: Value
            switch try string(v["value_encoding"], "key_vectors[\(i)].value_encoding") {
            case "integer": value = .integer(try int(v["value"], "key_vectors[\(i)].value"))
            case "utf8-string": value = .string(try string(v["value"], "key_vectors[\(i)].value"))
            case "hex": value = .bytes(try bytes(hex: try string(v["value"], "key_vectors[\(i)].value")))
            case "null": value = .null
            case let other: throw fail("key_vectors[\(i)]: encoding \(other)")
            }
            let hashed = v["hashed_bytes_hex"] is NSNull ? nil : try bytes(hex: try string(v["hashed_bytes_hex"], "hashed_bytes_hex"))
            let token = v["token"] is NSNull ? nil : Token(Int32(try int(v["token"], "key_vectors[\(i)].token")))
            keyVectors.append(KeyVector(type: type, value: value, hashedBytes: hashed, token: token,
                                        partitions: try partitions(try dict(v["partitions"], "partitions"), "key_vectors[\(i)]")))
        }

        let murmurVectors = try list(root["murmur_vectors"], "murmur_vectors").map { raw in
            let v = try dict(raw, "murmur vector")
            return MurmurVector(bytes: try bytes(hex: try string(v["bytes_hex"], "bytes_hex")),
                                token: Token(Int32(try int(v["token"], "murmur token"))))
        }

        let tokenProbes = try list(root["token_probes"], "token_probes").map { raw in
            let v = try dict(raw, "token probe")
            return TokenProbe(token: Token(Int32(try int(v["token"], "probe token"))), partitions: try partitions(v, "token probe"))
        }

        var partitionKeys: [String: [String: [PartitionKey]]] = [:]
        let byConfig = try dict(try dict(root["get_partition_keys"], "get_partition_keys")["by_config"], "by_config")
        for (name, raw) in byConfig {
            for (typeName, rows) in try dict(raw, name) {
                partitionKeys[name, default: [:]][typeName] = try list(rows, "\(name).\(typeName)").map { row in
                    let r = try list(row, "\(name).\(typeName) row")
                    let pid = PartitionID(Int32(try int(r[0], "pid")))
                    switch typeName {
                    case "INTEGER": return PartitionKey(partition: pid, key: .integer(try int(r[1], "key")))
                    case "STRING": return PartitionKey(partition: pid, key: .string(try string(r[1], "key")))
                    case "VARBINARY": return PartitionKey(partition: pid, key: .bytes(try bytes(hex: try string(r[1], "key"))))
                    default: throw fail("get_partition_keys type \(typeName)")
                    }
                }
            }
        }

        self.configs = configs
        self.keyVectors = keyVectors
        self.murmurVectors = murmurVectors
        self.tokenProbes = tokenProbes
        self.partitionKeys = partitionKeys
    }
}

func bytes(hex: String) throws -> [UInt8] {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { throw HashinatorVectors.MalformedVectors(description: "odd-length hex \(hex)") }
    func nibble(_ c: UInt8) throws -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: throw HashinatorVectors.MalformedVectors(description: "bad hex digit in \(hex)")
        }
    }
    return try stride(from: 0, to: digits.count, by: 2).map { try nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// The bytes §7.2 says are hashed for a key of `type`, written independently of `MurmurHash3.swift`
/// so that the vectors' `hashed_bytes_hex` checks the coercion rules, not just the hash.
func hashedBytes(of value: Value, as type: SQLType) -> [UInt8]? {
    switch value {
    case .null:
        return nil
    case .integer(let v):
        if type.isInteger, v == type.integerNullSentinel { return nil }
        return (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    case .string(let s):
        if type.isInteger, let v = Int64(s) { return hashedBytes(of: .integer(v), as: type) }
        return Array(s.utf8)
    case .bytes(let b):
        return b
    default:
        return nil
    }
}

// MARK: - Vector tests

@Suite struct HashRingVectorTests {
    @Test func sha256MatchesTheFIPSExamples() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func everyMurmurVector() throws {
        let vectors = try HashinatorVectors.shared.get()
        #expect(vectors.murmurVectors.count >= 34)
        for v in vectors.murmurVectors {
            #expect(MurmurHash3.token(v.bytes) == v.token, "bytes \(hexString(v.bytes))")
        }
    }

    @Test func everyKeyVectorHashesTheDocumentedBytes() throws {
        let vectors = try HashinatorVectors.shared.get()
        #expect(vectors.keyVectors.count == 70)
        for v in vectors.keyVectors {
            #expect(hashedBytes(of: v.value, as: v.type) == v.hashedBytes, "\(v): hashed bytes")
            if let bytes = v.hashedBytes { #expect(MurmurHash3.token(bytes) == v.token, "\(v): token of the hashed bytes") }
            #expect(v.value.partitionToken(as: v.type) == v.token, "\(v): partitionToken")
        }
    }

    @Test(arguments: HashinatorVectors.configNames)
    func everyKeyVectorLandsOnItsPartition(config: String) throws {
        let vectors = try HashinatorVectors.shared.get()
        let ring = try #require(HashinatorVectors.rings[config])
        let decoded = try HashRing(configBlob: try bytes(hex: try #require(vectors.configs[config]).hex))
        var checked = 0
        for v in vectors.keyVectors {
            let expected = try #require(v.partitions[config], "\(v) has no partition for \(config)")
            #expect(ring.partition(forKey: v.value, type: v.type) == expected, "\(v) in \(config)")
            #expect(decoded.partition(forKey: v.value, type: v.type) == expected, "\(v) in decoded \(config)")
            if v.token == nil { #expect(expected == PartitionID(0), "\(v): NULL goes to partition 0") }
            checked += 1
        }
        #expect(checked == 70)
    }

    @Test(arguments: HashinatorVectors.configNames)
    func constructedRingHasTheVectorBlob(config: String) throws {
        let expected = try #require(try HashinatorVectors.shared.get().configs[config])
        let ring = try #require(HashinatorVectors.rings[config])
        let blob = ring.configBlob
        #expect(blob.count == expected.byteCount)
        #expect(hexString(blob) == expected.hex.lowercased())
        #expect(SHA256.hex(blob) == expected.sha256.lowercased())
    }

    @Test(arguments: HashinatorVectors.configNames)
    func constructedRingMatchesTheSummary(config: String) throws {
        let expected = try #require(try HashinatorVectors.shared.get().configs[config])
        let ring = try #require(HashinatorVectors.rings[config])
        #expect(ring.tokenCount == expected.tokenCount)
        #expect(ring.tokensPerPartition == expected.tokensPerPartition)
        #expect(ring.partitions == expected.tokensPerPartition.keys.sorted())
        #expect(ring.partitionCount == expected.tokensPerPartition.count)
        let entries = (0..<ring.tokenCount).map { HashinatorVectors.Entry(token: ring.tokens[$0], partition: ring.owners[$0]) }
        #expect(Array(entries.prefix(16)) == expected.firstEntries)
        #expect(Array(entries.suffix(4)) == expected.lastEntries)
        #expect(ring.ownedRanges.count == expected.contiguousRuns)
    }

    @Test(arguments: HashinatorVectors.configNames)
    func vectorBlobDecodesAndRoundTrips(config: String) throws {
        let expected = try #require(try HashinatorVectors.shared.get().configs[config])
        let blob = try bytes(hex: expected.hex)
        let decoded = try HashRing(configBlob: blob)
        #expect(decoded == HashinatorVectors.rings[config])
        #expect(decoded.configBlob == blob)
    }

    @Test func everyTokenProbe() throws {
        let vectors = try HashinatorVectors.shared.get()
        #expect(vectors.tokenProbes.count == 11)
        var checked = 0
        for probe in vectors.tokenProbes {
            #expect(!probe.partitions.isEmpty)
            for (config, expected) in probe.partitions {
                let ring = try #require(HashinatorVectors.rings[config])
                #expect(ring.partition(for: probe.token) == expected, "token \(probe.token) in \(config)")
                checked += 1
            }
        }
        #expect(checked == 22)
    }

    @Test(arguments: HashinatorVectors.configNames)
    func getPartitionKeysInDiscoveryOrder(config: String) throws {
        let byType = try #require(try HashinatorVectors.shared.get().partitionKeys[config])
        let ring = try #require(HashinatorVectors.rings[config])
        #expect(byType.keys.sorted() == ["INTEGER", "STRING", "VARBINARY"])
        for (typeName, expected) in byType {
            let type = try #require(SQLType(sqlName: typeName))
            let rows = ring.partitionKeys(for: type).map { HashinatorVectors.PartitionKey(partition: $0.partition, key: $0.key) }
            #expect(rows == expected, "\(config) \(typeName)")
            #expect(rows.map(\.partition).sorted() == ring.partitions, "\(config) \(typeName): one key per partition")
        }
    }
}

// MARK: - Construction facts from §7.3

@Suite struct HashRingConstructionTests {
    @Test func tokensSitAtTheTruncatedInterval() {
        let ring = HashinatorVectors.rings["elastic_6p_16384t"]!
        #expect(ring.tokens[1].rawValue - ring.tokens[0].rawValue == 262_143)
        #expect(ring.tokens.first == Token.min)
        #expect(ring.tokens.last == Token(2_147_205_121))
        #expect(zip(ring.tokens, ring.tokens.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func smallRingsAreTheHandCheckedOnes() {
        // §7.3: tokens below -8 belong to partition 1, from -8 upward to partition 0.
        let two = HashinatorVectors.rings["elastic_2p_16t_small"]!
        #expect(two.ranges(of: PartitionID(1)) == [TokenRange(start: Int64(Int32.min), endExclusive: -8)])
        #expect(two.ranges(of: PartitionID(0)) == [TokenRange(start: -8, endExclusive: Int64(Int32.max) + 1)])
        #expect(two.partition(for: Token(-9)) == PartitionID(1))
        #expect(two.partition(for: Token(-8)) == PartitionID(0))
        #expect(two.partition(for: Token(Int32.max)) == PartitionID(0))

        let three = HashinatorVectors.rings["elastic_3p_8t_small"]!
        #expect(three.ownedRanges == [
            .init(range: TokenRange(start: Int64(Int32.min), endExclusive: -1_610_612_737), partition: PartitionID(2)),
            .init(range: TokenRange(start: -1_610_612_737, endExclusive: -4), partition: PartitionID(1)),
            .init(range: TokenRange(start: -4, endExclusive: 536_870_907), partition: PartitionID(2)),
            .init(range: TokenRange(start: 536_870_907, endExclusive: Int64(Int32.max) + 1), partition: PartitionID(0)),
        ])
    }

    @Test func ownedRangesTileTheRing() {
        for ring in HashinatorVectors.rings.values {
            let runs = ring.ownedRanges
            #expect(runs.first?.range.start == Int64(Int32.min))
            #expect(runs.last?.range.endExclusive == Int64(Int32.max) + 1)
            for (a, b) in zip(runs, runs.dropFirst()) {
                #expect(a.range.endExclusive == b.range.start)
                #expect(a.partition != b.partition, "runs are maximal")
            }
            for run in runs {
                #expect(ring.partition(for: Token(Int32(run.range.start))) == run.partition)
                #expect(ring.partition(for: Token(Int32(run.range.endExclusive - 1))) == run.partition)
            }
            let perPartition = ring.partitions.reduce(0) { $0 + ring.ranges(of: $1).count }
            #expect(perPartition == runs.count)
        }
    }

    @Test func nullAndUnhashableKeysGoToPartitionZero() {
        let ring = HashinatorVectors.rings["elastic_8p_16384t"]!
        #expect(ring.partition(forKey: .null, type: .bigint) == PartitionID(0))
        #expect(ring.partition(forKey: .null, type: .varchar) == PartitionID(0))
        #expect(ring.partition(forKey: .integer(Int64(Int16.min)), type: .smallint) == PartitionID(0))
        // The same number is not NULL at a wider width: it hashes.
        let widened = ring.partition(forKey: .integer(Int64(Int16.min)), type: .bigint)
        #expect(widened == ring.partition(for: MurmurHash3.token(integer: Int64(Int16.min))))
    }

    @Test func oneAndManyPartitions() {
        let one = HashRing(partitionCount: 1)
        #expect(one.partitions == [PartitionID(0)])
        #expect(one.ranges(of: PartitionID(0)) == [TokenRange.all])
        let full = HashRing(partitionCount: 8, tokenCount: 8)
        #expect(full.tokensPerPartition.values.allSatisfy { $0 == 1 })
    }
}

// MARK: - Blob decoding rejects what the Python client rejects

@Suite struct HashRingBlobTests {
    private func blob(count: Int32, entries: [(Int32, Int32)]) -> [UInt8] {
        func be(_ v: Int32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> UInt32(24 - 8 * $0)) } }
        return be(count) + entries.flatMap { be($0.0) + be($0.1) }
    }

    @Test func rejectsTooShortForTheCount() {
        #expect(throws: HashRingConfigError.missingEntryCount(byteCount: 3)) { try HashRing(configBlob: [0, 0, 0]) }
    }

    @Test func rejectsANonPositiveCount() {
        #expect(throws: HashRingConfigError.nonPositiveEntryCount(0)) { try HashRing(configBlob: blob(count: 0, entries: [])) }
        #expect(throws: HashRingConfigError.nonPositiveEntryCount(-1)) {
            try HashRing(configBlob: blob(count: -1, entries: [(Int32.min, 0)]))
        }
    }

    @Test func rejectsTheWrongLength() {
        #expect(throws: HashRingConfigError.lengthMismatch(entryCount: 2, expectedBytes: 20, actualBytes: 12)) {
            try HashRing(configBlob: blob(count: 2, entries: [(Int32.min, 0)]))
        }
        #expect(throws: HashRingConfigError.lengthMismatch(entryCount: 1, expectedBytes: 12, actualBytes: 13)) {
            try HashRing(configBlob: blob(count: 1, entries: [(Int32.min, 0)]) + [0])
        }
    }

    @Test func rejectsAFirstTokenOtherThanRingStart() {
        #expect(throws: HashRingConfigError.firstTokenNotRingStart(Token(Int32.min + 1))) {
            try HashRing(configBlob: blob(count: 1, entries: [(Int32.min + 1, 0)]))
        }
    }

    @Test func rejectsDecreasingTokens() {
        #expect(throws: HashRingConfigError.decreasingTokens(entry: 2, previous: Token(10), token: Token(5))) {
            try HashRing(configBlob: blob(count: 3, entries: [(Int32.min, 0), (10, 1), (5, 2)]))
        }
    }

    @Test func toleratesEqualNeighboursAndTheLaterEntryWins() throws {
        let ring = try HashRing(configBlob: blob(count: 3, entries: [(Int32.min, 0), (10, 1), (10, 2)]))
        #expect(ring.partition(for: Token(9)) == PartitionID(0))
        #expect(ring.partition(for: Token(10)) == PartitionID(2))
        #expect(ring.partition(for: Token(Int32.max)) == PartitionID(2))
        #expect(ring.ranges(of: PartitionID(1)) == [])
        #expect(ring.partitionKeys(for: .integer).map(\.partition).sorted() == [PartitionID(0), PartitionID(2)])
        #expect(ring.configBlob == blob(count: 3, entries: [(Int32.min, 0), (10, 1), (10, 2)]))
    }
}

// MARK: - Elastic expansion properties

/// Fresh rings for 1...16 partitions, built once.
let freshRings: [Int: HashRing] = Dictionary(uniqueKeysWithValues: (1...16).map { ($0, HashRing(partitionCount: $0)) })

@Suite struct HashRingExpansionTests {
    @Test(arguments: 1...12, 1...4)
    func expandingEqualsAFreshRingAndOnlyNewPartitionsGain(partitions p: Int, added k: Int) {
        let old = freshRings[p]!
        let grown = old.addingPartitions(k)
        #expect(grown == freshRings[p + k]!, "\(p) + \(k)")
        for entry in 0..<old.tokenCount where old.owners[entry] != grown.owners[entry] {
            #expect(grown.owners[entry].rawValue >= Int32(p),
                    "entry \(entry) moved from \(old.owners[entry]) to old \(grown.owners[entry])")
        }
        let counts = grown.tokensPerPartition.values
        #expect(counts.max()! - counts.min()! <= 1)
        #expect(grown.partitions == (0..<(p + k)).map { PartitionID(Int32($0)) })
    }

    @Test(arguments: 1...16)
    func freshRingsAreBalanced(partitions p: Int) {
        let counts = freshRings[p]!.tokensPerPartition
        #expect(counts.count == p)
        #expect(counts.values.max()! - counts.values.min()! <= 1)
        #expect(counts.values.reduce(0, +) == HashRing.defaultTokenCount)
    }

    @Test func addingNothingIsTheSameRing() {
        #expect(freshRings[5]!.addingPartitions(0) == freshRings[5]!)
    }

    @Test func explicitIdsContinueFromTheCurrentOwnership() {
        let byCount = freshRings[6]!.addingPartitions(2)
        let byIds = freshRings[6]!.addingPartitions([PartitionID(6), PartitionID(7)])
        #expect(byCount == byIds)
    }
}
