#if canImport(Glibc)
import Glibc
#endif
import CShims
import LinuxKit

/// A container's root filesystem: an overlay of the image's unpacked layers (read-only, shared by
/// every container of the image) under a writable layer of its own. skiffd mounts it in its own
/// mount namespace; the runtime then bind-mounts it into the container's.
struct ContainerRootfs {
    let directory: String   // <root>/containers/<id>
    var rootfs: String { directory + "/rootfs" }

    /// `layers` lowest first, as an image lists them.
    func mount(layers: [String]) throws(PodManagerError) {
        for dir in [directory + "/upper", directory + "/work", rootfs] {
            do { try FileSystem.makeDirectories(dir, mode: 0o755) } catch { throw .system(SystemError("mkdir \(dir): \(error)", errno: EIO)) }
        }
        guard !layers.isEmpty else { throw .invalidArgument(field: "image", reason: "the image has no layers") }
        // overlay's lowerdir lists the top layer first.
        let options = "lowerdir=" + layers.reversed().joined(separator: ":") + ",upperdir=\(directory)/upper,workdir=\(directory)/work,index=off"
        guard options.utf8.count < 4000 else {
            throw .runtimeFailed(operation: "create", message: "the image has too many layers for one overlay mount (\(layers.count))")
        }
        guard Glibc.mount("overlay", rootfs, "overlay", 0, options) == 0 else { throw .system(SystemError("mount overlay", path: rootfs)) }
    }

    /// Unmounted and removed; safe to repeat.
    func remove() throws(PodManagerError) {
        while umount2(rootfs, Int32(MNT_DETACH)) == 0 {}
        do { try FileSystem.removeTree(directory) } catch { throw .system(error) }
    }

    /// A file of the image read inside the rootfs: a link in the image cannot lead out of it.
    func read(_ path: String, limit: Int = 1 << 20) -> String {
        let root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return "" }
        defer { close(root) }
        let fd = cs_openat2_in_root(root, path, O_RDONLY, 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while out.count <= limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out.prefix(limit), as: UTF8.self)
    }
}
