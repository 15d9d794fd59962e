#if canImport(Glibc)
import Glibc
#endif
import CShims
import LinuxKit

extension CgroupV2 {
    /// Makes `filter` the device program of the cgroup open at `cgroupFD`. A program already there
    /// (`skiff update`) is replaced atomically (BPF_F_REPLACE), so there is no moment without a
    /// filter; when several are attached (another tool's), the new one goes on first and the
    /// others come off after.
    public func setDevices(_ filter: DeviceFilter, cgroupFD: Int32) throws(CgroupError) {
        let program = DeviceFilterProgram.bytes(filter)
        var log = [CChar](repeating: 0, count: 16_384)
        let fd = program.withUnsafeBytes { cs_bpf_load_device_program($0.baseAddress, UInt32(program.count / 8), &log, UInt32(log.count)) }
        guard fd >= 0 else {
            let error = SystemError("bpf(BPF_PROG_LOAD)", errno: errno)
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CgroupError("cannot load the device filter: \(error.reason)\(verifier.isEmpty ? "" : " (\(verifier.suffix(300)))")")
        }
        defer { close(fd) }
        let attached = attachedDevicePrograms(cgroupFD)
        defer { attached.forEach { close($0) } }
        if attached.count == 1, cs_bpf_attach_device_program(cgroupFD, fd, attached[0]) == 0 { return }
        guard cs_bpf_attach_device_program(cgroupFD, fd, -1) == 0 else {
            throw CgroupError("cannot attach the device filter: \(SystemError("bpf(BPF_PROG_ATTACH)", errno: errno).reason)")
        }
        for old in attached { _ = cs_bpf_detach_device_program(cgroupFD, old) }
    }

    /// Descriptors of the device programs attached to the cgroup itself.
    func attachedDevicePrograms(_ cgroupFD: Int32) -> [Int32] {
        var ids = [UInt32](repeating: 0, count: 64)
        var count = UInt32(ids.count)
        guard cs_bpf_query_device_programs(cgroupFD, &ids, &count) == 0 else { return [] }
        return ids.prefix(Int(min(count, 64))).map { cs_bpf_program_fd($0) }.filter { $0 >= 0 }
    }
}
