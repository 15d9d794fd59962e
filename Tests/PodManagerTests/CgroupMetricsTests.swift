import Testing
@testable import PodManager

/// cgroup v2 files as the kernel writes them, turned into cAdvisor-named samples.
@Suite struct CgroupMetricsTests {
    static let full: [String: String] = [
        "cpu.stat": "usage_usec 7500000\nuser_usec 5000000\nsystem_usec 2500000\nnr_periods 40\nnr_throttled 12\nthrottled_usec 3100000\n",
        "cpu.max": "20000 100000\n",
        "cpu.weight": "39\n",
        "memory.current": "10000\n",
        "memory.stat": "anon 6000\nfile 4000\nkernel 900\nfile_mapped 100\ninactive_file 3000\npgfault 77\npgmajfault 2\n",
        "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "memory.max": "67108864\n",
        "memory.swap.max": "max\n",
        "memory.swap.current": "0\n",
        "memory.low": "0\n",
        "memory.peak": "12000\n",
        "pids.max": "max\n",
        "io.stat": "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        "cpu.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n",
        "hugetlb.2MB.current": "0\n",
        "hugetlb.2MB.max": "max\n",
    ]

    func samples(_ files: [String: String]) -> [String: [MetricSample]] {
        var sink = MetricSink(base: ["c", "/pod/c", "img", "id", "ns", "p"])
        CgroupMetrics.collect(into: &sink, files: Array(files.keys)) { files[$0] }
        return Dictionary(grouping: sink.samples, by: \.name)
    }

    @Test func everyFileGivesItsFigures() {
        let s = samples(Self.full)
        func value(_ name: String) -> UInt64? { s[name]?.first?.value }
        #expect(value("container_cpu_usage_seconds_total") == 7 && value("container_cpu_user_seconds_total") == 5)
        #expect(value("container_cpu_cfs_periods_total") == 40 && value("container_cpu_cfs_throttled_periods_total") == 12)
        #expect(value("container_cpu_cfs_throttled_seconds_total") == 3)
        #expect(value("container_spec_cpu_quota") == 20000 && value("container_spec_cpu_period") == 100000)
        #expect(value("container_spec_cpu_shares") == 998)        // 1024 shares as weight 39, and back
        #expect(value("container_memory_usage_bytes") == 10000 && value("container_memory_working_set_bytes") == 7000)
        #expect(value("container_memory_rss") == 6000 && value("container_memory_cache") == 4000 && value("container_memory_kernel_usage") == 900)
        #expect(value("container_memory_failcnt") == 3 && value("container_oom_events_total") == 1 && value("container_memory_max_usage_bytes") == 12000)
        #expect(value("container_spec_memory_limit_bytes") == 67_108_864 && value("container_spec_memory_swap_limit_bytes") == 0)
        #expect(value("container_threads_max") == 0)             // "max": no limit
        #expect(s["container_memory_failures_total"]?.map { Array($0.labels.suffix(2)) } ==
                [["pgfault", "container"], ["pgmajfault", "container"], ["pgfault", "hierarchy"], ["pgmajfault", "hierarchy"]])
        #expect(s["container_fs_writes_bytes_total"]?.first?.labels.last == "254:0" && value("container_fs_writes_bytes_total") == 8192)
        #expect(s["container_blkio_device_usage_total"]?.map { Array($0.labels.suffix(4)) } == [["254:0", "254", "0", "Read"], ["254:0", "254", "0", "Write"]])
        #expect(value("container_pressure_cpu_waiting_seconds_total") == 2 && value("container_pressure_cpu_stalled_seconds_total") == 1)
        #expect(s["container_hugetlb_usage_bytes"]?.first?.labels.last == "2MB")
        // Every sample is described, with as many label values as its descriptor has keys.
        let described = Dictionary(uniqueKeysWithValues: MetricCatalog.descriptors.map { ($0.name, $0) })
        for sample in s.values.joined() {
            #expect(described[sample.name]?.labelKeys.count == sample.labels.count, "\(sample.name)")
            #expect(described[sample.name]?.kind == sample.kind)
        }
    }

    /// A tree without the memory, cpu, io or pids controllers: those figures are absent, not zero.
    @Test func aMissingControllerLeavesItsFiguresOut() {
        let s = samples(["cpu.stat": "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n"])
        #expect(s["container_cpu_usage_seconds_total"]?.first?.value == 1)
        for name in ["container_cpu_cfs_periods_total", "container_memory_usage_bytes", "container_memory_rss",
                     "container_spec_memory_limit_bytes", "container_spec_cpu_shares", "container_threads_max",
                     "container_fs_reads_bytes_total", "container_pressure_io_waiting_seconds_total"] {
            #expect(s[name] == nil, "\(name)")
        }
    }

    @Test func limitsNetworkAndTheCatalogItself() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n"
        #expect(CgroupMetrics.softOpenFiles(limits) == 1024)
        let netDev = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0
              eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
            """
        var sink = MetricSink(base: ["", "", "", "id", "ns", "p"])
        CgroupMetrics.collectNetwork(into: &sink, interfaces: NetworkInterface.parse(netDev))
        let byName = Dictionary(grouping: sink.samples, by: \.name)
        #expect(sink.samples.count == 8 && sink.samples.allSatisfy { $0.labels.last == "eth0" })
        #expect(byName["container_network_receive_packets_dropped_total"]?.first?.value == 2)
        #expect(byName["container_network_transmit_errors_total"]?.first?.value == 3)
        // Names are unique, each has help and the base labels first.
        #expect(Set(MetricCatalog.descriptors.map(\.name)).count == MetricCatalog.descriptors.count)
        #expect(MetricCatalog.descriptors.allSatisfy { !$0.help.isEmpty && Array($0.labelKeys.prefix(6)) == MetricCatalog.baseLabels })
        // A name outside the catalog is never sent.
        sink.add("container_made_up_total", 1)
        #expect(!sink.samples.contains { $0.name == "container_made_up_total" })
    }
}
