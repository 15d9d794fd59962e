import Capabilities
import OCI
import Testing
@testable import SpecBuilder

@Suite struct SpecBuilderTests {
    let passwd = "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n# comment\nbroken:x:notanumber\n"
    let group = "root:x:0:\nweb:x:1000:\nstaff:x:50:web,other\naudio:x:29:other\n"

    var sandbox: SandboxInput {
        var s = SandboxInput()
        s.id = "pod1"
        s.name = "web"
        s.namespace = "default"
        s.uid = "uid-1"
        s.networkNamespace = "/run/skiff/ns/pod1/net"
        s.ipcNamespace = "/run/skiff/ns/pod1/ipc"
        s.utsNamespace = "/run/skiff/ns/pod1/uts"
        s.cgroupParent = "/kubepods/besteffort/pod-uid-1"
        s.hostnameFile = "/run/skiff/pods/pod1/hostname"
        s.resolvConfFile = "/run/skiff/pods/pod1/resolv.conf"
        return s
    }

    func container(_ edit: (inout ContainerInput) -> Void = { _ in }) -> ContainerInput {
        var c = ContainerInput()
        c.id = "c1"
        c.name = "app"
        edit(&c)
        return c
    }

    func image(entrypoint: [String] = ["/entry"], cmd: [String] = ["serve"], user: String = "", env: [String] = ["PATH=/bin", "A=image"]) -> ImageInput {
        var i = ImageInput()
        i.reference = "registry/app:1"
        i.entrypoint = entrypoint
        i.cmd = cmd
        i.user = user
        i.env = env
        i.workingDir = "/srv"
        return i
    }

    func build(_ c: ContainerInput, _ i: ImageInput? = nil, builder: SpecBuilder? = nil) throws -> RuntimeSpec {
        try (builder ?? SpecBuilder(users: UserDatabase(passwd: passwd, group: group))).build(c, image: i ?? image(), sandbox: sandbox, rootfs: "/var/lib/skiff/c1/rootfs")
    }

    @Test(arguments: [
        ([], [], ["/entry", "serve"]),                      // the image's entrypoint and cmd
        ([], ["other"], ["/entry", "other"]),               // args replace cmd
        (["/bin/sh"], [], ["/bin/sh"]),                     // command replaces entrypoint and cmd
        (["/bin/sh"], ["-c", "x"], ["/bin/sh", "-c", "x"]),
    ] as [([String], [String], [String])])
    func commandAndArgsFollowContainerdsRule(command: [String], args: [String], expected: [String]) throws {
        #expect(try build(container { $0.command = command; $0.args = args }).process?.args == expected)
    }

    @Test func noProgramAnywhereIsRefused() {
        #expect(throws: SpecError.self) { try build(container(), image(entrypoint: [], cmd: [])) }
    }

    @Test func environmentIsTheImagesOverriddenByTheConfigsInOrder() throws {
        let spec = try build(container { $0.env = [("A", "config"), ("B", "b")]; $0.tty = true })
        #expect(spec.process?.env == ["PATH=/bin", "A=config", "B=b", "TERM=xterm"])
        #expect(spec.process?.cwd == "/srv" && spec.process?.terminal == true)
        #expect(throws: SpecError.self) { try build(container { $0.env = [("A=B", "x")] }) }
        #expect(throws: SpecError.self) { try build(container { $0.workingDir = "relative" }) }
    }

    @Test func usersResolveFromTheImagesFiles() throws {
        var spec = try build(container(), image(user: "web"))
        #expect(spec.process?.user.uid == 1000 && spec.process?.user.gid == 1000)
        #expect(spec.process?.user.additionalGids == [1000, 50]) // the primary group, and staff lists web (policy Merge)
        spec = try build(container { $0.security.strictSupplementalGroups = true; $0.security.supplementalGroups = [29] }, image(user: "web"))
        #expect(spec.process?.user.additionalGids == [1000, 29])
        spec = try build(container { $0.security.runAsUser = 4242 })
        #expect(spec.process?.user.uid == 4242 && spec.process?.user.gid == 0)
        spec = try build(container { $0.security.runAsUsername = "web"; $0.security.runAsGroup = 7 })
        #expect(spec.process?.user.gid == 7)
        spec = try build(container(), image(user: "1000:staff"))
        #expect(spec.process?.user.uid == 1000 && spec.process?.user.gid == 50)
        #expect(throws: SpecError.self) { try build(container(), image(user: "nobody")) }
        #expect(throws: SpecError.self) { try build(container { $0.security.runAsUser = -1 }) }
    }

