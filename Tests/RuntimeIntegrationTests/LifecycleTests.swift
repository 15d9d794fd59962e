import Foundation
import OCI
import Testing

/// create → start → kill → delete, and the state each step leaves, under skiff and runc.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct LifecycleTests {
    func state(_ bundle: Bundle, _ runtime: RuntimeUnderTest) throws -> [String: Any]? {
        let out = try bundle.run(runtime, ["state", bundle.id])
        return try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
    }

    @Test(arguments: RuntimeUnderTest.all)
    func createStartKillDelete(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        let created = try bundle.detached(runtime, ["create", "--bundle", bundle.dir, "--pid-file", bundle.dir + "/pid", bundle.id])
        #expect(created.status == 0, "\(created.stderr)")
        var state = try state(bundle, runtime)
        #expect(state?["status"] as? String == "created")
        let pid = state?["pid"] as? Int ?? 0
        #expect(pid > 0)
        #expect(try String(contentsOfFile: bundle.dir + "/pid", encoding: .utf8) == "\(pid)")
        #expect(state?["id"] as? String == bundle.id)
        #expect(state?["bundle"] as? String == bundle.dir)

        let started = try bundle.run(runtime, ["start", bundle.id])
        #expect(started.status == 0, "\(started.stderr)")
        state = try self.state(bundle, runtime)
        #expect(state?["status"] as? String == "running")
        #expect(try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8).hasPrefix("/probe"))

        let refused = try bundle.run(runtime, ["delete", bundle.id])
        #expect(refused.status != 0, "deleting a running container needs --force")

        let killed = try bundle.run(runtime, ["kill", bundle.id, "KILL"])
        #expect(killed.status == 0, "\(killed.stderr)")
        for _ in 0..<200 where (try self.state(bundle, runtime))?["status"] as? String != "stopped" { usleep(10_000) }
        #expect(try self.state(bundle, runtime)?["status"] as? String == "stopped")
        // A stopped init cannot be signalled, but `kill --all` (what containerd's shim sends for the
        // init's leftovers once it exited) still succeeds; skiff once refused it and containerd
        // then never marked the container exited.
        let stoppedKill = try bundle.run(runtime, ["kill", bundle.id, "KILL"])
        #expect(stoppedKill.status != 0)
        // containerd's shim recognises an exited container by runc's words.
        #expect(stoppedKill.stderr.contains("container not running"), "\(stoppedKill.stderr)")
        let killAll = try bundle.run(runtime, ["kill", "--all", bundle.id, "KILL"])
        #expect(killAll.status == 0, "\(killAll.stderr)")

        let deleted = try bundle.run(runtime, ["delete", bundle.id])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let gone = try bundle.run(runtime, ["state", bundle.id])
        #expect(gone.status != 0)
        #expect(gone.stderr.contains("does not exist"))
    }

    @Test(arguments: RuntimeUnderTest.all)
    func deleteForceStopsARunningContainerAndListForgetsIt(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        let run = try bundle.detached(runtime, ["run", "--detach", "--bundle", bundle.dir, bundle.id])
        #expect(run.status == 0, "\(run.stderr)")
        let listed = try bundle.run(runtime, ["list", "--format", "json"])
        #expect(listed.stdout.contains(bundle.id))
        let pid = try state(bundle, runtime)?["pid"] as? Int ?? 0
        #expect(pid > 0)
        #expect(try bundle.run(runtime, ["delete", "--force", bundle.id]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)/cmdline") || (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("/probe") != true)
        #expect(try bundle.run(runtime, ["list", "-q"]).stdout.isEmpty)
    }

    @Test func startingTwiceIsRefused() throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        #expect(try bundle.detached(.skiff, ["run", "-d", "--bundle", bundle.dir, bundle.id]).status == 0)
        let again = try bundle.run(.skiff, ["start", bundle.id])
        #expect(again.status != 0)
        #expect(again.stderr.contains("cannot start container \(bundle.id): it is running"))
    }

    @Test func aSecondContainerWithTheSameIdIsRefused() throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        #expect(try bundle.detached(.skiff, ["create", "--bundle", bundle.dir, bundle.id]).status == 0)
        let again = try bundle.detached(.skiff, ["create", "--bundle", bundle.dir, bundle.id])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"))
    }
}
