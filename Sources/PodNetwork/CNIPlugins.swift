import Foundation
import LinuxKit

/// One pod's attachment to a network: what the CNI environment variables and `runtimeConfig` say.
public struct CNIAttachment: Sendable, Equatable {
    /// The pod sandbox id (CNI_CONTAINERID).
    public var containerID: String
    /// The pinned network namespace (CNI_NETNS); empty on DEL when it is already gone.
    public var netns: String
    public var ifName = "eth0"
    public var podNamespace = ""
    public var podName = ""
    public var podUID = ""
    /// Capability arguments by name (`portMappings`, `dns`, ...), each as its JSON; a plugin gets
    /// those its config declares in `capabilities`, under `runtimeConfig`.
    public var capabilityArgs: [String: Data] = [:]

    public init(containerID: String, netns: String, ifName: String = "eth0", podNamespace: String = "", podName: String = "",
                podUID: String = "", capabilityArgs: [String: Data] = [:]) {
        self.containerID = containerID
        self.netns = netns
        self.ifName = ifName
        self.podNamespace = podNamespace
        self.podName = podName
        self.podUID = podUID
        self.capabilityArgs = capabilityArgs
    }

    /// CNI_ARGS with the keys the kubelet's runtimes pass; a value that would break the list is refused.
    func cniArgs() throws(PodNetworkError) -> String {
        let pairs = [("K8S_POD_NAMESPACE", podNamespace), ("K8S_POD_NAME", podName),
                     ("K8S_POD_INFRA_CONTAINER_ID", containerID), ("K8S_POD_UID", podUID)]
        for (key, value) in pairs where value.contains(where: { $0 == ";" || $0 == "=" || $0 == "\0" || $0 == "\n" }) {
            throw .invalidArgument(field: key, reason: "must not contain ';', '=', a newline or NUL")
        }
        return (["IgnoreUnknown=1"] + pairs.map { "\($0.0)=\($0.1)" }).joined(separator: ";")
    }
}

/// A network's result for one pod: the final plugin's JSON, and its addresses.
public struct CNIResult: Sendable, Equatable {
    public var json: Data
    /// The interface addresses without their prefix length, in the result's order.
    public var ips: [String]

    init(json: Data) {
        self.json = json
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        let entries = object?["ips"] as? [[String: Any]] ?? []
        ips = entries.compactMap { ($0["address"] as? String)?.split(separator: "/").first.map(String.init) }
    }
}

/// Runs a network's plugins as the CNI specification says (ADD in order with each result as the
/// next one's `prevResult`, DEL in reverse with the cached result) and keeps every result on disk,
/// so that a DEL after a restart of skiffd, or after the config changed, undoes exactly what ADD did.
public struct CNIPlugins: Sendable {
    public var binDirs: [String]
    /// The result cache (`<state>/cni`).
    public var cacheDir: String
    /// Seconds one plugin may run.
    public var timeout: Double

    public init(binDirs: [String], cacheDir: String, timeout: Double = 60) {
        self.binDirs = binDirs
        self.cacheDir = cacheDir
        self.timeout = timeout
    }

    public func add(_ network: CNINetwork, _ attachment: CNIAttachment) throws(PodNetworkError) -> CNIResult {
        let cache = try cachePath(network.name, attachment)
        var previous: Data?
        for plugin in network.plugins {
            do {
                previous = try run("ADD", plugin, network, attachment, prevResult: previous)
            } catch {
                // Nothing half-made is left: the plugins that ran are asked to undo it (they must
                // tolerate a DEL of what they never made).
                runDelBestEffort(network, attachment, prevResult: previous)
                throw error
            }
        }
        let result = previous ?? Data("{}".utf8)
        let record: [String: Any] = [
            "kind": "skiff-cni-cache-v1", "containerId": attachment.containerID, "ifName": attachment.ifName,
            "networkName": network.name, "file": network.file,
            "config": (try? JSONSerialization.jsonObject(with: network.listJSON)) ?? [:],
            "result": (try? JSONSerialization.jsonObject(with: result)) ?? [:],
        ]
        do {
            try FileSystem.makeDirectories(cacheDir, mode: 0o700)
            let bytes = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            try AtomicFile.write(Array(bytes), to: cache, mode: 0o600)
        } catch {
            runDelBestEffort(network, attachment, prevResult: result)
            throw .system("cannot write the CNI result cache \(cache): \(error)")
        }
        return CNIResult(json: result)
    }

    /// Undoes ADD with the configuration and result it cached; with no cache (ADD never finished,
    /// or the cache is lost), with `current`. Succeeds when there is nothing to undo.
    public func del(networkName: String, _ attachment: CNIAttachment, current: CNINetwork?) throws(PodNetworkError) {
        let cache = try cachePath(networkName, attachment)
        if let (network, result) = cached(cache) {
            try runDel(network, attachment, prevResult: result)
        } else if let current {
            try runDel(current, attachment, prevResult: nil)
        }
        unlink(cache)
    }

    /// The cached result of a finished ADD.
    public func result(networkName: String, _ attachment: CNIAttachment) -> CNIResult? {
        guard let path = try? cachePath(networkName, attachment), let (_, result) = cached(path) else { return nil }
        return result.map(CNIResult.init(json:))
    }

