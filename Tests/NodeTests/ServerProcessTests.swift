// The built `voltctl` binary as an operator runs it: `init`, then `start` as a child process on
// kernel-chosen ports, waiting (bounded) for "Server completed initialization.", a call over the
// wire, SIGTERM, and a clean exit with status 0; then the same with --background. The binary is
// found next to the test bundle in the build directory.
import Foundation
import Glibc
import Synchronization
import Node
import Testing
import VoltModel
import VoltWire

private func voltctlPath() throws -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("voltctl").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw ServerTestError("voltctl not found near \(CommandLine.arguments[0]); build with --build-tests first")
}

/// Runs voltctl to completion (bounded) and returns its status and output.
private func runVoltctl(_ arguments: [String], timeoutSeconds: Double = 120) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try voltctlPath())
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ServerTestError("voltctl \(arguments.joined(separator: " ")) did not finish in \(timeoutSeconds) s")
    }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (process.terminationStatus, output)
}

private func processExists(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

extension ServerTests {
    @Test("voltctl init, start in the foreground, a call, SIGTERM, clean exit")
    func foregroundProcess() throws {
        let dir = serverTempPath("proc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let schema = dir + ".sql"
        try serverSchema.write(toFile: schema, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: schema) }
        let initialized = try runVoltctl(["init", "--dir", dir, "--schema", schema])
        #expect(initialized.status == 0, "\(initialized.output)")
        #expect(initialized.output.contains("Initialized root directory"))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try voltctlPath())
        process.arguments = ["start", "--dir", dir, "--client", "127.0.0.1:0", "--admin", "127.0.0.1:0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        // Read standard output on another thread until the ready line, bounded by the wait below.
        let collected = OutputCollector()
        let reader = out.fileHandleForReading
        let thread = Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                collected.append(data)
            }
        }
        thread.start()
        try serverWaitUntil("Server completed initialization.", timeoutMillis: 60_000) {
            collected.text.contains("Server completed initialization.") || !process.isRunning
        }
        #expect(process.isRunning, "voltctl start exited early: \(collected.text)")
        let portLine = collected.text.split(separator: "\n").first { $0.hasPrefix("Listening on client port") } ?? ""
        let words = portLine.split(separator: " ")
        let port = Int(words.count > 4 ? words[4] : "") ?? 0
        #expect(port > 0, "no port in: \(collected.text)")

        let client = try VoltClientConnection(host: "127.0.0.1", port: port, timeoutMillis: 10_000)
        try client.call("@Ping").expectSuccess("@Ping")
        try client.call("KV.insert", [.string("proc"), .varbinary([1])]).expectSuccess("KV.insert")
        client.close()

        kill(process.processIdentifier, SIGTERM)
        try serverWaitUntil("voltctl start to exit after SIGTERM", timeoutMillis: 30_000) { !process.isRunning }
        #expect(process.terminationStatus == 0)
        let log = (try? String(contentsOfFile: dir + "/log/host.log", encoding: .utf8)) ?? ""
        #expect(log.contains("Received SIGTERM"))
        #expect(log.contains("Server shut down cleanly"))
    }

    @Test("voltctl start --background prints the pid once ready; SIGTERM stops it")
    func backgroundProcess() throws {
        let dir = serverTempPath("bg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try runVoltctl(["init", "--dir", dir]).status == 0)
        let started = try runVoltctl(["start", "--dir", dir, "--client", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--background"])
        #expect(started.status == 0, "\(started.output)")
        #expect(started.output.contains("Server completed initialization."))
        let pidText = started.output.components(separatedBy: "pid ").dropFirst().first?.prefix { $0.isNumber } ?? ""
        let pid = pid_t(String(pidText)) ?? 0
        #expect(pid > 0, "no pid in: \(started.output)")
        guard pid > 0 else { return }
        defer { if processExists(pid) { kill(pid, SIGKILL) } }
        let console = (try? String(contentsOfFile: dir + "/log/console.log", encoding: .utf8)) ?? ""
        let portLine = console.split(separator: "\n").first { $0.hasPrefix("Listening on client port") } ?? ""
        let words = portLine.split(separator: " ")
        let port = Int(words.count > 4 ? words[4] : "") ?? 0
        let client = try VoltClientConnection(host: "127.0.0.1", port: port, timeoutMillis: 10_000)
        try client.call("@Ping").expectSuccess("@Ping")
        client.close()
        kill(pid, SIGTERM)
        // The server is not our child (it was started by voltctl in a new session), so poll for it.
        try serverWaitUntil("the background server to exit", timeoutMillis: 30_000) {
            !processExists(pid) || ((try? String(contentsOfFile: dir + "/log/host.log", encoding: .utf8))?.contains("Server shut down cleanly") ?? false)
        }
        #expect(try String(contentsOfFile: dir + "/log/host.log", encoding: .utf8).contains("Server shut down cleanly"))
    }

    @Test("voltctl start refuses bad cluster options with a clear error")
    func badClusterOptionsRefused() throws {
        let dir = serverTempPath("multi")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try runVoltctl(["init", "--dir", dir]).status == 0)
        let cases: [([String], String)] = [
            (["--count", "3"], "--count 3 needs --host"),
            (["--add"], "--add needs --host"),
            (["--host", "127.0.0.1:3021,127.0.0.1:99999", "--count", "2"], "--host"),
        ]
        for (extra, message) in cases {
            let r = try runVoltctl(["start", "--dir", dir] + extra)
            #expect(r.status != 0, "\(extra)")
            #expect(r.output.contains(message), "\(r.output)")
        }
    }
}

/// Bytes from a pipe, appended by a reader thread and read by the test.
private final class OutputCollector: Sendable {
    private let data = Mutex(Data())
    func append(_ d: Data) { data.withLock { $0.append(d) } }
    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
