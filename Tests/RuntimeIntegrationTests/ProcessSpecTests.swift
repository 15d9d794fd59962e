import Capabilities
import Foundation
import OCI
import Testing

/// What the container process sees of config.json's `process`, `hostname` and namespaces,
/// reported by the probe from inside, under skiff and under runc.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct ProcessSpecTests {
    @Test(arguments: RuntimeUnderTest.all)
    func identityLimitsAndEnvironmentFollowTheSpec(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        bundle.spec.process?.user = RuntimeSpec.User(uid: 1000, gid: 1001)
        bundle.spec.process?.user.additionalGids = [5, 20]
        bundle.spec.process?.user.umask = 0o027
        bundle.spec.process?.cwd = "/bin"
        bundle.spec.process?.env = ["PATH=/bin", "FOO=bar baz"]
        bundle.spec.process?.rlimits = [RuntimeSpec.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 512)]
        bundle.spec.hostname = "probe-host"
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("pid") == "1")
        #expect(out.value("uid") == "1000")
        #expect(out.value("gid") == "1001")
        #expect(out.value("groups") == "5 20")
        #expect(out.value("Umask") == "0027")
        #expect(out.value("cwd") == "/bin")
        #expect(out.values("env").contains("FOO=bar baz"))
        #expect(out.value("rlimit_nofile") == "512 1024")
        #expect(out.value("hostname") == "probe-host")
        #expect(out.value("NoNewPrivs") == "1")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func capabilitySetsAreExactlyThoseRequested(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        var caps = RuntimeSpec.Capabilities()
        caps.bounding = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
        caps.permitted = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
        caps.effective = ["CAP_KILL"]
        caps.inheritable = ["CAP_NET_BIND_SERVICE"]
        caps.ambient = ["CAP_NET_BIND_SERVICE"]
        bundle.spec.process?.capabilities = caps
        bundle.spec.process?.user = RuntimeSpec.User(uid: 1000, gid: 1000)
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        func mask(_ names: [String]) -> String {
            let value = (try? Capability.mask(names, lastCap: 40)) ?? 0
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        #expect(out.value("CapBnd") == mask(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]))
        #expect(out.value("CapInh") == mask(["CAP_NET_BIND_SERVICE"]))
        #expect(out.value("CapAmb") == mask(["CAP_NET_BIND_SERVICE"]))
        // A non-root execve keeps only the ambient set in permitted and effective: CAP_KILL was
        // granted up to the exec, and the kernel drops it there.
        #expect(out.value("CapPrm") == mask(["CAP_NET_BIND_SERVICE"]))
        #expect(out.value("CapEff") == mask(["CAP_NET_BIND_SERVICE"]))
    }

    @Test(arguments: RuntimeUnderTest.all)
    func rootKeepsExactlyTheRequestedSets(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        var caps = RuntimeSpec.Capabilities()
        caps.bounding = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
        caps.permitted = ["CAP_KILL", "CAP_CHOWN"]
        caps.effective = ["CAP_KILL"]
        bundle.spec.process?.capabilities = caps
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("CapBnd") == "0000000000000421")
        #expect(out.value("CapPrm") == "0000000000000021")
        // For uid 0 the kernel makes effective equal to permitted at execve.
        #expect(out.value("CapEff") == "0000000000000021")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func newNamespacesAreNotTheHosts(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        let inside = Set(out.values("ns"))
        for ns in ["pid", "net", "mnt", "ipc", "uts", "cgroup"] {
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(ns)")
            #expect(!inside.contains(host), "\(ns) namespace is the host's")
        }
        let hostUser = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        #expect(inside.contains(hostUser), "no user namespace was asked for")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func onlyStdioReachesTheContainer(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle()
        try bundle.writeSpec()
        // Descriptors 5 and 7 are open in the runtime's caller without close-on-exec.
        let out = try runProcess("/bin/sh", ["-c", "exec 5</dev/null 7>/dev/null; exec \"$0\" --root \"$1\" run --bundle \"$2\" \"$3\"",
                                             runtime.path, bundle.stateRoot, bundle.dir, bundle.id])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.value("fds") == "0 1 2")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func theExitStatusOfTheContainerIsRunsExitStatus(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/probe", "exit", "7"])
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 7)
    }

    @Test(arguments: RuntimeUnderTest.all)
    func namespacedSysctlsAreApplied(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/bin/cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
        bundle.spec.linux?.sysctl = ["net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"]
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "1\n1234\n")
    }
}
