// `voltctl init`'s library half: the root directory layout, refusing to re-initialize a used root
// without --force, what --force clears and archives, schema-file checks, and `open` for start.
// Every test works in its own temporary directory and removes it.

import Foundation
import Testing

@testable import Node

/// A fresh temporary directory for one test, removed by `remove()`.
private struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }

    func read(_ relative: String) throws -> String { try String(contentsOfFile: path + "/" + relative, encoding: .utf8) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with a scratch directory, removing it afterwards whatever happens.
private func withScratch(_ body: (Scratch) throws -> Void) throws {
    let scratch = try Scratch()
    defer { scratch.remove() }
    try body(scratch)
}

private func initError(_ body: () throws(RootDirectoryError) -> Void) -> RootDirectoryError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct ConfigRootDirectoryInit {
    @Test func initCreatesTheLayout() throws {
        try withScratch { scratch in
            let config = try scratch.file("deployment.xml", #"<deployment><cluster kfactor="1"/><bogus/></deployment>"#)
            let ddl = try scratch.file("ddl.sql", "CREATE TABLE t (id INTEGER NOT NULL);\n")
            let more = try scratch.file("more.sql", "CREATE INDEX i ON t (id);\n")
            let dir = scratch.path + "/root"

            let result = try RootDirectory.initialize(dir: dir, config: config, schemaFiles: [ddl, more])

            #expect(result.warnings.map(\.description) == ["deployment.xml: unknown element <bogus> ignored"])
            #expect(result.archivedSnapshots.isEmpty)
            #expect(result.clearedDirectories.isEmpty)
            for entry in [
                "root/.initialized", "root/config/deployment.xml", "root/config/path.properties", "root/log",
                "root/snapshots", "root/command_log", "root/command_log_snapshot", "root/export_overflow",
                "root/export_cursor", "root/dr_overflow", "root/large_query_swap",
                "root/config/schema/001-ddl.sql", "root/config/schema/002-more.sql",
            ] {
                #expect(scratch.exists(entry), "missing \(entry)")
            }
            #expect(try scratch.read("root/config/schema/001-ddl.sql") == "CREATE TABLE t (id INTEGER NOT NULL);\n")
            let root = result.root
            #expect(root.deployment.cluster.kFactor == 1)
            #expect(try scratch.read("root/config/deployment.xml") == root.deployment.canonicalXML())
            #expect(try scratch.read("root/.initialized") == "cluster=database\nconfigHash=\(root.configHash)\n")
            let properties = try scratch.read("root/config/path.properties")
            #expect(properties.contains("org.voltdb.path.snapshots=\(root.path)/snapshots\n"))
            #expect(properties.contains("org.voltdb.local_sites_count=8\n"))
            #expect(root.schemaFiles == [root.path + "/config/schema/001-ddl.sql", root.path + "/config/schema/002-more.sql"])
            #expect(root.isBare())
            #expect(RootDirectory.isInitialized(dir: dir))
        }
    }

    @Test func withoutAConfigTheDefaultsAreUsed() throws {
        try withScratch { scratch in
            let result = try RootDirectory.initialize(dir: scratch.path + "/root")
            #expect(result.root.deployment == Deployment())
            #expect(result.root.schemaFiles.isEmpty)
        }
    }

    @Test func managedPathsFollowTheDeployment() throws {
        try withScratch { scratch in
            let elsewhere = scratch.path + "/fast/cl"
            let config = try scratch.file(
                "d.xml", #"<deployment><paths><commandlog path="\#(elsewhere)"/><snapshots path="data/snap"/></paths></deployment>"#)
            let root = try RootDirectory.initialize(dir: scratch.path + "/root", config: config).root
            #expect(FileManager.default.fileExists(atPath: elsewhere))
            #expect(scratch.exists("root/data/snap"))
            #expect(!scratch.exists("root/command_log"))
            #expect(root.resolve(root.deployment.paths.snapshots) == root.path + "/data/snap")
        }
    }

    @Test func reInitOfAnInitializedRootIsRefusedWithoutForce() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            _ = try RootDirectory.initialize(dir: dir)
            let error = initError { () throws(RootDirectoryError) in _ = try RootDirectory.initialize(dir: dir) }
            #expect(error == .previousSession(dir: dir, evidence: "it was initialized before"))
            #expect(error?.description.contains("add --force to voltctl init") == true)
            #expect(error?.description.contains("voltctl start --dir \(dir)") == true)
        }
    }

    @Test func aRootWithDataButNoMarkerIsRefusedWithoutForce() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            try FileManager.default.createDirectory(atPath: dir + "/command_log", withIntermediateDirectories: true)
            _ = try scratch.file("root/command_log/segment.log", "x")
            let error = initError { () throws(RootDirectoryError) in _ = try RootDirectory.initialize(dir: dir) }
            #expect(error == .previousSession(dir: dir, evidence: "\(dir)/command_log is not empty"))
        }
    }

    @Test func unrelatedFilesInTheDirectoryDoNotBlockInit() throws {
        try withScratch { scratch in
            _ = try scratch.file("notes.txt", "mine")
            _ = try RootDirectory.initialize(dir: scratch.path)
            #expect(try scratch.read("notes.txt") == "mine")
        }
    }

    @Test func forceReInitializesArchivingSnapshotsAndClearingTheRest() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            let old = try scratch.file("old.sql", "CREATE TABLE old (a INTEGER);\n")
            _ = try RootDirectory.initialize(dir: dir, schemaFiles: [old])
            _ = try scratch.file("root/snapshots/AUTOSNAP-1.vpt", "rows")
            _ = try scratch.file("root/command_log/segment.log", "log")
            _ = try scratch.file("root/log/volt.log", "kept")
            let config = try scratch.file("d.xml", #"<deployment><cluster sitesperhost="4"/></deployment>"#)

            let result = try RootDirectory.initialize(dir: dir, config: config, force: true)

            let root = result.root
            #expect(root.deployment.cluster.sitesPerHost == 4)
            #expect(try RootDirectory.open(dir: dir) == root)
            #expect(result.archivedSnapshots == [RootDirectory.Archive(from: root.path + "/snapshots", to: root.path + "/snapshots.1")])
            #expect(result.clearedDirectories == [root.path + "/command_log"])
            #expect(try scratch.read("root/snapshots.1/AUTOSNAP-1.vpt") == "rows")
            #expect(scratch.exists("root/snapshots"))
            #expect(!scratch.exists("root/command_log/segment.log"))
            #expect(!scratch.exists("root/config/schema/001-old.sql"))
            #expect(try scratch.read("root/log/volt.log") == "kept")
            #expect(root.schemaFiles.isEmpty)
            #expect(root.isBare())
        }
    }

    @Test func forceKeepsTwoSnapshotArchives() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            _ = try RootDirectory.initialize(dir: dir)
            for generation in 1...3 {
                _ = try scratch.file("root/snapshots/gen", "\(generation)")
                _ = try RootDirectory.initialize(dir: dir, force: true)
            }
            #expect(try scratch.read("root/snapshots.1/gen") == "3")
            #expect(try scratch.read("root/snapshots.2/gen") == "2")
            #expect(!scratch.exists("root/snapshots.3"))
        }
    }

    @Test func aMissingSchemaFileIsAnErrorAndNothingIsWritten() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            let missing = scratch.path + "/nope.sql"
            let error = initError { () throws(RootDirectoryError) in
                _ = try RootDirectory.initialize(dir: dir, schemaFiles: [missing])
            }
            #expect(error == .schemaFileMissing(path: missing))
            #expect(error?.description == "schema file \(missing) does not exist")
            #expect(!scratch.exists("root"))
        }
    }

    @Test func aDirectoryGivenAsSchemaIsAnError() throws {
        try withScratch { scratch in
            let error = initError { () throws(RootDirectoryError) in
                _ = try RootDirectory.initialize(dir: scratch.path + "/root", schemaFiles: [scratch.path])
            }
            #expect(error == .schemaFileNotRegular(path: scratch.path))
        }
    }

    @Test func anInvalidDeploymentIsAnErrorAndNothingIsWritten() throws {
        try withScratch { scratch in
            let config = try scratch.file("d.xml", #"<deployment><cluster sitesperhost="0"/></deployment>"#)
            let error = initError { () throws(RootDirectoryError) in
                _ = try RootDirectory.initialize(dir: scratch.path + "/root", config: config)
            }
            #expect(error?.description == #"d.xml: <cluster sitesperhost="0">: sitesperhost must be an integer from 1 to 64"#)
            #expect(!scratch.exists("root"))
        }
    }

    @Test func aManagedPathThatHoldsTheRootIsAnError() throws {
        try withScratch { scratch in
            let config = try scratch.file("d.xml", "<deployment><paths><snapshots path=\"\(scratch.path)\"/></paths></deployment>")
            let error = initError { () throws(RootDirectoryError) in
                _ = try RootDirectory.initialize(dir: scratch.path + "/root", config: config)
            }
            #expect(error == .deployment(DeploymentError(file: "deployment.xml", problem: .reservedPath(element: "snapshots", path: scratch.path))))
            #expect(!scratch.exists("root"))
        }
    }

    @Test func aFileAsTheRootIsAnError() throws {
        try withScratch { scratch in
            let file = try scratch.file("plain", "x")
            let error = initError { () throws(RootDirectoryError) in _ = try RootDirectory.initialize(dir: file) }
            #expect(error == .notADirectory(path: file))
        }
    }
}

