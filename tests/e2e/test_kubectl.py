"""Drives the real kubectl against berthd with the kubeconfig berthd writes:
get, get -w, create -f, apply -f twice, scale, delete, get -o yaml,
api-resources."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from berth_e2e import ServerTestCase  # noqa: E402

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
SOURCE = os.environ.get("BERTH_SOURCE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
MANIFEST = os.path.join(SOURCE, "examples", "nginx-deployment.yaml")


@unittest.skipUnless(os.access(KUBECTL, os.X_OK), "kubectl not installed")
class KubectlTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="berth-kubectl-")
        # kubectl caches discovery under $HOME; keep it out of the real one.
        cls.env = dict(os.environ, KUBECONFIG=cls.server.kubeconfig, HOME=cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def kubectl(self, *args, ok=True, stdin=None):
        p = subprocess.run([KUBECTL] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=60, input=stdin)
        if ok:
            self.assertEqual(p.returncode, 0, "kubectl %s:\n%s%s" %
                             (" ".join(args), p.stdout, p.stderr))
        return p

    def test_apply_twice_scale_yaml_delete(self):
        out = self.kubectl("apply", "-f", MANIFEST).stdout
        self.assertIn("deployment.apps/nginx-deployment created", out)
        out = self.kubectl("get", "deployments").stdout
        self.assertRegex(out, r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE")
        # Pods stay Pending without a node agent: none ready or available.
        self.assertRegex(out, r"nginx-deployment\s+0/3\s+\d+\s+0\s+")
        out = self.kubectl("apply", "-f", MANIFEST).stdout
        self.assertIn("deployment.apps/nginx-deployment unchanged", out)
        # Edit the manifest: a new image and replica count.
        with open(MANIFEST) as f:
            text = f.read()
        edited = os.path.join(self.tmp, "nginx-edited.yaml")
        with open(edited, "w") as f:
            f.write(text.replace("nginx:1.14.2", "nginx:1.16.1").replace(
                "replicas: 3", "replicas: 2"))
        out = self.kubectl("apply", "-f", edited).stdout
        self.assertIn("deployment.apps/nginx-deployment configured", out)
        y = self.kubectl("get", "deployment", "nginx-deployment", "-o", "yaml").stdout
        self.assertIn("image: nginx:1.16.1", y)
        self.assertIn("replicas: 2", y)
        self.assertIn("generation: 2", y)
        self.assertIn("containerPort: 80", y)
        self.assertNotIn("$setElementOrder", y)
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", y)
        out = self.kubectl("scale", "deployment", "nginx-deployment", "--replicas=5").stdout
        self.assertIn("deployment.apps/nginx-deployment scaled", out)
        out = self.kubectl("get", "deploy", "nginx-deployment",
                           "-o", "jsonpath={.spec.replicas}").stdout
        self.assertEqual(out, "5")
        out = self.kubectl("delete", "-f", MANIFEST).stdout
        self.assertIn('deployment.apps "nginx-deployment" deleted', out)
        p = self.kubectl("get", "deployment", "nginx-deployment", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NotFound", p.stderr)

    def test_create_get_and_wide(self):
        pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kpod\n  labels:\n    app: k\n"
               "spec:\n  containers:\n  - name: c\n    image: busybox\n")
        out = self.kubectl("create", "-f", "-", stdin=pod).stdout
        self.assertIn("pod/kpod created", out)
        p = self.kubectl("create", "-f", "-", stdin=pod, ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AlreadyExists", p.stderr)
        out = self.kubectl("get", "pods").stdout
        self.assertRegex(out, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE")
        self.assertRegex(out, r"kpod\s+0/1\s+Pending\s+0\s+")
        out = self.kubectl("get", "po", "-o", "wide").stdout
        self.assertRegex(out, r"IP\s+NODE")
        out = self.kubectl("get", "pods", "-l", "app=k", "-o", "name").stdout
        self.assertEqual(out.strip(), "pod/kpod")
        out = self.kubectl("get", "pods", "-A").stdout
        self.assertRegex(out, r"default\s+kpod")
        self.kubectl("delete", "pod", "kpod")

    def test_get_watch(self):
        proc = subprocess.Popen([KUBECTL, "get", "configmaps", "-w"], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            time.sleep(1.0)
            for n in ("watched-1", "watched-2"):
                st, _, _ = self.server.request(
                    "POST", "/api/v1/namespaces/default/configmaps",
                    {"metadata": {"name": n}, "data": {"a": "b"}})
                self.assertEqual(st, 201)
            lines = []
            deadline = time.time() + 15
            while time.time() < deadline and len([l for l in lines if "watched-" in l]) < 2:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
            self.assertTrue(any(l.startswith("watched-1") for l in lines), lines)
            self.assertTrue(any(l.startswith("watched-2") for l in lines), lines)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_api_resources_and_version(self):
        out = self.kubectl("api-resources").stdout
        self.assertRegex(out, r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment")
        self.assertRegex(out, r"pods\s+po\s+v1\s+true\s+Pod")
        self.assertRegex(out, r"nodes\s+no\s+v1\s+false\s+Node")
        out = self.kubectl("version").stdout
        self.assertIn("Server Version: v1.32", out)

    def test_rejected_with_a_wrong_token(self):
        env = dict(self.env)
        cfg = os.path.join(self.tmp, "wrong-token.kubeconfig")
        with open(self.server.kubeconfig) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace(self.server.token, "wrong-token"))
        env["KUBECONFIG"] = cfg
        p = subprocess.run([KUBECTL, "get", "pods"], env=env, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("You must be logged in to the server", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
