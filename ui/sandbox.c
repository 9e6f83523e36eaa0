/* See ui/sandbox.h. A classic BPF program over struct seccomp_data (Linux
 * Documentation/userspace-api/seccomp_filter.rst), built here without
 * libseccomp so a fresh machine needs no extra package:
 *
 *   arch != the host's          -> kill (no other ABI's numbers reach us)
 *   x32 numbers (x86-64)        -> kill
 *   clone without CLONE_THREAD  -> EPERM unless spawn=allow (threads still start)
 *   clone3                      -> ENOSYS (its flags live in memory a filter
 *                                  cannot read; the C library falls back to clone)
 *   a rule of the tables below  -> its action
 *   anything else               -> EPERM
 *
 * The allow-list is what tremu's own threads use: vCPUs (KVM ioctls, futexes),
 * the virtio-blk and chardev I/O threads (pread/pwrite, fsync, sockets, poll),
 * slirp (sockets), VNC/SDL (sockets, shared memory, X11 through sockets), the
 * 9p server (openat, *at calls, xattrs, locks) and the monitor (files it opens
 * for screendump/commit). Exec, ptrace, mount, module and key management,
 * privilege changes and the like end the process: a device model never needs
 * them, and a guest that took over a device thread must not get them. Paths
 * cannot be filtered by seccomp (the path is in memory); the jail of the 9p
 * export is fs/fs_local.c's openat/O_NOFOLLOW walk. */
#include "ui/sandbox.h"
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SB_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_ARCH AUDIT_ARCH_AARCH64
#endif

static int parse_allow(const char *key, const char *v, size_t n, bool *out, char *err,
                       size_t errlen)
{
    if (n == 5 && !strncmp(v, "allow", 5))
        *out = true;
    else if (n == 4 && !strncmp(v, "deny", 4))
        *out = false;
    else if (!strcmp(key, "elevateprivileges") && n == 8 && !strncmp(v, "children", 8))
        *out = false;   /* tremu spawns no children: same as deny */
    else {
        snprintf(err, errlen, "-sandbox: invalid value '%.*s' for %s (allow or deny)",
                 (int)n, v, key);
        return -1;
    }
    return 0;
}

int sandbox_parse(struct sandbox_opts *o, const char *arg, char *err, size_t errlen)
{
    *o = (struct sandbox_opts){0};
    size_t n = strcspn(arg, ",");
    const char *p = arg;
    if (!strncmp(p, "enable=", 7)) {
        p += 7;
        n -= 7;
    }
    if ((n == 2 && !strncmp(p, "on", 2)) || (n == 3 && !strncmp(p, "yes", 3)))
        o->on = true;
    else if ((n == 3 && !strncmp(p, "off", 3)) || (n == 2 && !strncmp(p, "no", 2)))
        o->on = false;
    else {
        snprintf(err, errlen, "-sandbox %s: expected on or off first", arg);
        return -1;
    }
    p += n;
    while (*p == ',') {
        p++;
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq) {
            snprintf(err, errlen, "-sandbox: '%.*s' is not key=value", (int)len, p);
            return -1;
        }
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        static const char *const keys[] = {"obsolete", "elevateprivileges", "spawn",
                                           "resourcecontrol"};
        bool *dst[] = {&o->obsolete, &o->elevate, &o->spawn, &o->resource};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(keys[i]) == klen && !strncmp(p, keys[i], klen))
                k = i;
        if (k < 0) {
            snprintf(err, errlen, "-sandbox: unknown option '%.*s' (obsolete, "
                     "elevateprivileges, spawn, resourcecontrol)", (int)klen, p);
            return -1;
        }
        if (parse_allow(keys[k], eq + 1, vlen, dst[k], err, errlen) < 0)
            return -1;
        p += len;
    }
    return 0;
}

#ifdef SB_ARCH

