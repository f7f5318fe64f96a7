// The messages hosts exchange on the internal (mesh) port, and their byte encoding.
//
// Every mesh frame is [u32 length][u8 tag][fields], big-endian, fields written with VoltWire's
// WireWriter (strings and byte arrays length-prefixed). Decoding never trusts a length: a bad
// frame is a thrown `WireError`, and the shell closes that connection.
//
// Groups:
// - start-up: `join` (a host asks the start-up coordinator to be admitted, with its deployment),
//   `refused`, `welcome` (host id and the initial cluster state);
// - mesh: `hello` opens every connection (who is speaking, which incarnation), `heartbeat`,
//   `poison` (you were declared failed: stop);
// - metadata log: `raft` (an encoded Raft message), `propose` (a command for the coordinator);
// - calls: `forward`/`forwardReply` (a client call sent to the host that leads its partition),
//   `replicate`/`ack` (a partition leader's ordered stream to its replicas);
// - multi-partition: `mpBegin` (to each partition leader), `mpResults` (fragment results shared
//   by every host), `mpDone`;
// - rejoin: `rejoinRequest`, `rejoinChunk`.

import VoltModel
import VoltWire

/// What a host tells the start-up coordinator when it asks to join.
public struct JoinRequest: Sendable, Equatable {
    public var member: ClusterMember
    public var configHash: String
    /// The deployment without host-local paths, one setting per line, to name a difference.
    public var deploymentText: String
    public var schemaHash: String
    /// `voltctl start --add`: take the place of a host the cluster is missing.
    public var replacing: Bool = false
}

/// One record of a partition's replication stream.
public enum StreamRecord: Sendable, Equatable {
    /// A single-partition call: the invocation as the client sent it.
    case call([UInt8])
    /// A multi-partition transaction reaching this partition.
    case multi([UInt8])
}

public enum PeerMessage: Sendable, Equatable {
    case join(JoinRequest)
    case refused(String)
    case welcome(HostID, [UInt8])
    /// Opens a mesh connection: who speaks, which run of it, and where it listens (a host that
    /// replaced a missing one listens somewhere new; its peers dial it there from this hello on).
    case hello(HostID, incarnation: UInt64, endpoint: String)
    case heartbeat(epoch: UInt64)
    case poison(String)
    case raft([UInt8])
    case propose(MetadataCommand)
    case forward(requestID: Int64, invocation: [UInt8])
    case forwardReply(requestID: Int64, response: [UInt8])
    case replicate(partition: PartitionID, seq: Int64, transactionID: Int64, timestampMicros: Int64, record: StreamRecord)
    case ack(partition: PartitionID, seq: Int64, status: Int8, hash: UInt64)
    case mpBegin(transactionID: Int64, timestampMicros: Int64, invocation: [UInt8])
    case mpResults(transactionID: Int64, round: Int32, results: [MPResult])
    case mpDone(transactionID: Int64, status: Int8, hash: UInt64)
    case rejoinRequest(partition: PartitionID)
    case rejoinChunk(partition: PartitionID, startSeq: Int64, ddl: [String], payload: [UInt8], last: Bool)
    /// A host asks the others for their rows of a statistics selector (TABLE, MEMORY).
    case statsRequest(requestID: Int64, selector: String)
    case statsReply(requestID: Int64, table: ResultTable)
    /// A newly promoted leader asks a replica for the entries it holds after `after`.
    case repairQuery(partition: PartitionID, after: Int64)
    case repairAnswer(partition: PartitionID, lastSeq: Int64, entries: [StreamEntry])
    /// A rejoining host has loaded its snapshot of the partition and run everything up to `lastSeq`.
    case rejoinLoaded(partition: PartitionID, lastSeq: Int64)
    /// The answer to a replacing join: the missing host's id, the cluster's initial state (the
    /// base of the metadata log), its current state (where the hosts are now) and the metadata
    /// log's current term.
    case replace(HostID, bootstrap: [UInt8], current: [UInt8], term: UInt64)
}

/// One partition's fragment result in a multi-partition exchange round.
public struct MPResult: Sendable, Equatable {
    public var partition: PartitionID
    public var table: ResultTable?
    public var errorKind: UInt8
    public var errorMessage: String

