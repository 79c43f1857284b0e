/* Name rules in Kubernetes' words (apimachinery's util/validation): DNS-1123
 * labels and subdomains, DNS-1035 labels, qualified names, label values,
 * config keys, port names, environment variable names, percentages. The
 * regexes are matched by hand; every message is a static string. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "validate-int.h"

#define REGEX_ERR(msg, fmt) msg " (regex used for validation is '" fmt "')"
#define MAXLEN(n) "must be no more than " #n " characters"

#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_MSG                                                              \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or " \
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "  \
    "'123-abc', regex used for validation is '" DNS1123_LABEL_FMT "')"
#define DNS1123_SUB_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUB_MSG                                                                  \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "            \
    "'example.com', regex used for validation is '" DNS1123_SUB_FMT "')"
#define DNS1035_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define DNS1035_MSG                                                                     \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start " \
    "with an alphabetic character, and end with an alphanumeric character (e.g. "        \
    "'my-name',  or 'abc-123', regex used for validation is '" DNS1035_FMT "')"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_RULE                                                                   \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "    \
    "regex used for validation is '" QNAME_FMT "')"
#define LABEL_VALUE_MSG                                                                 \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', " \
    "'_' or '.', and must start and end with an alphanumeric character (e.g. "          \
    "'MyValue',  or 'my_value',  or '12345', regex used for validation is '(" QNAME_FMT \
    ")?')"
#define CONFIG_KEY_MSG                                                                    \
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. " \
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "          \
    "'[-._a-zA-Z0-9]+')"

static bool lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool alnum(char ch)
{
    return lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n). */
static bool is_label(const char *s, size_t n)
{
    if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool is_subdomain(const char *s)
{
    if (!*s)
        return false;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!is_label(s, n))
            return false;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static bool is_qname(const char *s, size_t n)
{
    if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

int berth_names_dns1123_label(const char *s, const char **msgs)
{
    int n = 0;
    size_t len = strlen(s);
    if (len > 63)
        msgs[n++] = MAXLEN(63);
    if (!is_label(s, len))
        msgs[n++] = is_subdomain(s) ? "must not contain dots" : DNS1123_LABEL_MSG;
    return n;
}

int berth_names_dns1123_subdomain(const char *s, const char **msgs)
{
    int n = 0;
    if (strlen(s) > 253)
        msgs[n++] = MAXLEN(253);
    if (!is_subdomain(s))
        msgs[n++] = DNS1123_SUB_MSG;
    return n;
}

int berth_names_dns1035_label(const char *s, const char **msgs)
{
    int n = 0;
    size_t len = strlen(s);
    if (len > 63)
        msgs[n++] = MAXLEN(63);
    bool ok = len && s[0] >= 'a' && s[0] <= 'z' && lower_alnum(s[len - 1]);
    for (size_t i = 0; ok && i < len; i++)
        ok = lower_alnum(s[i]) || s[i] == '-';
    if (!ok)
        msgs[n++] = DNS1035_MSG;
    return n;
}

int berth_names_qualified(const char *s, const char **msgs)
{
    int n = 0;
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash && strchr(slash + 1, '/')) {
        msgs[n++] = "a qualified name " QNAME_RULE
                    " with an optional DNS subdomain prefix and '/' (e.g. "
                    "'example.com/MyName')";
        return n;
    }
    if (slash) {
        size_t plen = (size_t)(slash - s);
        char prefix[300];
        if (plen == 0) {
            msgs[n++] = "prefix part must be non-empty";
        } else if (plen >= sizeof prefix) {
            msgs[n++] = "prefix part " MAXLEN(253);
            msgs[n++] = "prefix part " DNS1123_SUB_MSG;
        } else {
            memcpy(prefix, s, plen);
            prefix[plen] = 0;
            if (plen > 253)
                msgs[n++] = "prefix part " MAXLEN(253);
            if (!is_subdomain(prefix))
                msgs[n++] = "prefix part " DNS1123_SUB_MSG;
        }
        name = slash + 1;
    }
    size_t len = strlen(name);
    if (len == 0)
        msgs[n++] = "name part must be non-empty";
    else if (len > 63)
        msgs[n++] = "name part " MAXLEN(63);
    if (!is_qname(name, len))
        msgs[n++] = "name part " QNAME_RULE;
    return n;
}

int berth_names_label_value(const char *s, const char **msgs)
{
    int n = 0;
    size_t len = strlen(s);
    if (len > 63)
        msgs[n++] = MAXLEN(63);
    if (len && !is_qname(s, len))
        msgs[n++] = LABEL_VALUE_MSG;
    return n;
}

int berth_names_config_key(const char *s, const char **msgs)
{
    int n = 0;
    size_t len = strlen(s);
    if (len > 253)
        msgs[n++] = MAXLEN(253);
    bool ok = len > 0;
    for (size_t i = 0; ok && i < len; i++)
        ok = alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_';
    if (!ok)
        msgs[n++] = CONFIG_KEY_MSG;
    if (strcmp(s, ".") == 0)
        msgs[n++] = "must not be '.'";
    else if (strcmp(s, "..") == 0)
        msgs[n++] = "must not be '..'";
    else if (strncmp(s, "..", 2) == 0)
        msgs[n++] = "must not start with '..'";
    return n;
}

int berth_names_port_name(const char *s, const char **msgs)
{
    int n = 0;
    size_t len = strlen(s);
    if (len > 15)
        msgs[n++] = MAXLEN(15);
    bool charset = len > 0, letter = false;
    for (size_t i = 0; i < len; i++) {
        if (!lower_alnum(s[i]) && s[i] != '-')
            charset = false;
        if (s[i] >= 'a' && s[i] <= 'z')
            letter = true;
    }
    if (!charset)
        msgs[n++] = "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
    if (!letter)
        msgs[n++] = "must contain at least one letter (a-z)";
    if (strstr(s, "--"))
        msgs[n++] = "must not contain consecutive hyphens";
    if (len && (s[0] == '-' || s[len - 1] == '-'))
        msgs[n++] = "must not begin or end with a hyphen";
    return n;
}

int berth_names_env_var(const char *s, const char **msgs)
{
    int n = 0;
    if (!*s)
        msgs[n++] = "environment variable name must be non-empty";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '=') {
            msgs[n++] = "a valid environment variable name must consist only of printable "
                        "ASCII characters other than '='";
            break;
        }
    }
    return n;
}

