/* The admin credentials: a bearer token kept in the data directory and a
 * standard kubeconfig that kubectl and berthctl both read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-int.h"
#include "util/base64.h"
#include "berth/log.h"

/* Writes data to path atomically (temp file, fsync, rename), mode 0600. */
static int write_secret(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return BERTH_ETOOLARGE;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        BERTH_ERROR("api", "cannot create %s: %s", tmp, strerror(errno));
        return BERTH_EIO;
    }
    fchmod(fd, 0600);
    bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        BERTH_ERROR("api", "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return BERTH_EIO;
    }
    return 0;
}

int berth_api_admin_token(const char *dir, char *tok, size_t size)
{
    char path[4096];
    if (size < 65 || snprintf(path, sizeof path, "%s/admin.token", dir) >= (int)sizeof path)
        return BERTH_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, tok, size - 1);
        close(fd);
        while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == ' '))
            n--;
        if (n >= 16) {
            tok[n] = 0;
            return 0;
        }
        BERTH_ERROR("api", "%s is too short to be a token; remove it to make a new one",
                    path);
        return BERTH_ECORRUPT;
    }
    if (errno != ENOENT) {
        BERTH_ERROR("api", "cannot read %s: %s", path, strerror(errno));
        return BERTH_EIO;
    }
    unsigned char raw[32];
    api_random(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(tok + 2 * i, 3, "%02x", raw[i]);
    explicit_bzero(raw, sizeof raw);
    int rc = write_secret(path, tok, 64);
    return rc;
}

int berth_api_write_kubeconfig(const char *dir, const char *server, const char *ca_pem,
                               const char *token)
{
    char path[4096], text[16384], ca[12000] = "";
    if (ca_pem) {
        size_t n = strlen(ca_pem);
        if ((n + 2) / 3 * 4 + 1 > sizeof ca)
            return BERTH_ETOOLARGE;
        berth_base64_encode(ca_pem, n, ca, false);
    }
    if (snprintf(path, sizeof path, "%s/admin.kubeconfig", dir) >= (int)sizeof path)
        return BERTH_EINVAL;
    int n = snprintf(text, sizeof text,
                     "apiVersion: v1\n"
                     "kind: Config\n"
                     "clusters:\n"
                     "- name: berth\n"
                     "  cluster:\n"
                     "    server: %s\n"
                     "%s%s%s"
                     "users:\n"
                     "- name: admin\n"
                     "  user:\n"
                     "    token: \"%s\"\n"
                     "contexts:\n"
                     "- name: berth\n"
                     "  context:\n"
                     "    cluster: berth\n"
                     "    user: admin\n"
                     "    namespace: default\n"
                     "current-context: berth\n"
                     "preferences: {}\n",
                     server, ca[0] ? "    certificate-authority-data: " : "", ca,
                     ca[0] ? "\n" : "", token);
    if (n < 0 || n >= (int)sizeof text)
        return BERTH_ETOOLARGE;
    int rc = write_secret(path, text, (size_t)n);
    explicit_bzero(text, sizeof text);
    return rc;
}
