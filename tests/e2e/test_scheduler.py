"""End to end: the scheduler inside a live `berthd server` (and standalone
as `berthd scheduler`), against Node objects created through the API (no
node agent: the test plays the kubelet where one would act, by removing
pods whose deletion was requested).

Every test gets its own server, so the node count in each Unschedulable
message is exactly the nodes the test created."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import berth_e2e
from berth_e2e import wait_for  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"
APPS = "/apis/apps/v1/namespaces/default"
ZONE = "topology.kubernetes.io/zone"




def node(name, cpu="4", memory="32Gi", pods="110", labels=None, taints=None):
    res = {"cpu": cpu, "memory": memory, "pods": pods}
    n = {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": name,
                      "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
         "spec": {},
         "status": {"allocatable": res, "capacity": dict(res),
                    "conditions": [{"type": "Ready", "status": "True"}]}}
    if taints:
        n["spec"]["taints"] = taints
    return n


def pod(name, cpu=None, memory=None, labels=None, **spec):
    req = {}
    if cpu:
        req["cpu"] = cpu
    if memory:
        req["memory"] = memory
    c = {"name": "c", "image": "registry.example/app:1"}
    if req:
        c["resources"] = {"requests": req}
    s = {"containers": [c]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}}, "spec": s}


class SchedulerTestCase(unittest.TestCase):
    server_args = ("--no-controllers",)

    def setUp(self):
        self.server = berth_e2e.Server(extra_args=self.server_args)
        try:
            self.server.start()
        except BaseException:
            self.server.cleanup()
            raise

    def tearDown(self):
        log = self.server.read_log()
        rc = self.server.cleanup()
        if rc != 0:
            raise AssertionError("berthd exited with %s:\n%s" % (rc, log))

    # -- helpers --
    def req(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        st, _, out = self.server.request(method, path, body, ctype=ctype)
        if ok and st not in ok:
            raise AssertionError("%s %s: %s %s" % (method, path, st, out))
        return out

    def add_node(self, *a, **kw):
        return self.req("POST", "/api/v1/nodes", node(*a, **kw))

    def add_pod(self, *a, **kw):
        return self.req("POST", PODS, pod(*a, **kw))

    def get_pod(self, name):
        st, _, out = self.server.request("GET", PODS + "/" + name)
        return out if st == 200 else None

    def wait_bound(self, name, timeout=20):
        return wait_for(lambda: (self.get_pod(name) or {}).get("spec", {}).get("nodeName"),
                        timeout, "pod %s to be bound" % name)

    def condition(self, name):
        for c in (self.get_pod(name) or {}).get("status", {}).get("conditions", []):
            if c.get("type") == "PodScheduled":
                return c
        return None

    def wait_unschedulable(self, name, message=None, timeout=20):
        def check():
            c = self.condition(name)
            if c and c.get("status") == "False" and c.get("reason") == "Unschedulable":
                if message is None or c.get("message") == message:
                    return c
            return None
        try:
            return wait_for(check, timeout, "pod %s to be Unschedulable" % name)
        except AssertionError:
            raise AssertionError("pod %s: %r, want message %r" %
                                 (name, self.condition(name), message))

    def events(self, name, reason=None):
        items = self.req("GET", "/api/v1/namespaces/default/events")["items"]
        return [e for e in items if e["involvedObject"]["name"] == name and
                (reason is None or e["reason"] == reason)]

    def stats(self):
        return self.req("GET", "/debug/scheduler")

    def kubelet_remove(self, name):
        """What a kubelet does once a deleted pod's containers stopped."""
        self.server.request("DELETE", PODS + "/" + name, {"gracePeriodSeconds": 0})

    def settle(self, bound):
        """Waits until the scheduler counts exactly `bound` bound pods and
        assumes none: each bound pod counted once."""
        wait_for(lambda: (lambda s: s["podsBound"] == bound and s["podsAssumed"] == 0 and
                          s["writesInFlight"] == 0)(self.stats()), 10, "the scheduler to settle")