/* What tremu's threads call, hot ones first (the filter is a linear scan). */
static const int allowed[] = {
    __NR_ioctl, __NR_futex, __NR_read, __NR_write, __NR_ppoll, __NR_pread64, __NR_pwrite64,
    __NR_preadv, __NR_pwritev, __NR_readv, __NR_writev, __NR_clock_gettime,
    __NR_clock_nanosleep, __NR_nanosleep, __NR_sendto, __NR_recvfrom, __NR_sendmsg,
    __NR_recvmsg, __NR_epoll_pwait, __NR_epoll_ctl, __NR_pselect6, __NR_lseek,
    /* files: images, 9p (always relative to a directory fd of the export) */
    __NR_openat, __NR_close, __NR_fstat, __NR_newfstatat, __NR_statx, __NR_fstatfs,
    __NR_statfs, __NR_getdents64, __NR_readlinkat, __NR_faccessat, __NR_mkdirat,
    __NR_unlinkat, __NR_renameat, __NR_renameat2, __NR_symlinkat, __NR_linkat, __NR_mknodat,
    __NR_fchmod, __NR_fchmodat, __NR_fchown, __NR_fchownat, __NR_utimensat, __NR_ftruncate,
    __NR_truncate, __NR_fallocate, __NR_fsync, __NR_fdatasync, __NR_sync_file_range,
    __NR_fadvise64, __NR_flock, __NR_fcntl, __NR_dup, __NR_dup3, __NR_pipe2,
    __NR_fgetxattr, __NR_fsetxattr, __NR_flistxattr, __NR_fremovexattr, __NR_getxattr,
    __NR_setxattr, __NR_listxattr, __NR_removexattr, __NR_lgetxattr, __NR_lsetxattr,
    __NR_llistxattr, __NR_lremovexattr, __NR_getcwd, __NR_chdir, __NR_fchdir, __NR_umask,
    __NR_preadv2, __NR_pwritev2, __NR_copy_file_range,
    /* memory */
    __NR_mmap, __NR_munmap, __NR_mprotect, __NR_mremap, __NR_madvise, __NR_brk, __NR_msync,
    __NR_mlock, __NR_munlock, __NR_membarrier, __NR_memfd_create, __NR_mincore,
    __NR_shmget, __NR_shmat, __NR_shmdt, __NR_shmctl,   /* SDL's X11 shared-memory images */
    /* threads, signals, exit */
    __NR_set_robust_list, __NR_get_robust_list, __NR_set_tid_address, __NR_gettid,
    __NR_getpid, __NR_getppid, __NR_tgkill, __NR_tkill, __NR_sched_yield,
    __NR_sched_getaffinity, __NR_sched_getparam, __NR_sched_getscheduler, __NR_getpriority,
    __NR_exit, __NR_exit_group, __NR_restart_syscall, __NR_rt_sigaction,
    __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_rt_sigtimedwait, __NR_rt_sigpending,
    __NR_rt_sigsuspend, __NR_sigaltstack, __NR_wait4, __NR_waitid, __NR_prctl,
    /* time, events */
    __NR_clock_getres, __NR_gettimeofday, __NR_timerfd_create, __NR_timerfd_settime,
    __NR_timerfd_gettime, __NR_times, __NR_getitimer, __NR_setitimer, __NR_epoll_create1,
    __NR_eventfd2, __NR_signalfd4, __NR_inotify_init1, __NR_inotify_add_watch,
    __NR_inotify_rm_watch,
    /* sockets: chardevs, slirp, VNC, the monitor, SDL's X11/Wayland connection */
    __NR_socket, __NR_socketpair, __NR_connect, __NR_accept, __NR_accept4, __NR_bind,
    __NR_listen, __NR_sendmmsg, __NR_recvmmsg, __NR_getsockopt, __NR_setsockopt,
    __NR_getsockname, __NR_getpeername, __NR_shutdown,
    /* identity (read only), limits, randomness */
    __NR_getuid, __NR_geteuid, __NR_getgid, __NR_getegid, __NR_getresuid, __NR_getresgid,
    __NR_getgroups, __NR_getpgid, __NR_getsid, __NR_uname, __NR_getrlimit, __NR_prlimit64,
    __NR_getrusage, __NR_sysinfo, __NR_getrandom, __NR_capget, __NR_rseq,
#ifdef __NR_close_range
    __NR_close_range,
#endif
#ifdef __NR_faccessat2
    __NR_faccessat2,
#endif
#ifdef __NR_epoll_pwait2
    __NR_epoll_pwait2,
#endif
#ifdef __NR_openat2
    __NR_openat2,
#endif
#if defined(__x86_64__)
    /* the older x86-64 entries the C library and SDL still use */
    __NR_poll, __NR_select, __NR_open, __NR_stat, __NR_lstat, __NR_access, __NR_pipe,
    __NR_dup2, __NR_getdents, __NR_readlink, __NR_unlink, __NR_rename, __NR_mkdir,
    __NR_rmdir, __NR_chmod, __NR_chown, __NR_lchown, __NR_symlink, __NR_link, __NR_creat,
    __NR_epoll_create, __NR_epoll_wait, __NR_eventfd, __NR_signalfd, __NR_inotify_init,
    __NR_alarm, __NR_time, __NR_getpgrp, __NR_utime, __NR_utimes, __NR_futimesat,
    __NR_arch_prctl, __NR_mknod,
#endif
};