    private func runDel(_ network: CNINetwork, _ attachment: CNIAttachment, prevResult: Data?) throws(PodNetworkError) {
        for plugin in network.plugins.reversed() {
            _ = try run("DEL", plugin, network, attachment, prevResult: prevResult)
        }
    }

    /// Undoing a failed ADD: every plugin is asked, whatever the others answer.
    private func runDelBestEffort(_ network: CNINetwork, _ attachment: CNIAttachment, prevResult: Data?) {
        for plugin in network.plugins.reversed() {
            _ = try? run("DEL", plugin, network, attachment, prevResult: prevResult)
        }
    }

    private func cached(_ path: String) -> (CNINetwork, Data?)? {
        guard let bytes = try? AtomicFile.read(path, limit: 1 << 20),
              let record = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let config = record["config"], let configJSON = try? JSONSerialization.data(withJSONObject: config),
              let network = try? CNINetwork(listJSON: configJSON, file: record["file"] as? String ?? path)
        else { return nil }
        let result = record["result"].flatMap { try? JSONSerialization.data(withJSONObject: $0) }
        return (network, result)
    }

    /// libcni's naming: `<network>-<container>-<ifname>`. The parts come from skiffd (the pod id)
    /// and the config, but are checked all the same: they name a file.
    func cachePath(_ networkName: String, _ a: CNIAttachment) throws(PodNetworkError) -> String {
        for (field, value) in [("network name", networkName), ("container id", a.containerID), ("interface", a.ifName)] {
            guard !value.isEmpty, value.utf8.count <= 128, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
                  value != ".", value != ".." else {
                throw .invalidArgument(field: field, reason: "letters, digits, '-', '_' and '.' only (1 to 128)")
            }
        }
        return cacheDir + "/\(networkName)-\(a.containerID)-\(a.ifName)"
    }

    /// One plugin call: the config the spec describes on stdin, the CNI_* variables, its result or error.
    private func run(_ command: String, _ plugin: [String: Any], _ network: CNINetwork, _ a: CNIAttachment,
                     prevResult: Data?) throws(PodNetworkError) -> Data {
        let type = plugin["type"] as? String ?? ""
        guard let path = binDirs.map({ $0 + "/" + type }).first(where: { access($0, X_OK) == 0 }) else {
            throw .plugin(type: type, command: command, code: 0, message: "not found in \(binDirs.joined(separator: ", "))")
        }
        var config = plugin
        config["name"] = network.name
        config["cniVersion"] = network.cniVersion
        if let prevResult, let object = try? JSONSerialization.jsonObject(with: prevResult) { config["prevResult"] = object }
        if let wanted = plugin["capabilities"] as? [String: Any] {
            var runtimeConfig: [String: Any] = [:]
            for (name, on) in wanted where (on as? Bool) == true {
                if let json = a.capabilityArgs[name], let value = try? JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]) {
                    runtimeConfig[name] = value
                }
            }
            if !runtimeConfig.isEmpty { config["runtimeConfig"] = runtimeConfig }
        }
        guard let stdin = try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]) else {
            throw .badConfig(file: network.file, reason: "plugin \(type) cannot be encoded")
        }
        let environment = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(a.containerID)", "CNI_NETNS=\(a.netns)",
            "CNI_IFNAME=\(a.ifName)", "CNI_ARGS=\(try a.cniArgs())", "CNI_PATH=\(binDirs.joined(separator: ":"))",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        var outcome: ChildProcess.Result?
        // ETXTBSY: a plugin binary just installed may still be open for writing in a process that
        // forked meanwhile; it passes, so the call is tried again (libcni does the same).
        for attempt in 0..<5 where outcome == nil {
            do {
                outcome = try ChildProcess.run(path, [], exactEnvironment: environment, stdin: Array(stdin), timeout: timeout)
            } catch let error as ChildProcess.SpawnError where error.errno == ETXTBSY && attempt < 4 {
                usleep(50_000)
            } catch {
                throw .plugin(type: type, command: command, code: 0, message: "\(error)")
            }
        }
        guard let outcome else { throw .plugin(type: type, command: command, code: 0, message: "text file busy") }
        guard outcome.status == 0, !outcome.timedOut else {
            // The specification's error object on stdout, or failing that whatever it printed.
            let error = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any]
            let message = [error?["msg"] as? String, error?["details"] as? String].compactMap { $0 }.filter { !$0.isEmpty }
                .joined(separator: ": ")
            let fallback = outcome.timedOut ? "no answer within \(Int(timeout)) s" : (outcome.stderr + outcome.stdout)
            throw .plugin(type: type, command: command, code: error?["code"] as? Int ?? Int(outcome.status),
                          message: String((message.isEmpty ? fallback : message).prefix(1024)))
        }
        guard command == "ADD" else { return Data() }
        let result = Data(outcome.stdout.utf8)
        guard (try? JSONSerialization.jsonObject(with: result)) is [String: Any] else {
            throw .plugin(type: type, command: command, code: 0, message: "the result is not a JSON object")
        }
        return result
    }
}