    public init(partition: PartitionID, _ result: Result<ResultTable, SQLError>) {
        self.partition = partition
        switch result {
        case .success(let t): table = t; errorKind = 0; errorMessage = ""
        case .failure(let e): table = nil; errorKind = SQLError.kindCodes.firstIndex(of: e.kind).map { UInt8($0 + 1) } ?? 255
            errorMessage = e.message
        }
    }

    init(partition: PartitionID, table: ResultTable?, errorKind: UInt8, errorMessage: String) {
        self.partition = partition
        self.table = table
        self.errorKind = errorKind
        self.errorMessage = errorMessage
    }

    public var result: Result<ResultTable, SQLError> {
        if let table { return .success(table) }
        let i = Int(errorKind) - 1
        let kind = SQLError.kindCodes.indices.contains(i) ? SQLError.kindCodes[i] : .internalError
        return .failure(SQLError(kind, errorMessage))
    }
}

extension SQLError {
    /// Stable numbering of error kinds for the mesh.
    static let kindCodes: [SQLError.Kind] = [
        .syntax, .unknownTable, .unknownColumn, .unknownProcedure, .unknownIndex, .duplicateObject, .typeMismatch,
        .constraintViolation, .valueOutOfRange, .planning, .wrongParameterCount, .userAbort, .divisionByZero,
        .internalError, .mispartitioned,
    ]
}

// MARK: Encoding

