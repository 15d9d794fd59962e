import SpecBuilder

// What CreateContainer asks of Containers, in Skiff's terms.
extension Containers {
    /// CreateContainer's request, in Skiff's terms.
    public struct Create: Sendable {
        public var podID: String
        public var name: String
        public var attempt: UInt32
        public var image: String
        public var logPath: String
        public var container: ContainerInput
        /// Image volumes: an image's content, read-only, at a path of the container.
        public var imageMounts: [ImageMount]
        public init(podID: String, name: String, attempt: UInt32, image: String, logPath: String, container: ContainerInput,
                    imageMounts: [ImageMount] = []) {
            self.podID = podID
            self.name = name
            self.attempt = attempt
            self.image = image
            self.logPath = logPath
            self.container = container
            self.imageMounts = imageMounts
        }
    }

    public struct ImageMount: Sendable {
        public var containerPath: String
        public var image: String
        /// A path inside the image to mount instead of its root.
        public var subPath: String
        public init(containerPath: String, image: String, subPath: String) {
            self.containerPath = containerPath
            self.image = image
            self.subPath = subPath
        }
    }
}
