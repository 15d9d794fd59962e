import ArgumentParser
import CRIAPI

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Display runtime version information.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let request = Runtime_V1_VersionRequest.with { $0.version = "v1" }
        let reply = try await Session.run(global, .runtime, doing: "getting the runtime version") { cri in
            try await cri.runtime.version(request, options: cri.options)
        }
        Session.debug(global, "VersionResponse", reply)
        // crictl's exact layout: Go's Println puts a space between the label and the value.
        print("Version:  \(reply.version)")
        print("RuntimeName:  \(reply.runtimeName)")
        print("RuntimeVersion:  \(reply.runtimeVersion)")
        print("RuntimeApiVersion:  \(reply.runtimeApiVersion)")
    }
}
