"""End to end: pod networking, Services and DNS with the bridge network
plugin, the nftables service proxy and the process runtime (needs root).

Everything runs inside the network namespace the fixture gives this test
process (berth_e2e._private_network): the bridge, the pods' namespaces, the
routes and the nftables tables live there, and the traffic goes between
those addresses and loopback only. One server runs a Deployment of three
busybox httpd pods behind a NodePort Service and a client pod; the tests
then look at it from the node and from the client, and the last one deletes
everything and checks nothing is left behind."""
import glob
import http.client
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import berth_e2e
from berth_e2e import wait_for

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
NODE = "berth-net-node"

# Readiness is httpd serving /ready: a pod is only an endpoint once it
# answers, and removing the file turns it not-ready.
HTTPD = ("mkdir -p /www && hostname > /www/index.html && touch /www/ready && "
         "exec httpd -f -p 8080 -h /www")


def deployment(replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{
                             "name": "httpd", "image": "busybox",
                             "command": ["sh", "-c", HTTPD],
                             "ports": [{"name": "http", "containerPort": 8080}],
                             "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                                "periodSeconds": 1, "failureThreshold": 1}}]}}}}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}

CLIENT = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
          "spec": {"terminationGracePeriodSeconds": 1,
                   "containers": [{"name": "sh", "image": "busybox",
                                   "command": ["sh", "-c", "exec sleep 3600"]}]}}


def http_get(host, port, path="/", timeout=5):
    # httpd closes first, so each backend keeps its side of a connection in
    # TIME_WAIT; hundreds of quick connections from one address soon reuse
    # a source port, and a SYN the backend's TIME_WAIT refuses is reset. A
    # real client retries; so does this one, twice.
    for attempt in range(3):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path)
            return conn.getresponse().read().decode().strip()
        except (ConnectionRefusedError, ConnectionResetError):
            if attempt == 2:
                raise
        finally:
            conn.close()


def health_check(host, port):
    """A health check node port's (status, body), or None while closed."""
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    except OSError:
        return None
    finally:
        conn.close()


def answers(host, port):
    try:
        return http_get(host, port, timeout=2)
    except OSError:
        return None


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)


