/* rtnetlink requests: one message, one acknowledgement. */
#include "common/netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IFLA_BRPORT_MODE
#define IFLA_BRPORT_MODE 4
#endif

/* One request under construction. Big enough for the largest message here
 * (a veth pair with both names); overflowing it is a bug caught as
 * -EMSGSIZE. */
typedef struct req {
    union {
        struct nlmsghdr h;
        char buf[512];
    } u;
    int overflow;
} req;

static void *req_init(req *r, uint16_t type, uint16_t flags, size_t body)
{
    memset(r, 0, sizeof *r);
    r->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
    r->u.h.nlmsg_type = type;
    r->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    return NLMSG_DATA(&r->u.h);
}

static struct rtattr *attr(req *r, uint16_t type, const void *data, size_t len)
{
    size_t at = NLMSG_ALIGN(r->u.h.nlmsg_len);
    if (at + RTA_SPACE(len) > sizeof r->u.buf) {
        r->overflow = 1;
        return NULL;
    }
    struct rtattr *a = (struct rtattr *)(r->u.buf + at);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    r->u.h.nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
    return a;
}

static struct rtattr *nest_begin(req *r, uint16_t type)
{
    return attr(r, type, NULL, 0);
}

static void nest_end(req *r, struct rtattr *nest)
{
    if (nest)
        nest->rta_len = (unsigned short)(r->u.buf + r->u.h.nlmsg_len - (char *)nest);
}

static void attr_str(req *r, uint16_t type, const char *s)
{
    attr(r, type, s, strlen(s) + 1);
}

static void attr_u32(req *r, uint16_t type, uint32_t v)
{
    attr(r, type, &v, sizeof v);
}

/* Sends the request and waits for the kernel's answer to it. */
static int talk(berth_nl *nl, req *r)
{
    if (r->overflow)
        return -EMSGSIZE;
    r->u.h.nlmsg_seq = ++nl->seq;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    while ((n = sendto(nl->fd, r->u.buf, r->u.h.nlmsg_len, 0, (struct sockaddr *)&kernel,
                       sizeof kernel)) < 0 &&
           errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        while ((n = recv(nl->fd, buf, sizeof buf, 0)) < 0 && errno == EINTR)
            ;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        int len = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != nl->seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            const struct nlmsgerr *e = NLMSG_DATA(h);
            return e->error;
        }
    }
}

int berth_nl_open(berth_nl *nl)
{
    nl->seq = 0;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0)
        return -errno;
    /* A kernel that never answers must not hang the host loop. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(nl->fd, (struct sockaddr *)&local, sizeof local) < 0) {
        int err = -errno;
        close(nl->fd);
        nl->fd = -1;
        return err;
    }
    return 0;
}

void berth_nl_close(berth_nl *nl)
{
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
}

static struct ifinfomsg *link_req(req *r, uint16_t type, uint16_t flags, int ifindex)
{
    struct ifinfomsg *ifi = req_init(r, type, flags, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return ifi;
}

int berth_nl_link_add(berth_nl *nl, const char *name, const char *kind)
{
    req r;
    link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
    attr_str(&r, IFLA_IFNAME, name);
    struct rtattr *info = nest_begin(&r, IFLA_LINKINFO);
    attr_str(&r, IFLA_INFO_KIND, kind);
    nest_end(&r, info);
    return talk(nl, &r);
}

int berth_nl_veth_add(berth_nl *nl, const char *name, const char *peer, int peer_netns_fd)
{
    req r;
    link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
    attr_str(&r, IFLA_IFNAME, name);
    struct rtattr *info = nest_begin(&r, IFLA_LINKINFO);
    attr_str(&r, IFLA_INFO_KIND, "veth");
    struct rtattr *data = nest_begin(&r, IFLA_INFO_DATA);
    /* The peer is described by an ifinfomsg followed by its own
     * attributes, all inside VETH_INFO_PEER. */
    struct rtattr *p = nest_begin(&r, VETH_INFO_PEER);
    struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
    size_t at = r.u.h.nlmsg_len;
    if (at + sizeof peer_ifi <= sizeof r.u.buf) {
        memcpy(r.u.buf + at, &peer_ifi, sizeof peer_ifi);
        r.u.h.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(sizeof peer_ifi));
    } else {
        r.overflow = 1;
    }
    attr_str(&r, IFLA_IFNAME, peer);
    if (peer_netns_fd >= 0)
        attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
    nest_end(&r, p);
    nest_end(&r, data);
    nest_end(&r, info);
    return talk(nl, &r);
}

