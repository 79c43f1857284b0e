#include <stdio.h>
#include <string.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "test.h"

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", berth_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

BERTH_TEST(kubeconfig_reads_the_current_context)
{
    const char *path = write_file("config",
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n"
        "- name: other\n  cluster: {server: https://10.9.9.9:1}\n"
        "- name: berth\n  cluster:\n    server: https://127.0.0.1:6443/\n"
        "    certificate-authority-data: LS0tLS1CRUdJTg==\n"
        "users:\n- name: admin\n  user: {token: abc123}\n"
        "contexts:\n- name: berth\n  context: {cluster: berth, user: admin, namespace: prod}\n"
        "- name: bare\n  context: {cluster: other, user: nobody}\n"
        "current-context: berth\n");
    berth_kubeconfig kc;
    char err[256];
    CHECK_INT(berth_kubeconfig_load(path, NULL, &kc, err, sizeof err), 0);
    CHECK_STR(kc.server, "https://127.0.0.1:6443");
    CHECK_STR(kc.token, "abc123");
    CHECK_STR(kc.ns, "prod");
    CHECK(kc.ca_pem && kc.ca_pem_len == 10 && memcmp(kc.ca_pem, "-----BEGIN", 10) == 0);
    berth_kubeconfig_free(&kc);

    CHECK_INT(berth_kubeconfig_load(path, "bare", &kc, err, sizeof err), 0);
    CHECK_STR(kc.server, "https://10.9.9.9:1");
    CHECK(kc.token == NULL);
    CHECK_STR(kc.ns, "default");
    berth_kubeconfig_free(&kc);

    CHECK_INT(berth_kubeconfig_load(path, "nope", &kc, err, sizeof err), BERTH_EINVAL);
    CHECK(strstr(err, "nope") != NULL);
    CHECK_INT(berth_kubeconfig_load("/nonexistent/kc", NULL, &kc, err, sizeof err), BERTH_EIO);
    CHECK(strstr(err, "/nonexistent/kc") != NULL);
    const char *bad = write_file("bad", "clusters: [\n");
    CHECK_INT(berth_kubeconfig_load(bad, NULL, &kc, err, sizeof err), BERTH_EPARSE);
}
