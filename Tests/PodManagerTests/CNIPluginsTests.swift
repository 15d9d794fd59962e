import Foundation
import CShims
import LinuxKit
import Testing
@testable import PodNetwork

/// The CNI executor: what each plugin is given (unit tests, with a recording plugin), and a real
/// bridge + host-local chain from Debian's containernetworking-plugins into a namespace the test
/// makes, undone after a "restart" from the result cache alone.
@Suite struct CNIPluginsTests {
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-cni-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        return dir
    }

    /// A plugin that records its stdin and environment per command and answers like a real one.
    func recorder(_ dir: String, name: String, fail: Bool = false) throws {
        let body = fail
            ? #"echo '{"cniVersion":"1.0.0","code":11,"msg":"no addresses left","details":"range full"}'; exit 1"#
            : #"echo "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.9.9.$N/24\"}]}""#
        let script = """
            #!/bin/sh
            cat > "\(dir)/\(name)-$CNI_COMMAND.json"; env > "\(dir)/\(name)-$CNI_COMMAND.env"; N=\(name.count)
            echo "\(name) $CNI_COMMAND" >> "\(dir)/calls"
            \(body)
            """
        // Written by another process: a descriptor open for writing here could reach a concurrent
        // fork of this (parallel) test process, and running the plugin would fail with ETXTBSY.
        let written = try ChildProcess.run("/bin/sh", ["-c", "cat > \"$0\" && chmod 755 \"$0\"", "\(dir)/bin/\(name)"], stdin: Array(script.utf8))
        #expect(written.status == 0, "\(written.stderr)")
    }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }

    @Test func eachPluginGetsItsConfigThePreviousResultAndItsCapabilities() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try recorder(dir, name: "first")
        try recorder(dir, name: "second")
        let network = try CNINetwork(listJSON: Data("""
            {"cniVersion": "1.0.0", "name": "net1", "plugins": [
              {"type": "first", "capabilities": {"portMappings": true}, "custom": 7},
              {"type": "second"}]}
            """.utf8), file: "net1.conflist")
        let plugins = CNIPlugins(binDirs: ["/nonexistent", dir + "/bin"], cacheDir: dir + "/cache")
        let attachment = CNIAttachment(containerID: "pod1", netns: "/run/netns/x", podNamespace: "default", podName: "web",
                                       podUID: "uid-1", capabilityArgs: ["portMappings": Data(#"[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]"#.utf8),
                                                                         "dns": Data(#"{"servers":["1.1.1.1"]}"#.utf8)])
        let result = try plugins.add(network, attachment)
        #expect(result.ips == ["10.9.9.6"])   // the last plugin's ("second")

        let first = try json(dir + "/first-ADD.json")
        #expect(first["name"] as? String == "net1" && first["cniVersion"] as? String == "1.0.0" && first["custom"] as? Int == 7)
        #expect(first["prevResult"] == nil)
        let runtimeConfig = first["runtimeConfig"] as? [String: Any]
        #expect((runtimeConfig?["portMappings"] as? [[String: Any]])?.first?["hostPort"] as? Int == 8080)
        #expect(runtimeConfig?["dns"] == nil, "a capability the plugin did not declare reached it")
        let second = try json(dir + "/second-ADD.json")
        #expect(((second["prevResult"] as? [String: Any])?["ips"] as? [[String: Any]])?.first?["address"] as? String == "10.9.9.5/24")
        #expect(second["runtimeConfig"] == nil)
        let env = try String(contentsOfFile: dir + "/first-ADD.env", encoding: .utf8)
        #expect(env.contains("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod1;K8S_POD_UID=uid-1\n"))
        #expect(env.contains("CNI_NETNS=/run/netns/x\n") && env.contains("CNI_IFNAME=eth0\n") && env.contains("CNI_CONTAINERID=pod1\n"))
        #expect(plugins.result(networkName: "net1", attachment)?.ips == ["10.9.9.6"])

        // DEL: reverse order, the cached result as prevResult, then no cache; again: nothing to do.
        try plugins.del(networkName: "net1", attachment, current: nil)
        let calls = try String(contentsOfFile: dir + "/calls", encoding: .utf8)
        #expect(calls == "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n")
        #expect(((try json(dir + "/first-DEL.json"))["prevResult"] as? [String: Any])?["ips"] != nil)
        #expect(plugins.result(networkName: "net1", attachment) == nil)
        try plugins.del(networkName: "net1", attachment, current: nil)
        #expect(try String(contentsOfFile: dir + "/calls", encoding: .utf8) == calls)
    }

    @Test func aFailingPluginIsReportedWithItsCodeAndWhatRanIsUndone() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try recorder(dir, name: "ok")
        try recorder(dir, name: "full", fail: true)
        let network = try CNINetwork(listJSON: Data(#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"ok"},{"type":"full"}]}"#.utf8), file: "f")
        let plugins = CNIPlugins(binDirs: [dir + "/bin"], cacheDir: dir + "/cache")
        #expect(throws: PodNetworkError.plugin(type: "full", command: "ADD", code: 11, message: "no addresses left: range full")) {
            try plugins.add(network, CNIAttachment(containerID: "p", netns: "/x"))
        }
        #expect(try String(contentsOfFile: dir + "/calls", encoding: .utf8) == "ok ADD\nfull ADD\nfull DEL\nok DEL\n")
        #expect(plugins.result(networkName: "n", CNIAttachment(containerID: "p", netns: "/x")) == nil)
    }

    @Test func hostileNamesAndValuesAreRefused() throws {
        #expect(throws: PodNetworkError.self) {
            try CNINetwork(listJSON: Data(#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}"#.utf8), file: "f")
        }
        #expect(throws: PodNetworkError.self) {
            try CNINetwork(listJSON: Data(#"{"cniVersion":"9.9.9","name":"n","type":"bridge"}"#.utf8), file: "f")
        }
        let single = try CNINetwork(listJSON: Data(#"{"cniVersion":"0.4.0","name":"n","type":"bridge"}"#.utf8), file: "f")
        #expect(single.plugins.count == 1 && single.cniVersion == "0.4.0")
        let plugins = CNIPlugins(binDirs: ["/usr/lib/cni"], cacheDir: "/nonexistent")
        #expect(throws: PodNetworkError.invalidArgument(field: "K8S_POD_NAME", reason: "must not contain ';', '=', a newline or NUL")) {
            try plugins.add(single, CNIAttachment(containerID: "p", netns: "/x", podName: "web;K8S_POD_NAMESPACE=kube-system"))
        }
        #expect(throws: PodNetworkError.self) { try plugins.add(single, CNIAttachment(containerID: "../p", netns: "/x")) }
    }

    /// Real plugins. The bridge and the host side of the veth are made in a network namespace of
    /// this test's own thread (plugins inherit the spawning thread's), never in the host's.
    @Test(.enabled(if: getuid() == 0 && access("/usr/lib/cni/bridge", X_OK) == 0, "needs root and containernetworking-plugins"))
    func aBridgeChainAttachesAPodAndItsCacheUndoesItAfterARestart() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let podNetns = "skiff-cni-\(tag)"
        #expect(try ChildProcess.run("/usr/sbin/ip", ["netns", "add", podNetns]).status == 0)
        defer { _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "delete", podNetns]) }
        let subnet = Int.random(in: 1...250)
        let network = try CNINetwork(listJSON: Data("""
            {"cniVersion": "1.0.0", "name": "skifftest", "plugins": [
              {"type": "bridge", "bridge": "skbr\(tag)", "isGateway": true, "ipMasq": false,
               "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.251.\(subnet).0/24"}]], "dataDir": "\(dir)/ipam"}},
              {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.accept_redirects": "0"}}]}
            """.utf8), file: "test.conflist")
        let attachment = CNIAttachment(containerID: "pod\(tag)", netns: "/run/netns/" + podNetns, podNamespace: "ns", podName: "p", podUID: "u")

        try onPrivateNetworkThread {
            let result = try CNIPlugins(binDirs: ["/usr/lib/cni"], cacheDir: dir + "/cache").add(network, attachment)
            let ip = try #require(result.ips.first)
            #expect(ip.hasPrefix("10.251.\(subnet)."))
            let shown = try ChildProcess.run("/usr/sbin/ip", ["-n", podNetns, "-o", "-4", "addr", "show", "dev", "eth0"])
            #expect(shown.stdout.contains(" \(ip)/24 "), "\(shown.stdout)\(shown.stderr)")
            let sysctl = try ChildProcess.run("/usr/sbin/ip", ["netns", "exec", podNetns, "cat", "/proc/sys/net/ipv4/conf/eth0/accept_redirects"])
            #expect(sysctl.stdout == "0\n")
            #expect(FileManager.default.fileExists(atPath: "\(dir)/ipam/skifftest/\(ip)"))

            // A new executor (skiffd restarted) with the config gone: the cache is enough.
            try CNIPlugins(binDirs: ["/usr/lib/cni"], cacheDir: dir + "/cache").del(networkName: "skifftest", attachment, current: nil)
            let after = try ChildProcess.run("/usr/sbin/ip", ["-n", podNetns, "link", "show", "dev", "eth0"])
            #expect(after.status != 0, "eth0 is still in the pod's namespace")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/ipam/skifftest/\(ip)"), "the address was not released")
        }
    }

    /// Runs `body` on a new thread in a new network namespace, which goes with the thread.
    func onPrivateNetworkThread(_ body: @escaping @Sendable () throws -> Void) throws {
        final class Box: @unchecked Sendable { var error: (any Error)?; var unshared = false }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        // A thread of its own, ended afterwards: nothing else ever runs in that namespace.
        Thread {
            defer { done.signal() }
            guard cs_unshare(CS_CLONE_NEWNET) == 0 else { return }
            box.unshared = true
            do { try body() } catch { box.error = error }
        }.start()
        done.wait()
        try #require(box.unshared, "unshare(CLONE_NEWNET) failed")
        if let error = box.error { throw error }
    }
}
