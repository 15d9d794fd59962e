#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import LinuxKit

/// One sample of a pod: its own cgroup's usage where the kubelet made one under `cgroup_parent`
/// (else the sum of its containers'), its processes, its network interfaces and each container.
public struct PodStats: Sendable {
    public var record: PodSandboxRecord
    public var usage: ContainerStats
    public var processCount: UInt64?
    /// Interfaces of the pod's network namespace (none for a pod on the node's network).
    public var interfaces: [NetworkInterface] = []
    public var containers: [(CRIContainer, ContainerStats)] = []
}

/// A line of /proc/<pid>/net/dev.
public struct NetworkInterface: Sendable, Equatable {
    public var name: String
    public var rxBytes: UInt64
    public var rxPackets: UInt64 = 0
    public var rxErrors: UInt64
    public var rxDropped: UInt64 = 0
    public var txBytes: UInt64
    public var txPackets: UInt64 = 0
    public var txErrors: UInt64
    public var txDropped: UInt64 = 0

    /// `face: rx-bytes packets errs drop fifo frame compressed multicast tx-bytes packets errs drop ...`
    /// after two header lines; lo is left out (the kubelet counts the pod's traffic, not loopback).
    static func parse(_ text: String) -> [NetworkInterface] {
        text.split(separator: "\n").dropFirst(2).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let n = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", n.count >= 12 else { return nil }
            return NetworkInterface(name: name, rxBytes: n[0], rxPackets: n[1], rxErrors: n[2], rxDropped: n[3],
                                    txBytes: n[8], txPackets: n[9], txErrors: n[10], txDropped: n[11])
        }
    }
}

extension Containers {
    /// PodSandboxStats.
    public func podStats(_ id: String) async throws -> PodStats {
        let record = try await pods.status(id)
        return sample(pod: record)
    }

    /// ListPodSandboxStats: every ready pod's.
    public func allPodStats() async -> [PodStats] {
        await pods.list().filter { $0.state == .ready }.map { sample(pod: $0) }
    }

    func sample(pod record: PodSandboxRecord) -> PodStats {
        let members = list().filter { $0.podID == record.id && $0.state == .running }.map { ($0, sample($0)) }
        let own = podCgroupDirectory(record)
        var usage = own.map { ContainerStats.sample(cgroup: $0, upper: "") } ?? ContainerStats.sum(members.map(\.1))
        usage.writableLayer = nil
        var stats = PodStats(record: record, usage: usage, containers: members)
        let directories = own.map { [$0] } ?? members.compactMap { cgroupDirectory($0.0) }
        let counts = directories.compactMap(Self.processCount)
        stats.processCount = counts.isEmpty ? nil : counts.reduce(0, +)
        stats.interfaces = Self.interfaces(of: record, members: members.map(\.0))
        return stats
    }

    /// The pod's network interfaces, as any process inside its network namespace sees them (none
    /// for a pod on the node's network).
    static func interfaces(of pod: PodSandboxRecord, members: [CRIContainer]) -> [NetworkInterface] {
        guard pod.spec.network != .node, let pid = members.first(where: { $0.pid > 0 })?.pid,
              let bytes = try? AtomicFile.read("/proc/\(pid)/net/dev", limit: 1 << 20) else { return [] }
        return NetworkInterface.parse(String(decoding: bytes, as: UTF8.self))
    }

    /// The pod's own cgroup (the kubelet's `pod<uid>` directory or slice), if there is one.
    func podCgroupDirectory(_ record: PodSandboxRecord) -> String? {
        let parent = record.spec.cgroupParent
        guard let tree = try? CgroupV2.mounted() else { return nil }
        let dir: String? = parent.hasSuffix(".slice") ? (try? SystemdScope.expand(parent)).map { tree.root + $0 }
            : parent.hasPrefix("/") ? try? tree.directory(for: parent, id: record.id) : nil
        return dir.flatMap { FileSystem.exists($0 + "/cgroup.procs") ? $0 : nil }
    }

    /// pids.current where the controller is, else the processes listed in the subtree.
    static func processCount(_ dir: String) -> UInt64? {
        if let bytes = try? AtomicFile.read(dir + "/pids.current", limit: 64),
           let n = UInt64(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) { return n }
        guard let bytes = try? AtomicFile.read(dir + "/cgroup.procs", limit: 1 << 20) else { return nil }
        let own = UInt64(bytes.split(separator: UInt8(ascii: "\n")).count)
        return FileSystem.directoryEntries(dir).filter { FileSystem.exists(dir + "/" + $0 + "/cgroup.procs") }
            .compactMap { processCount(dir + "/" + $0) }.reduce(own, +)
    }
}

extension ContainerStats {
    /// Containers' samples added up: a figure is present when any container has it.
    static func sum(_ samples: [ContainerStats]) -> ContainerStats {
        var total = ContainerStats(timestamp: WallClock.nanoseconds(), writableLayerPath: "")
        func add(_ path: WritableKeyPath<ContainerStats, UInt64?>) {
            let values = samples.compactMap { $0[keyPath: path] }
            total[keyPath: path] = values.isEmpty ? nil : values.reduce(0, +)
        }
        for path in [\ContainerStats.cpuUsageNanoseconds, \.memoryUsage, \.memoryWorkingSet, \.memoryRSS, \.pageFaults, \.majorPageFaults] {
            add(path)
        }
        return total
    }
}
