#if canImport(Glibc)
import Glibc
#endif
import LinuxKit

/// The cgroup v2 files of one directory turned into catalog samples. Pure: the files come through
/// `read` (nil where a file is absent, as on a tree without that controller, whose samples are
/// then left out).
enum CgroupMetrics {
    static func collect(into sink: inout MetricSink, files: [String], read: (String) -> String?) {
        func number(_ name: String) -> UInt64? {
            read(name).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        /// A limit file: a number, or "max" meaning none (cAdvisor shows none as 0).
        func limit(_ name: String) -> UInt64? {
            guard let text = read(name)?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
            return text == "max" ? 0 : UInt64(text)
        }
        let seconds: (UInt64?) -> UInt64? = { $0.map { $0 / 1_000_000 } }

        let cpu = ContainerStats.fields(read("cpu.stat"))
        sink.add("container_cpu_usage_seconds_total", seconds(cpu["usage_usec"]))
        sink.add("container_cpu_user_seconds_total", seconds(cpu["user_usec"]))
        sink.add("container_cpu_system_seconds_total", seconds(cpu["system_usec"]))
        // Only the cpu controller adds the CFS figures to cpu.stat.
        sink.add("container_cpu_cfs_periods_total", cpu["nr_periods"])
        sink.add("container_cpu_cfs_throttled_periods_total", cpu["nr_throttled"])
        sink.add("container_cpu_cfs_throttled_seconds_total", seconds(cpu["throttled_usec"]))
        if let max = read("cpu.max")?.split(separator: " ").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }), max.count == 2 {
            sink.add("container_spec_cpu_period", UInt64(max[1]))
            sink.add("container_spec_cpu_quota", UInt64(max[0]))
        }
        if let weight = number("cpu.weight"), weight >= 1 {
            // The inverse of the shares→weight mapping skiff applies (and runc, crun).
            sink.add("container_spec_cpu_shares", 2 + (weight - 1) * 262_142 / 9999)
        }

        if let current = number("memory.current") {
            let stat = ContainerStats.fields(read("memory.stat"))
            sink.add("container_memory_usage_bytes", current)
            sink.add("container_memory_working_set_bytes", current - min(current, stat["inactive_file"] ?? 0))
            sink.add("container_memory_rss", stat["anon"])
            sink.add("container_memory_cache", stat["file"])
            sink.add("container_memory_mapped_file", stat["file_mapped"])
            // memory.stat has a "kernel" total from Linux 6.1; before, its parts.
            let parts = ["kernel_stack", "pagetables", "percpu", "sock", "slab", "vmalloc"].compactMap { stat[$0] }
            sink.add("container_memory_kernel_usage", stat["kernel"] ?? (parts.isEmpty ? nil : parts.reduce(0, +)))
            sink.add("container_memory_swap", number("memory.swap.current"))
            sink.add("container_memory_max_usage_bytes", number("memory.peak"))
            let events = ContainerStats.fields(read("memory.events"))
            sink.add("container_memory_failcnt", events["max"])
            sink.add("container_oom_events_total", events["oom_kill"])
            for scope in ["container", "hierarchy"] {
                sink.add("container_memory_failures_total", stat["pgfault"], "pgfault", scope)
                sink.add("container_memory_failures_total", stat["pgmajfault"], "pgmajfault", scope)
            }
            sink.add("container_spec_memory_limit_bytes", limit("memory.max"))
            sink.add("container_spec_memory_swap_limit_bytes", limit("memory.swap.max"))
            sink.add("container_spec_memory_reservation_limit_bytes", limit("memory.low"))
        }

        sink.add("container_threads_max", limit("pids.max"))

