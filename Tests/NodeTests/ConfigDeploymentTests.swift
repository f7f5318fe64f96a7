// Reading deployment.xml: defaults, every supported element, the error for each bad value, the
// warnings for what is ignored, malformed XML positions, and the repository's sample file.

import Foundation
import Testing

@testable import Node

/// Parses `body` wrapped in `<deployment>`, expecting success.
private func parse(_ body: String) throws -> ParsedDeployment {
    try Deployment.parse("<?xml version=\"1.0\"?>\n<deployment>\n\(body)\n</deployment>\n")
}

/// The message of the error that parsing `body` inside `<deployment>` throws, or nil.
private func errorMessage(_ body: String) -> String? {
    do {
        _ = try Deployment.parse("<deployment>\(body)</deployment>")
        return nil
    } catch {
        return error.description
    }
}

@Suite struct ConfigDeploymentDefaults {
    @Test func theValueDefaultsAreVoltDBs() {
        let d = Deployment()
        #expect(d.cluster.sitesPerHost == 8)
        #expect(d.cluster.kFactor == 0)
        #expect(d.paths.snapshots == "snapshots")
        #expect(d.paths.commandLog == "command_log")
        #expect(d.paths.commandLogSnapshot == "command_log_snapshot")
        #expect(d.paths.exportOverflow == "export_overflow")
        #expect(d.paths.exportCursor == "export_cursor")
        #expect(d.paths.drOverflow == "dr_overflow")
        #expect(d.paths.largeQuerySwap == "large_query_swap")
        #expect(d.heartbeat.timeoutSeconds == 90)
        #expect(d.partitionDetection.enabled)
        #expect(d.httpd == Deployment.HTTPD(enabled: true, port: 8080, jsonAPIEnabled: true))
        #expect(!d.snapshot.enabled)
        #expect(d.snapshot.frequency == SnapshotFrequency(value: 24, unit: .hours))
        #expect(d.snapshot.retain == 2)
        #expect(d.snapshot.prefix == "AUTOSNAP")
        #expect(!d.commandLog.enabled)
        #expect(!d.commandLog.synchronous)
        #expect(d.commandLog.logSizeMB == 1024)
        #expect(d.commandLog.frequencyTimeMillis == 200)
        #expect(d.commandLog.frequencyTransactions == 2_147_483_647)
        let s = d.systemSettings
        #expect(s.elasticDurationMillis == 50)
        #expect(s.elasticThroughputMBPerSecond == 2)
        #expect(s.queryTimeoutMillis == 10_000)
        #expect(s.procedureWarningTimeoutMillis == 10_000)
        #expect(s.tempTablesMaxSizeMB == 100)
        #expect(s.snapshotPriority == 6)
        #expect(s.resourceMonitorFrequencySeconds == 60)
        #expect(s.memoryLimit == .percent(80))
        #expect(s.memoryAlert == .percent(70))
        #expect(!d.security.enabled)
        #expect(d.security.provider == .hash)
        #expect(d.users.isEmpty)
    }

    @Test func aMinimalFileGivesTheDefaultsWithoutWarnings() throws {
        let parsed = try Deployment.parse("<deployment><cluster/></deployment>")
        #expect(parsed.deployment == Deployment())
        #expect(parsed.warnings.isEmpty)
        #expect(try Deployment.parse("<deployment/>").deployment == Deployment())
    }

    @Test func presentSnapshotAndCommandLogElementsDefaultToEnabled() throws {
        let d = try parse("<snapshot/><commandlog/>").deployment
        #expect(d.snapshot.enabled)
        #expect(d.commandLog.enabled)
        #expect(d.commandLog.logSizeMB == 1024)
    }

    @Test func presentElementsWithoutAttributesTakeTheXSDDefaults() throws {
        let d = try parse(
            """
            <cluster/><paths><snapshots/></paths><heartbeat/><partition-detection/><httpd><jsonapi/></httpd>
            <commandlog enabled="false"><frequency/></commandlog>
            <systemsettings><elastic/><query/><procedure/><temptables/><snapshot/>
            <resourcemonitor><memorylimit/></resourcemonitor></systemsettings><security/>
            """
        ).deployment
        var expected = Deployment()
        expected.snapshot.enabled = false
        #expect(d == expected)
    }
}