extension PeerMessage {
    public func encodeFrame() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64)
        let mark = w.beginFrame()
        encode(into: &w)
        w.endFrame(mark)
        return w.take()
    }

    func encode(into w: inout WireWriter) {
        switch self {
        case .join(let r):
            w.writeUInt8(1)
            r.member.encode(into: &w)
            w.writeString(r.configHash)
            w.writeString(r.deploymentText)
            w.writeString(r.schemaHash)
            w.writeUInt8(r.replacing ? 1 : 0)
        case .refused(let why):
            w.writeUInt8(2); w.writeString(why)
        case .welcome(let id, let state):
            w.writeUInt8(3); w.writeInt32(id.rawValue); w.writeBytes(state)
        case .hello(let id, let incarnation, let endpoint):
            w.writeUInt8(4); w.writeInt32(id.rawValue); w.writeInt64(Int64(bitPattern: incarnation)); w.writeString(endpoint)
        case .heartbeat(let epoch):
            w.writeUInt8(5); w.writeInt64(Int64(bitPattern: epoch))
        case .poison(let why):
            w.writeUInt8(6); w.writeString(why)
        case .raft(let bytes):
            w.writeUInt8(7); w.writeBytes(bytes)
        case .propose(let command):
            w.writeUInt8(8); command.encode(into: &w)
        case .forward(let id, let invocation):
            w.writeUInt8(9); w.writeInt64(id); w.writeBytes(invocation)
        case .forwardReply(let id, let response):
            w.writeUInt8(10); w.writeInt64(id); w.writeBytes(response)
        case .replicate(let p, let seq, let txn, let ts, let record):
            w.writeUInt8(11); w.writeInt32(p.rawValue); w.writeInt64(seq); w.writeInt64(txn); w.writeInt64(ts)
            switch record {
            case .call(let b): w.writeUInt8(0); w.writeBytes(b)
            case .multi(let b): w.writeUInt8(1); w.writeBytes(b)
            }
        case .ack(let p, let seq, let status, let hash):
            w.writeUInt8(12); w.writeInt32(p.rawValue); w.writeInt64(seq); w.writeInt8(status); w.writeInt64(Int64(bitPattern: hash))
        case .mpBegin(let txn, let ts, let invocation):
            w.writeUInt8(13); w.writeInt64(txn); w.writeInt64(ts); w.writeBytes(invocation)
        case .mpResults(let txn, let round, let results):
            w.writeUInt8(14); w.writeInt64(txn); w.writeInt32(round); w.writeInt32(Int32(results.count))
            for r in results {
                w.writeInt32(r.partition.rawValue)
                w.writeUInt8(r.errorKind)
                if let table = r.table {
                    table.encodeExact(into: &w)
                } else {
                    w.writeString(r.errorMessage)
                }
            }
        case .mpDone(let txn, let status, let hash):
            w.writeUInt8(15); w.writeInt64(txn); w.writeInt8(status); w.writeInt64(Int64(bitPattern: hash))
        case .rejoinRequest(let p):
            w.writeUInt8(16); w.writeInt32(p.rawValue)
        case .rejoinChunk(let p, let seq, let ddl, let payload, let last):
            w.writeUInt8(17); w.writeInt32(p.rawValue); w.writeInt64(seq)
            w.writeInt32(Int32(ddl.count)); for d in ddl { w.writeString(d) }
            w.writeBytes(payload); w.writeUInt8(last ? 1 : 0)
        case .statsRequest(let id, let selector):
            w.writeUInt8(18); w.writeInt64(id); w.writeString(selector)
        case .statsReply(let id, let table):
            w.writeUInt8(19); w.writeInt64(id); table.encodeExact(into: &w)
        case .repairQuery(let p, let after):
            w.writeUInt8(20); w.writeInt32(p.rawValue); w.writeInt64(after)
        case .rejoinLoaded(let p, let lastSeq):
            w.writeUInt8(22); w.writeInt32(p.rawValue); w.writeInt64(lastSeq)
        case .replace(let id, let bootstrap, let current, let term):
            w.writeUInt8(23); w.writeInt32(id.rawValue); w.writeBytes(bootstrap); w.writeBytes(current)
            w.writeInt64(Int64(bitPattern: term))
        case .repairAnswer(let p, let lastSeq, let entries):
            w.writeUInt8(21); w.writeInt32(p.rawValue); w.writeInt64(lastSeq); w.writeInt32(Int32(entries.count))
            for e in entries {
                w.writeInt64(e.seq); w.writeInt64(e.transactionID); w.writeInt64(e.timestampMicros)
                switch e.record {
                case .call(let b): w.writeUInt8(0); w.writeBytes(b)
                case .multi(let b): w.writeUInt8(1); w.writeBytes(b)
                }
            }
        }
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> PeerMessage {
        var r = WireReader(body)
        let tag = try r.readUInt8("message tag")
        let message: PeerMessage
        switch tag {
        case 1:
            let member = try ClusterMember.decode(from: &r)
            message = .join(JoinRequest(member: member, configHash: try r.readNonNullString("config hash"),
                                        deploymentText: try r.readNonNullString("deployment"),
                                        schemaHash: try r.readNonNullString("schema hash"),
                                        replacing: try r.readUInt8("replacing") == 1))
        case 2: message = .refused(try r.readNonNullString("reason"))
        case 3: message = .welcome(HostID(try r.readInt32("host id")), try r.readBytes("state") ?? [])
        case 4: message = .hello(HostID(try r.readInt32("host id")), incarnation: UInt64(bitPattern: try r.readInt64("incarnation")),
                                 endpoint: try r.readNonNullString("endpoint"))
        case 5: message = .heartbeat(epoch: UInt64(bitPattern: try r.readInt64("epoch")))
        case 6: message = .poison(try r.readNonNullString("reason"))
        case 7: message = .raft(try r.readBytes("raft") ?? [])
        case 8: message = .propose(try MetadataCommand.decode(from: &r))
        case 9: message = .forward(requestID: try r.readInt64("request"), invocation: try r.readBytes("invocation") ?? [])
        case 10: message = .forwardReply(requestID: try r.readInt64("request"), response: try r.readBytes("response") ?? [])
        case 11:
            let p = PartitionID(try r.readInt32("partition"))
            let seq = try r.readInt64("seq"), txn = try r.readInt64("txn"), ts = try r.readInt64("timestamp")
            let kind = try r.readUInt8("record kind")
            let bytes = try r.readBytes("record") ?? []
            guard kind <= 1 else { throw WireError.invalidValue("record kind", "\(kind)") }
            message = .replicate(partition: p, seq: seq, transactionID: txn, timestampMicros: ts,
                                 record: kind == 0 ? .call(bytes) : .multi(bytes))
        case 12:
            message = .ack(partition: PartitionID(try r.readInt32("partition")), seq: try r.readInt64("seq"),
                           status: try r.readInt8("status"), hash: UInt64(bitPattern: try r.readInt64("hash")))
        case 13:
            message = .mpBegin(transactionID: try r.readInt64("txn"), timestampMicros: try r.readInt64("timestamp"),
                               invocation: try r.readBytes("invocation") ?? [])
        case 14:
            let txn = try r.readInt64("txn"), round = try r.readInt32("round"), count = try r.readInt32("count")
            guard count >= 0, Int(count) <= r.remaining else { throw WireError.invalidValue("result count", "\(count)") }
            var results: [MPResult] = []
            for _ in 0..<count {
                let p = PartitionID(try r.readInt32("partition"))
                let kind = try r.readUInt8("error kind")
                if kind == 0 {
                    results.append(MPResult(partition: p, table: try ResultTable.decodeExact(from: &r), errorKind: 0, errorMessage: ""))
                } else {
                    results.append(MPResult(partition: p, table: nil, errorKind: kind, errorMessage: try r.readNonNullString("error")))
                }
            }
            message = .mpResults(transactionID: txn, round: round, results: results)
        case 15:
            message = .mpDone(transactionID: try r.readInt64("txn"), status: try r.readInt8("status"),
                              hash: UInt64(bitPattern: try r.readInt64("hash")))
        case 16: message = .rejoinRequest(partition: PartitionID(try r.readInt32("partition")))
        case 17:
            let p = PartitionID(try r.readInt32("partition")), seq = try r.readInt64("seq")
            let n = try r.readInt32("ddl count")
            guard n >= 0, Int(n) <= r.remaining else { throw WireError.invalidValue("ddl count", "\(n)") }
            var ddl: [String] = []
            for _ in 0..<n { ddl.append(try r.readNonNullString("ddl")) }
            message = .rejoinChunk(partition: p, startSeq: seq, ddl: ddl, payload: try r.readBytes("payload") ?? [],
                                   last: try r.readUInt8("last") == 1)
        case 18: message = .statsRequest(requestID: try r.readInt64("request"), selector: try r.readNonNullString("selector"))
        case 19: message = .statsReply(requestID: try r.readInt64("request"), table: try ResultTable.decodeExact(from: &r))
        case 20: message = .repairQuery(partition: PartitionID(try r.readInt32("partition")), after: try r.readInt64("after"))
        case 23:
            message = .replace(HostID(try r.readInt32("host id")), bootstrap: try r.readBytes("bootstrap") ?? [],
                               current: try r.readBytes("current") ?? [], term: UInt64(bitPattern: try r.readInt64("term")))
        case 22: message = .rejoinLoaded(partition: PartitionID(try r.readInt32("partition")), lastSeq: try r.readInt64("last seq"))
        case 21:
            let p = PartitionID(try r.readInt32("partition")), last = try r.readInt64("last seq"), n = try r.readInt32("entries")
            guard n >= 0, Int(n) <= r.remaining else { throw WireError.invalidValue("entry count", "\(n)") }
            var entries: [StreamEntry] = []
            for _ in 0..<n {
                let seq = try r.readInt64("seq"), txn = try r.readInt64("txn"), ts = try r.readInt64("timestamp")
                let kind = try r.readUInt8("record kind"), bytes = try r.readBytes("record") ?? []
                guard kind <= 1 else { throw WireError.invalidValue("record kind", "\(kind)") }
                entries.append(StreamEntry(seq: seq, transactionID: txn, timestampMicros: ts, record: kind == 0 ? .call(bytes) : .multi(bytes)))
            }
            message = .repairAnswer(partition: p, lastSeq: last, entries: entries)
        default:
            throw WireError.invalidValue("message tag", "\(tag)")
        }
        try r.expectEnd("mesh message")
        return message
    }
}

