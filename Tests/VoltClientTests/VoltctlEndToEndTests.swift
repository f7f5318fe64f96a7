// The built `voltctl` binary (found next to the test bundle) run as a child process against
// FakeVoltServer: what an operator sees on standard output, standard error and in the exit status.
// Each run is bounded: the child is terminated after 30 s.

import Foundation
import Testing
import VoltModel
import VoltWire

struct Run {
    var status: Int32
    var out: String
    var err: String
}

func voltctl(_ arguments: [String], stdin: String? = nil) throws -> Run {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("voltctl")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw FakeServerError(description: "voltctl not built at \(binary.path)")
    }
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let killer = DispatchWorkItem { process.terminate() }
    DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: killer)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return Run(status: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
               err: String(decoding: errData, as: UTF8.self))
}

@Suite(.serialized) struct VoltctlSQLEndToEnd {
    static func server() throws -> FakeVoltServer {
        try FakeVoltServer { invocation in
            guard invocation.procedure == "@AdHoc", case .value(.string(let sql), _) = invocation.parameters.first else {
                return Canned.failure(.unexpectedFailure, "Procedure \(invocation.procedure) was not found")
            }
            if sql.uppercased().hasPrefix("SELECT") { return Canned.success([Canned.twoColumns]) }
            return Canned.failure(.gracefulFailure, "Constraint violation: duplicate key in STORE")
        }
    }

    @Test func queryRendersFixedCsvAndTab() throws {
        let server = try Self.server()
        defer { server.stop() }
        let base = ["sql", "--servers", "127.0.0.1:\(server.port)", "--query", "SELECT * FROM T;"]
        let fixed = try voltctl(base)
        #expect(fixed.status == 0)
        #expect(fixed.err == "")
        #expect(fixed.out.hasPrefix("ID  NAME\n--  -----\n 1  alpha\n22  b, c\n\n(Returned 2 rows in "))
        let csv = try voltctl(base + ["--output-format", "csv", "--output-skip-metadata"])
        #expect(csv.out == "1,alpha\n22,\"b, c\"\n")
        let tab = try voltctl(base + ["--output-format", "tab"])
        #expect(tab.out.hasPrefix("ID\tNAME\n1\talpha\n22\tb, c\n\n(Returned 2 rows in "))
    }

    @Test func anErrorResponsePrintsItsStatusAndFails() throws {
        let server = try Self.server()
        defer { server.stop() }
        let run = try voltctl(["sql", "--port", String(server.port), "--servers", "127.0.0.1",
                               "--query", "INSERT INTO STORE VALUES ('a', X'00'); SELECT 1;"])
        #expect(run.status == 1)
        #expect(run.out == "")
        #expect(run.err == "ERROR (GRACEFUL_FAILURE): Constraint violation: duplicate key in STORE\n"
            + "voltctl: error: 1 of 1 statement failed\n")
        #expect(server.procedures == ["@AdHoc"])
    }

    @Test func stopOnErrorFalseRunsEverythingFromStandardInput() throws {
        let server = try Self.server()
        defer { server.stop() }
        let run = try voltctl(["sql", "--servers", "127.0.0.1:\(server.port)", "--stop-on-error", "false",
                               "--output-format", "csv", "--output-skip-metadata"],
                              stdin: "INSERT INTO STORE VALUES ('a', X'00');\nSELECT * FROM T;\n")
        #expect(run.status == 1)
        #expect(run.out == "1,alpha\n22,\"b, c\"\n")
        #expect(run.err.hasSuffix("voltctl: error: 1 of 2 statements failed\n"))
    }

    @Test func fileInput() throws {
        let server = try Self.server()
        defer { server.stop() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("voltctl-test-\(getpid()).sql").path
        try "-- a comment; with a semicolon\nSELECT 1".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try voltctl(["sql", "--servers", "127.0.0.1:\(server.port)", "--file", path, "--output-skip-metadata"])
        #expect(run.status == 0)
        #expect(run.out == " 1  alpha\n22  b, c\n")
        #expect(try voltctl(["sql", "--servers", "127.0.0.1:\(server.port)", "--file", path + ".missing"]).status == 1)
    }

    @Test func usageAndConnectionErrors() throws {
        let bad = try voltctl(["sql", "--output-format", "xml", "--query", "SELECT 1"])
        #expect(bad.status == 2)
        #expect(bad.err.hasPrefix("voltctl: error: --output-format must be fixed, csv or tab, got 'xml'\n"))
        #expect(try voltctl(["sql", "--servers", "h:99999", "--query", "SELECT 1"]).status == 2)
        let refused = try voltctl(["sql", "--servers", "127.0.0.1:1", "--query", "SELECT 1"])
        #expect(refused.status == 1)
        #expect(refused.err == "voltctl: error: cannot connect to 127.0.0.1:1: Connection refused\n")
    }
}

