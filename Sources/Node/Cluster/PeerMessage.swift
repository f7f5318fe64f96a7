// The messages hosts exchange on the internal (mesh) port, and their byte encoding.
//
// Every mesh frame is [u32 length][u8 tag][fields], big-endian, fields written with VoltWire's
// WireWriter: strings and byte arrays with an i32 length, arrays with an i32 count, flags as one
// byte 0 or 1. The tag is `PeerMessage.Tag`, the one numbering that encoding and decoding both
// switch over; its raw values are the wire format. A group of fields that several messages
// carry (a stream entry, a cluster member, a host request, a host list, a metadata command, a
// result table) has one encoder and one decoder (`MeshCodable`), used by all of them. The same
// pieces encode `ClusterState` (the `welcome` and `replace` payloads, and `DIR/cluster/bootstrap`
// on disk) and `MetadataCommand` (the metadata log's entries, on disk in `raft.log`), so their
// layouts must not change either.
//
// Decoding never trusts a length: every length and count is checked against the bytes left
// before anything is allocated, a flag must be 0 or 1, a tag or state name must be a known one,
// a byte array must not be NULL and a host list kept ascending must arrive ascending. So any byte
// string either decodes to a message that re-encodes to exactly those bytes, or throws
// `WireError` (and the shell closes that connection); decoding never traps.
//
// Groups:
// - formation: `formationRequest` (a host asks the start-up coordinator to be one of the
//   cluster's first hosts, with its deployment), `refused`, `welcome` (host id and the initial
//   cluster state);
// - replacement and join: `addRequest` (`voltctl start --add`: a fresh host asks any live host
//   for a place in the cluster), answered with `replace` (a missing host's place), `joinWaiting`
//   (parked in the join buffer; ask again), `joinWelcome` (admitted by an elastic join) or
//   `refused`;
// - mesh: `hello` opens every connection (who is speaking, which incarnation), `heartbeat`,
//   `poison` (you were declared failed: stop);
// - metadata log: `raft` (an encoded Raft message), `propose` (a command for the coordinator);
// - calls: `forward`/`forwardReply` (a client call sent to the host that leads its partition),
//   `replicate`/`ack` (a partition leader's ordered stream to its replicas);
// - failover repair: `repairQuery`/`repairAnswer` (a new leader collects the entries it lacks);
// - multi-partition: `mpBegin` (to each partition leader), `mpResults` (fragment results shared
//   by every host), `mpDone`;
// - rejoin: `rejoinRequest`, `rejoinChunk`, `rejoinLoaded`;
// - statistics: `statsRequest`/`statsReply` (one host's rows of a statistics selector).

import VoltModel
import VoltWire

/// What a host sends to be let into the cluster: to form it (to the start-up coordinator) or to
/// take a missing host's place (to any live host). The receiver compares the deployment and
/// schema with its own and refuses a host whose differ.
public struct HostRequest: Sendable, Equatable {
    public var member: ClusterMember
    public var configHash: String
    /// The deployment without host-local paths, one setting per line, to name a difference.
    public var deploymentText: String
    public var schemaHash: String
}

/// One record of a partition's replication stream.
public enum StreamRecord: Sendable, Equatable {
    /// A single-partition call: the invocation as the client sent it.
    case call([UInt8])
    /// A multi-partition transaction reaching this partition.
    case multi([UInt8])
}

