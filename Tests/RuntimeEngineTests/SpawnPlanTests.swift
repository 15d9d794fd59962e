import CShims
import OCI
import Testing
@testable import RuntimeEngine

/// config.json → plan, without root: the policy half of the runtime.
@Suite struct SpawnPlanTests {
    let host = SpawnPlan.Host(bundle: "/b", lastCap: 40, isDirectory: { $0.hasSuffix(".file") ? false : true })

    func plan(_ edit: (inout RuntimeSpec) -> Void = { _ in }) throws(RuntimeError) -> SpawnPlan {
        var spec = RuntimeSpec.defaultSpec()
        edit(&spec)
        return try SpawnPlan.build(spec, host: host)
    }

    @Test func theDefaultSpecBuildsTheExpectedPlan() throws {
        let p = try plan()
        #expect(p.rootfs == "/b/rootfs")
        #expect(p.rootfsReadonly)
        #expect(p.cloneFlags == CS_CLONE_NEWPID | CS_CLONE_NEWNET | CS_CLONE_NEWIPC | CS_CLONE_NEWUTS | CS_CLONE_NEWNS | CS_CLONE_NEWCGROUP)
        #expect(p.capBounding == (1 << 29) | (1 << 5) | (1 << 10))
        #expect(p.noNewPrivileges)
        #expect(p.rlimits == [SpawnPlan.Rlimit(resource: 7, soft: 1024, hard: 1024)])
        #expect(p.devices.map(\.path) == ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"])
        #expect(p.mounts.first { $0.target == "/sys" }?.flags == MountOptions.MountFlag.readOnly | 2 | 4 | 8)
        #expect(p.pathEnv == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    }

    @Test func bindMountsKeepTheirFlagsForTheRemount() throws {
        let p = try plan { $0.mounts = [RuntimeSpec.Mount(destination: "/data", type: "bind", source: "rel", options: ["rbind", "ro", "nosuid", "rslave"]),
                                        RuntimeSpec.Mount(destination: "/etc/x", source: "/host/x.file", options: ["bind"])] }
        #expect(p.mounts[0].source == "/b/rel")
        #expect(p.mounts[0].fstype == nil)
        #expect(p.mounts[0].flags == MountOptions.MountFlag.bind | MountOptions.MountFlag.rec)
        #expect(p.mounts[0].remount == MountOptions.MountFlag.readOnly | MountOptions.MountFlag.noSUID)
        #expect(p.mounts[0].propagation == MountOptions.MountFlag.slave | MountOptions.MountFlag.rec)
        #expect(p.mounts[1].targetIsFile)
    }

    @Test func joinedNamespacesAreOpenedNotCreatedAndUserComesFirst() throws {
        let p = try plan {
            $0.linux?.namespaces = [.init(type: "mount"), .init(type: "network", path: "/run/netns/x"),
                                    .init(type: "user", path: "/proc/1/ns/user")]
            $0.hostname = nil
        }
        #expect(p.cloneFlags == CS_CLONE_NEWNS)
        #expect(p.joins.map(\.path) == ["/proc/1/ns/user", "/run/netns/x"])
    }

    @Test func userNamespacesNeedMappingsAndBindDevices() throws {
        #expect(throws: RuntimeError.invalidSpec(field: "linux.uidMappings", reason: "a new user namespace needs uid and gid mappings")) {
            try plan { $0.linux?.namespaces?.append(.init(type: "user")) }
        }
        let p = try plan {
            $0.linux?.namespaces?.append(.init(type: "user"))
            $0.linux?.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
            $0.linux?.gidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        }
        #expect(p.uidMap == "0 100000 65536\n")
        #expect(p.bindDevices)
    }

    @Test(arguments: [
        ("net.ipv4.ip_forward", true), ("net/ipv4/ip_forward", true), ("kernel.shmmax", true), ("fs.mqueue.msg_max", true),
        ("kernel.domainname", true), ("vm.swappiness", false), ("kernel.panic", false), ("net..x", false), ("net.ipv4.ip_forward/../x", false),
    ])
    func sysctlsMustBelongToAnOwnedNamespace(key: String, allowed: Bool) {
        let result = Result { () throws(RuntimeError) in try plan { $0.linux?.sysctl = [key: "1"] } }
        #expect(((try? result.get()) != nil) == allowed, "\(key)")
    }

