"""Benchmark the pod network and the service proxy. Prints `metric: value`
lines. Needs root; runs in a network namespace of its own (the e2e
fixture's), with `berthd server` and its agent using the bridge plugin.

1. Requests per second to one busybox httpd pod, straight to its pod IP and
   through a ClusterIP (new connection each, 4 client threads).
2. Endpoints change to rule live: an Endpoints write that gives a Service
   its backend, until a connection to the ClusterIP is accepted (before: no
   backend, so refused at once); median of 9, with a small table and with
   1,000 Services x 10 endpoints loaded.
3. Programming 1,000 Services x 10 endpoints: seconds from the first write
   until the last Service's address is in the nftables map (the writes go
   through the API, 16 at a time, so this is end to end).
4. The proxy alone (the release build's unit tests that time it, each in a
   throwaway namespace): rendering and applying that table with nft and
   with iptables-restore, and a one-endpoint change to rules live."""
import concurrent.futures
import errno
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import berth_e2e  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


def http_get(host, port):
    s = socket.create_connection((host, port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(4096):
            pass
    finally:
        s.close()


def rate(host, port, n=3000, threads=4):
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda _: http_get(host, port), range(n)))
    return n / (time.time() - t0)


def connects(ip, port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect((ip, port))
        return True
    except OSError as e:
        if e.errno not in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ETIMEDOUT, None):
            raise
        return False
    finally:
        s.close()


def endpoints(name, ips, port):
    subsets = [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": port}]}] if ips else []
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name},
            "subsets": subsets}


def change_to_live(s, vip, pod_ip, reps=9):
    out = []
    for _ in range(reps):
        s.request("PUT", NS + "/endpoints/probe", endpoints("probe", [], 8080))
        berth_e2e.wait_for(lambda: not connects(vip, 80), what="no backend", interval=0.01)
        t0 = time.time()
        s.request("PUT", NS + "/endpoints/probe", endpoints("probe", [pod_ip], 8080))
        berth_e2e.wait_for(lambda: connects(vip, 80), what="backend live", interval=0.002)
        out.append((time.time() - t0) * 1000)
    return sorted(out)[len(out) // 2]


def proxy_alone():
    unit = os.path.join(berth_e2e._build_dir(), "berth-unit")
    out = ""
    for test in ("proxy_renders_a_large_table_fast", "proxy_applies_a_large_table"):
        out += subprocess.run([unit, test], capture_output=True, text=True).stdout
    for m in re.finditer(r"render (\w+) 1000 services x 10 endpoints: ([\d.]+) ms", out):
        print("proxy_render_1000x10_ms_%s: %s" % (m.group(1), m.group(2)))
    for m in re.finditer(r"(\w+): 1000 services x 10 endpoints applied in ([\d.]+) ms", out):
        print("proxy_apply_1000x10_ms_%s: %s" % (m.group(1), m.group(2)))
    for m in re.finditer(r"(\w+): one endpoint changed: sync to live ([\d.]+) ms", out):
        print("proxy_one_endpoint_sync_to_live_ms_%s: %s" % (m.group(1), m.group(2)))


def main():
    server = berth_e2e.Server(extra_args=["--node-ip", berth_e2e.NODE_IP], agent=True).start()
    s = server
    try:
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                            "containers": [{"name": "httpd", "image": "busybox", "command": [
                                "sh", "-c", "mkdir -p /www && echo hi > /www/index.html && "
                                "exec httpd -f -p 8080 -h /www"]}]}}}}
        s.request("POST", APPS + "/deployments", dep)
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
        s.request("POST", NS + "/services", svc)
        probe = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "probe"},
                 "spec": {"ports": [{"port": 80}]}}
        s.request("POST", NS + "/services", probe)
        s.request("POST", NS + "/endpoints", endpoints("probe", [], 8080))

        def pod_ip():
            for p in s.request("GET", NS + "/pods?labelSelector=app%3Dweb")[2].get("items", []):
                if p.get("status", {}).get("phase") == "Running" and p["status"].get("podIP"):
                    return p["status"]["podIP"]
        ip = berth_e2e.wait_for(pod_ip, timeout=60, what="the web pod")
        vip = s.request("GET", NS + "/services/web")[2]["spec"]["clusterIP"]
        probe_vip = s.request("GET", NS + "/services/probe")[2]["spec"]["clusterIP"]
        berth_e2e.wait_for(lambda: connects(vip, 80), what="the Service")
        direct = rate(ip, 8080)
        through = rate(vip, 80)
        print("requests_per_s_pod_ip: %.0f" % direct)
        print("requests_per_s_cluster_ip: %.0f" % through)
        print("cluster_ip_vs_pod_ip: %.2f" % (through / direct))
        print("endpoints_change_to_live_ms_small_table: %.1f" % change_to_live(s, probe_vip, ip))

        # 1,000 Services x 10 endpoints, written through the API.
        def one(i):
            name = "bulk-%d" % i
            s.request("POST", NS + "/services", {
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"ports": [{"port": 80}]}})
            ips = ["10.244.%d.%d" % (100 + i // 25, (i % 25) * 10 + k + 1) for k in range(10)]
            s.request("POST", NS + "/endpoints", endpoints(name, ips, 8080))
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(one, range(1000)))
        last = s.request("GET", NS + "/services/bulk-999")[2]["spec"]["clusterIP"]

        def programmed():
            out = subprocess.run(["nft", "list", "map", "ip", "berth-proxy", "backends"],
                                 capture_output=True, text=True).stdout
            return out.count(" : ") >= 10000 and (last + " . tcp . 80") in out
        berth_e2e.wait_for(programmed, timeout=120, what="1,000 Services programmed",
                           interval=0.1)
        print("program_1000x10_services_s: %.2f" % (time.time() - t0))
        print("endpoints_change_to_live_ms_1000x10_table: %.1f" %
              change_to_live(s, probe_vip, ip, reps=5))
    finally:
        berth_e2e.kill_node_leftovers(server.data_dir)
        server.cleanup()


if __name__ == "__main__":
    proxy_alone()
    main()
