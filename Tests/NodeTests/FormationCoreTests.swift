import Rebalancer
import Testing
@testable import Node

/// Formation's decisions (FormationCore.swift): one request at a time, the exact verdicts, ids
/// and messages.
@Suite struct FormationCoreTests {
    static func request(_ port: Int, group: String = "0", config: String = "c1", schema: String = "s1",
                        deployment: String = "<cluster kfactor=\"1\" sitesperhost=\"2\"/>") -> HostRequest {
        HostRequest(member: ClusterMember(id: HostID(-1), internalEndpoint: "127.0.0.1:\(port)", address: "127.0.0.1", hostname: "h",
                                          clientPort: 1, adminPort: 2, placementGroup: group, incarnation: UInt64(port), startedMillis: 0),
                    configHash: config, deploymentText: deployment, schemaHash: schema)
    }

    static func mismatch(_ r: HostRequest) -> String? {
        r.mismatch(configHash: "c1", deploymentText: "<cluster kfactor=\"1\" sitesperhost=\"2\"/>", schemaHash: "s1",
                   checker: "the coordinator")
    }

    @Test func theCoordinatorCountsEachHostOnceAndIsCompleteWithTheExpectedNumber() {
        var core = FormationCore(expected: 2)
        #expect(core.requested(Self.request(3023), mismatch: Self.mismatch(Self.request(3023))) == .counted(have: 1, of: 2))
        #expect(core.requested(Self.request(3023), mismatch: nil) == .counted(have: 1, of: 2), "asking again counts once")
        #expect(core.requested(Self.request(3022), mismatch: nil) == .complete)
        #expect(core.requested(Self.request(3024), mismatch: nil) == .refused("the cluster has already formed"))
        // Ids in endpoint order after the coordinator's 0.
        var coordinator = Self.request(3021).member
        coordinator.id = HostID(0)
        #expect(core.members(coordinator: coordinator).map(\.internalEndpoint) == ["127.0.0.1:3021", "127.0.0.1:3022", "127.0.0.1:3023"])
        #expect(core.members(coordinator: coordinator).map(\.id) == [HostID(0), HostID(1), HostID(2)])
    }

    @Test func aDifferentDeploymentOrSchemaIsRefusedNamingTheDifference() {
        let other = Self.request(3022, config: "c2", deployment: "<cluster kfactor=\"1\" sitesperhost=\"3\"/>")
        #expect(Self.mismatch(other) == "the deployment of this host differs from the coordinator's: the coordinator has "
            + "<cluster kfactor=\"1\" sitesperhost=\"2\"/> where this host has <cluster kfactor=\"1\" sitesperhost=\"3\"/>; "
            + "initialize every host with the same deployment.xml")
        #expect(Self.mismatch(Self.request(3022, schema: "s2"))
                == "the schema files differ from the cluster's; initialize every host with the same --schema files")
        var core = FormationCore(expected: 1)
        #expect(core.requested(other, mismatch: Self.mismatch(other)) == .refused(Self.mismatch(other)!))
        #expect(core.requests.isEmpty && !core.formed)
    }

    @Test func theInitialStateIsVoltDBsLayoutOverTheMembers() throws {
        var core = FormationCore(expected: 2)
        _ = core.requested(Self.request(3022, group: "rack2"), mismatch: nil)
        _ = core.requested(Self.request(3023, group: "rack1"), mismatch: nil)
        var coordinator = Self.request(3021, group: "rack1").member
        coordinator.id = HostID(0)
        let state = try FormationCore.initialState(members: core.members(coordinator: coordinator), sitesPerHost: 2, kFactor: 1)
        #expect(state.partitionCount == 3 && state.members.count == 3 && state.violations().isEmpty)
        #expect(state.partitions.allSatisfy { $0.replicas.count == 2 })
        #expect(throws: PlacementError.self) {
            _ = try FormationCore.initialState(members: Array(core.members(coordinator: coordinator).prefix(1)), sitesPerHost: 1, kFactor: 1)
        }
    }
}