/* Never needed by a device model: the process ends on the first one. */
static const int killed[] = {
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_mount, __NR_umount2,
    __NR_pivot_root, __NR_chroot, __NR_reboot, __NR_kexec_load, __NR_init_module,
    __NR_finit_module, __NR_delete_module, __NR_bpf, __NR_swapon, __NR_swapoff, __NR_acct,
    __NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex,
    __NR_sethostname, __NR_setdomainname, __NR_unshare, __NR_setns, __NR_keyctl,
    __NR_add_key, __NR_request_key, __NR_perf_event_open, __NR_open_by_handle_at,
    __NR_name_to_handle_at, __NR_quotactl, __NR_fanotify_init, __NR_personality,
    __NR_kcmp, __NR_userfaultfd,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
#ifdef __NR_fsopen
    __NR_fsopen, __NR_fsmount, __NR_fsconfig, __NR_fspick, __NR_move_mount, __NR_open_tree,
#endif
#if defined(__x86_64__)
    __NR_iopl, __NR_ioperm, __NR_modify_ldt,
#endif
};

/* QEMU's groups (qemu-options.hx, -sandbox). */
static const int spawn_exec[] = {__NR_execve, __NR_execveat};
static const int spawn_fork[] = {
#if defined(__x86_64__)
    __NR_fork, __NR_vfork,
#endif
};
static const int elevate[] = {__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid,
                              __NR_setresuid, __NR_setresgid, __NR_setgroups, __NR_setfsuid,
                              __NR_setfsgid, __NR_capset};
static const int obsolete[] = {
#if defined(__x86_64__)
    __NR_uselib, __NR_sysfs, __NR_ustat, __NR_create_module, __NR_get_kernel_syms,
    __NR_query_module, __NR_nfsservctl, __NR_getpmsg, __NR_putpmsg, __NR_afs_syscall,
    __NR_tuxcall, __NR_security, __NR_vserver,
#else
    __NR_nfsservctl,
#endif
};
static const int resource[] = {__NR_setpriority, __NR_sched_setparam,
                               __NR_sched_setscheduler, __NR_sched_setaffinity,
                               __NR_sched_setattr, __NR_setrlimit};

#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define MAXPROG 1024

struct prog {
    struct sock_filter f[MAXPROG];
    unsigned n;
};

static void emit(struct prog *p, struct sock_filter s)
{
    if (p->n < MAXPROG)
        p->f[p->n++] = s;
}

/* nr == k ? action : fall through (A holds nr). */
static void rules(struct prog *p, const int *nrs, size_t n, uint32_t action)
{
    for (size_t i = 0; i < n; i++) {
        emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nrs[i], 0, 1));
        emit(p, (struct sock_filter)RET(action));
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define EPERM_ACT (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

int sandbox_install(const struct sandbox_opts *o, char *err, size_t errlen)
{
    if (!o->on)
        return 0;
    static struct prog p;
    p.n = 0;
    const uint32_t allow = SECCOMP_RET_ALLOW, kill = SECCOMP_RET_KILL_PROCESS;
    emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch)));
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0));
    emit(&p, (struct sock_filter)RET(kill));
    emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    emit(&p, (struct sock_filter)RET(kill));
#endif
    /* clone: threads always, processes only with spawn=allow. args[0] is the
     * flags word; its low half holds CLONE_THREAD (little-endian hosts). */
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4));
    emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, args[0])));
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1));
    emit(&p, (struct sock_filter)RET(allow));
    emit(&p, (struct sock_filter)RET(o->spawn ? allow : EPERM_ACT));
#ifdef __NR_clone3
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
    emit(&p, (struct sock_filter)RET(SECCOMP_RET_ERRNO | ENOSYS));
#endif
    rules(&p, allowed, NELEM(allowed), allow);
    rules(&p, killed, NELEM(killed), kill);
    rules(&p, spawn_exec, NELEM(spawn_exec), o->spawn ? allow : kill);
    rules(&p, spawn_fork, NELEM(spawn_fork), o->spawn ? allow : EPERM_ACT);
    rules(&p, elevate, NELEM(elevate), o->elevate ? allow : kill);
    rules(&p, obsolete, NELEM(obsolete), o->obsolete ? allow : kill);
    rules(&p, resource, NELEM(resource), o->resource ? allow : EPERM_ACT);
    emit(&p, (struct sock_filter)RET(EPERM_ACT));
    if (p.n >= MAXPROG) {
        snprintf(err, errlen, "-sandbox: filter too long");
        return -1;
    }
    struct sock_fprog fp = {.len = (unsigned short)p.n, .filter = p.f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "-sandbox on: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    /* TSYNC: the I/O, display and chardev threads started during set-up get
     * the filter too, not only the thread installing it. */
    long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);
    if (r != 0) {
        snprintf(err, errlen, "-sandbox on: the kernel refused the seccomp filter: %s",
                 r < 0 ? strerror(errno) : "a thread could not be synchronised");
        return -1;
    }
    return 0;
}

#else

int sandbox_install(const struct sandbox_opts *o, char *err, size_t errlen)
{
    if (!o->on)
        return 0;
    snprintf(err, errlen, "-sandbox on: not available on this host architecture");
    return -1;
}

#endif
