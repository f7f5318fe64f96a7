// Deployment: the settings of deployment.xml, as one Sendable value with VoltDB's defaults.
//
// Source of the element names, attributes, defaults and ranges: VoltDB's
// `src/frontend/org/voltdb/compiler/DeploymentFileSchema.xsd` (the XSD's `default=` and
// `minInclusive`/`maxInclusive`) and `CatalogUtil.populateDefaultDeployment` (what an absent
// element means), summarised in `docs/PROTOCOL.md` §12.3.
//
// Two kinds of default, as in VoltDB:
// - an attribute left out of an element that is present takes the XSD default;
// - an element left out altogether takes the code default, which differs for two elements:
//   an absent `<snapshot>` means automatic snapshots are *disabled* (present: enabled), and an
//   absent `<commandlog>` means command logging is *disabled* (present: enabled). VoltDB's
//   Enterprise build enables the command log when the element is absent; we follow the
//   Community build, which is the one whose behaviour is public.
// `Deployment()` is the value of a file that says only `<deployment><cluster/></deployment>`.
//
// Departures from VoltDB, and why:
// - `<httpd>` absent means port 8080, not "search upward for a free port": a port that depends
//   on what else runs on the machine makes the effective configuration differ between hosts.
// - `<cluster hostcount>`, `id` and `elastic` are accepted and ignored with a warning: the host
//   count comes from `voltctl start`, and DR is out of scope.
// - Elements VoltDB has that this server does not implement (ssl, export, import, dr, snmp,
//   consistency, avro, topics, threadpools, task, metrics, `<resourcemonitor><disklimit>`) are
//   accepted and ignored with a warning that says so, so that operators can bring their files.
// - The ranges of `sitesperhost` (1–64) and `kfactor` (0–15) are ours: the XSD allows any int,
//   and a value past these is a typing mistake rather than a plan.

/// The effective configuration of a cluster: what deployment.xml says, with every default filled.
public struct Deployment: Sendable, Equatable {
    public var cluster: Cluster
    public var paths: Paths
    public var heartbeat: Heartbeat
    public var partitionDetection: PartitionDetection
    public var httpd: HTTPD
    public var snapshot: Snapshot
    public var commandLog: CommandLog
    public var systemSettings: SystemSettings
    public var security: Security
    /// The users, in the order the file lists them.
    public var users: [User]

    public init(
        cluster: Cluster = Cluster(),
        paths: Paths = Paths(),
        heartbeat: Heartbeat = Heartbeat(),
        partitionDetection: PartitionDetection = PartitionDetection(),
        httpd: HTTPD = HTTPD(),
        snapshot: Snapshot = Snapshot(),
        commandLog: CommandLog = CommandLog(),
        systemSettings: SystemSettings = SystemSettings(),
        security: Security = Security(),
        users: [User] = []
    ) {
        self.cluster = cluster
        self.paths = paths
        self.heartbeat = heartbeat
        self.partitionDetection = partitionDetection
        self.httpd = httpd
        self.snapshot = snapshot
        self.commandLog = commandLog
        self.systemSettings = systemSettings
        self.security = security
        self.users = users
    }

    /// `<cluster sitesperhost kfactor>`.
    public struct Cluster: Sendable, Equatable {
        public static let sitesPerHostRange = 1...64
        public static let kFactorRange = 0...15

        /// Execution sites (partition replicas) on each host. Default 8.
        public var sitesPerHost: Int
        /// K: every partition has K+1 replicas on distinct hosts. Default 0.
        public var kFactor: Int

        public init(sitesPerHost: Int = 8, kFactor: Int = 0) {
            self.sitesPerHost = sitesPerHost
            self.kFactor = kFactor
        }
    }

    /// `<paths>`: where each managed directory lives, absolute or relative to the root directory.
    /// `<voltdbroot>` is accepted and ignored: the root is always `voltctl init --dir`.
    public struct Paths: Sendable, Equatable {
        public var snapshots: String
        public var commandLog: String
        public var commandLogSnapshot: String
        public var exportOverflow: String
        public var exportCursor: String
        public var drOverflow: String
        public var largeQuerySwap: String

        public init(
            snapshots: String = "snapshots",
            commandLog: String = "command_log",
            commandLogSnapshot: String = "command_log_snapshot",
            exportOverflow: String = "export_overflow",
            exportCursor: String = "export_cursor",
            drOverflow: String = "dr_overflow",
            largeQuerySwap: String = "large_query_swap"
        ) {
            self.snapshots = snapshots
            self.commandLog = commandLog
            self.commandLogSnapshot = commandLogSnapshot
            self.exportOverflow = exportOverflow
            self.exportCursor = exportCursor
            self.drOverflow = drOverflow
            self.largeQuerySwap = largeQuerySwap
        }

        /// Every managed path with its element name, in the canonical order.
        public var all: [(element: String, path: String)] {
            [
                ("snapshots", snapshots),
                ("commandlog", commandLog),
                ("commandlogsnapshot", commandLogSnapshot),
                ("exportoverflow", exportOverflow),
                ("exportcursor", exportCursor),
                ("droverflow", drOverflow),
                ("largequeryswap", largeQuerySwap),
            ]
        }
    }