    @Test func capabilitiesStartFromTheCRIDefaultsWithAddAndDropAndALL() throws {
        var caps = try build(container { $0.security.addCapabilities = ["sys_admin"]; $0.security.dropCapabilities = ["CAP_NET_RAW"] }).process?.capabilities
        #expect(caps?.bounding?.contains("CAP_SYS_ADMIN") == true && caps?.bounding?.contains("CAP_NET_RAW") == false)
        #expect(caps?.effective == caps?.bounding && caps?.permitted == caps?.bounding && caps?.ambient == nil)
        caps = try build(container { $0.security.dropCapabilities = ["ALL"]; $0.security.addCapabilities = ["NET_BIND_SERVICE"] }).process?.capabilities
        #expect(caps?.bounding == ["CAP_NET_BIND_SERVICE"])
        caps = try build(container { $0.security.addCapabilities = ["ALL"] }).process?.capabilities
        #expect(caps?.bounding?.count == Capability.names.count)
        #expect(throws: SpecError.self) { try build(container { $0.security.addCapabilities = ["CAP_FLY"] }) }
    }

    @Test func thePodsNamespacesAreJoinedByPathAndTheCgroupIsUnderItsParent() throws {
        let spec = try build(container())
        let namespaces = spec.linux?.namespaces ?? []
        #expect(namespaces.first { $0.type == "network" }?.path == "/run/skiff/ns/pod1/net")
        #expect(namespaces.first { $0.type == "uts" }?.path == "/run/skiff/ns/pod1/uts")
        #expect(namespaces.first { $0.type == "pid" }?.path == nil && namespaces.contains { $0.type == "mount" })
        #expect(spec.linux?.cgroupsPath == "/kubepods/besteffort/pod-uid-1/c1")
        #expect(spec.hostname == nil)
        var systemd = sandbox
        systemd.systemdCgroup = true
        systemd.cgroupParent = "kubepods-besteffort-poduid1.slice"
        let scoped = try SpecBuilder().build(container(), image: image(), sandbox: systemd, rootfs: "/r")
        #expect(scoped.linux?.cgroupsPath == "kubepods-besteffort-poduid1.slice:skiff:c1")
        let hostPID = try build(container { $0.security.pid = .node })
        #expect(hostPID.linux?.namespaces?.contains { $0.type == "pid" } == false)
    }

    @Test func volumesWinOverDefaultsAndCarryTheirPropagation() throws {
        let spec = try build(container {
            $0.mounts = [.init(containerPath: "/etc/hosts", hostPath: "/var/lib/kubelet/pods/x/etc-hosts"),
                         .init(containerPath: "/data/", hostPath: "/srv/data", readonly: true, propagation: .bidirectional)]
        })
        let mounts = spec.mounts ?? []
        #expect(mounts.filter { $0.destination == "/etc/hosts" }.count == 1)
        #expect(mounts.first { $0.destination == "/data/" }?.options == ["rbind", "rshared", "ro"])
        #expect(mounts.first { $0.destination == "/etc/resolv.conf" }?.source == "/run/skiff/pods/pod1/resolv.conf")
        #expect(spec.linux?.rootfsPropagation == "rshared")
        #expect(throws: SpecError.self) { try build(container { $0.mounts = [.init(containerPath: "relative", hostPath: "/x")] }) }
        #expect(throws: SpecError.self) { try build(container { $0.mounts = [.init(containerPath: "/x", hostPath: "/x\0y")] }) }
    }

