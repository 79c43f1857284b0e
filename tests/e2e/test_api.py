"""End-to-end tests of the berth API server over HTTPS: every verb, watch
streams and their resumption, every Status reason, limits, restarts."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from berth_e2e import Server, ServerTestCase, berthd_path  # noqa: E402

NS = "/api/v1/namespaces/default"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


def pod(name, labels=None, **meta):
    md = {"name": name}
    if labels:
        md["labels"] = labels
    md.update(meta)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def deployment(name, replicas=2, image="nginx:1.14.2"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [
                                      {"name": "web", "image": image,
                                       "ports": [{"containerPort": 80}]}]}}}}


class ApiTest(ServerTestCase):
    # The API alone: controllers writing status would race these requests.
    server_args = ("--no-controllers", "--no-scheduler", "--no-agent")

    def req(self, *a, **kw):
        return self.server.request(*a, **kw)

    def assertStatus(self, resp, code, reason):
        status, _, body = resp
        self.assertEqual(status, code, body)
        self.assertEqual(body["kind"], "Status", body)
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        return body

    # -- open endpoints and authentication --
    def test_health_and_version_need_no_token(self):
        for path in ("/healthz", "/livez", "/readyz"):
            st, _, body = self.req("GET", path, token=None)
            self.assertEqual((st, body), (200, "ok"))
        st, _, v = self.req("GET", "/version", token=None)
        self.assertEqual(st, 200)
        self.assertTrue(v["gitVersion"].startswith("v1.32"))

    def test_unauthorized_without_or_with_wrong_token(self):
        self.assertStatus(self.req("GET", NS + "/pods", token=None), 401, "Unauthorized")
        self.assertStatus(self.req("GET", NS + "/pods", token="x" * 64), 401, "Unauthorized")
        self.assertStatus(self.req("GET", "/api", token=None), 401, "Unauthorized")

    def test_kubeconfig_is_private(self):
        for f in ("admin.kubeconfig", "admin.token", "pki/server.key", "pki/ca.key"):
            mode = os.stat(os.path.join(self.server.data_dir, f)).st_mode & 0o777
            self.assertEqual(mode, 0o600, f)

    # -- CRUD --
    def test_create_get_update_delete(self):
        st, _, p = self.req("POST", NS + "/pods", pod("crud", {"a": "b"}))
        self.assertEqual(st, 201, p)
        md = p["metadata"]
        self.assertEqual(md["namespace"], "default")
        self.assertEqual(len(md["uid"]), 36)
        self.assertTrue(md["creationTimestamp"].endswith("Z"))
        self.assertEqual(md["generation"], 1)
        rv = md["resourceVersion"]
        st, _, got = self.req("GET", NS + "/pods/crud")
        self.assertEqual((st, got), (200, p))
        # PUT with the current resourceVersion.
        got["metadata"]["labels"]["c"] = "d"
        st, _, upd = self.req("PUT", NS + "/pods/crud", got)
        self.assertEqual(st, 200, upd)
        self.assertGreater(int(upd["metadata"]["resourceVersion"]), int(rv))
        self.assertEqual(upd["metadata"]["uid"], md["uid"])
        # PUT with a stale one: Conflict, in Kubernetes' words.
        got["metadata"]["labels"]["e"] = "f"
        body = self.assertStatus(self.req("PUT", NS + "/pods/crud", got), 409, "Conflict")
        self.assertIn('Operation cannot be fulfilled on pods "crud": the object has been '
                      'modified; please apply your changes to the latest version and try '
                      'again', body["message"])
        self.assertEqual(body["details"]["name"], "crud")
        # DELETE answers with the object; then it is gone.
        st, _, d = self.req("DELETE", NS + "/pods/crud")
        self.assertEqual(st, 200, d)
        body = self.assertStatus(self.req("GET", NS + "/pods/crud"), 404, "NotFound")
        self.assertEqual(body["message"], 'pods "crud" not found')
        self.assertEqual(body["details"], {"name": "crud", "group": "", "kind": "pods"})

    def test_list_all_namespaces_and_selectors(self):
        self.req("POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
        self.req("POST", NS + "/pods", pod("sel-a", {"tier": "web"}))
        self.req("POST", "/api/v1/namespaces/other/pods", pod("sel-b", {"tier": "db"}))
        st, _, lst = self.req("GET", "/api/v1/pods?labelSelector=tier")
        self.assertEqual(st, 200)
        self.assertEqual(lst["kind"], "PodList")
        names = {i["metadata"]["name"] for i in lst["items"]}
        self.assertEqual(names, {"sel-a", "sel-b"})
        _, _, lst = self.req("GET", "/api/v1/pods?labelSelector=tier%3Ddb")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["sel-b"])
        _, _, lst = self.req("GET", "/api/v1/pods?fieldSelector=metadata.namespace%3Dother")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["sel-b"])
        _, _, lst = self.req("GET", NS + "/pods?fieldSelector=metadata.name%3Dsel-a,"
                                         "status.phase%3DPending")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["sel-a"])
        self.assertStatus(self.req("GET", NS + "/pods?labelSelector=a%20in%20("), 400,
                          "BadRequest")

    def test_list_pages_with_continue(self):
        for i in range(5):
            self.req("POST", NS + "/configmaps", {"metadata": {"name": "page-%d" % i},
                                                  "data": {"i": str(i)}})
        names, cont, rvs = [], "", set()
        while True:
            path = NS + "/configmaps?limit=2&labelSelector=" + (
                "&continue=" + cont if cont else "")
            st, _, lst = self.req("GET", path)
            self.assertEqual(st, 200, lst)
            names += [i["metadata"]["name"] for i in lst["items"]]
            rvs.add(lst["metadata"]["resourceVersion"])
            cont = lst["metadata"].get("continue")
            if not cont:
                break
        self.assertEqual([n for n in names if n.startswith("page-")],
                         ["page-%d" % i for i in range(5)])
        self.assertEqual(len(rvs), 1, "every page shows the same revision")
        self.assertStatus(self.req("GET", NS + "/configmaps?continue=garbage"), 400,
                          "BadRequest")

    def test_generate_name(self):
        body = pod("")
        del body["metadata"]["name"]
        body["metadata"]["generateName"] = "gen-"
        st, _, p = self.req("POST", NS + "/pods", body)
        self.assertEqual(st, 201, p)
        self.assertRegex(p["metadata"]["name"], r"^gen-[a-z0-9]{5}$")

    def test_patch_three_content_types(self):
        self.req("POST", DEPLOY, deployment("pt"))
        st, _, d = self.req("PATCH", DEPLOY + "/pt", {"metadata": {"labels": {"m": "1"}}},
                            ctype="application/merge-patch+json")
        self.assertEqual(st, 200, d)
        self.assertEqual(d["metadata"]["labels"]["m"], "1")
        st, _, d = self.req("PATCH", DEPLOY + "/pt",
                            [{"op": "replace", "path": "/spec/replicas", "value": 4}],
                            ctype="application/json-patch+json")
        self.assertEqual((st, d["spec"]["replicas"]), (200, 4))
        self.assertEqual(d["metadata"]["generation"], 2)
        st, _, d = self.req("PATCH", DEPLOY + "/pt", {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": "nginx:1.16.1"}]}}}},
            ctype="application/strategic-merge-patch+json")
        self.assertEqual(st, 200, d)
        c = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(c), 1)
        self.assertEqual(c[0]["image"], "nginx:1.16.1")
        self.assertEqual(c[0]["ports"][0]["containerPort"], 80, "merged by name")
        self.assertEqual(d["metadata"]["generation"], 3)
        st, _, body = self.req("PATCH", DEPLOY + "/pt", "{}", ctype="text/plain")
        self.assertEqual((st, body["reason"]), (415, "UnsupportedMediaType"))
        self.assertStatus(self.req("PATCH", DEPLOY + "/pt", "{not json",
                                   ctype="application/merge-patch+json"), 400, "BadRequest")
        self.assertStatus(self.req("PATCH", DEPLOY + "/nope", {},
                                   ctype="application/merge-patch+json"), 404, "NotFound")

    def test_concurrent_patches_all_land(self):
        """Patches racing on one object each land: a patch pins no
        resourceVersion, so a lost compare-and-swap is retried on the
        winner's state instead of answered with 409."""
        self.req("POST", DEPLOY, deployment("race", replicas=1))
        n = 24
        barrier = threading.Barrier(n)
        results = []

        def patch(i):
            conn = self.server.connect()
            barrier.wait()
            if i % 4 == 0:
                r = self.server.request("PATCH", DEPLOY + "/race/scale",
                                        {"spec": {"replicas": i}},
                                        ctype="application/merge-patch+json", conn=conn)
            else:
                r = self.server.request("PATCH", DEPLOY + "/race",
                                        {"metadata": {"labels": {"p%d" % i: "x"}}},
                                        ctype="application/merge-patch+json", conn=conn)
            results.append(r[0])
            conn.close()
        threads = [threading.Thread(target=patch, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * n)
        _, _, d = self.req("GET", DEPLOY + "/race")
        for i in range(n):
            if i % 4:
                self.assertEqual(d["metadata"]["labels"].get("p%d" % i), "x", i)
        # A pinned resourceVersion that is stale still fails.
        st, _, body = self.req("PATCH", DEPLOY + "/race",
                               {"metadata": {"resourceVersion": "1", "labels": {"q": "1"}}},
                               ctype="application/merge-patch+json")
        self.assertEqual((st, body.get("reason")), (409, "Conflict"), body)

    def test_status_subresource(self):
        d = deployment("st")
        d["status"] = {"replicas": 9}
        st, _, d = self.req("POST", DEPLOY, d)
        self.assertEqual(st, 201, d)
        self.assertNotIn("replicas", d.get("status", {}), "status reset on create")
        # The main resource ignores status; metadata-only changes keep generation.
        d["status"] = {"replicas": 7}
        d["metadata"]["labels"]["x"] = "y"
        st, _, d2 = self.req("PUT", DEPLOY + "/st", d)
        self.assertEqual(st, 200, d2)
        self.assertNotIn("replicas", d2.get("status", {}))
        self.assertEqual(d2["metadata"]["generation"], 1)
        # /status ignores everything but status.
        d2["status"] = {"replicas": 3}
        d2["spec"]["replicas"] = 10
        st, _, d3 = self.req("PUT", DEPLOY + "/st/status", d2)
        self.assertEqual(st, 200, d3)
        self.assertEqual(d3["status"]["replicas"], 3)
        self.assertEqual(d3["spec"]["replicas"], 2)
        self.assertEqual(d3["metadata"]["generation"], 1)
        st, _, d4 = self.req("PATCH", DEPLOY + "/st/status", {"status": {"readyReplicas": 1}},
                             ctype="application/merge-patch+json")
        self.assertEqual((st, d4["status"]["readyReplicas"]), (200, 1))

    def test_scale_subresource(self):
        self.req("POST", DEPLOY, deployment("sc", replicas=1))
        st, _, s = self.req("GET", DEPLOY + "/sc/scale")
        self.assertEqual(st, 200, s)
        self.assertEqual((s["kind"], s["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(s["spec"]["replicas"], 1)
        self.assertEqual(s["status"]["selector"], "app=sc")
        stale = dict(s, spec={"replicas": 7})
        st, _, s = self.req("PATCH", DEPLOY + "/sc/scale", {"spec": {"replicas": 5}},
                            ctype="application/merge-patch+json")
        self.assertEqual((st, s["spec"]["replicas"]), (200, 5))
        s["spec"]["replicas"] = 6
        st, _, s = self.req("PUT", DEPLOY + "/sc/scale", s)
        self.assertEqual((st, s["spec"]["replicas"]), (200, 6))
        _, _, d = self.req("GET", DEPLOY + "/sc")
        self.assertEqual(d["spec"]["replicas"], 6)
        self.assertEqual(d["metadata"]["generation"], 3)
        self.assertStatus(self.req("PUT", DEPLOY + "/sc/scale", stale), 409, "Conflict")

    def test_binding(self):
        self.req("POST", NS + "/pods", pod("bind"))
        b = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bind"},
             "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
        st, _, s = self.req("POST", NS + "/pods/bind/binding", b)
        self.assertEqual((st, s["status"]), (201, "Success"), s)
        _, _, p = self.req("GET", NS + "/pods/bind")
        self.assertEqual(p["spec"]["nodeName"], "node-1")
        self.assertStatus(self.req("POST", NS + "/pods/bind/binding", b), 409, "Conflict")
        # Deleted without a grace period, a pod on a node gets its own.
        p["spec"]["terminationGracePeriodSeconds"] = 7
        self.req("POST", NS + "/pods", dict(p, metadata={"name": "bind-7"}))
        st, _, d = self.req("DELETE", NS + "/pods/bind-7")
        self.assertEqual((st, d["metadata"].get("deletionGracePeriodSeconds")), (200, 7), d)
        st, _, d = self.req("DELETE", NS + "/pods/bind?gracePeriodSeconds=3")
        self.assertEqual(d["metadata"].get("deletionGracePeriodSeconds"), 3, d)

    def test_finalizers_and_propagation(self):
        cm = {"metadata": {"name": "fin", "finalizers": ["example.com/x"]}}
        self.req("POST", NS + "/configmaps", cm)
        st, _, d = self.req("DELETE", NS + "/configmaps/fin")
        self.assertEqual(st, 200, d)
        self.assertIn("deletionTimestamp", d["metadata"])
        self.assertEqual(d["metadata"]["deletionGracePeriodSeconds"], 0)
        st, _, still = self.req("GET", NS + "/configmaps/fin")
        self.assertEqual(st, 200)
        # Removing the last finalizer deletes it.
        st, _, _ = self.req("PATCH", NS + "/configmaps/fin",
                            {"metadata": {"finalizers": None}},
                            ctype="application/merge-patch+json")
        self.assertEqual(st, 200)
        self.assertEqual(self.req("GET", NS + "/configmaps/fin")[0], 404)
        # Foreground deletion leaves a finalizer for the garbage collector.
        self.req("POST", NS + "/configmaps", {"metadata": {"name": "fg"}})
        st, _, d = self.req("DELETE", NS + "/configmaps/fg",
                            {"kind": "DeleteOptions", "apiVersion": "v1",
                             "propagationPolicy": "Foreground"})
        self.assertEqual(st, 200, d)
        self.assertEqual(d["metadata"]["finalizers"], ["foregroundDeletion"])
        # Background deletes at once; a precondition can stop it.
        _, _, c = self.req("POST", NS + "/configmaps", {"metadata": {"name": "bg"}})
        self.assertStatus(self.req("DELETE", NS + "/configmaps/bg",
                                   {"preconditions": {"uid": "nope"}}), 409, "Conflict")
        st, _, _ = self.req("DELETE", NS + "/configmaps/bg",
                            {"propagationPolicy": "Background",
                             "preconditions": {"uid": c["metadata"]["uid"]}})
        self.assertEqual(st, 200)
        self.assertEqual(self.req("GET", NS + "/configmaps/bg")[0], 404)

    def test_yaml_body(self):
        y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\ndata:\n  k: v\n"
        st, _, c = self.req("POST", NS + "/configmaps", y, ctype="application/yaml")
        self.assertEqual(st, 201, c)
        self.assertEqual(c["data"], {"k": "v"})
        self.assertStatus(self.req("POST", NS + "/configmaps", "a: [b\n",
                                   ctype="application/yaml"), 400, "BadRequest")

    # -- every error reason --
    def test_error_reasons(self):
        self.req("POST", NS + "/configmaps", {"metadata": {"name": "dup"}})
        body = self.assertStatus(self.req("POST", NS + "/configmaps",
                                          {"metadata": {"name": "dup"}}), 409, "AlreadyExists")
        self.assertEqual(body["message"], 'configmaps "dup" already exists')
        body = self.assertStatus(self.req("POST", NS + "/configmaps", {"metadata": {}}),
                                 422, "Invalid")
        self.assertEqual(body["details"]["kind"], "ConfigMap")
        self.assertEqual(body["details"]["causes"][0]["field"], "metadata.name")
        self.assertEqual(body["details"]["causes"][0]["reason"], "FieldValueRequired")
        bad = deployment("bad", replicas=-1)
        body = self.assertStatus(self.req("POST", DEPLOY, bad), 422, "Invalid")
        self.assertTrue(body["message"].startswith('Deployment.apps "bad" is invalid: '),
                        body["message"])
        self.assertEqual((body["details"]["group"], body["details"]["kind"]),
                         ("apps", "Deployment"))
        self.assertIn("spec.replicas", [c["field"] for c in body["details"]["causes"]])
        self.assertStatus(self.req("POST", NS + "/configmaps", "{bad"), 400, "BadRequest")
        self.assertStatus(self.req("POST", NS + "/configmaps",
                                   {"metadata": {"name": "x", "namespace": "other"}}),
                          400, "BadRequest")
        self.assertStatus(self.req("POST", NS + "/configmaps",
                                   {"metadata": {"name": "x", "resourceVersion": "5"}}),
                          400, "BadRequest")
        self.assertStatus(self.req("POST", NS + "/configmaps",
                                   {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "x"}}), 400, "BadRequest")
        self.assertStatus(self.req("DELETE", NS + "/configmaps"), 405, "MethodNotAllowed")
        self.assertStatus(self.req("GET", NS + "/nothings"), 404, "NotFound")
        self.assertStatus(self.req("POST", "/api/v1/namespaces/missing/configmaps",
                                   {"metadata": {"name": "x"}}), 404, "NotFound")
        big = {"metadata": {"name": "big"}, "data": {"k": "x" * (4 << 20)}}
        self.assertStatus(self.req("POST", NS + "/configmaps", big), 413,
                          "RequestEntityTooLarge")
        deep = "[" * 200 + "]" * 200
        self.assertStatus(self.req("POST", NS + "/configmaps", deep), 400, "BadRequest")
        self.req("POST", NS + "/pods", pod("logs"))
        self.assertStatus(self.req("GET", NS + "/pods/logs/log"), 503, "ServiceUnavailable")
        # Forbidden: a namespace being deleted takes no new objects.
        self.req("POST", "/api/v1/namespaces",
                 {"metadata": {"name": "ending", "finalizers": ["example.com/hold"]}})
        self.req("DELETE", "/api/v1/namespaces/ending")
        self.assertStatus(self.req("POST", "/api/v1/namespaces/ending/configmaps",
                                   {"metadata": {"name": "x"}}), 403, "Forbidden")

    # -- watch --
    def test_watch_events_and_resume(self):
        _, _, lst = self.req("GET", NS + "/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        w = self.server.watch(NS + "/configmaps?watch=true&resourceVersion=" + rv)
        self.assertEqual(w.status, 200)
        self.req("POST", NS + "/configmaps", {"metadata": {"name": "w1"}})
        _, _, c = self.req("PATCH", NS + "/configmaps/w1", {"data": {"a": "b"}},
                           ctype="application/merge-patch+json")
        self.req("DELETE", NS + "/configmaps/w1")
        evs = [w.next() for _ in range(3)]
        w.close()
        self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(evs[1]["object"]["data"], {"a": "b"})
        # Resume after the MODIFIED event: only the DELETED follows.
        mid = evs[1]["object"]["metadata"]["resourceVersion"]
        w = self.server.watch(NS + "/configmaps?watch=true&resourceVersion=" + mid)
        e = w.next()
        w.close()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("DELETED", "w1"))

    def test_watch_from_zero_sends_state_and_selector_transitions(self):
        self.req("POST", NS + "/pods", pod("wz", {"role": "x"}))
        w = self.server.watch(NS + "/pods?watch=true&labelSelector=role%3Dx")
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "wz"))
        # Leaving the selector is a DELETED, entering again an ADDED.
        self.req("PATCH", NS + "/pods/wz", {"metadata": {"labels": {"role": "y"}}},
                 ctype="application/merge-patch+json")
        self.req("PATCH", NS + "/pods/wz", {"metadata": {"labels": {"role": "x"}}},
                 ctype="application/merge-patch+json")
        self.assertEqual([w.next()["type"], w.next()["type"]], ["DELETED", "ADDED"])
        w.close()

    def test_watch_one_name_and_timeout(self):
        self.req("POST", NS + "/configmaps", {"metadata": {"name": "one"}})
        _, _, lst = self.req("GET", NS + "/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        w = self.server.watch(NS + "/configmaps?watch=true&fieldSelector=metadata.name%3Done"
                              "&timeoutSeconds=1&resourceVersion=" + rv)
        self.req("POST", NS + "/configmaps", {"metadata": {"name": "two"}})
        self.req("PATCH", NS + "/configmaps/one", {"data": {"x": "1"}},
                 ctype="application/merge-patch+json")
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("MODIFIED", "one"))
        t0 = time.time()
        self.assertIsNone(w.next(), "the stream ends at timeoutSeconds")
        self.assertLess(time.time() - t0, 5)
        w.close()

    def test_slow_watcher_is_cut_off_and_others_go_on(self):
        self.req("POST", "/api/v1/namespaces", {"metadata": {"name": "slow"}})
        path = "/api/v1/namespaces/slow/configmaps"
        w = self.server.watch(path + "?watch=true&resourceVersion=0")
        # Never read from w while about 40 MiB of events queue up for it.
        blob = "x" * (1 << 20)
        for i in range(40):
            t0 = time.time()
            st, _, _ = self.req("POST", path, {"metadata": {"name": "big-%d" % i},
                                               "data": {"k": blob}})
            self.assertEqual(st, 201)
            self.assertLess(time.time() - t0, 5, "a slow watcher holds nobody up")
        last = None
        while True:
            e = w.next()
            if e is None:
                break
            last = e
        w.close()
        self.assertEqual(last["type"], "ERROR")
        self.assertEqual(last["object"]["code"], 429)
        self.assertIn("too slow", last["object"]["message"])

    def test_table(self):
        self.req("POST", DEPLOY, deployment("tbl"))
        st, _, t = self.req("GET", DEPLOY, headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual(st, 200)
        self.assertEqual(t["kind"], "Table")
        self.assertEqual([c["name"] for c in t["columnDefinitions"] if c["priority"] == 0],
                         ["Name", "Ready", "Up-to-date", "Available", "Age"])
        row = [r for r in t["rows"] if r["cells"][0] == "tbl"][0]
        self.assertEqual(row["cells"][1], "0/2")
        self.assertEqual(row["object"]["metadata"]["name"], "tbl")
        self.assertTrue(t["metadata"]["resourceVersion"])
        # Volumes print as kubectl's printer does.
        pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "tbl-pv"},
              "spec": {"capacity": {"storage": "5Gi"}, "storageClassName": "manual",
                       "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                       "hostPath": {"path": "/srv/tbl"},
                       "claimRef": {"namespace": "default", "name": "c"}}}
        self.assertEqual(self.req("POST", "/api/v1/persistentvolumes", pv)[0], 201)
        st, _, t = self.req("GET", "/api/v1/persistentvolumes", headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual([c["name"] for c in t["columnDefinitions"] if c["priority"] == 0],
                         ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim",
                          "StorageClass", "Reason", "Age"])
        row = [r for r in t["rows"] if r["cells"][0] == "tbl-pv"][0]
        self.assertEqual(row["cells"][1:7], ["5Gi", "RWO,ROX", "Retain", "<none>", "default/c",
                                             "manual"])

    def test_discovery(self):
        st, _, res = self.req("GET", "/apis/apps/v1")
        self.assertEqual(st, 200)
        by = {r["name"]: r for r in res["resources"]}
        self.assertEqual(by["deployments"]["shortNames"], ["deploy"])
        self.assertEqual(by["deployments"]["categories"], ["all"])
        self.assertEqual((by["deployments/scale"]["group"], by["deployments/scale"]["kind"]),
                         ("autoscaling", "Scale"))
        _, _, core = self.req("GET", "/api/v1")
        names = {r["name"] for r in core["resources"]}
        self.assertTrue({"pods", "pods/status", "pods/binding", "pods/log", "nodes"} <= names)
        _, _, groups = self.req("GET", "/apis")
        self.assertIn("apps", [g["name"] for g in groups["groups"]])
        st, _, _ = self.req("GET", "/apis/nope/v1")
        self.assertEqual(st, 404)
        # OpenAPI: v3 for kubectl's validation, v2 without schemas for the rest.
        st, _, v3 = self.req("GET", "/openapi/v3")
        self.assertEqual(st, 200)
        self.assertIn("apis/apps/v1", v3["paths"])
        st, _, v2 = self.req("GET", "/openapi/v2")
        self.assertEqual((st, v2["swagger"]), (200, "2.0"))
        st, hdrs, body = self.req("GET", "/openapi/v2", headers={
            "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        self.assertEqual((st, body), (200, ""))
        self.assertIn("protobuf", hdrs["content-type"])

    def test_metrics(self):
        st, _, text = self.req("GET", "/metrics")
        self.assertEqual(st, 200)
        for name in ("berth_apiserver_requests_total{", "berth_store_revision",
                     "berth_apiserver_watches", "berth_objects{kind=\"Pod\"",
                     "berth_apiserver_request_duration_seconds_bucket"):
            self.assertIn(name, text)

    def test_many_concurrent_clients(self):
        errors = []

        def client(i):
            try:
                conn = self.server.connect()
                for j in range(5):
                    st, _, _ = self.server.request(
                        "POST", NS + "/configmaps", {"metadata": {"name": "cc-%d-%d" % (i, j)}},
                        conn=conn)
                    if st != 201:
                        errors.append(st)
                conn.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class ExpiredTest(ServerTestCase):
    """A short history makes old revisions expire quickly."""
    server_args = ("--watch-history", "5", "--no-controllers", "--no-scheduler", "--no-agent")

    def test_watch_and_continue_expire(self):
        req = self.server.request
        for i in range(3):
            req("POST", NS + "/configmaps", {"metadata": {"name": "e%d" % i}})
        st, _, page = req("GET", NS + "/configmaps?limit=1")
        cont = page["metadata"]["continue"]
        for i in range(3, 20):
            req("POST", NS + "/configmaps", {"metadata": {"name": "e%d" % i}})
        st, _, body = req("GET", NS + "/configmaps?limit=1&continue=" + cont)
        self.assertEqual((st, body["reason"]), (410, "Expired"), body)
        w = self.server.watch(NS + "/configmaps?watch=true&resourceVersion=1")
        e = w.next()
        w.close()
        self.assertEqual(e["type"], "ERROR")
        self.assertEqual((e["object"]["code"], e["object"]["reason"]), (410, "Expired"))


class BookmarkTest(ServerTestCase):
    server_args = ("--bookmark-interval", "1", "--no-controllers", "--no-scheduler", "--no-agent")

    def test_bookmark_then_resume(self):
        req = self.server.request
        _, _, lst = req("GET", NS + "/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        w = self.server.watch(NS + "/configmaps?watch=true&allowWatchBookmarks=true"
                                   "&resourceVersion=" + rv)
        req("POST", NS + "/configmaps", {"metadata": {"name": "bm1"}})
        self.assertEqual(w.next()["type"], "ADDED")
        e = w.next()
        w.close()
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual(e["object"]["kind"], "ConfigMap")
        brv = e["object"]["metadata"]["resourceVersion"]
        self.assertGreater(int(brv), int(rv))
        req("POST", NS + "/configmaps", {"metadata": {"name": "bm2"}})
        w = self.server.watch(NS + "/configmaps?watch=true&resourceVersion=" + brv)
        e = w.next()
        w.close()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "bm2"))