    /// `<heartbeat timeout>`: seconds without a message after which a host is declared dead.
    public struct Heartbeat: Sendable, Equatable {
        public static let timeoutSecondsRange = 1...Int(Int32.max)
        public var timeoutSeconds: Int
        public init(timeoutSeconds: Int = 90) { self.timeoutSeconds = timeoutSeconds }
    }

    /// `<partition-detection enabled>`: whether the smaller side of a network split stops itself.
    public struct PartitionDetection: Sendable, Equatable {
        public var enabled: Bool
        public init(enabled: Bool = true) { self.enabled = enabled }
    }

    /// `<httpd enabled port><jsonapi enabled/></httpd>`.
    public struct HTTPD: Sendable, Equatable {
        public static let portRange = 1...65535
        public var enabled: Bool
        public var port: Int
        public var jsonAPIEnabled: Bool
        public init(enabled: Bool = true, port: Int = 8080, jsonAPIEnabled: Bool = true) {
            self.enabled = enabled
            self.port = port
            self.jsonAPIEnabled = jsonAPIEnabled
        }
    }

    /// `<snapshot enabled frequency retain prefix>`: automatic snapshots.
    public struct Snapshot: Sendable, Equatable {
        public static let retainRange = 1...5000
        /// Default when the element is absent: disabled. When present without `enabled`: enabled.
        public var enabled: Bool
        public var frequency: SnapshotFrequency
        /// How many automatic snapshots to keep; older ones are deleted.
        public var retain: Int
        /// The start of every automatic snapshot's name (its nonce).
        public var prefix: String

        public init(
            enabled: Bool = false,
            frequency: SnapshotFrequency = SnapshotFrequency(value: 24, unit: .hours),
            retain: Int = 2,
            prefix: String = "AUTOSNAP"
        ) {
            self.enabled = enabled
            self.frequency = frequency
            self.retain = retain
            self.prefix = prefix
        }
    }

    /// `<commandlog enabled synchronous logsize><frequency time transactions/></commandlog>`.
    public struct CommandLog: Sendable, Equatable {
        public static let logSizeMBRange = 3...102_400
        public static let frequencyTimeMillisRange = 1...5000
        public static let frequencyTransactionsRange = 1...Int(Int32.max)

        /// Default when the element is absent: disabled. When present without `enabled`: enabled.
        public var enabled: Bool
        /// Whether a transaction is acknowledged only after its log record is on disk.
        public var synchronous: Bool
        /// Total size of the log segments before a truncation snapshot, in megabytes.
        public var logSizeMB: Int
        /// Asynchronous mode: write to disk at least this often, in milliseconds...
        public var frequencyTimeMillis: Int
        /// ...or after this many transactions, whichever comes first.
        public var frequencyTransactions: Int

        public init(
            enabled: Bool = false,
            synchronous: Bool = false,
            logSizeMB: Int = 1024,
            frequencyTimeMillis: Int = 200,
            frequencyTransactions: Int = Int(Int32.max)
        ) {
            self.enabled = enabled
            self.synchronous = synchronous
            self.logSizeMB = logSizeMB
            self.frequencyTimeMillis = frequencyTimeMillis
            self.frequencyTransactions = frequencyTransactions
        }
    }

    /// `<systemsettings>`.
    public struct SystemSettings: Sendable, Equatable {
        public static let elasticDurationMillisRange = 1...Int(Int32.max)
        public static let elasticThroughputMBPerSecondRange = 0...Int(Int32.max)
        public static let queryTimeoutMillisRange = 0...Int(Int32.max)
        public static let procedureWarningTimeoutMillisRange = 0...Int(Int32.max)
        public static let tempTablesMaxSizeMBRange = 1...Int(Int32.max)
        public static let snapshotPriorityRange = 0...10
        public static let resourceMonitorFrequencySecondsRange = 1...Int(Int32.max)

        /// `<elastic duration>`: target milliseconds of one rebalance transaction.
        public var elasticDurationMillis: Int
        /// `<elastic throughput>`: target megabytes per second moved by a rebalance; 0 moves at
        /// full speed (steps back to back).
        public var elasticThroughputMBPerSecond: Int
        /// `<query timeout>`: read-only queries running longer are cancelled; 0 means never.
        public var queryTimeoutMillis: Int
        /// `<procedure warningtimeout>`: procedures running longer are logged; 0 means never.
        public var procedureWarningTimeoutMillis: Int
        /// `<temptables maxsize>`: the most memory one query's intermediate results may use.
        public var tempTablesMaxSizeMB: Int
        /// `<snapshot priority>`: 0 = snapshot work is not throttled, 1 = highest … 10 = lowest.
        public var snapshotPriority: Int
        /// `<resourcemonitor frequency>`: seconds between resource checks.
        public var resourceMonitorFrequencySeconds: Int
        /// `<resourcemonitor><memorylimit size>`: past this the cluster pauses.
        public var memoryLimit: MemoryLimit
        /// `<resourcemonitor><memorylimit alert>`: past this a warning is logged.
        public var memoryAlert: MemoryLimit

