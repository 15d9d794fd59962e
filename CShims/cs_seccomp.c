// libseccomp behind a small non-variadic API: Swift cannot call seccomp_rule_add (variadic) or use
// the SCMP_ACT_* macros. The filter is compiled to BPF here, in the parent; the child only loads it.
#define _GNU_SOURCE
#include "cshims.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *cs_seccomp_new(uint32_t default_action) { return seccomp_init(default_action); }

void cs_seccomp_free(void *ctx) { seccomp_release(ctx); }

int cs_seccomp_add_arch(void *ctx, const char *name) {
    uint32_t arch = seccomp_arch_resolve_name(name);
    if (arch == 0) return -EINVAL;
    int rc = seccomp_arch_add(ctx, arch);
    return rc == -EEXIST ? 0 : rc;
}

int cs_seccomp_syscall_number(const char *name) { return seccomp_syscall_resolve_name(name); }

int cs_seccomp_add_rule(void *ctx, uint32_t action, int syscall_nr, unsigned count, const cs_seccomp_arg *args) {
    struct scmp_arg_cmp cmp[6];
    if (count > 6) return -EINVAL;
    for (unsigned i = 0; i < count; i++) {
        cmp[i].arg = args[i].index;
        cmp[i].op = (enum scmp_compare)args[i].op;
        cmp[i].datum_a = args[i].value;
        cmp[i].datum_b = args[i].value_two;
    }
    return seccomp_rule_add_array(ctx, action, syscall_nr, count, cmp);
}

int cs_seccomp_set_log(void *ctx) { return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1); }

// Exports the BPF program through a memfd; the caller frees *out.
int cs_seccomp_export(void *ctx, void **out, size_t *len) {
    int fd = memfd_create("skiff-seccomp", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) { close(fd); return rc; }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0) { close(fd); return -EINVAL; }
    void *buf = malloc((size_t)size);
    if (!buf) { close(fd); return -ENOMEM; }
    if (pread(fd, buf, (size_t)size, 0) != size) { free(buf); close(fd); return -EIO; }
    close(fd);
    *out = buf;
    *len = (size_t)size;
    return 0;
}