int berth_names_percent(const char *s, const char **msgs)
{
    size_t len = strlen(s);
    bool ok = len >= 2 && s[len - 1] == '%';
    for (size_t i = 0; ok && i + 1 < len; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (ok)
        return 0;
    msgs[0] = "a valid percent string must be a numeric string followed by an ending '%' "
              "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
    return 1;
}

int berth_names_object(char which, const char *s, bool prefix, const char **msgs)
{
    /* A generateName may end in '-': the random suffix follows it. */
    char masked[300];
    size_t len = strlen(s);
    if (prefix && len > 1 && s[len - 1] == '-' && len < sizeof masked) {
        memcpy(masked, s, len);
        masked[len - 1] = 'a';
        masked[len] = 0;
        s = masked;
    }
    switch (which) {
    case 'l': return berth_names_dns1123_label(s, msgs);
    case '5': return berth_names_dns1035_label(s, msgs);
    default: return berth_names_dns1123_subdomain(s, msgs);
    }
}

bool berth_names_is_ip(const char *s)
{
    unsigned char buf[16];
    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

bool berth_names_is_cidr(const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char ip[64];
    if (!slash || (size_t)(slash - s) >= sizeof ip || !slash[1])
        return false;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end || slash[1] < '0' || slash[1] > '9')
        return false;
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip, buf) == 1)
        return bits >= 0 && bits <= 32;
    if (inet_pton(AF_INET6, ip, buf) == 1)
        return bits >= 0 && bits <= 128;
    return false;
}

const char *berth_check_dns1123_subdomain(const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    return berth_names_dns1123_subdomain(s ? s : "", m) ? m[0] : NULL;
}

const char *berth_check_dns1123_label(const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    return berth_names_dns1123_label(s ? s : "", m) ? m[0] : NULL;
}

const char *berth_check_dns1035_label(const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    return berth_names_dns1035_label(s ? s : "", m) ? m[0] : NULL;
}

const char *berth_check_label_key(const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    return berth_names_qualified(s ? s : "", m) ? m[0] : NULL;
}

const char *berth_check_label_value(const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    return berth_names_label_value(s ? s : "", m) ? m[0] : NULL;
}
