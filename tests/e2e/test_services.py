"""End-to-end tests of Service address allocation in the API server:
ClusterIPs from --service-cidr, NodePorts from 30000-32767, requested
addresses, refusals, release on delete and the rebuild after a restart."""
import ipaddress
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from berth_e2e import Server, ServerTestCase  # noqa: E402

SVC = "/api/v1/namespaces/default/services"
CIDR = "10.100.0.0/24"


def service(name, type_=None, cluster_ip=None, ports=None, **spec):
    s = {"selector": {"app": name},
         "ports": ports if ports is not None else [{"name": "http", "port": 80}]}
    if type_:
        s["type"] = type_
    if cluster_ip is not None:
        s["clusterIP"] = cluster_ip
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


class ServiceAllocationTest(ServerTestCase):
    server_args = ("--no-controllers", "--no-scheduler", "--service-cidr", CIDR)

    def create(self, obj, want=201):
        code, _, body = self.server.request("POST", SVC, obj)
        self.assertEqual(code, want, body)
        return body

    def delete(self, name):
        code, _, body = self.server.request("DELETE", SVC + "/" + name)
        self.assertEqual(code, 200, body)

    def test_allocates_in_range(self):
        s = self.create(service("alloc-a"))
        ip = s["spec"]["clusterIP"]
        self.assertIn(ipaddress.ip_address(ip), ipaddress.ip_network(CIDR))
        self.assertEqual(s["spec"]["clusterIPs"], [ip])
        self.assertEqual(s["spec"]["ipFamilies"], ["IPv4"])
        t = self.create(service("alloc-b"))
        self.assertNotEqual(t["spec"]["clusterIP"], ip)
        code, _, got = self.server.request("GET", SVC + "/alloc-a")
        self.assertEqual(got["spec"]["clusterIP"], ip)
        # An update that leaves clusterIP out keeps it.
        got["spec"].pop("clusterIP")
        got["spec"].pop("clusterIPs")
        got["metadata"]["labels"] = {"x": "y"}
        code, _, put = self.server.request("PUT", SVC + "/alloc-a", got)
        self.assertEqual(code, 200, put)
        self.assertEqual(put["spec"]["clusterIP"], ip)
        self.delete("alloc-a")
        self.delete("alloc-b")

    def test_requested_duplicate_and_out_of_range(self):
        s = self.create(service("req-a", cluster_ip="10.100.0.200"))
        self.assertEqual(s["spec"]["clusterIP"], "10.100.0.200")
        code, _, body = self.server.request("POST", SVC,
                                            service("req-b", cluster_ip="10.100.0.200"))
        self.assertEqual(code, 422, body)
        self.assertEqual(body["reason"], "Invalid")
        self.assertIn("provided IP is already allocated", body["message"])
        code, _, body = self.server.request("POST", SVC,
                                            service("req-c", cluster_ip="10.200.0.5"))
        self.assertEqual(code, 422, body)
        self.assertIn("not in the valid range", body["message"])
        # The refused create left nothing behind; the released IP is reusable.
        self.delete("req-a")
        s = self.create(service("req-b", cluster_ip="10.100.0.200"))
        self.assertEqual(s["spec"]["clusterIP"], "10.100.0.200")
        self.delete("req-b")

    def test_headless_and_external_name(self):
        s = self.create(service("headless", cluster_ip="None"))
        self.assertEqual(s["spec"]["clusterIP"], "None")
        self.assertEqual(s["spec"]["clusterIPs"], ["None"])
        e = self.create({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "ext"},
                         "spec": {"type": "ExternalName", "externalName": "example.com"}})
        self.assertNotIn("clusterIP", e["spec"])
        self.delete("headless")
        self.delete("ext")

    def test_node_ports(self):
        s = self.create(service("np-a", "NodePort",
                                ports=[{"name": "http", "port": 80},
                                       {"name": "dns", "port": 53, "protocol": "UDP",
                                        "nodePort": 30053}]))
        ports = s["spec"]["ports"]
        self.assertTrue(30000 <= ports[0]["nodePort"] <= 32767, ports)
        self.assertEqual(ports[1]["nodePort"], 30053)
        code, _, body = self.server.request(
            "POST", SVC, service("np-b", "NodePort", ports=[{"port": 80, "nodePort": 30053}]))
        self.assertEqual(code, 422, body)
        self.assertIn("provided port is already allocated", body["message"])
        code, _, body = self.server.request(
            "POST", SVC, service("np-c", "NodePort", ports=[{"port": 80, "nodePort": 29999}]))
        self.assertEqual(code, 422, body)
        # The refused NodePort Service kept no ClusterIP either: the whole
        # range minus what np-a holds is still free (checked via reuse below).
        self.delete("np-a")
        s = self.create(service("np-b", "NodePort", ports=[{"port": 80, "nodePort": 30053}]))
        self.assertEqual(s["spec"]["ports"][0]["nodePort"], 30053)
        self.delete("np-b")

    def test_health_check_node_port(self):
        # A LoadBalancer keeping external traffic local gets one.
        s = self.create(service("hc-a", "LoadBalancer", externalTrafficPolicy="Local"))
        hc = s["spec"]["healthCheckNodePort"]
        self.assertTrue(30000 <= hc <= 32767, s["spec"])
        self.assertNotEqual(hc, s["spec"]["ports"][0]["nodePort"])
        # It is taken: nobody else may have it.
        code, _, body = self.server.request(
            "POST", SVC, service("hc-b", "NodePort", ports=[{"port": 80, "nodePort": hc}]))
        self.assertEqual((code, "provided port is already allocated" in body["message"]),
                         (422, True), body)
        # Kept across updates; dropped (and freed) when the policy changes.
        s["spec"]["selector"] = {"app": "other"}
        code, _, s = self.server.request("PUT", SVC + "/hc-a", s)
        self.assertEqual((code, s["spec"]["healthCheckNodePort"]), (200, hc), s)
        s["spec"]["externalTrafficPolicy"] = "Cluster"
        code, _, s = self.server.request("PUT", SVC + "/hc-a", s)
        self.assertEqual(code, 200, s)
        self.assertNotIn("healthCheckNodePort", s["spec"])
        self.create(service("hc-b", "NodePort", ports=[{"port": 80, "nodePort": hc}]))
        # Asked for where it does not belong: refused, naming the field.
        code, _, body = self.server.request(
            "POST", SVC, service("hc-c", "NodePort", healthCheckNodePort=31999))
        self.assertEqual(code, 422, body)
        self.assertIn("spec.healthCheckNodePort", body["message"])
        # A requested one is honoured.
        s = self.create(service("hc-d", "LoadBalancer", externalTrafficPolicy="Local",
                                healthCheckNodePort=31998))
        self.assertEqual(s["spec"]["healthCheckNodePort"], 31998)
        for name in ("hc-a", "hc-b", "hc-d"):
            self.delete(name)

    def test_range_exhaustion_and_release(self):
        # A /24 holds 254 addresses; fill what is left, then free one.
        made = []
        while True:
            code, _, body = self.server.request("POST", SVC, service("fill-%d" % len(made)))
            if code != 201:
                self.assertEqual(code, 422, body)
                self.assertIn("is full", body["message"])
                break
            made.append((body["metadata"]["name"], body["spec"]["clusterIP"]))
            self.assertLess(len(made), 300)
        self.assertGreater(len(made), 240)
        name, ip = made.pop()
        self.delete(name)
        s = self.create(service("fill-again"))
        self.assertEqual(s["spec"]["clusterIP"], ip)
        made.append(("fill-again", ip))
        for name, _ in made:
            self.delete(name)


class ServiceRestartTest(unittest.TestCase):
    def test_allocations_survive_restart(self):
        srv = Server(extra_args=["--no-controllers", "--no-scheduler",
                                 "--service-cidr", CIDR])
        try:
            srv.start()
            code, _, a = srv.request("POST", SVC, service("keep", "NodePort",
                                                          cluster_ip="10.100.0.7",
                                                          ports=[{"port": 80,
                                                                  "nodePort": 31000}]))
            self.assertEqual(code, 201, a)
            self.assertEqual(srv.stop(), 0)
            srv.start()
            code, _, body = srv.request("POST", SVC, service("dup", cluster_ip="10.100.0.7"))
            self.assertEqual(code, 422, body)
            self.assertIn("already allocated", body["message"])
            code, _, body = srv.request("POST", SVC, service(
                "dup2", "NodePort", ports=[{"port": 80, "nodePort": 31000}]))
            self.assertEqual(code, 422, body)
            self.assertIn("already allocated", body["message"])
            code, _, _ = srv.request("DELETE", SVC + "/keep")
            self.assertEqual(code, 200)
            code, _, body = srv.request("POST", SVC, service("dup", cluster_ip="10.100.0.7"))
            self.assertEqual(code, 201, body)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
