/* TLS for the API server. kubectl sends bearer tokens only over https, so
 * berthd serves TLS from its first start: a private CA and a server
 * certificate for the listen address, loopback and localhost, made once and
 * kept in DIR/pki (keys 0600). The kubeconfig carries the CA. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/api-int.h"
#include "berth/log.h"

static void ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    BERTH_ERROR("api", "%s: %s", what, e ? buf : "unknown TLS error");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* A certificate for key, signed by ca_key (self-signed when ca is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key,
                       const char *san)
{
    X509 *c = X509_new();
    if (!c)
        return NULL;
    unsigned char serial[16];
    api_random(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    ok = ok && X509_set_version(c, 2);
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    ok = ok && X509_gmtime_adj(X509_getm_notAfter(c), 10L * 365 * 86400);
    ok = ok && X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                          (const unsigned char *)"berth", -1, -1, 0);
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                          (const unsigned char *)cn, -1, -1, 0);
    ok = ok && X509_set_issuer_name(c, ca ? X509_get_subject_name(ca) : name);
    X509 *issuer = ca ? ca : c;
    if (ok && !ca) {
        ok = !add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             !add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             !add_ext(c, issuer, NID_subject_key_identifier, "hash");
    } else if (ok) {
        ok = !add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             !add_ext(c, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
             !add_ext(c, issuer, NID_ext_key_usage, "serverAuth") &&
             !add_ext(c, issuer, NID_subject_alt_name, san) &&
             !add_ext(c, issuer, NID_authority_key_identifier, "keyid:always");
    }
    ok = ok && X509_sign(c, ca ? ca_key : key, EVP_sha256());
    if (!ok) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
    FILE *f = fopen(path, "wx");
    if (!f) {
        BERTH_ERROR("api", "cannot create %s: %s", path, strerror(errno));
        return BERTH_EIO;
    }
    fchmod(fileno(f), key ? 0600 : 0644);
    bool ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_X509(f, cert);
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : BERTH_EIO;
}

/* Makes DIR/pki with ca.crt, ca.key, server.crt and server.key. */
static int make_pki(const char *pki, const char *addr)
{
    char path[4200], san[512];
    if (mkdir(pki, 0700) != 0 && errno != EEXIST) {
        BERTH_ERROR("api", "cannot create %s: %s", pki, strerror(errno));
        return BERTH_EIO;
    }
    unsigned char ipbuf[16];
    bool is_ip = addr && (inet_pton(AF_INET, addr, ipbuf) == 1 ||
                          inet_pton(AF_INET6, addr, ipbuf) == 1);
    bool extra = is_ip && strcmp(addr, "127.0.0.1") && strcmp(addr, "0.0.0.0") &&
                 strcmp(addr, "::");
    snprintf(san, sizeof san, "IP:127.0.0.1,IP:::1,DNS:localhost%s%s%s%s",
             extra ? ",IP:" : "", extra ? addr : "", !is_ip && addr ? ",DNS:" : "",
             !is_ip && addr ? addr : "");
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, "berth-ca", NULL, NULL, NULL) : NULL;
    X509 *cert = ca && key ? make_cert(key, "berth-apiserver", ca, ca_key, san) : NULL;
    int rc = BERTH_EIO;
    if (!cert) {
        ssl_error("cannot make the API server's certificates");
        goto out;
    }
    static const char *const names[] = {"ca.key", "ca.crt", "server.key", "server.crt"};
    EVP_PKEY *keys[] = {ca_key, NULL, key, NULL};
    X509 *certs[] = {NULL, ca, NULL, cert};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", pki, names[i]);
        unlink(path);
        if ((rc = write_pem(path, keys[i], certs[i])) != 0)
            goto out;
    }
    rc = 0;
out:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

int berth_api_tls_setup(const char *dir, const char *addr, struct ssl_ctx_st **out,
                  char **ca_pem)
{
    char pki[4096], crt[4200], key[4200], ca[4200];
    snprintf(pki, sizeof pki, "%s/pki", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", pki);
    snprintf(key, sizeof key, "%s/server.key", pki);
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    struct stat st;
    if (stat(crt, &st) != 0 || stat(key, &st) != 0 || stat(ca, &st) != 0) {
        int rc = make_pki(pki, addr);
        if (rc)
            return rc;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_error("SSL_CTX_new");
        return BERTH_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_alpn_select_cb(ctx, NULL, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error(crt);
        SSL_CTX_free(ctx);
        return BERTH_ECORRUPT;
    }
    FILE *f = fopen(ca, "r");
    char *pem = NULL;
    if (f) {
        pem = calloc(1, 16384);
        size_t n = pem ? fread(pem, 1, 16383, f) : 0;
        if (pem && n == 0) {
            free(pem);
            pem = NULL;
        }
        fclose(f);
    }
    if (!pem) {
        BERTH_ERROR("api", "cannot read %s", ca);
        SSL_CTX_free(ctx);
        return BERTH_EIO;
    }
    *out = ctx;
    *ca_pem = pem;
    return 0;
}