public enum PeerMessage: Sendable, Equatable {
    /// Formation: a host asks the start-up coordinator to be one of the cluster's first hosts.
    case formationRequest(HostRequest)
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
    case replicate(partition: PartitionID, entry: StreamEntry)
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
    /// A new leader, promoted at metadata `epoch`, asks a replica what it holds after `after`.
    case repairQuery(partition: PartitionID, after: Int64, epoch: UInt64)
    case repairAnswer(partition: PartitionID, lastSeq: Int64, entries: [StreamEntry])
    /// A rejoining host has loaded its snapshot of the partition and run everything up to `lastSeq`.
    case rejoinLoaded(partition: PartitionID, lastSeq: Int64)
    /// The answer to an add request when the cluster is missing a host (a replacement): the
    /// missing host's id, the cluster's initial state (the base of the metadata log), its current
    /// state (where the hosts are now) and the metadata log's current term.
    case replace(HostID, bootstrap: [UInt8], current: [UInt8], term: UInt64)
    /// `voltctl start --add`: a fresh host asks a live host for a place in the cluster, naming
    /// the members it could not connect to (empty on its first ask, before it knows them). The
    /// answer is `replace` (a missing host's place), `joinWaiting`, `joinWelcome` or `refused`.
    case addRequest(HostRequest, unreachable: [HostID])
    /// The cluster is complete: the asker waits in the join buffer (`status` says why), and asks
    /// again in about a second, at the metadata coordinator's internal endpoint `coordinator`
    /// (empty when the answering host does not know it) with the members of `current` it could
    /// not reach.
    case joinWaiting(status: String, coordinator: String, current: [UInt8])
    /// The asker is admitted to the cluster as host `id`: it follows the metadata log from the
    /// cluster's initial state (`bootstrap`), and `current` (which holds its admission) says where
    /// its partitions and its peers are.
    case joinWelcome(HostID, bootstrap: [UInt8], current: [UInt8])
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

// MARK: - Sub-codecs

/// A value with one mesh encoding, shared by every message (and stored state) that carries it.
protocol MeshCodable {
    func encode(into w: inout WireWriter)
    static func decode(from r: inout WireReader) throws(WireError) -> Self
}

extension MeshCodable {
    /// The value's bytes on their own (a frame body, a log entry, a file).
    func encoded() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64)
        encode(into: &w)
        return w.take()
    }

    /// Decodes bytes that hold exactly one value: a byte left over throws.
    static func decode(_ bytes: ArraySlice<UInt8>) throws(WireError) -> Self {
        var r = WireReader(bytes)
        let value = try decode(from: &r)
        guard r.isAtEnd else { throw WireError(.trailingBytes(r.remaining), what: "\(Self.self)", offset: r.offset) }
        return value
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> Self { try decode(bytes[...]) }
}

extension WireWriter {
    mutating func writeBool(_ b: Bool) { writeUInt8(b ? 1 : 0) }
    mutating func writeUInt64(_ v: UInt64) { writeInt64(Int64(bitPattern: v)) }
    mutating func write(_ id: HostID) { writeInt32(id.rawValue) }
    mutating func write(_ id: PartitionID) { writeInt32(id.rawValue) }

    /// An i32 count, then each item.
    mutating func writeArray<T: MeshCodable>(_ items: [T]) {
        writeInt32(Int32(items.count))
        for item in items { item.encode(into: &self) }
    }
}

extension WireReader {
    /// A flag byte: 0 or 1, nothing else (so that it re-encodes as it came).
    mutating func readBool(_ what: StaticString) throws(WireError) -> Bool {
        switch try readUInt8(what) {
        case 0: return false
        case 1: return true
        case let b: throw WireError.invalidValue("\(what)", "\(b)")
        }
    }

    mutating func readUInt64(_ what: StaticString) throws(WireError) -> UInt64 { UInt64(bitPattern: try readInt64(what)) }
    mutating func readHostID(_ what: StaticString = "host id") throws(WireError) -> HostID { HostID(try readInt32(what)) }
    mutating func readPartitionID() throws(WireError) -> PartitionID { PartitionID(try readInt32("partition")) }

    /// A byte array that must not be NULL (length -1), which would come back as an empty one.
    mutating func readNonNullBytes(_ what: StaticString) throws(WireError) -> [UInt8] {
        let at = offset
        guard let bytes = try readBytes(what) else { throw WireError(.invalidLength(Int(WireNull.length)), what: "\(what)", offset: at) }
        return bytes
    }

    /// An i32 count of items that take at least a byte each: negative, or more than the bytes
    /// left, throws before anything is allocated for them.
    mutating func readCount(_ what: StaticString) throws(WireError) -> Int {
        let n = try readInt32(what)
        guard n >= 0, Int(n) <= remaining else { throw WireError.invalidValue("\(what)", "\(n)") }
        return Int(n)
    }

    /// An i32 count (see `readCount`), then each item. Nothing is reserved ahead: an item can
    /// take far more memory than its bytes (a member is a few strings), so a forged count would
    /// otherwise cost a multiple of the frame before its first missing byte is noticed.
    mutating func readArray<T: MeshCodable>(_: T.Type, _ what: StaticString) throws(WireError) -> [T] {
        var items: [T] = []
        for _ in 0..<(try readCount(what)) { items.append(try T.decode(from: &self)) }
        return items
    }

