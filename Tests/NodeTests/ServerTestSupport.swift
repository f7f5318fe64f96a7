// Helpers for the server tests: a host on 127.0.0.1 with kernel-chosen ports in a fresh root
// directory, stopped by `withHost` whatever the test body does, and small readers for result
// tables. Every wait is bounded (client calls time out; waits poll with a deadline).
import Foundation
import Node
import Testing
import VoltModel
import VoltWire

struct ServerTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let serverSchema = """
    CREATE TABLE KV (K VARCHAR(64) NOT NULL, V VARBINARY(1024), PRIMARY KEY (K));
    PARTITION TABLE KV ON COLUMN K;
    CREATE TABLE ITEMS (ID BIGINT NOT NULL, NAME VARCHAR(32), QTY INTEGER, PRIMARY KEY (ID));
    PARTITION TABLE ITEMS ON COLUMN ID;
    CREATE TABLE REGION (CODE INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(32));
    CREATE INDEX ITEMS_BY_NAME ON ITEMS (NAME);
    CREATE PROCEDURE GET_V PARTITION ON TABLE KV COLUMN K AS SELECT V FROM KV WHERE K = ?;
    CREATE PROCEDURE COUNT_ITEMS AS SELECT COUNT(*) FROM ITEMS;
    """

/// A fresh temporary directory path (not created).
func serverTempPath(_ name: String) -> String {
    NSTemporaryDirectory() + "server-tests-\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max))"
}

/// Initializes a root directory with an optional deployment and schema, starts a host on
/// 127.0.0.1:0 (client and admin), runs `body`, and always stops the host and removes the root.
func withHost(deploymentXML: String? = nil, schema: String? = nil, sitesPerHost: Int = 3, paused: Bool = false,
              maxInFlight: Int = 10_000,
              _ body: (Node.Host) throws -> Void) throws {
    let dir = serverTempPath("root")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let xml = deploymentXML ?? "<deployment><cluster sitesperhost=\"\(sitesPerHost)\" kfactor=\"0\"/></deployment>"
    let configFile = dir + ".deployment.xml"
    try xml.write(toFile: configFile, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: configFile) }
    var schemaFiles: [String] = []
    if let schema {
        let file = dir + ".schema.sql"
        try schema.write(toFile: file, atomically: true, encoding: .utf8)
        schemaFiles.append(file)
    }
    defer { for f in schemaFiles { try? FileManager.default.removeItem(atPath: f) } }
    let root = try RootDirectory.initialize(dir: dir, config: configFile, schemaFiles: schemaFiles).root
    let host = Node.Host(root: root, options: HostOptions(bindAddress: "127.0.0.1", clientPort: 0, adminPort: 0, paused: paused,
                                                     maxInFlightPerConnection: maxInFlight, drainTimeoutMillis: 2_000))
    try host.start()
    defer { host.stop() }
    try body(host)
}

extension Node.Host {
    func client(admin: Bool = false, user: String = "", password: String = "") throws -> VoltClientConnection {
        guard let port = admin ? adminPort : clientPort else { throw ServerTestError("host not running") }
        return try VoltClientConnection(host: "127.0.0.1", port: port, username: user, password: password, timeoutMillis: 15_000)
    }
}

extension ClientResponse {
    /// Fails the test with the status string unless the call succeeded.
    @discardableResult
    func expectSuccess(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> ClientResponse {
        #expect(status == .success, "\(what): \(statusString ?? "no status string")", sourceLocation: sourceLocation)
        return self
    }
}

extension ResultTable {
    var columnNames: [String] { columns.map(\.name) }
    func column(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
    func values(_ name: String) -> [Value] {
        guard let i = column(name) else { return [] }
        return rows.map { $0[i] }
    }
    func strings(_ name: String) -> [String] {
        values(name).map { if case .string(let s) = $0 { s } else { "\($0)" } }
    }
}

/// Polls `condition` every 10 ms until it holds or `timeoutMillis` passes.
func serverWaitUntil(_ what: String, timeoutMillis: Int = 10_000, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(Double(timeoutMillis) / 1000)
    while Date() < deadline {
        if try condition() { return }
        usleep(10_000)
    }
    throw ServerTestError("timed out after \(timeoutMillis) ms waiting for \(what)")
}
