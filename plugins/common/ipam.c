/* The pod address allocator: one small file per address in use. */
#include "common/ipam.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/errno.h"

#define TMP_PREFIX ".tmp-"

int berth_cidr_parse(const char *s, struct in_addr *net, int *prefix)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof addr)
        return BERTH_EINVAL;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = 0;
    char *end;
    errno = 0;
    long p = strtol(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end || p < 1 || p > 32 || inet_pton(AF_INET, addr, net) != 1)
        return BERTH_EINVAL;
    uint32_t mask = p == 32 ? 0xffffffffu : ~((1u << (32 - p)) - 1);
    if (ntohl(net->s_addr) & ~mask)
        return BERTH_EINVAL;
    *prefix = (int)p;
    return 0;
}

int berth_ipam_owner_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= 128 || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int berth_ipam_open(berth_ipam *ip, const char *dir)
{
    memset(ip, 0, sizeof *ip);
    if (strlen(dir) >= sizeof ip->dir)
        return BERTH_ETOOLARGE;
    snprintf(ip->dir, sizeof ip->dir, "%s", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return BERTH_EIO;
    DIR *d = opendir(dir);
    if (!d)
        return BERTH_EIO;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return 0;
}

int berth_ipam_set_range(berth_ipam *ip, const char *cidr)
{
    struct in_addr net;
    int prefix;
    if (berth_cidr_parse(cidr, &net, &prefix) < 0 || prefix < 8 || prefix > 30)
        return BERTH_EINVAL;
    if (ntohl(net.s_addr) != ip->net || prefix != ip->prefix)
        ip->next = 0;
    ip->net = ntohl(net.s_addr);
    ip->prefix = prefix;
    return 0;
}

struct in_addr berth_ipam_gateway(const berth_ipam *ip)
{
    return (struct in_addr){htonl(ip->net + 1)};
}

static int in_range(const berth_ipam *ip, uint32_t a)
{
    if (!ip->prefix)
        return 0;
    uint32_t size = 1u << (32 - ip->prefix);
    return a - ip->net >= 2 && a - ip->net < size - 1;
}

/* The owner recorded in one address file, without its newline. */
static int read_owner(int dfd, const char *name, char *buf, size_t len)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

/* Calls fn for every address file owner holds; stops when fn returns
 * non-zero and returns that. */
typedef int (*held_fn)(berth_ipam *ip, int dfd, const char *name, uint32_t addr, void *arg);

static int each_held(berth_ipam *ip, const char *owner, held_fn fn, void *arg)
{
    DIR *d = opendir(ip->dir);
    if (!d)
        return BERTH_EIO;
    struct dirent *e;
    int rc = 0;
    char who[128];
    struct in_addr a;
    while (!rc && (e = readdir(d)))
        if (inet_pton(AF_INET, e->d_name, &a) == 1 &&
            read_owner(dirfd(d), e->d_name, who, sizeof who) == 0 && strcmp(who, owner) == 0)
            rc = fn(ip, dirfd(d), e->d_name, ntohl(a.s_addr), arg);
    closedir(d);
    return rc;
}

static int found_in_range(berth_ipam *ip, int dfd, const char *name, uint32_t addr, void *arg)
{
    if (!in_range(ip, addr))
        return 0;
    ((struct in_addr *)arg)->s_addr = htonl(addr);
    return 1;
}

int berth_ipam_lookup(const berth_ipam *ip, const char *owner, struct in_addr *out)
{
    if (!berth_ipam_owner_valid(owner))
        return BERTH_EINVAL;
    int rc = each_held((berth_ipam *)ip, owner, found_in_range, out);
    return rc < 0 ? rc : rc ? 0 : BERTH_ENOTFOUND;
}

static int unlink_held(berth_ipam *ip, int dfd, const char *name, uint32_t addr, void *arg)
{
    return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? BERTH_EIO : 0;
}

int berth_ipam_release(berth_ipam *ip, const char *owner)
{
    if (!berth_ipam_owner_valid(owner))
        return BERTH_EINVAL;
    return each_held(ip, owner, unlink_held, NULL);
}

/* Writes owner to a temporary file, synced, ready to be linked into place. */
static int write_tmp(int dfd, const char *tmp, const char *owner)
{
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return BERTH_EIO;
    size_t n = strlen(owner);
    int ok = write(fd, owner, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlinkat(dfd, tmp, 0);
        return BERTH_EIO;
    }
    return 0;
}

int berth_ipam_alloc(berth_ipam *ip, const char *owner, struct in_addr *out)
{
    if (!berth_ipam_owner_valid(owner))
        return BERTH_EINVAL;
    if (!ip->prefix)
        return BERTH_EUNAVAILABLE;
    int rc = berth_ipam_lookup(ip, owner, out);
    if (rc != BERTH_ENOTFOUND)
        return rc;
    int dfd = open(ip->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return BERTH_EIO;
    char tmp[160], name[INET_ADDRSTRLEN];
    snprintf(tmp, sizeof tmp, TMP_PREFIX "%s", owner);
    rc = write_tmp(dfd, tmp, owner);
    uint32_t usable = (1u << (32 - ip->prefix)) - 3; /* all but network, gateway, broadcast */
    int found = 0;
    for (uint32_t i = 0; rc == 0 && !found && i < usable; i++) {
        uint32_t off = (ip->next + i) % usable;
        struct in_addr a = {htonl(ip->net + 2 + off)};
        inet_ntop(AF_INET, &a, name, sizeof name);
        if (linkat(dfd, tmp, dfd, name, 0) == 0) {
            ip->next = (off + 1) % usable;
            *out = a;
            found = 1;
        } else if (errno != EEXIST) {
            rc = BERTH_EIO;
        }
    }
    unlinkat(dfd, tmp, 0);
    close(dfd);
    return rc < 0 ? rc : found ? 0 : BERTH_ERANGE;
}
