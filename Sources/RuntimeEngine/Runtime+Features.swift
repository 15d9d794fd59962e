import Capabilities
import LinuxKit
import OCI
import Seccomp

extension Runtime {
    /// What `skiff features` reports: the OCI features document, from the tables the runtime
    /// itself uses (capabilities, seccomp actions and operators), so it cannot claim more.
    public static func features() -> RuntimeFeatures {
        let host = host(bundle: "/", lastCap: lastCap())
        let linux = RuntimeFeatures.Linux(
            namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            capabilities: Array(Capability.names.prefix(lastCap() + 1)),
            cgroup: .init(v1: false, v2: true, systemd: true, systemdUser: false),
            seccomp: .init(enabled: true, actions: SeccompProgram.actionNames, operators: SeccompProgram.operatorNames,
                           archs: SeccompProgram.architectureNames, knownFlags: SeccompProgram.flagNames,
                           supportedFlags: SeccompProgram.flagNames),
            apparmor: .init(enabled: host.appArmor), selinux: .init(enabled: false), intelRdt: .init(enabled: false),
            // In a joined user namespace, with that namespace's mappings (a pod's containers).
            mountExtensions: ["idmap": .init(enabled: true)])
        return RuntimeFeatures(
            ociVersionMin: "1.0.0", ociVersionMax: RuntimeSpec.version,
            hooks: ["prestart", "createRuntime", "poststart", "poststop"],
            mountOptions: MountOptions.names, linux: linux, annotations: [:])
    }
}
