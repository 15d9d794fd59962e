import Foundation
import Glibc
import Testing

/// The class of runc's CVE-2024-21626: a descriptor open on the host while the child resolves the
/// config's paths lets a `cwd` (or a program path) through `/proc/self/fd/N` start the container
/// outside its root. The runtime under test is given a descriptor of the host's `/` on fd 7, as a
/// careless caller would leak it, and a cgroup directory of its own; neither may be reachable.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct DescriptorEscapeTests {
    /// Runs `runtime <args>` with the host's root directory open on fd 7 (not close-on-exec).
    func runWithHostRootOpen(_ runtime: RuntimeUnderTest, _ bundle: Bundle, _ args: [String]) throws -> Outcome {
        try runProcess("/bin/sh", ["-c", "r=\"$0\"; root=\"$1\"; shift; exec 7</; exec \"$r\" --root \"$root\" \"$@\"",
                                   runtime.path, bundle.stateRoot] + args)
    }

    /// A marker the escaped process would create in the host's /tmp, reached by `..` from its cwd.
    func marker(_ bundle: Bundle) -> (host: String, relative: String) {
        let name = "skiff-escape-" + bundle.id
        return ("/tmp/" + name, String(repeating: "../", count: 12) + "tmp/" + name)
    }

    static let hostileCwds = ["/proc/self/fd/7", "/proc/self/fd/3", "/proc/self/fd/4", "/proc/self/fd/5",
                              "/proc/self/fd/6", "/proc/self/fd/8", "/proc/self/fd/9", "/proc/self/fd/10",
                              "/proc/self/cwd", "/proc/self/root/..", "/proc/1/cwd", "/proc/thread-self/fd/7"]

    @Test(arguments: RuntimeUnderTest.all)
    func initCwdThroughProcNeverLeavesTheRoot(runtime: RuntimeUnderTest) throws {
        for cwd in Self.hostileCwds {
            let bundle = try Bundle()
            let (host, relative) = marker(bundle)
            bundle.spec.process?.cwd = cwd
            bundle.spec.process?.args = ["/probe", "write", relative]
            try bundle.writeSpec()
            let out = try runWithHostRootOpen(runtime, bundle, ["run", "--bundle", bundle.dir, bundle.id])
            let escaped = access(host, F_OK) == 0
            unlink(host)
            #expect(!escaped, "cwd \(cwd): the container wrote \(host) on the host (\(out.stdout))")
            // Refused, or started inside the container (where the write lands in its own /tmp).
            #expect(out.status != 0 || out.stdout.contains("ok"), "cwd \(cwd): \(out.stdout) \(out.stderr)")
        }
    }

    @Test(arguments: RuntimeUnderTest.all)
    func execCwdThroughProcNeverLeavesTheRoot(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "sleep"])
        try bundle.writeSpec()
        let started = try bundle.detached(runtime, ["run", "-d", "--bundle", bundle.dir, bundle.id])
        try #require(started.status == 0, "\(started.stderr)")
        let (host, relative) = marker(bundle)
        for cwd in Self.hostileCwds {
            let out = try runWithHostRootOpen(runtime, bundle, ["exec", "--cwd", cwd, bundle.id, "/probe", "write", relative])
            let escaped = access(host, F_OK) == 0
            unlink(host)
            #expect(!escaped, "exec cwd \(cwd): the process wrote \(host) on the host (\(out.stdout))")
        }
    }

    @Test(arguments: RuntimeUnderTest.all)
    func programPathThroughALeakedDescriptorIsNotFound(runtime: RuntimeUnderTest) throws {
        // fd 7 is the host's /: "/proc/self/fd/7/bin/busybox" would run the host's (static) busybox.
        let bundle = try Bundle(args: ["/proc/self/fd/7/bin/busybox", "echo", "escaped"])
        try bundle.writeSpec()
        let out = try runWithHostRootOpen(runtime, bundle, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(out.status != 0 && !out.stdout.contains("escaped"), "a host program ran: \(out.stdout)")
    }

    /// What the container's processes hold, seen from inside: stdio and nothing else, whatever
    /// the runtime's caller left open; with --preserve-fds 1, fd 3 as well.
    @Test(arguments: RuntimeUnderTest.all)
    func initAndExecHoldOnlyTheirStdio(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        try bundle.writeSpec()
        let first = try runWithHostRootOpen(runtime, bundle, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.value("fds") == "0 1 2")
        _ = try bundle.run(runtime, ["delete", "--force", bundle.id])

        let preserved = try runProcess("/bin/sh", ["-c", "r=\"$0\"; root=\"$1\"; shift; exec 3</dev/null 7</; exec \"$r\" --root \"$root\" \"$@\"",
                                                   runtime.path, bundle.stateRoot, "run", "--preserve-fds", "1", "--bundle", bundle.dir, bundle.id])
        #expect(preserved.status == 0, "\(preserved.stderr)")
        #expect(preserved.value("fds") == "0 1 2 3")
        _ = try bundle.run(runtime, ["delete", "--force", bundle.id])

        bundle.spec.process?.args = ["/probe", "sleep"]
        try bundle.writeSpec()
        let started = try bundle.detached(runtime, ["run", "-d", "--bundle", bundle.dir, bundle.id])
        try #require(started.status == 0, "\(started.stderr)")
        let exec = try runWithHostRootOpen(runtime, bundle, ["exec", bundle.id, "/probe"])
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(exec.value("fds") == "0 1 2")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func aMissingWorkingDirectoryIsMadeInsideTheRoot(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        bundle.spec.process?.cwd = "/srv/app/data"
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("cwd") == "/srv/app/data")
        #expect(FileManager.default.fileExists(atPath: bundle.rootfs + "/srv/app/data"))
    }
}
