/// The one list of configuration keys: how each is documented, validated, applied and printed.
/// Loading, `skiffd config default` and `skiffd config dump` all walk this list, so a key cannot
/// be accepted without being documented, or printed without being parsed back.
struct ConfigKey: Sendable {
    /// Section name (`""` for top-level keys) and key within it.
    let section: String
    let name: String
    let doc: String
    let apply: @Sendable (inout SkiffConfiguration, TOMLValue) throws(ValueError) -> Void
    let render: @Sendable (SkiffConfiguration) -> String

    var path: String { section.isEmpty ? name : section + "." + name }
}

/// A value that does not fit its key; the loader adds file, line and key.
struct ValueError: Error {
    let message: String
}

enum ConfigSchema {
    static let sections = ["grpc", "cni", "runtime", "images", "stream"]

    static let keys: [ConfigKey] = [
        ConfigKey(section: "", name: "version", doc: "Format version of this file.",
                  apply: { _, v throws(ValueError) in _ = try integer(v, in: 1...1) },
                  render: { _ in "1" }),
        ConfigKey(section: "", name: "root", doc: "Durable state: images, snapshots, pod records.",
                  apply: { c, v throws(ValueError) in c.root = try absolutePath(v) },
                  render: { quote($0.root) }),
        ConfigKey(section: "", name: "state", doc: "Volatile state: socket, namespaces, container state.",
                  apply: { c, v throws(ValueError) in c.state = try absolutePath(v) },
                  render: { quote($0.state) }),
        ConfigKey(section: "", name: "log_level",
                  doc: "One of " + SkiffConfiguration.logLevels.joined(separator: ", ") + ".",
                  apply: { c, v throws(ValueError) in c.logLevel = try oneOf(v, SkiffConfiguration.logLevels) },
                  render: { quote($0.logLevel) }),
        ConfigKey(section: "grpc", name: "socket", doc: "CRI socket; empty means <state>/skiff.sock.",
                  apply: { c, v throws(ValueError) in c.grpc.socket = try absolutePath(v, allowEmpty: true) },
                  render: { quote($0.grpc.socket) }),
        ConfigKey(section: "grpc", name: "gid", doc: "Group owning the socket (mode 0660).",
                  apply: { c, v throws(ValueError) in c.grpc.gid = try integer(v, in: 0...Int64(UInt32.max - 1)) },
                  render: { String($0.grpc.gid) }),
        ConfigKey(section: "grpc", name: "max_message_size", doc: "Largest message in bytes.",
                  apply: { c, v throws(ValueError) in
                      c.grpc.maxMessageSize = try integer(v, in: 4096...(1 << 30))
                  },
                  render: { String($0.grpc.maxMessageSize) }),
        ConfigKey(section: "cni", name: "conf_dir", doc: "Network configurations; the lexically first is used.",
                  apply: { c, v throws(ValueError) in c.cni.confDir = try absolutePath(v) },
                  render: { quote($0.cni.confDir) }),
        ConfigKey(section: "cni", name: "bin_dirs", doc: "Directories searched for CNI plugins, in order.",
                  apply: { c, v throws(ValueError) in c.cni.binDirs = try pathList(v) },
                  render: { "[" + $0.cni.binDirs.map(quote).joined(separator: ", ") + "]" }),
        ConfigKey(section: "runtime", name: "cgroup_driver",
                  doc: "systemd (containers in transient scopes, under kubelet slices such as kubepods-burstable-pod<uid>.slice) or cgroupfs (directories under paths such as /kubepods/burstable/pod<uid>); empty: systemd where PID 1 is systemd, else cgroupfs. RuntimeConfig reports it to the kubelet.",
                  apply: { c, v throws(ValueError) in c.runtime.cgroupDriver = try oneOf(v, ["", "cgroupfs", "systemd"]) },
                  render: { quote($0.runtime.cgroupDriver) }),
        ConfigKey(section: "runtime", name: "tolerate_missing_controllers",
                  doc: "cgroup v2 controllers (cpu, cpuset, memory, pids, io, hugetlb) whose absence only skips a container's limits for them, with a warning; by default such a limit fails the create.",
                  apply: { c, v throws(ValueError) in c.runtime.tolerateMissingControllers = try controllers(v) },
                  render: { "[" + $0.runtime.tolerateMissingControllers.map(quote).joined(separator: ", ") + "]" }),
        ConfigKey(section: "runtime", name: "handlers",
                  doc: "Runtime handlers besides the built-in skiff: name = path of a runc-compatible binary, e.g. { runc = \"/usr/sbin/runc\" }. A pod picks one with runtime_handler.",
                  apply: { c, v throws(ValueError) in c.runtime.handlers = try handlers(v) },
                  render: { "{ " + $0.runtime.handlers.sorted { $0.key < $1.key }.map { "\($0.key) = \(quote($0.value))" }.joined(separator: ", ") + " }" }),
        ConfigKey(section: "images", name: "registry_config_path",
                  doc: "Per-registry hosts.toml directories (<dir>/<host>/hosts.toml), as containerd's config_path.",
                  apply: { c, v throws(ValueError) in c.images.registryConfigPath = try absolutePath(v, allowEmpty: true) },
                  render: { quote($0.images.registryConfigPath) }),
        ConfigKey(section: "images", name: "auth_file",
                  doc: "Docker-style config.json with registry credentials; empty means none.",
                  apply: { c, v throws(ValueError) in c.images.authFile = try absolutePath(v, allowEmpty: true) },
                  render: { quote($0.images.authFile) }),
        ConfigKey(section: "images", name: "parallel_layers", doc: "Layers downloaded at the same time per pull.",
                  apply: { c, v throws(ValueError) in c.images.parallelLayers = try integer(v, in: 1...16) },
                  render: { String($0.images.parallelLayers) }),
        ConfigKey(section: "images", name: "connect_timeout", doc: "Seconds a registry connection may take to open.",
                  apply: { c, v throws(ValueError) in c.images.connectTimeout = try integer(v, in: 1...600) },
                  render: { String($0.images.connectTimeout) }),
        ConfigKey(section: "images", name: "read_timeout",
                  doc: "Seconds a registry may stay silent, before its answer or between two reads, before the pull fails.",
                  apply: { c, v throws(ValueError) in c.images.readTimeout = try integer(v, in: 1...3600) },
                  render: { String($0.images.readTimeout) }),
        ConfigKey(section: "stream", name: "address",
                  doc: "Address of the streaming server (exec, attach, port-forward), whose URLs the kubelet proxies to.",
                  apply: { c, v throws(ValueError) in c.stream.address = try string(v) },
                  render: { quote($0.stream.address) }),
        ConfigKey(section: "stream", name: "port", doc: "Its TCP port; 0 picks a free one at each start.",
                  apply: { c, v throws(ValueError) in c.stream.port = try integer(v, in: 0...65535) },
                  render: { String($0.stream.port) }),
        ConfigKey(section: "stream", name: "tls_cert", doc: "PEM certificate chain: with tls_key, the server speaks HTTPS.",
                  apply: { c, v throws(ValueError) in c.stream.tlsCert = try absolutePath(v, allowEmpty: true) },
                  render: { quote($0.stream.tlsCert) }),
        ConfigKey(section: "stream", name: "tls_key", doc: "PEM private key of tls_cert.",
                  apply: { c, v throws(ValueError) in c.stream.tlsKey = try absolutePath(v, allowEmpty: true) },
                  render: { quote($0.stream.tlsKey) }),
        ConfigKey(section: "stream", name: "idle_timeout", doc: "Seconds a stream may carry nothing before it is closed (the kubelet's default: 4 h).",
                  apply: { c, v throws(ValueError) in c.stream.idleTimeout = try integer(v, in: 1...(7 * 86400)) },
                  render: { String($0.stream.idleTimeout) }),
        ConfigKey(section: "stream", name: "max_streams", doc: "Streaming connections open at once; more are refused (HTTP 429).",
                  apply: { c, v throws(ValueError) in c.stream.maxStreams = try integer(v, in: 1...100_000) },
                  render: { String($0.stream.maxStreams) }),
    ]

