// Seed sweeps: many short chaotic runs (drops, duplicates, delays, partitions, crashes, restarts,
// proposals to every self-styled leader), invariants checked after every step, then a quiet end
// (heal, restart everyone) that must converge: every host applies the same sequence, and every
// proposal some host applied is applied everywhere. A failure names its seed; set RAFT_SEED to
// replay only that seed.
import Consensus
import Foundation
import Testing
import VoltModel

@Suite struct SeedSweepTests {
    static let seedsPerSize: [UInt64] = {
        if let text = ProcessInfo.processInfo.environment["RAFT_SEED"], let seed = UInt64(text) { return [seed] }
        return Array(1...100)
    }()
    static let stepsPerRun = 300

    static func runOne(nodeCount: Int, seed: UInt64) {
        var cluster = SimulatedCluster(nodeCount: nodeCount, seed: seed, faults: .chaos)
        cluster.run(steps: stepsPerRun)
        let converged = cluster.runToQuiescence()
        #expect(converged, "did not converge; \(cluster.replay)")
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(5)); \(cluster.replay)")
        guard converged else { return }
        let reference = cluster.applied[cluster.members[0]]!
        for id in cluster.members {
            #expect(cluster.applied[id]! == reference, "\(id) applied a different log; \(cluster.replay)")
        }
        // Everything some host ever applied (in any incarnation) is in the converged log.
        let everywhere = Set(reference)
        let lost = cluster.accepted.filter { proposal in
            cluster.committedEver(index: proposal.index, term: proposal.term) && !everywhere.contains { $0.index == proposal.index && $0.term == proposal.term }
        }
        #expect(lost.isEmpty, "committed proposals lost: \(lost.map(\.index)); \(cluster.replay)")
    }

    @Test(arguments: [3, 5]) func sweep(nodeCount: Int) {
        for seed in Self.seedsPerSize { Self.runOne(nodeCount: nodeCount, seed: seed) }
    }
}
