import Foundation
import Glibc
import OCI
import Testing

/// Bundles as other tools write them, not as `skiff spec` does: `runc spec`'s default (a `cgroup`
/// mount at /sys/fs/cgroup, ambient capabilities without inheritable ones, a deny-all device rule).
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct ClientBundleTests {
    /// Replaces the bundle's config.json with the one `runc spec` writes, made to run the probe.
    func useRuncSpec(_ bundle: Bundle, args: [String], edit: (inout [String: Any]) -> Void = { _ in }) throws {
        let runc = RuntimeUnderTest.all.first { $0.name == "runc" }
        try #require(runc != nil, "runc is the source of this bundle")
        try? FileManager.default.removeItem(atPath: bundle.dir + "/config.json")
        let generated = try runProcess(runc!.path, ["spec", "--bundle", bundle.dir])
        try #require(generated.status == 0, "\(generated.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: bundle.dir + "/config.json"))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var process = json["process"] as? [String: Any] ?? [:]
        process["terminal"] = false
        process["args"] = args
        json["process"] = process
        var linux = json["linux"] as? [String: Any] ?? [:]
        linux["cgroupsPath"] = Bundle.cgroupsPath(bundle.id)
        json["linux"] = linux
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: bundle.dir + "/config.json"))
    }

    func mountLine(_ out: Outcome, at target: String) -> String? {
        out.values("mount").first { $0.split(separator: " ").dropFirst().first.map(String.init) == target }
    }

    @Test(arguments: RuntimeUnderTest.all)
    func runcsDefaultBundleStarts(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        try useRuncSpec(bundle, args: ["/probe"])
        let out = try bundle.run(runtime, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(mountLine(out, at: "/sys/fs/cgroup") != nil, "\(out.stdout)")
        if runtime.name == "skiff" {
            // cgroup v2 only, and read-only as asked.
            let line = mountLine(out, at: "/sys/fs/cgroup") ?? ""
            #expect(line.split(separator: " ").dropFirst(2).first == "cgroup2", "\(line)")
            #expect(line.split(separator: " ").dropFirst(3).first?.hasPrefix("ro") == true, "\(line)")
            // Ambient capabilities need inheritable ones: dropped with a warning, as runc does.
            #expect(out.value("CapAmb") == "0000000000000000")
            #expect(out.stderr.contains("ambient capabilities"), "\(out.stderr)")
        }
    }

    @Test func withoutACgroupNamespaceTheMountIsTheContainersOwnCgroup() throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "/probe; echo procs $(/bin/busybox wc -l < /sys/fs/cgroup/cgroup.procs); /probe write /sys/fs/cgroup/x"])
        try useRuncSpec(bundle, args: bundle.spec.process?.args ?? [])
        let out = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        // The shell and the command it runs: the host's root cgroup would list every process.
        let procs = Int(out.value("procs") ?? "") ?? 0
        #expect((1...3).contains(procs), "\(out.stdout)")
        #expect(out.stdout.contains("write /sys/fs/cgroup/x error:30"), "read-only: \(out.stdout)")
    }

    @Test func inACgroupNamespaceTheMountShowsItsRoot() throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "/probe; echo procs $(/bin/busybox wc -l < /sys/fs/cgroup/cgroup.procs)"])
        try useRuncSpec(bundle, args: bundle.spec.process?.args ?? []) { json in
            var linux = json["linux"] as? [String: Any] ?? [:]
            var namespaces = linux["namespaces"] as? [[String: Any]] ?? []
            namespaces.append(["type": "cgroup"])
            linux["namespaces"] = namespaces
            json["linux"] = linux
        }
        let out = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.values("cgroup").contains("0::/"), "\(out.stdout)")
        let line = mountLine(out, at: "/sys/fs/cgroup") ?? ""
        #expect(line.hasPrefix("cgroup2 /sys/fs/cgroup cgroup2 ro"), "\(line)")
        let procs = Int(out.value("procs") ?? "") ?? 0
        #expect((1...3).contains(procs), "\(out.stdout)")
    }
}