    @Test func resourcesAndPrivilegedAndSeccomp() throws {
        var spec = try build(container {
            $0.resources.cpuShares = 2
            $0.resources.cpuQuota = 50_000
            $0.resources.cpuPeriod = 100_000
            $0.resources.memoryLimit = 64 << 20
            $0.resources.oomScoreAdj = 1000
        })
        #expect(spec.linux?.resources?.cpu == RuntimeSpec.CPU(shares: 2, quota: 50_000, period: 100_000))
        #expect(spec.linux?.resources?.memory?.limit == 64 << 20 && spec.process?.oomScoreAdj == 1000)
        #expect(spec.linux?.resources?.devices == [RuntimeSpec.DeviceRule(allow: false, access: "rwm")])
        #expect(spec.linux?.maskedPaths?.contains("/proc/kcore") == true)
        spec = try build(container { $0.security.privileged = true })
        #expect(spec.linux?.maskedPaths == nil && spec.linux?.resources?.devices == [RuntimeSpec.DeviceRule(allow: true, access: "rwm")])
        #expect(spec.mounts?.first { $0.destination == "/sys" }?.options?.contains("ro") == false)
        #expect(spec.linux?.seccomp == nil, "privileged ignores seccomp, as containerd does")
        #expect(throws: SpecError.self) { try build(container { $0.resources.memoryLimit = -5 }) }
        #expect(throws: SpecError.self) { try build(container { $0.resources.unified = ["../memory.max": "1"] }) }
    }

    @Test func limitsOfTolerableMissingControllersAreDroppedAndNamed() {
        var r = ContainerInput.Resources()
        r.cpuShares = 2
        r.memoryLimit = 1 << 20
        r.cpusetCpus = "0"
        r.unified = ["memory.high": "1", "hugetlb.2MB.max": "0", "pids.max": "10"]
        let (kept, dropped) = r.dropping(controllers: ["cpu", "memory", "io"])
        #expect(dropped == ["cpu", "memory"])
        #expect(kept.cpuShares == 0 && kept.memoryLimit == 0 && kept.cpusetCpus == "0")
        #expect(kept.unified == ["hugetlb.2MB.max": "0", "pids.max": "10"])
        #expect(r.dropping(controllers: []).0 == r)
    }

    @Test func annotationsLetTheBundleRebuildTheRecord() throws {
        let spec = try build(container { $0.annotations = ["user": "x", "io.kubernetes.cri.sandbox-id": "forged"] })
        #expect(spec.annotations?["io.kubernetes.cri.sandbox-id"] == "pod1")
        #expect(spec.annotations?["io.kubernetes.cri.image-name"] == "registry/app:1" && spec.annotations?["user"] == "x")
    }

    @Test func runtimeDefaultSeccompRefusesWhatTheCapabilitiesDoNotAllow() throws {
        let plain = try #require(try build(container { $0.security.seccomp = .runtimeDefault }).linux?.seccomp)
        let refused = Set(plain.syscalls?.filter { $0.args == nil }.flatMap(\.names) ?? [])
        #expect(plain.defaultAction == "SCMP_ACT_ALLOW")
        #expect(refused.isSuperset(of: ["mount", "unshare", "setns", "ptrace", "kexec_load", "init_module", "keyctl", "bpf"]))
        #expect(!refused.contains("chroot"), "CAP_SYS_CHROOT is a default capability")
        #expect(plain.syscalls?.contains { $0.names == ["clone"] && $0.args?.first?.op == "SCMP_CMP_MASKED_EQ" } == true)
        let admin = try #require(try build(container {
            $0.security.seccomp = .runtimeDefault
            $0.security.addCapabilities = ["SYS_ADMIN", "SYS_PTRACE"]
        }).linux?.seccomp)
        let adminRefused = Set(admin.syscalls?.flatMap(\.names) ?? [])
        #expect(!adminRefused.contains("mount") && !adminRefused.contains("ptrace") && !adminRefused.contains("clone"))
        #expect(adminRefused.contains("kexec_load"), "some calls stay refused whatever the capabilities")
    }

    @Test func privilegedGetsOnlyWhatTheHostHasAndAGroupNeedsAUser() throws {
        var builder = SpecBuilder(users: UserDatabase(passwd: passwd, group: group))
        builder.hostCapabilities = Capability.names.filter { $0 != "CAP_SYS_RESOURCE" }
        let spec = try build(container { $0.security.privileged = true }, builder: builder)
        #expect(spec.process?.capabilities?.bounding?.contains("CAP_SYS_RESOURCE") == false)
        #expect(spec.process?.capabilities?.bounding?.contains("CAP_SYS_ADMIN") == true)
        #expect(throws: SpecError.invalid(field: "run_as_group", reason: "needs run_as_user or run_as_username")) {
            try build(container { $0.security.runAsGroup = 50 })
        }
        #expect(try build(container { $0.security.runAsUsername = "web"; $0.security.runAsGroup = 50 }).process?.user.gid == 50)
    }

    @Test func recursiveReadOnlyNeedsReadOnlyAndPrivate() throws {
        let ok = try build(container { $0.mounts = [.init(containerPath: "/v", hostPath: "/h", readonly: true, recursiveReadOnly: true)] })
        #expect(ok.mounts?.first { $0.destination == "/v" }?.options == ["rbind", "rprivate", "rro"])
        for bad in [ContainerInput.Mount(containerPath: "/v", hostPath: "/h", readonly: false, recursiveReadOnly: true),
                    ContainerInput.Mount(containerPath: "/v", hostPath: "/h", readonly: true, propagation: .hostToContainer, recursiveReadOnly: true)] {
            #expect(throws: SpecError.invalid(field: "mounts[0].recursive_read_only", reason: "needs readonly and private propagation")) {
                try build(container { $0.mounts = [bad] })
            }
        }
    }

    /// Where AppArmor is enforced: the default for the unprivileged who ask nothing and for
    /// RuntimeDefault, none for Unconfined or a privileged container that asks nothing, a
    /// Localhost profile by its bare name; where it is not, no container gets a profile.
    @Test func appArmorProfilesFollowTheChoiceAndTheNode() throws {
        var builder = SpecBuilder(users: UserDatabase(passwd: passwd, group: group))
        func profile(_ choice: ContainerInput.AppArmorChoice, privileged: Bool = false) throws -> String? {
            try build(container { $0.security.apparmor = choice; $0.security.privileged = privileged }, builder: builder).process?.apparmorProfile
        }
        #expect(try profile(.unset) == nil && profile(.runtimeDefault) == nil && profile(.localhost("mine")) == nil)
        builder.appArmorDefault = "skiff-default"
        #expect(try profile(.unset) == "skiff-default" && profile(.runtimeDefault) == "skiff-default")
        #expect(try profile(.unset, privileged: true) == nil && profile(.runtimeDefault, privileged: true) == "skiff-default")
        #expect(try profile(.unconfined) == nil)
        #expect(try profile(.localhost("mine")) == "mine" && profile(.localhost("localhost/mine")) == "mine")
    }
}

