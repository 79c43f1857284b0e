"""berthd on etcd: etcd stopped and restarted under a writing client with
every acknowledged write present afterwards (and 503s, not hangs, while it
is down); a 3-member etcd where one member is killed and writes go on.
Skipped when /usr/bin/etcd is not installed."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from berth_e2e import Server, free_port  # noqa: E402

SRC = os.environ.get("BERTH_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
ETCD = os.environ.get("BERTH_ETCD", "/usr/bin/etcd")


class EtcdCluster:
    """N members on free loopback ports in a temp dir, started through
    scripts/etcd-test-server exec; always stopped by close()."""

    def __init__(self, members=1):
        self.dir = tempfile.mkdtemp(prefix="berth-e2e-etcd-")
        self.ports = [(free_port(), free_port()) for _ in range(members)]
        self.cluster = ",".join("m%d=http://127.0.0.1:%d" % (i, p)
                                for i, (_, p) in enumerate(self.ports))
        self.procs = [None] * members
        for i in range(members):
            self.start(i, wait=False)
        for i in range(members):
            self.wait(i)

    @property
    def endpoints(self):
        return ",".join("http://127.0.0.1:%d" % c for c, _ in self.ports)

    def start(self, i, wait=True):
        c, p = self.ports[i]
        log = open(os.path.join(self.dir, "m%d.log" % i), "ab")
        self.procs[i] = subprocess.Popen(
            ["sh", os.path.join(SRC, "scripts", "etcd-test-server"), "exec", "m%d" % i,
             os.path.join(self.dir, "m%d" % i), str(c), str(p), self.cluster],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait(i)

    def wait(self, i, timeout=20):
        url = "http://127.0.0.1:%d/health" % self.ports[i][0]
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if b'"true"' in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("etcd member %d did not become healthy" % i)

    def kill(self, i):
        if self.procs[i]:
            self.procs[i].kill()
            self.procs[i].wait()
            self.procs[i] = None

    def close(self):
        for i in range(len(self.procs)):
            self.kill(i)
        shutil.rmtree(self.dir, ignore_errors=True)


def configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": {"k": "v"}}


@unittest.skipUnless(os.access(ETCD, os.X_OK), "SKIP: %s is not installed" % ETCD)
class EtcdTest(unittest.TestCase):
    def setUp(self):
        self.etcd = None
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.cleanup()
        if self.etcd:
            self.etcd.close()

    def start_server(self):
        self.server = Server(extra_args=["--no-controllers", "--store", "etcd",
                                         "--etcd-endpoints", self.etcd.endpoints]).start()
        return self.server

    def names(self, s):
        st, _, body = s.request("GET", "/api/v1/namespaces/default/configmaps")
        self.assertEqual(st, 200, body)
        return {o["metadata"]["name"] for o in body["items"]}

    def test_etcd_restarted_under_a_writing_client(self):
        self.etcd = EtcdCluster(1)
        s = self.start_server()
        acked, unavailable = [], 0
        killed = restarted = None
        i = 0
        t0 = time.time()
        while time.time() - t0 < 30:
            i += 1
            name = "w%05d" % i
            t = time.time()
            st, _, body = s.request("POST", "/api/v1/namespaces/default/configmaps",
                                    configmap(name))
            # Never a hang: every answer comes within the store's timeout.
            self.assertLess(time.time() - t, 7, (st, body))
            if st == 201:
                acked.append(name)
            else:
                self.assertEqual(st, 503, body)
                self.assertEqual(body.get("kind"), "Status", body)
                unavailable += 1
            if killed is None and len(acked) == 50:
                self.etcd.kill(0)
                killed = time.time()
            elif killed and restarted is None and time.time() - killed > 1:
                self.etcd.start(0)
                restarted = time.time()
            elif restarted and len(acked) >= 100:
                break
            if killed and not restarted:
                time.sleep(0.02)
        self.assertGreater(unavailable, 0)
        self.assertGreaterEqual(len(acked), 100, "writes did not recover after etcd came back")
        present = self.names(s)
        self.assertEqual([n for n in acked if n not in present], [])

    def test_three_members_one_killed_writes_go_on(self):
        self.etcd = EtcdCluster(3)
        s = self.start_server()
        for i in range(20):
            st, _, body = s.request("POST", "/api/v1/namespaces/default/configmaps",
                                    configmap("a%d" % i))
            self.assertEqual(st, 201, body)
        # The first endpoint is the one berthd talks to: kill it.
        self.etcd.kill(0)
        ok = 0
        deadline = time.time() + 20
        while ok < 20 and time.time() < deadline:
            st, _, body = s.request("POST", "/api/v1/namespaces/default/configmaps",
                                    configmap("b%d" % ok))
            if st == 201:
                ok += 1
            else:
                self.assertIn(st, (503, 409), body)
                time.sleep(0.1)
        self.assertEqual(ok, 20)
        names = self.names(s)
        self.assertTrue({"a%d" % i for i in range(20)} <= names)
        self.assertTrue({"b%d" % i for i in range(20)} <= names)


if __name__ == "__main__":
    unittest.main()
