#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import LinuxKit

extension Containers {
    /// ListPodSandboxMetrics: every ready pod, measured now (not cached: the kubelet asks when
    /// it is scraped). A pod's own samples come from its cgroup where the kubelet made one and
    /// from its network namespace; each running container's from its cgroup, its processes and
    /// its writable layer.
    public func allPodMetrics() async -> [PodMetrics] {
        let ready = await pods.list().filter { $0.state == .ready }
        let running = list().filter { $0.state == .running }
        let root = (try? CgroupV2.mounted())?.root
        let now = UInt64(max(0, WallClock.nanoseconds())) / 1_000_000_000
        return ready.map { pod in
            let members = running.filter { $0.podID == pod.id }
            let own = podCgroupDirectory(pod)
            var podSink = MetricSink(base: ["", Self.cgroupName(own, root: root), "", pod.id, pod.spec.namespace, pod.spec.name])
            if let own { Self.collect(cgroup: own, into: &podSink) }
            CgroupMetrics.collectNetwork(into: &podSink, interfaces: Self.interfaces(of: pod, members: members))
            let containers = members.map { record in
                let dir = cgroupDirectory(record)
                var sink = MetricSink(base: [record.name, Self.cgroupName(dir, root: root), record.image, record.id,
                                             pod.spec.namespace, pod.spec.name])
                if let dir { Self.collect(cgroup: dir, into: &sink) }
                sink.add("container_start_time_seconds", UInt64(max(0, record.startedAt)) / 1_000_000_000)
                sink.add("container_last_seen", now)
                Self.collectLayer(paths.root + "/" + record.id + "/upper", into: &sink)
                return (id: record.id, samples: sink.samples)
            }
            return PodMetrics(podID: pod.id, samples: podSink.samples, containers: containers)
        }
    }

    /// The `id` label: the cgroup's path in the tree, as cAdvisor names a container.
    static func cgroupName(_ dir: String?, root: String?) -> String {
        guard let dir, let root, dir.hasPrefix(root) else { return "" }
        let rest = String(dir.dropFirst(root.count))
        return rest.isEmpty ? "/" : rest
    }

    /// A cgroup's files, and the processes and threads of it and every cgroup below it.
    static func collect(cgroup dir: String, into sink: inout MetricSink) {
        let files = Set(FileSystem.directoryEntries(dir))
        CgroupMetrics.collect(into: &sink, files: Array(files)) { name in
            guard files.contains(name), let bytes = try? AtomicFile.read(dir + "/" + name, limit: 1 << 20) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        var pids: [Int32] = []
        var threads: UInt64 = 0
        tasks(dir, pids: &pids, threads: &threads, depth: 0)
        CgroupMetrics.collectProcesses(into: &sink, pids: pids, threads: threads)
    }

    private static func tasks(_ dir: String, pids: inout [Int32], threads: inout UInt64, depth: Int) {
        func lines(_ name: String) -> [Int32] {
            guard let bytes = try? AtomicFile.read(dir + "/" + name, limit: 4 << 20) else { return [] }
            return bytes.split(separator: UInt8(ascii: "\n")).compactMap { Int32(String(decoding: $0, as: UTF8.self)) }
        }
        pids += lines("cgroup.procs")
        threads += UInt64(lines("cgroup.threads").count)
        // A pod's cgroup holds its containers' below it; the depth bound keeps a hostile tree
        // (a container may create sub-cgroups) from costing more than a few levels.
        guard depth < 4 else { return }
        for entry in FileSystem.directoryEntries(dir) where FileSystem.exists(dir + "/" + entry + "/cgroup.procs") {
            tasks(dir + "/" + entry, pids: &pids, threads: &threads, depth: depth + 1)
        }
    }

    /// The writable layer's usage and the size of the filesystem holding it, under its device
    /// (major:minor).
    static func collectLayer(_ upper: String, into sink: inout MetricSink) {
        var st = stat()
        var fs = statvfs()
        guard stat(upper, &st) == 0, statvfs(upper, &fs) == 0 else { return }
        let (major, minor) = FileSystem.deviceNumbers(UInt64(st.st_dev))
        let device = "\(major):\(minor)"
        if let usage = try? DiskUsage.measure(upper) {
            sink.add("container_fs_usage_bytes", usage.bytes, device)
        }
        sink.add("container_fs_limit_bytes", UInt64(fs.f_blocks) * UInt64(fs.f_frsize), device)
        sink.add("container_fs_inodes_total", UInt64(fs.f_files), device)
        sink.add("container_fs_inodes_free", UInt64(fs.f_ffree), device)
    }
}
