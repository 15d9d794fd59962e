import ArgumentParser
import SkiffConfig

/// `skiffd`: the CRI daemon. With no subcommand it serves; `skiffd config` prints configuration.
@main
struct Skiffd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiffd",
        abstract: "Skiff: a CRI v1 container runtime for Kubernetes nodes.",
        version: SkiffVersion.current,
        subcommands: [Serve.self, ConfigCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Flags that override the configuration files, shared by `serve` and `config dump`.
struct ConfigOptions: ParsableArguments {
    @Option(help: "Main configuration file; drop-ins are read from its directory's config.d/.")
    var config: String = ConfigLoader.defaultPath

    @Option(help: "Directory for durable state (overrides `root`).")
    var root: String?

    @Option(help: "Directory for volatile state (overrides `state`).")
    var state: String?

    @Option(help: "CRI socket path (overrides `grpc.socket`).")
    var socket: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    /// Files first, then flags. A `--config` the operator names must exist.
    func load() throws -> SkiffConfiguration {
        var config = try ConfigLoader.load(path: config, mustExist: config != ConfigLoader.defaultPath)
        try override(&config.root, flag: "--root", with: root)
        try override(&config.state, flag: "--state", with: state)
        try override(&config.grpc.socket, flag: "--socket", with: socket)
        if let logLevel {
            guard SkiffConfiguration.logLevels.contains(logLevel) else {
                throw ConfigError.badOverride(flag: "--log-level", message: "'\(logLevel)' is not one of "
                    + SkiffConfiguration.logLevels.joined(separator: ", "))
            }
            config.logLevel = logLevel
        }
        return config
    }

    private func override(_ field: inout String, flag: String, with value: String?) throws {
        guard let value else { return }
        guard value.hasPrefix("/") else {
            throw ConfigError.badOverride(flag: flag, message: "expected an absolute path, found '\(value)'")
        }
        field = value
    }
}
