// Reading deployment.xml: XML text → element tree (XMLTree) → `Deployment` plus warnings.
//
// Each element is read by one function that names the attributes and children it knows. What
// it does not know is reported, never silently dropped:
// - a child or attribute that VoltDB's schema has but this server does not implement → an
//   "is not supported" warning (the file came from a VoltDB cluster and is otherwise usable);
// - a VoltDB setting this server reads and deliberately ignores (`hostcount`, `<voltdbroot>`) →
//   an "ignored: <reason>" warning;
// - anything else → an "unknown element/attribute" warning with its path.
// Values are checked against the XSD's types and ranges; the first bad one is an error that
// names it. An element that the schema allows once and appears twice is an error, since which
// copy wins would be a guess. Warnings come out in document order (by line), attributes by name.
//
// Cross-element checks, after every element is read: security enabled needs a user in the
// administrator role (VoltDB's `CatalogUtil.validateDeployment`); user names are unique; managed
// paths are distinct and do not use the names the root directory reserves (`config`, `log`).

import Foundation

/// A deployment file read and checked: the settings and what was ignored on the way.
public struct ParsedDeployment: Sendable, Equatable {
    public var deployment: Deployment
    public var warnings: [DeploymentWarning]

    public init(deployment: Deployment, warnings: [DeploymentWarning]) {
        self.deployment = deployment
        self.warnings = warnings
    }
}

extension Deployment {
    /// Reads deployment.xml from text. `file` names the source in messages.
    public static func parse(_ text: String, file: String = "deployment.xml") throws(DeploymentError)
        -> ParsedDeployment
    {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Reads deployment.xml from its bytes. `file` names the source in messages.
    public static func parse(bytes: [UInt8], file: String = "deployment.xml") throws(DeploymentError)
        -> ParsedDeployment
    {
        let root: XMLTreeNode?
        do {
            root = try XMLTree.parse(bytes)
        } catch {
            throw DeploymentError(
                file: file, problem: .malformedXML(line: error.line, column: error.column, reason: error.reason),
                line: error.line)
        }
        guard let root else { throw DeploymentError(file: file, problem: .wrongRootElement(found: nil)) }
        guard root.name == "deployment" else {
            throw DeploymentError(file: file, problem: .wrongRootElement(found: root.name), line: root.line)
        }
        var reader = DeploymentReader(file: file)
        let deployment = try reader.readDeployment(root)
        // Elements are read by meaning, not in file order; report in file order. Warnings on one
        // line keep the order they were found in (attributes before children).
        let warnings = reader.warnings.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
        return ParsedDeployment(deployment: deployment, warnings: warnings)
    }

    /// Reads the deployment file at `path`; messages name it by its last path component.
    public static func load(contentsOf path: String) throws(DeploymentError) -> ParsedDeployment {
        let file = URL(fileURLWithPath: path).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a regular file" : "no such file"
            throw DeploymentError(file: path, problem: .unreadable(reason: reason))
        }
        return try parse(bytes: [UInt8](data), file: file)
    }
}

/// The element-by-element reader. Collects warnings; throws on the first error.
struct DeploymentReader {
    let file: String
    var warnings: [DeploymentWarning] = []

    /// Children of `<deployment>` that VoltDB has and this server does not implement.
    static let unsupportedTopLevel: Set<String> = [
        "ssl", "export", "import", "dr", "consistency", "snmp", "avro", "topics", "threadpools", "task", "metrics",
    ]

    init(file: String) { self.file = file }

    // MARK: Elements

