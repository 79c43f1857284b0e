"""End to end: the node agent inside `berthd server` runs pods for real with
the process runtime and the busybox image (needs root). Every test removes
its pods; tearDown kills any container process left, unmounts and removes
its cgroups from the runtime's state dir, whatever failed."""
import base64
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import berth_e2e
from berth_e2e import wait_for  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
NODE = "berth-e2e-node"




def pod(name, containers, **spec):
    s = {"nodeName": NODE, "terminationGracePeriodSeconds": 2, "containers": containers}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def sh(name, script, **extra):
    c = {"name": name, "image": "busybox", "command": ["sh", "-c", script]}
    c.update(extra)
    return c


@unittest.skipUnless(os.geteuid() == 0, "the process runtime needs root")
class AgentTest(berth_e2e.ServerTestCase):
    server_args = ("--node-name", NODE)
    agent = True

    def setUp(self):
        self.pods = []

    def tearDown(self):
        s = self.server
        for name in self.pods:
            s.request("DELETE", NS + "/pods/" + name + "?gracePeriodSeconds=0")
        deadline = time.time() + 20
        while time.time() < deadline and any(
                s.request("GET", NS + "/pods/" + n)[0] == 200 for n in self.pods):
            time.sleep(0.1)
        self.kill_leftovers()

    def kill_leftovers(self):
        berth_e2e.kill_node_leftovers(self.server.data_dir)

    # -- helpers --
    def create(self, obj):
        self.pods.append(obj["metadata"]["name"])
        code, _, body = self.server.request("POST", NS + "/pods", obj)
        self.assertEqual(code, 201, body)

    def get(self, name):
        return self.server.request("GET", NS + "/pods/" + name)[2]

    def status_of(self, name, cname=None):
        st = self.get(name).get("status", {})
        for cs in st.get("containerStatuses", []):
            if cname is None or cs["name"] == cname:
                return cs
        return {}

    def condition(self, name, ctype):
        for c in self.get(name).get("status", {}).get("conditions", []):
            if c["type"] == ctype:
                return c["status"]
        return None

    def logs(self, name, query=""):
        return self.server.request("GET", NS + "/pods/" + name + "/log" + query)

    def kubectl(self, *args):
        env = dict(os.environ, KUBECONFIG=self.server.kubeconfig)
        return subprocess.run(["kubectl"] + list(args), env=env, capture_output=True,
                              text=True, timeout=30)

    # -- tests --
    def test_node_and_lease(self):
        s = self.server
        def ready():
            conds = s.request("GET", "/api/v1/nodes/" + NODE)[2].get("status", {}).get(
                "conditions") or []
            return [c for c in conds if c["type"] == "Ready" and c["status"] == "True"]
        # Ready once the node has its pod CIDR and the network plugin is up.
        wait_for(ready, what="a Ready node")
        n = s.request("GET", "/api/v1/nodes/" + NODE)[2]
        self.assertEqual(n["status"]["capacity"]["pods"], "110")
        self.assertIn("memory", n["status"]["allocatable"])
        types = {a["type"] for a in n["status"]["addresses"]}
        self.assertEqual(types, {"InternalIP", "Hostname"})
        lease = wait_for(lambda: s.request(
            "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + NODE)[2]
            .get("spec"), what="lease")
        self.assertEqual(lease["holderIdentity"], NODE)

    def test_pod_runs_and_logs(self):
        self.create(pod("hello", [sh("c", "echo hello $(WHO) $POD; while true; do sleep 1; done",
                                      env=[{"name": "WHO", "value": "berth"},
                                           {"name": "POD", "valueFrom": {"fieldRef": {
                                               "fieldPath": "metadata.name"}}}])]))
        wait_for(lambda: self.get("hello").get("status", {}).get("phase") == "Running",
                 what="Running")
        self.assertEqual(self.condition("hello", "Ready"), "True")
        wait_for(lambda: "hello berth hello" in str(self.logs("hello")[2]), what="log line")
        if shutil.which("kubectl"):
            out = self.kubectl("logs", "hello")
            self.assertIn("hello berth hello", out.stdout, out.stderr)
        code, _, body = self.logs("hello", "?timestamps=true&tailLines=1")
        self.assertEqual(code, 200)
        self.assertRegex(body, r"^\d{4}-\d\d-\d\dT")

    def test_log_windows_and_previous(self):
        # Each run prints its own line, then exits: the previous run's log
        # stays readable, and sinceSeconds leaves out older lines.
        self.create(pod("runs", [sh("c", "echo run-$(date +%s%N); sleep 2; exit 1")]))
        wait_for(lambda: self.status_of("runs").get("restartCount", 0) >= 1, timeout=30,
                 what="a restart")
        code, _, prev = self.logs("runs", "?previous=true")
        self.assertEqual(code, 200, prev)
        self.assertTrue(prev.startswith("run-"), prev)
        code, _, cur = wait_for(lambda: (lambda r: r if r[2].startswith("run-") else None)(
            self.logs("runs")), what="the current run's line")
        self.assertNotEqual(prev, cur)
        time.sleep(1.5)
        code, _, recent = self.logs("runs", "?sinceSeconds=1")
        self.assertEqual((code, recent), (200, ""))

    def berthctl(self, *args, **kw):
        return subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                               "--kubeconfig", self.server.kubeconfig] + list(args),
                              capture_output=True, text=True, timeout=60, **kw)

    def test_exec_and_berthctl_logs(self):
        self.create(pod("shell", [sh("c", "echo ready; while true; do sleep 1; done")]))
        wait_for(lambda: self.get("shell").get("status", {}).get("phase") == "Running",
                 what="Running")
        out = self.berthctl("exec", "shell", "--", "sh", "-c", "echo in $(hostname); exit 3")
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertEqual(out.stdout.strip(), "in shell")
        wait_for(lambda: "ready" in self.berthctl("logs", "shell").stdout, what="berthctl logs")

    def test_image_import_ls_rm_and_run(self):
        tmp = tempfile.mkdtemp(prefix="berth-image-")
        try:
            root = os.path.join(tmp, "root")
            os.makedirs(os.path.join(root, "bin"))
            shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
            os.symlink("busybox", os.path.join(root, "bin", "sh"))
            tarball = os.path.join(tmp, "mine.tar.gz")
            subprocess.check_call(["tar", "-C", root, "-czf", tarball, "."])
            dd = ("--data-dir", self.server.data_dir)
            out = self.berthctl("image", "import", "mine:v1", tarball, *dd)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("image/mine:v1 imported", out.stdout)
            self.assertIn("mine:v1", self.berthctl("image", "ls", *dd).stdout)
            self.create(pod("mine", [{"name": "c", "image": "mine:v1",
                                      "command": ["/bin/sh", "-c", "echo from mine; sleep 60"]}]))
            wait_for(lambda: "from mine" in str(self.logs("mine")[2]), what="the imported image")
            out = self.berthctl("image", "rm", "mine:v1", *dd)
            self.assertEqual(out.returncode, 0, out.stderr)
            out = self.berthctl("image", "rm", "mine:v1", *dd)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("not present", out.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_restart_readopts_running_containers(self):
        self.create(pod("keep", [sh("c", "while true; do sleep 1; done")]))
        wait_for(lambda: self.get("keep").get("status", {}).get("phase") == "Running",
                 what="Running")
        before = self.status_of("keep")["containerID"]
        # kill -9 of the daemon alone: container monitors live in their own
        # sessions and keep the containers running.
        self.server.stop(signal.SIGKILL)
        self.server.start()
        time.sleep(3)
        wait_for(lambda: self.condition("keep", "Ready") == "True", what="Ready again")
        after = self.status_of("keep")
        self.assertEqual(after["containerID"], before)
        self.assertEqual(after["restartCount"], 0)

    def test_restart_backoff(self):
        self.create(pod("crash", [sh("c", "echo run; exit 3")]))
        wait_for(lambda: self.status_of("crash").get("restartCount", 0) >= 1, what="restart 1")
        cs = wait_for(lambda: (lambda c: c if c.get("state", {}).get("waiting", {})
                               .get("reason") == "CrashLoopBackOff" else None)(
            self.status_of("crash")), what="CrashLoopBackOff")
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 3)
        t0 = time.time()
        wait_for(lambda: self.status_of("crash").get("restartCount", 0) >= 2, timeout=20,
                 what="restart 2")
        self.assertGreater(time.time() - t0, 5, "the second restart waits for the backoff")
        code, _, body = self.logs("crash", "?previous=true")
        self.assertEqual(code, 200)
        self.assertIn("run", body)

    def test_liveness_restarts(self):
        self.create(pod("live", [sh("c", "while true; do sleep 1; done", livenessProbe={
            "exec": {"command": ["sh", "-c", "exit 1"]}, "periodSeconds": 1,
            "failureThreshold": 2})]))
        wait_for(lambda: self.status_of("live").get("restartCount", 0) >= 1, timeout=30,
                 what="a liveness restart")

    def test_readiness_gates_ready(self):
        self.create(pod("ready", [sh("c", "sleep 3; touch /tmp/ready; while true; do sleep 1; done",
                                     readinessProbe={"exec": {"command": ["test", "-e", "/tmp/ready"]},
                                                     "periodSeconds": 1})]))
        wait_for(lambda: self.get("ready").get("status", {}).get("phase") == "Running",
                 what="Running")
        self.assertEqual(self.condition("ready", "Ready"), "False")
        wait_for(lambda: self.condition("ready", "Ready") == "True", timeout=20, what="Ready")

    def test_http_and_tcp_probes(self):
        # Each pod has its own address: probes go to it, not to the node's.
        web, closed = 8080, 8081
        self.create(pod("probed", [sh("c", "mkdir -p /tmp/www; echo ok > /tmp/www/healthz; "
                                           "httpd -f -p %d -h /tmp/www" % web,
                                      readinessProbe={"httpGet": {"path": "/healthz", "port": web},
                                                      "periodSeconds": 1},
                                      livenessProbe={"tcpSocket": {"port": web},
                                                     "periodSeconds": 1})]))
        wait_for(lambda: self.condition("probed", "Ready") == "True", timeout=20,
                 what="Ready through an httpGet probe")
        time.sleep(2)
        self.assertEqual(self.status_of("probed").get("restartCount"), 0)
        self.create(pod("deaf", [sh("c", "while true; do sleep 1; done",
                                    livenessProbe={"tcpSocket": {"port": closed},
                                                   "periodSeconds": 1, "failureThreshold": 2})]))
        wait_for(lambda: self.status_of("deaf").get("restartCount", 0) >= 1, timeout=30,
                 what="a tcpSocket liveness restart")

    def test_configmap_and_secret(self):
        s = self.server
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
              "data": {"greeting": "hi", "file.txt": "one"}}
        sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
               "data": {"pw": base64.b64encode(b"s3cret").decode()}}
        self.assertEqual(s.request("POST", NS + "/configmaps", cm)[0], 201)
        self.assertEqual(s.request("POST", NS + "/secrets", sec)[0], 201)
        try:
            self.create(pod("cfg", [sh(
                "c", "echo G=$GREETING P=$PW; cat /etc/sec/pw; echo; "
                     "while true; do cat /etc/cfg/file.txt; echo; sleep 1; done",
                env=[{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
                    "name": "cfg", "key": "greeting"}}},
                     {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}}],
                volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"},
                              {"name": "sec", "mountPath": "/etc/sec"}])],
                volumes=[{"name": "cfg", "configMap": {"name": "cfg"}},
                         {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}}]))
            wait_for(lambda: "G=hi P=s3cret" in str(self.logs("cfg")[2]), what="env")
            self.assertIn("s3cret", self.logs("cfg")[2])
            wait_for(lambda: "one" in str(self.logs("cfg")[2]), what="file")
            cm["data"]["file.txt"] = "two"
            code, _, body = s.request("PUT", NS + "/configmaps/cfg", cm)
            self.assertEqual(code, 200, body)
            wait_for(lambda: "two" in str(self.logs("cfg", "?tailLines=2")[2]), timeout=30,
                     what="the edited file")
        finally:
            s.request("DELETE", NS + "/configmaps/cfg")
            s.request("DELETE", NS + "/secrets/sec")

    def test_claim_data_outlives_its_pods(self):
        """A claim provisioned by the local-path provisioner: what one pod
        writes, the next pod reads; a pod whose claim is missing waits,
        saying so; a claim deleted while a pod uses it stays, with its data,
        until the pod goes."""
        s = self.server
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "keep"},
                 "spec": {"accessModes": ["ReadWriteOnce"],
                          "resources": {"requests": {"storage": "1Gi"}}}}
        self.assertEqual(s.request("POST", NS + "/persistentvolumeclaims", claim)[0], 201)
        vol = [{"name": "d", "persistentVolumeClaim": {"claimName": "keep"}}]
        mnt = [{"name": "d", "mountPath": "/d"}]
        try:
            self.create(pod("writer", [sh("c", "echo kept > /d/f", volumeMounts=mnt)],
                            volumes=vol, restartPolicy="Never"))
            wait_for(lambda: self.get("writer").get("status", {}).get("phase") == "Succeeded",
                     timeout=30, what="the writer done")
            # The reader keeps running: a pod that finished holds no claim.
            self.create(pod("reader", [sh("c", "cat /d/f; exec sleep 3600", volumeMounts=mnt)],
                            volumes=vol, restartPolicy="Never"))
            wait_for(lambda: str(self.logs("reader")[2]).strip() == "kept", timeout=30,
                     what="the reader's read")
            # The node holding the data pinned the volume to itself.
            pv = s.request("GET", "/api/v1/persistentvolumes/" + s.request(
                "GET", NS + "/persistentvolumeclaims/keep")[2]["spec"]["volumeName"])[2]
            terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
            self.assertEqual(terms, [{"matchExpressions": [{
                "key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}]}])
            self.create(pod("orphan", [sh("c", "true", volumeMounts=mnt)], restartPolicy="Never",
                            volumes=[{"name": "d",
                                      "persistentVolumeClaim": {"claimName": "nope"}}]))
            cs = wait_for(lambda: self.status_of("orphan").get("state", {}).get("waiting", {})
                          .get("message"), what="the waiting reason")
            self.assertIn('persistentvolumeclaim "nope" not found', cs)
            # The claim carries the pvc-protection finalizer: deleted while
            # the reader uses it, it stays (Terminating), and so do its
            # volume and data.
            data = os.path.join(s.data_dir, "volumes", "default-keep")
            self.assertTrue(os.path.isfile(os.path.join(data, "f")))
            kept = s.request("GET", NS + "/persistentvolumeclaims/keep")[2]
            self.assertIn("kubernetes.io/pvc-protection", kept["metadata"]["finalizers"])
            self.assertIn(s.request("DELETE", NS + "/persistentvolumeclaims/keep")[0], (200, 202))
            time.sleep(2)
            code, _, kept = s.request("GET", NS + "/persistentvolumeclaims/keep")
            self.assertEqual(code, 200, "the claim went while the reader used it")
            self.assertIn("deletionTimestamp", kept["metadata"])
            self.assertEqual(s.request("GET", "/api/v1/persistentvolumes/" +
                                       kept["spec"]["volumeName"])[0], 200)
            self.assertTrue(os.path.isfile(os.path.join(data, "f")))
            self.assertEqual(self.get("reader")["status"]["phase"], "Running")
            self.assertIn("Terminating", self.kubectl("get", "pvc", "keep").stdout)
            # A new pod does not take a claim on its way out.
            self.create(pod("late", [sh("c", "true", volumeMounts=mnt)], volumes=vol,
                            restartPolicy="Never"))
            msg = wait_for(lambda: self.status_of("late").get("state", {}).get("waiting", {})
                           .get("message"), what="the late pod waiting")
            self.assertIn('persistentvolumeclaim "keep" is being deleted', msg)
            # Reclaim policy Delete: once no pod uses the claim, it goes,
            # and with it its volume and data.
            for name in ("writer", "reader", "late"):
                s.request("DELETE", NS + "/pods/" + name)
            wait_for(lambda: all(s.request("GET", NS + "/pods/" + n)[0] == 404
                                 for n in ("writer", "reader", "late")), what="the pods gone")
            wait_for(lambda: s.request("GET", NS + "/persistentvolumeclaims/keep")[0] == 404,
                     what="the claim gone")
            wait_for(lambda: not os.path.exists(data), what="the volume's data removed")
        finally:
            s.request("DELETE", NS + "/persistentvolumeclaims/keep")

    def test_volumes_you_create(self):
        """The Kubernetes tutorial's hostPath PersistentVolume of class
        manual, and a volume of the volume-dir plugin named by its claim:
        both bind, and a pod's writes land in them on the node."""
        s = self.server
        host_dir = tempfile.mkdtemp(prefix="berth-pv-")
        pvs = [{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "task-pv"},
                "spec": {"storageClassName": "manual", "capacity": {"storage": "10Gi"},
                         "accessModes": ["ReadWriteOnce"], "hostPath": {"path": host_dir}}},
               {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "dir-pv"},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         "csi": {"driver": "dir", "volumeHandle": "e2e-shared"}}}]
        claims = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "task-pv-claim"},
                   "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "3Gi"}}}},
                  {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "dir-claim"},
                   "spec": {"volumeName": "dir-pv", "storageClassName": "",
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}]
        try:
            for pv in pvs:
                self.assertEqual(s.request("POST", "/api/v1/persistentvolumes", pv)[0], 201)
            for c in claims:
                self.assertEqual(s.request("POST", NS + "/persistentvolumeclaims", c)[0], 201)
            self.create(pod("pv-user", [sh("c", "echo one > /a/f && echo two > /b/f", volumeMounts=[
                {"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/b"}])],
                restartPolicy="Never",
                volumes=[{"name": "a", "persistentVolumeClaim": {"claimName": "task-pv-claim"}},
                         {"name": "b", "persistentVolumeClaim": {"claimName": "dir-claim"}}]))
            wait_for(lambda: self.get("pv-user").get("status", {}).get("phase") == "Succeeded",
                     timeout=30, what="the pod done")
            self.assertEqual(s.request("GET", NS + "/persistentvolumeclaims/task-pv-claim")[2]
                             ["spec"]["volumeName"], "task-pv")
            with open(os.path.join(host_dir, "f")) as f:
                self.assertEqual(f.read(), "one\n")
            shared = os.path.join(self.server.data_dir, "plugins", "volume-dir", "volumes",
                                  "e2e-shared")
            with open(os.path.join(shared, "f")) as f:
                self.assertEqual(f.read(), "two\n")
            s.request("DELETE", NS + "/pods/pv-user")
            wait_for(lambda: s.request("GET", NS + "/pods/pv-user")[0] == 404, what="pod gone")
            # The pod's mounts are gone; the volumes' data stays.
            with open("/proc/mounts") as f:
                self.assertNotIn(os.path.join(self.server.data_dir, "pods"), f.read())
            self.assertTrue(os.path.exists(os.path.join(shared, "f")))
            self.assertTrue(os.path.exists(os.path.join(host_dir, "f")))
        finally:
            for c in claims:
                s.request("DELETE", NS + "/persistentvolumeclaims/" + c["metadata"]["name"])
            for pv in pvs:
                s.request("DELETE", "/api/v1/persistentvolumes/" + pv["metadata"]["name"])
            shutil.rmtree(host_dir, ignore_errors=True)

    def test_bad_volumes_wait_naming_the_problem(self):
        """Volumes that cannot be provided leave their pod waiting, with a
        message that says why; nothing else is harmed."""
        s = self.server
        pvs = [{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "bad-handle"},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         "claimRef": {"namespace": "default", "name": "bad-handle"},
                         "csi": {"driver": "dir", "volumeHandle": "../escape"}}},
               {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "bad-nfs"},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         "claimRef": {"namespace": "default", "name": "bad-nfs"},
                         "nfs": {"server": "192.0.2.1", "path": "/x"}}}]
        claims = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": n},
                   "spec": {"volumeName": n, "storageClassName": "",
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}
                  for n in ("bad-handle", "bad-nfs")]
        try:
            for pv in pvs:
                self.assertEqual(s.request("POST", "/api/v1/persistentvolumes", pv)[0], 201)
            for c in claims:
                self.assertEqual(s.request("POST", NS + "/persistentvolumeclaims", c)[0], 201)
            cases = {
                "bad-driver": ({"csi": {"driver": "../../etc"}}, 'volume plugin "../../etc"'),
                "bad-attr": ({"csi": {"driver": "dir", "volumeAttributes": {"size": "1Gi"}}},
                             "MountVolume.SetUp failed"),
                "bad-handle": ({"persistentVolumeClaim": {"claimName": "bad-handle"}},
                               "MountVolume.SetUp failed"),
                "bad-nfs": ({"persistentVolumeClaim": {"claimName": "bad-nfs"}},
                            "only hostPath, local and csi volumes"),
            }
            for name, (src, _) in cases.items():
                self.create(pod(name, [sh("c", "true", volumeMounts=[
                    {"name": "v", "mountPath": "/v"}])], volumes=[dict({"name": "v"}, **src)]))
            for name, (_, want) in cases.items():
                msg = wait_for(lambda: self.status_of(name).get("state", {}).get("waiting", {})
                               .get("message"), timeout=30, what=name + " waiting")
                self.assertIn(want, msg, name)
            # Nothing was made for them, in the plugin's store or beside it.
            plugin = os.path.join(s.data_dir, "plugins", "volume-dir")
            uid = self.get("bad-attr")["metadata"]["uid"]
            made = [n for d in (plugin, os.path.join(plugin, "volumes")) if os.path.isdir(d)
                    for n in os.listdir(d)]
            self.assertFalse([n for n in made if "escape" in n or uid in n], made)
        finally:
            for c in claims:
                s.request("DELETE", NS + "/persistentvolumeclaims/" + c["metadata"]["name"])
            for pv in pvs:
                s.request("DELETE", "/api/v1/persistentvolumes/" + pv["metadata"]["name"])

    def test_memory_empty_dir_is_a_tmpfs(self):
        self.create(pod("mem", [sh("c", "grep ' /scratch ' /proc/mounts; sleep 3600",
                                   volumeMounts=[{"name": "s", "mountPath": "/scratch"}])],
                        volumes=[{"name": "s", "emptyDir": {"medium": "Memory",
                                                            "sizeLimit": "8Mi"}}]))
        out = wait_for(lambda: self.logs("mem")[2] if "tmpfs" in str(self.logs("mem")[2])
                       else None, what="the tmpfs in the container")
        self.assertIn("size=8192k", out)
        uid = self.get("mem")["metadata"]["uid"]
        self.server.request("DELETE", NS + "/pods/mem")
        wait_for(lambda: self.server.request("GET", NS + "/pods/mem")[0] == 404,
                 what="the pod gone")
        with open("/proc/mounts") as f:
            self.assertNotIn(uid, f.read())

    def test_volume_plugin_inline_volume(self):
        """An inline csi volume from the volume-dir plugin: there while the
        pod runs, read-only where asked, gone with the pod."""
        self.create(pod("csi", [sh("c", "echo hi > /v/f && cat /v/f && "
                                        "(touch /ro/f 2>/dev/null || echo read-only) && "
                                        "sleep 3600",
                                   volumeMounts=[{"name": "v", "mountPath": "/v"},
                                                 {"name": "ro", "mountPath": "/ro"}])],
                        volumes=[{"name": "v", "csi": {"driver": "dir",
                                                       "volumeAttributes": {"mode": "0700"}}},
                                 {"name": "ro", "csi": {"driver": "dir", "readOnly": True}}]))
        wait_for(lambda: "read-only" in str(self.logs("csi")[2]), what="the pod's output")
        self.assertEqual(self.logs("csi")[2].split(), ["hi", "read-only"])
        uid = self.get("csi")["metadata"]["uid"]
        store = os.path.join(self.server.data_dir, "plugins", "volume-dir", "volumes")
        self.assertEqual(os.stat(os.path.join(store, uid + "-v")).st_mode & 0o777, 0o700)
        self.server.request("DELETE", NS + "/pods/csi")
        wait_for(lambda: self.server.request("GET", NS + "/pods/csi")[0] == 404,
                 what="the pod gone")
        self.assertEqual(sorted(os.listdir(store)), [])
        with open("/proc/mounts") as f:
            self.assertNotIn(uid, f.read())
        # A driver that is no plugin: the pod waits, naming it.
        self.create(pod("nodriver", [sh("c", "true")],
                        volumes=[{"name": "v", "csi": {"driver": "nosuch"}}]))
        msg = wait_for(lambda: self.status_of("nodriver").get("state", {}).get("waiting", {})
                       .get("message"), what="the waiting reason")
        self.assertIn('volume plugin "nosuch"', msg)

    def test_pod_spec_features(self):
        """Much of a pod spec at once, as the kubelet runs it: init containers
        first, workingDir, env from fields, resources and envFrom, downward
        API files, subPath, hostPath types, a startup probe, and a preStop
        hook that runs before the container is stopped."""
        s = self.server
        host = tempfile.mkdtemp(prefix="berth-host-")
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "feat"},
              "data": {"COLOR": "blue", "SIZE": "L"}}
        self.assertEqual(s.request("POST", NS + "/configmaps", cm)[0], 201)
        script = ("echo pwd=$(pwd) name=$MY_NAME ip=$MY_IP mem=$MEM_LIMIT "
                  "color=$CFG_COLOR size=$CFG_SIZE; cat /work/from-init; "
                  "cat /info/labels; echo; ls /sub; touch /host-dir/made /host-file; "
                  "echo proj=$(cat /proj/color)/$(cat /proj/pod); sleep 3600")
        p = pod("feat", [sh("c", script, workingDir="/work",
                            env=[{"name": "MY_NAME", "valueFrom": {"fieldRef": {
                                     "fieldPath": "metadata.name"}}},
                                 {"name": "MY_IP", "valueFrom": {"fieldRef": {
                                     "fieldPath": "status.podIP"}}},
                                 {"name": "MEM_LIMIT", "valueFrom": {"resourceFieldRef": {
                                     "resource": "limits.memory", "divisor": "1Mi"}}}],
                            envFrom=[{"prefix": "CFG_", "configMapRef": {"name": "feat"}}],
                            resources={"limits": {"memory": "64Mi"}},
                            startupProbe={"exec": {"command": ["true"]}, "periodSeconds": 1},
                            lifecycle={"preStop": {"exec": {"command": [
                                "sh", "-c", "echo stopping > /host-dir/prestop"]}}},
                            volumeMounts=[{"name": "work", "mountPath": "/work"},
                                          {"name": "info", "mountPath": "/info"},
                                          {"name": "work", "mountPath": "/sub",
                                           "subPath": "nested"},
                                          {"name": "hd", "mountPath": "/host-dir"},
                                          {"name": "hf", "mountPath": "/host-file"},
                                          {"name": "proj", "mountPath": "/proj"}])],
                initContainers=[sh("init", "echo done-by-init > /work/from-init && "
                                           "mkdir -p /work/nested && touch /work/nested/x",
                                   volumeMounts=[{"name": "work", "mountPath": "/work"}])],
                volumes=[{"name": "work", "emptyDir": {}},
                         {"name": "info", "downwardAPI": {"items": [
                             {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                         {"name": "hd", "hostPath": {"path": os.path.join(host, "d"),
                                                     "type": "DirectoryOrCreate"}},
                         {"name": "hf", "hostPath": {"path": os.path.join(host, "f"),
                                                     "type": "FileOrCreate"}},
                         {"name": "proj", "projected": {"defaultMode": 0o440, "sources": [
                             {"configMap": {"name": "feat", "items": [
                                 {"key": "COLOR", "path": "color"}]}},
                             {"downwardAPI": {"items": [{"path": "pod", "fieldRef": {
                                 "fieldPath": "metadata.name"}}]}},
                             {"serviceAccountToken": {"path": "token"}}]}}])
        p["metadata"]["labels"] = {"tier": "test"}
        p["spec"]["terminationGracePeriodSeconds"] = 5
        try:
            self.create(p)
            out = wait_for(lambda: (lambda t: t if "proj=" in t else None)(
                str(self.logs("feat")[2])), timeout=30, what="the container's output")
            self.assertIn("proj=blue/feat", out)
            ip = self.get("feat")["status"]["podIP"]
            self.assertIn("pwd=/work name=feat ip=%s mem=64 color=blue size=L" % ip, out)
            self.assertIn("done-by-init", out)
            self.assertIn('tier="test"', out)
            self.assertIn("x", out.split('tier="test"')[1])
            wait_for(lambda: os.path.exists(os.path.join(host, "d", "made")),
                     what="the hostPath directory written")
            self.assertTrue(os.path.isfile(os.path.join(host, "f")))
            # Ready only once the startup probe has passed.
            st = wait_for(lambda: (lambda c: c if c.get("started") else None)(
                self.status_of("feat")), what="the startup probe passing")
            self.assertTrue(st["ready"], st)
            inits = self.get("feat")["status"]["initContainerStatuses"]
            self.assertEqual(inits[0]["state"]["terminated"]["reason"], "Completed")
            s.request("DELETE", NS + "/pods/feat")
            wait_for(lambda: s.request("GET", NS + "/pods/feat")[0] == 404, timeout=20,
                     what="the pod gone")
            with open(os.path.join(host, "d", "prestop")) as f:
                self.assertEqual(f.read(), "stopping\n")
        finally:
            # The pod first: its agent would make the hostPath directory again.
            s.request("DELETE", NS + "/pods/feat?gracePeriodSeconds=0")
            wait_for(lambda: s.request("GET", NS + "/pods/feat")[0] == 404, what="feat gone")
            s.request("DELETE", NS + "/configmaps/feat")
            shutil.rmtree(host, ignore_errors=True)

    def test_startup_probe_gates_ready(self):
        self.create(pod("slow", [sh("c", "sleep 2; touch /tmp/up; sleep 3600", startupProbe={
            "exec": {"command": ["test", "-f", "/tmp/up"]}, "periodSeconds": 1,
            "failureThreshold": 30})]))
        st = wait_for(lambda: (lambda c: c if c.get("state", {}).get("running") else None)(
            self.status_of("slow")), what="running")
        self.assertEqual((st["started"], st["ready"]), (False, False), st)
        st = wait_for(lambda: (lambda c: c if c.get("started") else None)(
            self.status_of("slow")), what="started")
        wait_for(lambda: self.status_of("slow").get("ready"), what="ready once started")
        self.assertEqual(self.condition("slow", "Ready"), "True")

    def test_active_deadline(self):
        self.create(pod("deadline", [sh("c", "sleep 3600")], activeDeadlineSeconds=1,
                        terminationGracePeriodSeconds=1))
        st = wait_for(lambda: (lambda x: x if x.get("phase") == "Failed" else None)(
            self.get("deadline").get("status", {})), timeout=30, what="the pod Failed")
        self.assertEqual(st.get("reason"), "DeadlineExceeded")

    def test_missing_image_waits(self):
        self.create(pod("noimg", [{"name": "c", "image": "nosuchimage:1", "command": ["true"]}]))
        cs = wait_for(lambda: (lambda c: c if c.get("state", {}).get("waiting", {})
                               .get("reason") == "ErrImageNeverPull" else None)(
            self.status_of("noimg")), what="ErrImageNeverPull")
        self.assertIn("berthctl image import", cs["state"]["waiting"]["message"])

    def test_memory_limit_oomkilled(self):
        self.create(pod("oom", [sh("c", "tail /dev/zero", resources={
            "limits": {"memory": "32Mi"}})], restartPolicy="Never"))
        cs = wait_for(lambda: self.status_of("oom").get("state", {}).get("terminated"),
                      timeout=30, what="termination")
        self.assertEqual(cs["reason"], "OOMKilled")
        wait_for(lambda: self.get("oom").get("status", {}).get("phase") == "Failed",
                 what="Failed")

    def test_delete_stops_within_grace(self):
        self.create(pod("term", [sh("c", "trap 'echo bye; exit 0' TERM; "
                                         "while true; do sleep 0.2; done")],
                        terminationGracePeriodSeconds=5))
        cs = wait_for(lambda: self.status_of("term").get("state", {}).get("running"),
                      what="running")
        cid = self.status_of("term")["containerID"].split("://")[1]
        cdir = os.path.join(self.server.data_dir, "plugins", "runtime-process", "containers", cid)
        with open(os.path.join(cdir, "pids")) as f:
            pid = int(f.read().split()[2])
        t0 = time.time()
        self.server.request("DELETE", NS + "/pods/term")
        wait_for(lambda: self.server.request("GET", NS + "/pods/term")[0] == 404, timeout=10,
                 what="the pod removed")
        self.assertLess(time.time() - t0, 7)
        self.assertFalse(os.path.exists("/proc/%d" % pid), "the container process is gone")
        self.assertFalse(os.path.exists(cdir), "the runtime state is removed")
        self.assertEqual(glob.glob("/sys/fs/cgroup/*/berth/" + cid), [])
        with open("/proc/mounts") as f:
            self.assertNotIn(cid, f.read())

    def test_deployment_runs(self):
        s = self.server
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                            "terminationGracePeriodSeconds": 1,
                            "containers": [sh("web", "while true; do sleep 1; done")]}}}}
        self.assertEqual(s.request("POST", APPS + "/deployments", dep)[0], 201)
        try:
            def pods():
                items = s.request("GET", NS + "/pods?labelSelector=app%3Dweb")[2].get("items", [])
                for p in items:
                    name = p["metadata"]["name"]
                    if name not in self.pods:
                        self.pods.append(name)
                    if not p["spec"].get("nodeName"):  # no scheduler in this server yet
                        s.request("POST", NS + "/pods/%s/binding" % name, {
                            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}})
                return [p for p in items if p.get("status", {}).get("phase") == "Running"]
            wait_for(lambda: len(pods()) == 2, timeout=40, what="2 Running pods")
        finally:
            s.request("DELETE", APPS + "/deployments/web")

