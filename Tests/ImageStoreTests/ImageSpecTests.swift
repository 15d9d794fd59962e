import Foundation
import OCI
import Testing

@Suite struct ImageSpecTests {
    let digest = "sha256:" + String(repeating: "a", count: 64)

    @Test func aDockerSchema2ManifestDecodesAndValidates() throws {
        let json = """
        {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
         "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1470,"digest":"\(digest)"},
         "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,"digest":"\(digest)"}]}
        """
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(json.utf8))
        try manifest.validate()
        #expect(manifest.layers.first?.size == 2)
    }

    @Test func aLayerTypeSkiffCannotUnpackIsNamed() throws {
        let bad = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: 1),
                                layers: [Descriptor(mediaType: "application/vnd.example.blob", digest: digest, size: 1)])
        #expect(throws: ImageSpecError(field: "layers[0].mediaType", reason: "'application/vnd.example.blob' is not a layer type skiff can unpack")) {
            try bad.validate()
        }
        let badDigest = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: "sha256:xyz", size: 1), layers: [])
        #expect(throws: ImageSpecError.self) { try badDigest.validate() }
    }

    @Test func theIndexEntryForAPlatformIsFoundWithOrWithoutVariant() {
        func entry(_ arch: String, _ variant: String? = nil) -> Descriptor {
            Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: 1, platform: Platform(architecture: arch, os: "linux", variant: variant))
        }
        var index = ImageIndex(manifests: [entry("arm", "v6"), entry("arm", "v7"), entry("amd64"), entry("arm64", "v8")])
        index.manifests[2].annotations = ["which": "amd64"]
        #expect(index.manifest(for: Platform(architecture: "amd64", os: "linux"))?.annotations?["which"] == "amd64")
        #expect(index.manifest(for: Platform(architecture: "arm", os: "linux", variant: "v7"))?.platform?.variant == "v7")
        #expect(index.manifest(for: Platform(architecture: "arm64", os: "linux"))?.platform?.variant == "v8")
        #expect(index.manifest(for: Platform(architecture: "s390x", os: "linux")) == nil)
        #expect(index.manifest(for: Platform(architecture: "amd64", os: "windows")) == nil)
    }

    @Test func theImageConfigKeepsDockersKeyNames() throws {
        let json = """
        {"architecture":"amd64","os":"linux","config":{"User":"1000:1000","Env":["PATH=/bin"],"Cmd":["/bin/sh"],
         "ExposedPorts":{"80/tcp":{}},"WorkingDir":"/w"},"rootfs":{"type":"layers","diff_ids":["\(digest)"]}}
        """
        let config = try JSONDecoder().decode(ImageConfiguration.self, from: Data(json.utf8))
        try config.validate()
        #expect(config.config?.user == "1000:1000")
        #expect(config.config?.cmd == ["/bin/sh"])
        #expect(config.config?.exposedPorts?.keys.sorted() == ["80/tcp"])
        #expect(config.rootfs.diffIDs == [digest])
    }
}