extension ClusterMember {
    func encode(into w: inout WireWriter) {
        w.writeInt32(id.rawValue)
        w.writeString(internalEndpoint)
        w.writeString(address)
        w.writeString(hostname)
        w.writeInt32(Int32(clientPort))
        w.writeInt32(Int32(adminPort))
        w.writeString(placementGroup)
        w.writeString(state.rawValue)
        w.writeInt64(Int64(bitPattern: incarnation))
        w.writeInt64(startedMillis)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> ClusterMember {
        let id = HostID(try r.readInt32("host id"))
        let endpoint = try r.readNonNullString("endpoint"), address = try r.readNonNullString("address")
        let hostname = try r.readNonNullString("hostname")
        let client = Int(try r.readInt32("client port")), admin = Int(try r.readInt32("admin port"))
        let group = try r.readNonNullString("placement group")
        let stateText = try r.readNonNullString("state")
        guard let state = ClusterMember.State(rawValue: stateText) else { throw WireError.invalidValue("member state", stateText) }
        return ClusterMember(id: id, internalEndpoint: endpoint, address: address, hostname: hostname, clientPort: client,
                             adminPort: admin, placementGroup: group, state: state,
                             incarnation: UInt64(bitPattern: try r.readInt64("incarnation")), startedMillis: try r.readInt64("started"))
    }
}

extension MetadataCommand {
    public func encoded() -> [UInt8] {
        var w = WireWriter()
        encode(into: &w)
        return w.take()
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> MetadataCommand {
        var r = WireReader(bytes)
        let command = try decode(from: &r)
        try r.expectEnd("metadata command")
        return command
    }

    func encode(into w: inout WireWriter) {
        switch self {
        case .hostFailed(let h, let reason): w.writeUInt8(1); w.writeInt32(h.rawValue); w.writeString(reason)
        case .rejoinBegin(let m): w.writeUInt8(2); m.encode(into: &w)
        case .replicaReady(let h, let p): w.writeUInt8(3); w.writeInt32(h.rawValue); w.writeInt32(p.rawValue)
        case .rejoinEnd(let h): w.writeUInt8(4); w.writeInt32(h.rawValue)
        case .schema(let v, let ddl): w.writeUInt8(5); w.writeInt64(v); w.writeString(ddl)
        }
    }

    static func decode(from r: inout WireReader) throws(WireError) -> MetadataCommand {
        let tag = try r.readUInt8("command tag")
        switch tag {
        case 1: return .hostFailed(HostID(try r.readInt32("host")), reason: try r.readNonNullString("reason"))
        case 2: return .rejoinBegin(try ClusterMember.decode(from: &r))
        case 3: return .replicaReady(HostID(try r.readInt32("host")), PartitionID(try r.readInt32("partition")))
        case 4: return .rejoinEnd(HostID(try r.readInt32("host")))
        case 5: return .schema(version: try r.readInt64("version"), ddl: try r.readNonNullString("ddl"))
        default: throw WireError.invalidValue("command tag", "\(tag)")
        }
    }
}

extension ClusterState {
    public func encoded() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 512)
        w.writeInt64(Int64(bitPattern: epoch.rawValue))
        w.writeInt32(Int32(kFactor)); w.writeInt32(Int32(sitesPerHost)); w.writeInt32(Int32(partitionCount))
        w.writeInt32(Int32(members.count)); for m in members { m.encode(into: &w) }
        w.writeInt32(Int32(partitions.count))
        for p in partitions {
            w.writeInt32(p.id.rawValue); w.writeInt32(p.leader.rawValue)
            w.writeInt32(Int32(p.replicas.count)); for h in p.replicas { w.writeInt32(h.rawValue) }
            w.writeInt32(Int32(p.live.count)); for h in p.live { w.writeInt32(h.rawValue) }
        }
        w.writeInt32(rejoining?.rawValue ?? -1)
        w.writeString(stoppedReason)
        w.writeInt64(catalogVersion)
        w.writeInt32(Int32(ddl.count)); for d in ddl { w.writeString(d) }
        return w.take()
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> ClusterState {
        var r = WireReader(bytes)
        func count(_ what: StaticString) throws(WireError) -> Int {
            let n = try r.readInt32(what)
            guard n >= 0, Int(n) <= r.remaining else { throw WireError.invalidValue("\(what)", "\(n)") }
            return Int(n)
        }
        func hosts() throws(WireError) -> [HostID] {
            var out: [HostID] = []
            for _ in 0..<(try count("hosts")) { out.append(HostID(try r.readInt32("host"))) }
            return out
        }
        let epoch = Epoch(UInt64(bitPattern: try r.readInt64("epoch")))
        let k = Int(try r.readInt32("kfactor")), sph = Int(try r.readInt32("sitesperhost")), pc = Int(try r.readInt32("partitions"))
        var members: [ClusterMember] = []
        for _ in 0..<(try count("members")) { members.append(try ClusterMember.decode(from: &r)) }
        var partitions: [PartitionState] = []
        for _ in 0..<(try count("partitions")) {
            let id = PartitionID(try r.readInt32("partition")), leader = HostID(try r.readInt32("leader"))
            let replicas = try hosts(), live = try hosts()
            partitions.append(PartitionState(id: id, replicas: replicas, live: live, leader: leader))
        }
        let rejoining = try r.readInt32("rejoining")
        let stopped = try r.readString("stopped")
        let version = try r.readInt64("catalog version")
        var ddl: [String] = []
        for _ in 0..<(try count("ddl")) { ddl.append(try r.readNonNullString("ddl")) }
        try r.expectEnd("cluster state")
        return ClusterState(epoch: epoch, kFactor: k, sitesPerHost: sph, partitionCount: pc, members: members,
                            partitions: partitions, rejoining: rejoining < 0 ? nil : HostID(rejoining), stoppedReason: stopped,
                            catalogVersion: version, ddl: ddl)
    }
}

extension WireError {
    /// A mesh field whose value is out of range (a count, a tag, a state name).
    static func invalidValue(_ what: String, _ value: String) -> WireError {
        WireError(.invalidField(Int64(value) ?? -1), what: "\(what) \(value)", offset: -1)
    }
}

extension ResultTable {
    /// Lossless encoding of a table whose values need not match their column types (fragment
    /// results are intermediate tables: a partial COUNT in a column typed for the final result).
    /// Each value carries its own tag; the VoltTable encoding would coerce or refuse them.
    func encodeExact(into w: inout WireWriter) {
        w.writeInt32(Int32(columns.count))
        for c in columns { w.writeString(c.name); w.writeInt8(c.type.rawValue) }
        w.writeInt32(Int32(rows.count))
        for row in rows {
            for value in row {
                switch value {
                case .null: w.writeUInt8(0)
                case .integer(let v): w.writeUInt8(1); w.writeInt64(v)
                case .float(let v): w.writeUInt8(2); w.writeDouble(v)
                case .decimal(let d):
                    w.writeUInt8(3); w.writeInt64(Int64(truncatingIfNeeded: d.unscaled >> 64)); w.writeInt64(Int64(truncatingIfNeeded: d.unscaled))
                case .string(let v): w.writeUInt8(4); w.writeString(v)
                case .bytes(let v): w.writeUInt8(5); w.writeBytes(v)
                case .timestamp(let v): w.writeUInt8(6); w.writeInt64(v)
                }
            }
        }
    }