    /// A host list kept ascending (a partition's replicas, its live ones).
    mutating func readAscendingHosts(_ what: StaticString) throws(WireError) -> [HostID] {
        let hosts = try readArray(HostID.self, what)
        guard zip(hosts, hosts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw WireError.invalidValue("\(what) (not ascending)", "\(hosts.map(\.rawValue))")
        }
        return hosts
    }
}

extension WireError {
    /// A mesh field whose value is out of range (a count, a tag, a state name).
    static func invalidValue(_ what: String, _ value: String) -> WireError {
        WireError(.invalidField(Int64(value) ?? -1), what: "\(what) \(value)", offset: -1)
    }
}

extension HostID: MeshCodable {
    func encode(into w: inout WireWriter) { w.write(self) }
    static func decode(from r: inout WireReader) throws(WireError) -> HostID { try r.readHostID() }
}

extension PartitionID: MeshCodable {
    func encode(into w: inout WireWriter) { w.write(self) }
    static func decode(from r: inout WireReader) throws(WireError) -> PartitionID { try r.readPartitionID() }
}

/// A string that is never NULL (DDL text).
extension String: MeshCodable {
    func encode(into w: inout WireWriter) { w.writeString(self) }
    static func decode(from r: inout WireReader) throws(WireError) -> String { try r.readNonNullString("string") }
}

extension StreamRecord: MeshCodable {
    /// [u8 kind: 0 call, 1 multi][bytes]
    func encode(into w: inout WireWriter) {
        switch self {
        case .call(let bytes): w.writeUInt8(0); w.writeBytes(bytes)
        case .multi(let bytes): w.writeUInt8(1); w.writeBytes(bytes)
        }
    }

    static func decode(from r: inout WireReader) throws(WireError) -> StreamRecord {
        let kind = try r.readUInt8("record kind")
        guard kind <= 1 else { throw WireError.invalidValue("record kind", "\(kind)") }
        let bytes = try r.readNonNullBytes("record")
        return kind == 0 ? .call(bytes) : .multi(bytes)
    }
}

extension StreamEntry: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.writeInt64(seq); w.writeInt64(transactionID); w.writeInt64(timestampMicros)
        record.encode(into: &w)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> StreamEntry {
        StreamEntry(seq: try r.readInt64("seq"), transactionID: try r.readInt64("txn"),
                    timestampMicros: try r.readInt64("timestamp"), record: try StreamRecord.decode(from: &r))
    }
}

extension ClusterMember: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.write(id)
        w.writeString(internalEndpoint)
        w.writeString(address)
        w.writeString(hostname)
        w.writeInt32(Int32(clientPort))
        w.writeInt32(Int32(adminPort))
        w.writeString(placementGroup)
        w.writeString(state.rawValue)
        w.writeUInt64(incarnation)
        w.writeInt64(startedMillis)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> ClusterMember {
        let id = try r.readHostID()
        let endpoint = try r.readNonNullString("endpoint"), address = try r.readNonNullString("address")
        let hostname = try r.readNonNullString("hostname")
        let client = Int(try r.readInt32("client port")), admin = Int(try r.readInt32("admin port"))
        let group = try r.readNonNullString("placement group")
        let stateText = try r.readNonNullString("state")
        guard let state = ClusterMember.State(rawValue: stateText) else { throw WireError.invalidValue("member state", stateText) }
        return ClusterMember(id: id, internalEndpoint: endpoint, address: address, hostname: hostname, clientPort: client,
                             adminPort: admin, placementGroup: group, state: state,
                             incarnation: try r.readUInt64("incarnation"), startedMillis: try r.readInt64("started"))
    }
}

extension HostRequest: MeshCodable {
    func encode(into w: inout WireWriter) {
        member.encode(into: &w)
        w.writeString(configHash)
        w.writeString(deploymentText)
        w.writeString(schemaHash)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> HostRequest {
        HostRequest(member: try ClusterMember.decode(from: &r), configHash: try r.readNonNullString("config hash"),
                    deploymentText: try r.readNonNullString("deployment"), schemaHash: try r.readNonNullString("schema hash"))
    }
}

extension MPResult: MeshCodable {
    /// [partition][u8 error kind] then, for kind 0, the table, else the error message.
    func encode(into w: inout WireWriter) {
        w.write(partition)
        w.writeUInt8(errorKind)
        if let table { table.encodeExact(into: &w) } else { w.writeString(errorMessage) }
    }

