// guest.c: a tiny WASI preview-1 test guest for package naive's tests.
// It performs the ops on its command line with wasi-libc's raw __wasi_*
// calls, so the errnos it prints are the runtime's own, one line per record:
//
//   preopens                  -> "preopen <fd> <name>" per preopen
//   read <dir> <path>         -> "read <errno> <bytes>"
//   write <dir> <path> <text> -> "write <errno>"   (creat|trunc, FD_WRITE)
//   env                       -> "env <KEY=VALUE>" per variable
//   args                      -> "arg <i> <value>" per argument
//   accept <fd>               -> "accept <errno>"
//   sleep                     -> "sleep <errno> <elapsed ns>" (10 ms poll_oneoff)
//   stdin                     -> "stdin <bytes>"
//   exit <n>                  -> proc_exit(n)
//   spin                      -> loops forever
//   trap                      -> unreachable
//
// <dir> is a preopen's guest name or fd:N.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static __wasi_fd_t find_dir(const char *name) {
    if (strncmp(name, "fd:", 3) == 0) return (__wasi_fd_t)atoi(name + 3);
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) != 0) break;
        char buf[256] = {0};
        if (ps.u.dir.pr_name_len >= sizeof buf) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, ps.u.dir.pr_name_len) != 0) continue;
        if (strcmp(buf, name) == 0) return fd;
    }
    return 9999;
}

static void op_read(const char *dir, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(find_dir(dir), __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
                                        __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    char buf[4097] = {0};
    if (e == 0) {
        __wasi_iovec_t iov = {(uint8_t *)buf, 4096};
        __wasi_size_t n = 0;
        e = __wasi_fd_read(fd, &iov, 1, &n);
        buf[n] = 0;
        (void)__wasi_fd_close(fd);
    }
    printf("read %d %s\n", e, buf);
}

static void op_write(const char *dir, const char *path, const char *text) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(find_dir(dir), 0, path,
                                        __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                                        __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
    if (e == 0) {
        __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
        __wasi_size_t n;
        e = __wasi_fd_write(fd, &iov, 1, &n);
        (void)__wasi_fd_close(fd);
    }
    printf("write %d\n", e);
}

static void op_strings(int env) {
    __wasi_size_t count, size;
    __wasi_errno_t e = env ? __wasi_environ_sizes_get(&count, &size) : __wasi_args_sizes_get(&count, &size);
    if (e != 0) { printf("%s-sizes %d\n", env ? "env" : "args", e); return; }
    uint8_t **ptrs = calloc(count + 1, sizeof *ptrs);
    uint8_t *buf = calloc(size + 1, 1);
    e = env ? __wasi_environ_get(ptrs, buf) : __wasi_args_get(ptrs, buf);
    if (e != 0) { printf("%s-get %d\n", env ? "env" : "args", e); return; }
    for (__wasi_size_t i = 0; i < count; i++) {
        if (env) printf("env %s\n", (char *)ptrs[i]);
        else printf("arg %u %s\n", (unsigned)i, (char *)ptrs[i]);
    }
}

static void op_sleep(void) {
    __wasi_timestamp_t t0, t1;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0);
    __wasi_subscription_t sub = {0};
    sub.userdata = 42;
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 10 * 1000 * 1000;
    __wasi_event_t ev;
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
    printf("sleep %d %llu %u %llu\n", e, (unsigned long long)(t1 - t0), (unsigned)n,
           (unsigned long long)ev.userdata);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "preopens")) {
            for (__wasi_fd_t fd = 3; fd < 64; fd++) {
                __wasi_prestat_t ps;
                if (__wasi_fd_prestat_get(fd, &ps) != 0) break;
                char buf[256] = {0};
                if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, ps.u.dir.pr_name_len) == 0)
                    printf("preopen %u %s\n", (unsigned)fd, buf);
            }
        } else if (!strcmp(op, "read") && i + 2 < argc) {
            op_read(argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (!strcmp(op, "write") && i + 3 < argc) {
            op_write(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 3;
        } else if (!strcmp(op, "env")) {
            op_strings(1);
        } else if (!strcmp(op, "args")) {
            op_strings(0);
        } else if (!strcmp(op, "accept") && i + 1 < argc) {
            __wasi_fd_t nfd;
            printf("accept %d\n", __wasi_sock_accept((__wasi_fd_t)atoi(argv[++i]), 0, &nfd));
        } else if (!strcmp(op, "sleep")) {
            op_sleep();
        } else if (!strcmp(op, "stdin")) {
            char buf[256] = {0};
            __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
            __wasi_size_t n = 0;
            __wasi_errno_t e = __wasi_fd_read(0, &iov, 1, &n);
            printf("stdin %d %s\n", e, buf);
        } else if (!strcmp(op, "exit") && i + 1 < argc) {
            fflush(stdout);
            __wasi_proc_exit((__wasi_exitcode_t)atoi(argv[i + 1]));
        } else if (!strcmp(op, "spin")) {
            fflush(stdout);
            for (volatile unsigned long n = 0;; n++) {
            }
        } else if (!strcmp(op, "trap")) {
            fflush(stdout);
            __builtin_trap();
        } else {
            printf("usage %s\n", op);
            return 2;
        }
    }
    return 0;
}
