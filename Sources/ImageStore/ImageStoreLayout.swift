/// Where the image store keeps things under the daemon's root (see docs/ARCHITECTURE.md):
/// verified blobs in `content/`, unpacked layers in `snapshots/`, image records in `images/`.
public struct ImageStoreLayout: Equatable, Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public var content: String { root + "/content" }
    public var snapshots: String { root + "/snapshots" }
    public var images: String { root + "/images" }
}