@unittest.skipUnless(os.geteuid() == 0, "the process runtime needs root")
class RemoteAgentTest(unittest.TestCase):
    """A node agent in its own process (another node, as far as the server
    knows): its pods' logs and exec reach clients through the API server,
    which passes the requests on to the endpoint the agent publishes."""

    def test_logs_and_exec_through_the_server(self):
        server = berth_e2e.Server(extra_args=("--no-agent",))
        agent_dir = tempfile.mkdtemp(prefix="berth-agent-")
        agent = None
        try:
            server.start()
            port = berth_e2e.free_port()

            def start_agent():
                with open(os.path.join(agent_dir, "agent.log"), "ab") as log:
                    return subprocess.Popen(
                        [berth_e2e.berthd_path(), "agent", "--kubeconfig", server.kubeconfig,
                         "--data-dir", agent_dir, "--node-name", "remote",
                         "--listen", "127.0.0.1:%d" % port],
                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            agent = start_agent()
            wait_for(lambda: server.request("GET", "/api/v1/nodes/remote")[0] == 200,
                     what="the remote node")
            node = server.request("GET", "/api/v1/nodes/remote")[2]
            self.assertEqual(node["metadata"]["annotations"]["berth.dev/agent-endpoint"],
                             "https://127.0.0.1:%d" % port)
            p = pod("far", [sh("c", "echo from afar; while true; do sleep 1; done")])
            p["spec"]["nodeName"] = "remote"
            p["spec"]["terminationGracePeriodSeconds"] = 2
            st, _, body = server.request("POST", NS + "/pods", p)
            self.assertEqual(st, 201, body)
            # A pod with a plugin volume, to be force-deleted while the agent is down.
            forced = pod("forced", [sh("c", "exec sleep 3600",
                                       volumeMounts=[{"name": "v", "mountPath": "/v"}])],
                         volumes=[{"name": "v", "csi": {"driver": "dir"}}])
            forced["spec"]["nodeName"] = "remote"
            st, _, body = server.request("POST", NS + "/pods", forced)
            self.assertEqual(st, 201, body)
            wait_for(lambda: server.request("GET", NS + "/pods/forced")[2].get("status", {})
                     .get("phase") == "Running", what="the pod with a volume running")
            wait_for(lambda: "from afar" in str(server.request("GET", NS + "/pods/far/log")[2]),
                     what="logs through the server")
            ctl = os.path.join(berth_e2e._build_dir(), "berthctl")
            out = subprocess.run([ctl, "--kubeconfig", server.kubeconfig, "exec", "far", "--",
                                  "sh", "-c", "echo $(hostname); exit 5"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 5, out.stderr)
            self.assertEqual(out.stdout.strip(), "far")
            if shutil.which("kubectl"):
                out = subprocess.run(["kubectl", "--kubeconfig", server.kubeconfig, "logs", "far"],
                                     capture_output=True, text=True, timeout=60)
                self.assertIn("from afar", out.stdout, out.stderr)
            # A pod deleted while its agent is down goes when the agent returns.
            pids = glob.glob(os.path.join(agent_dir, "plugins", "runtime-process",
                                          "containers", "*", "pids"))
            self.assertEqual(len(pids), 2)
            far_id = server.request("GET", NS + "/pods/far")[2]["status"]["containerStatuses"][0][
                "containerID"].split("://")[1]
            with open(os.path.join(agent_dir, "plugins", "runtime-process", "containers", far_id,
                                   "pids")) as f:
                ctr_pid = int(f.read().split()[2])
            agent.kill()
            agent.wait()
            st, _, _ = server.request("DELETE", NS + "/pods/far")
            self.assertIn(st, (200, 202))
            st, _, _ = server.request("DELETE", NS + "/pods/forced?gracePeriodSeconds=0")
            self.assertIn(st, (200, 202))
            time.sleep(1)
            self.assertTrue(os.path.exists("/proc/%d" % ctr_pid), "left alone while down")
            agent = start_agent()
            wait_for(lambda: server.request("GET", NS + "/pods/far")[0] == 404, timeout=40,
                     what="the pod gone after the agent returned")
            wait_for(lambda: not os.path.exists("/proc/%d" % ctr_pid), timeout=20,
                     what="its process gone")
            # The force-deleted pod's volume is unmounted and freed, its dir gone.
            wait_for(lambda: not os.listdir(os.path.join(agent_dir, "pods")), timeout=20,
                     what="no pod dir left")
            self.assertEqual(os.listdir(os.path.join(agent_dir, "plugins", "volume-dir",
                                                     "volumes")), [])
            with open("/proc/mounts") as f:
                self.assertNotIn(os.path.join(agent_dir, "pods"), f.read())
        finally:
            if agent:
                agent.terminate()
                try:
                    agent.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(agent.pid, signal.SIGKILL)
                    agent.wait()
            server.cleanup()
            for pids in glob.glob(os.path.join(agent_dir, "plugins", "runtime-process",
                                               "containers", "*", "pids")):
                try:
                    with open(pids) as f:
                        for pid in f.read().split()[0::2]:
                            os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            with open("/proc/mounts") as f:
                for line in f:
                    if line.split()[1].startswith(agent_dir):
                        subprocess.call(["umount", "-l", line.split()[1]])
            shutil.rmtree(agent_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
