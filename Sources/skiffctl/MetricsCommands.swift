import ArgumentParser
import CRIAPI

/// crictl's `metricdescs`: the metrics the runtime can report (ListMetricDescriptors).
struct MetricdescsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metricdescs", abstract: "List metric descriptors.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.") var output: OutputFormat = .json

    func run() async throws {
        let reply = try await Session.run(global, .runtime, doing: "listing metric descriptors") { cri in
            try await cri.runtime.listMetricDescriptors(.init(), options: cri.options)
        }
        print(try output.render(try Session.json(reply)))
    }
}

/// crictl's `metricsp`: each ready pod's metrics and its containers' (ListPodSandboxMetrics).
struct MetricspCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metricsp", abstract: "List pod sandbox metrics.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.") var output: OutputFormat = .json

    func run() async throws {
        let reply = try await Session.run(global, .runtime, doing: "listing pod metrics") { cri in
            try await cri.runtime.listPodSandboxMetrics(.init(), options: cri.options)
        }
        print(try output.render(try Session.json(reply)))
    }
}