    mutating func readDeployment(_ root: XMLTreeNode) throws(DeploymentError) -> Deployment {
        // Namespace declarations and schema hints (`xmlns:xsi`, `xsi:noNamespaceSchemaLocation`)
        // are legitimate on the root of a VoltDB file; anything else there is unknown.
        for attribute in root.attributes where !(attribute.name.hasPrefix("xmlns") || attribute.name.hasPrefix("xsi:")) {
            warn(.unknownAttribute(path: [], attribute: attribute.name), root)
        }
        let children = try self.children(
            of: root, path: [],
            known: [
                "cluster", "paths", "heartbeat", "partition-detection", "httpd", "snapshot", "commandlog",
                "systemsettings", "security", "users",
            ],
            unsupported: Self.unsupportedTopLevel)

        var deployment = Deployment()
        if let node = children["cluster"] { deployment.cluster = try readCluster(node) }
        if let node = children["paths"] { deployment.paths = try readPaths(node) }
        if let node = children["heartbeat"] {
            let path = ["heartbeat"]
            attributes(of: node, path: path, known: ["timeout"])
            deployment.heartbeat.timeoutSeconds = try int(
                node, path, "timeout", Deployment.Heartbeat.timeoutSecondsRange, default: 90)
        }
        if let node = children["partition-detection"] {
            let path = ["partition-detection"]
            attributes(of: node, path: path, known: ["enabled"])
            // VoltDB ≤ 6.3 had a `<snapshot prefix>` child here; that snapshot no longer exists.
            _ = try self.children(of: node, path: path, known: [], unsupported: ["snapshot"])
            deployment.partitionDetection.enabled = try bool(node, path, "enabled", default: true)
        }
        if let node = children["httpd"] { deployment.httpd = try readHTTPD(node) }
        if let node = children["snapshot"] { deployment.snapshot = try readSnapshot(node) }
        if let node = children["commandlog"] { deployment.commandLog = try readCommandLog(node) }
        if let node = children["systemsettings"] { deployment.systemSettings = try readSystemSettings(node) }
        if let node = children["security"] {
            let path = ["security"]
            attributes(of: node, path: path, known: ["enabled", "provider"])
            deployment.security.enabled = try bool(node, path, "enabled", default: false)
            let provider = node.attribute("provider") ?? "hash"
            guard let value = Deployment.SecurityProvider(rawValue: ConfigText.trim(provider)) else {
                throw invalid(node, path, "provider", provider, "hash (kerberos is not supported by this server)")
            }
            deployment.security.provider = value
        }
        if let node = children["users"] { deployment.users = try readUsers(node) }

        try checkSecurity(deployment, usersLine: children["users"]?.line ?? children["security"]?.line)
        try checkPaths(deployment.paths, line: children["paths"]?.line)
        return deployment
    }