@Suite struct ConfigDeploymentElements {
    @Test func everySupportedElementIsRead() throws {
        let parsed = try parse(
            """
              <cluster sitesperhost="12" kfactor="2"/>
              <paths>
                <snapshots path="/data/snap"/>
                <commandlog path="/fast/cl"/>
                <commandlogsnapshot path="/fast/clsnap"/>
                <exportoverflow path="exp"/>
                <exportcursor path="cursor"/>
                <droverflow path="dr"/>
                <largequeryswap path="/tmp/swap"/>
              </paths>
              <heartbeat timeout="30"/>
              <partition-detection enabled="false"/>
              <httpd enabled="false" port="9090"><jsonapi enabled="false"/></httpd>
              <snapshot enabled="true" frequency="30m" retain="4" prefix="NIGHTLY"/>
              <commandlog enabled="true" synchronous="true" logsize="3072">
                <frequency time="100" transactions="1000"/>
              </commandlog>
              <systemsettings>
                <temptables maxsize="200"/>
                <snapshot priority="3"/>
                <elastic duration="100" throughput="5"/>
                <query timeout="0"/>
                <procedure warningtimeout="500"/>
                <resourcemonitor frequency="30"><memorylimit size="16" alert="90%"/></resourcemonitor>
              </systemsettings>
              <security enabled="true" provider="hash"/>
              <users>
                <user name="admin" password="secret" roles="Administrator, user"/>
                <user name="app" password="c2VjcmV0" roles="user" plaintext="false"/>
              </users>
            """)
        #expect(parsed.warnings.isEmpty)
        let d = parsed.deployment
        #expect(d.cluster == Deployment.Cluster(sitesPerHost: 12, kFactor: 2))
        #expect(
            d.paths
                == Deployment.Paths(
                    snapshots: "/data/snap", commandLog: "/fast/cl", commandLogSnapshot: "/fast/clsnap",
                    exportOverflow: "exp", exportCursor: "cursor", drOverflow: "dr", largeQuerySwap: "/tmp/swap"))
        #expect(d.heartbeat.timeoutSeconds == 30)
        #expect(!d.partitionDetection.enabled)
        #expect(d.httpd == Deployment.HTTPD(enabled: false, port: 9090, jsonAPIEnabled: false))
        #expect(
            d.snapshot
                == Deployment.Snapshot(
                    enabled: true, frequency: SnapshotFrequency(value: 30, unit: .minutes), retain: 4, prefix: "NIGHTLY"))
        #expect(d.snapshot.frequency.seconds == 1800)
        #expect(
            d.commandLog
                == Deployment.CommandLog(
                    enabled: true, synchronous: true, logSizeMB: 3072, frequencyTimeMillis: 100,
                    frequencyTransactions: 1000))
        #expect(
            d.systemSettings
                == Deployment.SystemSettings(
                    elasticDurationMillis: 100, elasticThroughputMBPerSecond: 5, queryTimeoutMillis: 0,
                    procedureWarningTimeoutMillis: 500, tempTablesMaxSizeMB: 200, snapshotPriority: 3,
                    resourceMonitorFrequencySeconds: 30, memoryLimit: .gigabytes(16), memoryAlert: .percent(90)))
        #expect(d.security == Deployment.Security(enabled: true, provider: .hash))
        #expect(
            d.users == [
                Deployment.User(name: "admin", password: "secret", roles: ["administrator", "user"], plaintext: true),
                Deployment.User(name: "app", password: "c2VjcmV0", roles: ["user"], plaintext: false),
            ])
    }

    @Test(arguments: [
        ("60s", 60, SnapshotFrequency.Unit.seconds), ("30m", 30, .minutes), ("24h", 24, .hours), (" 2H ", 2, .hours),
    ])
    func snapshotFrequenciesParse(text: String, value: Int, unit: SnapshotFrequency.Unit) {
        #expect(SnapshotFrequency(parsing: text) == SnapshotFrequency(value: value, unit: unit))
    }

    @Test(arguments: ["", "h", "0h", "-1m", "10d", "1.5h", "10", "m10", "99999999999s"])
    func badSnapshotFrequenciesDoNotParse(text: String) {
        #expect(SnapshotFrequency(parsing: text) == nil)
    }

    @Test func xmlBooleansAcceptOneAndZero() throws {
        let d = try parse(#"<partition-detection enabled="0"/><httpd enabled="1"/>"#).deployment
        #expect(!d.partitionDetection.enabled)
        #expect(d.httpd.enabled)
    }

    @Test func commentsAndEntitiesAreHandled() throws {
        let d = try parse(
            #"<!-- a comment --><users><user name="a" password="p&amp;&quot;&lt;" roles="user"/></users>"#
        ).deployment
        #expect(d.users.first?.password == "p&\"<")
    }
}

