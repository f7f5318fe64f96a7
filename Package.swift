// swift-tools-version:6.0
import PackageDescription

// Toolchain only: no package dependencies (a product decision: a clone builds with nothing but
// the Swift toolchain).
// Layering, dependencies pointing down:
//   voltctl -> Node -> Rebalancer, Consensus (the metadata log's Raft core) -> VoltModel
//   voltctl, Node, Rebalancer -> VoltCLI (argument parsing and text/JSON rendering; depends on
//              nothing; Rebalancer writes its progress summary with VoltCLI's number formats)
//   Node, voltctl -> VoltWire (client wire protocol codec + blocking client) -> VoltModel
//   voltctl -> VoltClient (sqlcmd statement handling, status building, the pipelined bench
//              driver: client logic that talks to a cluster) -> VoltWire, VoltModel, VoltCLI
let package = Package(
    name: "volt-swift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "voltctl", targets: ["voltctl"]),
        .library(name: "Node", targets: ["Node"]),
        .library(name: "Rebalancer", targets: ["Rebalancer"]),
        .library(name: "VoltModel", targets: ["VoltModel"]),
        .library(name: "VoltWire", targets: ["VoltWire"]),
        .library(name: "VoltClient", targets: ["VoltClient"]),
    ],
    targets: [
        .target(name: "VoltModel"),
        .target(name: "Rebalancer", dependencies: ["VoltModel", "VoltCLI"]),
        .target(name: "Consensus", dependencies: ["VoltModel"]),
        .target(name: "VoltWire", dependencies: ["VoltModel"]),
        // Linux calls (epoll, eventfd, accept4) that the Glibc module does not expose.
        .target(name: "CLinux"),
        .target(name: "Node", dependencies: ["CLinux", "VoltModel", "Rebalancer", "Consensus", "VoltWire", "VoltCLI"]),
        .target(name: "VoltCLI"),
        .target(name: "VoltClient", dependencies: ["VoltWire", "VoltModel", "VoltCLI"]),
        .executableTarget(
            name: "voltctl", dependencies: ["Node", "VoltModel", "Rebalancer", "VoltCLI", "VoltWire", "VoltClient"]),
        .testTarget(name: "VoltModelTests", dependencies: ["VoltModel"]),
        .testTarget(name: "RebalancerTests", dependencies: ["Rebalancer", "VoltModel"]),
        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "VoltModel"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "VoltModel", "Consensus", "Rebalancer"]),
        .testTarget(name: "VoltCLITests", dependencies: ["VoltCLI"]),
        .testTarget(name: "VoltWireTests", dependencies: ["VoltWire", "VoltModel"]),
        .testTarget(name: "VoltClientTests", dependencies: ["VoltClient", "VoltWire", "VoltModel", "VoltCLI"]),
    ],
    swiftLanguageModes: [.v6]
)
