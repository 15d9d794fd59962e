import Foundation
import Glibc
import OCI
import Testing

/// `exec` and `ps` on a running container, under skiff and runc.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct ExecTests {
    /// A container whose init sleeps, started detached; returns the bundle and the init's pid.
    func runningContainer(_ runtime: RuntimeUnderTest, configure: (Bundle) -> Void = { _ in }) throws -> (Bundle, Int32) {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        bundle.spec.process?.env = ["PATH=/bin", "HOME=/", "FROM_SPEC=1"]
        configure(bundle)
        try bundle.writeSpec()
        let started = try bundle.detached(runtime, ["run", "-d", "--bundle", bundle.dir, bundle.id])
        try #require(started.status == 0, "\(started.stderr)")
        let state = try bundle.run(runtime, ["state", bundle.id])
        let json = try JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any]
        let pid = Int32(json?["pid"] as? Int ?? 0)
        try #require(pid > 0)
        return (bundle, pid)
    }

    func namespaces(of pid: Int32) -> [String] {
        ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup"].compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\($0)")
        }
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execJoinsEveryNamespaceAndTheCgroup(runtime: RuntimeUnderTest) throws {
        let (bundle, initPid) = try runningContainer(runtime)
        let out = try bundle.run(runtime, ["exec", bundle.id, "/probe"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.values("ns") == namespaces(of: initPid))
        // Inside the container's pid namespace: the init is 1, so the exec'd process is small.
        let pid = Int(out.value("pid") ?? "") ?? 0
        #expect(pid > 1 && pid < 100, "pid \(pid)")
        #expect(out.values("env").contains("FROM_SPEC=1"), "exec starts from the container's process")
        // Only stdio reaches the process.
        #expect(out.value("fds") == "0 1 2")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execFlagsOverrideUserCwdAndEnvironment(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try runningContainer(runtime)
        let out = try bundle.run(runtime, ["exec", "--user", "1000:1001", "--additional-gids", "7", "--cwd", "/tmp",
                                           "--env", "ADDED=yes", bundle.id, "/probe"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("uid") == "1000")
        #expect(out.value("gid") == "1001")
        #expect(out.value("groups") == "7")
        #expect(out.value("cwd") == "/tmp")
        #expect(out.values("env").contains("ADDED=yes"))
        #expect(out.values("env").contains("FROM_SPEC=1"))
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execReturnsTheProcessExitStatus(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try runningContainer(runtime)
        let out = try bundle.run(runtime, ["exec", bundle.id, "/probe", "exit", "7"])
        #expect(out.status == 7)
        #expect(try bundle.run(runtime, ["exec", bundle.id, "/probe", "exit", "1"]).status == 1)
        // exec's own failure is 255, apart from any status the process could have.
        let missing = try bundle.run(runtime, ["exec", bundle.id, "/no/such/program"])
        #expect(missing.status == 255, "\(missing.status) \(missing.stderr)")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execRunsAProcessFile(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try runningContainer(runtime)
        var process = RuntimeSpec.Process(user: .init(uid: 42, gid: 43), args: ["/probe"], env: ["ONLY=this"], cwd: "/bin")
        process.noNewPrivileges = true
        let path = bundle.dir + "/process.json"
        try JSONEncoder().encode(process).write(to: URL(fileURLWithPath: path))
        let out = try bundle.run(runtime, ["exec", "--process", path, bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("uid") == "42")
        #expect(out.value("cwd") == "/bin")
        // runc adds HOME when the process has none; what matters is that the spec's env is not used.
        #expect(out.values("env").contains("ONLY=this"))
        #expect(!out.values("env").contains("FROM_SPEC=1"))
        #expect(out.value("NoNewPrivs") == "1")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execDetachedWritesThePidAndPsListsIt(runtime: RuntimeUnderTest) throws {
        let (bundle, initPid) = try runningContainer(runtime)
        let pidFile = bundle.dir + "/exec.pid"
        let out = try bundle.detached(runtime, ["exec", "-d", "--pid-file", pidFile, bundle.id, "/probe", "sleep"])
        #expect(out.status == 0, "\(out.stderr)")
        let execPid = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(execPid > 0 && execPid != initPid)
        // Same cgroup as the init, seen from the host.
        let cgroup = { (pid: Int32) in try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) }
        let unified = { (pid: Int32) in cgroup(pid)?.split(separator: "\n").first { $0.hasPrefix("0::") } }
        #expect(unified(execPid) != nil && unified(execPid) == unified(initPid))
        let ps = try bundle.run(runtime, ["ps", "--format", "json", bundle.id])
        #expect(ps.status == 0, "\(ps.stderr)")
        let pids = (try? JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [Int]) ?? []
        #expect(Set(pids) == [Int(initPid), Int(execPid)], "\(ps.stdout)")
        let table = try bundle.run(runtime, ["ps", bundle.id])
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.contains("PID") == true)
        #expect(lines.count == 3, "\(table.stdout)")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execInAStoppedContainerFails(runtime: RuntimeUnderTest) throws {
        let (bundle, _) = try runningContainer(runtime)
        _ = try bundle.run(runtime, ["kill", bundle.id, "KILL"])
        for _ in 0..<200 where !(try bundle.run(runtime, ["state", bundle.id])).stdout.contains("stopped") { usleep(10_000) }
        let out = try bundle.run(runtime, ["exec", bundle.id, "/probe"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("stopped"), "\(out.stderr)")
    }

    @Test func execInAMissingContainerNamesIt() throws {
        let bundle = try Bundle()
        let out = try bundle.run(.skiff, ["exec", "nosuch", "/probe"])
        #expect(out.status == 255, "as runc: exec failed")
        #expect(out.stderr.contains("container nosuch does not exist"), "\(out.stderr)")
    }
}
