"""End to end: berthctl against a live `berthd server`, as a user runs it."""
import os
import signal
import subprocess
import tempfile
import time
import unittest

import berth_e2e

SOURCE = os.environ.get("BERTH_SOURCE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
MANIFEST = os.path.join(SOURCE, "examples", "nginx-deployment.yaml")

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {tier: front}
spec:
  selector: {app: nginx}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: back}
data:
  mode: fast
"""


class BerthctlTest(berth_e2e.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="berthctl-e2e-")

    def ctl(self, *args, ok=True, stdin=None):
        p = subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                            "--kubeconfig", self.server.kubeconfig] + list(args),
                           capture_output=True, text=True, timeout=60, input=stdin)
        if ok:
            self.assertEqual(p.returncode, 0, "berthctl %s:\n%s%s" %
                             (" ".join(args), p.stdout, p.stderr))
        return p

    def test_apply_get_describe_scale_delete(self):
        out = self.ctl("apply", "-f", MANIFEST).stdout
        self.assertEqual(out.strip(), "deployment.apps/nginx-deployment created")
        out = self.ctl("apply", "-f", MANIFEST).stdout
        self.assertEqual(out.strip(), "deployment.apps/nginx-deployment unchanged")
        edited = os.path.join(self.tmp, "nginx.yaml")
        with open(MANIFEST) as f, open(edited, "w") as g:
            g.write(f.read().replace("nginx:1.14.2", "nginx:1.16.1"))
        out = self.ctl("apply", "-f", edited).stdout
        self.assertEqual(out.strip(), "deployment.apps/nginx-deployment configured")
        y = self.ctl("get", "deploy", "nginx-deployment", "-o", "yaml").stdout
        self.assertIn("image: nginx:1.16.1", y)
        self.assertIn("kind: Deployment", y)

        # Tables: kubectl's columns, short names and plurals alike.
        out = self.ctl("get", "deploy").stdout
        self.assertRegex(out, r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE")
        self.assertRegex(out, r"nginx-deployment\s+0/3")
        for name in ("po", "pods", "pod"):
            out = self.ctl("get", name).stdout
            self.assertRegex(out, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE")
        wide = self.ctl("get", "pods", "-o", "wide").stdout
        self.assertRegex(wide, r"AGE\s+IP\s+NODE")
        names = self.ctl("get", "deployments", "-o", "name").stdout.split()
        self.assertEqual(names, ["deployment.apps/nginx-deployment"])
        j = self.ctl("get", "deploy", "-o", "json").stdout
        self.assertIn('"kind": "List"', j)

        out = self.ctl("describe", "deployment", "nginx-deployment").stdout
        self.assertIn("Name:", out)
        self.assertIn("nginx-deployment", out)
        self.assertIn("Events:", out)

        out = self.ctl("scale", "deploy", "nginx-deployment", "--replicas=5").stdout
        self.assertEqual(out.strip(), "deployment.apps/nginx-deployment scaled")
        y = self.ctl("get", "deploy/nginx-deployment", "-o", "json").stdout
        self.assertIn('"replicas": 5', y)

        out = self.ctl("delete", "-f", edited).stdout
        self.assertEqual(out.strip(), 'deployment.apps "nginx-deployment" deleted')
        p = self.ctl("get", "deploy", "nginx-deployment", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NotFound", p.stderr)

    def test_labels_namespaces_and_stdin(self):
        out = self.ctl("apply", "-f", "-", stdin=SERVICE).stdout
        self.assertIn("service/web created", out)
        self.assertIn("configmap/settings created", out)
        out = self.ctl("get", "svc").stdout
        self.assertRegex(out, r"NAME\s+TYPE\s+CLUSTER-IP")
        out = self.ctl("get", "cm", "-l", "tier=back", "-o", "name").stdout.split()
        self.assertEqual(out, ["configmap/settings"])
        out = self.ctl("get", "cm", "-l", "tier=none").stderr
        self.assertIn("No resources found", out)
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
        st, _, _ = self.server.request("POST", "/api/v1/namespaces", ns)
        self.assertEqual(st, 201)
        self.ctl("apply", "-n", "team-a", "-f", "-", stdin=SERVICE)
        out = self.ctl("get", "cm", "-A").stdout
        self.assertRegex(out, r"NAMESPACE\s+NAME")
        self.assertRegex(out, r"team-a\s+settings")
        self.assertRegex(out, r"default\s+settings")
        out = self.ctl("get", "cm", "-n", "team-a", "-o", "name").stdout.split()
        self.assertEqual(out, ["configmap/settings"])
        out = self.ctl("delete", "configmap", "settings", "-n", "team-a").stdout
        self.assertEqual(out.strip(), 'configmap "settings" deleted')

    def test_watch_prints_changes(self):
        p = subprocess.Popen([os.path.join(berth_e2e._build_dir(), "berthctl"),
                              "--kubeconfig", self.server.kubeconfig, "get", "cm", "-w"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        try:
            time.sleep(0.5)
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched"}}
            st, _, _ = self.server.request("POST", "/api/v1/namespaces/default/configmaps", cm)
            self.assertEqual(st, 201)
            deadline = time.time() + 10
            seen = ""
            while time.time() < deadline and "watched" not in seen:
                seen += p.stdout.readline()
            self.assertIn("watched", seen)
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def test_errors_are_one_line_with_non_zero_exit(self):
        p = self.ctl("get", "widgets", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("widgets", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                    "spec:\n  selector: {matchLabels: {a: b}}\n  template:\n"
                    "    metadata: {labels: {a: b}}\n    spec:\n      containers:\n"
                    "      - name: c\n")
        p = self.ctl("apply", "-f", bad, ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Invalid", p.stderr)
        self.assertIn("spec.template.spec.containers[0].image: Required value", p.stderr)
        broken = os.path.join(self.tmp, "broken.yaml")
        with open(broken, "w") as f:
            f.write("kind: [\n")
        p = self.ctl("apply", "-f", broken, ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("broken.yaml:", p.stderr)
        p = subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                            "--kubeconfig", "/nonexistent", "get", "pods"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_api_resources_and_version(self):
        out = self.ctl("api-resources").stdout
        self.assertRegex(out, r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment")
        self.assertRegex(out, r"nodes\s+no\s+v1\s+false\s+Node")
        out = self.ctl("version").stdout
        self.assertIn("Client Version", out)
        self.assertIn("Server Version", out)


if __name__ == "__main__":
    unittest.main()