        public init(
            elasticDurationMillis: Int = 50,
            elasticThroughputMBPerSecond: Int = 2,
            queryTimeoutMillis: Int = 10_000,
            procedureWarningTimeoutMillis: Int = 10_000,
            tempTablesMaxSizeMB: Int = 100,
            snapshotPriority: Int = 6,
            resourceMonitorFrequencySeconds: Int = 60,
            memoryLimit: MemoryLimit = .percent(80),
            memoryAlert: MemoryLimit = .percent(70)
        ) {
            self.elasticDurationMillis = elasticDurationMillis
            self.elasticThroughputMBPerSecond = elasticThroughputMBPerSecond
            self.queryTimeoutMillis = queryTimeoutMillis
            self.procedureWarningTimeoutMillis = procedureWarningTimeoutMillis
            self.tempTablesMaxSizeMB = tempTablesMaxSizeMB
            self.snapshotPriority = snapshotPriority
            self.resourceMonitorFrequencySeconds = resourceMonitorFrequencySeconds
            self.memoryLimit = memoryLimit
            self.memoryAlert = memoryAlert
        }
    }

    /// `<security enabled provider>`.
    public struct Security: Sendable, Equatable {
        public var enabled: Bool
        public var provider: SecurityProvider
        public init(enabled: Bool = false, provider: SecurityProvider = .hash) {
            self.enabled = enabled
            self.provider = provider
        }
    }

    /// The authentication providers. VoltDB also has `kerberos`, which this server does not.
    public enum SecurityProvider: String, Sendable, Equatable, CaseIterable {
        case hash
    }

    /// `<users><user name password roles plaintext/></users>`.
    public struct User: Sendable, Equatable {
        public var name: String
        public var password: String
        /// Role names, lower-cased (VoltDB's role names are case-insensitive), in file order.
        public var roles: [String]
        /// Whether `password` is the password itself (true) or its hash (false).
        public var plaintext: Bool

        public init(name: String, password: String, roles: [String] = [], plaintext: Bool = true) {
            self.name = name
            self.password = password
            self.roles = roles
            self.plaintext = plaintext
        }
    }
}

/// A snapshot interval as deployment.xml writes it: a positive integer and a unit, `30m`.
public struct SnapshotFrequency: Sendable, Equatable, CustomStringConvertible {
    public enum Unit: String, Sendable, Equatable {
        case seconds = "s"
        case minutes = "m"
        case hours = "h"

        var seconds: Int {
            switch self {
            case .seconds: 1
            case .minutes: 60
            case .hours: 3600
            }
        }
    }

    public static let valueRange = 1...Int(Int32.max)

    public var value: Int
    public var unit: Unit

    public init(value: Int, unit: Unit) {
        self.value = value
        self.unit = unit
    }

    /// Parses `24h`, `30m`, `60s` (VoltDB's `SnapshotDaemon` accepts exactly these units, in
    /// either case). Nil for anything else.
    public init?(parsing text: String) {
        let trimmed = ConfigText.trim(text)
        guard let last = trimmed.last, let unit = Unit(rawValue: last.lowercased()),
            let value = ConfigText.digits(trimmed.dropLast()), Self.valueRange.contains(value)
        else { return nil }
        self.init(value: value, unit: unit)
    }

    /// The interval in seconds.
    public var seconds: Int { value * unit.seconds }

    public var description: String { "\(value)\(unit.rawValue)" }
}

/// A resource limit: a share of the machine's memory, or an absolute size in gigabytes.
public enum MemoryLimit: Sendable, Equatable, CustomStringConvertible {
    case percent(Int)
    case gigabytes(Int)

    public static let percentRange = 1...99
    public static let gigabytesRange = 1...Int(Int32.max)

    /// Parses `80%` or `16` (gigabytes), as VoltDB's resource monitor does. Nil for anything else.
    public init?(parsing text: String) {
        let trimmed = ConfigText.trim(text)
        if trimmed.hasSuffix("%") {
            guard let value = ConfigText.digits(trimmed.dropLast()), Self.percentRange.contains(value) else { return nil }
            self = .percent(value)
        } else {
            guard let value = ConfigText.digits(trimmed), Self.gigabytesRange.contains(value) else { return nil }
            self = .gigabytes(value)
        }
    }

    public var description: String {
        switch self {
        case .percent(let value): "\(value)%"
        case .gigabytes(let value): "\(value)"
        }
    }
}

/// Text helpers for the configuration parser, in a namespace so they cannot collide with
/// helpers elsewhere in the target.
enum ConfigText {
    /// The text without leading and trailing spaces, tabs and line breaks (XML's whitespace).
    static func trim<S: StringProtocol>(_ text: S) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    /// A non-empty run of ASCII digits, as an Int; nil if it is anything else or overflows.
    static func digits<S: StringProtocol>(_ text: S) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int(text)
    }
}
