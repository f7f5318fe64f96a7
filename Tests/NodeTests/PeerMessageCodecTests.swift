// The mesh codec (PeerMessage.swift): the tag table and pinned byte layouts (mesh frames, and the
// metadata commands and cluster state that are also on disk), round trips of every kind of
// message with edge values and of random messages, typed errors for malformed input, every strict
// prefix and an extra byte rejected, and fuzzing with random and mutated bytes: a decoder may
// throw, never trap, and whatever it accepts re-encodes to exactly the input.

import Rebalancer
import Testing
import VoltModel
import VoltWire
@testable import Node

@Suite struct PeerMessageCodecTests {
    // MARK: - Representative values

    static func u64(_ n: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } }
    static func i32(_ n: Int32) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * Int32($0))) } }

    static func member(_ id: Int32, _ state: ClusterMember.State = .live) -> ClusterMember {
        ClusterMember(id: HostID(id), internalEndpoint: "10.0.0.\(id):3021", address: "10.0.0.\(id)", hostname: "hôte-\(id)-東京",
                      clientPort: 21212, adminPort: 21211, placementGroup: id == 0 ? "" : "räck \(id)", state: state,
                      incarnation: UInt64.max - UInt64(id), startedMillis: Int64.min + Int64(id))
    }

    static let request = HostRequest(member: member(7), configHash: "c0ffee", deploymentText: "<cluster kfactor=\"1\"/>\n<paths/>",
                                     schemaHash: "")

    static let everyCommand: [MetadataCommand] = [
        .hostFailed(HostID(2), reason: "no heartbeat for 90 s — ☠"),
        .hostFailed(HostID(Int32.min), reason: ""),
        .rejoinBegin(member(1, .rejoining)),
        .replicaReady(HostID(1), PartitionID(16383), leader: nil),
        .replicaReady(HostID(1), PartitionID(3), leader: HostID(2)),
        .rejoinEnd(HostID(Int32.max)),
        .schema(version: Int64.max, ddl: "CREATE TABLE ünïcode (a INTEGER);"),
        .schema(version: -1, ddl: ""),
        .joinAdmitted(JoinAdmission(members: [member(4, .joining), member(5, .live)],
                                    partitions: [PartitionState(id: PartitionID(6), replicas: [HostID(4), HostID(5)],
                                                                live: [HostID(4), HostID(5)], leader: HostID(5))],
                                    startedMillis: Int64.min)),
        .joinerReady(HostID(-7)),
        .joinParticipating,
        .rangeMoved(move: Int(Int32.max), upTo: Int64.min),
        .joinCompleted,
    ]

    /// Failed and rejoining members, a partition short of replicas, DDL history.
    static let degradedState = ClusterState(
        epoch: Epoch(UInt64.max), kFactor: 1, sitesPerHost: 2, partitionCount: 3,
        members: [member(0), member(1, .failed), member(2, .rejoining)],
        partitions: [PartitionState(id: PartitionID(0), replicas: [HostID(0), HostID(1)], live: [HostID(0)], leader: HostID(0)),
                     PartitionState(id: PartitionID(1), replicas: [HostID(1), HostID(2)], live: [HostID(2)], leader: HostID(2)),
                     PartitionState(id: PartitionID(2), replicas: [HostID(0), HostID(2)], live: [HostID(0), HostID(2)],
                                    leader: HostID(0))],
        rejoining: HostID(2), stoppedReason: nil, catalogVersion: 2, ddl: ["CREATE TABLE t (a INTEGER);", "-- ☃"])

    /// A stopped cluster: a reason, no rejoin, no members at all (the decoder must not care).
    static let stoppedState = ClusterState(
        epoch: Epoch(0), kFactor: 0, sitesPerHost: 1, partitionCount: 1, members: [],
        partitions: [PartitionState(id: PartitionID(0), replicas: [], live: [], leader: HostID(-1))],
        rejoining: nil, stoppedReason: "partition 0 lost every replica", catalogVersion: Int64.min, ddl: [])

    /// Every `Value` case, with its extremes, in one table (values need not match column types).
    static let everyValueTable = ResultTable(
        columns: [.init("I", .bigint), .init("F", .float), .init("D", .decimal), .init("S", .varchar), .init("B", .varbinary),
                  .init("T", .timestamp), .init("N", .tinyint)],
        rows: [[.integer(Int64.min), .float(-0.0), .decimal(VoltDecimal(unscaled: -VoltDecimal.maxUnscaled)), .string(""),
                .bytes([]), .timestamp(Int64.max), .null],
               [.integer(Int64.max), .float(.infinity), .decimal(VoltDecimal(unscaled: Int128.max)), .string("naïve ☃ 東京 🙂"),
                .bytes(Array(0...255)), .timestamp(Int64.min), .string("a\u{0}b")],
               [.null, .float(-.leastNonzeroMagnitude), .decimal(VoltDecimal(0)), .null, .null, .null, .integer(0)]])

    static let entries = [StreamEntry(seq: 1, transactionID: Int64.max, timestampMicros: Int64.min, record: .call([])),
                          StreamEntry(seq: Int64.max, transactionID: -1, timestampMicros: 0, record: .multi(Array(0...255)))]

    /// Every kind of message, most more than once (empty and extreme values).
    static var everyKind: [PeerMessage] {
        var messages: [PeerMessage] = [
            .formationRequest(request),
            .formationRequest(HostRequest(member: member(0), configHash: "", deploymentText: "", schemaHash: "")),
            .refused("the deployment of this host differs: <cluster sitesperhost=\"4\"/> — ✗"),
            .refused(""),
            .welcome(HostID(1), degradedState.encoded()),
            .welcome(HostID(0), []),
            .hello(HostID(Int32.max), incarnation: UInt64.max, endpoint: "[::1]:3021"),
            .hello(HostID(-1), incarnation: 0, endpoint: ""),
            .heartbeat(epoch: 0),
            .heartbeat(epoch: UInt64.max),
            .poison("declared failed at epoch 9"),
            .raft([]),
            .raft(Array(0...255)),
            .forward(requestID: Int64.min, invocation: [1, 2, 3]),
            .forwardReply(requestID: Int64.max, response: []),
            .replicate(partition: PartitionID(0), entry: entries[0]),
            .replicate(partition: PartitionID(Int32.min), entry: entries[1]),
            .ack(partition: PartitionID(3), seq: -1, status: Int8.min, hash: UInt64.max),
            .mpBegin(transactionID: 0, timestampMicros: Int64.max, invocation: []),
            .mpResults(transactionID: 1, round: Int32.max, results: []),
            .mpResults(transactionID: -1, round: 0, results: [
                MPResult(partition: PartitionID(0), .success(everyValueTable)),
                MPResult(partition: PartitionID(1), .success(ResultTable(columns: []))),
                MPResult(partition: PartitionID(2), .success(ResultTable(columns: [.init("EMPTY", .varchar)]))),
                MPResult(partition: PartitionID(3), table: nil, errorKind: 255, errorMessage: "unknown kind"),
            ] + SQLError.kindCodes.enumerated().map { i, kind in
                MPResult(partition: PartitionID(Int32(i)), .failure(SQLError(kind, "error \(i): ümlaut")))
            }),
            .mpDone(transactionID: Int64.min, status: 1, hash: 0),
            .rejoinRequest(partition: PartitionID(16383)),
            .rejoinChunk(partition: PartitionID(2), startSeq: 0, ddl: [], payload: [], last: false),
            .rejoinChunk(partition: PartitionID(2), startSeq: Int64.max, ddl: ["CREATE TABLE t (a INTEGER);", "", "— ☃"],
                         payload: Array(repeating: 0xFF, count: 300), last: true),
            .statsRequest(requestID: 9, selector: "TABLE"),
            .statsReply(requestID: -9, table: everyValueTable),
            .statsReply(requestID: 0, table: ResultTable(columns: [])),
            .repairQuery(partition: PartitionID(1), after: Int64.min, epoch: UInt64.max),
            .repairAnswer(partition: PartitionID(1), lastSeq: 0, entries: []),
            .repairAnswer(partition: PartitionID(1), lastSeq: Int64.max, entries: entries),
            .rejoinLoaded(partition: PartitionID(0), lastSeq: -1),
            .replace(HostID(2), bootstrap: degradedState.encoded(), current: stoppedState.encoded(), term: UInt64.max),
            .replace(HostID(0), bootstrap: [], current: [], term: 0),
            .addRequest(request, unreachable: []),
            .addRequest(request, unreachable: [HostID(0), HostID(3)]),
            .joinWaiting(status: "waiting for 1 more host to join (K+1 = 2)", coordinator: "127.0.0.1:3021", current: degradedState.encoded()),
            .joinWaiting(status: "", coordinator: "", current: []),
            .joinWelcome(HostID(4), bootstrap: degradedState.encoded(), current: stoppedState.encoded()),
        ]
        messages += everyCommand.map { .propose($0) }
        return messages
    }

    // MARK: - Random values

    static func randomInt64(_ rng: inout SplitMix64) -> Int64 {
        rng.chance(percent: 20) ? [Int64.min, Int64.max, 0, -1][rng.below(4)] : Int64(bitPattern: rng.next())
    }

    static func randomInt32(_ rng: inout SplitMix64) -> Int32 { Int32(truncatingIfNeeded: randomInt64(&rng)) }

    static func randomString(_ rng: inout SplitMix64) -> String {
        let pool = ["", "a", "host-1", "hôte", "東京", "🙂", "a\u{0}b", "CREATE TABLE t (a INTEGER);"]
        return (0..<rng.below(3)).map { _ in pool[rng.below(pool.count)] }.joined()
    }

    static func randomMember(_ rng: inout SplitMix64, id: HostID? = nil) -> ClusterMember {
        ClusterMember(id: id ?? HostID(randomInt32(&rng)), internalEndpoint: randomString(&rng), address: randomString(&rng),
                      hostname: randomString(&rng), clientPort: Int(randomInt32(&rng)), adminPort: Int(randomInt32(&rng)),
                      placementGroup: randomString(&rng), state: [.live, .failed, .rejoining][rng.below(3)],
                      incarnation: rng.next(), startedMillis: randomInt64(&rng))
    }

    static func randomRequest(_ rng: inout SplitMix64) -> HostRequest {
        HostRequest(member: randomMember(&rng), configHash: randomString(&rng), deploymentText: randomString(&rng),
                    schemaHash: randomString(&rng))
    }

    static func randomCommand(_ rng: inout SplitMix64) -> MetadataCommand {
        switch rng.below(5) {
        case 0: .hostFailed(HostID(randomInt32(&rng)), reason: randomString(&rng))
        case 1: .rejoinBegin(randomMember(&rng))
        case 2: .replicaReady(HostID(randomInt32(&rng)), PartitionID(randomInt32(&rng)),
                              leader: rng.chance(percent: 50) ? nil : HostID(randomInt32(&rng)))
        case 3: .rejoinEnd(HostID(randomInt32(&rng)))
        default: .schema(version: randomInt64(&rng), ddl: randomString(&rng))
        }
    }

    static func randomHosts(_ rng: inout SplitMix64) -> [HostID] {
        (0..<rng.below(4)).map { _ in HostID(Int32(rng.below(6)) - 1) }
    }

    static func randomState(_ rng: inout SplitMix64) -> ClusterState {
        let members = (0..<rng.below(4)).map { i in randomMember(&rng, id: HostID(Int32(i))) }
        let partitions = (0..<rng.below(4)).map { i in
            PartitionState(id: PartitionID(Int32(i)), replicas: randomHosts(&rng), live: randomHosts(&rng), leader: HostID(randomInt32(&rng)))
        }
        return ClusterState(epoch: Epoch(rng.next()), kFactor: Int(randomInt32(&rng)), sitesPerHost: Int(randomInt32(&rng)),
                            partitionCount: Int(randomInt32(&rng)), members: members, partitions: partitions,
                            rejoining: rng.chance(percent: 50) ? nil : HostID(Int32(rng.below(1000))),
                            stoppedReason: rng.chance(percent: 70) ? nil : randomString(&rng), catalogVersion: randomInt64(&rng),
                            ddl: (0..<rng.below(3)).map { _ in randomString(&rng) },
                            join: rng.chance(percent: 70) ? nil : JoinState(
                                joiners: randomHosts(&rng), newPartitions: (0..<rng.below(3)).map { PartitionID(Int32($0)) },
                                ready: randomHosts(&rng), phase: rng.chance(percent: 50) ? .admitted : .moving,
                                progress: (0..<rng.below(4)).map { _ in randomInt64(&rng) }, startedMillis: randomInt64(&rng)))
    }

    /// Any value but NaN (which is never equal to itself; `everyValueTable` has none, the fuzzers do).
    static func randomValue(_ rng: inout SplitMix64) -> Value {
        switch rng.below(7) {
        case 0: return .null
        case 1: return .integer(randomInt64(&rng))
        case 2:
            let d = Double(bitPattern: rng.next())
            return .float(d.isNaN ? -0.0 : d)
        case 3: return .decimal(VoltDecimal(unscaled: Int128(randomInt64(&rng)) * Int128(randomInt64(&rng))))
        case 4: return .string(randomString(&rng))
        case 5: return .bytes(rng.bytes(rng.below(5)))
        default: return .timestamp(randomInt64(&rng))
        }
    }

    static func randomTable(_ rng: inout SplitMix64) -> ResultTable {
        let columns = (0..<rng.below(4)).map { _ in
            ResultTable.Column(randomString(&rng), SQLType.allCases[rng.below(SQLType.allCases.count)])
        }
        let rows = columns.isEmpty ? [] : (0..<rng.below(4)).map { _ in columns.map { _ in randomValue(&rng) } }
        return ResultTable(columns: columns, rows: rows)
    }

    static func randomEntry(_ rng: inout SplitMix64) -> StreamEntry {
        let bytes = rng.bytes(rng.below(6))
        return StreamEntry(seq: randomInt64(&rng), transactionID: randomInt64(&rng), timestampMicros: randomInt64(&rng),
                           record: rng.chance(percent: 50) ? .call(bytes) : .multi(bytes))
    }

    static func randomResult(_ rng: inout SplitMix64) -> MPResult {
        let p = PartitionID(randomInt32(&rng))
        if rng.chance(percent: 50) { return MPResult(partition: p, .success(randomTable(&rng))) }
        return MPResult(partition: p, table: nil, errorKind: UInt8(1 + rng.below(255)), errorMessage: randomString(&rng))
    }

    /// A state's bytes, or arbitrary ones: the message carries them opaquely.
    static func randomPayload(_ rng: inout SplitMix64) -> [UInt8] {
        rng.chance(percent: 50) ? randomState(&rng).encoded() : rng.bytes(rng.below(8))
    }

    static func randomMessage(_ rng: inout SplitMix64) -> PeerMessage {
        let tag = PeerMessage.Tag.allCases[rng.below(PeerMessage.Tag.allCases.count)]
        switch tag {
        case .formationRequest: return .formationRequest(randomRequest(&rng))
        case .refused: return .refused(randomString(&rng))
        case .welcome: return .welcome(HostID(randomInt32(&rng)), randomPayload(&rng))
        case .hello: return .hello(HostID(randomInt32(&rng)), incarnation: rng.next(), endpoint: randomString(&rng))
        case .heartbeat: return .heartbeat(epoch: rng.next())
        case .poison: return .poison(randomString(&rng))
        case .raft: return .raft(rng.bytes(rng.below(20)))
        case .propose: return .propose(randomCommand(&rng))
        case .forward: return .forward(requestID: randomInt64(&rng), invocation: rng.bytes(rng.below(20)))
        case .forwardReply: return .forwardReply(requestID: randomInt64(&rng), response: rng.bytes(rng.below(20)))
        case .replicate: return .replicate(partition: PartitionID(randomInt32(&rng)), entry: randomEntry(&rng))
        case .ack:
            return .ack(partition: PartitionID(randomInt32(&rng)), seq: randomInt64(&rng), status: Int8(truncatingIfNeeded: rng.next()),
                        hash: rng.next())
        case .mpBegin: return .mpBegin(transactionID: randomInt64(&rng), timestampMicros: randomInt64(&rng), invocation: rng.bytes(rng.below(20)))
        case .mpResults:
            return .mpResults(transactionID: randomInt64(&rng), round: randomInt32(&rng),
                              results: (0..<rng.below(3)).map { _ in randomResult(&rng) })
        case .mpDone: return .mpDone(transactionID: randomInt64(&rng), status: Int8(truncatingIfNeeded: rng.next()), hash: rng.next())
        case .rejoinRequest: return .rejoinRequest(partition: PartitionID(randomInt32(&rng)))
        case .rejoinChunk:
            return .rejoinChunk(partition: PartitionID(randomInt32(&rng)), startSeq: randomInt64(&rng),
                                ddl: (0..<rng.below(3)).map { _ in randomString(&rng) }, payload: rng.bytes(rng.below(20)),
                                last: rng.chance(percent: 50))
        case .statsRequest: return .statsRequest(requestID: randomInt64(&rng), selector: randomString(&rng))
        case .statsReply: return .statsReply(requestID: randomInt64(&rng), table: randomTable(&rng))
        case .repairQuery: return .repairQuery(partition: PartitionID(randomInt32(&rng)), after: randomInt64(&rng), epoch: rng.next())
        case .repairAnswer:
            return .repairAnswer(partition: PartitionID(randomInt32(&rng)), lastSeq: randomInt64(&rng),
                                 entries: (0..<rng.below(3)).map { _ in randomEntry(&rng) })
        case .rejoinLoaded: return .rejoinLoaded(partition: PartitionID(randomInt32(&rng)), lastSeq: randomInt64(&rng))
        case .replace:
            return .replace(HostID(randomInt32(&rng)), bootstrap: randomPayload(&rng), current: randomPayload(&rng), term: rng.next())
        case .addRequest: return .addRequest(randomRequest(&rng), unreachable: randomHosts(&rng).sorted())
        case .joinWaiting:
            return .joinWaiting(status: randomString(&rng), coordinator: randomString(&rng), current: randomPayload(&rng))
        case .joinWelcome: return .joinWelcome(HostID(randomInt32(&rng)), bootstrap: randomPayload(&rng), current: randomPayload(&rng))
        }
    }

    /// Decodes `rounds` inputs (made from the round number and a generator seeded with `seed`) as
    /// `T`: each must either throw a `WireError` or give a value that re-encodes to exactly the
    /// input. (Typed throws: the compiler already rules out any other error.) Returns how many decoded.
    static func canonicalOrError<T: MeshCodable>(_: T.Type, seed: UInt64, rounds: Int,
                                                 sourceLocation: SourceLocation = #_sourceLocation,
                                                 input: (Int, inout SplitMix64) -> [UInt8]) -> Int {
        var rng = SplitMix64(seed: seed)
        var accepted = 0
        for round in 0..<rounds {
            let bytes = input(round, &rng)
            do {
                let value = try T.decode(bytes)
                #expect(value.encoded() == bytes, "\(bytes) decoded to \(value), which encodes differently",
                        sourceLocation: sourceLocation)
                accepted += 1
            } catch {}
        }
        return accepted
    }

    /// A few bytes changed, cut or inserted.
    static func mutated(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<(1 + rng.below(3)) {
            switch rng.below(3) {
            case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.removeLast(rng.below(bytes.count))
            default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
            }
            if bytes.isEmpty { break }
        }
        return bytes
    }

    // MARK: - Tags and layouts

    /// The wire numbering, written out: a renumbered or reused tag fails here.
    @Test func everyMessageKindHasItsOwnFixedTag() {
        let table: [(PeerMessage.Tag, UInt8)] = [
            (.formationRequest, 1), (.refused, 2), (.welcome, 3), (.hello, 4), (.heartbeat, 5), (.poison, 6), (.raft, 7),
            (.propose, 8), (.forward, 9), (.forwardReply, 10), (.replicate, 11), (.ack, 12), (.mpBegin, 13), (.mpResults, 14),
            (.mpDone, 15), (.rejoinRequest, 16), (.rejoinChunk, 17), (.statsRequest, 18), (.statsReply, 19), (.repairQuery, 20),
            (.repairAnswer, 21), (.rejoinLoaded, 22), (.replace, 23), (.addRequest, 24),
            (.joinWaiting, 25), (.joinWelcome, 26),
        ]
        #expect(table.map(\.0) == PeerMessage.Tag.allCases)
        for (tag, raw) in table { #expect(tag.rawValue == raw, "\(tag)") }
        #expect(Set(PeerMessage.Tag.allCases.map(\.rawValue)).count == PeerMessage.Tag.allCases.count)
        // The samples cover every kind, and each encoding starts with its kind's tag.
        #expect(Set(Self.everyKind.map(\.tag)) == Set(PeerMessage.Tag.allCases))
        for message in Self.everyKind { #expect(message.encoded().first == message.tag.rawValue, "\(message)") }
        #expect(MetadataCommand.Tag.allCases.map(\.rawValue) == Array(1...11))
        #expect(Set(Self.everyCommand.map(\.tag)) == Set(MetadataCommand.Tag.allCases))
        #expect(Value.ExactTag.allCases.map(\.rawValue) == Array(0...6))
    }

    @Test func aFrameIsLengthThenTagThenBigEndianFields() {
        #expect(PeerMessage.heartbeat(epoch: 0x0102).encodeFrame() == [0, 0, 0, 9, 5] + Self.u64(0x0102))
        #expect(PeerMessage.rejoinRequest(partition: PartitionID(7)).encodeFrame() == [0, 0, 0, 5, 16, 0, 0, 0, 7])
        let entry = StreamEntry(seq: 4, transactionID: 5, timestampMicros: 6, record: .multi([0xAB]))
        #expect(PeerMessage.replicate(partition: PartitionID(3), entry: entry).encoded()
                == [11] + Self.i32(3) + Self.u64(4) + Self.u64(5) + Self.u64(6) + [1] + [0, 0, 0, 1, 0xAB])
        #expect(PeerMessage.ack(partition: PartitionID(1), seq: 2, status: -1, hash: UInt64.max).encoded()
                == [12] + Self.i32(1) + Self.u64(2) + [0xFF] + Self.u64(UInt64.max))
        #expect(PeerMessage.rejoinChunk(partition: PartitionID(1), startSeq: 2, ddl: ["a"], payload: [], last: true).encoded()
                == [17] + Self.i32(1) + Self.u64(2) + Self.i32(1) + Self.i32(1) + [0x61] + Self.i32(0) + [1])
        #expect(PeerMessage.repairAnswer(partition: PartitionID(1), lastSeq: 9, entries: Array(Self.entries.prefix(1))).encoded()
                == [21] + Self.i32(1) + Self.u64(9) + Self.i32(1) + Self.u64(1) + Self.u64(UInt64(Int64.max))
                    + Self.u64(UInt64(bitPattern: Int64.min)) + [0] + Self.i32(0))
        let table = ResultTable(columns: [.init("C", .bigint)], rows: [[.integer(1)], [.null]])
        #expect(PeerMessage.statsReply(requestID: 1, table: table).encoded()
                == [19] + Self.u64(1) + Self.i32(1) + Self.i32(1) + [0x43, 6] + Self.i32(2) + [1] + Self.u64(1) + [0])
        for message in Self.everyKind {
            let frame = message.encodeFrame()
            #expect(Array(frame.dropFirst(4)) == message.encoded())
            #expect(frame.prefix(4).elementsEqual(Self.i32(Int32(frame.count - 4))))
        }
    }

    /// A formation request keeps tag 1's old layout (its last byte was the add flag and is 0); an
    /// add request is tag 24 with the same host request and no flag.
    @Test func formationAndAddRequestsShareTheHostRequestEncoding() throws {
        let request = Self.request.encoded()
        #expect(PeerMessage.formationRequest(Self.request).encoded() == [1] + request + [0])
        #expect(PeerMessage.addRequest(Self.request, unreachable: [HostID(2)]).encoded() == [24] + request + Self.i32(1) + Self.i32(2))
        // What an older host sent for an add request: tag 1 with the flag set. It is refused, not misread.
        #expect(throws: WireError.self) { try PeerMessage.decode([1] + request + [1]) }
        #expect(try PeerMessage.decode([1] + request + [0]) == .formationRequest(Self.request))
    }

    /// Metadata commands and the cluster state are on disk (raft.log, cluster/bootstrap): pinned.
    @Test func metadataCommandsAndClusterStateKeepTheirLayoutOnDisk() {
        #expect(MetadataCommand.replicaReady(HostID(1), PartitionID(2), leader: nil).encoded() == [3] + Self.i32(1) + Self.i32(2))
        #expect(MetadataCommand.replicaReady(HostID(1), PartitionID(2), leader: HostID(4)).encoded()
                == [11] + Self.i32(1) + Self.i32(2) + Self.i32(4))
        #expect(MetadataCommand.rejoinEnd(HostID(3)).encoded() == [4] + Self.i32(3))
        #expect(MetadataCommand.schema(version: 1, ddl: "x").encoded() == [5] + Self.u64(1) + Self.i32(1) + [0x78])
        #expect(MetadataCommand.hostFailed(HostID(2), reason: "").encoded() == [1] + Self.i32(2) + Self.i32(0))
        #expect(MetadataCommand.rejoinBegin(Self.member(1)).encoded() == [2] + Self.member(1).encoded())
        let empty = ClusterState(epoch: Epoch(1), kFactor: 0, sitesPerHost: 1, partitionCount: 1, members: [], partitions: [],
                                 rejoining: nil, stoppedReason: nil, catalogVersion: 0, ddl: [])
        #expect(empty.encoded() == Self.u64(1) + Self.i32(0) + Self.i32(1) + Self.i32(1) + Self.i32(0) + Self.i32(0)
                + Self.i32(-1) + Self.i32(-1) + Self.u64(0) + Self.i32(0))
        let partition = PartitionState(id: PartitionID(4), replicas: [HostID(1), HostID(0)], live: [HostID(1)], leader: HostID(1))
        #expect(partition.encoded() == Self.i32(4) + Self.i32(1) + Self.i32(2) + Self.i32(0) + Self.i32(1) + Self.i32(1) + Self.i32(1))
    }

    // MARK: - Round trips

    @Test func everyKindOfMessageRoundTrips() throws {
        for message in Self.everyKind {
            #expect(try PeerMessage.decode(message.encoded()) == message)
            #expect(try PeerMessage.decode(message.encodeFrame().dropFirst(4)) == message, "a slice decodes on its own")
        }
    }

    @Test func everyMetadataCommandRoundTrips() throws {
        for command in Self.everyCommand { #expect(try MetadataCommand.decode(command.encoded()) == command) }
    }

    /// Hand-made states (failed and rejoining members, a stopped cluster), and the states a real
    /// cluster goes through: formed, a host failed, rejoining, caught up, a schema change.
    @Test func clusterStatesRoundTrip() throws {
        #expect(try ClusterState.decode(Self.degradedState.encoded()) == Self.degradedState)
        #expect(try ClusterState.decode(Self.stoppedState.encoded()) == Self.stoppedState)
        let members = (0..<3).map { Self.member(Int32($0)) }
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id, placementGroup: "0") },
                                           sitesPerHost: 2, kFactor: 1)
        var state = ClusterState(layout: layout, members: members)
        var back = Self.member(1, .live)
        back.incarnation = 99
        var commands: [MetadataCommand] = [.hostFailed(HostID(1), reason: "gone"), .rejoinBegin(back)]
        let failed = state.applying(.hostFailed(HostID(1), reason: "gone"))   // the leaders the readiness comes from
        commands += state.slots(of: HostID(1)).map { .replicaReady(HostID(1), $0, leader: failed.partition($0)!.leader) }
        commands += [.rejoinEnd(HostID(1)), .schema(version: 1, ddl: "CREATE TABLE t (a INTEGER);"), .hostFailed(HostID(0), reason: "x")]
        var seen: Set<ClusterMember.State> = []
        for command in commands {
            let next = state.applying(command)
            #expect(next.epoch > state.epoch, "\(command) applies")
            state = next
            seen.formUnion(state.members.map(\.state))
            #expect(try ClusterState.decode(state.encoded()) == state)
        }
        #expect(seen == [.live, .failed, .rejoining])
    }

    @Test func resultTablesKeepEveryValueExactly() throws {
        var w = WireWriter()
        Self.everyValueTable.encodeExact(into: &w)
        let bytes = w.take()
        var r = WireReader(bytes)
        let decoded = try ResultTable.decodeExact(from: &r)
        #expect(decoded == Self.everyValueTable)
        #expect(r.isAtEnd)
        // NaN is never equal to itself, so its bits are compared: a signalling NaN with a payload too.
        for bits: UInt64 in [Double.nan.bitPattern, Double.signalingNaN.bitPattern | 0x1234, UInt64.max] {
            let table = ResultTable(columns: [.init("F", .float)], rows: [[.float(Double(bitPattern: bits))]])
            let reply = PeerMessage.statsReply(requestID: 1, table: table).encoded()
            guard case .statsReply(_, let decoded) = try PeerMessage.decode(reply), case .float(let d) = decoded.rows[0][0] else {
                Issue.record("NaN table did not come back")
                continue
            }
            #expect(d.bitPattern == bits)
            #expect(try PeerMessage.decode(reply).encoded() == reply)
        }
    }

    @Test func randomMessagesRoundTrip() throws {
        var rng = SplitMix64(seed: 31)
        for _ in 0..<3000 {
            let message = Self.randomMessage(&rng)
            #expect(try PeerMessage.decode(message.encoded()) == message)
        }
        for _ in 0..<500 {
            let state = Self.randomState(&rng)
            #expect(try ClusterState.decode(state.encoded()) == state)
        }
    }

    // MARK: - Malformed input

    @Test func everyStrictPrefixThrowsAndAnExtraByteIsTrailing() {
        var rng = SplitMix64(seed: 32)
        let messages = Self.everyKind + (0..<300).map { _ in Self.randomMessage(&rng) }
        for message in messages {
            let bytes = message.encoded()
            for length in 0..<bytes.count {
                do {
                    let decoded = try PeerMessage.decode(bytes[..<length])
                    Issue.record("prefix \(length) of \(message) decoded to \(decoded)")
                } catch {}
            }
            #expect(throws: WireError(.trailingBytes(1), what: "PeerMessage", offset: bytes.count)) {
                try PeerMessage.decode(bytes + [0])
            }
        }
        for state in [Self.degradedState, Self.stoppedState] {
            let bytes = state.encoded()
            for length in 0..<bytes.count {
                if let decoded = try? ClusterState.decode(bytes[..<length]) { Issue.record("prefix \(length) decoded to \(decoded)") }
            }
            #expect(throws: WireError.self) { try ClusterState.decode(bytes + [0]) }
        }
    }

    @Test func malformedMessagesThrow() {
        func rejects(_ bytes: [UInt8], _ why: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(throws: WireError.self, why, sourceLocation: sourceLocation) { try PeerMessage.decode(bytes) }
        }
        rejects([], "no tag")
        for tag: UInt8 in [0, 25, 255] { rejects([tag], "unknown tag \(tag)") }
        let chunk = { (count: Int32, last: UInt8) -> [UInt8] in [17] + Self.i32(1) + Self.u64(2) + Self.i32(count) + Self.i32(0) + [last] }
        #expect(throws: Never.self) { try PeerMessage.decode(chunk(0, 1)) }
        rejects(chunk(0, 2), "a flag other than 0 or 1")
        rejects(chunk(-1, 0), "a negative count")
        rejects(chunk(Int32.max, 0), "a count beyond the bytes left, before allocating for it")
        rejects([7] + Self.i32(-1), "NULL bytes, which would come back as empty ones")
        rejects([7] + Self.i32(-2), "a negative length")
        rejects([7] + Self.i32(Int32.max) + [1, 2], "a length beyond the bytes left")
        rejects([2] + Self.i32(2) + [0xC3, 0x28], "a string that is not UTF-8")
        rejects([2] + Self.i32(-1), "a NULL reason")
        rejects([11] + Self.i32(0) + Self.u64(1) + Self.u64(2) + Self.u64(3) + [2] + Self.i32(0), "stream record kind 2")
        rejects([8, 6] + Self.i32(0), "metadata command tag 6")
        rejects([8, 0], "metadata command tag 0")
        var member = Self.member(1).encoded()
        let state = Array("live".utf8), firstState = member.indices.first { member[$0...].starts(with: state) }!
        member[firstState] = UInt8(ascii: "L")
        rejects([8, 2] + member, "member state Live")
        let column = { (type: UInt8) -> [UInt8] in [19] + Self.u64(1) + Self.i32(1) + Self.i32(1) + [0x43, type] + Self.i32(0) }
        #expect(throws: Never.self) { try PeerMessage.decode(column(6)) }
        rejects(column(7), "column type 7")
        rejects([19] + Self.u64(1) + Self.i32(0) + Self.i32(1), "a row in a table without columns")
        rejects([19] + Self.u64(1) + Self.i32(1) + Self.i32(1) + [0x43, 6] + Self.i32(2) + [0], "two rows, one value")
        rejects([19] + Self.u64(1) + Self.i32(1) + Self.i32(1) + [0x43, 6] + Self.i32(1) + [7], "value tag 7")
    }

    @Test func malformedClusterStatesThrow() {
        let header = Self.u64(1) + Self.i32(0) + Self.i32(1) + Self.i32(1) + Self.i32(0)
        let tail = Self.i32(-1) + Self.u64(0) + Self.i32(0)
        let partition = { (replicas: [Int32]) -> [UInt8] in
            Self.i32(1) + Self.i32(0) + Self.i32(0) + Self.i32(Int32(replicas.count)) + replicas.flatMap(Self.i32) + Self.i32(0)
        }
        #expect(throws: Never.self) { try ClusterState.decode(header + partition([0, 1]) + Self.i32(-1) + tail) }
        #expect(throws: WireError.self, "replicas not ascending") {
            try ClusterState.decode(header + partition([1, 0]) + Self.i32(-1) + tail)
        }
        #expect(throws: WireError.self, "rejoining host -2 (only -1 means none)") {
            try ClusterState.decode(header + Self.i32(0) + Self.i32(-2) + tail)
        }
    }

    // MARK: - Fuzzing

    /// Random bytes never trap the decoder. Most are rejected; the few it accepts (a heartbeat's
    /// tag and eight bytes, say) must be the canonical encoding of what they decode to.
    @Test func fuzzRandomBytesNeverCrashTheDecoder() {
        let accepted = Self.canonicalOrError(PeerMessage.self, seed: 33, rounds: 20_000) { round, rng in
            var bytes = rng.bytes(rng.below(40))
            // Half the inputs start with a valid tag, to get past the first check.
            if round % 2 == 0, !bytes.isEmpty { bytes[0] = UInt8(1 + rng.below(PeerMessage.Tag.allCases.count)) }
            return bytes
        }
        #expect(accepted > 0, "no random input decoded; the fuzzer only tested the tag check")
    }

    /// Valid encodings (every sample, then random messages) with a few bytes changed, cut or
    /// inserted: these reach deep into the decoder (counts, lengths, nested tables and members),
    /// where random bytes rarely go.
    @Test func fuzzMutatedEncodingsNeverCrashTheDecoder() {
        let samples = Self.everyKind
        let accepted = Self.canonicalOrError(PeerMessage.self, seed: 34, rounds: 20_000) { round, rng in
            Self.mutated(round < samples.count ? samples[round].encoded() : Self.randomMessage(&rng).encoded(), &rng)
        }
        #expect(accepted > 1000, "only \(accepted) mutations decoded; the fuzzer barely got past the checks")
    }

    /// The same for the cluster state, which the mesh carries opaquely and the disk keeps.
    @Test func fuzzMutatedClusterStatesNeverCrashTheDecoder() {
        let accepted = Self.canonicalOrError(ClusterState.self, seed: 35, rounds: 5_000) { _, rng in
            Self.mutated(Self.randomState(&rng).encoded(), &rng)
        }
        #expect(accepted > 250, "only \(accepted) mutations decoded")
    }
}
