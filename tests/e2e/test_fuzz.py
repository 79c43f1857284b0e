"""Nothing a client sends may crash the daemon: seeded random requests (bad
paths, selectors, bodies, content types, patch directives, garbage bytes)
for a bounded time against a server running its controllers and scheduler,
which then react to whatever got stored. Run under the sanitizer build, any
memory error or undefined behaviour kills the server and fails the test."""
import json
import random
import time
import unittest

import berth_e2e

PATHS = [
    "/api/v1/namespaces/default/pods", "/apis/apps/v1/namespaces/default/deployments",
    "/api/v1/nodes", "/api/v1/namespaces/default/services",
    "/apis/batch/v1/namespaces/default/cronjobs", "/apis/batch/v1/namespaces/default/jobs",
    "/apis/apps/v1/namespaces/default/statefulsets", "/apis/apps/v1/namespaces/default/daemonsets",
    "/api/v1/namespaces/default/configmaps/x", "/apis/apps/v1/namespaces/default/deployments/d/scale",
    "/api/v1/namespaces/default/pods/p/status", "/api/v1/namespaces/default/pods/p/binding",
    "/api/v1/namespaces/default/persistentvolumeclaims", "/api/v1/namespaces",
    "/api/v1/namespaces/%2e%2e/pods", "/apis/x/y/z/w/v/u", "/debug/controllers",
    "/api/v1/namespaces/default/pods?labelSelector=a+in+(", "/api/v1/pods?fieldSelector=%5C",
    "/api/v1/pods?limit=1&continue=garbage", "/api/v1/pods?watch=true&resourceVersion=-5&timeoutSeconds=1",
    "/api/v1/persistentvolumes", "/api/v1/namespaces/kube-system/endpoints/kube-dns",
]
KINDS = ["Pod", "Deployment", "Service", "CronJob", "Node", "Scale", "Job", "StatefulSet",
         "DaemonSet", "PersistentVolumeClaim", "PersistentVolume", "Namespace", "ConfigMap",
         "Endpoints"]
KEYS = ["apiVersion", "kind", "metadata", "spec", "status", "name", "namespace", "containers",
        "image", "replicas", "selector", "template", "labels", "ports", "resources", "requests",
        "limits", "type", "clusterIP", "schedule", "volumes", "env", "finalizers",
        "ownerReferences", "data", "$patch", "matchLabels", "taints", "nodeName", "affinity",
        "csi", "driver", "volumeHandle", "volumeAttributes", "persistentVolumeClaim",
        "claimName", "volumeName", "nodeAffinity", "required", "nodeSelectorTerms",
        "externalIPs", "externalTrafficPolicy", "internalTrafficPolicy", "subsets", "addresses"]


def value(rng, depth=0):
    r = rng.random()
    if depth > 4 or r < 0.3:
        return rng.choice([None, True, 1, -1, 1e308, "x", "", "500m", "1Gi", "*/5 * * * *", [], {}])
    if r < 0.55:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


class FuzzTest(berth_e2e.ServerTestCase):
    def test_random_requests_do_not_crash_the_server(self):
        rng = random.Random(20261126)
        s = self.server
        deadline = time.time() + 15
        n = 0
        while time.time() < deadline:
            body = value(rng)
            if isinstance(body, dict) and rng.random() < 0.6:
                body.update({"apiVersion": rng.choice(["v1", "apps/v1", "batch/v1"]),
                             "kind": rng.choice(KINDS),
                             "metadata": {"name": rng.choice(["p", "d", "x", "Bad_Name", ""])}})
            raw = (json.dumps(body) if rng.random() < 0.9
                   else bytes(rng.randrange(256) for _ in range(64)))
            ctype = rng.choice(["application/json", "application/merge-patch+json",
                                "application/strategic-merge-patch+json",
                                "application/json-patch+json", "application/yaml"])
            try:
                s.request(rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"]),
                          rng.choice(PATHS), raw, ctype=ctype)
            except OSError:
                pass
            n += 1
            self.assertIsNone(s.proc.poll(), "berthd died after %d requests:\n%s"
                              % (n, s.read_log()[-3000:]))
        time.sleep(1)  # let the controllers and scheduler chew on it
        self.assertIsNone(s.proc.poll(), "berthd died:\n" + s.read_log()[-3000:])
        st, _, _ = s.request("GET", "/healthz")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
