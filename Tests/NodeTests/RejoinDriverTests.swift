import Rebalancer
import Testing
@testable import Node

/// The rejoining side of a rejoin (RejoinDriver.swift): one input, the exact actions.
@Suite struct RejoinDriverTests {
    static let me = HostID(1)

    static func formed() throws -> ClusterState {
        let members = (0..<3).map { i in
            ClusterMember(id: HostID(Int32(i)), internalEndpoint: "127.0.0.1:\(3021 + i)", address: "127.0.0.1", hostname: "h\(i)",
                          clientPort: 21212, adminPort: 21211, incarnation: 1, startedMillis: 0)
        }
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: 2, kFactor: 1)
        return ClusterState(layout: layout, members: members)
    }

    static func rejoiner(_ state: ClusterState) -> ClusterMember {
        var m = state.member(me)!
        m.incarnation = 2
        m.state = .rejoining
        return m
    }

    /// A driver whose rejoin has begun, and the state that began it.
    static func begun() throws -> (RejoinDriver, ClusterState) {
        let base = try formed()
        var driver = RejoinDriver(me: me, askIntervalMillis: 1_000, restartedAs: rejoiner(base))
        let state = base.applying(.hostFailed(me, reason: "killed")).applying(.rejoinBegin(rejoiner(base)))
        _ = driver.begin(state: state)
        return (driver, state)
    }

    @Test func aRestartedHostAsksEverySecondUntilItsRejoinBeginsThenAsksEachLeaderForItsPartition() throws {
        let base = try Self.formed()
        var driver = RejoinDriver(me: Self.me, askIntervalMillis: 1_000, restartedAs: Self.rejoiner(base))
        #expect(driver.tick(nowMillis: 0, state: base) == [.propose(.rejoinBegin(Self.rejoiner(base)))])
        #expect(driver.tick(nowMillis: 999, state: base) == [])
        #expect(driver.tick(nowMillis: 1_000, state: base) == [.propose(.rejoinBegin(Self.rejoiner(base)))])
        let state = base.applying(.hostFailed(Self.me, reason: "killed")).applying(.rejoinBegin(Self.rejoiner(base)))
        let slots = state.slots(of: Self.me)
        var expected: [RejoinDriver.Action] = [.log("Rejoining: receiving \(slots.count) partition replicas from their leaders")]
        for p in slots { expected += [.startBuffering(p), .requestSnapshot(p, leader: state.partition(p)!.leader)] }
        #expect(driver.begin(state: state) == expected)
        #expect(driver.begin(state: state) == [], "begins once")
        // A partition nothing has arrived for is asked for again on the next beat.
        #expect(driver.tick(nowMillis: 2_000, state: state) == slots.map { .requestSnapshot($0, leader: state.partition($0)!.leader) })
    }

    @Test func eachLoadedPartitionIsReportedUntilLiveAndTheEndIsProposedOnceAllAre() throws {
        var (driver, state) = try Self.begun()
        let slots = state.slots(of: Self.me)
        let (first, second) = (slots[0], slots[1])
        driver.receivingSnapshot(first)
        driver.snapshotArrived(first)
        #expect(driver.loaded(first, state: state) == [.tellLoaded(first, leader: state.partition(first)!.leader)])
        // Receiving or loading: not asked again. Caught up but not live: reminded.
        driver.receivingSnapshot(second)
        #expect(driver.tick(nowMillis: 5_000, state: state) == [.tellLoaded(first, leader: state.partition(first)!.leader)])
        driver.snapshotArrived(second)
        _ = driver.loaded(second, state: state)
        state = state.applying(.replicaReady(Self.me, first, leader: state.partition(first)!.leader))
        #expect(driver.progressed(state: state) == [])
        state = state.applying(.replicaReady(Self.me, second, leader: state.partition(second)!.leader))
        #expect(driver.progressed(state: state) == [.propose(.rejoinEnd(Self.me))])
        driver.finished()
        #expect(!driver.isRejoining && driver.tick(nowMillis: 9_000, state: state) == [])
    }

    @Test func aLeaderChangeOrAStaleSnapshotSendsThePartitionBackToBeAskedFor() throws {
        var (driver, state) = try Self.begun()
        let slots = state.slots(of: Self.me)
        for p in slots { driver.receivingSnapshot(p); driver.snapshotArrived(p) }
        _ = driver.loaded(slots[0], state: state)
        driver.refetch(slots[0])
        driver.loadDropped(slots[1])
        #expect(driver.tick(nowMillis: 10_000, state: state) == slots.map { .requestSnapshot($0, leader: state.partition($0)!.leader) })
    }

    @Test func aHostThatFormedTheClusterHasNothingToDo() throws {
        var driver = RejoinDriver(me: Self.me, askIntervalMillis: 1_000, restartedAs: nil)
        #expect(!driver.isRejoining)
        #expect(driver.tick(nowMillis: 0, state: try Self.formed()) == [])
        #expect(driver.begin(state: try Self.formed()) == [])
    }
}
