import Foundation
import Testing

/// skiffctl's pod and container commands against a live skiffd with the test registry: run,
/// pods with filters, stats and statsp tables, and events streamed while it happens.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct SkiffctlPodTests {
    @Test func runStatsStatspAndEventsAsCrictlPrintsThem() async throws {
        let node = try await ContainerTests.Node()
        let endpoint = "unix://" + node.daemon.socket
        let dir = node.daemon.dir
        func skiffctl(_ args: [String]) throws -> CommandResult {
            try runCommand(Binaries.path("skiffctl"), ["-r", endpoint] + args, environment: ["CRI_CONFIG_FILE": dir + "/none.yaml"])
        }
        let podConfig = #"{"metadata": {"name": "cli-pod", "namespace": "tools", "uid": "u-cli"}, "log_directory": "\#(node.logs)/cli", "labels": {"tier": "x"},"#
            + #" "linux": {"security_context": {"namespace_options": {"network": 2}}}}"#
        try podConfig.write(toFile: dir + "/pod.json", atomically: true, encoding: .utf8)
        try #"{"metadata": {"name": "spin"}, "image": {"image": "\#(node.image)"}, "command": ["/bin/sh", "-c", "while true; do :; done"], "log_path": "spin.log"}"#
            .write(toFile: dir + "/container.json", atomically: true, encoding: .utf8)

        // Events, from a second skiffctl that streams them while the rest happens.
        let events = Process()
        events.executableURL = URL(fileURLWithPath: Binaries.path("skiffctl"))
        events.arguments = ["-r", endpoint, "events"]
        events.environment = ["CRI_CONFIG_FILE": dir + "/none.yaml"]
        let pipe = Pipe()
        events.standardOutput = pipe
        try events.run()
        try await Task.sleep(for: .milliseconds(500))

        let run = try skiffctl(["run", "container.json", "pod.json"].map { $0.hasSuffix(".json") ? dir + "/" + $0 : $0 })
        #expect(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64)
        let pods = try skiffctl(["pods", "-q", "--name", "cli", "--namespace", "tools", "--label", "tier=x"])
        let none = try skiffctl(["pods", "-q", "--label", "tier=y"])
        #expect(pods.stdout.split(separator: "\n").count == 1 && none.stdout.isEmpty)

        let stats = try skiffctl(["stats", "--id", id])
        let lines = stats.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.first == ["CONTAINER", "NAME", "CPU", "%", "MEM", "DISK", "INODES"], "\(stats.stdout)")
        // A busy loop: up to a core over the sampled second (a sleeping one shows 0; the suite's
        // parallel tests share the node's cores, so only "clearly busy" is asserted).
        #expect(lines.count == 2 && lines[1][1] == "spin" && (Double(lines[1][2]) ?? 0) > 10, "\(stats.stdout)")
        let json = try skiffctl(["stats", "-o", "json", "--id", id])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["stats"] as? [[String: Any]])?.count == 1, "\(json.stdout)")
        let statsp = try skiffctl(["statsp"])
        #expect(statsp.stdout.hasPrefix("POD") && statsp.stdout.contains("cli-pod"), "\(statsp.stdout) \(statsp.stderr)")
        // ps filters as crictl's: a name pattern, a state; metrics as JSON.
        #expect(try skiffctl(["ps", "-q", "--name", "^sp.n$"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(try skiffctl(["ps", "-q", "--name", "^spi$"]).stdout.isEmpty && skiffctl(["ps", "-q", "--state", "exited"]).stdout.isEmpty)
        #expect(try skiffctl(["ps", "--name", "("]).status != 0)
        let metrics = try skiffctl(["metricsp"])
        #expect(metrics.stdout.contains("\"container_cpu_usage_seconds_total\"") && metrics.stdout.contains(id), "\(metrics.stdout.prefix(500)) \(metrics.stderr)")
        #expect(try skiffctl(["metricdescs", "-o", "yaml"]).stdout.contains("container_memory_working_set_bytes"))

        #expect(try skiffctl(["rm", "-f", id]).status == 0)
        try await Task.sleep(for: .milliseconds(500))
        events.terminate()
        events.waitUntilExit()
        let streamed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let kinds = streamed.split(separator: "\n").filter { $0.contains("\"containerEventType\"") && $0.contains("CONTAINER_") }
            .map { $0.split(separator: "\"")[3] }
        // The pod's CREATED and STARTED, then the container's four.
        #expect(kinds == ["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT",
                          "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"], "\(streamed.prefix(3000))")
        // rmp wants ids or --all; --all --force stops and removes every pod (the package's prerm uses it).
        #expect(try skiffctl(["rmp"]).status != 0)
        let removed = try skiffctl(["rmp", "--all", "--force"])
        #expect(removed.status == 0 && removed.stdout.contains("Removed sandbox"), "\(removed.stderr)")
        #expect(try skiffctl(["pods", "-q"]).stdout.isEmpty)
    }
}
