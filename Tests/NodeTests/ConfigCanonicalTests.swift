// The canonical rendering of a deployment and its configuration hash: deterministic, round-trips,
// blind to formatting and to host-local paths, sensitive to every setting. Plus SHA-256 vectors.

import Testing

@testable import Node

@Suite struct ConfigCanonicalRendering {
    static let full = """
        <deployment>
          <cluster sitesperhost="12" kfactor="2"/>
          <paths><snapshots path="/data/snap"/><largequeryswap path="swap"/></paths>
          <heartbeat timeout="30"/>
          <httpd port="9090"/>
          <snapshot frequency="30m" retain="4" prefix="NIGHTLY"/>
          <commandlog synchronous="true"><frequency time="100"/></commandlog>
          <systemsettings><elastic duration="100" throughput="5"/>
            <resourcemonitor><memorylimit size="16"/></resourcemonitor></systemsettings>
          <security enabled="true"/>
          <users>
            <user name="zed" password="a&quot;b&#10;c" roles="user"/>
            <user name="admin" password="secret" roles="user,administrator"/>
          </users>
        </deployment>
        """

    @Test func theDefaultsRenderExactly() {
        #expect(
            Deployment().canonicalXML() == """
                <?xml version="1.0" encoding="UTF-8"?>
                <deployment>
                  <cluster kfactor="0" sitesperhost="8"/>
                  <paths>
                    <commandlog path="command_log"/>
                    <commandlogsnapshot path="command_log_snapshot"/>
                    <droverflow path="dr_overflow"/>
                    <exportcursor path="export_cursor"/>
                    <exportoverflow path="export_overflow"/>
                    <largequeryswap path="large_query_swap"/>
                    <snapshots path="snapshots"/>
                  </paths>
                  <heartbeat timeout="90"/>
                  <partition-detection enabled="true"/>
                  <httpd enabled="true" port="8080">
                    <jsonapi enabled="true"/>
                  </httpd>
                  <snapshot enabled="false" frequency="24h" prefix="AUTOSNAP" retain="2"/>
                  <commandlog enabled="false" logsize="1024" synchronous="false">
                    <frequency time="200" transactions="2147483647"/>
                  </commandlog>
                  <systemsettings>
                    <elastic duration="50" throughput="2"/>
                    <procedure warningtimeout="10000"/>
                    <query timeout="10000"/>
                    <resourcemonitor frequency="60">
                      <memorylimit alert="70%" size="80%"/>
                    </resourcemonitor>
                    <snapshot priority="6"/>
                    <temptables maxsize="100"/>
                  </systemsettings>
                  <security enabled="false" provider="hash"/>
                </deployment>

                """)
    }

    @Test func theCanonicalTextReadsBackToTheSameSettingsWithoutWarnings() throws {
        let original = try Deployment.parse(Self.full).deployment
        let text = original.canonicalXML()
        let reread = try Deployment.parse(text)
        #expect(reread.warnings.isEmpty)
        #expect(reread.deployment.canonicalXML() == text)
        // Users come back sorted by name and roles sorted; every value is the same.
        #expect(reread.deployment.users.map(\.name) == ["admin", "zed"])
        #expect(reread.deployment.users[1].password == "a\"b\nc")
        var sorted = original
        sorted.users = sorted.users.sorted { $0.name < $1.name }.map { user in
            var user = user
            user.roles.sort()
            return user
        }
        #expect(reread.deployment == sorted)
        #expect(reread.deployment.configHash == original.configHash)
    }

    @Test func theDefaultsRoundTrip() throws {
        let reread = try Deployment.parse(Deployment().canonicalXML())
        #expect(reread.deployment == Deployment())
        #expect(reread.warnings.isEmpty)
    }

    @Test func theClusterScopeLeavesPathsOut() {
        let text = Deployment().canonicalXML(includingPaths: false)
        #expect(!text.contains("<paths>"))
        #expect(text.contains("<cluster kfactor=\"0\" sitesperhost=\"8\"/>"))
    }
}

@Suite struct ConfigHash {
    @Test func theHashIsSixtyFourHexDigitsAndStable() {
        let hash = Deployment().configHash
        #expect(hash.count == 64)
        #expect(hash.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(Deployment().configHash == hash)
        #expect(hash == SHA256.hex(Array(Deployment().canonicalXML(includingPaths: false).utf8)))
    }

    @Test func formattingCommentsAttributeOrderAndSpelledOutDefaultsDoNotChangeTheHash() throws {
        let terse = try Deployment.parse(#"<deployment><cluster kfactor="1"/><users><user name="a" password="p" roles="administrator,user"/><user name="b" password="q"/></users></deployment>"#)
        let verbose = try Deployment.parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- the same cluster, written differently -->
            <deployment>
                <users>
                    <user password="q"   name="b" />
                    <user roles=" User , ADMINISTRATOR " name="a" password="p" plaintext="true"/>
                </users>
                <cluster   kfactor = "1"
                           sitesperhost="8" />
                <heartbeat timeout="90"/>
                <systemsettings><elastic duration="50"/></systemsettings>
            </deployment>
            """)
        #expect(terse.deployment.configHash == verbose.deployment.configHash)
    }

    @Test func hostLocalPathsDoNotChangeTheHash() throws {
        let here = try Deployment.parse(#"<deployment><paths><snapshots path="/disk1/snap"/></paths></deployment>"#)
        #expect(here.deployment.configHash == Deployment().configHash)
        #expect(here.deployment.canonicalXML() != Deployment().canonicalXML())
    }

    @Test func hostcountDoesNotChangeTheHash() throws {
        let withCount = try Deployment.parse(#"<deployment><cluster hostcount="5"/></deployment>"#)
        #expect(withCount.deployment.configHash == Deployment().configHash)
    }

    @Test(arguments: [
        #"<cluster kfactor="1"/>"#, #"<cluster sitesperhost="7"/>"#, #"<heartbeat timeout="91"/>"#,
        #"<partition-detection enabled="false"/>"#, #"<httpd port="8081"/>"#, #"<httpd><jsonapi enabled="false"/></httpd>"#,
        #"<snapshot/>"#, #"<snapshot frequency="12h" enabled="false"/>"#, #"<commandlog/>"#,
        #"<commandlog enabled="false"><frequency transactions="1"/></commandlog>"#,
        #"<systemsettings><elastic throughput="3"/></systemsettings>"#,
        #"<systemsettings><query timeout="0"/></systemsettings>"#,
        #"<systemsettings><snapshot priority="5"/></systemsettings>"#,
        #"<systemsettings><resourcemonitor><memorylimit alert="71%"/></resourcemonitor></systemsettings>"#,
        #"<users><user name="a" password="p"/></users>"#,
    ])
    func anyChangedSettingChangesTheHash(body: String) throws {
        let changed = try Deployment.parse("<deployment>\(body)</deployment>")
        #expect(changed.deployment.configHash != Deployment().configHash)
    }
}

@Suite struct ConfigSHA256Vectors {
    // FIPS 180-4 examples (and the empty message).
    @Test func knownDigests() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func messagesAroundTheBlockBoundaryDigestDifferently() {
        let digests = Set((54...66).map { SHA256.hex([UInt8](repeating: 0x61, count: $0)) })
        #expect(digests.count == 13)
    }
}
