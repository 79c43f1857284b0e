"""Benchmark the node agent. Prints `metric: value` lines.

1. Pod create to Running, one busybox pod at a time, with the process
   runtime of the agent inside `berthd server` (needs root): p50 and p99.
2. 10,000 pods over 100 simulated nodes (`berthd agent --runtime sim
   --nodes 100`, its own process), scheduled by the server: seconds from
   the first create until all are Running, and the peak RSS of the server
   and of the agent process."""
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import shutil
import signal
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import berth_e2e  # noqa: E402

NS = "/api/v1/namespaces/default"


def pod(name, sim=False):
    c = {"name": "c", "image": "busybox", "command": ["sh", "-c", "sleep 3600"]}
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"containers": [c], "terminationGracePeriodSeconds": 0}}
    if sim:
        c["resources"] = {"requests": {"cpu": "10m", "memory": "16Mi"}}
    return p


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def start_latency(n):
    server = berth_e2e.Server(agent=True).start()
    try:
        lat = []
        for i in range(n):
            name = "lat-%d" % i
            t0 = time.time()
            st, _, body = server.request("POST", NS + "/pods", pod(name))
            assert st == 201, body
            while True:
                st, _, p = server.request("GET", NS + "/pods/" + name)
                if st == 200 and p.get("status", {}).get("phase") == "Running":
                    break
                if time.time() - t0 > 60:
                    raise SystemExit("pod %s did not start" % name)
                time.sleep(0.005)
            lat.append(time.time() - t0)
            server.request("DELETE", NS + "/pods/" + name + "?gracePeriodSeconds=0")
        print("pod_start_pods: %d" % n)
        print("pod_start_p50_ms: %.0f" % (percentile(lat, 50) * 1000))
        print("pod_start_p99_ms: %.0f" % (percentile(lat, 99) * 1000))
    finally:
        server.cleanup()


def sim_fleet(pods, nodes):
    server = berth_e2e.Server().start()
    agent_dir = tempfile.mkdtemp(prefix="berth-bench-agent-")
    agent = None
    try:
        agent = subprocess.Popen([berth_e2e.berthd_path(), "agent", "--kubeconfig",
                                  server.kubeconfig, "--runtime", "sim", "--nodes", str(nodes),
                                  "--node-name", "sim", "--data-dir", agent_dir],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)

        def ready_nodes():
            st, _, body = server.request("GET", "/api/v1/nodes")
            return len(body.get("items", [])) if st == 200 else 0
        deadline = time.time() + 60
        while ready_nodes() < nodes and time.time() < deadline:
            time.sleep(0.2)

        t0 = time.time()

        def create(i):
            conn = server.connect()
            for j in range(i, pods, 32):
                server.request("POST", NS + "/pods", pod("sim-%d" % j, sim=True), conn=conn)
            conn.close()
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            list(ex.map(create, range(32)))
        created = time.time() - t0
        while True:
            st, _, body = server.request("GET", NS + "/pods?fieldSelector=status.phase%3DRunning")
            running = len(body.get("items", [])) if st == 200 else 0
            if running >= pods:
                break
            if time.time() - t0 > 600:
                raise SystemExit("only %d of %d pods Running after 600 s" % (running, pods))
            time.sleep(0.5)
        secs = time.time() - t0
        print("sim_nodes: %d" % nodes)
        print("sim_pods: %d" % pods)
        print("sim_seconds_to_create: %.1f" % created)
        print("sim_seconds_until_all_running: %.1f" % secs)
        print("server_peak_rss_mb: %.1f" % peak_rss_mb(server.proc.pid))
        print("agent_peak_rss_mb: %.1f" % peak_rss_mb(agent.pid))
    finally:
        if agent:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
        server.cleanup()
        shutil.rmtree(agent_dir, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() == 0:
        start_latency(int(os.environ.get("BENCH_LATENCY_PODS", "30")))
    else:
        print("pod_start: skipped (the process runtime needs root)")
    sim_fleet(int(os.environ.get("BENCH_SIM_PODS", "10000")), 100)
