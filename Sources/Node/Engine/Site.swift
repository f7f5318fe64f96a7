import Foundation

/// One execution site: a dedicated thread that owns one partition replica's `PartitionStore` and
/// runs the transactions queued to it, one at a time, to completion.
///
/// Ordering: tasks run in the order they were pushed to `queue`. A single-partition transaction
/// runs entirely inside one call with its own `WriteLog`; on any error the log is rolled back
/// before the next task starts, so a failed transaction leaves no trace. A multi-partition
/// transaction is a barrier: when the site reaches it, the site serves that transaction's mailbox
/// (fragments, schema changes) until the coordinator sends the decision, then commits or rolls
/// back and resumes its queue. Because every site's queue receives the multi-partition barriers
/// in the same order (the engine pushes them under one lock), sites never wait on each other in a
/// cycle.
///
/// Invariant: `store` and `catalog` are touched only on this site's thread.
public final class Site: @unchecked Sendable {
    // SAFETY: `store`, `catalog` and `schemaUndo` are read and written only by the site thread
    // (inside `runLoop` and the tasks it runs). Other threads only push to `queue`. `directory`
    // is set once by the engine's initializer, before the site starts, and only read after.
    public let id: SiteID
    public let partition: PartitionID
    let queue = BlockingQueue<SiteTask>()
    let store = PartitionStore()
    private(set) var catalog: Catalog = .empty
    /// The undo log of every single-partition transaction this site runs, one at a time: each
    /// transaction commits or rolls it back (leaving it empty) and starts a fresh determinism
    /// hash, so reusing it is indistinguishable from a new log per transaction, minus the
    /// allocation.
    private let singlePartitionLog = WriteLog()
    private var thread: Thread?
    private let stopped = OneShot<Bool>()

    private let draining: DrainFlag

    /// The engine's site queues, to hand an unpinned call whose key moved to its owner.
    var directory: SiteDirectory?

    init(id: SiteID, partition: PartitionID, ring: HashRing, draining: DrainFlag) {
        self.id = id
        self.partition = partition
        self.draining = draining
        store.ownership = TokenOwnership(ring: ring, partition: partition)
    }