class FitTest(SchedulerTestCase):
    def test_resource_fit_and_overcommit_refusal(self):
        self.add_node("n1", cpu="2", memory="4Gi")
        self.add_node("n2", cpu="2", memory="4Gi")
        self.add_pod("a", cpu="1500m", memory="1Gi")
        self.add_pod("b", cpu="1500m", memory="1Gi")
        na, nb = self.wait_bound("a"), self.wait_bound("b")
        self.assertEqual({na, nb}, {"n1", "n2"})  # least allocated spreads them
        cond = self.condition("a")
        self.assertEqual(cond["status"], "True")
        # Neither node has 1500m left: refused, with Kubernetes' message.
        self.add_pod("c", cpu="1500m")
        msg = "0/2 nodes are available: 2 Insufficient cpu."
        self.wait_unschedulable("c", msg)
        self.assertIsNone(self.get_pod("c")["spec"].get("nodeName"))
        ev = wait_for(lambda: self.events("c", "FailedScheduling"), 10, "FailedScheduling")
        self.assertEqual(ev[0]["type"], "Warning")
        self.assertEqual(ev[0]["message"], msg)
        self.assertEqual(ev[0]["source"]["component"], "default-scheduler")
        # Two reasons on every node, sorted as Kubernetes sorts them.
        self.add_pod("d", cpu="3", memory="8Gi")
        self.wait_unschedulable(
            "d", "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")
        # The condition is written once: a retry with the same verdict
        # changes nothing.
        rv = self.get_pod("c")["metadata"]["resourceVersion"]
        self.add_node("tiny", cpu="100m", memory="4Gi")  # retries c, still no room
        self.wait_unschedulable(
            "c", "0/3 nodes are available: 3 Insufficient cpu.")
        self.assertNotEqual(self.get_pod("c")["metadata"]["resourceVersion"], rv)
        self.assertEqual(len(self.events("c", "FailedScheduling")), 2)
        # Room freed by a deleted pod is used.
        self.kubelet_remove("a")
        self.assertEqual(self.wait_bound("c"), na)
        cond = self.condition("c")
        self.assertEqual(cond["status"], "True")
        self.assertNotIn("reason", cond)  # the Unschedulable verdict is gone
        self.assertNotIn("message", cond)
        self.settle(2)

    def test_pod_becomes_schedulable_when_a_node_is_added(self):
        self.add_pod("waiting", cpu="1")
        self.wait_unschedulable("waiting", "no nodes available to schedule pods")
        self.add_node("small", cpu="500m")
        self.wait_unschedulable("waiting", "0/1 nodes are available: 1 Insufficient cpu.")
        self.add_node("big", cpu="8")
        self.assertEqual(self.wait_bound("waiting"), "big")
        self.settle(1)

    def test_pods_of_another_scheduler_are_left_alone(self):
        self.add_node("n1")
        self.add_pod("mine")
        self.add_pod("theirs", schedulerName="other-scheduler")
        self.wait_bound("mine")
        time.sleep(0.3)
        p = self.get_pod("theirs")
        self.assertIsNone(p["spec"].get("nodeName"))
        self.assertIsNone(self.condition("theirs"))

    def test_burst_is_counted_once(self):
        """100 pods of 100m on two 2-CPU nodes: 40 fit, and the informer's
        report of each bound pod does not count it twice."""
        self.add_node("n1", cpu="2")
        self.add_node("n2", cpu="2")
        for i in range(100):
            self.add_pod("p%d" % i, cpu="100m")
        self.settle(40)
        bound = {}
        for p in self.req("GET", PODS)["items"]:
            n = p["spec"].get("nodeName")
            if n:
                bound[n] = bound.get(n, 0) + 1
        self.assertEqual(bound, {"n1": 20, "n2": 20})
        st = self.stats()
        self.assertEqual(st["queueActive"] + st["queueBackoff"] + st["queueUnschedulable"], 60)



def volume_on(name, node):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "hostPath": {"path": "/srv/" + name},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}}}


def claim_of(name, volume):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": volume,
                     "resources": {"requests": {"storage": "1Gi"}}}}


class VolumeAffinityTest(SchedulerTestCase):
    def test_pods_go_where_their_bound_volumes_are(self):
        for n in ("n1", "n2", "n3"):
            self.add_node(n)
        self.req("POST", "/api/v1/persistentvolumes", volume_on("pv-2", "n2"))
        self.req("POST", "/api/v1/persistentvolumes", volume_on("pv-9", "n9"))
        self.req("POST", "/api/v1/namespaces/default/persistentvolumeclaims",
                 claim_of("data", "pv-2"))
        self.req("POST", "/api/v1/namespaces/default/persistentvolumeclaims",
                 claim_of("far", "pv-9"))
        vol = lambda claim: [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]
        for i in range(3):
            self.add_pod("p%d" % i, cpu="100m", volumes=vol("data"))
        for i in range(3):
            self.assertEqual(self.wait_bound("p%d" % i), "n2")
        # A volume on no node of the cluster: Unschedulable, saying why;
        # once the volume moves (its affinity changes), the pod follows.
        self.add_pod("lost", cpu="100m", volumes=vol("far"))
        self.wait_unschedulable("lost", "0/3 nodes are available: 3 node(s) had volume node "
                                        "affinity conflict.")
        pv = self.req("GET", "/api/v1/persistentvolumes/pv-9")
        pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
            "values"] = ["n3"]
        self.req("PUT", "/api/v1/persistentvolumes/pv-9", pv)
        self.assertEqual(self.wait_bound("lost"), "n3")