@Suite struct ConfigDeploymentErrors {
    @Test(arguments: [
        (
            #"<cluster sitesperhost="0"/>"#,
            #"deployment.xml: <cluster sitesperhost="0">: sitesperhost must be an integer from 1 to 64"#
        ),
        (
            #"<cluster sitesperhost="65"/>"#,
            #"deployment.xml: <cluster sitesperhost="65">: sitesperhost must be an integer from 1 to 64"#
        ),
        (
            #"<cluster sitesperhost="eight"/>"#,
            #"deployment.xml: <cluster sitesperhost="eight">: sitesperhost must be an integer from 1 to 64"#
        ),
        (
            #"<cluster kfactor="-1"/>"#,
            #"deployment.xml: <cluster kfactor="-1">: kfactor must be an integer from 0 to 15"#
        ),
        (
            #"<cluster schema="catalog"/>"#,
            #"deployment.xml: <cluster schema="catalog">: schema must be ddl (the legacy catalog mode is not supported)"#
        ),
        (
            #"<heartbeat timeout="0"/>"#,
            #"deployment.xml: <heartbeat timeout="0">: timeout must be an integer from 1 to 2147483647"#
        ),
        (
            #"<partition-detection enabled="yes"/>"#,
            #"deployment.xml: <partition-detection enabled="yes">: enabled must be true or false"#
        ),
        (
            #"<httpd port="70000"/>"#,
            #"deployment.xml: <httpd port="70000">: port must be an integer from 1 to 65535"#
        ),
        (
            #"<httpd><jsonapi enabled="maybe"/></httpd>"#,
            #"deployment.xml: <httpd><jsonapi enabled="maybe">: enabled must be true or false"#
        ),
        (
            #"<snapshot frequency="1d"/>"#,
            #"deployment.xml: <snapshot frequency="1d">: frequency must be a whole number from 1 to 2147483647 followed by s, m or h (for example 30s, 10m, 24h)"#
        ),
        (
            #"<snapshot retain="0"/>"#,
            #"deployment.xml: <snapshot retain="0">: retain must be an integer from 1 to 5000"#
        ),
        (
            #"<snapshot prefix="a-b"/>"#,
            #"deployment.xml: <snapshot prefix="a-b">: prefix must be a non-empty name without '-', ',', '/', '\' or spaces"#
        ),
        (
            #"<commandlog logsize="2"/>"#,
            #"deployment.xml: <commandlog logsize="2">: logsize must be an integer from 3 to 102400"#
        ),
        (
            #"<commandlog synchronous="sometimes"/>"#,
            #"deployment.xml: <commandlog synchronous="sometimes">: synchronous must be true or false"#
        ),
        (
            #"<commandlog><frequency time="5001"/></commandlog>"#,
            #"deployment.xml: <commandlog><frequency time="5001">: time must be an integer from 1 to 5000"#
        ),
        (
            #"<commandlog><frequency transactions="0"/></commandlog>"#,
            #"deployment.xml: <commandlog><frequency transactions="0">: transactions must be an integer from 1 to 2147483647"#
        ),
        (
            #"<systemsettings><elastic duration="0"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><elastic duration="0">: duration must be an integer from 1 to 2147483647"#
        ),
        (
            #"<systemsettings><elastic throughput="-1"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><elastic throughput="-1">: throughput must be an integer from 0 to 2147483647"#
        ),
        (
            #"<systemsettings><query timeout="-1"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><query timeout="-1">: timeout must be an integer from 0 to 2147483647"#
        ),
        (
            #"<systemsettings><procedure warningtimeout="x"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><procedure warningtimeout="x">: warningtimeout must be an integer from 0 to 2147483647"#
        ),
        (
            #"<systemsettings><temptables maxsize="0"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><temptables maxsize="0">: maxsize must be an integer from 1 to 2147483647"#
        ),
        (
            #"<systemsettings><snapshot priority="11"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><snapshot priority="11">: priority must be an integer from 0 to 10"#
        ),
        (
            #"<systemsettings><resourcemonitor frequency="0"/></systemsettings>"#,
            #"deployment.xml: <systemsettings><resourcemonitor frequency="0">: frequency must be an integer from 1 to 2147483647"#
        ),
        (
            #"<systemsettings><resourcemonitor><memorylimit size="100%"/></resourcemonitor></systemsettings>"#,
            #"deployment.xml: <systemsettings><resourcemonitor><memorylimit size="100%">: size must be a percentage from 1% to 99%, or a whole number of gigabytes"#
        ),
        (
            #"<systemsettings><resourcemonitor><memorylimit alert="lots"/></resourcemonitor></systemsettings>"#,
            #"deployment.xml: <systemsettings><resourcemonitor><memorylimit alert="lots">: alert must be a percentage from 1% to 99%, or a whole number of gigabytes"#
        ),
        (
            #"<security provider="kerberos"/>"#,
            #"deployment.xml: <security provider="kerberos">: provider must be hash (kerberos is not supported by this server)"#
        ),
        (
            #"<security enabled="on"/>"#,
            #"deployment.xml: <security enabled="on">: enabled must be true or false"#
        ),
        (
            #"<users><user name="a b" password="p"/></users>"#,
            #"deployment.xml: <users><user name="a b">: name must be a non-empty name without spaces"#
        ),
        (
            #"<users><user name="a" password="p" plaintext="no"/></users>"#,
            #"deployment.xml: <users><user plaintext="no">: plaintext must be true or false"#
        ),
        (
            #"<users><user password="p"/></users>"#,
            #"deployment.xml: <users><user>: the attribute name is required"#
        ),
        (
            #"<users><user name="a"/></users>"#,
            #"deployment.xml: <users><user>: the attribute password is required"#
        ),
        (
            #"<paths><snapshots path=""/></paths>"#,
            #"deployment.xml: <paths><snapshots path="">: path must be a directory path, absolute or relative to the root directory"#
        ),
    ])
    func invalidValuesNameTheElementAttributeValueAndRange(body: String, message: String) {
        #expect(errorMessage(body) == message)
    }

