/* The local image store. Layout:
 *   DATA_DIR/images/NAME/TAG/rootfs   the root filesystem ('/' in NAME is '+')
 *   DATA_DIR/images/NAME/TAG/info     "REF\nSIZE\nIMPORTED_NS\n"
 * An import unpacks into DATA_DIR/images/.tmp-XXXXXX and renames it into
 * place only when complete, so a failed or interrupted import never leaves
 * a half image behind a valid name.
 *
 * Archives are unpacked by GNU tar in a child process (fed through a pipe,
 * which is what gives the progress callback its byte counts); OCI layers are
 * applied in order, whiteouts first, removed by walking the path one
 * component at a time without following symlinks, so a symlink in an earlier
 * layer cannot point a deletion outside the root. */
#include "agent/images.h"
#include "agent/images-int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "util/fs.h"

#define AREA "images"
#define BUSYBOX_BIN "/bin/busybox"


int images_fail(berth_images *st, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->last_error, sizeof st->last_error, fmt, ap);
    va_end(ap);
    BERTH_DEBUG(AREA, "%s", st->last_error);
    return err;
}

int berth_images_open(const char *data_dir, berth_images **out)
{
    berth_images *st = calloc(1, sizeof *st);
    if (!st)
        return BERTH_ENOMEM;
    if (snprintf(st->dir, sizeof st->dir, "%s/images", data_dir) >= (int)sizeof st->dir) {
        free(st);
        return BERTH_ETOOLARGE;
    }
    if (mkdir(st->dir, 0755) < 0 && errno != EEXIST) {
        free(st);
        return BERTH_EIO;
    }
    *out = st;
    return 0;
}

void berth_images_close(berth_images *st)
{
    free(st);
}

const char *berth_images_last_error(const berth_images *st)
{
    return st->last_error;
}

/* Splits NAME[:TAG] into the store's directory names. */
static int parse_ref(berth_images *st, const char *ref, char *name, size_t nlen, char *tag,
                     size_t tlen)
{
    if (!ref || !*ref)
        return images_fail(st, BERTH_EINVAL, "image reference is empty");
    if (strchr(ref, '@'))
        return images_fail(st, BERTH_EINVAL, "image %s: digest references are not supported", ref);
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash : ref, ':');
    size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
    const char *t = colon ? colon + 1 : "latest";
    if (n == 0 || n >= nlen || strlen(t) == 0 || strlen(t) >= tlen || strlen(t) > 128)
        return images_fail(st, BERTH_EINVAL, "image %s: bad name or tag length", ref);
    for (size_t i = 0; i < n; i++) {
        char c = ref[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '-' || c == '/' || (c == ':' && 0);
        if (!ok || (c == '.' && (i == 0 || ref[i - 1] == '/')) ||
            (c == '/' && (i == 0 || i == n - 1 || ref[i - 1] == '/')))
            return images_fail(st, BERTH_EINVAL,
                        "image %s: invalid character '%c' at offset %zu of the name", ref, c, i);
        name[i] = c == '/' ? '+' : c;
    }
    name[n] = 0;
    for (size_t i = 0; t[i]; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (c == '.' && i > 0) || (c == '-' && i > 0)))
            return images_fail(st, BERTH_EINVAL, "image %s: invalid character '%c' in the tag", ref, c);
        tag[i] = c;
    }
    tag[strlen(t)] = 0;
    return 0;
}

/* ---- Running tar ------------------------------------------------------ */


/* Runs tar with args; when in_path is set its bytes go to tar's stdin
 * (counted into f); when out is set tar's stdout is collected into it (a
 * malloc'd string the caller frees). tar's first stderr line ends up in
 * msg. */