int berth_nl_link_del(berth_nl *nl, int ifindex)
{
    req r;
    link_req(&r, RTM_DELLINK, 0, ifindex);
    return talk(nl, &r);
}

int berth_nl_link_up(berth_nl *nl, int ifindex)
{
    req r;
    struct ifinfomsg *ifi = link_req(&r, RTM_NEWLINK, 0, ifindex);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return talk(nl, &r);
}

int berth_nl_link_set_master(berth_nl *nl, int ifindex, int master)
{
    req r;
    link_req(&r, RTM_NEWLINK, 0, ifindex);
    attr_u32(&r, IFLA_MASTER, (uint32_t)master);
    return talk(nl, &r);
}

int berth_nl_port_hairpin(berth_nl *nl, int ifindex, int on)
{
    req r;
    struct ifinfomsg *ifi = link_req(&r, RTM_SETLINK, 0, ifindex);
    ifi->ifi_family = AF_BRIDGE;
    struct rtattr *proto = nest_begin(&r, IFLA_PROTINFO | NLA_F_NESTED);
    uint8_t mode = on ? 1 : 0;
    attr(&r, IFLA_BRPORT_MODE, &mode, sizeof mode);
    nest_end(&r, proto);
    return talk(nl, &r);
}

static int addr_req(berth_nl *nl, uint16_t type, uint16_t flags, int ifindex,
                    struct in_addr addr, int prefix)
{
    req r;
    struct ifaddrmsg *ifa = req_init(&r, type, flags, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_index = (unsigned)ifindex;
    attr(&r, IFA_LOCAL, &addr, sizeof addr);
    attr(&r, IFA_ADDRESS, &addr, sizeof addr);
    if (type == RTM_NEWADDR && prefix < 31) {
        uint32_t host_bits = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
        struct in_addr brd = {addr.s_addr | htonl(host_bits)};
        attr(&r, IFA_BROADCAST, &brd, sizeof brd);
    }
    return talk(nl, &r);
}

int berth_nl_addr_add(berth_nl *nl, int ifindex, struct in_addr addr, int prefix)
{
    return addr_req(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, addr, prefix);
}

int berth_nl_addr_del(berth_nl *nl, int ifindex, struct in_addr addr, int prefix)
{
    return addr_req(nl, RTM_DELADDR, 0, ifindex, addr, prefix);
}

static int route_req(berth_nl *nl, uint16_t type, uint16_t flags, struct in_addr dst,
                     int prefix, struct in_addr gw, int ifindex)
{
    req r;
    struct rtmsg *rt = req_init(&r, type, flags, sizeof *rt);
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = (unsigned char)prefix;
    rt->rtm_table = RT_TABLE_MAIN;
    if (type == RTM_NEWROUTE) {
        rt->rtm_protocol = RTPROT_STATIC;
        rt->rtm_scope = gw.s_addr ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        rt->rtm_type = RTN_UNICAST;
    } else {
        rt->rtm_scope = RT_SCOPE_NOWHERE;
    }
    if (prefix > 0)
        attr(&r, RTA_DST, &dst, sizeof dst);
    if (gw.s_addr)
        attr(&r, RTA_GATEWAY, &gw, sizeof gw);
    if (ifindex > 0)
        attr_u32(&r, RTA_OIF, (uint32_t)ifindex);
    return talk(nl, &r);
}

int berth_nl_route_replace(berth_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
                           int ifindex)
{
    return route_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, prefix, gw, ifindex);
}

int berth_nl_route_del(berth_nl *nl, struct in_addr dst, int prefix, struct in_addr gw)
{
    return route_req(nl, RTM_DELROUTE, 0, dst, prefix, gw, 0);
}
