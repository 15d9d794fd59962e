import Foundation
import Glibc
import OCI
import Testing

/// pause/resume, update and events on a live container. Limits themselves are enforced in the VM
/// (this host's cgroup v2 tree has no memory, cpu or pids controller); what is checked here is what
/// any host shows: frozen processes, the device program swapped, and the commands' contracts.
@Suite(.enabled(if: isRoot, "needs root for namespaces and cgroups"))
struct ControlTests {
    /// A container appending a line to a host file every 20 ms, and that file.
    func counter(_ runtime: RuntimeUnderTest) throws -> (Bundle, String) {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "while :; do echo x >> /data/count; /bin/busybox usleep 20000; done"])
        let data = bundle.dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/data", type: "bind", source: data, options: ["rbind", "rw"]))
        try bundle.writeSpec()
        let started = try bundle.detached(runtime, ["run", "-d", "--bundle", bundle.dir, bundle.id])
        try #require(started.status == 0, "\(started.stderr)")
        return (bundle, data + "/count")
    }

    func size(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }

    func status(_ runtime: RuntimeUnderTest, _ bundle: Bundle) throws -> String? {
        let out = try bundle.run(runtime, ["state", bundle.id])
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        return json?["status"] as? String
    }

    @Test(arguments: RuntimeUnderTest.all)
    func pauseFreezesEveryProcessAndResumeThawsThem(runtime: RuntimeUnderTest) throws {
        let (bundle, count) = try counter(runtime)
        usleep(200_000)
        let paused = try bundle.run(runtime, ["pause", bundle.id])
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(try status(runtime, bundle) == "paused")
        let frozenAt = size(count)
        usleep(300_000)
        #expect(size(count) == frozenAt, "the container kept running while paused")
        #expect(try bundle.run(runtime, ["pause", bundle.id]).status != 0 || runtime.name == "runc", "pausing twice is refused")
        let resumed = try bundle.run(runtime, ["resume", bundle.id])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try status(runtime, bundle) == "running")
        usleep(300_000)
        #expect(size(count) > frozenAt, "the container did not resume")
        #expect(try bundle.run(runtime, ["resume", bundle.id]).status != 0, "resuming a running container is refused")
        // A paused container can still be removed.
        _ = try bundle.run(runtime, ["pause", bundle.id])
        let deleted = try bundle.run(runtime, ["delete", "--force", bundle.id])
        #expect(deleted.status == 0, "\(deleted.stderr)")
    }

    @Test func updateReplacesTheDeviceFilter() throws {
        let disk = try #require(DeviceFilterTests.disk, "no block device on this machine")
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try #require(mknod(bundle.rootfs + "/shipped", S_IFBLK | 0o600, DeviceFilterTests.makedev(disk.major, disk.minor)) == 0)
        try bundle.writeSpec()
        #expect(try bundle.detached(.skiff, ["run", "-d", "--bundle", bundle.dir, bundle.id]).status == 0)
        #expect(try bundle.run(.skiff, ["exec", bundle.id, "/probe", "read", "/shipped"]).stdout.contains("error:1"))
        let rules = #"{"devices":[{"allow":true,"type":"b","major":\#(disk.major),"minor":\#(disk.minor),"access":"r"}]}"#
        try rules.write(toFile: bundle.dir + "/resources.json", atomically: true, encoding: .utf8)
        let updated = try bundle.run(.skiff, ["update", "--resources", bundle.dir + "/resources.json", bundle.id])
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(try bundle.run(.skiff, ["exec", bundle.id, "/probe", "read", "/shipped"]).stdout.contains("ok:"))
        // Back to the defaults: the allowance goes again.
        try #"{"devices":[]}"#.write(toFile: bundle.dir + "/resources.json", atomically: true, encoding: .utf8)
        #expect(try bundle.run(.skiff, ["update", "-r", bundle.dir + "/resources.json", bundle.id]).status == 0)
        #expect(try bundle.run(.skiff, ["exec", bundle.id, "/probe", "read", "/shipped"]).stdout.contains("error:1"))
    }

    @Test func updateRefusesWhatItCannotDo() throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        #expect(try bundle.detached(.skiff, ["run", "-d", "--bundle", bundle.dir, bundle.id]).status == 0)
        let badSize = try bundle.run(.skiff, ["update", "--memory", "12x", bundle.id])
        #expect(badSize.status == 1 && badSize.stderr.contains("invalid size '12x'"), "\(badSize.stderr)")
        let realtime = try bundle.run(.skiff, ["update", "--cpu-rt-runtime", "950000", bundle.id])
        #expect(realtime.status == 1 && realtime.stderr.contains("realtime"), "\(realtime.stderr)")
        let badJSON = try bundle.run(.skiff, ["update", "-r", "/dev/null", bundle.id])
        #expect(badJSON.status == 1 && badJSON.stderr.contains("invalid resources JSON"), "\(badJSON.stderr)")
        _ = try bundle.run(.skiff, ["delete", "--force", bundle.id])
        let gone = try bundle.run(.skiff, ["update", "--pids-limit", "10", bundle.id])
        #expect(gone.status == 1 && gone.stderr.contains("does not exist"), "\(gone.stderr)")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func eventsStatsPrintsOneLineOfUsage(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try counter(runtime)
        usleep(100_000)
        let out = try bundle.run(runtime, ["events", "--stats", bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let json = try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any]
        #expect(json?["type"] as? String == "stats")
        #expect(json?["id"] as? String == bundle.id)
        let data = json?["data"] as? [String: Any]
        let cpu = (data?["cpu"] as? [String: Any])?["usage"] as? [String: Any]
        #expect((cpu?["total"] as? Int ?? 0) > 0, "\(out.stdout)")
        _ = try bundle.run(runtime, ["delete", "--force", bundle.id])
        #expect(try bundle.run(runtime, ["events", "--stats", bundle.id]).status != 0)
    }

    @Test(arguments: RuntimeUnderTest.all)
    func psListsTheContainersProcessesAsJSON(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try counter(runtime)
        let out = try bundle.run(runtime, ["ps", "--format", "json", bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        let pids = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [Int]
        #expect((pids?.count ?? 0) >= 1, "\(out.stdout)")
    }

    /// The OCI features document, in the specification's shape (version strings, a linux section).
    @Test(arguments: RuntimeUnderTest.all)
    func featuresFollowTheSpecification(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        let out = try bundle.run(runtime, ["features"])
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        #expect(json?["ociVersionMin"] is String && json?["ociVersionMax"] is String)
        let linux = json?["linux"] as? [String: Any]
        #expect((linux?["namespaces"] as? [String])?.contains("cgroup") == true)
        #expect((linux?["capabilities"] as? [String])?.contains("CAP_SYS_ADMIN") == true)
        if runtime.name == "skiff" {
            #expect((linux?["cgroup"] as? [String: Bool]) == ["v1": false, "v2": true, "systemd": true, "systemdUser": false])
            #expect(((linux?["seccomp"] as? [String: Any])?["actions"] as? [String])?.contains("SCMP_ACT_ERRNO") == true)
        }
    }
}