    static func decode(from r: inout WireReader) throws(WireError) -> MPResult {
        let p = try r.readPartitionID()
        let kind = try r.readUInt8("error kind")
        if kind == 0 { return MPResult(partition: p, table: try ResultTable.decodeExact(from: &r), errorKind: 0, errorMessage: "") }
        return MPResult(partition: p, table: nil, errorKind: kind, errorMessage: try r.readNonNullString("error"))
    }
}

extension MetadataCommand: MeshCodable {
    /// The first byte of an encoded command. The raw values are on disk in every metadata log.
    enum Tag: UInt8, CaseIterable {
        case hostFailed = 1
        case rejoinBegin = 2
        case replicaReady = 3
        case rejoinEnd = 4
        case schema = 5
        case joinAdmitted = 6
        case joinerReady = 7
        case joinParticipating = 8
        case rangeMoved = 9
        case joinCompleted = 10
        /// `replicaReady` with the leader that found the replica caught up.
        case replicaReadyFromLeader = 11
    }

    var tag: Tag {
        switch self {
        case .hostFailed: .hostFailed
        case .rejoinBegin: .rejoinBegin
        case .replicaReady(_, _, let leader): leader == nil ? .replicaReady : .replicaReadyFromLeader
        case .rejoinEnd: .rejoinEnd
        case .schema: .schema
        case .joinAdmitted: .joinAdmitted
        case .joinerReady: .joinerReady
        case .joinParticipating: .joinParticipating
        case .rangeMoved: .rangeMoved
        case .joinCompleted: .joinCompleted
        }
    }

    func encode(into w: inout WireWriter) {
        w.writeUInt8(tag.rawValue)
        switch self {
        case .hostFailed(let h, let reason): w.write(h); w.writeString(reason)
        case .rejoinBegin(let m): m.encode(into: &w)
        case .replicaReady(let h, let p, let leader):
            w.write(h); w.write(p)
            if let leader { w.write(leader) }
        case .rejoinEnd(let h): w.write(h)
        case .schema(let version, let ddl): w.writeInt64(version); w.writeString(ddl)
        case .joinAdmitted(let a): a.encode(into: &w)
        case .joinerReady(let h): w.write(h)
        case .joinParticipating, .joinCompleted: break
        case .rangeMoved(let move, let upTo): w.writeInt32(Int32(move)); w.writeInt64(upTo)
        }
    }

    static func decode(from r: inout WireReader) throws(WireError) -> MetadataCommand {
        let raw = try r.readUInt8("command tag")
        guard let tag = Tag(rawValue: raw) else { throw WireError.invalidValue("command tag", "\(raw)") }
        switch tag {
        case .hostFailed: return .hostFailed(try r.readHostID(), reason: try r.readNonNullString("reason"))
        case .rejoinBegin: return .rejoinBegin(try ClusterMember.decode(from: &r))
        case .replicaReady: return .replicaReady(try r.readHostID(), try r.readPartitionID(), leader: nil)
        case .replicaReadyFromLeader:
            return .replicaReady(try r.readHostID(), try r.readPartitionID(), leader: try r.readHostID("leader"))
        case .rejoinEnd: return .rejoinEnd(try r.readHostID())
        case .schema: return .schema(version: try r.readInt64("version"), ddl: try r.readNonNullString("ddl"))
        case .joinAdmitted: return .joinAdmitted(try JoinAdmission.decode(from: &r))
        case .joinerReady: return .joinerReady(try r.readHostID())
        case .joinParticipating: return .joinParticipating
        case .rangeMoved:
            let move = try r.readInt32("move")
            guard move >= 0 else { throw WireError.invalidValue("move", "\(move)") }
            return .rangeMoved(move: Int(move), upTo: try r.readInt64("up to"))
        case .joinCompleted: return .joinCompleted
        }
    }
}

extension JoinAdmission: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.writeArray(members)
        w.writeArray(partitions)
        w.writeInt64(startedMillis)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> JoinAdmission {
        let members = try r.readArray(ClusterMember.self, "joiner count")
        let partitions = try r.readArray(PartitionState.self, "new partition count")
        // The initializer sorts; a canonical encoding is already sorted.
        guard members.map(\.id) == members.map(\.id).sorted(), partitions.map(\.id) == partitions.map(\.id).sorted() else {
            throw WireError.invalidValue("join admission", "unsorted")
        }
        return JoinAdmission(members: members, partitions: partitions, startedMillis: try r.readInt64("started"))
    }
}

