import JSONCoding

extension JSONValue {
    /// Adds the fields swift-protobuf leaves out because they hold their default value, so the
    /// output matches crictl's (Go's protojson with `EmitDefaultValues`). `template` mirrors the
    /// message: scalars and arrays give the default to add; nested objects are messages, filled in
    /// only where the reply has them (unset messages stay absent, as in Go), except an empty
    /// object, which stands for a map and defaults to `{}`; an array's single element is the
    /// template of every item.
    func withDefaults(_ template: JSONValue) -> JSONValue {
        switch (self, template) {
        case (.object(var members), .object(let fields)):
            for (key, field) in fields {
                if let present = members[key] {
                    members[key] = present.withDefaults(field)
                } else {
                    switch field {
                    case .object(let inner) where inner.isEmpty: members[key] = field  // a map: `{}`
                    case .object: continue
                    case .array: members[key] = .array([])
                    default: members[key] = field
                    }
                }
            }
            return .object(members)
        case (.array(let items), .array(let element)) where element.count == 1:
            return .array(items.map { $0.withDefaults(element[0]) })
        default:
            return self
        }
    }
}

/// Default-value templates of the replies skiffctl prints, field names as protojson spells them.
enum ReplyTemplates {
    static let runtimeStatus: JSONValue = .object([
        "conditions": .array([.object([
            "type": .string(""), "status": .bool(false), "reason": .string(""), "message": .string(""),
        ])]),
    ])

    private static let filesystemUsage: JSONValue = .object([
        "timestamp": .string("0"),
        "fsId": .object(["mountpoint": .string("")]),
        "usedBytes": .object(["value": .string("0")]),
        "inodesUsed": .object(["value": .string("0")]),
    ])

    static let imageFsInfo: JSONValue = .object([
        "imageFilesystems": .array([filesystemUsage]),
        "containerFilesystems": .array([filesystemUsage]),
    ])

    static let image: JSONValue = .object([
        "id": .string(""), "repoTags": .array([]), "repoDigests": .array([]), "size": .string("0"),
        "username": .string(""), "pinned": .bool(false),
        "spec": .object(["image": .string(""), "annotations": .object([:]), "userSpecifiedImage": .string(""),
                         "runtimeHandler": .string(""), "imageRef": .string("")]),
    ])

    static let listImages: JSONValue = .object(["images": .array([image])])

    static let metadata: JSONValue = .object(["name": .string(""), "uid": .string(""), "namespace": .string(""), "attempt": .number("0")])
    static let podSandbox: JSONValue = .object([
        "id": .string(""), "metadata": metadata, "state": .string("SANDBOX_READY"), "createdAt": .string("0"),
        "labels": .object([:]), "annotations": .object([:]), "runtimeHandler": .string(""),
    ])
    static let podSandboxStatus: JSONValue = .object([
        "id": .string(""), "metadata": metadata, "state": .string("SANDBOX_READY"), "createdAt": .string("0"),
        "network": .object(["ip": .string(""), "additionalIps": .array([])]),
        "labels": .object([:]), "annotations": .object([:]), "runtimeHandler": .string(""),
    ])
    static let container: JSONValue = .object([
        "id": .string(""), "podSandboxId": .string(""), "metadata": .object(["name": .string(""), "attempt": .number("0")]),
        "image": .object(["image": .string("")]), "imageRef": .string(""), "state": .string("CONTAINER_CREATED"),
        "createdAt": .string("0"), "labels": .object([:]), "annotations": .object([:]),
    ])
    static let containerStatus: JSONValue = .object([
        "id": .string(""), "metadata": .object(["name": .string(""), "attempt": .number("0")]),
        "state": .string("CONTAINER_CREATED"), "createdAt": .string("0"), "startedAt": .string("0"),
        "finishedAt": .string("0"), "exitCode": .number("0"), "image": .object(["image": .string("")]),
        "imageRef": .string(""), "reason": .string(""), "message": .string(""), "labels": .object([:]),
        "annotations": .object([:]), "mounts": .array([]), "logPath": .string(""),
    ])
}
