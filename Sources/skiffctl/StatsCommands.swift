import ArgumentParser
import CRIAPI
import CRIClient
import Foundation

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
        let list = { @Sendable (cri: CRIClient) async throws -> [Runtime_V1_ContainerStats] in
            try await cri.runtime.listContainerStats(.with { request in
                if let pod { request.filter.podSandboxID = pod }
                if let id { request.filter.id = id }
            }, options: cri.options).stats
        }
        let first = try await Session.run(global, .runtime, doing: "listing container stats", list)
        if output != .table {
            let items = try first.map { try Session.json($0) }
            return print(try output.render(.object(["stats": .array(items)])))
        }
        try await Task.sleep(for: .seconds(max(1, seconds)))
        let second = try await Session.run(global, .runtime, doing: "listing container stats", list)
        var before: [String: Runtime_V1_CpuUsage] = [:]
        for s in first { before[s.attributes.id] = s.cpu }
        var rows = [["CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"]]
        for s in second {
            let layer = s.writableLayer
            let disk = Usage.size(layer.hasUsedBytes ? layer.usedBytes.value : nil)
            let inodes = layer.hasInodesUsed ? String(layer.inodesUsed.value) : "-"
            rows.append([String(s.attributes.id.prefix(13)), s.attributes.metadata.name, Usage.cpuPercent(before[s.attributes.id], s.cpu),
                         Usage.memory(s.memory), disk, inodes])
        }
        print(Table.render(rows))
    }
}

struct StatspCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "statsp", abstract: "List pod statistics.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.") var output: OutputFormat = .table
    @Option(name: [.customLong("id")], help: "Filter by pod id.") var id: String?
    @Option(name: [.short, .long], help: "Sampling seconds between the two readings of the table's CPU %.") var seconds: Int = 1

    func run() async throws {
        let list = { @Sendable (cri: CRIClient) async throws -> [Runtime_V1_PodSandboxStats] in
            try await cri.runtime.listPodSandboxStats(.with { request in
                if let id { request.filter.id = id }
            }, options: cri.options).stats
        }
        let first = try await Session.run(global, .runtime, doing: "listing pod stats", list)
        if output != .table {
            let items = try first.map { try Session.json($0) }
            return print(try output.render(.object(["stats": .array(items)])))
        }
        try await Task.sleep(for: .seconds(max(1, seconds)))
        let second = try await Session.run(global, .runtime, doing: "listing pod stats", list)
        var before: [String: Runtime_V1_CpuUsage] = [:]
        for s in first { before[s.attributes.id] = s.linux.cpu }
        var rows = [["POD", "POD ID", "CPU %", "MEM"]]
        for s in second {
            rows.append([s.attributes.metadata.name, String(s.attributes.id.prefix(13)),
                         Usage.cpuPercent(before[s.attributes.id], s.linux.cpu), Usage.memory(s.linux.memory)])
        }
        print(Table.render(rows))
    }
}

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