    @Test func securityWithoutUsersIsAnError() {
        #expect(
            errorMessage(#"<security enabled="true"/>"#)
                == #"deployment.xml: <security enabled="true"> needs at least one <user> in <users>, one of them with roles="administrator""#
        )
    }

    @Test func securityWithoutAnAdministratorIsAnError() {
        #expect(
            errorMessage(#"<security enabled="true"/><users><user name="app" password="p" roles="user"/></users>"#)
                == #"deployment.xml: <security enabled="true"> needs at least one <user> with roles="administrator""#)
    }

    @Test func usersWithoutSecurityNeedNoAdministrator() throws {
        let d = try parse(#"<users><user name="app" password="p" roles="user"/></users>"#).deployment
        #expect(d.users.map(\.name) == ["app"])
    }

    @Test func duplicateUserNamesAreAnError() {
        #expect(
            errorMessage(#"<users><user name="a" password="1"/><user name="b" password="2"/><user name="a" password="3"/></users>"#)
                == #"deployment.xml: <users><user name="a">: the user a is defined more than once"#)
    }

    @Test func anElementThatMayAppearOnceAppearingTwiceIsAnError() {
        #expect(
            errorMessage(#"<cluster/><cluster kfactor="1"/>"#)
                == "deployment.xml: <cluster> appears more than once; it may appear only once")
        #expect(
            errorMessage(#"<commandlog><frequency/><frequency/></commandlog>"#)
                == "deployment.xml: <commandlog><frequency> appears more than once; it may appear only once")
    }

    @Test func managedPathsMustBeDistinct() {
        #expect(
            errorMessage(#"<paths><snapshots path="data/"/><commandlog path="./data"/></paths>"#)
                == #"deployment.xml: <paths>: <snapshots> and <commandlog> both use "./data"; every managed path must be distinct"#
        )
        #expect(
            errorMessage(#"<paths><droverflow path="snapshots"/></paths>"#)
                == #"deployment.xml: <paths>: <snapshots> and <droverflow> both use "snapshots"; every managed path must be distinct"#
        )
    }

    @Test(arguments: ["config", "log", "log/snap", ".", "./config/"])
    func reservedRelativePathsAreRefused(path: String) {
        #expect(
            errorMessage("<paths><snapshots path=\"\(path)\"/></paths>")
                == "deployment.xml: <paths><snapshots path=\"\(path)\">: \"\(path)\" is reserved for the root "
                + "directory's own use; choose another directory")
    }

    @Test func theRootMustBeDeployment() {
        #expect(throws: DeploymentError(file: "deployment.xml", problem: .wrongRootElement(found: "config"), line: 1)) {
            try Deployment.parse("<config/>")
        }
        #expect(throws: DeploymentError(file: "deployment.xml", problem: .wrongRootElement(found: nil))) {
            try Deployment.parse("")
        }
    }

