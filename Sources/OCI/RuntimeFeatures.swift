/// The OCI runtime features document (`runtime-spec/features.md`), what `skiff features` prints and
/// what containerd and other managers read to learn what a runtime supports.
public struct RuntimeFeatures: Codable, Equatable, Sendable {
    public struct Linux: Codable, Equatable, Sendable {
        public struct Cgroup: Codable, Equatable, Sendable {
            public var v1: Bool
            public var v2: Bool
            public var systemd: Bool
            public var systemdUser: Bool

            public init(v1: Bool, v2: Bool, systemd: Bool, systemdUser: Bool) {
                (self.v1, self.v2, self.systemd, self.systemdUser) = (v1, v2, systemd, systemdUser)
            }
        }

        public struct Seccomp: Codable, Equatable, Sendable {
            public var enabled: Bool
            public var actions: [String]
            public var operators: [String]
            public var archs: [String]
            public var knownFlags: [String]
            public var supportedFlags: [String]

            public init(enabled: Bool, actions: [String], operators: [String], archs: [String], knownFlags: [String], supportedFlags: [String]) {
                (self.enabled, self.actions, self.operators) = (enabled, actions, operators)
                (self.archs, self.knownFlags, self.supportedFlags) = (archs, knownFlags, supportedFlags)
            }
        }

        public struct Enabled: Codable, Equatable, Sendable {
            public var enabled: Bool
            public init(enabled: Bool) { self.enabled = enabled }
        }

        public var namespaces: [String]
        public var capabilities: [String]
        public var cgroup: Cgroup
        public var seccomp: Seccomp
        public var apparmor: Enabled
        public var selinux: Enabled
        public var intelRdt: Enabled
        /// `idmap`: idmapped bind mounts (`idmap`/`ridmap`, or a mount's mappings).
        public var mountExtensions: [String: Enabled]?

        public init(namespaces: [String], capabilities: [String], cgroup: Cgroup, seccomp: Seccomp, apparmor: Enabled,
                    selinux: Enabled, intelRdt: Enabled, mountExtensions: [String: Enabled]? = nil) {
            (self.namespaces, self.capabilities, self.cgroup, self.seccomp) = (namespaces, capabilities, cgroup, seccomp)
            (self.apparmor, self.selinux, self.intelRdt, self.mountExtensions) = (apparmor, selinux, intelRdt, mountExtensions)
        }
    }

    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]
    public var mountOptions: [String]
    public var linux: Linux
    public var annotations: [String: String]

    public init(ociVersionMin: String, ociVersionMax: String, hooks: [String], mountOptions: [String], linux: Linux,
                annotations: [String: String]) {
        self.ociVersionMin = ociVersionMin
        self.ociVersionMax = ociVersionMax
        self.hooks = hooks
        self.mountOptions = mountOptions
        self.linux = linux
        self.annotations = annotations
    }
}
