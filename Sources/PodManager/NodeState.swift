import PodNetwork
import SkiffConfig

/// Node-wide runtime state: readiness conditions and settings the kubelet pushes
/// (`UpdateRuntimeConfig`). Pods and containers will hang off this actor as they arrive.
public actor NodeState {
    public nonisolated let config: SkiffConfiguration
    /// The pod CIDR last sent by the kubelet, kept for the CNI `ipRanges` runtime config.
    public private(set) var podCIDR = ""

    public init(config: SkiffConfiguration) {
        self.config = config
    }

    /// One CRI runtime condition.
    public struct Condition: Equatable, Sendable {
        public var type: String
        public var status: Bool
        public var reason: String
        public var message: String
    }

    /// `RuntimeReady` is true while the daemon serves; `NetworkReady` follows the CNI directory
    /// so that the kubelet keeps pods off the node until an operator installs a network.
    public func conditions() -> [Condition] {
        let runtime = Condition(type: "RuntimeReady", status: true, reason: "", message: "")
        switch CNIConfigDirectory.readiness(of: config.cni.confDir) {
        case .ready:
            return [runtime, Condition(type: "NetworkReady", status: true, reason: "", message: "")]
        case .notReady(let message):
            return [runtime, Condition(type: "NetworkReady", status: false, reason: "NetworkPluginNotReady",
                                       message: "network plugin is not ready: \(message)")]
        }
    }

    /// Accepts the pod CIDR; an empty string clears it. Several CIDRs (dual stack) come comma-separated.
    public func updatePodCIDR(_ value: String) throws(PodManagerError) {
        let trimmed = value.trimmingWhitespace
        if !trimmed.isEmpty {
            for cidr in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
                guard CIDR(String(cidr).trimmingWhitespace) != nil else {
                    throw .invalidArgument(field: "runtime_config.network_config.pod_cidr",
                                           reason: "'\(cidr)' is not an IPv4 or IPv6 CIDR")
                }
            }
        }
        podCIDR = trimmed
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