    @Test func theFileNameAppearsInMessages() {
        #expect(throws: DeploymentError.self) { try Deployment.parse("<deployment><heartbeat timeout=\"0\"/></deployment>", file: "prod.xml") }
        do {
            _ = try Deployment.parse("<deployment><heartbeat timeout=\"0\"/></deployment>", file: "prod.xml")
        } catch {
            #expect(error.description.hasPrefix("prod.xml: <heartbeat timeout=\"0\">"))
        }
    }

    @Test func aMissingFileIsReportedByPath() {
        do {
            _ = try Deployment.load(contentsOf: "/nonexistent/dir/deployment.xml")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.description == "/nonexistent/dir/deployment.xml: cannot read the file: no such file")
        }
    }
}

@Suite struct ConfigDeploymentWarnings {
    @Test func unknownElementsAndAttributesWarnWithTheirPath() throws {
        let parsed = try Deployment.parse(
            """
            <deployment>
              <cluster sitesperhost="4" colour="blue">
                <foo/>
              </cluster>
              <bar x="1"><baz/></bar>
              <systemsettings><elastic duration="10" speed="9"/></systemsettings>
            </deployment>
            """)
        #expect(parsed.deployment.cluster.sitesPerHost == 4)
        #expect(parsed.deployment.systemSettings.elasticDurationMillis == 10)
        #expect(
            parsed.warnings.map(\.description) == [
                "deployment.xml: unknown attribute colour of <cluster> ignored",
                "deployment.xml: unknown element <cluster><foo> ignored",
                "deployment.xml: unknown element <bar> ignored",
                "deployment.xml: unknown attribute speed of <systemsettings><elastic> ignored",
            ])
        #expect(parsed.warnings.map(\.line) == [2, 3, 5, 6])
    }

    @Test func voltDBFeaturesThisServerLacksWarnAsUnsupported() throws {
        let parsed = try parse(
            """
            <ssl enabled="true"/><export><configuration target="t"/></export><dr id="1"/>
            <systemsettings><flushinterval/><resourcemonitor><disklimit/></resourcemonitor></systemsettings>
            <paths><topicsdata path="t"/></paths>
            """)
        #expect(parsed.deployment == Deployment())
        #expect(
            parsed.warnings.map(\.description) == [
                "deployment.xml: <ssl> is not supported by this server and is ignored",
                "deployment.xml: <export> is not supported by this server and is ignored",
                "deployment.xml: <dr> is not supported by this server and is ignored",
                "deployment.xml: <systemsettings><flushinterval> is not supported by this server and is ignored",
                "deployment.xml: <systemsettings><resourcemonitor><disklimit> is not supported by this server and is ignored",
                "deployment.xml: <paths><topicsdata> is not supported by this server and is ignored",
            ])
    }

    @Test func hostcountAndVoltdbrootAreAcceptedAndIgnored() throws {
        let parsed = try parse(
            #"<cluster hostcount="3" kfactor="1"/><paths><voltdbroot path="/var/voltdb"/></paths>"#)
        #expect(parsed.deployment.cluster.kFactor == 1)
        #expect(
            parsed.warnings.map(\.description) == [
                #"deployment.xml: <cluster hostcount="3"> ignored: the number of hosts comes from voltctl start (--count), not from the deployment file"#,
                "deployment.xml: <paths><voltdbroot> ignored: the root directory is always the one given to voltctl init --dir",
            ])
    }

    @Test func schemaNamespaceAttributesOnTheRootAreAccepted() throws {
        let parsed = try Deployment.parse(
            #"<deployment xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="d.xsd"><cluster/></deployment>"#
        )
        #expect(parsed.warnings.isEmpty)
    }

    @Test func textInsideAnElementWarns() throws {
        let parsed = try parse("<cluster>eight</cluster>")
        #expect(parsed.warnings.map(\.description) == ["deployment.xml: text inside <cluster> ignored"])
    }
}

