import Foundation
import Testing

/// skiffctl against a live skiffd, checking the crictl output formats people script against.
@Suite struct SkiffctlEndToEndTests {
    func skiffctl(_ daemon: DaemonHarness, _ args: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try runCommand(Binaries.path("skiffctl"), args, environment: environment.merging(["CRI_CONFIG_FILE": daemon.dir + "/none.yaml"]) { a, _ in a })
    }

    @Test func versionPrintsCrictlsFourLines() async throws {
        let daemon = try await DaemonHarness()
        let result = try runCommand(Binaries.path("skiffctl"), ["-r", "unix://" + daemon.socket, "version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Version:  0.1.0\nRuntimeName:  skiff\nRuntimeVersion:  0.1.0\nRuntimeApiVersion:  v1\n")
    }

    @Test func infoPrintsStatusAndVerboseInfoAsJSONAndYAML() async throws {
        let daemon = try await DaemonHarness()
        let json = try runCommand(Binaries.path("skiffctl"), ["info", "--runtime-endpoint", "unix://" + daemon.socket])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let conditions = (object?["status"] as? [String: Any])?["conditions"] as? [[String: Any]]
        #expect(conditions?.count == 2)
        #expect(conditions?.first?["reason"] as? String == "")
        #expect((object?["config"] as? [String: Any])?["root"] as? String == daemon.root)

        let yaml = try runCommand(Binaries.path("skiffctl"), ["info", "-q", "-o", "yaml"],
                                  environment: ["CONTAINER_RUNTIME_ENDPOINT": "unix://" + daemon.socket])
        #expect(yaml.status == 0, "\(yaml.stderr)")
        // crictl's keys in order: the handlers' features, then the handlers, then the status.
        #expect(yaml.stdout.hasPrefix("features:\n  supplemental_groups_policy: true\nruntimeHandlers:\n"), "\(yaml.stdout)")
        #expect(yaml.stdout.contains("\nstatus:\n  conditions:\n  - message: \"\"\n    reason: \"\"\n    status: true\n    type: RuntimeReady\n"))
        #expect(!yaml.stdout.contains("config:"))
    }

    @Test func runtimeConfigAndImageFsInfoUseTheConfigFileEndpoint() async throws {
        let daemon = try await DaemonHarness()
        let configFile = daemon.dir + "/skiffctl.yaml"
        try "runtime-endpoint: unix://\(daemon.socket)\ntimeout: 5\n".write(toFile: configFile, atomically: true, encoding: .utf8)
        let runtimeConfig = try runCommand(Binaries.path("skiffctl"), ["--config", configFile, "runtime-config"])
        #expect(runtimeConfig.stdout == "cgroup driver:   CGROUPFS\n", "\(runtimeConfig.stderr)")

        let table = try runCommand(Binaries.path("skiffctl"), ["imagefsinfo", "-o", "table"], environment: ["CRI_CONFIG_FILE": configFile])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first == "Container Filesystem ")
        #expect(lines.contains { $0.hasPrefix("Mountpoint[0]: \(daemon.root)") })
        #expect(lines.contains("Image Filesystem "))

        let json = try runCommand(Binaries.path("skiffctl"), ["-c", configFile, "imagefsinfo"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let image = ((object?["status"] as? [String: Any])?["imageFilesystems"] as? [[String: Any]])?.first
        #expect((image?["usedBytes"] as? [String: Any])?["value"] is String)
    }

    @Test func aFailedCallPrintsTheGRPCCodeAndExitsNonZero() throws {
        let result = try runCommand(Binaries.path("skiffctl"), ["-r", "unix:///nonexistent/skiff.sock", "-t", "2s", "version"],
                                    environment: ["CRI_CONFIG_FILE": "/nonexistent.yaml"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("rpc error: code = Unavailable desc = "), "\(result.stderr)")
    }

    @Test func aBadEndpointIsRefusedBeforeAnyCall() throws {
        let result = try runCommand(Binaries.path("skiffctl"), ["-r", "tcp://127.0.0.1:1", "version"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("only unix:// endpoints are supported"))
    }
}
