import ArgumentParser
import Logging
import SkiffConfig

/// `skiffd [serve]`: load the configuration and serve CRI until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve CRI on the unix socket (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LogfmtHandler(logLevel: level, label: label) }
        let logger = Logger(label: "skiffd")
        do {
            try await Daemon(config: config, logger: logger).run()
        } catch {
            logger.critical("skiffd stopped", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
