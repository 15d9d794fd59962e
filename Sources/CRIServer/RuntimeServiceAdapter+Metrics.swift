import CRIAPI
import GRPCCore
import PodManager

// The cAdvisor-named metrics the kubelet re-exports on /metrics/cadvisor (MetricCatalog).
extension RuntimeServiceAdapter {
    public func listMetricDescriptors(request: Runtime_V1_ListMetricDescriptorsRequest, context: ServerContext) async throws -> Runtime_V1_ListMetricDescriptorsResponse {
        .with {
            $0.descriptors = MetricCatalog.descriptors.map { d in
                .with { $0.name = d.name; $0.help = d.help; $0.labelKeys = d.labelKeys }
            }
        }
    }

    public func listPodSandboxMetrics(request: Runtime_V1_ListPodSandboxMetricsRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxMetricsResponse {
        try await CRIStatus.serving("ListPodSandboxMetrics", logger: logger) {
            let pods = await containers.allPodMetrics()
            return .with {
                $0.podMetrics = pods.map { pod in
                    .with {
                        $0.podSandboxID = pod.podID
                        $0.metrics = pod.samples.map(Self.metric)
                        $0.containerMetrics = pod.containers.map { c in
                            .with { $0.containerID = c.id; $0.metrics = c.samples.map(Self.metric) }
                        }
                    }
                }
            }
        }
    }

    /// Timestamp 0: measured on request, which is how the kubelet tells a fresh value from a
    /// cached one.
    static func metric(_ s: MetricSample) -> Runtime_V1_Metric {
        .with {
            $0.name = s.name
            $0.metricType = s.kind == .counter ? .counter : .gauge
            $0.labelValues = s.labels
            $0.value = .with { $0.value = s.value }
        }
    }
}