@Suite struct ConfigDeploymentMalformedXML {
    private func malformed(_ text: String) -> DeploymentError.Problem? {
        do {
            _ = try Deployment.parse(text)
            return nil
        } catch {
            return error.problem
        }
    }

    @Test func mismatchedTagsReportTheirPosition() {
        let problem = malformed("<deployment>\n  <cluster>\n  </clutser>\n</deployment>\n")
        #expect(
            problem == .malformedXML(line: 3, column: 13, reason: "the closing tag does not match <cluster>"))
    }

    @Test func anUnquotedAttributeReportsItsPosition() {
        guard case .malformedXML(let line, _, let reason)? = malformed("<deployment>\n<cluster kfactor=1/>\n</deployment>")
        else {
            Issue.record("no malformed-XML error")
            return
        }
        #expect(line == 2)
        #expect(reason == "an attribute value must be in quotes")
    }

    @Test(arguments: ["<deployment>\n  <cluster/>\n", "<deployment>\n"])
    func aDocumentThatEndsInsideAnElementSaysWhichOne(text: String) {
        guard case .malformedXML(let line, _, let reason)? = malformed(text) else {
            Issue.record("no malformed-XML error")
            return
        }
        #expect(line >= 1)
        #expect(reason == "the document ends before <deployment> (opened on line 1) is closed")
    }

    @Test func aDoubleHyphenInACommentIsNamed() {
        guard case .malformedXML(_, _, let reason)? = malformed("<deployment><!-- use --force --></deployment>") else {
            Issue.record("no malformed-XML error")
            return
        }
        #expect(reason == "'--' is not allowed inside a comment")
    }

    @Test func theMessageCarriesLineAndColumn() {
        do {
            _ = try Deployment.parse("<deployment>\n<cluster a='1' a='2'/>\n</deployment>")
            Issue.record("a duplicated attribute parsed")
        } catch {
            #expect(error.description.hasPrefix("deployment.xml: line 2, column "))
            #expect(error.description.hasSuffix(": malformed XML: an attribute appears twice in the same element"))
            #expect(error.line == 2)
        }
    }
}

@Suite struct ConfigSampleDeployment {
    static var samplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deployment.xml").path
    }

    @Test func theRepositorysSampleParsesWithoutWarnings() throws {
        let parsed = try Deployment.load(contentsOf: Self.samplePath)
        #expect(parsed.warnings.map(\.description) == [])
    }

    @Test func theSampleShowsTheDefaults() throws {
        let d = try Deployment.load(contentsOf: Self.samplePath).deployment
        // The sample has <snapshot> and <commandlog> elements, which enable both; everything
        // else is the value default.
        var expected = Deployment()
        expected.snapshot.enabled = true
        expected.commandLog.enabled = true
        expected.users = [Deployment.User(name: "admin", password: "change-me", roles: ["administrator"])]
        #expect(d == expected)
    }
}
