-- The StatefulSet controller (controllers/statefulset.lua) against the fake berth module.

local fake = require("fake_berth")

describe("statefulset controller", function()
  local berth, ctl

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/statefulset.lua")
  end)

  local function add_set(spec)
    spec.replicas = spec.replicas or 3
    spec.serviceName = spec.serviceName or "web-svc"
    spec.selector = spec.selector or { matchLabels = { app = "web" } }
    spec.template = spec.template or {
      metadata = { labels = { app = "web" } },
      spec = { containers = { { name = "nginx", image = "nginx:1" } } },
    }
    return berth.add({ apiVersion = "apps/v1", kind = "StatefulSet",
                       metadata = { name = "web", namespace = "default" }, spec = spec })
  end

  local function set() return berth.get("StatefulSet", "default", "web") end
  local function run() return fake.reconcile(ctl, "default/web") end
  local function pod(name) return berth.get("Pod", "default", name) end
  local function names()
    local out = {}
    for _, p in ipairs(berth.list("Pod", "default")) do out[#out + 1] = p.metadata.name end
    return out
  end
  local function make_ready(name)
    berth.set_status("Pod", "default", name, { phase = "Running",
      conditions = { { type = "Ready", status = "True", lastTransitionTime = berth.time() } } })
  end
  local function ready_all()
    for _, n in ipairs(names()) do
      if not (pod(n).status or {}).phase then make_ready(n) end
    end
  end
  local function update_template(image)
    local s = set()
    s.spec.template.spec.containers[1].image = image
    berth.update(s)
  end

  it("creates pods one at a time in order under OrderedReady", function()
    local s = add_set({})
    run()
    assert.are.same({ "web-0" }, names())
    run()
    assert.are.same({ "web-0" }, names()) -- web-0 is not ready yet
    berth.set_status("Pod", "default", "web-0", { phase = "Running" })
    run()
    assert.are.same({ "web-0" }, names()) -- running is not enough
    make_ready("web-0")
    run()
    assert.are.same({ "web-0", "web-1" }, names())
    make_ready("web-1")
    run()
    assert.are.same({ "web-0", "web-1", "web-2" }, names())
    make_ready("web-2")
    run()

    local p = pod("web-1")
    assert.are.equal("web", p.metadata.labels.app)
    assert.are.equal("web-1", p.metadata.labels["statefulset.kubernetes.io/pod-name"])
    assert.are.equal("1", p.metadata.labels["apps.kubernetes.io/pod-index"])
    assert.are.equal("web-" .. berth.template_hash(s.spec.template),
                     p.metadata.labels["controller-revision-hash"])
    assert.are.equal("web-1", p.spec.hostname)
    assert.are.equal("web-svc", p.spec.subdomain)
    assert.are.equal(s.metadata.uid, p.metadata.ownerReferences[1].uid)

    local st = set().status
    assert.are.equal(3, st.replicas)
    assert.are.equal(3, st.readyReplicas)
    assert.are.equal(3, st.availableReplicas)
    assert.are.equal(3, st.currentReplicas)
    assert.are.equal(3, st.updatedReplicas)
    assert.are.equal(st.currentRevision, st.updateRevision)
    assert.are.equal(1, st.observedGeneration)
  end)

  it("creates all pods at once under Parallel", function()
    add_set({ podManagementPolicy = "Parallel" })
    run()
    assert.are.same({ "web-0", "web-1", "web-2" }, names())
  end)

  it("scales down from the highest ordinal, one at a time, under OrderedReady", function()
    add_set({})
    for _ = 1, 3 do run(); ready_all() end
    run()
    local s = set()
    s.spec.replicas = 1
    berth.update(s)
    run()
    assert.are.same({ "web-0", "web-1" }, names())
    run()
    assert.are.same({ "web-0" }, names())
    assert.are.equal(1, set().status.replicas)
  end)

  it("waits for a terminating pod before removing the next", function()
    add_set({ replicas = 3 })
    for _ = 1, 3 do run(); ready_all() end
    local s = set()
    s.spec.replicas = 1
    berth.update(s)
    -- web-2 is still shutting down.
    local p2 = berth.objects.Pod["default/web-2"]
    p2.metadata.deletionTimestamp = berth.time()
    run()
    assert.are.same({ "web-0", "web-1", "web-2" }, names())
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
  end)

  it("does not scale down while a remaining pod is unhealthy under OrderedReady", function()
    add_set({})
    for _ = 1, 3 do run(); ready_all() end
    berth.set_status("Pod", "default", "web-0", { phase = "Running" })
    local s = set()
    s.spec.replicas = 2
    berth.update(s)
    run()
    assert.are.same({ "web-0", "web-1", "web-2" }, names())
  end)

  it("scales down all at once under Parallel", function()
    add_set({ podManagementPolicy = "Parallel", replicas = 4 })
    run()
    local s = set()
    s.spec.replicas = 1
    berth.update(s)
    run()
    assert.are.same({ "web-0" }, names())
  end)

  it("creates claims before the pod and keeps them after scale-down", function()
    add_set({ replicas = 2, podManagementPolicy = "Parallel",
      volumeClaimTemplates = { {
        metadata = { name = "data", labels = { tier = "db" } },
        spec = { accessModes = { "ReadWriteOnce" },
                 resources = { requests = { storage = "1Gi" } } } } },
      template = { metadata = { labels = { app = "web" } },
        spec = { containers = { { name = "db", image = "pg",
                   volumeMounts = { { name = "data", mountPath = "/data" } } } },
                 volumes = { { name = "data", emptyDir = {} }, { name = "tmp", emptyDir = {} } } } } })
    run()
    local kinds = {}
    for _, w in ipairs(berth.writes_of("create")) do kinds[#kinds + 1] = w.kind .. ":" .. w.obj.metadata.name end
    assert.are.same({ "PersistentVolumeClaim:data-web-0", "Pod:web-0",
                      "PersistentVolumeClaim:data-web-1", "Pod:web-1" }, kinds)
    local pvc = berth.get("PersistentVolumeClaim", "default", "data-web-1")
    assert.are.equal("db", pvc.metadata.labels.tier)
    assert.are.equal("web", pvc.metadata.labels.app)
    assert.is_nil(pvc.metadata.ownerReferences)
    assert.are.equal("1Gi", pvc.spec.resources.requests.storage)
    local vols = pod("web-1").spec.volumes
    assert.are.same({ { name = "data", persistentVolumeClaim = { claimName = "data-web-1" } },
                      { name = "tmp", emptyDir = {} } }, vols)

    local s = set()
    s.spec.replicas = 0
    berth.update(s)
    run()
    assert.are.equal(0, #names())
    assert.are.equal(2, berth.count("PersistentVolumeClaim"))
    -- A pod coming back finds its claim; no new claim is made.
    s = set()
    s.spec.replicas = 1
    berth.update(s)
    berth.reset_writes()
    run()
    assert.are.equal(0, #berth.writes_of("create", "PersistentVolumeClaim"))
    assert.are.equal("data-web-0", pod("web-0").spec.volumes[1].persistentVolumeClaim.claimName)
  end)

  it("rolls pods from the highest ordinal down, each ready before the next", function()
    add_set({})
    for _ = 1, 3 do run(); ready_all() end
    run()
    local old_rev = set().status.currentRevision
    update_template("nginx:2")
    local new_rev = "web-" .. berth.template_hash(set().spec.template)
    local order = {}
    for _ = 1, 20 do
      berth.reset_writes()
      run()
      for _, w in ipairs(berth.writes_of("delete", "Pod")) do order[#order + 1] = w.obj.metadata.name end
      -- Never more than one pod down at a time.
      assert.is_true(#names() >= 2)
      ready_all()
      if set().status.updatedReplicas == 3 and set().status.currentRevision == new_rev then break end
    end
    assert.are.same({ "web-2", "web-1", "web-0" }, order)
    local st = set().status
    assert.are.equal(new_rev, st.updateRevision)
    assert.are.equal(new_rev, st.currentRevision)
    assert.are.equal(3, st.currentReplicas)
    assert.are_not.equal(old_rev, new_rev)
    for _, n in ipairs(names()) do
      assert.are.equal("nginx:2", pod(n).spec.containers[1].image)
    end
  end)

  it("leaves pods below the partition at the current revision", function()
    add_set({ updateStrategy = { type = "RollingUpdate", rollingUpdate = { partition = 2 } } })
    for _ = 1, 3 do run(); ready_all() end
    run()
    local old_rev = set().status.currentRevision
    update_template("nginx:2")
    for _ = 1, 10 do run(); ready_all() end
    assert.are.equal("nginx:1", pod("web-0").spec.containers[1].image)
    assert.are.equal("nginx:1", pod("web-1").spec.containers[1].image)
    assert.are.equal("nginx:2", pod("web-2").spec.containers[1].image)
    local st = set().status
    assert.are.equal(old_rev, st.currentRevision)
    assert.are.equal(1, st.updatedReplicas)
    assert.are.equal(2, st.currentReplicas)
    -- web-0, deleted, comes back at the current revision, copied from web-1.
    berth.delete("Pod", "default", "web-0")
    run()
    assert.are.equal("nginx:1", pod("web-0").spec.containers[1].image)
    assert.are.equal(old_rev, pod("web-0").metadata.labels["controller-revision-hash"])
    assert.are.equal("web-0", pod("web-0").metadata.labels["statefulset.kubernetes.io/pod-name"])
    assert.are.equal("web-0", pod("web-0").spec.hostname)
    -- Lowering the partition to 0 finishes the rollout.
    local s = set()
    s.spec.updateStrategy.rollingUpdate.partition = 0
    berth.update(s)
    for _ = 1, 10 do ready_all(); run() end
    assert.are.equal("nginx:2", pod("web-0").spec.containers[1].image)
    assert.are.equal(set().status.updateRevision, set().status.currentRevision)
  end)

  it("updates only deleted pods under OnDelete", function()
    add_set({ updateStrategy = { type = "OnDelete" } })
    for _ = 1, 3 do run(); ready_all() end
    update_template("nginx:2")
    for _ = 1, 3 do run(); ready_all() end
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
    assert.are.equal(0, set().status.updatedReplicas)
    berth.delete("Pod", "default", "web-1")
    run()
    assert.are.equal("nginx:2", pod("web-1").spec.containers[1].image)
    assert.are.equal("nginx:1", pod("web-2").spec.containers[1].image)
    assert.are.equal(1, set().status.updatedReplicas)
  end)

  it("deletes a failed pod and recreates it under the same name", function()
    add_set({ replicas = 1 })
    run()
    local uid = pod("web-0").metadata.uid
    berth.set_status("Pod", "default", "web-0", { phase = "Failed" })
    run()
    run()
    local p = pod("web-0")
    assert.is_not_nil(p)
    assert.are_not.equal(uid, p.metadata.uid)
  end)

  it("counts available pods only after minReadySeconds", function()
    add_set({ replicas = 1, minReadySeconds = 10 })
    run()
    make_ready("web-0")
    assert.are.equal(10, run())
    assert.are.equal(0, set().status.availableReplicas)
    assert.are.equal(1, set().status.readyReplicas)
    berth.advance(10)
    run()
    assert.are.equal(1, set().status.availableReplicas)
  end)

  it("writes status only when it changes", function()
    add_set({ replicas = 1 })
    run()
    make_ready("web-0")
    run()
    berth.reset_writes()
    run()
    assert.are.equal(0, #berth.writes)
  end)
end)