extension JoinState: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.writeArray(joiners)
        w.writeArray(newPartitions)
        w.writeArray(ready)
        w.writeUInt8(phase.rawValue)
        w.writeInt32(Int32(progress.count))
        for mark in progress { w.writeInt64(mark) }
        w.writeInt64(startedMillis)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> JoinState {
        let joiners = try r.readAscendingHosts("joiner count")
        let newPartitions = try r.readArray(PartitionID.self, "new partition count")
        guard newPartitions == newPartitions.sorted() else { throw WireError.invalidValue("new partitions", "unsorted") }
        let ready = try r.readAscendingHosts("ready count")
        let raw = try r.readUInt8("join phase")
        guard let phase = JoinState.Phase(rawValue: raw) else { throw WireError.invalidValue("join phase", "\(raw)") }
        let count = try r.readInt32("move count")
        guard count >= 0, Int(count) * 8 <= r.remaining else { throw WireError.invalidValue("move count", "\(count)") }
        var progress: [Int64] = []
        for _ in 0..<count { progress.append(try r.readInt64("progress")) }
        return JoinState(joiners: joiners, newPartitions: newPartitions, ready: ready, phase: phase, progress: progress,
                         startedMillis: try r.readInt64("started"))
    }
}

extension PartitionState: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.write(id); w.write(leader)
        w.writeArray(replicas); w.writeArray(live)
    }

    static func decode(from r: inout WireReader) throws(WireError) -> PartitionState {
        let id = try r.readPartitionID(), leader = try r.readHostID("leader")
        let replicas = try r.readAscendingHosts("replica count"), live = try r.readAscendingHosts("live count")
        return PartitionState(id: id, replicas: replicas, live: live, leader: leader)
    }
}

extension ClusterState: MeshCodable {
    func encode(into w: inout WireWriter) {
        w.writeUInt64(epoch.rawValue)
        w.writeInt32(Int32(kFactor)); w.writeInt32(Int32(sitesPerHost)); w.writeInt32(Int32(partitionCount))
        w.writeArray(members)
        w.writeArray(partitions)
        w.writeInt32(rejoining?.rawValue ?? -1)
        w.writeString(stoppedReason)
        w.writeInt64(catalogVersion)
        w.writeArray(ddl)
        // Only while a join runs, so that a state without one keeps the layout older hosts wrote.
        if let join {
            w.writeUInt8(1)
            join.encode(into: &w)
        }
    }

    static func decode(from r: inout WireReader) throws(WireError) -> ClusterState {
        let epoch = Epoch(try r.readUInt64("epoch"))
        let k = Int(try r.readInt32("kfactor")), sph = Int(try r.readInt32("sitesperhost")), pc = Int(try r.readInt32("partitions"))
        let members = try r.readArray(ClusterMember.self, "member count")
        let partitions = try r.readArray(PartitionState.self, "partition count")
        // -1: no host is rejoining.
        let rejoining = try r.readInt32("rejoining host")
        guard rejoining >= -1 else { throw WireError.invalidValue("rejoining host", "\(rejoining)") }
        return ClusterState(epoch: epoch, kFactor: k, sitesPerHost: sph, partitionCount: pc, members: members,
                            partitions: partitions, rejoining: rejoining == -1 ? nil : HostID(rejoining),
                            stoppedReason: try r.readString("stopped reason"), catalogVersion: try r.readInt64("catalog version"),
                            ddl: try r.readArray(String.self, "ddl count"), join: try decodeJoin(from: &r))
    }
}

extension ClusterState {
    /// The optional join section at the end of an encoded state: absent, or a marker byte 1 and
    /// the join.
    fileprivate static func decodeJoin(from r: inout WireReader) throws(WireError) -> JoinState? {
        guard r.remaining > 0 else { return nil }
        let marker = try r.readUInt8("join marker")
        guard marker == 1 else { throw WireError.invalidValue("join marker", "\(marker)") }
        return try JoinState.decode(from: &r)
    }
}

