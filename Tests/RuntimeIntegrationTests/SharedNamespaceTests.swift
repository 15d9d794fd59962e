import Foundation
import OCI
import Testing

/// A container that joins another's namespaces by path, as containerd's pod containers join the
/// sandbox's: the init must really be inside them. setns(CLONE_NEWPID) moves only the caller's
/// children, so an init that merely called it stayed in the host's pid namespace (containers of a
/// pod then saw each other's processes as host pids, and critest's exec timeout spec failed).
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct SharedNamespaceTests {
    @Test(arguments: RuntimeUnderTest.all)
    func anInitJoiningAPidNamespaceIsInsideIt(runtime: RuntimeUnderTest) throws {
        let holder = try Bundle(args: ["/bin/sleep", "30"])
        try holder.writeSpec()
        #expect(try holder.detached(runtime, ["run", "-d", "--bundle", holder.dir, holder.id]).status == 0)
        let state = try holder.run(runtime, ["state", holder.id])
        let holderPID = (try? JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any])?["pid"] as? Int ?? 0
        try #require(holderPID > 0, "\(state.stderr)")
        let holderNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holderPID)/ns/pid")

        let joiner = try Bundle(args: ["/bin/sh", "-c",
                                       "/bin/busybox readlink /proc/self/ns/pid; echo pid $$; /bin/cat /proc/1/cmdline; echo"])
        let namespaces = joiner.spec.linux?.namespaces?.map {
            $0.type == "pid" ? RuntimeSpec.Namespace(type: "pid", path: "/proc/\(holderPID)/ns/pid") : $0
        }
        joiner.spec.linux?.namespaces = namespaces
        let out = try joiner.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == holderNS, "the init is not in the joined pid namespace: \(out.stdout)")
        // Its own pid is one of that namespace's (small), and its pid 1 is the holder's init.
        #expect(lines.dropFirst().first.map { $0 != "pid 1" && $0.count <= 6 } == true, "\(out.stdout)")
        #expect(lines.dropFirst(2).first?.hasPrefix("/bin/sleep") == true, "\(out.stdout)")
        _ = try holder.run(runtime, ["delete", "--force", holder.id])
    }
}
