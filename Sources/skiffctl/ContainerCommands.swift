import ArgumentParser
import CRIAPI
import Foundation
import JSONCoding

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new container in a pod.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pod's id.") var pod: String
    @Argument(help: "container-config.json") var containerConfig: String
    @Argument(help: "pod-config.json (the config the pod was run with)") var podConfig: String

    func run() async throws {
        let container = try ConfigFile.load(Runtime_V1_ContainerConfig.self, containerConfig)
        let sandbox = try ConfigFile.load(Runtime_V1_PodSandboxConfig.self, podConfig)
        let reply = try await Session.run(global, .runtime, doing: "creating container") { cri in
            try await cri.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = container
                $0.sandboxConfig = sandbox
            }, options: cri.options)
        }
        print(reply.containerID)
    }
}

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start one or more created containers.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER-ID [CONTAINER-ID...]") var ids: [String]

    func run() async throws {
        try await Session.each(global, ids, doing: { "starting the container \"\($0)\"" }) { cri, id in
            _ = try await cri.runtime.startContainer(.with { $0.containerID = id }, options: cri.options)
        }
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop one or more running containers.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customLong("stop-timeout")], help: "Seconds to wait before killing the container (crictl's stop --timeout; here --timeout is the call deadline).") var seconds: Int64 = 0
    @Argument(help: "CONTAINER-ID [CONTAINER-ID...]") var ids: [String]

    func run() async throws {
        try await Session.each(global, ids, doing: { "stopping the container \"\($0)\"" }) { cri, id in
            _ = try await cri.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = seconds }, options: cri.options)
        }
    }
}

struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more containers.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Stop the container first if it is running.") var force = false
    @Argument(help: "CONTAINER-ID [CONTAINER-ID...]") var ids: [String]

    func run() async throws {
        try await Session.each(global, ids, doing: { "removing the container \"\($0)\"" }) { cri, id in
            if force { _ = try await cri.runtime.stopContainer(.with { $0.containerID = id }, options: cri.options) }
            _ = try await cri.runtime.removeContainer(.with { $0.containerID = id }, options: cri.options)
        }
    }
}

struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Show all containers, not only running ones.") var all = false
    @Flag(name: [.short, .long], help: "Only display container IDs.") var quiet = false
    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.") var output: OutputFormat = .table
    @Option(name: [.short, .long], help: "Filter by pod id.") var pod: String?
    @Option(help: "Filter by container id.") var id: String?
    @Option(help: "Filter by container name: a regular expression, as crictl's.") var name: String?
    @Option(help: "Filter by state: created, running, exited or unknown.") var state: String?
    @Option(help: "Filter by a label, key=value (repeatable).") var label: [String] = []

    func run() async throws {
        let pattern = try name.map { text in
            do { return try Regex(text) } catch { throw ValidationError("--name: not a regular expression: \(text)") }
        }
        let wanted: Runtime_V1_ContainerState? = try state.map { text in
            switch text.lowercased() {
            case "created": return .containerCreated
            case "running": return .containerRunning
            case "exited": return .containerExited
            case "unknown": return .containerUnknown
            default: throw ValidationError("--state: created, running, exited or unknown")
            }
        }
        let labels = try Self.labelSelector(label)
        let reply = try await Session.run(global, .runtime, doing: "listing containers") { cri in
            try await cri.runtime.listContainers(.with { request in
                if let pod { request.filter.podSandboxID = pod }
                if let id { request.filter.id = id }
                request.filter.labelSelector = labels
                if let wanted { request.filter.state.state = wanted } else if !all { request.filter.state.state = .containerRunning }
            }, options: cri.options)
        }
        let items = reply.containers.filter { c in pattern.map { c.metadata.name.contains($0) } ?? true }
            .sorted { $0.createdAt > $1.createdAt }
        if quiet { return items.forEach { print($0.id) } }
        if output != .table {
            return print(try output.render(.object(["containers": .array(try items.map { try Session.json($0, template: ReplyTemplates.container) })])))
        }
        print(Table.render([["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"]] + items.map { c in
            [String(c.id.prefix(13)), c.image.image, Table.ago(nanoseconds: c.createdAt), Table.state(c.state),
             c.metadata.name, String(c.metadata.attempt), String(c.podSandboxID.prefix(13))]
        }))
    }
}

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display the status of one or more containers.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.") var output: OutputFormat = .json
    @Argument(help: "CONTAINER-ID [CONTAINER-ID...]") var ids: [String]

    func run() async throws {
        try await Session.printStatuses(global, ids: ids, output: output, doing: "getting the status of the container",
                                        template: ReplyTemplates.containerStatus) { cri, id in
            let reply = try await cri.runtime.containerStatus(.with { $0.containerID = id; $0.verbose = true }, options: cri.options)
            return (reply.status, reply.info)
        }
    }
}

/// crictl's table layout: columns padded to their widest cell, three spaces apart.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    /// "5 minutes ago", from a CRI timestamp in nanoseconds.
    static func ago(nanoseconds: Int64) -> String {
        let seconds = max(0, Int(Date().timeIntervalSince1970) - Int(nanoseconds / 1_000_000_000))
        let units: [(Int, String)] = [(86_400, "day"), (3600, "hour"), (60, "minute"), (1, "second")]
        for (size, name) in units where seconds >= size {
            let n = seconds / size
            return "\(n == 1 && size > 1 ? (name == "hour" ? "An" : "A") : String(n)) \(name)\(n == 1 ? "" : "s") ago"
        }
        return "Less than a second ago"
    }

    static func state(_ state: Runtime_V1_ContainerState) -> String {
        switch state {
        case .containerCreated: "Created"
        case .containerRunning: "Running"
        case .containerExited: "Exited"
        default: "Unknown"
        }
    }
}
