import ArgumentParser
import CRIAPI
import Foundation
import JSONCoding

/// `events`: GetContainerEvents, one document per event as it comes, until interrupted.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Stream the events of containers.", aliases: ["event"])
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.") var output: OutputFormat = .json

    /// CREATED is the enum's zero, which JSON leaves out: put back, so every event names its type.
    static let template: JSONValue = .object(["containerEventType": .string("CONTAINER_CREATED_EVENT")])

    func run() async throws {
        guard output != .table else { throw ValidationError("unsupported format: \"table\"") }
        let format = output
        try await Session.run(global, .runtime, doing: "getting container events", deadline: .none) { cri in
            try await cri.runtime.getContainerEvents(Runtime_V1_GetEventsRequest(), options: cri.options) { response in
                for try await event in response.messages {
                    // Written at once, not buffered: a pipe reader sees each event as it happens.
                    FileHandle.standardOutput.write(Data((try format.render(try Session.json(event, template: Self.template)) + "\n").utf8))
                }
            }
        }
    }
}

/// `run`: a pod and one container in it, started (crictl's run), printing the container's id.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a new container inside a new pod.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Runtime handler to use (the runtime's configured handlers).") var runtime = ""
    @Flag(help: "Pull the image before creating the container.") var withPull = false
    @Argument(help: "container-config.json") var containerConfig: String
    @Argument(help: "pod-config.json") var podConfig: String

    func run() async throws {
        let container = try ConfigFile.load(Runtime_V1_ContainerConfig.self, containerConfig)
        let sandbox = try ConfigFile.load(Runtime_V1_PodSandboxConfig.self, podConfig)
        if withPull {
            _ = try await Session.run(global, .image, doing: "pulling image \"\(container.image.image)\"", deadline: .none) { cri in
                try await cri.image.pullImage(.with { $0.image = container.image; $0.sandboxConfig = sandbox }, options: cri.options)
            }
        }
        let handler = runtime
        let pod = try await Session.run(global, .runtime, doing: "running the pod sandbox") { cri in
            try await cri.runtime.runPodSandbox(.with { $0.config = sandbox; $0.runtimeHandler = handler }, options: cri.options).podSandboxID
        }
        let id = try await Session.run(global, .runtime, doing: "creating the container") { cri in
            try await cri.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = container
                $0.sandboxConfig = sandbox
            }, options: cri.options).containerID
        }
        _ = try await Session.run(global, .runtime, doing: "starting the container \"\(id)\"") { cri in
            try await cri.runtime.startContainer(.with { $0.containerID = id }, options: cri.options)
        }
        print(id)
    }
}