    func start() {
        let t = Thread { [self] in runLoop() }
        t.name = "site-\(partition.rawValue)"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Closes the queue; the site finishes what is queued and its thread ends. Blocks until then.
    func stop() {
        queue.close()
        _ = stopped.wait()
    }

    private func runLoop() {
        var batch = BlockingQueue<SiteTask>.Batch(capacity: 1024)
        while queue.takeAll(into: &batch) {
            batch.consumeAll { task in run(task) }
        }
        stopped.set(true)
    }

    private func run(_ task: consuming SiteTask) {
        switch consume task {
        case .single(let t): runSinglePartition(t)
        case .multi(let txn): runMultiPartition(txn)
        case .call(let body): body(self)
        }
    }

    // MARK: Single-partition transactions

    private func runSinglePartition(_ task: SinglePartitionTask) {
        if draining.isDraining {
            task.completion(.notRunBecauseOfShutdown(transactionID: task.context.transactionID))
            return
        }
        if let token = task.token, !store.owns(token), let ownership = store.ownership {
            // A range with this key moved to another partition before the call reached its turn
            // here: run nothing. A call the engine routed goes on to the owner's site here; one a
            // replication stream pinned comes back saying where the key lives now (every replica
            // of this partition reaches the same verdict at the same point of its stream).
            let owner = ownership.ring.partition(for: token)
            if !task.pinned, owner != partition, directory?.push(task, to: owner) == true { return }
            task.completion(.mispartitioned(partition, owner: owner, transactionID: task.context.transactionID))
            return
        }
        task.procedure._withUnsafeGuaranteedRef { queued in
            if queued.catalogVersion == catalog.version {
                execute(queued, task)
            } else if let current = catalog.procedure(named: queued.name) {
                // Planned against another catalog: resolve the name again against the one in force here.
                execute(current, task)
            } else {
                task.completion(.failure(SQLError(.unknownProcedure, "Procedure \(queued.name) was not found"), transactionID: task.context.transactionID))
            }
        }
    }

    private func execute(_ procedure: CompiledProcedure, _ task: SinglePartitionTask) {
        let log = singlePartitionLog
        precondition(log.isEmpty, "site \(partition) starts transaction \(task.context.transactionID) with \(log.count) undo records left over")
        log.resetDeterminismHash()
        do {
            let tables = try procedure.executeSinglePartition(params: task.params, store: store, log: log, context: task.context)
            let hash = log.determinismHash
            log.commit()
            task.completion(InvocationResult(status: .success, tables: tables, determinismHash: hash,
                                             transactionID: task.context.transactionID))
        } catch {
            log.rollback()
            task.completion(.failure(error, transactionID: task.context.transactionID))
        }
    }

    // MARK: Multi-partition transactions

    private func runMultiPartition(_ txn: MultiPartitionTransaction) {
        let log = WriteLog()
        var schemaUndo: [() -> Void] = []
        var previousCatalog: Catalog?
        var batch = BlockingQueue<MultiPartitionMessage>.Batch(capacity: 16)
        let mailbox = txn.mailbox(for: partition)
        var finished = false
        while !finished {
            guard mailbox.takeAll(into: &batch) else {
                preconditionFailure("mailbox of \(partition) closed before transaction \(txn.context.transactionID) finished")
            }
            batch.consumeAll { message in
                // The coordinator sends nothing after `.finish` (it waits for every site first).
                precondition(!finished, "site \(partition) got a message for transaction \(txn.context.transactionID) after its decision")
                switch message {
                case .fragment(let fragment, let reply):
                    do throws(SQLError) {
                        reply(partition, .success(try fragment(store, log, txn.context)))
                    } catch {
                        reply(partition, .failure(error))
                    }
                case .schema(let changes, let newCatalog, let reply):
                    do throws(SQLError) {
                        try applySchema(changes, undo: &schemaUndo)
                        if previousCatalog == nil { previousCatalog = catalog }
                        catalog = newCatalog
                        reply(partition, .success(ResultTable(columns: [])))
                    } catch {
                        reply(partition, .failure(error))
                    }
                case .finish(let commit):
                    store.settleOwnership(commit: commit)
                    if commit {
                        log.commit()
                    } else {
                        log.rollback()
                        for undo in schemaUndo.reversed() { undo() }
                        if let previousCatalog { catalog = previousCatalog }
                    }
                    txn.siteFinished(partition, determinismHash: log.determinismHash)
                    finished = true
                }
            }
        }
    }

    /// Applies schema changes in order. On failure, undoes what this call applied and throws;
    /// on success, appends the undo steps to `undo` for a later rollback of the whole transaction.
    private func applySchema(_ changes: [SchemaChange], undo: inout [() -> Void]) throws(SQLError) {
        var local: [() -> Void] = []
        let store = self.store
        for change in changes {
            switch change {
            case .createTable(let def):
                _ = store.createTable(def)
                local.append { store.dropTable(named: def.name) }
            case .dropTable(let name):
                if let table = store.table(named: name) {
                    store.dropTable(named: name)
                    local.append { store.attach(table) }
                }
            case .createIndex(let def):
                guard let table = store.table(named: def.table) else {
                    for u in local.reversed() { u() }
                    throw SQLError(.unknownTable, "object not found: \(def.table)")
                }
                do {
                    try table.addIndex(def)
                } catch {
                    for u in local.reversed() { u() }
                    throw SQLError(storage: error)
                }
                local.append { table.dropIndex(named: def.name) }
            case .dropIndex(let tableName, let name):
                if let table = store.table(named: tableName), let def = table.indexes.first(where: { $0.name == name }) {
                    table.dropIndex(named: name)
                    local.append { try? table.addIndex(def) }
                }
            }
        }
        undo.append(contentsOf: local)
    }
}

/// Work queued to a site.
enum SiteTask: Sendable {
    case single(SinglePartitionTask)
    case multi(MultiPartitionTransaction)
    /// Runs on the site thread in queue order: statistics, checksums, range operations.
    case call(@Sendable (Site) -> Void)
}

struct SinglePartitionTask: @unchecked Sendable {
    // SAFETY: `procedure` is an unretained reference that stays valid until the task has run:
    // either `retainer` holds the procedure, or the engine that queued the task has pinned it. An
    // engine keeps every catalog it installed, and so every procedure it pinned, until it is
    // freed; it cannot be freed while a task is queued, because its coordinator thread holds it
    // until `shutdown`, and `shutdown` returns only after every site has drained its queue (a
    // push after that fails and drops the task without running it). Skipping the retain matters
    // because one procedure is shared by every call on every site thread: retaining it per call
    // would bounce its reference count between cores. Everything else is Sendable.
    let procedure: Unmanaged<CompiledProcedure>
    /// The procedure, retained, when no engine pins it (ad hoc plans, procedures from a catalog
    /// this engine did not install); nil for pinned procedures.
    let retainer: CompiledProcedure?
    let params: [Value]
    /// The token of the call's partition key, checked against the site's ownership before the
    /// call runs; nil when there is nothing to check (a NULL key, or system work).
    let token: Token?
    /// The partition was chosen by a replication stream, not by the engine: a moved key is
    /// answered, not sent on.
    let pinned: Bool
    let context: ExecutionContext
    let completion: @Sendable (InvocationResult) -> Void
}

/// The engine's site queues by partition id (nil for partitions other hosts hold), shared with
/// its sites so that a site can hand a call whose key has moved to the owner's site. Unretained
/// (the engine keeps `sites`, which keep their queues): pushing through a retained reference would
/// bounce the queue's reference count between the threads that submit.
final class SiteDirectory: Sendable {
    let queues: [UnretainedQueue?]

    init(_ sites: [Site]) {
        var queues = [UnretainedQueue?](repeating: nil, count: Int(sites.map(\.partition.rawValue).max() ?? -1) + 1)
        for site in sites { queues[Int(site.partition.rawValue)] = UnretainedQueue(site.queue) }
        self.queues = queues
    }

    /// The queue of `partition`'s site here, or nil if this host holds no replica of it.
    func queue(for partition: PartitionID) -> UnretainedQueue? {
        let i = Int(partition.rawValue)
        return i >= 0 && i < queues.count ? queues[i] : nil
    }

    func push(_ task: SinglePartitionTask, to partition: PartitionID) -> Bool {
        guard let queue = queue(for: partition) else { return false }
        return queue.queue._withUnsafeGuaranteedRef { $0.push(.single(task)) }
    }
}