    static func decodeExact(from r: inout WireReader) throws(WireError) -> ResultTable {
        let columnCount = try r.readInt32("column count")
        guard columnCount >= 0, Int(columnCount) <= r.remaining else { throw WireError.invalidValue("column count", "\(columnCount)") }
        var columns: [Column] = []
        for _ in 0..<columnCount {
            let name = try r.readNonNullString("column name")
            let raw = try r.readInt8("column type")
            guard let type = SQLType(rawValue: raw) else { throw WireError.invalidValue("column type", "\(raw)") }
            columns.append(Column(name, type))
        }
        let rowCount = try r.readInt32("row count")
        guard rowCount >= 0, Int(rowCount) <= r.remaining else { throw WireError.invalidValue("row count", "\(rowCount)") }
        var rows: [[Value]] = []
        rows.reserveCapacity(Int(rowCount))
        for _ in 0..<rowCount {
            var row: [Value] = []
            row.reserveCapacity(columns.count)
            for _ in 0..<columns.count {
                switch try r.readUInt8("value tag") {
                case 0: row.append(.null)
                case 1: row.append(.integer(try r.readInt64("integer")))
                case 2: row.append(.float(try r.readDouble("float")))
                case 3:
                    let high = try r.readInt64("decimal high"), low = try r.readInt64("decimal low")
                    row.append(.decimal(VoltDecimal(unscaled: Int128(high) << 64 | Int128(UInt64(bitPattern: low)))))
                case 4: row.append(.string(try r.readNonNullString("string")))
                case 5: row.append(.bytes(try r.readBytes("bytes") ?? []))
                case 6: row.append(.timestamp(try r.readInt64("timestamp")))
                case let tag: throw WireError.invalidValue("value tag", "\(tag)")
                }
            }
            rows.append(row)
        }
        return ResultTable(columns: columns, rows: rows)
    }
}