    mutating func readCluster(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.Cluster {
        let path = ["cluster"]
        attributes(of: node, path: path, known: ["sitesperhost", "kfactor", "hostcount", "id", "elastic", "schema"])
        _ = try children(of: node, path: path, known: [])
        var cluster = Deployment.Cluster()
        cluster.sitesPerHost = try int(node, path, "sitesperhost", Deployment.Cluster.sitesPerHostRange, default: 8)
        cluster.kFactor = try int(node, path, "kfactor", Deployment.Cluster.kFactorRange, default: 0)
        if let value = node.attribute("hostcount") {
            warn(
                .ignored(
                    path: path, attribute: "hostcount", value: value,
                    reason: "the number of hosts comes from voltctl start (--count), not from the deployment file"),
                node)
        }
        if let value = node.attribute("id") {
            warn(.ignored(path: path, attribute: "id", value: value, reason: "the DR cluster id is for database replication, which this server does not support"), node)
        }
        if let value = node.attribute("elastic") {
            warn(.ignored(path: path, attribute: "elastic", value: value, reason: "elasticity is always on"), node)
        }
        if let value = node.attribute("schema"), ConfigText.trim(value) != "ddl" {
            throw invalid(node, path, "schema", value, "ddl (the legacy catalog mode is not supported)")
        }
        return cluster
    }

    mutating func readPaths(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.Paths {
        let path = ["paths"]
        attributes(of: node, path: path, known: [])
        let names = Deployment.Paths().all.map(\.element)
        let children = try self.children(
            of: node, path: path, known: Set(names + ["voltdbroot"]), unsupported: ["topicsdata"])
        if let root = children["voltdbroot"] {
            attributes(of: root, path: path + ["voltdbroot"], known: ["path"])
            warn(
                .ignored(
                    path: path + ["voltdbroot"], attribute: nil, value: nil,
                    reason: "the root directory is always the one given to voltctl init --dir"),
                root)
        }
        var paths = Deployment.Paths()
        for name in names {
            guard let child = children[name] else { continue }
            let childPath = path + [name]
            attributes(of: child, path: childPath, known: ["path"])
            _ = try self.children(of: child, path: childPath, known: [])
            guard let raw = child.attribute("path") else { continue }
            let value = ConfigText.trim(raw)
            guard !value.isEmpty, !value.contains("\0") else {
                throw invalid(child, childPath, "path", raw, "a directory path, absolute or relative to the root directory")
            }
            switch name {
            case "snapshots": paths.snapshots = value
            case "commandlog": paths.commandLog = value
            case "commandlogsnapshot": paths.commandLogSnapshot = value
            case "exportoverflow": paths.exportOverflow = value
            case "exportcursor": paths.exportCursor = value
            case "droverflow": paths.drOverflow = value
            case "largequeryswap": paths.largeQuerySwap = value
            default: preconditionFailure("paths element \(name) has no field")
            }
        }
        return paths
    }

    mutating func readHTTPD(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.HTTPD {
        let path = ["httpd"]
        attributes(of: node, path: path, known: ["enabled", "port"])
        let children = try self.children(of: node, path: path, known: ["jsonapi"])
        var httpd = Deployment.HTTPD()
        httpd.enabled = try bool(node, path, "enabled", default: true)
        httpd.port = try int(node, path, "port", Deployment.HTTPD.portRange, default: 8080)
        if let json = children["jsonapi"] {
            let jsonPath = path + ["jsonapi"]
            attributes(of: json, path: jsonPath, known: ["enabled"])
            _ = try self.children(of: json, path: jsonPath, known: [])
            httpd.jsonAPIEnabled = try bool(json, jsonPath, "enabled", default: true)
        }
        return httpd
    }

    mutating func readSnapshot(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.Snapshot {
        let path = ["snapshot"]
        attributes(of: node, path: path, known: ["enabled", "frequency", "retain", "prefix"])
        _ = try children(of: node, path: path, known: [])
        var snapshot = Deployment.Snapshot()
        snapshot.enabled = try bool(node, path, "enabled", default: true)
        if let raw = node.attribute("frequency") {
            guard let frequency = SnapshotFrequency(parsing: raw) else {
                throw invalid(
                    node, path, "frequency", raw,
                    "a whole number from 1 to 2147483647 followed by s, m or h (for example 30s, 10m, 24h)")
            }
            snapshot.frequency = frequency
        }
        snapshot.retain = try int(node, path, "retain", Deployment.Snapshot.retainRange, default: 2)
        if let raw = node.attribute("prefix") {
            let prefix = ConfigText.trim(raw)
            let forbidden: Set<Character> = ["-", ",", "/", "\\", " ", "\t", "\n", "\r"]
            guard !prefix.isEmpty, !prefix.contains(where: { forbidden.contains($0) }) else {
                throw invalid(node, path, "prefix", raw, "a non-empty name without '-', ',', '/', '\\' or spaces")
            }
            snapshot.prefix = prefix
        }
        return snapshot
    }

    mutating func readCommandLog(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.CommandLog {
        let path = ["commandlog"]
        attributes(of: node, path: path, known: ["enabled", "synchronous", "logsize"])
        let children = try self.children(of: node, path: path, known: ["frequency"])
        var log = Deployment.CommandLog()
        log.enabled = try bool(node, path, "enabled", default: true)
        log.synchronous = try bool(node, path, "synchronous", default: false)
        log.logSizeMB = try int(node, path, "logsize", Deployment.CommandLog.logSizeMBRange, default: 1024)
        if let frequency = children["frequency"] {
            let frequencyPath = path + ["frequency"]
            attributes(of: frequency, path: frequencyPath, known: ["time", "transactions"])
            _ = try self.children(of: frequency, path: frequencyPath, known: [])
            log.frequencyTimeMillis = try int(
                frequency, frequencyPath, "time", Deployment.CommandLog.frequencyTimeMillisRange, default: 200)
            log.frequencyTransactions = try int(
                frequency, frequencyPath, "transactions", Deployment.CommandLog.frequencyTransactionsRange,
                default: Int(Int32.max))
        }
        return log
    }

    mutating func readSystemSettings(_ node: XMLTreeNode) throws(DeploymentError) -> Deployment.SystemSettings {
        typealias S = Deployment.SystemSettings
        let path = ["systemsettings"]
        attributes(of: node, path: path, known: [])
        let children = try self.children(
            of: node, path: path,
            known: ["elastic", "query", "procedure", "temptables", "snapshot", "resourcemonitor"],
            unsupported: ["flushinterval", "clockskew", "priorities", "compaction"])
        var settings = S()
        if let child = children["elastic"] {
            let childPath = path + ["elastic"]
            try leaf(child, childPath, attributes: ["duration", "throughput"])
            settings.elasticDurationMillis = try int(child, childPath, "duration", S.elasticDurationMillisRange, default: 50)
            settings.elasticThroughputMBPerSecond = try int(
                child, childPath, "throughput", S.elasticThroughputMBPerSecondRange, default: 2)
        }
        if let child = children["query"] {
            let childPath = path + ["query"]
            try leaf(child, childPath, attributes: ["timeout"])
            settings.queryTimeoutMillis = try int(child, childPath, "timeout", S.queryTimeoutMillisRange, default: 10_000)
        }
        if let child = children["procedure"] {
            let childPath = path + ["procedure"]
            try leaf(child, childPath, attributes: ["warningtimeout"])
            settings.procedureWarningTimeoutMillis = try int(
                child, childPath, "warningtimeout", S.procedureWarningTimeoutMillisRange, default: 10_000)
        }
        if let child = children["temptables"] {
            let childPath = path + ["temptables"]
            try leaf(child, childPath, attributes: ["maxsize"])
            settings.tempTablesMaxSizeMB = try int(child, childPath, "maxsize", S.tempTablesMaxSizeMBRange, default: 100)
        }
        if let child = children["snapshot"] {
            let childPath = path + ["snapshot"]
            try leaf(child, childPath, attributes: ["priority"])
            settings.snapshotPriority = try int(child, childPath, "priority", S.snapshotPriorityRange, default: 6)
        }
        if let monitor = children["resourcemonitor"] {
            let monitorPath = path + ["resourcemonitor"]
            attributes(of: monitor, path: monitorPath, known: ["frequency"])
            let monitorChildren = try self.children(
                of: monitor, path: monitorPath, known: ["memorylimit"], unsupported: ["disklimit"])
            settings.resourceMonitorFrequencySeconds = try int(
                monitor, monitorPath, "frequency", S.resourceMonitorFrequencySecondsRange, default: 60)
            if let memory = monitorChildren["memorylimit"] {
                let memoryPath = monitorPath + ["memorylimit"]
                try leaf(memory, memoryPath, attributes: ["size", "alert"])
                settings.memoryLimit = try memoryLimit(memory, memoryPath, "size", default: .percent(80))
                settings.memoryAlert = try memoryLimit(memory, memoryPath, "alert", default: .percent(70))
            }
        }
        return settings
    }

    mutating func readUsers(_ node: XMLTreeNode) throws(DeploymentError) -> [Deployment.User] {
        let path = ["users"]
        attributes(of: node, path: path, known: [])
        let userNodes = try children(of: node, path: path, known: [], repeated: ["user"])["user", default: []]
        var users: [Deployment.User] = []
        for userNode in userNodes {
            let userPath = path + ["user"]
            try leaf(userNode, userPath, attributes: ["name", "password", "roles", "plaintext"])
            guard let rawName = userNode.attribute("name") else {
                throw DeploymentError(file: file, problem: .missingAttribute(path: userPath, attribute: "name"), line: userNode.line)
            }
            let name = ConfigText.trim(rawName)
            guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
                throw invalid(userNode, userPath, "name", rawName, "a non-empty name without spaces")
            }
            guard let password = userNode.attribute("password") else {
                throw DeploymentError(
                    file: file, problem: .missingAttribute(path: userPath, attribute: "password"), line: userNode.line)
            }
            var roles: [String] = []
            if let rawRoles = userNode.attribute("roles") {
                for piece in rawRoles.split(separator: ",", omittingEmptySubsequences: false) {
                    let role = ConfigText.trim(piece).lowercased()
                    if role.isEmpty { continue }
                    guard !role.contains(where: \.isWhitespace) else {
                        throw invalid(userNode, userPath, "roles", rawRoles, "a comma-separated list of role names without spaces")
                    }
                    if !roles.contains(role) { roles.append(role) }
                }
            }
            let plaintext = try bool(userNode, userPath, "plaintext", default: true)
            if users.contains(where: { $0.name == name }) {
                throw DeploymentError(file: file, problem: .duplicateUser(name: name), line: userNode.line)
            }
            users.append(Deployment.User(name: name, password: password, roles: roles, plaintext: plaintext))
        }
        return users
    }

    // MARK: Cross-element checks

    func checkSecurity(_ deployment: Deployment, usersLine: Int?) throws(DeploymentError) {
        guard deployment.security.enabled else { return }
        guard !deployment.users.isEmpty else {
            throw DeploymentError(file: file, problem: .securityWithoutUsers, line: usersLine)
        }
        guard deployment.users.contains(where: { $0.roles.contains("administrator") }) else {
            throw DeploymentError(file: file, problem: .securityWithoutAdministrator, line: usersLine)
        }
    }

    /// Relative paths the root directory keeps for itself (VoltDB reserves `config` and `log`).
    static let reservedRelativePaths: Set<String> = ["", ".", "config", "log"]

    func checkPaths(_ paths: Deployment.Paths, line: Int?) throws(DeploymentError) {
        var seen: [String: String] = [:]
        for (element, raw) in paths.all {
            let normal = Self.normalize(path: raw)
            if !normal.hasPrefix("/") {
                let first = String(normal.split(separator: "/").first ?? "")
                if Self.reservedRelativePaths.contains(normal) || Self.reservedRelativePaths.contains(first) {
                    throw DeploymentError(file: file, problem: .reservedPath(element: element, path: raw), line: line)
                }
            }
            if let other = seen[normal] {
                throw DeploymentError(file: file, problem: .duplicatePath(first: other, second: element, path: raw), line: line)
            }
            seen[normal] = element
        }
    }

    /// The path without `./` components, repeated slashes and a trailing slash, so that
    /// `snapshots/`, `./snapshots` and `snapshots` compare equal.
    static func normalize(path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/").filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    // MARK: Helpers

    mutating func warn(_ kind: DeploymentWarning.Kind, _ node: XMLTreeNode) {
        warnings.append(DeploymentWarning(file: file, kind: kind, line: node.line))
    }

    func invalid(_ node: XMLTreeNode, _ path: ElementPath, _ attribute: String, _ value: String, _ allowed: String)
        -> DeploymentError
    {
        DeploymentError(
            file: file, problem: .invalidValue(path: path, attribute: attribute, value: value, allowed: allowed),
            line: node.line)
    }

    /// Warns about attributes not in `known`.
    mutating func attributes(of node: XMLTreeNode, path: ElementPath, known: Set<String>) {
        for attribute in node.attributes where !known.contains(attribute.name) {
            warn(.unknownAttribute(path: path, attribute: attribute.name), node)
        }
    }

    /// An element with attributes only: checks both.
    mutating func leaf(_ node: XMLTreeNode, _ path: ElementPath, attributes known: Set<String>) throws(DeploymentError) {
        attributes(of: node, path: path, known: known)
        _ = try children(of: node, path: path, known: [])
    }

    /// The known children that may appear once, by name; warns about the others and about text.
    mutating func children(
        of node: XMLTreeNode, path: ElementPath, known: Set<String>, unsupported: Set<String> = []
    ) throws(DeploymentError) -> [String: XMLTreeNode] {
        var found: [String: XMLTreeNode] = [:]
        for (name, nodes) in try children(of: node, path: path, known: known, repeated: [], unsupported: unsupported) {
            found[name] = nodes.first
        }
        return found
    }

    mutating func children(
        of node: XMLTreeNode, path: ElementPath, known: Set<String>, repeated: Set<String>,
        unsupported: Set<String> = []
    ) throws(DeploymentError) -> [String: [XMLTreeNode]] {
        if !ConfigText.trim(node.text).isEmpty {
            warn(.unexpectedText(path: path), node)
        }
        var found: [String: [XMLTreeNode]] = [:]
        for child in node.children {
            let childPath = path + [child.name]
            if known.contains(child.name) {
                if found[child.name] != nil {
                    throw DeploymentError(file: file, problem: .duplicateElement(path: childPath), line: child.line)
                }
                found[child.name] = [child]
            } else if repeated.contains(child.name) {
                found[child.name, default: []].append(child)
            } else if unsupported.contains(child.name) {
                warn(.unsupportedElement(path: childPath), child)
            } else {
                warn(.unknownElement(path: childPath), child)
            }
        }
        return found
    }

    /// An `xs:int` attribute within `range`, or `value` when absent.
    func int(
        _ node: XMLTreeNode, _ path: ElementPath, _ attribute: String, _ range: ClosedRange<Int>, default value: Int
    ) throws(DeploymentError) -> Int {
        guard let raw = node.attribute(attribute) else { return value }
        guard let parsed = Int(ConfigText.trim(raw)), range.contains(parsed) else {
            throw invalid(node, path, attribute, raw, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    /// An `xs:boolean` attribute (`true`, `false`, `1`, `0`), or `value` when absent.
    func bool(_ node: XMLTreeNode, _ path: ElementPath, _ attribute: String, default value: Bool) throws(DeploymentError)
        -> Bool
    {
        guard let raw = node.attribute(attribute) else { return value }
        switch ConfigText.trim(raw) {
        case "true", "1": return true
        case "false", "0": return false
        default: throw invalid(node, path, attribute, raw, "true or false")
        }
    }

    func memoryLimit(_ node: XMLTreeNode, _ path: ElementPath, _ attribute: String, default value: MemoryLimit)
        throws(DeploymentError) -> MemoryLimit
    {
        guard let raw = node.attribute(attribute) else { return value }
        guard let parsed = MemoryLimit(parsing: raw) else {
            throw invalid(node, path, attribute, raw, "a percentage from 1% to 99%, or a whole number of gigabytes")
        }
        return parsed
    }
}

extension XMLTreeNode {
    func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }
}
