import ArgumentParser
import CommandLineSupport
import SkiffConfig

/// `skiffctl`: a crictl-compatible debugging client for any CRI runtime, Skiff's first.
@main
struct Skiffctl: AsyncParsableCommand {
    /// crictl takes its connection flags before the command (`crictl -r unix:///… version`);
    /// argument-parser only reads a subcommand's options after its name, so move them there.
    static let global = GlobalArguments(
        withValue: ["-r", "--runtime-endpoint", "-i", "--image-endpoint", "-t", "--timeout", "-c", "--config"],
        flags: ["-D", "--debug"],
        longForms: ["-r": "--runtime-endpoint", "-i": "--image-endpoint", "-t": "--timeout", "-c": "--config", "-D": "--debug"])

    static func main() async {
        await main(global.movedAfterCommand(Array(CommandLine.arguments.dropFirst())))
    }

    static let configuration = CommandConfiguration(
        commandName: "skiffctl",
        abstract: "Inspect and debug a CRI runtime (crictl's nouns, flags and output formats).",
        version: SkiffVersion.current,
        subcommands: [VersionCommand.self, InfoCommand.self, RuntimeConfigCommand.self, ImageFsInfoCommand.self,
                      PullCommand.self, ImagesCommand.self, InspectiCommand.self, RmiCommand.self,
                      RunpCommand.self, StoppCommand.self, RmpCommand.self, PodsCommand.self, InspectpCommand.self,
                      CreateCommand.self, StartCommand.self, StopCommand.self, RmCommand.self, PsCommand.self,
                      InspectCommand.self, ExecCommand.self, AttachCommand.self, PortForwardCommand.self, UpdateCommand.self, LogsCommand.self, RunCommand.self,
                      StatsCommand.self, StatspCommand.self, MetricdescsCommand.self, MetricspCommand.self, EventsCommand.self]
    )
}
