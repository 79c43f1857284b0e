"""End to end: the README's first steps with the files in examples/, as a
new user runs them (berthctl, a server with its node agent; needs root).
Each test removes what it applied."""
import os
import subprocess
import unittest

import berth_e2e
from berth_e2e import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NS = "/api/v1/namespaces/default"


@unittest.skipUnless(os.geteuid() == 0, "the process runtime needs root")
class ExamplesTest(berth_e2e.ServerTestCase):
    server_args = ("--node-ip", berth_e2e.NODE_IP)
    agent = True

    def tearDown(self):
        berth_e2e.kill_node_leftovers(self.server.data_dir)

    def berthctl(self, *args, ok=True):
        p = subprocess.run([os.path.join(berth_e2e._build_dir(), "berthctl"),
                            "--kubeconfig", self.server.kubeconfig] + list(args),
                           capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, "berthctl %s:\n%s%s" %
                             (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def example(self, name):
        return os.path.join(ROOT, "examples", name)

    def delete(self, name):
        self.berthctl("delete", "-f", self.example(name), ok=False)
        wait_for(lambda: not self.server.request("GET", NS + "/pods")[2].get("items"),
                 what="every pod gone")

    def test_busybox_pod(self):
        self.berthctl("apply", "-f", self.example("busybox-pod.yaml"))
        try:
            wait_for(lambda: "hello from berth" in self.berthctl("logs", "hello", ok=False),
                     what="the pod's output")
        finally:
            self.delete("busybox-pod.yaml")

    def test_storage(self):
        self.berthctl("apply", "-f", self.example("storage.yaml"))
        try:
            wait_for(lambda: self.berthctl("logs", "reader", ok=False).strip()
                     == "written by writer", timeout=30, what="the reader's note")
            out = self.berthctl("get", "pv,pvc")
            self.assertIn("notes", out)
            self.assertIn("Bound", out)
        finally:
            self.delete("storage.yaml")
        wait_for(lambda: not os.path.exists(os.path.join(self.server.data_dir, "volumes",
                                                         "default-notes")),
                 what="the claim's data reclaimed")

    def test_web_service(self):
        self.berthctl("apply", "-f", self.example("web-service.yaml"))
        try:
            def served():
                out = subprocess.run(
                    [os.path.join(berth_e2e._build_dir(), "berthctl"), "--kubeconfig",
                     self.server.kubeconfig, "exec", "client", "--", "timeout", "3", "wget",
                     "-qO-", "http://web.default.svc.cluster.local"],
                    capture_output=True, text=True, timeout=30)
                return out.stdout.strip().startswith("web-") and out.stdout.strip()
            wait_for(served, timeout=60, what="an answer through the Service")
            # Once all three are ready, the answers come from more than one.
            wait_for(lambda: sum(len(ss.get("addresses") or []) for ss in self.server.request(
                "GET", NS + "/endpoints/web")[2].get("subsets") or []) == 3, timeout=60,
                what="three ready pods")
            names = set()
            wait_for(lambda: names.add(served()) or len(names) > 1, timeout=30,
                     what="answers from more than one pod")
        finally:
            self.delete("web-service.yaml")


if __name__ == "__main__":
    unittest.main()
