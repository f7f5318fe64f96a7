// How a decoded invocation becomes work: system procedures by name; calls that touch data (user
// and default procedures, @AdHoc, the bulk loaders) through `runData`, which runs them on this
// host's engine for a single host and hands them to the cluster (leader, replication, forwarding)
// otherwise; `executeCall` runs a replicated or forwarded call here with the leader's options.
//
// Admission, in order: a stopping host answers SERVER_UNAVAILABLE; a paused host answers
// SERVER_UNAVAILABLE on the client port for user procedures, @AdHoc and the bulk loaders (the
// admin port, and the read-only system procedures, keep working, as in VoltDB's admin mode); an
// unknown procedure is UNEXPECTED_FAILURE "Procedure X was not found"; a parameter the engine
// cannot take is GRACEFUL_FAILURE; the engine reports a wrong parameter count itself.
//
// A v2 invocation with a partition destination (the Python client's `call_all_partitions`) is
// accepted for single-partition procedures whose partition parameter, the key the client
// prepends, hashes to that destination — which `@GetPartitionKeys` keys always do; anything else
// is GRACEFUL_FAILURE, as in Java.

import VoltModel
import VoltWire

extension Host {
    typealias Reply = @Sendable (InvocationResult) -> Void

    static let pausedMessage = "The database is paused: the client port accepts no work until @Resume. "
        + "Use the admin port to run work while paused."

    func dispatch(_ invocation: Invocation, session: SessionRecord, reply: @escaping Reply) {
        guard let runtime, isRunning else {
            reply(InvocationResult(status: .serverUnavailable, statusString: "The server is shutting down"))
            return
        }
        let name = invocation.procedure
        if name.hasPrefix("@") {
            runSystemProcedure(name, invocation, session: session, runtime: runtime, reply: reply)
            return
        }
        if refusesWorkWhilePaused(session) {
            reply(InvocationResult(status: .serverUnavailable, statusString: Host.pausedMessage))
            return
        }
        let engine = runtime.engine
        guard let procedure = engine.procedure(named: name) else {
            reply(InvocationResult(status: .unexpectedFailure, statusString: "Procedure \(name) was not found"))
            return
        }
        let needed: Permissions = procedure.isDefault ? .defaultProcedures : .allProcedures
        guard session.permissions.contains(needed) else {
            reply(Permissions.refusal(user: session.user, needed: needed, what: name))
            return
        }
        let values: [Value]
        do {
            values = try WireParameter.engineValues(invocation.parameters, procedure: name)
        } catch {
            reply(InvocationResult(status: .gracefulFailure, statusString: error.description))
            return
        }
        let partition = partition(of: procedure, values, engine: engine)
        if let destination = invocation.header.partitionDestination {
            guard case .single = procedure.partitioning, partition == destination else {
                reply(InvocationResult(status: .gracefulFailure,
                    statusString: "Procedure \(name) cannot be directed to \(destination): only a single-partition procedure "
                        + "whose partition parameter hashes to that partition can"))
                return
            }
        }
        let started = Host.monotonicNanos()
        let stats = self.stats
        let recorded: Reply = { result in
            stats.recordProcedure(procedure.name, partition: partition ?? .multiPartitionInitiator, status: result.status,
                                  nanos: Host.monotonicNanos() - started)
            reply(result)
        }
        let target: CallTarget = partition.map { .partition($0) } ?? .multi
        runData(invocation, target: target, runtime: runtime, reply: recorded) { options, done in
            engine.invoke(procedure, values, options: options, completion: done)
        }
    }

    /// Runs a call that reads or writes data: on this host's engine for a single host, through the
    /// cluster (leader, replication, multi-partition coordinator) otherwise. `local` runs it here
    /// with the given options; the cluster calls `executeCall` on each replica instead.
    func runData(_ invocation: Invocation, target: CallTarget, runtime: Runtime, reply: @escaping Reply,
                 local: @escaping @Sendable (CallOptions, @escaping Reply) -> Void) {
        if let cluster = runtime.cluster, target != .anywhere {
            cluster.submit(invocation, target: target, reply: reply)
        } else {
            local(CallOptions(), reply)
        }
    }

    /// Runs a replicated or forwarded data call on this host's engine with the leader's options:
    /// the same parsing as a client call, no permission checks (the receiving host made them).
    func executeCall(_ invocation: Invocation, options: CallOptions, runtime: Runtime, completion: @escaping Reply) {
        let name = invocation.procedure
        let p = invocation.parameters
        switch name.lowercased() {
        case "@adhoc":
            guard let sql = Host.stringParameter(p, 0), let values = try? WireParameter.engineValues(Array(p.dropFirst()), procedure: name) else {
                completion(InvocationResult(status: .gracefulFailure, statusString: "@AdHoc: bad parameters"))
                return
            }
            runtime.engine.adHoc(sql, params: values, options: options) { [self] result in
                completion(result)
                if result.succeeded { publishCatalogIfChanged(runtime.engine) }
            }
        case "@loadsinglepartitiontable":
            loadSinglePartitionTable(p, runtime: runtime, options: options, reply: completion)
        case "@loadmultipartitiontable":
            loadMultiPartitionTable(p, runtime: runtime, options: options, reply: completion)
        case "@placementchange":
            // Only hosts send it (a join's rebalance); clients cannot name it.
            guard let change = PlacementChange(invocation: invocation) else {
                completion(InvocationResult(status: .unexpectedFailure, statusString: "\(name): malformed placement change"))
                return
            }
            runtime.engine.changePlacement(change, options: options, completion: completion)
        default:
            guard let procedure = runtime.engine.procedure(named: name) else {
                completion(InvocationResult(status: .unexpectedFailure, statusString: "Procedure \(name) was not found"))
                return
            }
            guard let values = try? WireParameter.engineValues(p, procedure: name) else {
                completion(InvocationResult(status: .gracefulFailure, statusString: "\(name): bad parameters"))
                return
            }
            runtime.engine.invoke(procedure, values, options: options, completion: completion)
        }
    }

    /// The partition a procedure call runs on, or nil for multi-partition work. A call with the
    /// wrong number of parameters is routed anywhere: the engine refuses it with its own message.
    func partition(of procedure: CompiledProcedure, _ values: [Value], engine: Engine) -> PartitionID? {
        switch procedure.partitioning {
        case .single(let index, let type):
            return index < values.count ? engine.partition(forKey: values[index], type: type) : PartitionID(0)
        case .singleConstant(let key, let type):
            return engine.partition(forKey: key, type: type)
        case .multi:
            return nil
        }
    }

    func refusesWorkWhilePaused(_ session: SessionRecord) -> Bool {
        !session.admin && isPaused
    }
}
