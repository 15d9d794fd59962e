// A complete, minimal x86-64 ELF executable, kept as data. The container's process is exec'd
// through it (from a sealed memfd), and it execs the container's real program. Why: until that
// first execve the child is a copy of the runtime, and a program the container controls (a
// `#!/proc/self/exe` script, say) could otherwise be started with the runtime's binary as its
// /proc/self/exe and write to it on the host (CVE-2019-5736). Exec'ing this image first makes
// /proc/self/exe a sealed, throw-away memfd at that moment instead.
//
// Calling convention: argv[0] is the resolved path to exec, argv[1..] its argv; envp is passed on.
// On failure it writes one line to stderr and exits 127 (ENOENT) or 126, as a shell would. A
// script whose interpreter is /proc/self/exe reaches it again with too few arguments and ends there.
#if defined(__x86_64__)
    .section .rodata.cs_trampoline, "a"
    .globl cs_trampoline_image
    .globl cs_trampoline_size
    .set BASE, 0x400000

cs_trampoline_image:
    // ELF header
    .byte 0x7f, 'E', 'L', 'F', 2, 1, 1, 0      // 64-bit, little endian, version 1, System V ABI
    .quad 0
    .short 2                                   // ET_EXEC
    .short 62                                  // EM_X86_64
    .long 1
    .quad BASE + (entry - cs_trampoline_image) // e_entry
    .quad phdrs - cs_trampoline_image          // e_phoff
    .quad 0                                    // e_shoff: no sections
    .long 0
    .short 64, 56, 2, 64, 0, 0                 // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
phdrs:
    // PT_LOAD: the whole image, read + execute
    .long 1, 5
    .quad 0, BASE, BASE
    .quad end - cs_trampoline_image, end - cs_trampoline_image
    .quad 0x1000
    // PT_GNU_STACK: a non-executable stack
    .long 0x6474e551, 6
    .quad 0, 0, 0, 0, 0, 16
entry:
    mov (%rsp), %rax                // argc
    cmp $2, %rax                    // a path and at least the program's argv[0]; anything
    jb 2f                           // else is a loop through /proc/self/exe: refuse it
    mov 8(%rsp), %rdi               // path = argv[0]
    lea 16(%rsp), %rsi              // argv + 1
    lea 16(%rsp,%rax,8), %rdx       // envp = argv + argc + 1
    mov $59, %eax                   // execve
    syscall
    mov %eax, %ebx                  // -errno
    jmp 3f
2:  mov $-22, %ebx                  // EINVAL
3:  mov $1, %eax                    // write(2, message, length)
    mov $2, %edi
    lea message(%rip), %rsi
    mov $(end - message), %edx
    syscall
    mov $126, %edi
    cmp $-2, %ebx                   // ENOENT
    jne 1f
    mov $127, %edi
1:  mov $231, %eax                  // exit_group
    syscall
message:
    .ascii "skiff: cannot exec the container's program\n"
end:

    .p2align 3
cs_trampoline_size:
    .quad end - cs_trampoline_image
#else
    .section .rodata.cs_trampoline, "a"
    .globl cs_trampoline_image
    .globl cs_trampoline_size
cs_trampoline_image:
    .p2align 3
cs_trampoline_size:
    .quad 0                         // no image for this architecture: exec directly
#endif
    .section .note.GNU-stack, "", @progbits