@unittest.skipUnless(os.geteuid() == 0, "pod networking needs root")
class NetworkTest(berth_e2e.ServerTestCase):
    server_args = ("--node-name", NODE, "--node-ip", berth_e2e.NODE_IP)
    agent = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        try:
            for path, obj in ((APPS + "/deployments", deployment(3)),
                              (NS + "/services", SERVICE), (NS + "/pods", CLIENT)):
                code, _, body = s.request("POST", path, obj)
                if code != 201:
                    raise AssertionError(body)
            wait_for(lambda: len(cls.running_web()) == 3 and cls.phase("client") == "Running",
                     timeout=60, what="3 web pods and the client Running")
            wait_for(lambda: len(cls.ready_endpoints()) == 3, what="3 ready endpoints")
            # The proxy follows the Endpoints within tens of milliseconds;
            # until then the Service (created without backends) refuses.
            ip = s.request("GET", NS + "/services/web")[2]["spec"]["clusterIP"]
            wait_for(lambda: answers(ip, 80), what="the Service answering")
        except BaseException:
            cls.cleanup_node()
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cleanup_node()
        super().tearDownClass()
        # A clean stop leaves no rules and no bridge behind.
        tables = run("nft", "list", "tables").stdout
        links = run("ip", "-o", "link", "show").stdout
        assert "berth" not in tables.replace("berth-node0", ""), tables
        assert "berth0" not in links, links

    @classmethod
    def cleanup_node(cls):
        s = cls.server
        for path in (APPS + "/deployments/web", NS + "/services/web", NS + "/pods/client"):
            s.request("DELETE", path)
        deadline = time.time() + 20
        while time.time() < deadline and s.request("GET", NS + "/pods")[2].get("items"):
            time.sleep(0.1)
        berth_e2e.kill_node_leftovers(s.data_dir)

    # -- helpers --
    @classmethod
    def pods(cls, selector="app%3Dweb"):
        return cls.server.request("GET", NS + "/pods?labelSelector=" + selector)[2].get(
            "items", [])

    @classmethod
    def running_web(cls):
        return [p for p in cls.pods() if p.get("status", {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    @classmethod
    def phase(cls, name):
        return cls.server.request("GET", NS + "/pods/" + name)[2].get("status", {}).get("phase")

    @classmethod
    def ready_endpoints(cls):
        ep = cls.server.request("GET", NS + "/endpoints/web")[2]
        return [a["ip"] for ss in ep.get("subsets") or [] for a in ss.get("addresses") or []]

    def service(self):
        return self.server.request("GET", NS + "/services/web")[2]

    def berthctl(self, *args):
        return subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                               "--kubeconfig", self.server.kubeconfig] + list(args),
                              capture_output=True, text=True, timeout=60)

    def in_client(self, script):
        out = self.berthctl("exec", "client", "--", "sh", "-c", script)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def spread(self, n, host, port):
        counts = {}
        for _ in range(n):
            name = http_get(host, port)
            counts[name] = counts.get(name, 0) + 1
        return counts

    # -- tests --
    def test_pods_have_their_own_addresses_and_reach_each_other(self):
        node = self.server.request("GET", "/api/v1/nodes/" + NODE)[2]
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        self.assertEqual(cidr.prefixlen, 24)
        self.assertIn(cidr, ipaddress.ip_network("10.244.0.0/16").subnets(new_prefix=24))
        web = self.running_web()
        ips = [p["status"]["podIP"] for p in web]
        self.assertEqual(len(set(ips)), 3, ips)
        for ip in ips:
            self.assertIn(ipaddress.ip_address(ip), cidr)
        # From the client pod to each web pod, by address.
        for p in web:
            out = self.in_client("wget -qO- http://%s:8080/" % p["status"]["podIP"])
            self.assertEqual(out.strip(), p["metadata"]["name"])

    def test_cluster_ip_spreads_requests_over_the_backends(self):
        ip = self.service()["spec"]["clusterIP"]
        counts = self.spread(300, ip, 80)
        names = {p["metadata"]["name"] for p in self.running_web()}
        self.assertEqual(set(counts), names, counts)
        self.assertEqual(sum(counts.values()), 300)

    def test_node_port_answers_on_the_node_address(self):
        port = self.service()["spec"]["ports"][0]["nodePort"]
        names = {p["metadata"]["name"] for p in self.running_web()}
        self.assertIn(http_get(berth_e2e.NODE_IP, port), names)

    def test_health_check_node_port(self):
        s = self.server
        patch = lambda spec: s.request("PATCH", NS + "/services/web", {"spec": spec},
                                       ctype="application/merge-patch+json")
        code, _, svc = patch({"type": "LoadBalancer", "externalTrafficPolicy": "Local"})
        self.assertEqual(code, 200, svc)
        port = svc["spec"]["healthCheckNodePort"]
        try:
            health = lambda: health_check(berth_e2e.NODE_IP, port)
            st, body = wait_for(health, what="the health check node port")
            self.assertEqual(st, 200, body)
            self.assertEqual(body["service"], {"namespace": "default", "name": "web"})
            self.assertEqual(body["localEndpoints"], 3)
        finally:
            code, _, svc = patch({"type": "NodePort", "externalTrafficPolicy": "Cluster"})
            self.assertEqual(code, 200, svc)
        # Gone with the policy: the port closes.
        wait_for(lambda: health() is None, what="the health check port closed")

    def test_kube_dns_endpoints_name_this_server(self):
        ep = self.server.request("GET", "/api/v1/namespaces/kube-system/endpoints/kube-dns")[2]
        addrs = [a for ss in ep["subsets"] for a in ss["addresses"]]
        self.assertEqual([a.get("nodeName") for a in addrs], [NODE])
        rv = ep["metadata"]["resourceVersion"]
        time.sleep(11)  # a round later, nothing was rewritten
        ep = self.server.request("GET", "/api/v1/namespaces/kube-system/endpoints/kube-dns")[2]
        self.assertEqual(ep["metadata"]["resourceVersion"], rv)

    def test_pod_resolves_a_service_by_name(self):
        conf = self.in_client("cat /etc/resolv.conf")
        self.assertIn("search default.svc.cluster.local svc.cluster.local cluster.local", conf)
        self.assertIn("options ndots:5", conf)
        names = {p["metadata"]["name"] for p in self.running_web()}
        out = self.in_client("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do "
                             "wget -qO- http://web.default.svc.cluster.local; done")
        seen = set(out.split())
        self.assertTrue(seen and seen <= names, out)
        self.assertGreater(len(seen), 1, "12 requests all went to one backend: %s" % out)
        # The short name works through the search path.
        self.assertIn(self.in_client("wget -qO- http://web").strip(), names)

    def test_hosts_and_dns_config(self):
        s = self.server
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dnscfg"},
             "spec": {"terminationGracePeriodSeconds": 1,
                      "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar"]}],
                      "dnsPolicy": "None",
                      "dnsConfig": {"nameservers": ["10.9.9.9"], "searches": ["example.test"],
                                    "options": [{"name": "ndots", "value": "2"},
                                                {"name": "edns0"}]},
                      "containers": [{"name": "sh", "image": "busybox",
                                      "command": ["sh", "-c", "exec sleep 3600"]}]}}
        code, _, body = s.request("POST", NS + "/pods", p)
        self.assertEqual(code, 201, body)
        try:
            wait_for(lambda: self.phase("dnscfg") == "Running", what="dnscfg Running")
            out = self.berthctl("exec", "dnscfg", "--", "cat", "/etc/hosts", "/etc/resolv.conf")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertRegex(out.stdout, r"10\.1\.2\.3\s+foo\.local\s+bar")
            self.assertIn("dnscfg", out.stdout)  # the pod's own name
            self.assertIn("nameserver 10.9.9.9", out.stdout)
            self.assertIn("search example.test", out.stdout)
            self.assertIn("options ndots:2 edns0", out.stdout)
            self.assertNotIn("svc.cluster.local", out.stdout)
        finally:
            s.request("DELETE", NS + "/pods/dnscfg?gracePeriodSeconds=0")
            wait_for(lambda: s.request("GET", NS + "/pods/dnscfg")[0] == 404, what="dnscfg gone")

    def test_not_ready_pod_gets_no_new_connections(self):
        victim = self.running_web()[0]
        name, ip = victim["metadata"]["name"], victim["status"]["podIP"]
        out = self.berthctl("exec", name, "--", "rm", "/www/ready")
        self.assertEqual(out.returncode, 0, out.stderr)
        try:
            wait_for(lambda: ip not in self.ready_endpoints(), what="%s out of the endpoints" % name)
            time.sleep(0.5)  # the rules follow within a second
            counts = self.spread(60, self.service()["spec"]["clusterIP"], 80)
            self.assertNotIn(name, counts)
            self.assertEqual(len(counts), 2, counts)
        finally:
            self.berthctl("exec", name, "--", "touch", "/www/ready")
            wait_for(lambda: ip in self.ready_endpoints(), what="%s back in" % name)

    def test_scaling_changes_the_backends(self):
        s = self.server
        ip = self.service()["spec"]["clusterIP"]
        scale = lambda n: s.request("PATCH", APPS + "/deployments/web",
                                    {"spec": {"replicas": n}},
                                    ctype="application/merge-patch+json")
        scale(4)
        try:
            wait_for(lambda: len(self.ready_endpoints()) == 4, timeout=60, what="4 endpoints")
            t0 = time.time()
            names = {p["metadata"]["name"] for p in self.running_web()}
            wait_for(lambda: len(self.spread(40, ip, 80)) == 4, what="traffic to 4 pods")
            self.assertEqual(len(names), 4)
            print("4th backend live %.2fs after it was in the Endpoints" % (time.time() - t0))
        finally:
            scale(3)
            wait_for(lambda: len(self.ready_endpoints()) == 3, what="back to 3 endpoints")

    def test_zz_deleting_everything_leaves_nothing(self):
        s = self.server
        ip = self.service()["spec"]["clusterIP"]
        self.cleanup_node()
        wait_for(lambda: not self.pods("") , what="every pod gone")
        # No veth, no pod namespace file, no address of the Service in the rules.
        # Each pod's veth pair goes with its namespace, which the kernel frees
        # in the background.
        def pod_veths():
            out = run("ip", "-o", "link", "show", "type", "veth").stdout
            return [l for l in out.splitlines() if "berth-node" not in l]
        wait_for(lambda: not pod_veths(), what="no pod veth left")
        self.assertEqual(glob.glob(os.path.join(
            s.data_dir, "plugins", "network-bridge", "netns", "*")), [])
        def rules():
            r = run("nft", "list", "table", "ip", "berth-proxy").stdout
            return r if ip + " . tcp" not in r else "still there: " + r
        wait_for(lambda: "still there" not in rules(), what="the Service's rules removed")


