import ArgumentParser
import CRIAPI

struct RuntimeConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runtime-config", abstract: "Retrieve the container runtime configuration.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let reply = try await Session.run(global, .runtime, doing: "get runtime config") { cri in
            try await cri.runtime.runtimeConfig(Runtime_V1_RuntimeConfigRequest(), options: cri.options)
        }
        Session.debug(global, "RuntimeConfigResponse", reply)
        if reply.hasLinux {
            let driver = reply.linux.cgroupDriver == .cgroupfs ? "CGROUPFS" : "SYSTEMD"
            // crictl's tabwriter: the label padded by three spaces.
            print("cgroup driver:   \(driver)")
        }
    }
}