@Suite struct ConfigRootDirectoryOpen {
    @Test func openReadsTheEffectiveDeploymentAndSchema() throws {
        try withScratch { scratch in
            let config = try scratch.file("d.xml", #"<deployment><cluster kfactor="2"/><snapshot/></deployment>"#)
            let ddl = try scratch.file("ddl.sql", "CREATE TABLE t (a INTEGER);\n")
            let made = try RootDirectory.initialize(dir: scratch.path + "/root", config: config, schemaFiles: [ddl]).root
            let opened = try RootDirectory.open(dir: scratch.path + "/root")
            #expect(opened == made)
            #expect(opened.deployment.snapshot.enabled)
            #expect(opened.configHash == made.configHash)
        }
    }

    @Test func openingAnUninitializedDirectorySaysToRunInit() throws {
        try withScratch { scratch in
            let error = initError { () throws(RootDirectoryError) in _ = try RootDirectory.open(dir: scratch.path) }
            #expect(error == .notInitialized(dir: scratch.path))
            #expect(error?.description == "\(scratch.path) is not initialized: run voltctl init --dir \(scratch.path) first")
            #expect(!RootDirectory.isInitialized(dir: scratch.path + "/absent"))
            let absent = initError { () throws(RootDirectoryError) in _ = try RootDirectory.open(dir: scratch.path + "/absent") }
            #expect(absent == .notInitialized(dir: scratch.path + "/absent"))
        }
    }

    @Test func openingAfterAnInterruptedForceSaysToRunInit() throws {
        try withScratch { scratch in
            let dir = scratch.path + "/root"
            _ = try RootDirectory.initialize(dir: dir)
            try FileManager.default.removeItem(atPath: dir + "/.initialized")
            let error = initError { () throws(RootDirectoryError) in _ = try RootDirectory.open(dir: dir) }
            #expect(error == .notInitialized(dir: dir))
            // Nothing in the managed directories, so init may run again without --force.
            _ = try RootDirectory.initialize(dir: dir)
            #expect(RootDirectory.isInitialized(dir: dir))
        }
    }
}