# Two nodes on one link: node A is this process's namespace (the server and
# its agent), node B a namespace of its own reached through a veth pair.
NODE_A, NODE_B = "10.77.1.1", "10.77.1.2"
EXTERNAL_IP = "10.77.9.9"  # on no link: only the proxies know it

NODE_B_SCRIPT = """
for i in $(seq 200); do ip link show nb1 >/dev/null 2>&1 && break; sleep 0.05; done
ip link set lo up && ip addr add %(b)s/24 dev nb1 && ip link set nb1 up &&
ip route add default via %(a)s && exec "$@"
"""


def svc_ip(server, name):
    return server.request("GET", NS + "/services/" + name)[2]["spec"]["clusterIP"]


def pod_on(node, name, script):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "busybox",
                                     "command": ["sh", "-c", script]}]}}


@unittest.skipUnless(os.geteuid() == 0, "pod networking needs root")
class TwoNodeTest(unittest.TestCase):
    """Pods on two nodes reach each other through the routes the bridge
    plugin installs between the nodes' pod ranges, and a pod on the second
    node resolves names through the first node's DNS."""

    def setUp(self):
        for cmd in (["ip", "link", "add", "nb0", "type", "veth", "peer", "name", "nb1"],
                    ["ip", "addr", "add", NODE_A + "/24", "dev", "nb0"],
                    ["ip", "link", "set", "nb0", "up"]):
            subprocess.run(cmd, check=True)
        self.server = berth_e2e.Server(
            extra_args=["--node-name", "node-a", "--node-ip", NODE_A], agent=True, host=NODE_A)
        self.b_dir = tempfile.mkdtemp(prefix="berth-node-b-")
        self.agent = None
        self.server.start()
        log = open(os.path.join(self.b_dir, "agent.log"), "ab")
        self.agent = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", NODE_B_SCRIPT % {"a": NODE_A, "b": NODE_B}, "node-b",
             berth_e2e.berthd_path(), "agent", "--kubeconfig", self.server.kubeconfig,
             "--data-dir", self.b_dir, "--node-name", "node-b", "--node-ip", NODE_B,
             "--listen", "%s:%d" % (NODE_B, berth_e2e.free_port())],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        # Once unshare has made node B's namespace, its end of the link goes in.
        ns = lambda pid: os.readlink("/proc/%s/ns/net" % pid)
        wait_for(lambda: ns(self.agent.pid) != ns("self"), what="node B's namespace")
        subprocess.run(["ip", "link", "set", "nb1", "netns", str(self.agent.pid)], check=True)

    def tearDown(self):
        s = self.server
        for name in ("srv", "cli", "cli-b"):
            s.request("DELETE", NS + "/pods/%s?gracePeriodSeconds=0" % name)
        s.request("DELETE", NS + "/services/far")
        try:
            wait_for(lambda: not s.request("GET", NS + "/pods")[2].get("items"),
                     what="every pod gone")
        finally:
            if self.agent:
                self.agent.send_signal(signal.SIGTERM)
                try:
                    self.agent.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.agent.pid, signal.SIGKILL)
                    self.agent.wait()
            berth_e2e.kill_node_leftovers(self.b_dir)
            berth_e2e.kill_node_leftovers(s.data_dir)
            s.cleanup()
            shutil.rmtree(self.b_dir, ignore_errors=True)
            subprocess.run(["ip", "link", "del", "nb0"], capture_output=True)

    def berthctl(self, *args):
        return subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                               "--kubeconfig", self.server.kubeconfig] + list(args),
                              capture_output=True, text=True, timeout=60)

    def running(self, name):
        p = self.server.request("GET", NS + "/pods/" + name)[2]
        st = p.get("status", {})
        return st.get("podIP") if st.get("phase") == "Running" else None

    def exec_in(self, pod, script):
        out = self.berthctl("exec", pod, "--", "sh", "-c", script)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout.strip()

    def test_pods_on_two_nodes_reach_each_other(self):
        s = self.server
        cidrs = wait_for(lambda: (lambda a, b: (a, b) if a and b else None)(
            s.request("GET", "/api/v1/nodes/node-a")[2].get("spec", {}).get("podCIDR"),
            s.request("GET", "/api/v1/nodes/node-b")[2].get("spec", {}).get("podCIDR")),
            what="both nodes' pod ranges")
        self.assertNotEqual(cidrs[0], cidrs[1])
        for p in (pod_on("node-b", "srv", "mkdir -p /www && hostname > /www/index.html && "
                                          "exec httpd -f -p 8080 -h /www"),
                  pod_on("node-a", "cli", "exec sleep 3600"),
                  pod_on("node-b", "cli-b", "exec sleep 3600")):
            code, _, body = s.request("POST", NS + "/pods", p)
            self.assertEqual(code, 201, body)
        srv = wait_for(lambda: self.running("srv"), timeout=60, what="srv Running on node B")
        wait_for(lambda: self.running("cli") and self.running("cli-b"), timeout=60,
                 what="the clients Running")
        self.assertIn(ipaddress.ip_address(srv), ipaddress.ip_network(cidrs[1]))
        # Pod on A to pod on B, and node A to pod on B: the peer routes.
        self.assertEqual(self.exec_in("cli", "wget -qO- http://%s:8080/" % srv), "srv")
        self.assertEqual(http_get(srv, 8080), "srv")
        # A Service on node A's proxy with its backend on B; names from the
        # DNS on node A, asked from a pod on either node.
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "far"},
               "spec": {"selector": {"app": "srv"}, "ports": [{"port": 80, "targetPort": 8080}]}}
        code, _, body = s.request("POST", NS + "/services", svc)
        self.assertEqual(code, 201, body)
        wait_for(lambda: s.request("GET", NS + "/endpoints/far")[2].get("subsets"),
                 what="the Service's endpoints")
        # (busybox wget's own -T crashes here: timeout(1) bounds each try.)
        get = lambda pod, url: self.berthctl("exec", pod, "--", "timeout", "3", "wget", "-qO-",
                                             url).stdout.strip()
        wait_for(lambda: get("cli", "http://far.default.svc.cluster.local") == "srv",
                 what="far from node A's pod")
        wait_for(lambda: get("cli-b", "http://far") == "srv", what="far from node B's pod")

        # A NodePort with an external IP. Node A's node port, asked from node
        # B's pod, reaches the backend on B: A masquerades, so the answer
        # comes back through A. The external IP answers like the cluster IP.
        patch = lambda spec: s.request("PATCH", NS + "/services/far", {"spec": spec},
                                       ctype="application/merge-patch+json")
        code, _, body = patch({"type": "NodePort", "externalIPs": [EXTERNAL_IP]})
        self.assertEqual(code, 200, body)
        np = body["spec"]["ports"][0]["nodePort"]
        wait_for(lambda: get("cli-b", "http://%s:%d" % (NODE_A, np)) == "srv",
                 what="node A's node port from node B's pod")
        wait_for(lambda: answers(EXTERNAL_IP, 80) == "srv", what="the external IP")
        # externalTrafficPolicy Local: only the node with the backend answers.
        code, _, body = patch({"externalTrafficPolicy": "Local"})
        self.assertEqual(code, 200, body)
        wait_for(lambda: answers(NODE_A, np) is None, what="node A's node port refusing")
        self.assertEqual(answers(NODE_B, np), "srv")
        # As a LoadBalancer, its health check node port tells a load
        # balancer which node to send to.
        code, _, body = patch({"type": "LoadBalancer"})
        self.assertEqual(code, 200, body)
        hc = body["spec"]["healthCheckNodePort"]
        st, out = wait_for(lambda: health_check(NODE_A, hc), what="node A's health check")
        self.assertEqual((st, out["localEndpoints"]), (503, 0))
        st, out = wait_for(lambda: health_check(NODE_B, hc), what="node B's health check")
        self.assertEqual((st, out["localEndpoints"]), (200, 1))
        self.assertEqual(answers(svc_ip(s, "far"), 80), "srv", "the cluster IP still works")



if __name__ == "__main__":
    unittest.main()
