"""End to end: the stock Lua controllers and a custom one on a live
`berthd server` (no node agent: the test plays the kubelet by writing pod
status through the status subresource)."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import berth_e2e
from berth_e2e import wait_for  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
BATCH = "/apis/batch/v1/namespaces/default"

CUSTOM = r'''
-- Stamps every ConfigMap with an annotation: proves a dropped-in controller
-- runs without a rebuild.
local berth = require("berth")
return {
  kind = "ConfigMap",
  reconcile = function(req)
    local cm = berth.get("ConfigMap", req.namespace, req.name)
    if not cm then return end
    local ann = cm.metadata.annotations or {}
    if ann["example.com/stamped"] == "yes" then return end
    local _, msg, reason = berth.patch("ConfigMap", req.namespace, req.name,
      { metadata = { annotations = { ["example.com/stamped"] = "yes" } } })
    if msg and reason ~= "Conflict" then error(msg) end
  end,
}
'''

RUNAWAY = r'''
-- Misbehaves for Secrets named loop, bomb and boom; the daemon must go on.
return {
  kind = "Secret",
  reconcile = function(req)
    if req.name == "loop" then while true do end end
    if req.name == "bomb" then
      local t = {}
      for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
    end
    if req.name == "boom" then error("boom") end
  end,
}
'''




class ControllersTest(berth_e2e.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.custom_dir = tempfile.mkdtemp(prefix="berth-ctl-")
        with open(os.path.join(cls.custom_dir, "stamper.lua"), "w") as f:
            f.write(CUSTOM)
        with open(os.path.join(cls.custom_dir, "runaway.lua"), "w") as f:
            f.write(RUNAWAY)
        cls.server_args = ("--controllers", cls.custom_dir)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.custom_dir, ignore_errors=True)

    # -- helpers --
    def get(self, path):
        st, _, body = self.server.request("GET", path)
        return body if st == 200 else None

    def items(self, path):
        st, _, body = self.server.request("GET", path)
        self.assertEqual(st, 200, body)
        return body["items"]

    def create(self, path, obj):
        st, _, body = self.server.request("POST", path, obj)
        self.assertEqual(st, 201, body)
        return body

    def live_pods(self, selector):
        return [p for p in self.items(NS + "/pods?labelSelector=" + selector)
                if not p["metadata"].get("deletionTimestamp")]

    def set_pod_status(self, pod, phase="Running", ready=True, exit_code=None):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        status = {
            "phase": phase,
            "podIP": "10.244.0.%d" % (hash(pod["metadata"]["name"]) % 250 + 2),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "lastTransitionTime": now}],
        }
        if exit_code is not None:
            status["containerStatuses"] = [{
                "name": pod["spec"]["containers"][0]["name"], "ready": False,
                "restartCount": 0, "image": "busybox", "imageID": "",
                "state": {"terminated": {"exitCode": exit_code,
                                         "reason": "Completed" if exit_code == 0 else "Error"}}}]
        st, _, body = self.server.request(
            "PATCH", NS + "/pods/%s/status" % pod["metadata"]["name"], {"status": status},
            ctype="application/merge-patch+json")
        self.assertEqual(st, 200, body)

    def kubectl(self, *args):
        return subprocess.run(["kubectl", "--kubeconfig", self.server.kubeconfig] + list(args),
                              capture_output=True, text=True, timeout=60)

    # -- Deployments --
    def test_deployment_rollout_undo_and_delete(self):
        dep = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "web", "image": "nginx:1.14.2"}]}},
            },
        }
        self.create(APPS + "/deployments", dep)
        rss = wait_for(lambda: [r for r in self.items(APPS + "/replicasets?labelSelector=app%3Dweb")],
                       what="a ReplicaSet")
        self.assertEqual(len(rss), 1)
        pods = wait_for(lambda: len(self.live_pods("app%3Dweb")) == 3 and self.live_pods("app%3Dweb"),
                        what="3 pods")
        for p in pods:
            self.set_pod_status(p)
        wait_for(lambda: (self.get(APPS + "/deployments/web") or {}).get("status", {})
                 .get("availableReplicas") == 3, what="3 available")

        # Roll to a new image; at no moment fewer than replicas - maxUnavailable
        # (3 - 0) ready pods.
        st, _, body = self.server.request(
            "PATCH", APPS + "/deployments/web",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.16.1"}]}}}},
            ctype="application/strategic-merge-patch+json")
        self.assertEqual(st, 200, body)
        deadline = time.time() + 60
        while time.time() < deadline:
            pods = self.live_pods("app%3Dweb")
            ready = [p for p in pods if any(c.get("type") == "Ready" and c.get("status") == "True"
                                            for c in p.get("status", {}).get("conditions", []))]
            self.assertGreaterEqual(len(ready), 3, "went under replicas - maxUnavailable")
            for p in pods:
                if p not in ready:
                    self.set_pod_status(p)
            d = self.get(APPS + "/deployments/web")
            s = d.get("status", {})
            if (d["metadata"].get("generation") == s.get("observedGeneration") and
                    s.get("updatedReplicas") == 3 and s.get("replicas") == 3 and
                    s.get("availableReplicas") == 3):
                break
            time.sleep(0.05)
        else:
            self.fail("rollout did not finish: %r" % self.get(APPS + "/deployments/web").get("status"))
        images = {p["spec"]["containers"][0]["image"] for p in self.live_pods("app%3Dweb")}
        self.assertEqual(images, {"nginx:1.16.1"})
        self.assertEqual(len(self.items(APPS + "/replicasets?labelSelector=app%3Dweb")), 2)

        # kubectl rollout undo restores the old template (where kubectl is).
        if shutil.which("kubectl"):
            r = self.kubectl("rollout", "undo", "deployment/web")
            self.assertEqual(r.returncode, 0, r.stderr)

            def undone():
                for p in self.live_pods("app%3Dweb"):
                    if p["spec"]["containers"][0]["image"] == "nginx:1.14.2":
                        self.set_pod_status(p)
                d = self.get(APPS + "/deployments/web")
                s = d.get("status", {})
                imgs = {p["spec"]["containers"][0]["image"] for p in self.live_pods("app%3Dweb")}
                return (d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.14.2"
                        and s.get("updatedReplicas") == 3 and imgs == {"nginx:1.14.2"})
            wait_for(undone, timeout=60, what="rollout undo")

        # Deleting the Deployment removes its ReplicaSets and Pods.
        st, _, _ = self.server.request("DELETE", APPS + "/deployments/web")
        self.assertIn(st, (200, 202))
        wait_for(lambda: not self.items(APPS + "/replicasets?labelSelector=app%3Dweb")
                 and not self.items(NS + "/pods?labelSelector=app%3Dweb"),
                 timeout=30, what="garbage collection")

    # -- Jobs --
    def test_job_parallelism_and_completion(self):
        job = {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "batch"},
            "spec": {"completions": 5, "parallelism": 2,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "w", "image": "busybox"}]}}},
        }
        self.create(BATCH + "/jobs", job)
        done = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            pods = self.items(NS + "/pods?labelSelector=job-name%3Dbatch")
            active = [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
                      and not p["metadata"].get("deletionTimestamp")]
            self.assertLessEqual(len(active), 2, "more than parallelism pods active")
            j = self.get(BATCH + "/jobs/batch")
            conds = {c["type"]: c["status"] for c in j.get("status", {}).get("conditions", [])}
            if conds.get("Complete") == "True":
                break
            if active:
                self.set_pod_status(active[0], phase="Succeeded", ready=False, exit_code=0)
                done += 1
            time.sleep(0.05)
        else:
            self.fail("job did not complete: %r" % self.get(BATCH + "/jobs/batch").get("status"))
        j = self.get(BATCH + "/jobs/batch")
        self.assertEqual(j["status"].get("succeeded"), 5)
        self.assertEqual(done, 5)

    # -- StatefulSets --
    def test_statefulset_ordered_creation(self):
        sts = {
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {"replicas": 3, "serviceName": "db",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": "busybox"}]}}},
        }
        self.create(APPS + "/statefulsets", sts)
        for i in range(3):
            pod = wait_for(lambda: self.get(NS + "/pods/db-%d" % i), what="db-%d" % i)
            # The next ordinal must not exist before this one is ready.
            time.sleep(0.3)
            self.assertIsNone(self.get(NS + "/pods/db-%d" % (i + 1)),
                              "db-%d created before db-%d was ready" % (i + 1, i))
            self.set_pod_status(pod)
        wait_for(lambda: (self.get(APPS + "/statefulsets/db") or {}).get("status", {})
                 .get("readyReplicas") == 3, what="3 ready")

    # -- Storage --
    def test_claims_are_provisioned_and_bound(self):
        self.create(NS + "/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
        pvc = wait_for(lambda: (lambda c: c if c and c.get("status", {}).get("phase") == "Bound"
                                else None)(self.get(NS + "/persistentvolumeclaims/data")),
                       what="the claim bound")
        pv = self.get("/api/v1/persistentvolumes/" + pvc["spec"]["volumeName"])
        self.assertEqual(pv["status"]["phase"], "Bound")
        # The controller's Event is stored, named as Kubernetes names them.
        ev = wait_for(lambda: [e for e in self.items(NS + "/events")
                               if e.get("reason") == "ProvisioningSucceeded"],
                      what="the ProvisioningSucceeded event")[0]
        self.assertRegex(ev["metadata"]["name"], r"^data\.[0-9a-f]+$")
        self.assertEqual(ev["involvedObject"]["uid"], pvc["metadata"]["uid"])
        self.assertEqual(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"])
        st, _, _ = self.server.request("DELETE", NS + "/persistentvolumeclaims/data")
        self.assertIn(st, (200, 202))
        wait_for(lambda: self.get("/api/v1/persistentvolumes/" + pv["metadata"]["name"]) is None,
                 what="the volume reclaimed")

    # -- Namespaces --
    def test_namespace_deletion_empties_then_removes_it(self):
        self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": "scratch"}})
        ns = self.get("/api/v1/namespaces/scratch")
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])
        self.create("/api/v1/namespaces/scratch/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
        self.create("/apis/apps/v1/namespaces/scratch/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
        wait_for(lambda: len(self.items("/api/v1/namespaces/scratch/pods")) == 2, what="pods")
        st, _, body = self.server.request("DELETE", "/api/v1/namespaces/scratch")
        self.assertIn(st, (200, 202), body)
        wait_for(lambda: self.get("/api/v1/namespaces/scratch") is None, timeout=30,
                 what="the namespace to go")
        self.assertEqual(self.items("/api/v1/namespaces/scratch/configmaps"), [])
        self.assertEqual(self.items("/api/v1/namespaces/scratch/pods"), [])

    # -- Node IPAM --
    def test_nodes_get_distinct_pod_cidrs(self):
        def node(name, pod_cidr=None):
            spec = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {}
            self.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                          "metadata": {"name": name}, "spec": spec})
        node("ipam-kept", "10.244.0.0/24")
        node("ipam-a")
        node("ipam-b")

        def cidr(name):
            return (self.get("/api/v1/nodes/" + name) or {}).get("spec", {}).get("podCIDR")
        a = wait_for(lambda: cidr("ipam-a"), what="ipam-a's pod CIDR")
        b = wait_for(lambda: cidr("ipam-b"), what="ipam-b's pod CIDR")
        self.assertEqual(cidr("ipam-kept"), "10.244.0.0/24")
        self.assertEqual(len({a, b, "10.244.0.0/24"}), 3)
        for name, c in (("ipam-a", a), ("ipam-b", b)):
            self.assertRegex(c, r"^10\.244\.\d+\.0/24$")
            self.assertEqual(self.get("/api/v1/nodes/" + name)["spec"]["podCIDRs"], [c])
        for name in ("ipam-kept", "ipam-a", "ipam-b"):
            self.server.request("DELETE", "/api/v1/nodes/" + name)

    # -- a custom controller, and misbehaving ones --
    def test_custom_controller_runs_without_rebuild(self):
        self.create(NS + "/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "settings"}, "data": {"a": "1"}})
        wait_for(lambda: ((self.get(NS + "/configmaps/settings") or {}).get("metadata", {})
                          .get("annotations", {}).get("example.com/stamped") == "yes"),
                 what="the stamp")

    def test_runaway_controllers_leave_the_daemon_serving(self):
        for name in ("loop", "bomb", "boom"):
            self.create(NS + "/secrets", {"apiVersion": "v1", "kind": "Secret",
                                          "metadata": {"name": name}})

        def errors():
            st, _, body = self.server.request("GET", "/debug/controllers")
            if st != 200:
                return None
            for c in body.get("items", []):
                if c["name"] == "runaway" and c["errors"] >= 3:
                    return c
        c = wait_for(errors, timeout=30, what="runaway errors recorded")
        self.assertTrue(c["lastError"])
        st, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(st, 200)
        st, _, _ = self.server.request("GET", NS + "/configmaps")
        self.assertEqual(st, 200)
        # berthctl lists the controllers with their counters.
        out = subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                              "--kubeconfig", self.server.kubeconfig, "get", "controllers"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("runaway", out.stdout)
        self.assertIn("deployment", out.stdout)


if __name__ == "__main__":
    unittest.main()


class StandaloneControllersTest(unittest.TestCase):
    """`berthd controllers --kubeconfig F`: the same host in its own process,
    against a server that runs none."""

    def test_standalone_host_reconciles(self):
        server = berth_e2e.Server(extra_args=("--no-controllers",))
        proc = None
        try:
            server.start()
            log = open(os.path.join(server.data_dir, "controllers.log"), "wb")
            proc = subprocess.Popen([berth_e2e.berthd_path(), "controllers",
                                     "--kubeconfig", server.kubeconfig],
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "solo"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "solo"}},
                           "template": {"metadata": {"labels": {"app": "solo"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
            st, _, body = server.request("POST", APPS + "/replicasets", rs)
            self.assertEqual(st, 201, body)

            def two_pods():
                st, _, body = server.request("GET", NS + "/pods?labelSelector=app%3Dsolo")
                return st == 200 and len(body["items"]) == 2
            wait_for(two_pods, what="2 pods from the standalone host")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
            proc = None
        finally:
            if proc:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            server.cleanup()
