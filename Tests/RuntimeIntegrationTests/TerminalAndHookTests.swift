import CShims
import Foundation
import Glibc
import LinuxKit
import OCI
import Testing

/// Terminals (console socket, foreground proxy), OCI hooks, and what the container's first exec
/// runs through.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct TerminalAndHookTests {
    /// Reads a pty master until the container side is gone (EIO) or `timeout` passes.
    func drain(_ master: Int32, timeout: Int32 = 10_000) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, timeout) > 0 {
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func theConsoleSocketGetsAPtyThatIsTheControllingTerminal(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe"])
        bundle.spec.process?.terminal = true
        try bundle.writeSpec()
        let path = bundle.dir + "/console.sock"
        let listener = try UnixSocket.bound(path: path, type: Int32(SOCK_STREAM.rawValue))
        defer { close(listener) }
        #expect(listen(listener, 1) == 0)
        let created = try bundle.detached(runtime, ["create", "--console-socket", path, "--bundle", bundle.dir, bundle.id])
        try #require(created.status == 0, "\(created.stderr)")
        // The runtime connected and sent the master before `create` returned: it is queued.
        let connection = accept(listener, nil, nil)
        defer { close(connection) }
        let master = cs_recv_fd(connection)
        try #require(master >= 0)
        defer { close(master) }
        #expect(try bundle.run(runtime, ["start", bundle.id]).status == 0)
        let report = Outcome(status: 0, stdout: drain(master), stderr: "")
        #expect(report.value("tty")?.hasPrefix("/dev/pts/") == true, "\(report.stdout)")
        #expect(report.value("ctty") == "yes")
        #expect(report.value("fds") == "0 1 2")
    }

    @Test func aForegroundRunWithATerminalCopiesThePtyToStdout() throws {
        let bundle = try Bundle(args: ["/probe"])
        bundle.spec.process?.terminal = true
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 0, "\(out.stderr)")
        let report = Outcome(status: 0, stdout: out.stdout.replacingOccurrences(of: "\r\n", with: "\n"), stderr: "")
        #expect(report.value("tty")?.hasPrefix("/dev/pts/") == true, "\(out.stdout)")
        #expect(report.value("ctty") == "yes")
    }

    @Test func aTerminalWithoutAConsoleSocketIsRefusedWhenDetached() throws {
        let bundle = try Bundle(args: ["/probe"])
        bundle.spec.process?.terminal = true
        try bundle.writeSpec()
        let out = try bundle.detached(.skiff, ["create", "--bundle", bundle.dir, bundle.id])
        #expect(out.status == 1)
        #expect(out.stderr.contains("process.terminal: a terminal needs a console socket"), "\(out.stderr)")
    }

    /// A hook that saves its stdin (the state) and its environment in the bundle.
    func recordingHook(_ bundle: Bundle, _ name: String) -> RuntimeSpec.Hook {
        RuntimeSpec.Hook(path: "/bin/sh", args: ["sh", "-c", "cat > \"$0/hook-$1.json\"; echo \"$MARK\" > \"$0/hook-$1.env\"", bundle.dir, name],
                         env: ["MARK=from-\(name)"], timeout: 10)
    }

    func hookState(_ bundle: Bundle, _ name: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: bundle.dir + "/hook-\(name).json") else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    @Test(arguments: RuntimeUnderTest.all)
    func hooksRunAtTheirStepsWithTheStateOnStdin(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        bundle.spec.hooks = RuntimeSpec.Hooks(
            prestart: [recordingHook(bundle, "prestart")], createRuntime: [recordingHook(bundle, "createRuntime")],
            poststart: [recordingHook(bundle, "poststart")], poststop: [recordingHook(bundle, "poststop")])
        try bundle.writeSpec()
        let created = try bundle.detached(runtime, ["create", "--bundle", bundle.dir, bundle.id])
        try #require(created.status == 0, "\(created.stderr)")
        if runtime.name == "skiff" {
            // The runtime spec: poststart after start. runc 1.1 runs it at the end of create.
            #expect(hookState(bundle, "poststart") == nil, "poststart runs at start, not create")
        }
        let state = try bundle.run(runtime, ["state", bundle.id])
        let pid = (try JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any])?["pid"] as? Int
        for name in ["prestart", "createRuntime"] {
            #expect(hookState(bundle, name)?["id"] as? String == bundle.id, "\(name)")
            #expect(hookState(bundle, name)?["pid"] as? Int == pid, "\(name)")
            #expect(try String(contentsOfFile: bundle.dir + "/hook-\(name).env", encoding: .utf8) == "from-\(name)\n")
        }
        #expect(try bundle.run(runtime, ["start", bundle.id]).status == 0)
        #expect(hookState(bundle, "poststart")?["id"] as? String == bundle.id)
        #expect(hookState(bundle, "poststop") == nil)
        #expect(try bundle.run(runtime, ["delete", "--force", bundle.id]).status == 0)
        #expect(hookState(bundle, "poststop")?["id"] as? String == bundle.id)
    }

    @Test(arguments: RuntimeUnderTest.all)
    func aFailingCreateRuntimeHookAbortsCreate(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        bundle.spec.hooks = RuntimeSpec.Hooks(createRuntime: [
            RuntimeSpec.Hook(path: "/bin/sh", args: ["sh", "-c", "echo no network for you >&2; exit 3"]),
        ])
        try bundle.writeSpec()
        let created = try bundle.detached(runtime, ["create", "--bundle", bundle.dir, bundle.id])
        #expect(created.status != 0)
        if runtime.name == "skiff" {
            #expect(created.stderr.contains("createRuntime[0] /bin/sh exited with status 3: no network for you"), "\(created.stderr)")
        }
        #expect(try bundle.run(runtime, ["state", bundle.id]).status != 0, "no container is left behind")
    }

    @Test func hooksInsideTheContainerAreRefusedByName() throws {
        let bundle = try Bundle(args: ["/probe"])
        bundle.spec.hooks = RuntimeSpec.Hooks(createContainer: [RuntimeSpec.Hook(path: "/bin/true")])
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 1)
        #expect(out.stderr.contains("hooks.createContainer: not supported"), "\(out.stderr)")
    }

    /// CVE-2019-5736's entry: a container program whose interpreter is /proc/self/exe. Before the
    /// container's first execve, /proc/self/exe is the runtime; skiff execs through a sealed
    /// trampoline first, so the interpreter is that throw-away image, which refuses the loop.
    @Test func aProcSelfExeInterpreterNeverReachesTheRuntimeBinary() throws {
        let bundle = try Bundle(args: ["/evil", "arg"])
        try "#!/proc/self/exe\n".write(toFile: bundle.rootfs + "/evil", atomically: true, encoding: .utf8)
        chmod(bundle.rootfs + "/evil", 0o755)
        let before = try Data(contentsOf: URL(fileURLWithPath: RuntimeUnderTest.skiff.path))
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 126, "\(out.stdout) \(out.stderr)")
        #expect(out.stderr.contains("skiff: cannot exec the container's program"), "\(out.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: RuntimeUnderTest.skiff.path)) == before)
    }
}
