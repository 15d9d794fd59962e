#if canImport(Glibc)
import Glibc
#endif
import JSONCoding
import LinuxKit
import RuntimeEngine

/// Every field of a pod's config is hostile input: checked here before anything is made from it.
enum PodSandboxValidation {
    /// The pod's sysctls as they will be written (dotted keys), once everything else passed.
    static func validate(_ spec: PodSandboxSpec) throws(PodManagerError) -> [(key: String, value: String)] {
        for (field, value) in [("metadata.name", spec.name), ("metadata.namespace", spec.namespace), ("metadata.uid", spec.uid)] {
            guard !value.isEmpty, value.utf8.count <= 253, plain(value) else {
                throw .invalidArgument(field: field, reason: "1 to 253 bytes without control characters")
            }
        }
        if !spec.hostname.isEmpty {
            guard spec.hostname.utf8.count <= 64, spec.hostname.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
                throw .invalidArgument(field: "hostname", reason: "at most 64 letters, digits, '-' and '.'")
            }
        }
        guard spec.logDirectory.isEmpty || (spec.logDirectory.hasPrefix("/") && plain(spec.logDirectory)) else {
            throw .invalidArgument(field: "log_directory", reason: "must be an absolute path")
        }
        guard spec.network == .pod || spec.network == .node else {
            throw .invalidArgument(field: "linux.security_context.namespace_options.network", reason: "must be POD or NODE")
        }
        guard spec.ipc == .pod || spec.ipc == .node else {
            throw .invalidArgument(field: "linux.security_context.namespace_options.ipc", reason: "must be POD or NODE")
        }
        guard spec.pid != .target else {
            throw .invalidArgument(field: "linux.security_context.namespace_options.pid", reason: "TARGET is for containers")
        }
        if let userns = spec.userNamespace { try validate(userns, spec) }
        for mapping in spec.portMappings {
            guard ["tcp", "udp", "sctp"].contains(mapping.proto), (0...65535).contains(mapping.containerPort),
                  (0...65535).contains(mapping.hostPort), mapping.hostIP.isEmpty || isIP(mapping.hostIP) else {
                throw .invalidArgument(field: "port_mappings", reason: "protocol TCP, UDP or SCTP, ports 0 to 65535, an IP address or nothing as host_ip")
            }
        }
        if let dns = spec.dns {
            guard dns.servers.allSatisfy(isIP), (dns.searches + dns.options).allSatisfy({ !$0.isEmpty && $0.utf8.count <= 253 && plain($0) && !$0.contains(" ") }),
                  dns.servers.count <= 16, dns.searches.count <= 32, dns.options.count <= 32 else {
                throw .invalidArgument(field: "dns_config", reason: "servers must be IP addresses; searches and options single words")
            }
        }
        var sysctls: [(key: String, value: String)] = []
        for key in spec.sysctls.keys.sorted() {
            let value = spec.sysctls[key]!
            switch SysctlPolicy.check(key, value, network: spec.network != .node, ipc: spec.ipc != .node, uts: spec.network != .node) {
            case .success(let normalised): sysctls.append((normalised, value))
            case .failure(let refusal): throw .invalidArgument(field: "linux.sysctls[\"\(key)\"]", reason: refusal.reason)
            }
        }
        return sysctls
    }

    /// The kubelet gives a pod one range of each, from container id 0 (where the image's root
    /// lives); the pod's namespaces must be its own, since the user namespace owns them.
    static func validate(_ userns: PodSandboxSpec.UserNamespace, _ spec: PodSandboxSpec) throws(PodManagerError) {
        let field = "linux.security_context.namespace_options.userns_options"
        for (name, ranges) in [("uids", userns.uids), ("gids", userns.gids)] {
            guard ranges.count == 1, let range = ranges.first else {
                throw .invalidArgument(field: field + "." + name, reason: "exactly one mapping is supported, \(ranges.count) given")
            }
            guard range.containerID == 0 else {
                throw .invalidArgument(field: field + "." + name, reason: "the mapping must start at container id 0, not \(range.containerID)")
            }
            guard range.size > 0, UInt64(range.hostID) + UInt64(range.size) <= UInt64(UInt32.max) else {
                throw .invalidArgument(field: field + "." + name, reason: "host ids \(range.hostID) + \(range.size) are out of range")
            }
            guard range.hostID > 0 else {
                throw .invalidArgument(field: field + "." + name, reason: "the node's root (host id 0) cannot be mapped into a pod")
            }
        }
        guard spec.network == .pod, spec.ipc == .pod, spec.pid != .node else {
            throw .invalidArgument(field: field, reason: "a user namespace needs the pod's own network, IPC and PID namespaces")
        }
    }

    /// A pod's containers see the image's files as their own through idmapped overlay layers,
    /// which came in Linux 5.19 (idmapped binds for volumes in 5.12).
    static let kernelSupportsUserNamespaces = KernelRelease.atLeast(5, 19)

    /// CNI capability arguments: `portMappings` (mappings with a host port) and `dns`.
    static func capabilityArgs(_ spec: PodSandboxSpec) -> [String: [UInt8]] {
        struct Mapping: Encodable { let hostPort: Int32, containerPort: Int32, `protocol`: String, hostIP: String }
        var args: [String: [UInt8]] = [:]
        let mappings = spec.portMappings.filter { $0.hostPort > 0 }
            .map { Mapping(hostPort: $0.hostPort, containerPort: $0.containerPort, protocol: $0.proto, hostIP: $0.hostIP) }
        if !mappings.isEmpty { args["portMappings"] = try? JSONEncoding.encode(mappings) }
        if let dns = spec.dns { args["dns"] = try? JSONEncoding.encode(dns) }
        return args
    }

    static func plain(_ s: String) -> Bool { !s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f } }

    static func isIP(_ s: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return !s.utf8.contains(0) && (inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1)
    }
}

/// The files a pod's containers will mount: its hostname and resolv.conf, in the pod's volatile
/// directory.
enum PodFiles {
    static func write(_ spec: PodSandboxSpec, to dir: String) throws(PodManagerError) {
        var resolv = ""
        if let dns = spec.dns {
            resolv += dns.servers.map { "nameserver \($0)\n" }.joined()
            if !dns.searches.isEmpty { resolv += "search " + dns.searches.joined(separator: " ") + "\n" }
            if !dns.options.isEmpty { resolv += "options " + dns.options.joined(separator: " ") + "\n" }
        } else {
            // No DNS config: the node's own, as containerd and CRI-O do.
            resolv = (try? AtomicFile.read("/etc/resolv.conf", limit: 64 << 10)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        var host = utsname()
        uname(&host)
        let nodeName = withUnsafeBytes(of: host.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let hostname = spec.network == .node || spec.hostname.isEmpty ? nodeName : spec.hostname
        do {
            try FileSystem.makeDirectories(dir, mode: 0o711)
            try AtomicFile.write(Array(resolv.utf8), to: dir + "/resolv.conf", mode: 0o644)
            try AtomicFile.write(Array((hostname + "\n").utf8), to: dir + "/hostname", mode: 0o644)
        } catch let error as SystemError {
            throw .system(error)
        } catch {
            throw .system(SystemError("write the pod's files in \(dir): \(error)", errno: EIO))
        }
    }
}
