import ArgumentParser
import SkiffConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the default or the effective configuration.",
        subcommands: [Default.self, Dump.self]
    )

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the full default config.toml.")

        func run() {
            print(ConfigRenderer.render(SkiffConfiguration(), header: "skiffd \(SkiffVersion.current) default configuration.\nEvery key is optional; this file shows each with its default."), terminator: "")
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration: defaults, files, drop-ins and flags.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            print(ConfigRenderer.render(config, header: "skiffd \(SkiffVersion.current) effective configuration."), terminator: "")
        }
    }
}