class TaintTest(SchedulerTestCase):
    def test_taints_and_tolerations(self):
        gpu = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
        self.add_node("g1", taints=gpu)
        self.add_node("g2", taints=gpu)
        self.add_pod("plain")
        self.wait_unschedulable(
            "plain", "0/2 nodes are available: 2 node(s) had untolerated taint "
                     "{dedicated: gpu}.")
        self.add_pod("tolerant", tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}])
        self.assertIn(self.wait_bound("tolerant"), ("g1", "g2"))
        # A node without the taint takes the plain pod.
        self.add_node("free")
        self.assertEqual(self.wait_bound("plain"), "free")

    def test_noexecute_evicts_running_pods(self):
        self.add_node("n1")
        self.add_pod("doomed")
        self.add_pod("patient", tolerations=[
            {"key": "maintenance", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 2}])
        self.add_pod("forever", tolerations=[
            {"key": "maintenance", "operator": "Exists", "effect": "NoExecute"}])
        for p in ("doomed", "patient", "forever"):
            self.wait_bound(p)
        patch = {"spec": {"taints": [{"key": "maintenance", "value": "now",
                                      "effect": "NoExecute"}]}}
        self.req("PATCH", "/api/v1/nodes/n1", patch, ctype="application/merge-patch+json")
        t0 = time.time()

        def deleting(name):
            p = self.get_pod(name)
            return p is None or bool(p["metadata"].get("deletionTimestamp"))
        wait_for(lambda: deleting("doomed"), 10, "doomed to be evicted")
        self.assertFalse(deleting("patient"))
        wait_for(lambda: deleting("patient"), 10, "patient to be evicted")
        self.assertGreaterEqual(time.time() - t0, 1.5)
        self.assertTrue(self.events("doomed", "TaintManagerEviction"))
        time.sleep(0.5)
        self.assertFalse(deleting("forever"))


class AffinityTest(SchedulerTestCase):
    def test_node_selector_and_affinity(self):
        self.add_node("ssd1", labels={"disktype": "ssd", "gen": "3"})
        self.add_node("hdd1", labels={"disktype": "hdd", "gen": "1"})
        self.add_pod("sel", nodeSelector={"disktype": "ssd"})
        self.assertEqual(self.wait_bound("sel"), "ssd1")

        def required(*exprs):
            return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(exprs)}]}}}
        self.add_pod("notin", affinity=required(
            {"key": "disktype", "operator": "NotIn", "values": ["ssd"]}))
        self.assertEqual(self.wait_bound("notin"), "hdd1")
        self.add_pod("gt", affinity=required({"key": "gen", "operator": "Gt", "values": ["2"]}))
        self.assertEqual(self.wait_bound("gt"), "ssd1")
        self.add_pod("nvme", affinity=required(
            {"key": "disktype", "operator": "In", "values": ["nvme"]}))
        self.wait_unschedulable(
            "nvme", "0/2 nodes are available: 2 node(s) didn't match Pod's node "
                    "affinity/selector.")
        pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [
                {"key": "disktype", "operator": "In", "values": ["hdd"]}]}}]}}
        for i in range(3):
            self.add_pod("pref%d" % i, affinity=pref)
            self.assertEqual(self.wait_bound("pref%d" % i), "hdd1")

    def test_topology_spread(self):
        # Zone a has two nodes: without the constraint, least-allocated
        # scoring would put more pods there.
        for name, zone in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c")):
            self.add_node(name, labels={ZONE: zone})
        spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                   "labelSelector": {"matchLabels": {"app": "spread"}}}]
        for i in range(6):
            self.add_pod("s%d" % i, cpu="100m", labels={"app": "spread"},
                         topologySpreadConstraints=spread)
        zones = {}
        for i in range(6):
            n = self.wait_bound("s%d" % i)
            z = n[0]
            zones[z] = zones.get(z, 0) + 1
        self.assertEqual(zones, {"a": 2, "b": 2, "c": 2})
        # Cordon zones b and c: one more pod fits in zone a (skew 1), the
        # next would make the skew 2.
        for n in ("b1", "c1"):
            self.req("PATCH", "/api/v1/nodes/" + n, {"spec": {"unschedulable": True}},
                     ctype="application/merge-patch+json")
        self.add_pod("s6", labels={"app": "spread"}, topologySpreadConstraints=spread)
        self.assertEqual(self.wait_bound("s6")[0], "a")
        self.add_pod("s7", labels={"app": "spread"}, topologySpreadConstraints=spread)
        self.wait_unschedulable(
            "s7", "0/5 nodes are available: 2 node(s) were unschedulable, 3 node(s) didn't "
                  "match pod topology spread constraints.")