        for line in (read("io.stat") ?? "").split(separator: "\n") {
            // "MAJ:MIN rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…"
            let words = line.split(separator: " ")
            guard let device = words.first.map(String.init), device.contains(":") else { continue }
            var values: [String: UInt64] = [:]
            for word in words.dropFirst() {
                let pair = word.split(separator: "=", maxSplits: 1)
                if pair.count == 2, let value = UInt64(pair[1]) { values[String(pair[0])] = value }
            }
            let numbers = device.split(separator: ":").map(String.init)
            sink.add("container_fs_reads_bytes_total", values["rbytes"], device)
            sink.add("container_fs_reads_total", values["rios"], device)
            sink.add("container_fs_writes_bytes_total", values["wbytes"], device)
            sink.add("container_fs_writes_total", values["wios"], device)
            sink.add("container_blkio_device_usage_total", values["rbytes"], device, numbers[0], numbers.last ?? "", "Read")
            sink.add("container_blkio_device_usage_total", values["wbytes"], device, numbers[0], numbers.last ?? "", "Write")
        }

        for file in files.sorted() where file.hasPrefix("hugetlb.") && file.hasSuffix(".current") && file.split(separator: ".").count == 3 {
            sink.add("container_hugetlb_usage_bytes", number(file), String(file.split(separator: ".")[1]))
        }

        for resource in ["cpu", "memory", "io"] {
            // "some avg10=… avg60=… avg300=… total=<usec>" and the same for "full".
            for line in (read(resource + ".pressure") ?? "").split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let kind = words.first, let total = words.first(where: { $0.hasPrefix("total=") }) else { continue }
                let which = kind == "some" ? "waiting" : kind == "full" ? "stalled" : nil
                guard let which else { continue }
                sink.add("container_pressure_\(resource)_\(which)_seconds_total", seconds(UInt64(total.dropFirst(6))))
            }
        }
    }

    /// What the cgroup's processes hold: processes, threads, descriptors and sockets, and the
    /// first process's soft limit on open files.
    static func collectProcesses(into sink: inout MetricSink, pids: [Int32], threads: UInt64?) {
        sink.add("container_processes", UInt64(pids.count))
        sink.add("container_threads", threads)
        var descriptors: UInt64 = 0
        var sockets: UInt64 = 0
        for pid in pids {
            for entry in FileSystem.directoryEntries("/proc/\(pid)/fd") {
                descriptors += 1
                if FileSystem.readLink("/proc/\(pid)/fd/\(entry)")?.hasPrefix("socket:") == true { sockets += 1 }
            }
        }
        sink.add("container_file_descriptors", descriptors)
        sink.add("container_sockets", sockets)
        if let first = pids.min(), let bytes = try? AtomicFile.read("/proc/\(first)/limits", limit: 8192) {
            sink.add("container_ulimits_soft", softOpenFiles(String(decoding: bytes, as: UTF8.self)), "max_open_files")
        }
    }

    /// The soft column of /proc/<pid>/limits' "Max open files" line.
    static func softOpenFiles(_ limits: String) -> UInt64? {
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else { return nil }
        return line.dropFirst("Max open files".count).split(separator: " ").first.flatMap { UInt64($0) }
    }

    /// The pod's interfaces (NetworkInterface.parse: loopback left out, as for the stats) as
    /// network samples.
    static func collectNetwork(into sink: inout MetricSink, interfaces: [NetworkInterface]) {
        for i in interfaces {
            sink.add("container_network_receive_bytes_total", i.rxBytes, i.name)
            sink.add("container_network_receive_packets_total", i.rxPackets, i.name)
            sink.add("container_network_receive_errors_total", i.rxErrors, i.name)
            sink.add("container_network_receive_packets_dropped_total", i.rxDropped, i.name)
            sink.add("container_network_transmit_bytes_total", i.txBytes, i.name)
            sink.add("container_network_transmit_packets_total", i.txPackets, i.name)
            sink.add("container_network_transmit_errors_total", i.txErrors, i.name)
            sink.add("container_network_transmit_packets_dropped_total", i.txDropped, i.name)
        }
    }
}
