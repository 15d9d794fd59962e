import Foundation

/// One network configuration as the plugins get it: a `.conflist`, or a single-plugin `.conf`
/// turned into a list of one. Kept as the file's JSON so that what reaches a plugin is what the
/// operator wrote, plus the keys the CNI specification says the runtime adds.
public struct CNINetwork: Sendable, Equatable {
    public var name: String
    public var cniVersion: String
    /// The file it came from, for messages.
    public var file: String
    /// The whole list as JSON (`{"cniVersion", "name", "plugins": [...]}`), which the result cache
    /// keeps so that DEL after a restart uses the configuration ADD used.
    public var listJSON: Data

    /// Versions whose results this runtime reads (`ips` with addresses).
    public static let versions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    public init(listJSON: Data, file: String) throws(PodNetworkError) {
        guard let object = try? JSONSerialization.jsonObject(with: listJSON), var list = object as? [String: Any] else {
            throw .badConfig(file: file, reason: "not a JSON object")
        }
        guard let name = list["name"] as? String, !name.isEmpty else { throw .badConfig(file: file, reason: "no network name") }
        if list["plugins"] == nil, list["type"] is String {
            // A .conf: the plugin is the whole object.
            list = ["cniVersion": list["cniVersion"] ?? "0.3.1", "name": name, "plugins": [list]]
        }
        guard let plugins = list["plugins"] as? [[String: Any]], !plugins.isEmpty else {
            throw .badConfig(file: file, reason: "a non-empty plugins list is needed")
        }
        for plugin in plugins {
            guard let type = plugin["type"] as? String, Self.isPluginName(type) else {
                throw .badConfig(file: file, reason: "a plugin type must be a file name, found \(plugin["type"].map { "\($0)" } ?? "none")")
            }
        }
        let version = list["cniVersion"] as? String ?? "0.3.1"
        guard Self.versions.contains(version) else {
            throw .badConfig(file: file, reason: "cniVersion \(version) is not one of \(Self.versions.joined(separator: ", "))")
        }
        self.name = name
        self.cniVersion = version
        self.file = file
        guard let data = try? JSONSerialization.data(withJSONObject: list, options: [.sortedKeys]) else {
            throw .badConfig(file: file, reason: "cannot be encoded again")
        }
        self.listJSON = data
    }

    public static func load(_ path: String) throws(PodNetworkError) -> CNINetwork {
        guard let data = FileManager.default.contents(atPath: path) else { throw .badConfig(file: path, reason: "cannot read") }
        return try CNINetwork(listJSON: data, file: path)
    }

    /// The first usable configuration of the directory, as the kubelet and containerd choose it.
    public static func load(directory: String) throws(PodNetworkError) -> CNINetwork {
        switch CNIConfigDirectory.readiness(of: directory) {
        case .ready(let file, _): return try load(file)
        case .notReady(let message): throw .notReady(message)
        }
    }

    /// The plugin objects, in order.
    var plugins: [[String: Any]] {
        ((try? JSONSerialization.jsonObject(with: listJSON)) as? [String: Any])?["plugins"] as? [[String: Any]] ?? []
    }

    /// A plugin is looked up by name in the plugin directories: never a path.
    static func isPluginName(_ type: String) -> Bool {
        !type.isEmpty && type != "." && type != ".." && !type.contains("/") && !type.utf8.contains(0) && type.utf8.count <= 255
    }
}
