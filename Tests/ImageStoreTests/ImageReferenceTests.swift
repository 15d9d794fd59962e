import ImageStore
import Testing

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:musl", "docker.io/library/busybox:musl"),
        ("someone/app", "docker.io/someone/app:latest"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
        ("localhost/app", "localhost/app:latest"),
        ("127.0.0.1:5000/team/app:v1.2_rc-3", "127.0.0.1:5000/team/app:v1.2_rc-3"),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        ("quay.io/a.b/c__d/e-f--g:tag", "quay.io/a.b/c__d/e-f--g:tag"),
        ("Registry.Example.com/app", "Registry.Example.com/app:latest"),
    ])
    func normalises(input: String, expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test func aDigestKeepsAnyTagAndAddsNoDefault() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try ImageReference(parsing: "localhost:5000/app@" + digest)
        #expect(pinned.tag == nil)
        #expect(pinned.digest == digest)
        #expect(pinned.repoTag == nil)
        #expect(pinned.repository == "localhost:5000/app")
        let both = try ImageReference(parsing: "busybox:1.36@" + digest)
        #expect(both.description == "docker.io/library/busybox:1.36@" + digest)
        #expect(both.repoTag == "docker.io/library/busybox:1.36")
    }

    @Test(arguments: [
        ("", "empty"),
        ("Busybox", "repository name \"Busybox\" must be lowercase"),
        ("busybox:", "tag \"\" must be"),
        ("busybox:-x", "tag \"-x\" must be"),
        ("busybox:" + String(repeating: "a", count: 129), "must be 1 to 128"),
        ("busybox@sha256:abc", "must have 64 lowercase hex digits"),
        ("busybox@md5:" + String(repeating: "a", count: 32), "digest algorithm \"md5\" is not supported"),
        ("busybox@nocolon", "must be algorithm:hex"),
        ("a//b", "path component \"\" must be"),
        ("app_/x", "path component \"app_\""),
        ("a...b", "path component \"a...b\""),
        ("host:99999/app", "registry host \"host:99999\""),
        ("-bad.host/app", "registry host \"-bad.host\""),
        (":tag", "no repository name"),
    ])
    func refuses(input: String, fragment: String) {
        #expect {
            try ImageReference(parsing: input)
        } throws: { error in
            let text = "\(error)"
            return text.contains(fragment) && text.contains("invalid image reference")
        }
    }
}
