"""Two `berthd server`s on one etcd: the controllers and the scheduler run
on exactly one of them (leader election on a Lease); when the leader is
killed, the other takes over within the lease duration, and a Deployment
scaled afterwards is reconciled. Skipped when /usr/bin/etcd is missing."""
import os
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from berth_e2e import Server  # noqa: E402
from berth_e2e import wait_for  # noqa: E402
from test_etcd import ETCD, EtcdCluster  # noqa: E402

APPS = "/apis/apps/v1/namespaces/default"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth-controllers"
FAST = ("--leader-lease-seconds", "4", "--leader-renew-ms", "2500", "--leader-retry-ms", "300")




@unittest.skipUnless(os.access(ETCD, os.X_OK), "etcd is not installed")
class LeaderElectionTest(unittest.TestCase):
    def setUp(self):
        self.etcd = EtcdCluster(1)
        args = ("--store", "etcd", "--etcd-endpoints", self.etcd.endpoints,
                "--leader-elect") + FAST
        self.a = Server(extra_args=args)
        self.b = None
        try:
            self.a.start()
            # The second server shares the first one's credentials, so one
            # kubeconfig works against both.
            self.b = Server(extra_args=args)
            os.makedirs(self.b.data_dir, exist_ok=True)
            shutil.copytree(os.path.join(self.a.data_dir, "pki"),
                            os.path.join(self.b.data_dir, "pki"))
            shutil.copy(os.path.join(self.a.data_dir, "admin.token"), self.b.data_dir)
            self.b.start()
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        for s in (self.a, self.b):
            if s:
                s.cleanup()
        self.etcd.close()

    def holder(self, server):
        st, _, body = server.request("GET", LEASE)
        return body.get("spec", {}).get("holderIdentity") if st == 200 else None

    def leading(self, server):
        st, _, body = server.request("GET", "/debug/leader")
        return st == 200 and body.get("leading")

    def rs_replicas(self, server, name):
        st, _, body = server.request("GET", APPS + "/replicasets?labelSelector=app%3D" + name)
        if st != 200 or not body["items"]:
            return None
        return sum(r["spec"].get("replicas", 0) for r in body["items"])

    def test_one_leader_and_failover(self):
        wait_for(lambda: self.holder(self.a), what="a lease holder")
        wait_for(lambda: self.leading(self.a) != self.leading(self.b), what="exactly one leader")
        leader, other = (self.a, self.b) if self.leading(self.a) else (self.b, self.a)
        self.assertFalse(self.leading(other))

        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ha"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ha"}},
                        "template": {"metadata": {"labels": {"app": "ha"}},
                                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        st, _, body = other.request("POST", APPS + "/deployments", dep)
        self.assertEqual(st, 201, body)
        wait_for(lambda: self.rs_replicas(other, "ha") == 2, what="the leader reconciling")

        leader.stop(signal.SIGKILL)
        t0 = time.time()
        wait_for(lambda: self.leading(other), timeout=20, what="the other server taking over")
        self.assertLess(time.time() - t0, 15)

        st, _, body = other.request("PATCH", APPS + "/deployments/ha/scale",
                                    {"spec": {"replicas": 4}},
                                    ctype="application/merge-patch+json")
        self.assertEqual(st, 200, body)
        wait_for(lambda: self.rs_replicas(other, "ha") == 4, what="the new leader reconciling")


if __name__ == "__main__":
    unittest.main()
