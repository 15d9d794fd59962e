import Foundation
import LinuxKit
import Testing
@testable import PodNetwork

/// A pod's namespaces without a pause process: made and pinned by `skiff sandbox-pin`, entered
/// here with nsenter to see what a container joining them sees, then unpinned without a trace.
@Suite(.enabled(if: getuid() == 0, "needs root for namespaces and mounts"))
struct SandboxNamespacesTests {
    let skiff = MonitorTests.binaries + "/skiff"

    func scratch() -> SandboxNamespaces {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-ns-\(UUID().uuidString.prefix(8))").path
        return SandboxNamespaces(directory: dir, network: true, ipc: true, uts: true)
    }

    func mounted(_ path: String) -> Bool {
        FileSystem.mountInfo().contains(" \(path) ")
    }

    @Test func pinnedNamespacesHoldTheHostnameLoopbackAndSysctlsAndGoWithoutATrace() throws {
        let ns = scratch()
        defer { ns.unpin() }
        try ns.pin(skiff: skiff, hostname: "pod-a", sysctls: [("net.ipv4.ip_unprivileged_port_start", "0"), ("kernel.shmmni", "1234")])
        for path in [ns.networkPath, ns.ipcPath, ns.utsPath].compactMap({ $0 }) {
            #expect(mounted(path), "\(path) is not a mount")
        }
        let inside = try ChildProcess.run("/usr/bin/nsenter", [
            "--net=\(ns.networkPath!)", "--ipc=\(ns.ipcPath!)", "--uts=\(ns.utsPath!)", "/bin/sh", "-c",
            "hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni; ip -o link show; readlink /proc/self/ns/net",
        ])
        #expect(inside.status == 0, "\(inside.stderr)")
        let lines = inside.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == ["pod-a", "0", "1234"], "\(inside.stdout)")
        // Only lo, and up.
        #expect(lines.dropFirst(3).filter { $0.contains(": <") }.count == 1)
        #expect(lines.contains { $0.contains(": lo: <") && $0.contains(",UP") }, "\(inside.stdout)")
        #expect(lines.last != (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")))
        // The host's own values are untouched.
        var host = utsname()
        uname(&host)
        #expect(withUnsafeBytes(of: host.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } != "pod-a")

        ns.unpin()
        ns.unpin()
        #expect(!FileManager.default.fileExists(atPath: ns.directory))
        #expect(!mounted(ns.networkPath!) && !mounted(ns.ipcPath!) && !mounted(ns.utsPath!))
    }

    @Test func sysctlsOfTheHostOrOfNamespacesThePodDoesNotOwnAreRefused() throws {
        for (key, value, namespaces) in [("kernel.pid_max", "99999", (true, true, true)), ("net.ipv4.ip_forward", "1", (false, true, true)),
                                          ("kernel/../../etc", "x", (true, true, true)), ("kernel.hostname", "x", (true, true, false))] {
            var ns = scratch()
            (ns.network, ns.ipc, ns.uts) = namespaces
            #expect {
                try ns.pin(skiff: skiff, hostname: nil, sysctls: [(key, value)])
            } throws: { error in
                guard case .invalidArgument(_, let reason)? = error as? PodNetworkError else { return false }
                return reason.contains("sysctl")
            }
            #expect(!FileManager.default.fileExists(atPath: ns.directory), "a refused pin left its directory")
        }
    }
}
