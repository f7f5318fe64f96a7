import Dispatch
import Foundation
import Glibc
import Node
import VoltCLI

// `voltctl start`: runs one host from an initialized root directory (docs/PROTOCOL.md
// §12.2) until @Shutdown, SIGTERM or SIGINT. It prints `Server completed initialization.` on
// standard output once both ports accept connections, logs to D/log/host.log (and standard error
// in the foreground), and exits 0 after a clean shutdown.
//
// Any --host (even one naming this host alone, with --count 1), or --count above 1, starts a host
// of a K-safe cluster (Node's Host+Cluster.swift): the first host in sorted --host order
// coordinates start-up. A host started without --host runs alone, and cannot grow.
// --add with the --host of a live host replaces a missing host or, when none is missing, joins the
// cluster to grow it (the elastic join, ClusterNode+Join.swift). --background
// re-executes this program detached (a new session, output to D/log/console.log), waits until the
// server reports it is ready or has failed, and prints its pid.

enum StartCommand {
    static let readyLine = "Server completed initialization."

    static let declaration = Command(
        name: "start",
        abstract: "Start a host from an initialized root directory",
        discussion: """
            Loads the schema files of the root directory, listens on the client port (21212) and \
            the admin port (21211), and serves the VoltDB client wire protocol until @Shutdown, \
            SIGTERM or SIGINT. Prints "\(readyLine)" when ready. Logs go to DIR/log/host.log and, \
            in the foreground, to standard error.

            A cluster: give every host the same --host list (internal endpoints, port 3021 by \
            default) and --count (a cluster of one: --host naming this host, --count 1; it can \
            grow with --add, which a host started without --host cannot). The first host in sorted order coordinates start-up: it waits \
            for --count hosts, refuses any whose deployment or schema differs, and lays out \
            hosts x sitesperhost / (kfactor+1) partitions with kfactor+1 replicas each. A host \
            restarted with the same command and root directory rejoins the running cluster; a \
            fresh host started with --add and the --host of a live host takes the place of a \
            missing one and rejoins the same way; when no host is missing, it joins the cluster \
            to grow it: it waits until kfactor+1 new hosts have arrived, then they are admitted \
            together, receive the replicated tables and take over their share of every \
            partitioned table while the cluster serves (<systemsettings><elastic> paces it). \
            The HTTP port is recorded but not opened. Port 0 lets the system \
            choose a free port.

            Examples:
              voltctl start --dir /var/voltdb
              voltctl start --dir /var/voltdb --client 127.0.0.1:21212 --admin 127.0.0.1:21211 --background
              voltctl start --dir /data/h1 --host 127.0.0.1:3021,127.0.0.1:3022,127.0.0.1:3023 --count 3 \
                --internal 127.0.0.1:3021 --client 21212 --admin 21211
            """,
        options: [
            .value("dir", short: "D", valueName: "path", default: "voltdbroot", help: "The root directory prepared by voltctl init."),
            .value("host", short: "H", valueName: "host[:port],...", repeatable: true,
                   help: "Internal endpoints of the cluster's hosts; the first in sorted order coordinates start-up."),
            .value("count", short: "c", valueName: "hosts", default: "1",
                   help: "Hosts in the full cluster."),
            .value("placement-group", valueName: "name", default: "0",
                   help: "This host's placement group (rack): replicas of a partition go to different groups when possible."),
            .flag("add", short: "A", help: "Join a running cluster: take the place of a missing host, or grow the cluster (kfactor+1 new hosts at a time)."),
            .value("client", valueName: "[ip:]port", default: "21212", help: "The client port, optionally with the interface to bind."),
            .value("admin", valueName: "[ip:]port", default: "21211", help: "The admin port, optionally with the interface to bind."),
            .value("internal", valueName: "[ip:]port", default: "3021", help: "The internal (mesh) port hosts of a cluster talk on."),
            .value("http", valueName: "[ip:]port", default: "8080", help: "The HTTP port; reported, not opened yet."),
            .flag("pause", short: "p", help: "Start paused (admin mode): the client port refuses work until @Resume."),
            .flag("background", short: "B", help: "Run detached; print the server's pid once it is ready."),
        ])

