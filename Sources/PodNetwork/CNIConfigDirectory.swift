import Foundation

/// Finds the network configuration the way the kubelet and other runtimes do: the lexically first
/// `*.conf`, `*.conflist` or `*.json` in the directory that parses as a CNI configuration.
public enum CNIConfigDirectory {
    public static let extensions = [".conf", ".conflist", ".json"]

    /// Whether the network can be set up, and if not, why (for the `NetworkReady` condition).
    public enum Readiness: Equatable, Sendable {
        case ready(file: String, network: String)
        case notReady(message: String)
    }

    public static func readiness(of dir: String) -> Readiness {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let candidates = names.filter { name in extensions.contains { name.hasSuffix($0) } }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var problems: [String] = []
        for name in candidates {
            let path = dir + "/" + name
            switch parse(path) {
            case .success(let network): return .ready(file: path, network: network)
            case .failure(let problem): problems.append("\(path): \(problem.reason)")
            }
        }
        if problems.isEmpty { return .notReady(message: "no network config found in \(dir)") }
        return .notReady(message: "no usable network config in \(dir): " + problems.joined(separator: "; "))
    }

    struct Problem: Error { let reason: String }

    /// The network name of a configuration file, or why it is not one.
    static func parse(_ path: String) -> Result<String, Problem> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem(reason: "cannot read"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            return .failure(Problem(reason: "not a JSON object"))
        }
        guard let name = json["name"] as? String, !name.isEmpty else {
            return .failure(Problem(reason: "no network name"))
        }
        if path.hasSuffix(".conflist") {
            guard let plugins = json["plugins"] as? [[String: Any]], !plugins.isEmpty,
                plugins.allSatisfy({ $0["type"] is String })
            else { return .failure(Problem(reason: "a conflist needs a non-empty plugins list with types")) }
        } else if !(json["type"] is String) && !(json["plugins"] is [Any]) {
            return .failure(Problem(reason: "no plugin type"))
        }
        return .success(name)
    }
}