extension ResultTable.Column: MeshCodable {
    func encode(into w: inout WireWriter) { w.writeString(name); w.writeInt8(type.rawValue) }

    static func decode(from r: inout WireReader) throws(WireError) -> ResultTable.Column {
        let name = try r.readNonNullString("column name")
        let raw = try r.readInt8("column type")
        guard let type = SQLType(rawValue: raw) else { throw WireError.invalidValue("column type", "\(raw)") }
        return ResultTable.Column(name, type)
    }
}

extension ResultTable {
    /// Lossless encoding of a table whose values need not match their column types (fragment
    /// results are intermediate tables: a partial COUNT in a column typed for the final result).
    /// Each value carries its own tag; the VoltTable encoding would coerce or refuse them.
    /// [columns][i32 row count] then every row's values, `columns.count` of them.
    func encodeExact(into w: inout WireWriter) {
        w.writeArray(columns)
        w.writeInt32(Int32(rows.count))
        for row in rows {
            for value in row { value.encodeExact(into: &w) }
        }
    }

    /// Every value takes at least its tag byte, which bounds the row count; a table without
    /// columns has no rows (they would take no bytes, so nothing would bound their count).
    static func decodeExact(from r: inout WireReader) throws(WireError) -> ResultTable {
        let columns = try r.readArray(Column.self, "column count")
        let rowCount = try r.readCount("row count")
        guard columns.isEmpty ? rowCount == 0 : rowCount <= r.remaining / columns.count else {
            throw WireError.invalidValue("row count", "\(rowCount)")
        }
        var rows: [[Value]] = []
        for _ in 0..<rowCount {
            var row: [Value] = []
            row.reserveCapacity(columns.count)
            for _ in columns { row.append(try Value.decodeExact(from: &r)) }
            rows.append(row)
        }
        return ResultTable(columns: columns, rows: rows)
    }
}

extension Value {
    /// The first byte of an exactly encoded value.
    enum ExactTag: UInt8, CaseIterable {
        case null = 0
        case integer = 1
        case float = 2
        case decimal = 3
        case string = 4
        case bytes = 5
        case timestamp = 6
    }

    func encodeExact(into w: inout WireWriter) {
        switch self {
        case .null: w.writeUInt8(ExactTag.null.rawValue)
        case .integer(let v): w.writeUInt8(ExactTag.integer.rawValue); w.writeInt64(v)
        case .float(let v): w.writeUInt8(ExactTag.float.rawValue); w.writeDouble(v)
        case .decimal(let d): w.writeUInt8(ExactTag.decimal.rawValue); w.writeInt128(d.unscaled)
        case .string(let v): w.writeUInt8(ExactTag.string.rawValue); w.writeString(v)
        case .bytes(let v): w.writeUInt8(ExactTag.bytes.rawValue); w.writeBytes(v)
        case .timestamp(let v): w.writeUInt8(ExactTag.timestamp.rawValue); w.writeInt64(v)
        }
    }

    static func decodeExact(from r: inout WireReader) throws(WireError) -> Value {
        let raw = try r.readUInt8("value tag")
        guard let tag = ExactTag(rawValue: raw) else { throw WireError.invalidValue("value tag", "\(raw)") }
        switch tag {
        case .null: return .null
        case .integer: return .integer(try r.readInt64("integer"))
        case .float: return .float(try r.readDouble("float"))
        case .decimal: return .decimal(VoltDecimal(unscaled: try r.readInt128("decimal")))
        case .string: return .string(try r.readNonNullString("string"))
        case .bytes: return .bytes(try r.readNonNullBytes("bytes"))
        case .timestamp: return .timestamp(try r.readInt64("timestamp"))
        }
    }
}

// MARK: - Messages

extension PeerMessage: MeshCodable {
    /// The first byte of a mesh frame's body: which message follows. The raw values are the wire
    /// format: a new message takes a new number, and none is ever renumbered or reused.
    enum Tag: UInt8, CaseIterable {
        /// Ends with a byte that is always 0: it was the flag that told formation from an add
        /// request, which has its own tag now. It stays so that tag 1 keeps its layout.
        case formationRequest = 1
        case refused = 2
        case welcome = 3
        case hello = 4
        case heartbeat = 5
        case poison = 6
        case raft = 7
        case propose = 8
        case forward = 9
        case forwardReply = 10
        case replicate = 11
        case ack = 12
        case mpBegin = 13
        case mpResults = 14
        case mpDone = 15
        case rejoinRequest = 16
        case rejoinChunk = 17
        case statsRequest = 18
        case statsReply = 19
        case repairQuery = 20
        case repairAnswer = 21
        case rejoinLoaded = 22
        case replace = 23
        /// Tag 24 gained the unreachable members before any release; nothing sent the older layout.
        case addRequest = 24
        case joinWaiting = 25
        case joinWelcome = 26
    }