    /// `[ip:]port` → (interface or nil, port).
    static func endpoint(_ arguments: ParsedArguments, _ option: String) throws -> (interface: String?, port: Int) {
        let text = try arguments.string(option)
        var interface: String?
        var portText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            interface = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), interface.map({ !$0.isEmpty }) ?? true else {
            throw arguments.error(.invalidValue(option: "--\(option)", requirement: "be a port (0-65535) or ip:port", value: text))
        }
        return (interface, port)
    }

    static func run(_ arguments: ParsedArguments, commandLine: [String]) throws {
        let hostList = arguments.list("host").flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
        for entry in hostList where ClusterOptions.parseEndpoint(entry) == nil {
            throw arguments.error(.invalidValue(option: "--host", requirement: "be host[:port] with a port of 1-65535", value: entry))
        }
        let count = try arguments.int("count", min: 1)
        let add = arguments.flag("add")
        if add && hostList.isEmpty {
            throw RuntimeError("--add needs --host: the internal endpoint of at least one live host of the cluster")
        }
        let client = try endpoint(arguments, "client")
        let admin = try endpoint(arguments, "admin")
        let mesh = try endpoint(arguments, "internal")
        let http = try endpoint(arguments, "http")
        let dir = try arguments.string("dir")
        let root: RootDirectory
        do { root = try RootDirectory.open(dir: dir) } catch { throw RuntimeError(error.description) }

        if arguments.flag("background") {
            try runInBackground(root: root, commandLine: commandLine)
            return
        }

        let log: HostLog
        do {
            log = try HostLog(path: root.logDirectory + "/host.log", echoToStandardError: true)
        } catch {
            throw RuntimeError(error.description)
        }
        var options = HostOptions(clientInterface: client.interface, adminInterface: admin.interface,
                                  clientPort: client.port, adminPort: admin.port, internalPort: mesh.port,
                                  httpPort: http.port, paused: arguments.flag("pause"), log: { log.write($0) })
        // Any --host makes a cluster host, even of one (`--host` naming itself, `--count 1`): a
        // cluster can grow with --add; a host started without --host runs alone and cannot.
        if count > 1 || !hostList.isEmpty || add {
            guard !hostList.isEmpty else {
                throw RuntimeError("--count \(count) needs --host: the internal endpoints of the cluster's hosts")
            }
            options.cluster = ClusterOptions(hosts: hostList, count: count, internalInterface: mesh.interface,
                                             placementGroup: try arguments.string("placement-group"), add: add)
            options.onFatal = { reason in
                log.write("Stopping: \(reason)")
                FileHandle.standardError.write(Data("voltctl start: \(reason)\n".utf8))
                exit(1)
            }
        }
        let host = Node.Host(root: root, options: options)
        do {
            try host.start()
        } catch {
            log.write("Start failed: \(error)")
            throw RuntimeError(error.description)
        }
        var sources: [DispatchSourceSignal] = []
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                log.write("Received \(name): shutting down")
                host.stop()
            }
            source.resume()
            sources.append(source)
        }
        // Unbuffered, so a parent reading a pipe sees the ready line at once.
        FileHandle.standardOutput.write(Data("Listening on client port \(host.clientPort ?? 0) and admin port \(host.adminPort ?? 0)\n\(readyLine)\n".utf8))
        log.write(readyLine)
        host.waitForShutdown()
        host.stop()
        for source in sources { source.cancel() }
        log.write("Server shut down cleanly")
    }

    /// Re-executes this program without --background in a new session, output appended to
    /// D/log/console.log; waits (up to two minutes) for the ready line or the child's exit.
    static func runInBackground(root: RootDirectory, commandLine: [String]) throws {
        let console = root.logDirectory + "/console.log"
        let startOffset = (try? FileManager.default.attributesOfItem(atPath: console)[.size] as? Int) ?? 0
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let args = [executable] + commandLine.filter { $0 != "--background" && $0 != "-B" }
        // Descriptors this process inherited (a parent's pipe, or the socket a supervising process
        // watches for our exit) must not live on in the server, or that parent would wait for
        // the server instead of for us.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, console, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // glibc's POSIX_SPAWN_SETSID (0x80), which the Glibc module does not import: the server gets
        // a session of its own, so the terminal's signals and hang-up do not reach it.
        posix_spawnattr_setflags(&attributes, 0x80)
        var pid: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        let rc = posix_spawn(&pid, executable, &actions, &attributes, cArgs, environ)
        guard rc == 0 else { throw RuntimeError("cannot start the background server: \(String(cString: strerror(rc)))") }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw RuntimeError("the background server exited during start-up; see \(console)\n" + consoleTail(console, from: startOffset))
            }
            if consoleTail(console, from: startOffset).contains(readyLine) {
                print("Server started in the background, pid \(pid); log \(root.logDirectory)/host.log")
                print(readyLine)
                return
            }
            usleep(100_000)
        }
        throw RuntimeError("the background server (pid \(pid)) did not report ready within 120 seconds; see \(console)")
    }

    private static func consoleTail(_ path: String, from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path), data.count > offset else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }
}
