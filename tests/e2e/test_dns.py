"""End-to-end tests of the cluster DNS server in berthd: Services,
Endpoints and Pods created through the API, queried over UDP and TCP with
a small resolver written here, and forwarding to a fake upstream on
loopback."""
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from berth_e2e import Server, free_port  # noqa: E402

A, CNAME, SOA, SRV, AAAA = 1, 5, 6, 33, 28
NS = "/api/v1/namespaces/default"


def encode_query(name, qtype, qid=0x1234):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def read_name(msg, off):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            jumped = True
            off = (n & 0x3F) << 8 | msg[off + 1]
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n
    raise ValueError("name loops")


def decode(msg):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    sections = []
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            name, off = read_name(msg, off)
            rtype, _, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rd = msg[off:off + rdlen]
            if rtype == A:
                data = socket.inet_ntoa(rd)
            elif rtype == SRV:
                prio, weight, port = struct.unpack("!HHH", rd[:6])
                data = (prio, weight, port, read_name(msg, off + 6)[0])
            elif rtype == CNAME:
                data = read_name(msg, off)[0]
            else:
                data = rd
            rrs.append((name, rtype, ttl, data))
            off += rdlen
        sections.append(rrs)
    return {"id": qid, "rcode": flags & 0xF, "aa": bool(flags & 0x400),
            "tc": bool(flags & 0x200), "an": sections[0], "ns": sections[1],
            "ar": sections[2]}


class DnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A fake upstream: answers every A query with 192.0.2.7.
        cls.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.up.bind(("127.0.0.1", 0))
        cls.up_stop = False
        cls.up_thread = threading.Thread(target=cls.upstream, daemon=True)
        cls.up_thread.start()
        cls.dns_port = free_port()
        cls.server = Server(extra_args=[
            "--no-controllers", "--no-scheduler", "--service-cidr", "10.100.0.0/24",
            "--dns-listen", "127.0.0.1:%d" % cls.dns_port,
            "--dns-upstream", "127.0.0.1:%d" % cls.up.getsockname()[1]])
        try:
            cls.server.start()
            cls.populate()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def upstream(cls):
        cls.up.settimeout(0.2)
        while not cls.up_stop:
            try:
                msg, addr = cls.up.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if b"\x04slow" in msg:
                continue  # never answers: the server must time out
            qid = msg[:2]
            q = msg[12:]
            resp = qid + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + q
            resp += b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 4) + socket.inet_aton("192.0.2.7")
            cls.up.sendto(resp, addr)

    @classmethod
    def tearDownClass(cls):
        cls.up_stop = True
        cls.up_thread.join()
        cls.up.close()
        log = cls.server.read_log()
        rc = cls.server.cleanup()
        if rc != 0:
            raise AssertionError("berthd exited with %s:\n%s" % (rc, log))

    @classmethod
    def post(cls, path, obj):
        code, _, body = cls.server.request("POST", path, obj)
        assert code == 201, body
        return body

    @classmethod
    def populate(cls):
        web = cls.post(NS + "/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        cls.web_ip = web["spec"]["clusterIP"]
        cls.post(NS + "/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"},
                     "ports": [{"name": "pg", "port": 5432}]}})
        cls.post(NS + "/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db"},
            "subsets": [{"addresses": [{"ip": "10.244.0.5", "hostname": "db-0"},
                                       {"ip": "10.244.0.6"}],
                         "notReadyAddresses": [{"ip": "10.244.0.9"}],
                         "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}]})
        cls.post(NS + "/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "example.org"}})
        cls.post(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        code, _, body = cls.server.request(
            "PATCH", NS + "/pods/p/status", {"status": {"podIP": "10.244.0.7"}},
            ctype="application/merge-patch+json")
        assert code == 200, body
        # Wait for the informers to see everything.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                r = cls.query_udp("10-244-0-7.default.pod.cluster.local", A)
                d = cls.query_udp("db.default.svc.cluster.local", A)
                if r["rcode"] == 0 and r["an"] and d["an"]:
                    return
            except socket.timeout:
                pass
            time.sleep(0.05)
        raise AssertionError("the DNS server never saw the objects:\n" + cls.server.read_log())

    @classmethod
    def query_udp(cls, name, qtype, qid=0x1234):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        try:
            s.sendto(encode_query(name, qtype, qid), ("127.0.0.1", cls.dns_port))
            msg, _ = s.recvfrom(65535)
        finally:
            s.close()
        r = decode(msg)
        assert r["id"] == qid
        return r

    @classmethod
    def query_tcp(cls, name, qtype):
        s = socket.create_connection(("127.0.0.1", cls.dns_port), timeout=5)
        try:
            q = encode_query(name, qtype)
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    raise AssertionError("the DNS server closed the connection")
                buf += chunk
        finally:
            s.close()
        return decode(buf[2:])

    def test_service_a_udp_and_tcp(self):
        for query in (self.query_udp, self.query_tcp):
            r = query("web.default.svc.cluster.local", A)
            self.assertEqual(r["rcode"], 0)
            self.assertTrue(r["aa"])
            self.assertEqual([x[3] for x in r["an"]], [self.web_ip])
        r = self.query_udp("WEB.Default.SVC.cluster.local.", A)
        self.assertEqual([x[3] for x in r["an"]], [self.web_ip])

    def test_srv_named_port(self):
        r = self.query_udp("_http._tcp.web.default.svc.cluster.local", SRV)
        self.assertEqual(r["rcode"], 0)
        self.assertEqual(r["an"][0][3], (0, 100, 80, "web.default.svc.cluster.local"))
        self.assertEqual(r["ar"][0][3], self.web_ip)
        r = self.query_udp("_nope._tcp.web.default.svc.cluster.local", SRV)
        self.assertEqual(r["rcode"], 3)

    def test_headless(self):
        r = self.query_tcp("db.default.svc.cluster.local", A)
        self.assertEqual(sorted(x[3] for x in r["an"]), ["10.244.0.5", "10.244.0.6"])
        r = self.query_udp("db-0.db.default.svc.cluster.local", A)
        self.assertEqual([x[3] for x in r["an"]], ["10.244.0.5"])
        r = self.query_udp("_pg._tcp.db.default.svc.cluster.local", SRV)
        self.assertEqual(sorted(x[3][3] for x in r["an"]),
                         ["10-244-0-6.db.default.svc.cluster.local",
                          "db-0.db.default.svc.cluster.local"])
        self.assertEqual(sorted(x[3] for x in r["ar"]), ["10.244.0.5", "10.244.0.6"])

    def test_external_name(self):
        r = self.query_udp("ext.default.svc.cluster.local", A)
        self.assertEqual(r["an"][0][1], CNAME)
        self.assertEqual(r["an"][0][3], "example.org")

    def test_pods(self):
        r = self.query_udp("10-244-0-7.default.pod.cluster.local", A)
        self.assertEqual([x[3] for x in r["an"]], ["10.244.0.7"])
        r = self.query_udp("10-244-0-8.default.pod.cluster.local", A)
        self.assertEqual(r["rcode"], 3)

    def test_nxdomain_and_nodata(self):
        for name in ("nope.default.svc.cluster.local", "web.other.svc.cluster.local",
                     "a.b.c.d.e.f.cluster.local"):
            r = self.query_udp(name, A)
            self.assertEqual(r["rcode"], 3, name)
            self.assertEqual(r["ns"][0][1], SOA)
        r = self.query_udp("web.default.svc.cluster.local", AAAA)
        self.assertEqual(r["rcode"], 0)
        self.assertEqual(r["an"], [])

    def test_forwarding(self):
        for query in (self.query_udp, self.query_tcp):
            r = query("example.com", A)
            self.assertEqual(r["rcode"], 0)
            self.assertEqual([x[3] for x in r["an"]], ["192.0.2.7"])
        r = self.query_udp("example.com", A, qid=0x4242)
        self.assertEqual(r["id"], 0x4242)
        t0 = time.time()
        r = self.query_udp("slow.example.com", A)
        self.assertEqual(r["rcode"], 2)  # SERVFAIL after the timeout
        self.assertLess(time.time() - t0, 4)

    def test_garbage_is_survived(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        for junk in (b"", b"\x00", b"\x12\x34\x01\x00\x00\x01" + b"\xff" * 30,
                     encode_query("web.default.svc.cluster.local", A)[:20]):
            s.sendto(junk, ("127.0.0.1", self.dns_port))
        s.close()
        r = self.query_udp("web.default.svc.cluster.local", A)
        self.assertEqual([x[3] for x in r["an"]], [self.web_ip])


if __name__ == "__main__":
    unittest.main()