    @Test func netSysctlsAreRefusedInTheHostNetwork() {
        #expect(throws: RuntimeError.invalidSpec(field: "linux.sysctl[\"net.ipv4.ip_forward\"]", reason: "the container does not own that namespace")) {
            try plan {
                $0.linux?.namespaces?.removeAll { $0.type == "network" }
                $0.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
            }
        }
    }

    @Test func mountOptionsMapToFlagsAndData() throws {
        let o = try MountOptions(["ro", "nosuid", "rw", "rshared", "mode=755", "size=1m", "defaults"])
        #expect(o.flags == MountOptions.MountFlag.noSUID)
        #expect(o.propagation == MountOptions.MountFlag.shared | MountOptions.MountFlag.rec)
        #expect(o.data == ["mode=755", "size=1m"])
        #expect(try MountOptions(["idmap"]).idmap && MountOptions(["ridmap"]).idmap)
        #expect(throws: MountOptions.Unsupported(option: "idmap=0:100:10")) { try MountOptions(["idmap=0:100:10"]) }
    }

    @Test func signalsAreNamedAsRuncNamesThem() {
        #expect(Runtime.signalNumber("KILL") == 9)
        #expect(Runtime.signalNumber("SIGTERM") == 15)
        #expect(Runtime.signalNumber("sigusr1") == 10)
        #expect(Runtime.signalNumber("9") == 9)
        #expect(Runtime.signalNumber("NOPE") == nil)
        #expect(Runtime.signalNumber("99") == nil)
    }

    @Test func containerIDsAreASafeDirectoryName() {
        #expect(throws: RuntimeError.invalidID("../x")) { try ContainerStore.validate(id: "../x") }
        #expect(throws: RuntimeError.invalidID("")) { try ContainerStore.validate(id: "") }
        #expect((try? ContainerStore.validate(id: "pod_1.a-b")) != nil)
    }
}

@Suite struct RecursiveMountOptionTests {
    @Test func rroIsReadOnlyAndRecursive() throws {
        let options = try MountOptions(["rbind", "rro"])
        #expect(options.recursiveAttributes == MountOptions.recursiveReadOnly)
        #expect(options.flags & MountOptions.MountFlag.readOnly != 0)
        #expect(MountOptions.names.contains("rro"))
        #expect(try MountOptions(["rbind", "ro"]).recursiveAttributes == 0)
    }
}

/// A pod's user namespace joined by path: what the container makes goes after the join, and
/// idmapped binds are only the container's own mappings.
@Suite struct SpawnPlanUserNamespaceTests {
    let host = SpawnPlan.Host(bundle: "/b", lastCap: 40, isDirectory: { _ in true })
    let pod = [RuntimeSpec.IDMapping(containerID: 0, hostID: 100_000, size: 65536)]

    func plan(joinUser: Bool = true, mountMappings: [RuntimeSpec.IDMapping]? = nil, options: [String] = ["rbind"]) throws(RuntimeError) -> SpawnPlan {
        var spec = RuntimeSpec.defaultSpec()
        var linux = spec.linux ?? RuntimeSpec.Linux()
        if joinUser {
            linux.namespaces = (linux.namespaces ?? []).filter { $0.type != "network" } + [.init(type: "user", path: "/run/skiff/ns/p/user"), .init(type: "network", path: "/run/skiff/ns/p/net")]
            linux.uidMappings = pod
            linux.gidMappings = pod
        }
        spec.linux = linux
        spec.mounts = (spec.mounts ?? []) + [RuntimeSpec.Mount(destination: "/data", type: "bind", source: "/srv/data", options: options,
                                                                uidMappings: mountMappings, gidMappings: mountMappings)]
        return try SpawnPlan.build(spec, host: host)
    }

    @Test func joiningAUserNamespaceMakesTheRestInsideIt() throws {
        let p = try plan(mountMappings: pod)
        #expect(p.createsAfterJoin && p.bindDevices)
        #expect(p.joins.first?.flag == CS_CLONE_NEWUSER)
        #expect(p.cloneFlags & CS_CLONE_NEWNS != 0 && p.cloneFlags & CS_CLONE_NEWUSER == 0)
        #expect(p.mounts.last?.idmap == true)
        #expect(try plan(options: ["rbind", "idmap"]).mounts.last?.idmap == true)
        #expect(try plan().mounts.last?.idmap == false)
    }

    @Test func idmapOutsideAJoinedUserNamespaceOrWithOtherMappingsIsRefused() {
        #expect(throws: RuntimeError.self) { try plan(joinUser: false, mountMappings: pod) }
        #expect(throws: RuntimeError.self) { try plan(joinUser: false, options: ["rbind", "idmap"]) }
        #expect(throws: RuntimeError.self) { try plan(mountMappings: [.init(containerID: 0, hostID: 200_000, size: 65536)]) }
        #expect(throws: RuntimeError.self) { try plan(options: ["rbind", "idmap=0:1:2"]) }
    }
}
