import Foundation
import LinuxKit
import Glibc
import OCI
import Testing

/// skiff's cgroup v2 handling on the host it runs on (skiff only: runc 1.1 uses v1 on a hybrid host).
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct CgroupTests {
    static let v2Root: String? = {
        let text = FileSystem.mountInfo()
        for line in text.split(separator: "\n") where line.contains(" - cgroup2 ") {
            return String(line.split(separator: " ")[4])
        }
        return nil
    }()

    @Test func theContainerIsBornInItsCgroupWhichGoesWithIt() throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        let run = try runProcess("/bin/sh", ["-c", "exec \"$0\" --root \"$1\" run -d --bundle \"$2\" \"$3\" </dev/null >/dev/null 2>&1",
                                             RuntimeUnderTest.skiff.path, bundle.stateRoot, bundle.dir, bundle.id])
        #expect(run.status == 0)
        let dir = try #require(Self.v2Root) + Bundle.cgroupsPath(bundle.id)
        let state = try bundle.run(.skiff, ["state", bundle.id])
        let pid = (try JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any])?["pid"] as? Int
        let procs = try String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)
        #expect(procs.split(separator: "\n").map(String.init) == [String(pid ?? -1)])
        #expect(try bundle.run(.skiff, ["kill", "--all", bundle.id, "KILL"]).status == 0)
        #expect(try bundle.run(.skiff, ["delete", "--force", bundle.id]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test func aLimitIsEnforcedOrItsMissingControllerNamed() throws {
        let bundle = try Bundle(args: ["/bin/cat", "/sys/fs/cgroup/memory.max"])
        bundle.spec.linux?.resources = RuntimeSpec.Resources()
        bundle.spec.linux?.resources?.memory = RuntimeSpec.Memory(limit: 64 << 20)
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup", options: ["nosuid", "noexec", "nodev"]))
        let root = try #require(Self.v2Root)
        let controllers = (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
        let out = try bundle.runContainer(.skiff)
        if controllers.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "memory" }) {
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stdout == "\(64 << 20)\n")
        } else {
            #expect(out.status != 0)
            #expect(out.stderr.contains("cgroup: the memory controller is not available in \(root)"), "\(out.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root + Bundle.cgroupsPath(bundle.id)), "a refused create leaves no cgroup")
        }
    }
}