/// The first parameter of a system-procedure call, when it is a string: `OVERVIEW`, `TOPO`.
private func selector(_ invocation: Invocation) -> String? {
    if case .value(.string(let s), _)? = invocation.parameters.first { return s }
    return nil
}

@Suite(.serialized) struct VoltctlStatusAndAdminEndToEnd {
    @Test func statusBuildsItsTablesFromTheSystemProcedures() throws {
        let server = try FakeVoltServer { invocation in
            switch (invocation.procedure, selector(invocation)) {
            case ("@SystemInformation", "OVERVIEW"): return Canned.success([Canned.overview])
            case ("@Statistics", "TOPO"): return Canned.success([Canned.topology])
            case ("@Statistics", "TABLE"): return Canned.success([Canned.tableStatistics])
            case ("@SystemCatalog", "TABLES"): return Canned.success([Canned.catalogTables])
            case ("@SystemCatalog", "COLUMNS"): return Canned.failure(.gracefulFailure, "not yet")
            default: return Canned.failure(.unexpectedFailure, "unexpected")
            }
        }
        defer { server.stop() }
        let run = try voltctl(["status", "--servers", "127.0.0.1:\(server.port)"])
        #expect(run.status == 0)
        #expect(run.out.hasPrefix("Cluster RUNNING: 2 live hosts, 0 missing, 2 partitions, 3 tables\n"))
        #expect(run.out.contains("STORE      KEY              100           2\n"))
        #expect(run.out.hasSuffix("warning: @SystemCatalog COLUMNS failed: ERROR (GRACEFUL_FAILURE): not yet\n"))
        let json = try voltctl(["status", "--servers", "127.0.0.1:\(server.port)", "--json"])
        #expect(json.status == 0)
        #expect(json.out.hasPrefix("{\n  \"cluster\": {\n    \"state\": \"RUNNING\""))
    }

