import Foundation
import Glibc
import LinuxKit
import Testing

/// A container owns its cgroup: create refuses one that already has processes (delete would kill
/// them), and delete keeps the record when it cannot remove the cgroup, so nothing is left unowned.
@Suite(.enabled(if: isRoot, "needs root for namespaces and cgroups"))
struct CgroupOwnershipTests {
    static let v2Root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].first { FileManager.default.fileExists(atPath: $0 + "/cgroup.procs") && FileManager.default.fileExists(atPath: $0 + "/cgroup.controllers") } ?? "/sys/fs/cgroup"

    @Test func createRefusesACgroupThatAlreadyHasProcesses() throws {
        let bundle = try Bundle(args: ["/probe"])
        let dir = Self.v2Root + Bundle.cgroupsPath(bundle.id)
        #expect(mkdir(dir, 0o755) == 0)
        // A bystander: a process of ours placed in that cgroup.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        let bystander = sleeper.processIdentifier
        defer { kill(bystander, SIGKILL); usleep(50_000); rmdir(dir) }
        try "\(bystander)".write(toFile: dir + "/cgroup.procs", atomically: false, encoding: .utf8)
        let out = try bundle.runContainer(.skiff)
        #expect(out.status != 0)
        #expect(out.stderr.contains("already has 1 process"), "\(out.stderr)")
        #expect(kill(bystander, 0) == 0, "the bystander was killed")
    }

    @Test func deleteKeepsTheRecordWhenTheCgroupCannotGo() throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        #expect(try bundle.detached(.skiff, ["run", "-d", "--bundle", bundle.dir, bundle.id]).status == 0)
        // A child cgroup keeps the container's cgroup from being removed.
        let child = Self.v2Root + Bundle.cgroupsPath(bundle.id) + "/held"
        #expect(mkdir(child, 0o755) == 0)
        let failed = try bundle.run(.skiff, ["delete", "--force", bundle.id])
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("record is kept"), "\(failed.stderr)")
        #expect(try bundle.run(.skiff, ["state", bundle.id]).status == 0, "the record is gone")
        rmdir(child)
        let retried = try bundle.run(.skiff, ["delete", bundle.id])
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(try bundle.run(.skiff, ["state", bundle.id]).status != 0)
    }

    /// containerd hands `slice:prefix:id` whenever a pod's parent is a systemd slice. Without
    /// --systemd-cgroup runc takes it as a plain relative name; so does skiff (it once refused it).
    @Test func aSystemdStylePathIsANameForTheCgroupfsDriver() throws {
        let bundle = try Bundle(args: ["/probe"])
        let name = "skiff-test.slice:cri-containerd:" + bundle.id
        bundle.spec.linux?.cgroupsPath = name
        // Without a cgroup namespace, /proc/self/cgroup shows the path in the host's hierarchy.
        bundle.spec.linux?.namespaces?.removeAll { $0.type == "cgroup" }
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.values("cgroup").contains { $0.hasPrefix("0::/") && $0.hasSuffix("/" + name) }, "\(out.values("cgroup"))")
        _ = try bundle.run(.skiff, ["delete", "--force", bundle.id])
    }
}