    static func key(section: String, name: String) -> ConfigKey? {
        keys.first { $0.section == section && $0.name == name }
    }

    // MARK: value checks

    static func string(_ v: TOMLValue) throws(ValueError) -> String {
        guard case .string(let s) = v else { throw ValueError(message: "expected a string, found \(v.typeName)") }
        guard !s.utf8.contains(0) else { throw ValueError(message: "must not contain NUL") }
        return s
    }

    static func absolutePath(_ v: TOMLValue, allowEmpty: Bool = false) throws(ValueError) -> String {
        let s = try string(v)
        if s.isEmpty, allowEmpty { return s }
        guard s.hasPrefix("/") else { throw ValueError(message: "expected an absolute path, found '\(s)'") }
        return s
    }

    static func pathList(_ v: TOMLValue) throws(ValueError) -> [String] {
        guard case .array(let items) = v else { throw ValueError(message: "expected an array, found \(v.typeName)") }
        var out: [String] = []
        for item in items { out.append(try absolutePath(item)) }
        return out
    }

    static func integer(_ v: TOMLValue, in range: ClosedRange<Int64>) throws(ValueError) -> Int64 {
        guard case .integer(let n) = v else { throw ValueError(message: "expected an integer, found \(v.typeName)") }
        guard range.contains(n) else {
            throw ValueError(message: "\(n) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    /// Handler names as Kubernetes RuntimeClass handlers are (DNS labels); `skiff` is built in.
    static func handlers(_ v: TOMLValue) throws(ValueError) -> [String: String] {
        guard case .table(let table) = v else { throw ValueError(message: "expected a table of name = path, found \(v.typeName)") }
        var out: [String: String] = [:]
        for name in table.keys {
            guard let entry = table[name] else { continue }
            guard !name.isEmpty, name.utf8.count <= 63, name != SkiffConfiguration.Runtime.builtInHandler,
                  name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }) else {
                throw ValueError(message: "'\(name)' is not a handler name (lowercase letters, digits and '-', not '\(SkiffConfiguration.Runtime.builtInHandler)')")
            }
            out[name] = try absolutePath(entry.value)
        }
        return out
    }

    static func oneOf(_ v: TOMLValue, _ allowed: [String]) throws(ValueError) -> String {
        let s = try string(v)
        guard allowed.contains(s) else {
            throw ValueError(message: "'\(s)' is not one of \(allowed.joined(separator: ", "))")
        }
        return s
    }

    static func controllers(_ v: TOMLValue) throws(ValueError) -> [String] {
        guard case .array(let items) = v else { throw ValueError(message: "expected an array, found \(v.typeName)") }
        var out: [String] = []
        for item in items { out.append(try oneOf(item, ["cpu", "cpuset", "memory", "pids", "io", "hugetlb"])) }
        return out
    }

    static func quote(_ s: String) -> String { Quoting.doubleQuoted(s) }

}