int images_run_tar(const char *const *args, const char *in_path, feed *f, char **out,
                   char *msg, size_t msglen)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    int src = -1, err = 0;
    if (in_path && (src = open(in_path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(msg, msglen, "%s: %s", in_path, strerror(errno));
        return BERTH_ENOTFOUND;
    }
    if ((in_path && pipe2(in, O_CLOEXEC) < 0) || (out && pipe2(outp, O_CLOEXEC) < 0) ||
        pipe2(errp, O_CLOEXEC) < 0) {
        err = BERTH_EIO;
        goto out_close;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_path)
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out)
        posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    pid_t pid;
    extern char **environ;
    int rc = posix_spawnp(&pid, "tar", &fa, NULL, (char *const *)args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot run tar: %s", strerror(rc));
        err = BERTH_EIO;
        goto out_close;
    }
    close(errp[1]);
    errp[1] = -1;
    if (in_path) {
        close(in[0]);
        in[0] = -1;
        char buf[65536];
        ssize_t n;
        while ((n = read(src, buf, sizeof buf)) > 0) {
            if (write(in[1], buf, (size_t)n) != n)
                break; /* tar stopped reading: its status tells why */
            f->done += (uint64_t)n;
            if (f->fn)
                f->fn(f->arg, f->done, f->total, f->what);
        }
        close(in[1]);
        in[1] = -1;
    }
    if (out) {
        close(outp[1]);
        outp[1] = -1;
        size_t len = 0, cap = 4096;
        char *s = malloc(cap);
        ssize_t n;
        while (s && (n = read(outp[0], s + len, cap - len - 1)) > 0) {
            len += (size_t)n;
            if (cap - len < 2) {
                char *t = realloc(s, cap *= 2);
                if (!t) {
                    free(s);
                    s = NULL;
                }
                s = t;
            }
        }
        if (s)
            s[len] = 0;
        *out = s;
    }
    char ebuf[512];
    ssize_t en = read(errp[0], ebuf, sizeof ebuf - 1);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ebuf[en > 0 ? en : 0] = 0;
        char *nl = strchr(ebuf, '\n');
        if (nl)
            *nl = 0;
        snprintf(msg, msglen, "%s", ebuf[0] ? ebuf : "tar failed");
        err = BERTH_EIO;
        if (out) {
            free(*out);
            *out = NULL;
        }
    }
out_close:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    if (src >= 0)
        close(src);
    return err;
}

/* tar's decompression flag for an archive, from its first bytes. */
const char *images_compression(const char *path)
{
    unsigned char m[6] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, m, sizeof m) : -1;
    if (fd >= 0)
        close(fd);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return "-z";
    if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
        return "-j";
    if (n >= 6 && m[0] == 0xfd && memcmp(m + 1, "7zXZ", 4) == 0)
        return "-J";
    if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return "--zstd";
    return NULL;
}

int images_extract(berth_images *st, const char *archive, const char *root, feed *f)
{
    const char *z = images_compression(archive);
    const char *args[12];
    int a = 0;
    args[a++] = "tar";
    args[a++] = "-x";
    if (z)
        args[a++] = z;
    args[a++] = "--numeric-owner";
    args[a++] = "--exclude=.wh.*"; /* whiteouts were applied before */
    args[a++] = "-f";
    args[a++] = "-";
    args[a++] = "-C";
    args[a++] = root;
    args[a] = NULL;
    char msg[512];
    int err = images_run_tar(args, archive, f, NULL, msg, sizeof msg);
    return err < 0 ? images_fail(st, err, "%s: %s", archive, msg) : 0;
}

/* ---- busybox ------------------------------------------------------------ */

static int write_file(const char *root, const char *name, const char *text)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root, name) >= (int)sizeof path)
        return BERTH_ETOOLARGE;
    FILE *fp = fopen(path, "we");
    if (!fp)
        return BERTH_EIO;
    fputs(text, fp);
    return fclose(fp) == 0 ? 0 : BERTH_EIO;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int err = in < 0 || out < 0 ? BERTH_EIO : 0;
    char buf[65536];
    ssize_t n;
    while (!err && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            err = BERTH_EIO;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0)
        err = BERTH_EIO;
    return err;
}

/* The stock busybox image: the host's static busybox, a link for each of
 * its applets, and the few files programs expect. */
