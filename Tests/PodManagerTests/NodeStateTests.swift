import Foundation
import PodNetwork
import SkiffConfig
import Testing
@testable import PodManager

@Suite struct NodeStateTests {
    func scratchDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-cni-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func node(cniDir: String) -> NodeState {
        var config = SkiffConfiguration()
        config.cni.confDir = cniDir
        return NodeState(config: config)
    }

    @Test func networkIsNotReadyUntilAConfigExists() async throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let state = node(cniDir: dir)

        var conditions = await state.conditions()
        #expect(conditions.map(\.type) == ["RuntimeReady", "NetworkReady"])
        #expect(conditions[0].status)
        #expect(!conditions[1].status)
        #expect(conditions[1].reason == "NetworkPluginNotReady")
        #expect(conditions[1].message.contains("no network config found in \(dir)"))

        try "not json".write(toFile: dir + "/05-broken.conf", atomically: true, encoding: .utf8)
        conditions = await state.conditions()
        #expect(!conditions[1].status)
        #expect(conditions[1].message.contains("05-broken.conf: not a JSON object"))

        try #"{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"bridge"}]}"#
            .write(toFile: dir + "/10-pods.conflist", atomically: true, encoding: .utf8)
        conditions = await state.conditions()
        #expect(conditions[1].status)
        #expect(conditions[1].reason == "")
    }

    @Test func theLexicallyFirstUsableConfigWins() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"name":"second","type":"bridge"}"#.write(toFile: dir + "/20-b.conf", atomically: true, encoding: .utf8)
        try #"{"name":"first","type":"ptp"}"#.write(toFile: dir + "/10-a.json", atomically: true, encoding: .utf8)
        try #"{"name":"ignored","type":"ptp"}"#.write(toFile: dir + "/00-a.txt", atomically: true, encoding: .utf8)
        #expect(CNIConfigDirectory.readiness(of: dir) == .ready(file: dir + "/10-a.json", network: "first"))
    }

    @Test(arguments: ["10.88.0.0/16", "fd00::/64", "10.88.0.0/16,fd00::/64", "", " 10.1.0.0/24 "])
    func validPodCIDRsAreAccepted(cidr: String) async throws {
        let state = node(cniDir: "/nonexistent")
        try await state.updatePodCIDR(cidr)
        #expect(await state.podCIDR == cidr.trimmingCharacters(in: .whitespaces))
    }

    // The NUL case once passed: inet_pton stopped reading at the NUL and saw "10.88.0.0".
    @Test(arguments: ["10.88.0.0", "10.88.0.0/33", "fd00::/129", "bogus/8", "10.0.0.0/16,", "10.0.0.0/+8",
                      "10.88.0.0\u{0}junk/16", "10.88.0.0\u{0}/16"])
    func invalidPodCIDRsAreRejectedNamingTheField(cidr: String) async {
        let state = node(cniDir: "/nonexistent")
        await #expect(throws: PodManagerError.self) { try await state.updatePodCIDR(cidr) }
        #expect(await state.podCIDR == "")
    }
}
