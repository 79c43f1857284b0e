/* The container's first process, from clone() to execve(): it joins its
 * cgroups and network namespace, builds its root filesystem inside its own
 * mount namespace (so every mount vanishes with the container and nothing
 * leaks onto the host), pivots into it and waits on the start fifo.
 *
 * It runs in a process forked from the host, so it keeps to system calls
 * and simple libc functions. Every failure is reported on sync_fd as one
 * line naming the step and the path. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "rp.h"

static int sync_out = -1;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    char msg[512];
    msg[0] = 'E';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof msg - 2)
        n = (int)sizeof msg - 2;
    (void)!write(sync_out, msg, (size_t)n + 1);
    _exit(126);
}

/* Not inlined, so the compiler does not second-guess the checked length. */
__attribute__((noinline)) static void pjoin(char *out, size_t len, const char *a, const char *b)
{
    if (snprintf(out, len, "%s/%s", a, b) >= (int)len)
        die("path %s/%s too long", a, b);
}

static void mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(buf, mode);
        *p = '/';
    }
    mkdir(buf, mode);
}

/* A path inside the new root, refusing ".." so a volume target cannot name
 * a place outside it. */
static void in_root(char *out, size_t len, const char *root, const char *target)
{
    if (target[0] != '/' || strstr(target, "/../") ||
        (strlen(target) >= 3 && strcmp(target + strlen(target) - 3, "/..") == 0))
        die("mount target %s: must be absolute, without ..", target);
    if (snprintf(out, len, "%s%s", root, target) >= (int)len)
        die("mount target %s: path too long", target);
}

static void bind_volume(const char *root, const berth_mount *m)
{
    char target[PATH_MAX];
    struct stat st;
    in_root(target, sizeof target, root, m->target);
    if (!m->source || stat(m->source, &st) < 0)
        die("volume source %s: %s", m->source ? m->source : "(null)", strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        mkdirs(target, 0755);
    } else {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", target);
        *strrchr(parent, '/') = 0;
        mkdirs(parent, 0755);
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    if (mount(m->source, target, "none", MS_BIND | MS_REC, NULL) < 0)
        die("bind mount %s on %s: %s", m->source, m->target, strerror(errno));
    if (m->read_only &&
        mount("none", target, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        die("read-only remount of %s: %s", m->target, strerror(errno));
}

static void setup_dev(const char *root)
{
    static const struct {
        const char *name;
        unsigned major, minor;
    } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    char dev[PATH_MAX], p[PATH_MAX];
    pjoin(dev, sizeof dev, root, "dev");
    mkdir(dev, 0755);
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
        die("mount tmpfs on /dev: %s", strerror(errno));
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        pjoin(p, sizeof p, dev, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
            die("mknod /dev/%s: %s", nodes[i].name, strerror(errno));
        chmod(p, 0666); /* mknod honours the umask */
    }
    pjoin(p, sizeof p, dev, "pts");
    mkdir(p, 0755);
    if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") < 0)
        die("mount devpts on /dev/pts: %s", strerror(errno));
    pjoin(p, sizeof p, dev, "shm");
    mkdir(p, 01777);
    if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
        die("mount tmpfs on /dev/shm: %s", strerror(errno));
    static const char *const links[][2] = {{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"},
                                           {"/proc/self/fd/0", "stdin"},
                                           {"/proc/self/fd/1", "stdout"},
                                           {"/proc/self/fd/2", "stderr"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        pjoin(p, sizeof p, dev, links[i][1]);
        (void)!symlink(links[i][0], p);
    }
}

static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        die("loopback: %s", strerror(errno));
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        die("bringing loopback up: %s", strerror(errno));
    close(s);
}

static void setup_network(const berth_container_spec *spec)
{
    if (spec->netns_path && spec->netns_path[0]) {
        int fd = open(spec->netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            die("joining network namespace %s: %s", spec->netns_path, strerror(errno));
        close(fd);
    } else if (!(spec->flags & BERTH_CONTAINER_HOST_NETWORK)) {
        loopback_up(); /* a fresh namespace from clone() */
    }
}

static void exec_command(const berth_container_spec *spec, int exec_err_fd)
{
    static char default_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t n = 0;
    int has_path = 0;
    for (; spec->env && spec->env[n]; n++)
        has_path |= strncmp(spec->env[n], "PATH=", 5) == 0;
    static char **env; /* static: still reachable if exec fails */
    env = calloc(n + 3, sizeof *env);
    if (!env)
        _exit(127);
    size_t k = 0;
    if (!has_path)
        env[k++] = default_path;
    for (size_t i = 0; i < n; i++)
        env[k++] = (char *)spec->env[i];
    extern char **environ;
    environ = env;
    execvp(spec->argv[0], (char *const *)spec->argv);
    int err = errno;
    (void)!write(exec_err_fd, &err, sizeof err);
    _exit(127);
}

void rp_child_main(const rp_launch *l, int out_fd, int err_fd, int sync_fd, int exec_err_fd)
{
    const berth_container_spec *spec = l->spec;
    char root[PATH_MAX], opts[3 * PATH_MAX], p[PATH_MAX];
    sync_out = sync_fd;

    int e = rp_cg_join(l->cg);
    if (e < 0)
        die("joining cgroup %s: %s", l->cg->path[0], strerror(-e));
    setup_network(spec);
    const char *hostname = spec->hostname && spec->hostname[0] ? spec->hostname
                           : spec->pod_name && spec->pod_name[0] ? spec->pod_name
                                                                  : spec->id;
    if (sethostname(hostname, strlen(hostname)) < 0)
        die("sethostname %s: %s", hostname, strerror(errno));

    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        die("making / private: %s", strerror(errno));
    snprintf(root, sizeof root, "%s/rootfs", l->dir);
    if (strpbrk(spec->rootfs, ",:") || strpbrk(l->dir, ",:"))
        die("image root %s: paths with ',' or ':' cannot be overlay layers", spec->rootfs);
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", spec->rootfs,
             l->dir, l->dir);
    if (mount("overlay", root, "overlay", 0, opts) < 0)
        die("overlay mount of image %s: %s", spec->rootfs, strerror(errno));

    pjoin(p, sizeof p, root, "proc");
    mkdir(p, 0555);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount /proc: %s", strerror(errno));
    setup_dev(root);
    pjoin(p, sizeof p, root, "sys");
    mkdir(p, 0555);
    /* sysfs reflects the network namespace; read-only, and optional. */
    mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    for (uint32_t i = 0; i < spec->nmounts; i++)
        bind_volume(root, &spec->mounts[i]);

    snprintf(p, sizeof p, "%s/start.fifo", l->dir);
    int fifo = open(p, O_RDWR | O_CLOEXEC);
    if (fifo < 0)
        die("opening %s: %s", p, strerror(errno));

    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root into %s: %s", root, strerror(errno));
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        die("detaching the old root: %s", strerror(errno));
    const char *wd = spec->working_dir && spec->working_dir[0] ? spec->working_dir : "/";
    mkdirs(wd, 0755);
    if (chdir(wd) < 0)
        die("working dir %s: %s", wd, strerror(errno));

    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        die("stdio: %s", strerror(errno));
    (void)!write(sync_fd, "R", 1);
    close(sync_fd);

    char go;
    ssize_t r;
    while ((r = read(fifo, &go, 1)) < 0 && errno == EINTR)
        ;
    if (r != 1)
        _exit(126);
    close(fifo);
    exec_command(spec, exec_err_fd);
    _exit(127);
}