/// A pod with a user namespace: containers join it, carry its mappings, and idmap their volumes.
@Suite struct SpecBuilderUserNamespaceTests {
    let mapping = [RuntimeSpec.IDMapping(containerID: 0, hostID: 100_000, size: 65536)]

    func build(podUserns: Bool, volumeMappings: [RuntimeSpec.IDMapping] = []) throws(SpecError) -> RuntimeSpec {
        var sandbox = SandboxInput()
        sandbox.id = "pod1"
        sandbox.networkNamespace = "/run/skiff/ns/pod1/net"
        if podUserns { sandbox.userNamespace = .init(path: "/run/skiff/ns/pod1/user", uids: mapping, gids: mapping) }
        var c = ContainerInput()
        c.id = "c1"
        c.mounts = [.init(containerPath: "/data", hostPath: "/srv/data", uidMappings: volumeMappings, gidMappings: volumeMappings)]
        var image = ImageInput()
        image.cmd = ["/bin/sh"]
        return try SpecBuilder().build(c, image: image, sandbox: sandbox, rootfs: "/r")
    }

    @Test func containersJoinThePodsUserNamespaceAndIdmapVolumes() throws {
        let spec = try build(podUserns: true, volumeMappings: mapping)
        #expect(spec.linux?.namespaces?.contains(.init(type: "user", path: "/run/skiff/ns/pod1/user")) == true)
        #expect(spec.linux?.uidMappings == mapping && spec.linux?.gidMappings == mapping)
        let volume = spec.mounts?.first { $0.destination == "/data" }
        #expect(volume?.uidMappings == mapping && volume?.gidMappings == mapping)
        // The kubelet sends the mappings, but a volume without them is idmapped all the same.
        #expect(try build(podUserns: true).mounts?.first { $0.destination == "/data" }?.uidMappings == mapping)
        let plain = try build(podUserns: false)
        #expect(plain.linux?.namespaces?.contains { $0.type == "user" } == false && plain.linux?.uidMappings == nil)
    }

    @Test func volumeMappingsOtherThanThePodsAreRefused() {
        #expect(throws: SpecError.self) { try build(podUserns: false, volumeMappings: mapping) }
        #expect(throws: SpecError.self) { try build(podUserns: true, volumeMappings: [.init(containerID: 0, hostID: 1, size: 10)]) }
    }
}