    var tag: Tag {
        switch self {
        case .formationRequest: .formationRequest
        case .refused: .refused
        case .welcome: .welcome
        case .hello: .hello
        case .heartbeat: .heartbeat
        case .poison: .poison
        case .raft: .raft
        case .propose: .propose
        case .forward: .forward
        case .forwardReply: .forwardReply
        case .replicate: .replicate
        case .ack: .ack
        case .mpBegin: .mpBegin
        case .mpResults: .mpResults
        case .mpDone: .mpDone
        case .rejoinRequest: .rejoinRequest
        case .rejoinChunk: .rejoinChunk
        case .statsRequest: .statsRequest
        case .statsReply: .statsReply
        case .repairQuery: .repairQuery
        case .repairAnswer: .repairAnswer
        case .rejoinLoaded: .rejoinLoaded
        case .replace: .replace
        case .addRequest: .addRequest
        case .joinWaiting: .joinWaiting
        case .joinWelcome: .joinWelcome
        }
    }

    /// [u32 length][tag][fields]
    public func encodeFrame() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64)
        let mark = w.beginFrame()
        encode(into: &w)
        w.endFrame(mark)
        return w.take()
    }

    /// The frame body: [tag][fields].
    func encode(into w: inout WireWriter) {
        w.writeUInt8(tag.rawValue)
        switch self {
        case .formationRequest(let request): request.encode(into: &w); w.writeUInt8(0)
        case .addRequest(let request, let unreachable): request.encode(into: &w); w.writeArray(unreachable)
        case .joinWaiting(let status, let coordinator, let current): w.writeString(status); w.writeString(coordinator); w.writeBytes(current)
        case .joinWelcome(let id, let bootstrap, let current): w.write(id); w.writeBytes(bootstrap); w.writeBytes(current)
        case .refused(let why), .poison(let why): w.writeString(why)
        case .welcome(let id, let state): w.write(id); w.writeBytes(state)
        case .hello(let id, let incarnation, let endpoint): w.write(id); w.writeUInt64(incarnation); w.writeString(endpoint)
        case .heartbeat(let epoch): w.writeUInt64(epoch)
        case .raft(let bytes): w.writeBytes(bytes)
        case .propose(let command): command.encode(into: &w)
        case .forward(let id, let bytes), .forwardReply(let id, let bytes): w.writeInt64(id); w.writeBytes(bytes)
        case .replicate(let p, let entry): w.write(p); entry.encode(into: &w)
        case .ack(let p, let seq, let status, let hash): w.write(p); w.writeInt64(seq); w.writeInt8(status); w.writeUInt64(hash)
        case .mpBegin(let txn, let ts, let invocation): w.writeInt64(txn); w.writeInt64(ts); w.writeBytes(invocation)
        case .mpResults(let txn, let round, let results): w.writeInt64(txn); w.writeInt32(round); w.writeArray(results)
        case .mpDone(let txn, let status, let hash): w.writeInt64(txn); w.writeInt8(status); w.writeUInt64(hash)
        case .rejoinRequest(let p): w.write(p)
        case .rejoinChunk(let p, let seq, let ddl, let payload, let last):
            w.write(p); w.writeInt64(seq); w.writeArray(ddl); w.writeBytes(payload); w.writeBool(last)
        case .statsRequest(let id, let selector): w.writeInt64(id); w.writeString(selector)
        case .statsReply(let id, let table): w.writeInt64(id); table.encodeExact(into: &w)
        case .repairQuery(let p, let seq, let epoch): w.write(p); w.writeInt64(seq); w.writeUInt64(epoch)
        case .rejoinLoaded(let p, let seq): w.write(p); w.writeInt64(seq)
        case .repairAnswer(let p, let lastSeq, let entries): w.write(p); w.writeInt64(lastSeq); w.writeArray(entries)
        case .replace(let id, let bootstrap, let current, let term):
            w.write(id); w.writeBytes(bootstrap); w.writeBytes(current); w.writeUInt64(term)
        }
    }

    /// Reads a frame body (`decode(_:)` also checks that nothing follows it).
    static func decode(from r: inout WireReader) throws(WireError) -> PeerMessage {
        let raw = try r.readUInt8("message tag")
        guard let tag = Tag(rawValue: raw) else { throw WireError.invalidValue("message tag", "\(raw)") }
        switch tag {
        case .formationRequest:
            let request = try HostRequest.decode(from: &r)
            let end = try r.readUInt8("formation request end")
            guard end == 0 else { throw WireError.invalidValue("formation request end", "\(end)") }
            return .formationRequest(request)
        case .addRequest: return .addRequest(try HostRequest.decode(from: &r), unreachable: try r.readAscendingHosts("unreachable count"))
        case .joinWaiting:
            return .joinWaiting(status: try r.readNonNullString("status"), coordinator: try r.readNonNullString("coordinator"),
                                current: try r.readNonNullBytes("current"))
        case .joinWelcome:
            return .joinWelcome(try r.readHostID(), bootstrap: try r.readNonNullBytes("bootstrap"), current: try r.readNonNullBytes("current"))
        case .refused: return .refused(try r.readNonNullString("reason"))
        case .welcome: return .welcome(try r.readHostID(), try r.readNonNullBytes("state"))
        case .hello:
            return .hello(try r.readHostID(), incarnation: try r.readUInt64("incarnation"), endpoint: try r.readNonNullString("endpoint"))
        case .heartbeat: return .heartbeat(epoch: try r.readUInt64("epoch"))
        case .poison: return .poison(try r.readNonNullString("reason"))
        case .raft: return .raft(try r.readNonNullBytes("raft message"))
        case .propose: return .propose(try MetadataCommand.decode(from: &r))
        case .forward: return .forward(requestID: try r.readInt64("request"), invocation: try r.readNonNullBytes("invocation"))
        case .forwardReply: return .forwardReply(requestID: try r.readInt64("request"), response: try r.readNonNullBytes("response"))
        case .replicate: return .replicate(partition: try r.readPartitionID(), entry: try StreamEntry.decode(from: &r))
        case .ack:
            return .ack(partition: try r.readPartitionID(), seq: try r.readInt64("seq"), status: try r.readInt8("status"),
                        hash: try r.readUInt64("hash"))
        case .mpBegin:
            return .mpBegin(transactionID: try r.readInt64("txn"), timestampMicros: try r.readInt64("timestamp"),
                            invocation: try r.readNonNullBytes("invocation"))
        case .mpResults:
            return .mpResults(transactionID: try r.readInt64("txn"), round: try r.readInt32("round"),
                              results: try r.readArray(MPResult.self, "result count"))
        case .mpDone: return .mpDone(transactionID: try r.readInt64("txn"), status: try r.readInt8("status"), hash: try r.readUInt64("hash"))
        case .rejoinRequest: return .rejoinRequest(partition: try r.readPartitionID())
        case .rejoinChunk:
            return .rejoinChunk(partition: try r.readPartitionID(), startSeq: try r.readInt64("seq"),
                                ddl: try r.readArray(String.self, "ddl count"), payload: try r.readNonNullBytes("payload"),
                                last: try r.readBool("last"))
        case .statsRequest: return .statsRequest(requestID: try r.readInt64("request"), selector: try r.readNonNullString("selector"))
        case .statsReply: return .statsReply(requestID: try r.readInt64("request"), table: try ResultTable.decodeExact(from: &r))
        case .repairQuery:
            return .repairQuery(partition: try r.readPartitionID(), after: try r.readInt64("after"), epoch: try r.readUInt64("epoch"))
        case .repairAnswer:
            return .repairAnswer(partition: try r.readPartitionID(), lastSeq: try r.readInt64("last seq"),
                                 entries: try r.readArray(StreamEntry.self, "entry count"))
        case .rejoinLoaded: return .rejoinLoaded(partition: try r.readPartitionID(), lastSeq: try r.readInt64("last seq"))
        case .replace:
            return .replace(try r.readHostID(), bootstrap: try r.readNonNullBytes("bootstrap"),
                            current: try r.readNonNullBytes("current"), term: try r.readUInt64("term"))
        }
    }
}
