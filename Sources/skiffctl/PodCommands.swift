import ArgumentParser
import CRIAPI
import Foundation
import JSONCoding
import SwiftProtobuf

/// Reads a pod or container config as crictl does: a JSON file (proto field names or their
/// camelCase forms), unknown fields ignored.
enum ConfigFile {
    static func load<M: SwiftProtobuf.Message>(_ type: M.Type, _ path: String) throws -> M {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            throw ValidationError("\(path): YAML configs are not read by skiffctl yet; give the same config as JSON")
        }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        do {
            return try M(jsonUTF8Data: data, options: options)
        } catch {
            throw ValidationError("\(path): not a valid \(M.protoMessageName) in JSON: \(error)")
        }
    }
}

struct RunpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runp", abstract: "Run a new pod.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Runtime handler to use (the runtime's configured handlers).") var runtime = ""
    @Argument(help: "pod-config.json") var config: String

    func run() async throws {
        let podConfig = try ConfigFile.load(Runtime_V1_PodSandboxConfig.self, config)
        let reply = try await Session.run(global, .runtime, doing: "run pod sandbox") { cri in
            try await cri.runtime.runPodSandbox(.with { $0.config = podConfig; $0.runtimeHandler = runtime }, options: cri.options)
        }
        print(reply.podSandboxID)
    }
}

struct StoppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stopp", abstract: "Stop one or more running pods.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "POD-ID [POD-ID...]") var ids: [String]

    func run() async throws {
        try await Session.each(global, ids, doing: { "stopping the pod sandbox \"\($0)\"" }, printing: { "Stopped sandbox \($0)" }) { cri, id in
            _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = id }, options: cri.options)
        }
    }
}

struct RmpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmp", abstract: "Remove one or more pods.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Stop the pod first if it is running.") var force = false
    @Flag(name: [.short, .long], help: "Remove every pod.") var all = false
    @Argument(help: "POD-ID [POD-ID...]") var ids: [String] = []

    func validate() throws {
        if ids.isEmpty == !all { throw ValidationError("give pod ids or --all") }
    }

    func run() async throws {
        let ids = all ? try await allPodIDs() : ids
        try await Session.each(global, ids, doing: { "removing the pod sandbox \"\($0)\"" }, printing: { "Removed sandbox \($0)" }) { cri, id in
            if force { _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = id }, options: cri.options) }
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = id }, options: cri.options)
        }
    }

    private func allPodIDs() async throws -> [String] {
        try await Session.run(global, .runtime, doing: "listing pod sandboxes") { cri in
            try await cri.runtime.listPodSandbox(.init(), options: cri.options).items.map(\.id)
        }
    }
}

struct PodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pods", abstract: "List pods.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Only display pod IDs.") var quiet = false
    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.") var output: OutputFormat = .table
    @Option(help: "Filter by pod id.") var id: String?
    @Option(help: "Filter by state: ready or notready.") var state: String?
    @Option(help: "Filter by pod name (a substring, as crictl's pattern matches it).") var name: String?
    @Option(help: "Filter by pod namespace (a substring).") var namespace: String?
    @Option(help: "Filter by a label, key=value (repeatable).") var label: [String] = []

    func run() async throws {
        let selector = try Self.labelSelector(label)
        let reply = try await Session.run(global, .runtime, doing: "listing pod sandboxes") { cri in
            try await cri.runtime.listPodSandbox(.with { request in
                if let id { request.filter.id = id }
                if let state { request.filter.state.state = state.lowercased() == "ready" ? .sandboxReady : .sandboxNotready }
                request.filter.labelSelector = selector
            }, options: cri.options)
        }
        let items = reply.items.sorted { $0.createdAt > $1.createdAt }.filter { pod in
            (name.map { pod.metadata.name.contains($0) } ?? true) && (namespace.map { pod.metadata.namespace.contains($0) } ?? true)
        }
        if quiet { return items.forEach { print($0.id) } }
        if output != .table {
            return print(try output.render(.object(["items": .array(try items.map { try Session.json($0, template: ReplyTemplates.podSandbox) })])))
        }
        print(Table.render([["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]] + items.map { pod in
            [String(pod.id.prefix(13)), Table.ago(nanoseconds: pod.createdAt), pod.state == .sandboxReady ? "Ready" : "NotReady",
             pod.metadata.name, pod.metadata.namespace, String(pod.metadata.attempt), pod.runtimeHandler.isEmpty ? "(default)" : pod.runtimeHandler]
        }))
    }
}

struct InspectpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspectp", abstract: "Display the status of one or more pods.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.") var output: OutputFormat = .json
    @Argument(help: "POD-ID [POD-ID...]") var ids: [String]

    func run() async throws {
        try await Session.printStatuses(global, ids: ids, output: output, doing: "getting the pod sandbox status of",
                                        template: ReplyTemplates.podSandboxStatus) { cri, id in
            let reply = try await cri.runtime.podSandboxStatus(.with { $0.podSandboxID = id; $0.verbose = true }, options: cri.options)
            return (reply.status, reply.info)
        }
    }
}

extension ParsableCommand {
    /// `--label key=value` options as a CRI label selector (pods and ps alike); a value may be empty.
    static func labelSelector(_ pairs: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw ValidationError("--label \(pair): expected key=value") }
            labels[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return labels
    }
}
