// bpf(2) for the device cgroup: load a BPF_PROG_TYPE_CGROUP_DEVICE program, and attach, list and
// detach such programs on a cgroup directory. Which program, and when to replace what, is decided
// in Swift (Cgroups.DeviceController).
#define _GNU_SOURCE
#include "cshims.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bpf(int cmd, union bpf_attr *attr) {
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static int load_device_program(const void *insns, unsigned count, char *log, unsigned log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = count;
    attr.license = (uint64_t)(uintptr_t)"Apache";
    if (log && log_size > 0) {
        log[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    return bpf(BPF_PROG_LOAD, &attr);
}

int cs_bpf_load_device_program(const void *insns, unsigned count, char *log, unsigned log_size) {
    // Without a log first: the verifier's log made the load the slowest step of a create. Only a
    // refused program is loaded again, to tell why.
    int fd = load_device_program(insns, count, NULL, 0);
    if (fd >= 0 || !log || log_size == 0) return fd;
    int saved = errno;
    int again = load_device_program(insns, count, log, log_size);
    if (again >= 0) return again;
    errno = saved;
    return -1;
}

int cs_bpf_attach_device_program(int cgroup_fd, int prog_fd, int replace_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (replace_fd >= 0) {
        attr.attach_flags |= BPF_F_REPLACE;
        attr.replace_bpf_fd = (uint32_t)replace_fd;
    }
    return bpf(BPF_PROG_ATTACH, &attr);
}

int cs_bpf_detach_device_program(int cgroup_fd, int prog_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    return bpf(BPF_PROG_DETACH, &attr);
}

int cs_bpf_query_device_programs(int cgroup_fd, uint32_t *ids, uint32_t *count) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = *count;
    int rc = bpf(BPF_PROG_QUERY, &attr);
    *count = attr.query.prog_cnt;
    return rc;
}

int cs_bpf_program_fd(uint32_t id) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    attr.open_flags = 0;
    return bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}