class TooManyTest(ServerTestCase):
    server_args = ("--max-requests-inflight", "1", "--no-controllers", "--no-scheduler", "--no-agent")

    def test_too_many_requests(self):
        codes = []

        def client(i):
            st, _, body = self.server.request("POST", NS + "/configmaps",
                                              {"metadata": {"name": "tm-%d" % i}})
            codes.append((st, body.get("reason") if isinstance(body, dict) else None))
        threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertIn((429, "TooManyRequests"), codes)
        self.assertIn((201, None), codes)


class LifecycleTest(unittest.TestCase):
    def test_restart_refusal_and_clean_shutdown(self):
        s = Server()
        try:
            s.start()
            st, _, _ = s.request("POST", NS + "/configmaps",
                                 {"metadata": {"name": "keep"}, "data": {"a": "1"}})
            self.assertEqual(st, 201)
            # A second server on the same data dir is refused, clearly.
            p = subprocess.run([berthd_path(), "server", "--data-dir", s.data_dir,
                                "--listen", "127.0.0.1:0"], capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"already using the data dir", p.stderr)
            # SIGTERM with a watch open: the watch ends, the exit is clean.
            w = s.watch(NS + "/configmaps?watch=true&resourceVersion=0")
            self.assertEqual(w.next()["type"], "ADDED")
            self.assertEqual(s.stop(signal.SIGTERM), 0, s.read_log())
            self.assertIsNone(w.next())
            w.close()
            self.assertIn("stopped", s.read_log())
            # Everything written is there after the restart.
            s.start()
            st, _, c = s.request("GET", NS + "/configmaps/keep")
            self.assertEqual((st, c["data"]), (200, {"a": "1"}))
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
