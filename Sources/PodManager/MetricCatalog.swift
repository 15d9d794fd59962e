/// The metrics ListPodSandboxMetrics can carry, named as cAdvisor names them so that the kubelet's
/// `/metrics/cadvisor` keeps its meaning when the runtime provides them. The list is fixed for the
/// daemon's life (the kubelet reads it once); a sample is only sent where the node can measure it.
public struct MetricDescriptor: Sendable, Equatable {
    public enum Kind: Sendable { case counter, gauge }
    public var name: String
    public var help: String
    public var kind: Kind
    /// The base labels, then the metric's own (`interface`, `device`...).
    public var labelKeys: [String]
}

/// One value of a metric, its label values in the order of its descriptor's keys.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var kind: MetricDescriptor.Kind
    public var labels: [String]
    public var value: UInt64
}

/// One pod's samples: the pod's own (its cgroup, its network) and each container's.
public struct PodMetrics: Sendable {
    public var podID: String
    public var samples: [MetricSample]
    public var containers: [(id: String, samples: [MetricSample])]
}

public enum MetricCatalog {
    /// Every sample carries these, as cAdvisor's do: the CRI container name (empty for the pod's
    /// own), the cgroup path, the image, the runtime's id, the pod's namespace and name.
    public static let baseLabels = ["container", "id", "image", "name", "namespace", "pod"]