static int build_busybox(berth_images *st, const char *root, feed *f)
{
    static const char *const dirs[] = {"bin", "etc", "tmp", "root", "proc", "dev", "sys",
                                       "usr", "usr/bin", "var", "home"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return images_fail(st, BERTH_EIO, "busybox image: %s: %s", p, strerror(errno));
    }
    snprintf(p, sizeof p, "%s/tmp", root);
    chmod(p, 01777);
    snprintf(p, sizeof p, "%s/bin/busybox", root);
    if (copy_file(BUSYBOX_BIN, p, 0755) < 0)
        return images_fail(st, BERTH_ENOTFOUND,
                    "busybox image: cannot copy " BUSYBOX_BIN " (install busybox-static: "
                    "scripts/install-deps.sh)");
    /* Ask the copy for its applet list. */
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return BERTH_EIO;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
    pid_t pid;
    char *const args[] = {"busybox", "--list", NULL};
    extern char **environ;
    int rc = posix_spawn(&pid, p, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pp[1]);
    if (rc != 0) {
        close(pp[0]);
        return images_fail(st, BERTH_EIO, "busybox image: cannot run %s: %s", p, strerror(rc));
    }
    FILE *fp = fdopen(pp[0], "r");
    char applet[128];
    int n = 0;
    while (fp && fgets(applet, sizeof applet, fp)) {
        applet[strcspn(applet, "\n")] = 0;
        if (!applet[0] || strchr(applet, '/') || !strcmp(applet, "busybox"))
            continue;
        snprintf(p, sizeof p, "%s/bin/%s", root, applet);
        if (symlink("busybox", p) == 0)
            n++;
    }
    if (fp)
        fclose(fp);
    else
        close(pp[0]);
    int status;
    waitpid(pid, &status, 0);
    if (n == 0)
        return images_fail(st, BERTH_EIO, "busybox image: %s --list gave no applets", BUSYBOX_BIN);
    snprintf(p, sizeof p, "%s/usr/bin/env", root);
    (void)!symlink("/bin/busybox", p);
    if (write_file(root, "etc/passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/home:/bin/false\n") < 0 ||
        write_file(root, "etc/group", "root:x:0:\nnobody:x:65534:\n") < 0 ||
        write_file(root, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n") < 0)
        return images_fail(st, BERTH_EIO, "busybox image: cannot write /etc files under %s", root);
    struct stat sb;
    f->total = stat(BUSYBOX_BIN, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    f->done = f->total;
    if (f->fn)
        f->fn(f->arg, f->done, f->total, "busybox");
    return 0;
}

/* ---- The store ---------------------------------------------------------- */

static int image_dir(berth_images *st, const char *ref, char *out, size_t len, char *canon,
                     size_t clen)
{
    char name[256], tag[129];
    int err = parse_ref(st, ref, name, sizeof name, tag, sizeof tag);
    if (err < 0)
        return err;
    if (snprintf(out, len, "%s/%s/%s", st->dir, name, tag) >= (int)len)
        return images_fail(st, BERTH_ETOOLARGE, "image %s: name too long", ref);
    if (canon) {
        for (char *c = name; *c; c++)
            if (*c == '+')
                *c = '/';
        snprintf(canon, clen, "%s:%s", name, tag);
    }
    return 0;
}

/* Unpacks with fill() into a fresh directory, then moves it into place. */
static int install(berth_images *st, const char *ref,
                   int (*fill)(berth_images *, const char *src, const char *root, feed *),
                   const char *src, feed *f)
{
    char final[PATH_MAX], canon[400], tmp[PATH_MAX], root[PATH_MAX + 8], old[PATH_MAX + 8];
    int err = image_dir(st, ref, final, sizeof final, canon, sizeof canon);
    if (err < 0)
        return err;
    snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", st->dir);
    if (!mkdtemp(tmp))
        return images_fail(st, BERTH_EIO, "image %s: cannot create %s: %s", ref, tmp, strerror(errno));
    chmod(tmp, 0755);
    snprintf(root, sizeof root, "%s/rootfs", tmp);
    if (mkdir(root, 0755) < 0) {
        err = images_fail(st, BERTH_EIO, "image %s: %s: %s", ref, root, strerror(errno));
        goto out;
    }
    if ((err = fill(st, src, root, f)) < 0)
        goto out;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char info[512];
    snprintf(info, sizeof info, "%s\n%llu\n%lld\n", canon, (unsigned long long)f->done,
             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write_file(tmp, "info", info) < 0) {
        err = images_fail(st, BERTH_EIO, "image %s: cannot write %s/info", ref, tmp);
        goto out;
    }
    /* NAME/ may not exist yet; an image already there is replaced. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", final);
    *strrchr(parent, '/') = 0;
    mkdir(parent, 0755);
    snprintf(old, sizeof old, "%s.old", tmp);
    if (rename(final, old) < 0 && errno != ENOENT) {
        err = images_fail(st, BERTH_EIO, "image %s: cannot replace %s: %s", ref, final, strerror(errno));
        goto out;
    }
    if (rename(tmp, final) < 0) {
        err = images_fail(st, BERTH_EIO, "image %s: cannot move into %s: %s", ref, final,
                   strerror(errno));
        rename(old, final);
        goto out;
    }
    berth_remove_tree(old);
    BERTH_INFO(AREA, "imported %s", canon);
    return 0;
out:
    berth_remove_tree(tmp);
    return err;
}

static int fill_archive(berth_images *st, const char *src, const char *root, feed *f)
{
    return images_extract(st, src, root, f);
}

int berth_image_import(berth_images *st, const char *ref, const char *path,
                       berth_image_progress_fn progress, void *arg)
{
    struct stat sb;
    if (!path || stat(path, &sb) < 0)
        return images_fail(st, BERTH_ENOTFOUND, "image %s: %s: %s", ref ? ref : "",
                    path ? path : "(null)", strerror(errno));
    feed f = {.fn = progress, .arg = arg};
    if (S_ISDIR(sb.st_mode)) {
        char marker[PATH_MAX];
        snprintf(marker, sizeof marker, "%s/oci-layout", path);
        if (access(marker, F_OK) < 0)
            return images_fail(st, BERTH_EINVAL,
                        "image %s: %s is a directory without an oci-layout file", ref, path);
        return install(st, ref, images_import_oci, path, &f);
    }
    f.total = (uint64_t)sb.st_size;
    f.what = "rootfs";
    return install(st, ref, fill_archive, path, &f);
}

static int fill_busybox(berth_images *st, const char *src, const char *root, feed *f)
{
    return build_busybox(st, root, f);
}

int berth_image_resolve(berth_images *st, const char *ref, char *rootfs, size_t len)
{
    char dir[PATH_MAX], canon[400];
    int err = image_dir(st, ref, dir, sizeof dir, canon, sizeof canon);
    if (err < 0)
        return err;
    char info[PATH_MAX + 8];
    snprintf(info, sizeof info, "%s/info", dir);
    if (access(info, F_OK) < 0) {
        if (strcmp(canon, "busybox:latest") != 0)
            return images_fail(st, BERTH_ENOTFOUND,
                        "image %s is not present on this node; import it with: "
                        "berthctl image import %s FILE (a rootfs tarball or an OCI layout)",
                        canon, canon);
        feed f = {0};
        if ((err = install(st, canon, fill_busybox, NULL, &f)) < 0)
            return err;
    }
    if (snprintf(rootfs, len, "%s/rootfs", dir) >= (int)len)
        return BERTH_ETOOLARGE;
    return 0;
}

int berth_image_remove(berth_images *st, const char *ref)
{
    char dir[PATH_MAX], canon[400];
    int err = image_dir(st, ref, dir, sizeof dir, canon, sizeof canon);
    if (err < 0)
        return err;
    if (access(dir, F_OK) < 0)
        return images_fail(st, BERTH_ENOTFOUND, "image %s is not present", canon);
    if (berth_remove_tree(dir) < 0)
        return images_fail(st, BERTH_EIO, "image %s: cannot remove %s", canon, dir);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    *strrchr(parent, '/') = 0;
    rmdir(parent); /* only when no other tag is left */
    return 0;
}

int berth_image_list(berth_images *st, berth_image_list_fn fn, void *arg)
{
    DIR *names = opendir(st->dir);
    if (!names)
        return images_fail(st, BERTH_EIO, "%s: %s", st->dir, strerror(errno));
    struct dirent *n, *t;
    int stop = 0;
    while (!stop && (n = readdir(names))) {
        if (n->d_name[0] == '.')
            continue;
        char ndir[PATH_MAX];
        snprintf(ndir, sizeof ndir, "%s/%.255s", st->dir, n->d_name);
        DIR *tags = opendir(ndir);
        while (!stop && tags && (t = readdir(tags))) {
            if (t->d_name[0] == '.')
                continue;
            berth_image_info info;
            memset(&info, 0, sizeof info);
            char buf[600];
            snprintf(buf, sizeof buf, "%.300s/%.255s/info", ndir, t->d_name);
            FILE *fp = fopen(buf, "re");
            if (!fp)
                continue;
            unsigned long long size = 0;
            long long when = 0;
            if (fscanf(fp, "%255s %llu %lld", info.ref, &size, &when) == 3) {
                info.size = size;
                info.imported_ns = when;
                snprintf(info.rootfs, sizeof info.rootfs, "%.300s/%.255s/rootfs", ndir,
                         t->d_name);
                stop = fn(arg, &info) != 0;
            }
            fclose(fp);
        }
        if (tags)
            closedir(tags);
    }
    closedir(names);
    return 0;
}
