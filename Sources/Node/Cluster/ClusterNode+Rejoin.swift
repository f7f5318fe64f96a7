// Live rejoin: a restarted host receives its replicas from the partition leaders while they
// keep serving (docs/PROTOCOL.md §12.7).
//
// 1. The restarted host (same root directory, so the same host id and metadata log, a new
//    incarnation) asks the coordinator, every second, to begin its rejoin. The coordinator admits
//    one host at a time; a second one waits, and says so in the log.
// 2. When `rejoinBegin` for it is applied, the host puts the stream of each partition it holds into
//    buffering mode and sends `rejoinRequest` to each partition's leader.
// 3. The leader, under the partition's stream lock, adds the host to the stream's recipients and
//    queues a snapshot task on its site: the task runs after exactly the records sequenced so far
//    (`startSeq`), serializes every table of the partition with the site's DDL history, and a
//    streaming thread sends it in paced chunks while the site goes on serving.
// 4. The host installs the schema once (replaying the DDL), loads each partition's rows on its
//    site, then replays the buffered records after `startSeq` in order, and from then on runs the
//    stream like any replica. It proposes `replicaReady` for the partition; once every partition
//    is live again it proposes `rejoinEnd` and starts serving clients.
//
// The snapshot is taken in one step on the leader's site (the partition pauses for the copy, a
// memory-speed serialization), not copy-on-write as in VoltDB; the streaming itself is paced and
// off the site thread.

import Foundation
import Synchronization
import VoltModel
import VoltWire

struct RejoinState {
    /// The decisions (when to ask, whom, when to end): the pure core. Nil for a host that formed
    /// the cluster in this run.
    var driver: RejoinDriver?
    /// The bytes of each partition's snapshot as its chunks arrive.
    var chunks: [PartitionID: [UInt8]] = [:]
    /// The DDL history that came with each partition's first snapshot chunk.
    var ddl: [PartitionID: [String]] = [:]
    /// Whether a load thread has taken on installing the schema (the others wait for it).
    var catalogClaimed = false
}

extension ClusterNode {
    static let rejoinChunkBytes = 1 << 20
    static let rejoinAskIntervalMillis: Int64 = 1_000

    /// Marks this host as restarted: it rejoins before it serves.
    func needsRejoin(as member: ClusterMember) {
        rejoin.withLock { $0.driver = RejoinDriver(me: me, askIntervalMillis: Self.rejoinAskIntervalMillis, restartedAs: member) }
    }

    /// Feeds the rejoin driver one input under the lock and carries its actions out after it.
    func driveRejoin(_ input: (inout RejoinDriver) -> [RejoinDriver.Action]) {
        let actions = rejoin.withLock { r -> [RejoinDriver.Action] in
            guard r.driver != nil else { return [] }
            return input(&r.driver!)
        }
        for action in actions {
            switch action {
            case .propose(let command): propose(command)
            case .startBuffering(let p): stream(for: p)?.state.withLock { $0.core.startBuffering() }
            case .requestSnapshot(let p, let leader): mesh.send(.rejoinRequest(partition: p), to: leader)
            case .tellLoaded(let p, let leader):
                guard let stream = stream(for: p) else { continue }
                let seq = stream.state.withLock { $0.core.lastSeq }
                mesh.send(.rejoinLoaded(partition: p, lastSeq: seq), to: leader)
            case .log(let line): log(line)
            }
        }
    }

    func rejoinTick(_ state: ClusterState) {
        driveRejoin { $0.tick(nowMillis: Host.monotonicMillis(), state: state) }
    }

    /// `rejoinBegin` for this host was applied.
    func beginRejoin(_ state: ClusterState) {
        // No join runs during a rejoin, so the applied ring is the one every engine has.
        engine.adoptPlacement(ring: state.ring, participants: state.participants)
        driveRejoin { $0.begin(state: state) }
    }

    func rejoinProgress(_ state: ClusterState) {
        driveRejoin { $0.progressed(state: state) }
    }

    // MARK: Leader side

    func rejoinRequested(_ p: PartitionID, by host: HostID) {
        let state = self.state
        guard let stream = stream(for: p), state.partition(p)?.leader == me,
              state.member(host)?.state == .rejoining else {
            log("Ignoring a rejoin request for partition \(p.rawValue) from host \(host.rawValue)")
            return
        }
        step(stream) { $0.core.rejoinRequested(by: host) }
    }

