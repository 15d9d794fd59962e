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

    /// A pod's user namespace: the nsfs file, and the host ids its root has.
    struct IDMap {
        var userNamespace: String
        var rootUID: UInt32
        var rootGID: UInt32
    }

    /// Where a pod's layers are bound idmapped while the overlay is mounted (short: lowerdir is bounded).
    var idmappedLayers: String { directory + "/l" }

    /// `layers` lowest first, as an image lists them. In a pod with a user namespace the layers
    /// take part idmapped (the image's root owns its files as the container's root, with no copy
    /// or chown of the shared layers) and the writable layer belongs to the container's root.
    func mount(layers: [String], idmap: IDMap? = nil) throws(PodManagerError) {
        for dir in [directory + "/upper", directory + "/work", rootfs] {
            do { try FileSystem.makeDirectories(dir, mode: 0o755) } catch { throw .system(SystemError("mkdir \(dir): \(error)", errno: EIO)) }
        }
        guard !layers.isEmpty else { throw .invalidArgument(field: "image", reason: "the image has no layers") }
        var lowers = layers
        if let idmap {
            guard chown(directory + "/upper", idmap.rootUID, idmap.rootGID) == 0 else { throw .system(SystemError("chown", path: directory + "/upper")) }
            lowers = try layers.indices.map { index throws(PodManagerError) in
                let target = idmappedLayers + "/\(index)"
                do { try FileSystem.makeDirectories(target, mode: 0o700) } catch { throw .system(SystemError("mkdir \(target): \(error)", errno: EIO)) }
                guard cs_idmapped_bind(layers[index], target, idmap.userNamespace) == 0 else {
                    throw .system(SystemError("idmapped bind of a layer", path: target))
                }
                return target
            }
        }
        // The overlay keeps its own clones of the layers' mounts: the idmapped binds can go.
        defer { if idmap != nil { detachIdmappedLayers() } }
        // overlay's lowerdir lists the top layer first.
        let options = "lowerdir=" + lowers.reversed().joined(separator: ":") + ",upperdir=\(directory)/upper,workdir=\(directory)/work,index=off"
        guard options.utf8.count < 4000 else {
            throw .runtimeFailed(operation: "create", message: "the image has too many layers for one overlay mount (\(layers.count))")
        }
        guard Glibc.mount("overlay", rootfs, "overlay", 0, options) == 0 else { throw .system(SystemError("mount overlay", path: rootfs)) }
    }

    private func detachIdmappedLayers() {
        for entry in FileSystem.directoryEntries(idmappedLayers) {
            while umount2(idmappedLayers + "/" + entry, Int32(MNT_DETACH)) == 0 {}
        }
    }

    var imageVolumes: String { directory + "/image-volumes" }

    /// An image volume: the image's layers mounted read-only (an overlay without an upper layer,
    /// or the one layer bound read-only) at image-volumes/<index>; then `subPath` resolved inside
    /// it, so that a symlink in the image cannot point the mount at the node's files. Returns the
    /// directory (or file) to bind into the container.
    func mountImageVolume(_ index: Int, layers: [String], subPath: String) throws(PodManagerError) -> String {
        let target = imageVolumes + "/\(index)"
        do { try FileSystem.makeDirectories(target, mode: 0o755) } catch { throw .system(SystemError("mkdir \(target): \(error)", errno: EIO)) }
        guard !layers.isEmpty else { throw .invalidArgument(field: "mounts.image", reason: "the image has no layers") }
        let flags = UInt(MS_RDONLY | MS_NODEV | MS_NOSUID)
        if layers.count == 1 {
            guard Glibc.mount(layers[0], target, nil, UInt(MS_BIND), nil) == 0 else { throw .system(SystemError("bind image volume", path: target)) }
            guard Glibc.mount(nil, target, nil, UInt(MS_BIND | MS_REMOUNT) | flags, nil) == 0 else { throw .system(SystemError("remount image volume read-only", path: target)) }
        } else {
            let options = "lowerdir=" + layers.reversed().joined(separator: ":")
            guard options.utf8.count < 4000 else { throw .runtimeFailed(operation: "create", message: "the volume's image has too many layers (\(layers.count))") }
            guard Glibc.mount("overlay", target, "overlay", flags, options) == 0 else { throw .system(SystemError("mount image volume", path: target)) }
        }
        guard !subPath.isEmpty else { return target }
        guard !subPath.hasPrefix("/"), !subPath.split(separator: "/").contains(".."), !subPath.utf8.contains(0) else {
            throw .invalidArgument(field: "mounts.image_sub_path", reason: "must be relative, without '..'")
        }
        let oPath: Int32 = 0o10000000   // O_PATH: glibc shows it to C with _GNU_SOURCE only
        let root = open(target, oPath | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw .system(SystemError("open", path: target)) }
        defer { close(root) }
        let fd = cs_openat2_in_root(root, subPath, oPath | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .invalidArgument(field: "mounts.image_sub_path", reason: "\(subPath) is not in the image") }
        defer { close(fd) }
        // The path the kernel resolved, inside the volume; the volume is read-only, so it stays.
        guard let resolved = FileSystem.readLink("/proc/self/fd/\(fd)"), resolved == target || resolved.hasPrefix(target + "/") else {
            throw .invalidArgument(field: "mounts.image_sub_path", reason: "\(subPath) leads out of the image")
        }
        return resolved
    }

    /// Unmounted and removed; safe to repeat.
    func remove() throws(PodManagerError) {
        for entry in FileSystem.directoryEntries(imageVolumes) {
            while umount2(imageVolumes + "/" + entry, Int32(MNT_DETACH)) == 0 {}
        }
        while umount2(rootfs, Int32(MNT_DETACH)) == 0 {}
        detachIdmappedLayers()
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
