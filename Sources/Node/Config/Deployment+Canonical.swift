// The effective deployment as canonical XML, and the configuration hash hosts compare.
//
// Canonical form: every setting written out with its effective value (defaults filled), top-level
// elements in the order of the sample deployment.xml, the children of `<paths>` and
// `<systemsettings>` and every element's attributes sorted by name, users sorted by name and
// their roles sorted, two-space indentation, `\n` line ends, a final newline, no comments.
// The same settings therefore give the same bytes whatever the original file's formatting,
// comments, attribute order or left-out defaults; reading the canonical text back gives the
// same settings with no warnings.
//
// The hash. VoltDB refuses to mesh hosts whose deployments differ: it compares an MD5 of the
// deployment file with comments stripped and `hostcount` zeroed
// (`CatalogUtil.makeDeploymentHashForConfig`). That is sensitive to whitespace and attribute
// order, so two files an operator would call equal can be refused. We hash the canonical form
// instead, with SHA-256, and leave `<paths>` out of it: paths are where this host keeps its
// files (VoltDB moves them out of the staged deployment into `config/path.properties` for the
// same reason), and two hosts with different disks must still be able to form a cluster.

extension Deployment {
    /// The effective deployment as canonical XML text. `includingPaths: false` leaves out
    /// `<paths>`, the host-local part, and is what `configHash` digests.
    public func canonicalXML(includingPaths: Bool = true) -> String {
        var out = CanonicalXMLWriter()
        out.line(0, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        out.line(0, "<deployment>")
        out.empty(1, "cluster", [("kfactor", "\(cluster.kFactor)"), ("sitesperhost", "\(cluster.sitesPerHost)")])
        if includingPaths {
            out.line(1, "<paths>")
            for (element, path) in paths.all.sorted(by: { $0.element < $1.element }) {
                out.empty(2, element, [("path", path)])
            }
            out.line(1, "</paths>")
        }
        out.empty(1, "heartbeat", [("timeout", "\(heartbeat.timeoutSeconds)")])
        out.empty(1, "partition-detection", [("enabled", "\(partitionDetection.enabled)")])
        out.open(1, "httpd", [("enabled", "\(httpd.enabled)"), ("port", "\(httpd.port)")])
        out.empty(2, "jsonapi", [("enabled", "\(httpd.jsonAPIEnabled)")])
        out.line(1, "</httpd>")
        out.empty(
            1, "snapshot",
            [
                ("enabled", "\(snapshot.enabled)"), ("frequency", snapshot.frequency.description),
                ("prefix", snapshot.prefix), ("retain", "\(snapshot.retain)"),
            ])
        out.open(
            1, "commandlog",
            [
                ("enabled", "\(commandLog.enabled)"), ("logsize", "\(commandLog.logSizeMB)"),
                ("synchronous", "\(commandLog.synchronous)"),
            ])
        out.empty(
            2, "frequency",
            [("time", "\(commandLog.frequencyTimeMillis)"), ("transactions", "\(commandLog.frequencyTransactions)")])
        out.line(1, "</commandlog>")
        let s = systemSettings
        out.line(1, "<systemsettings>")
        out.empty(2, "elastic", [("duration", "\(s.elasticDurationMillis)"), ("throughput", "\(s.elasticThroughputMBPerSecond)")])
        out.empty(2, "procedure", [("warningtimeout", "\(s.procedureWarningTimeoutMillis)")])
        out.empty(2, "query", [("timeout", "\(s.queryTimeoutMillis)")])
        out.open(2, "resourcemonitor", [("frequency", "\(s.resourceMonitorFrequencySeconds)")])
        out.empty(3, "memorylimit", [("alert", s.memoryAlert.description), ("size", s.memoryLimit.description)])
        out.line(2, "</resourcemonitor>")
        out.empty(2, "snapshot", [("priority", "\(s.snapshotPriority)")])
        out.empty(2, "temptables", [("maxsize", "\(s.tempTablesMaxSizeMB)")])
        out.line(1, "</systemsettings>")
        out.empty(1, "security", [("enabled", "\(security.enabled)"), ("provider", security.provider.rawValue)])
        if !users.isEmpty {
            out.line(1, "<users>")
            for user in users.sorted(by: { $0.name < $1.name }) {
                out.empty(
                    2, "user",
                    [
                        ("name", user.name), ("password", user.password), ("plaintext", "\(user.plaintext)"),
                        ("roles", user.roles.sorted().joined(separator: ",")),
                    ])
            }
            out.line(1, "</users>")
        }
        out.line(0, "</deployment>")
        return out.text
    }

    /// The configuration hash: SHA-256 (lowercase hex) of the canonical XML without `<paths>`.
    /// Hosts whose hashes differ must not form a cluster.
    public var configHash: String {
        SHA256.hex(Array(canonicalXML(includingPaths: false).utf8))
    }
}

/// Indented XML lines with escaped attribute values.
private struct CanonicalXMLWriter {
    var text = ""

    mutating func line(_ depth: Int, _ content: String) {
        text += String(repeating: "  ", count: depth) + content + "\n"
    }

    mutating func empty(_ depth: Int, _ name: String, _ attributes: [(String, String)]) {
        line(depth, "<" + name + Self.attributes(attributes) + "/>")
    }

    mutating func open(_ depth: Int, _ name: String, _ attributes: [(String, String)]) {
        line(depth, "<" + name + Self.attributes(attributes) + ">")
    }

    static func attributes(_ attributes: [(String, String)]) -> String {
        precondition(attributes.map(\.0) == attributes.map(\.0).sorted(), "canonical attributes must be sorted: \(attributes.map(\.0))")
        return attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    /// Escapes for a double-quoted attribute value. Tab, line feed and carriage return become
    /// character references, since a parser turns them into spaces when written literally.
    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