    func streamSnapshot(_ p: PartitionID, to host: HostID, startSeq: Int64, ddl: [String], payload: [UInt8]) {
        let started = Host.monotonicNanos()
        var offset = 0
        repeat {
            let end = min(payload.count, offset + Self.rejoinChunkBytes)
            let chunk = Array(payload[offset..<end])
            // Paced: at most a few chunks queued for the rejoiner at once, so the leader's own
            // traffic to that host is not buried behind the whole snapshot.
            while mesh.pendingBytes(to: host) > 4 * Self.rejoinChunkBytes && !fatal.load(ordering: .relaxed) { usleep(1_000) }
            guard mesh.send(.rejoinChunk(partition: p, startSeq: startSeq, ddl: offset == 0 ? ddl : [], payload: chunk,
                                         last: end == payload.count), to: host) else {
                log("Rejoin stream of partition \(p.rawValue) to host \(host.rawValue) broke after \(offset) bytes")
                return
            }
            offset = end
        } while offset < payload.count
        let seconds = Double(Host.monotonicNanos() - started) / 1e9
        log("Streamed partition \(p.rawValue) to host \(host.rawValue): \(payload.count) bytes in "
            + "\(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", Double(payload.count) / 1e6 / max(seconds, 1e-9))) MB/s)")
    }

    /// Every table of the partition: [u32 count] then, per table, its name and its rows as a VoltTable.
    static func snapshot(_ store: PartitionStore) -> [UInt8] {
        var w = WireWriter(reservingCapacity: 1 << 16)
        w.writeInt32(Int32(store.tableNames.count))
        for name in store.tableNames {
            let table = store.table(named: name)!
            var rows: [[Value]] = []
            rows.reserveCapacity(table.rowCount)
            table.forEachRow { id in
                rows.append(table.row(id))
                return true
            }
            w.writeString(name)
            ResultTable(columns: table.definition.columns.map { .init($0.name, $0.type) }, rows: rows).encodeExact(into: &w)
        }
        return w.take()
    }

    // MARK: Rejoining side

    func rejoinChunkReceived(_ p: PartitionID, startSeq: Int64, ddl: [String], payload: [UInt8], last: Bool, from peer: HostID) {
        // Only the current leader's stream counts: one from a leader that has since failed is stale.
        guard state.partition(p)?.leader == peer else { return }
        let complete = rejoin.withLock { r -> (ddl: [String]?, bytes: [UInt8])? in
            if !ddl.isEmpty { r.ddl[p] = ddl }
            r.chunks[p, default: []].append(contentsOf: payload)
            r.driver?.receivingSnapshot(p)
            guard last else { return nil }
            let bytes = r.chunks.removeValue(forKey: p) ?? []
            r.driver?.snapshotArrived(p)
            return (r.ddl[p], bytes)
        }
        guard let complete else { return }
        let thread = Thread { [self] in load(p, startSeq: startSeq, ddl: complete.ddl, bytes: complete.bytes, from: peer) }
        thread.name = "rejoin-load-\(p.rawValue)"
        thread.start()
    }

    private func load(_ p: PartitionID, startSeq: Int64, ddl: [String]?, bytes: [UInt8], from leader: HostID) {
        // The schema goes in once, before any rows: the first load thread installs it, every
        // other one waits (a load queued ahead of the schema would find no tables).
        let installs = rejoin.withLock { r -> Bool in
            guard !r.catalogClaimed else { return false }
            r.catalogClaimed = true
            return true
        }
        if installs {
            for batch in ddl ?? [] {
                let result = engine.adHoc(batch)
                guard result.succeeded else {
                    catalogInstalled.setIfUnset(false)
                    die("rejoin: the schema from the leader does not apply here: \(result.statusString ?? "")")
                    return
                }
            }
            catalogInstalled.setIfUnset(true)
        } else if catalogInstalled.wait() == false {
            return
        }
        let tables: [(String, ResultTable)]
        do {
            tables = try Self.decodeSnapshot(bytes)
        } catch {
            die("rejoin: the snapshot of partition \(p.rawValue) does not decode: \(error)")
            return
        }
        guard let stream = stream(for: p) else { return }
        var current = true
        step(stream) { s in
            // A snapshot from a leader that has been replaced meanwhile is dropped (see `resnapshot`).
            guard s.core.leader == leader, s.core.isBuffering else {
                current = false
                return []
            }
            // The load is queued on the site before the buffered entries, so they run on top of it.
            let loaded = engine.onSite(p) { [self] store, _ in
                for (name, table) in tables {
                    guard let target = store.table(named: name) else {
                        die("rejoin: partition \(p.rawValue) arrived with table \(name), which the schema here lacks")
                        return
                    }
                    do { try target.bulkLoad(table.rows, log: nil) } catch {
                        die("rejoin: loading \(name) into partition \(p.rawValue) failed: \(error)")
                    }
                }
            }
            return loaded ? s.core.snapshotLoaded(startSeq: startSeq) : []
        }
        guard current else {
            driveRejoin { $0.loadDropped(p); return [] }
            log("Rejoin: dropped a snapshot of partition \(p.rawValue) from host \(leader.rawValue), which no longer leads it")
            return
        }
        log("Rejoin: partition \(p.rawValue) loaded (\(tables.reduce(0) { $0 + $1.1.rows.count }) rows) and caught up")
        let state = self.state
        driveRejoin { $0.loaded(p, state: state) }
    }

    static func decodeSnapshot(_ bytes: [UInt8]) throws(WireError) -> [(String, ResultTable)] {
        var r = WireReader(bytes)
        var out: [(String, ResultTable)] = []
        for _ in 0..<(try r.readCount("table count")) {
            let name = try r.readNonNullString("table name")
            out.append((name, try ResultTable.decodeExact(from: &r)))
        }
        return out
    }
}