    static let table: [(String, MetricDescriptor.Kind, [String], String)] = [
        ("container_cpu_usage_seconds_total", .counter, [], "Cumulative CPU time consumed, in whole seconds."),
        ("container_cpu_user_seconds_total", .counter, [], "Cumulative user CPU time consumed, in whole seconds."),
        ("container_cpu_system_seconds_total", .counter, [], "Cumulative system CPU time consumed, in whole seconds."),
        ("container_cpu_cfs_periods_total", .counter, [], "Number of elapsed CFS enforcement periods."),
        ("container_cpu_cfs_throttled_periods_total", .counter, [], "Number of throttled CFS periods."),
        ("container_cpu_cfs_throttled_seconds_total", .counter, [], "Total time throttled, in whole seconds."),
        ("container_memory_usage_bytes", .gauge, [], "Current memory usage, all memory regardless of when it was accessed."),
        ("container_memory_working_set_bytes", .gauge, [], "Memory usage less inactive file pages: what cannot be dropped at once."),
        ("container_memory_rss", .gauge, [], "Anonymous memory (memory.stat anon)."),
        ("container_memory_cache", .gauge, [], "Page cache (memory.stat file)."),
        ("container_memory_mapped_file", .gauge, [], "Mapped file pages (memory.stat file_mapped)."),
        ("container_memory_kernel_usage", .gauge, [], "Kernel memory charged to the container."),
        ("container_memory_swap", .gauge, [], "Swap used (memory.swap.current)."),
        ("container_memory_max_usage_bytes", .gauge, [], "Peak memory usage (memory.peak)."),
        ("container_memory_failcnt", .counter, [], "Times the memory limit was hit (memory.events max)."),
        ("container_memory_failures_total", .counter, ["failure_type", "scope"], "Page faults by type (pgfault, pgmajfault) and scope."),
        ("container_oom_events_total", .counter, [], "Processes killed by the OOM killer (memory.events oom_kill)."),
        ("container_spec_memory_limit_bytes", .gauge, [], "Memory limit (memory.max; 0 for none)."),
        ("container_spec_memory_swap_limit_bytes", .gauge, [], "Swap limit (memory.swap.max; 0 for none)."),
        ("container_spec_memory_reservation_limit_bytes", .gauge, [], "Memory reservation (memory.low; 0 for none)."),
        ("container_spec_cpu_period", .gauge, [], "CPU CFS period in microseconds (cpu.max)."),
        ("container_spec_cpu_quota", .gauge, [], "CPU CFS quota in microseconds (cpu.max), where one is set."),
        ("container_spec_cpu_shares", .gauge, [], "CPU shares, converted back from cpu.weight."),
        ("container_processes", .gauge, [], "Number of processes."),
        ("container_threads", .gauge, [], "Number of threads."),
        ("container_threads_max", .gauge, [], "Maximum number of tasks (pids.max; 0 for none)."),
        ("container_file_descriptors", .gauge, [], "Open file descriptors of the container's processes."),
        ("container_sockets", .gauge, [], "Open sockets of the container's processes."),
        ("container_ulimits_soft", .gauge, ["ulimit"], "Soft limits of the container's first process."),
        ("container_start_time_seconds", .gauge, [], "Start time of the container since the Unix epoch, in seconds."),
        ("container_last_seen", .gauge, [], "When the runtime last saw the container, in seconds since the Unix epoch."),
        ("container_fs_usage_bytes", .gauge, ["device"], "Bytes used by the container's writable layer."),
        ("container_fs_limit_bytes", .gauge, ["device"], "Size of the filesystem holding the writable layer."),
        ("container_fs_inodes_total", .gauge, ["device"], "Inodes of the filesystem holding the writable layer."),
        ("container_fs_inodes_free", .gauge, ["device"], "Free inodes of the filesystem holding the writable layer."),
        ("container_fs_reads_bytes_total", .counter, ["device"], "Bytes read from block devices (io.stat rbytes)."),
        ("container_fs_reads_total", .counter, ["device"], "Reads completed on block devices (io.stat rios)."),
        ("container_fs_writes_bytes_total", .counter, ["device"], "Bytes written to block devices (io.stat wbytes)."),
        ("container_fs_writes_total", .counter, ["device"], "Writes completed on block devices (io.stat wios)."),
        ("container_blkio_device_usage_total", .counter, ["device", "major", "minor", "operation"], "Bytes transferred per block device and operation."),
        ("container_hugetlb_usage_bytes", .gauge, ["pagesize"], "Huge pages in use, by page size."),
        ("container_pressure_cpu_waiting_seconds_total", .counter, [], "Time some tasks waited for CPU (PSI some), in whole seconds."),
        ("container_pressure_cpu_stalled_seconds_total", .counter, [], "Time all tasks were stalled on CPU (PSI full), in whole seconds."),
        ("container_pressure_memory_waiting_seconds_total", .counter, [], "Time some tasks waited for memory (PSI some), in whole seconds."),
        ("container_pressure_memory_stalled_seconds_total", .counter, [], "Time all tasks were stalled on memory (PSI full), in whole seconds."),
        ("container_pressure_io_waiting_seconds_total", .counter, [], "Time some tasks waited for I/O (PSI some), in whole seconds."),
        ("container_pressure_io_stalled_seconds_total", .counter, [], "Time all tasks were stalled on I/O (PSI full), in whole seconds."),
        ("container_network_receive_bytes_total", .counter, ["interface"], "Bytes received by the pod's interface."),
        ("container_network_receive_packets_total", .counter, ["interface"], "Packets received by the pod's interface."),
        ("container_network_receive_errors_total", .counter, ["interface"], "Receive errors of the pod's interface."),
        ("container_network_receive_packets_dropped_total", .counter, ["interface"], "Received packets dropped by the pod's interface."),
        ("container_network_transmit_bytes_total", .counter, ["interface"], "Bytes sent by the pod's interface."),
        ("container_network_transmit_packets_total", .counter, ["interface"], "Packets sent by the pod's interface."),
        ("container_network_transmit_errors_total", .counter, ["interface"], "Transmit errors of the pod's interface."),
        ("container_network_transmit_packets_dropped_total", .counter, ["interface"], "Sent packets dropped by the pod's interface."),
    ]

    public static let descriptors: [MetricDescriptor] = table.map { name, kind, extra, help in
        MetricDescriptor(name: name, help: help, kind: kind, labelKeys: baseLabels + extra)
    }

    static let kinds: [String: MetricDescriptor.Kind] = Dictionary(uniqueKeysWithValues: table.map { ($0.0, $0.1) })
}

/// Collects samples under one set of base labels; a name outside the catalog is a programming
/// error caught by the unit tests, never sent.
struct MetricSink {
    let base: [String]
    var samples: [MetricSample] = []

    init(base: [String]) { self.base = base }

    mutating func add(_ name: String, _ value: UInt64?, _ extra: String...) {
        guard let value, let kind = MetricCatalog.kinds[name] else { return }
        samples.append(MetricSample(name: name, kind: kind, labels: base + extra, value: value))
    }
}