    @Test func statusShowsARebalanceInProgress() throws {
        let server = try FakeVoltServer { invocation in
            switch (invocation.procedure, selector(invocation)) {
            case ("@SystemInformation", "OVERVIEW"): return Canned.success([Canned.overview])
            case ("@Statistics", "REBALANCE"): return Canned.success([Canned.rebalance])
            default: return Canned.failure(.gracefulFailure, "not here")
            }
        }
        defer { server.stop() }
        let run = try voltctl(["status", "--servers", "127.0.0.1:\(server.port)"])
        #expect(run.status == 0)
        #expect(run.out.hasPrefix("""
            Cluster RUNNING: 2 live hosts, 0 missing, 0 partitions, 0 tables
            Cluster Expanding, progress: 42.17% completed
            [###############----------------------] 1.50 MB/s  9.9K rows/s  ETA 2:52


            """))
        let json = try voltctl(["status", "--servers", "127.0.0.1:\(server.port)", "--json"])
        #expect(json.out.contains("\"rebalance\": {\n    \"operation\": \"expanding\",\n    \"timestamp\": 1700000000000,"))
    }

    @Test func statusWithoutAnOverviewFails() throws {
        let server = try FakeVoltServer { _ in Canned.failure(.unexpectedFailure, "Procedure was not found") }
        defer { server.stop() }
        let run = try voltctl(["status", "--servers", "127.0.0.1:\(server.port)"])
        #expect(run.status == 1)
        #expect(run.err == "voltctl: error: @SystemInformation OVERVIEW failed: ERROR (UNEXPECTED_FAILURE): Procedure was not found\n")
    }

    @Test func pauseResumeAndShutdown() throws {
        let server = try FakeVoltServer { invocation in
            switch invocation.procedure {
            case "@Pause": return Canned.success()
            case "@Resume": return Canned.failure(.gracefulFailure, "not paused")
            case "@Shutdown": return nil
            default: return Canned.failure(.unexpectedFailure, "unexpected")
            }
        }
        defer { server.stop() }
        let at = ["--servers", "127.0.0.1", "--admin-port", String(server.port)]
        let pause = try voltctl(["pause"] + at)
        #expect(pause.status == 0)
        #expect(pause.out == "Cluster paused: client connections are refused new work until 'voltctl resume'.\n")
        let resume = try voltctl(["resume"] + at)
        #expect(resume.status == 1)
        #expect(resume.err == "voltctl: error: @Resume failed: ERROR (GRACEFUL_FAILURE): not paused\n")
        let shutdown = try voltctl(["shutdown"] + at)
        #expect(shutdown.status == 0)
        #expect(shutdown.out == "Shutdown requested: the cluster is stopping.\n")
        #expect(server.procedures == ["@Pause", "@Resume", "@Shutdown"])
    }
}

@Suite(.serialized) struct VoltctlBenchEndToEnd {
    @Test func benchOverTheWirePrintsTheEmbeddedShape() throws {
        let kv = FakeKV()
        let server = try FakeVoltServer { kv.answer($0) }
        defer { server.stop() }
        let run = try voltctl(["bench", "kv", "--servers", "127.0.0.1:\(server.port)", "--keys", "200", "--duration", "0.3",
                               "--warmup", "0.1", "--connections", "2", "--max-in-flight", "16", "--json"])
        #expect(run.status == 0, "\(run.err)")
        let document = try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any]
        #expect(document?["target"] as? String == "servers")
        let result = document?["result"] as? [String: Any]
        #expect((result?["ops"] as? Int ?? 0) > 0)
        #expect(result?["rows"] as? Int == 200)
        #expect(result?["sites"] as? Int == 8)
        // The fake server reports no topology: nothing to follow, and the count says so, last.
        #expect(result?["topologyUpdates"] as? Int == 0)
        #expect(run.out.contains("\"topologyUpdates\": 0\n  }\n}"))
        #expect(run.out.contains("\"options\": {\n    \"keys\": 200,"))
        #expect(run.err.contains("voltctl bench: loading 200 keys of 100 bytes over 2 connections"))
    }

    @Test func benchOptionsAreChecked() throws {
        let zero = try voltctl(["bench", "kv", "--servers", "127.0.0.1:1", "--max-in-flight", "0"])
        #expect(zero.status == 2)
        #expect(zero.err.hasPrefix("voltctl: error: --max-in-flight must be between 1 and 1000000, got '0'\n"))
        let rate = try voltctl(["bench", "kv", "--servers", "127.0.0.1:1", "--rate", "-5"])
        #expect(rate.status == 2)
        #expect(rate.err.hasPrefix("voltctl: error: --rate must be greater than 0, got '-5'"))
        let both = try voltctl(["bench", "kv", "--servers", "127.0.0.1:1", "--embedded"])
        #expect(both.status == 2)
        let badServer = try voltctl(["bench", "kv", "--servers", "127.0.0.1:x"])
        #expect(badServer.status == 2)
        let refused = try voltctl(["bench", "kv", "--servers", "127.0.0.1:1", "--timeout", "1000"])
        #expect(refused.status == 1)
        #expect(refused.err == "voltctl: error: cannot connect to 127.0.0.1:1: Connection refused\n")
    }
}