class DeploymentSpreadTest(SchedulerTestCase):
    server_args = ()  # the stock controllers create the Deployment's pods

    def test_anti_affinity_spreads_replicas_over_zones(self):
        for i, zone in enumerate("aabbcc"):
            self.add_node("%s%d" % (zone, i), labels={ZONE: zone})
        anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": ZONE}]}}
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web"},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"affinity": anti, "containers": [
                                         {"name": "web", "image": "nginx:1.25",
                                          "resources": {"requests": {"cpu": "100m"}}}]}}}}
        self.req("POST", APPS + "/deployments", dep)

        def web_pods():
            return [p for p in self.req("GET", PODS + "?labelSelector=app%3Dweb")["items"]]
        pods = wait_for(lambda: (lambda ps: ps if len(ps) == 3 and all(
            p["spec"].get("nodeName") for p in ps) else None)(web_pods()), 30,
            "three bound replicas")
        self.assertEqual(sorted(p["spec"]["nodeName"][0] for p in pods), ["a", "b", "c"])
        # A fourth replica has no zone left.
        # The Deployment controller writes the status meanwhile: retry a
        # conflicting patch, as kubectl scale does.
        wait_for(lambda: self.server.request(
            "PATCH", APPS + "/deployments/web", {"spec": {"replicas": 4}},
            ctype="application/merge-patch+json")[0] == 200, 10, "the scale-up")
        fourth = wait_for(lambda: [p for p in web_pods() if not p["spec"].get("nodeName")],
                          20, "the fourth replica")[0]["metadata"]["name"]
        self.wait_unschedulable(
            fourth, "0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules.")


PRIORITY_CONFIG = """\
priorityClasses:
  - {name: high, value: 1000}
  - {name: low, value: 10, globalDefault: true}
"""


class PreemptionTest(SchedulerTestCase):
    def setUp(self):
        fd, self.config = tempfile.mkstemp(prefix="berth-sched-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(PRIORITY_CONFIG)
        self.server_args = ("--no-controllers", "--scheduler-config", self.config)
        super().setUp()

    def tearDown(self):
        super().tearDown()
        os.unlink(self.config)

    def test_high_priority_pod_preempts_a_lower_one(self):
        self.add_node("n1", cpu="2")
        self.add_pod("low", cpu="1500m", priorityClassName="low")
        self.assertEqual(self.wait_bound("low"), "n1")
        self.add_pod("high", cpu="1500m", priorityClassName="high")
        wait_for(lambda: (self.get_pod("low") or {}).get("metadata", {}).get(
            "deletionTimestamp"), 10, "the victim's deletion")
        wait_for(lambda: self.get_pod("high")["status"].get("nominatedNodeName") == "n1",
                 10, "nominatedNodeName")
        self.assertEqual(self.condition("high")["reason"], "Unschedulable")
        ev = wait_for(lambda: self.events("low", "Preempted"), 10, "a Preempted event")
        self.assertIn("on node n1", ev[0]["message"])
        # The victim's containers stop; its room goes to the preemptor.
        self.kubelet_remove("low")
        self.assertEqual(self.wait_bound("high"), "n1")
        # A pod of equal priority preempts nothing.
        self.add_pod("peer", cpu="1500m", priorityClassName="high")
        self.wait_unschedulable("peer", "0/1 nodes are available: 1 Insufficient cpu.")
        self.assertFalse(self.get_pod("high")["metadata"].get("deletionTimestamp"))


class StandaloneTest(SchedulerTestCase):
    server_args = ("--no-controllers", "--no-scheduler")

    def test_berthd_scheduler_against_a_remote_server(self):
        self.add_node("n1")
        self.add_pod("early")
        time.sleep(0.3)
        self.assertIsNone(self.get_pod("early")["spec"].get("nodeName"))
        log = open(os.path.join(self.server.data_dir, "scheduler.log"), "wb")
        proc = subprocess.Popen(
            [berth_e2e.berthd_path(), "scheduler", "--kubeconfig", self.server.kubeconfig],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.assertEqual(self.wait_bound("early"), "n1")
            self.add_pod("late", cpu="100m")
            self.assertEqual(self.wait_bound("late"), "n1")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            rc = proc.wait(10)
            log.close()
        self.assertEqual(rc, 0)

    def test_bad_config_is_refused(self):
        fd, path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write("weights: {NodeAffinity: -1}\n")
        try:
            out = subprocess.run(
                [berth_e2e.berthd_path(), "scheduler", "--kubeconfig", self.server.kubeconfig,
                 "--config", path], capture_output=True, text=True, timeout=10)
        finally:
            os.unlink(path)
        self.assertEqual(out.returncode, 1)
        self.assertIn("weights.NodeAffinity", out.stderr)


if __name__ == "__main__":
    unittest.main()
