import ArgumentParser
import CRIAPI
import CRIClient
import Foundation
import SwiftProtobuf

/// `stats` and `statsp` as crictl prints them: CPU % from two samples a second apart, memory as the
/// working set (the RSS where the node's tree gives no working set), sizes in decimal units.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "List container resource usage statistics.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Show all containers, not only running ones.") var all = false
    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.") var output: OutputFormat = .table
    @Option(name: [.short, .long], help: "Filter by pod id.") var pod: String?
    @Option(name: [.customLong("id")], help: "Filter by container id.") var id: String?
    @Option(name: [.short, .long], help: "Sampling seconds between the two readings of the table's CPU %.") var seconds: Int = 1

    func run() async throws {
        let (pod, id) = (self.pod, self.id)
        try await Sampling.show(global, output: output, seconds: seconds, doing: "listing container stats",
                                header: ["CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"], cpu: \.cpu) { cri in
            try await cri.runtime.listContainerStats(.with { request in
                if let pod { request.filter.podSandboxID = pod }
                if let id { request.filter.id = id }
            }, options: cri.options).stats
        } row: { s, cpu in
            let layer = s.writableLayer
            return [String(s.attributes.id.prefix(13)), s.attributes.metadata.name, cpu, Usage.memory(s.memory),
                    Usage.size(layer.hasUsedBytes ? layer.usedBytes.value : nil), layer.hasInodesUsed ? String(layer.inodesUsed.value) : "-"]
        }
    }
}

struct StatspCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "statsp", abstract: "List pod statistics.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.") var output: OutputFormat = .table
    @Option(name: [.customLong("id")], help: "Filter by pod id.") var id: String?
    @Option(name: [.short, .long], help: "Sampling seconds between the two readings of the table's CPU %.") var seconds: Int = 1

    func run() async throws {
        let id = self.id
        try await Sampling.show(global, output: output, seconds: seconds, doing: "listing pod stats",
                                header: ["POD", "POD ID", "CPU %", "MEM"], cpu: \.linux.cpu) { cri in
            try await cri.runtime.listPodSandboxStats(.with { request in
                if let id { request.filter.id = id }
            }, options: cri.options).stats
        } row: { s, cpu in
            [s.attributes.metadata.name, String(s.attributes.id.prefix(13)), cpu, Usage.memory(s.linux.memory)]
        }
    }
}

/// What both commands do: one listing for JSON and YAML; for the table, two listings `seconds`
/// apart, each row's CPU % from the same object's two samples.
enum Sampling {
    protocol Identified { var attributesID: String { get } }

    static func show<S: SwiftProtobuf.Message & Identified>(
        _ global: GlobalOptions, output: OutputFormat, seconds: Int, doing: String, header: [String],
        cpu: KeyPath<S, Runtime_V1_CpuUsage>, list: @escaping @Sendable (CRIClient) async throws -> [S],
        row: (S, String) -> [String]
    ) async throws {
        let first = try await Session.run(global, .runtime, doing: doing, list)
        if output != .table {
            let items = try first.map { try Session.json($0) }
            return print(try output.render(.object(["stats": .array(items)])))
        }
        try await Task.sleep(for: .seconds(max(1, seconds)))
        let second = try await Session.run(global, .runtime, doing: doing, list)
        var before: [String: Runtime_V1_CpuUsage] = [:]
        for s in first { before[s.attributesID] = s[keyPath: cpu] }
        print(Table.render([header] + second.map { row($0, Usage.cpuPercent(before[$0.attributesID], $0[keyPath: cpu])) }))
    }
}

extension Runtime_V1_ContainerStats: Sampling.Identified { var attributesID: String { attributes.id } }
extension Runtime_V1_PodSandboxStats: Sampling.Identified { var attributesID: String { attributes.id } }

enum Usage {
    /// Core-nanoseconds used between two samples over the nanoseconds between them, as a percentage
    /// of one core ("-" without two samples).
    static func cpuPercent(_ a: Runtime_V1_CpuUsage?, _ b: Runtime_V1_CpuUsage) -> String {
        guard let a, a.hasUsageCoreNanoSeconds, b.hasUsageCoreNanoSeconds, b.timestamp > a.timestamp else { return "-" }
        let used = Double(b.usageCoreNanoSeconds.value &- a.usageCoreNanoSeconds.value)
        return String(format: "%.2f", used / Double(b.timestamp - a.timestamp) * 100)
    }

    static func memory(_ m: Runtime_V1_MemoryUsage) -> String {
        size(m.hasWorkingSetBytes ? m.workingSetBytes.value : m.hasRssBytes ? m.rssBytes.value : nil)
    }

    /// Decimal units as crictl (docker's HumanSize) prints them: 4.096kB, 1.5MB.
    static func size(_ bytes: UInt64?) -> String {
        guard let bytes else { return "-" }
        var value = Double(bytes)
        var unit = 0
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return String(format: "%.4g", value) + units[unit]
    }
}
