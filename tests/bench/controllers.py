"""Benchmark: one Deployment of N replicas (default 10,000) on a live
`berthd server` (durable store, TLS, the stock controllers in-process).
Prints `metric: value` lines: seconds until all Pods exist, reconciles/s over
that time, and the server's peak RSS."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import berth_e2e  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000


def pods_stored(server):
    st, _, text = server.request("GET", "/metrics")
    m = re.search(r'berth_objects\{kind="Pod",group=""\} (\d+)', text if isinstance(text, str) else "")
    return int(m.group(1)) if m else 0


def reconciles(server):
    st, _, body = server.request("GET", "/debug/controllers")
    return sum(c["reconciles"] for c in body["items"]) if st == 200 else 0


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    # The controllers alone: with no nodes the scheduler would mark every Pod
    # Unschedulable (a status write and an Event each), which is not what
    # this measures.
    server = berth_e2e.Server(extra_args=("--no-scheduler",)).start()
    try:
        dep = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "big"},
            "spec": {"replicas": N,
                     "selector": {"matchLabels": {"app": "big"}},
                     "template": {"metadata": {"labels": {"app": "big"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
        }
        r0 = reconciles(server)
        t0 = time.time()
        st, _, body = server.request("POST", "/apis/apps/v1/namespaces/default/deployments", dep)
        assert st == 201, body
        while pods_stored(server) < N:
            if time.time() - t0 > 600:
                raise SystemExit("gave up after 600 s with %d pods" % pods_stored(server))
            time.sleep(0.1)
        secs = time.time() - t0
        rec = reconciles(server) - r0
        print("replicas: %d" % N)
        print("seconds_until_all_pods_exist: %.2f" % secs)
        print("pods_per_second: %.0f" % (N / secs))
        print("reconciles: %d" % rec)
        print("reconciles_per_second: %.0f" % (rec / secs))
        print("server_peak_rss_mb: %.1f" % (peak_rss_kb(server.proc.pid) / 1024))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
