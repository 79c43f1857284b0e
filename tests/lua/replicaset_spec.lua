-- Behaviour of controllers/replicaset.lua against the fake berth module.

local fake = require("fake_berth")

local NS = "default"

local function make_rs(name, replicas, extra)
  local rs = {
    apiVersion = "apps/v1", kind = "ReplicaSet",
    metadata = { name = name, namespace = NS, generation = 1 },
    spec = {
      replicas = replicas,
      selector = { matchLabels = { app = name } },
      template = {
        metadata = { labels = { app = name, tier = "web" } },
        spec = { containers = { { name = "c", image = "nginx" } } },
      },
    },
  }
  for k, v in pairs(extra or {}) do rs.spec[k] = v end
  return rs
end

-- A running pod of rs (or an orphan with labels when rs is nil).
local function make_pod(berth, name, labels, owner, fields)
  local pod = {
    apiVersion = "v1", kind = "Pod",
    metadata = { name = name, namespace = NS, labels = labels },
    spec = { containers = { { name = "c", image = "nginx" } } },
    status = { phase = "Pending" },
  }
  if owner then pod.metadata.ownerReferences = { berth.owner_ref(owner) } end
  for k, v in pairs(fields or {}) do
    if k == "creationTimestamp" or k == "deletionTimestamp" then
      pod.metadata[k] = v
    elseif k == "nodeName" then
      pod.spec.nodeName = v
    else
      pod.status[k] = v
    end
  end
  return berth.add(pod)
end

local function ready_status(berth, since)
  return { phase = "Running", conditions = { { type = "Ready", status = "True",
    lastTransitionTime = berth.time(since or berth.now()) } } }
end

local function pods_of(berth, rs)
  return berth.owned("Pod", berth.get("ReplicaSet", NS, rs))
end

local function deleted_names(berth)
  local out = {}
  for _, w in ipairs(berth.writes_of("delete", "Pod")) do out[#out + 1] = w.obj.metadata.name end
  table.sort(out)
  return out
end

describe("replicaset controller", function()
  local berth, ctl
  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/replicaset.lua")
  end)

  it("creates spec.replicas pods from the template, owned by the ReplicaSet", function()
    local rs = berth.add(make_rs("web", 3))
    fake.reconcile(ctl, "default/web")
    local pods = berth.all("Pod")
    assert.are.equal(3, #pods)
    for _, p in ipairs(pods) do
      assert.are.equal("web-", p.metadata.generateName)
      assert.truthy(p.metadata.name:find("^web%-"))
      assert.are.same({ app = "web", tier = "web" }, p.metadata.labels)
      assert.are.equal("nginx", p.spec.containers[1].image)
      local ref = p.metadata.ownerReferences[1]
      assert.are.equal(rs.metadata.uid, ref.uid)
      assert.is_true(ref.controller)
      assert.is_true(ref.blockOwnerDeletion)
    end
    -- Status counts what the cache showed at the start of the pass.
    fake.reconcile(ctl, "default/web")
    local st = berth.get("ReplicaSet", NS, "web").status
    assert.are.equal(3, st.replicas)
    assert.are.equal(3, st.fullyLabeledReplicas)
    assert.are.equal(0, st.readyReplicas)
    assert.are.equal(0, st.availableReplicas)
    assert.are.equal(1, st.observedGeneration)
  end)

  it("writes status only when it changes", function()
    berth.add(make_rs("web", 2))
    fake.settle(ctl, "default/web")
    berth.reset_writes()
    fake.reconcile(ctl, "default/web")
    assert.are.equal(0, #berth.writes)
  end)

  it("counts ready and available pods", function()
    local rs = berth.add(make_rs("web", 2))
    make_pod(berth, "a", { app = "web", tier = "web" }, rs)
    make_pod(berth, "b", { app = "web" }, rs)
    berth.set_status("Pod", NS, "a", ready_status(berth))
    fake.reconcile(ctl, "default/web")
    local st = berth.get("ReplicaSet", NS, "web").status
    assert.are.equal(2, st.replicas)
    assert.are.equal(1, st.fullyLabeledReplicas)
    assert.are.equal(1, st.readyReplicas)
    assert.are.equal(1, st.availableReplicas)
    assert.are.equal(0, #berth.writes_of("create", "Pod"))
  end)

  it("ignores pods being deleted and finished pods, and replaces them", function()
    local rs = berth.add(make_rs("web", 3))
    local labels = { app = "web", tier = "web" }
    make_pod(berth, "ok", labels, rs, { phase = "Running" })
    make_pod(berth, "done", labels, rs, { phase = "Succeeded" })
    make_pod(berth, "failed", labels, rs, { phase = "Failed" })
    make_pod(berth, "going", labels, rs, { deletionTimestamp = berth.time() })
    fake.reconcile(ctl, "default/web")
    assert.are.equal(2, #berth.writes_of("create", "Pod"))
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
    fake.reconcile(ctl, "default/web")
    assert.are.equal(3, berth.get("ReplicaSet", NS, "web").status.replicas)
  end)

  it("scales down, deleting the least useful pods first", function()
    local rs = berth.add(make_rs("web", 7))
    local l = { app = "web", tier = "web" }
    local t0 = berth.now()
    berth.advance(1000)
    local old, new = berth.time(t0), berth.time(t0 + 500)
    -- Best to worst to keep: ready long ago, ... , unassigned.
    make_pod(berth, "p-unassigned", l, rs, { phase = "Running" })
    make_pod(berth, "p-pending", l, rs, { nodeName = "n1", phase = "Pending" })
    make_pod(berth, "p-unknown", l, rs, { nodeName = "n1", phase = "Unknown" })
    make_pod(berth, "p-notready", l, rs, { nodeName = "n1", phase = "Running" })
    make_pod(berth, "p-ready-new", l, rs, { nodeName = "n1" })
    make_pod(berth, "p-ready-old-restarts", l, rs, { nodeName = "n1" })
    make_pod(berth, "p-ready-old-newer", l, rs, { nodeName = "n1", creationTimestamp = new })
    make_pod(berth, "p-ready-old", l, rs, { nodeName = "n1", creationTimestamp = old })
    make_pod(berth, "p-ready-old-2", l, rs, { nodeName = "n1", creationTimestamp = old })
    local function ready(name, since, restarts)
      local st = ready_status(berth, since)
      st.containerStatuses = { { name = "c", restartCount = restarts or 0 } }
      berth.set_status("Pod", NS, name, st)
    end
    ready("p-ready-new", t0 + 900)
    ready("p-ready-old-restarts", t0, 5)
    ready("p-ready-old-newer", t0)
    ready("p-ready-old", t0)
    ready("p-ready-old-2", t0)

    local expected = { "p-unassigned", "p-pending", "p-unknown", "p-notready",
      "p-ready-new", "p-ready-old-restarts", "p-ready-old-newer" }
    local doomed = {}
    for i, name in ipairs(expected) do
      berth.reset_writes()
      local spec = berth.get("ReplicaSet", NS, "web")
      spec.spec.replicas = 9 - i
      berth.update(spec)
      fake.reconcile(ctl, "default/web")
      doomed[#doomed + 1] = name
      assert.are.same({ name }, deleted_names(berth))
    end
    local left = {}
    for _, p in ipairs(berth.all("Pod")) do left[#left + 1] = p.metadata.name end
    assert.are.same({ "p-ready-old", "p-ready-old-2" }, left)
  end)

  it("adopts orphans its selector selects and leaves other controllers' pods", function()
    local rs = berth.add(make_rs("web", 2))
    local other = berth.add(make_rs("other", 0))
    make_pod(berth, "orphan", { app = "web" })
    make_pod(berth, "foreign", { app = "web" }, other)
    make_pod(berth, "stranger", { app = "db" })
    make_pod(berth, "dying", { app = "web" }, nil, { deletionTimestamp = berth.time() })
    fake.reconcile(ctl, "default/web")
    local orphan = berth.get("Pod", NS, "orphan")
    assert.are.equal(rs.metadata.uid, berth.controller_of(orphan).uid)
    assert.are.equal(other.metadata.uid, berth.controller_of(berth.get("Pod", NS, "foreign")).uid)
    assert.is_nil(berth.get("Pod", NS, "stranger").metadata.ownerReferences)
    assert.is_nil(berth.get("Pod", NS, "dying").metadata.ownerReferences)
    -- The orphan counts: one more pod makes two.
    assert.are.equal(1, #berth.writes_of("create", "Pod"))
  end)

  it("releases owned pods whose labels stop matching", function()
    local rs = berth.add(make_rs("web", 1))
    make_pod(berth, "moved", { app = "elsewhere" }, rs, { phase = "Running" })
    local keep = make_pod(berth, "kept", { app = "web" }, rs, { phase = "Running" })
    keep.metadata.ownerReferences[2] = { apiVersion = "v1", kind = "ConfigMap", name = "x", uid = "cm" }
    berth.update(keep)
    fake.reconcile(ctl, "default/web")
    assert.is_nil(berth.get("Pod", NS, "moved").metadata.ownerReferences)
    assert.are.equal(2, #berth.get("Pod", NS, "kept").metadata.ownerReferences)
    assert.are.equal(0, #berth.writes_of("create", "Pod"))
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
  end)

  it("makes ready pods available after minReadySeconds", function()
    local rs = berth.add(make_rs("web", 2, { minReadySeconds = 10 }))
    make_pod(berth, "a", { app = "web" }, rs)
    make_pod(berth, "b", { app = "web" }, rs)
    berth.set_status("Pod", NS, "a", ready_status(berth))
    berth.advance(4)
    berth.set_status("Pod", NS, "b", ready_status(berth))
    local after = fake.reconcile(ctl, "default/web")
    local st = berth.get("ReplicaSet", NS, "web").status
    assert.are.equal(2, st.readyReplicas)
    assert.are.equal(0, st.availableReplicas)
    -- Pod a was ready 4 s ago: it is due in 6 s.
    assert.is_true(after > 6 and after < 6.1)
    berth.advance(7)
    after = fake.reconcile(ctl, "default/web")
    assert.are.equal(1, berth.get("ReplicaSet", NS, "web").status.availableReplicas)
    assert.is_true(after > 3 and after < 3.1)
    berth.advance(4)
    assert.is_nil(fake.reconcile(ctl, "default/web"))
    assert.are.equal(2, berth.get("ReplicaSet", NS, "web").status.availableReplicas)
  end)

  it("creates at most a burst per pass and asks to run again", function()
    berth.add(make_rs("big", 1200))
    assert.are.equal(0, fake.reconcile(ctl, "default/big"))
    assert.are.equal(500, berth.count("Pod"))
    assert.are.equal(0, fake.reconcile(ctl, "default/big"))
    assert.are.equal(1000, berth.count("Pod"))
    assert.is_nil(fake.reconcile(ctl, "default/big"))
    assert.are.equal(1200, berth.count("Pod"))
  end)

  it("does not create again while the cache has not shown its pods", function()
    berth.add(make_rs("web", 2))
    fake.reconcile(ctl, "default/web")
    -- The cache lags: one created pod is not visible yet.
    local pods = berth.all("Pod")
    berth.objects.Pod[NS .. "/" .. pods[1].metadata.name] = nil
    fake.reconcile(ctl, "default/web")
    assert.are.equal(2, #berth.writes_of("create", "Pod"))
    -- It shows up; all is known again and nothing more happens.
    berth.add(pods[1])
    fake.reconcile(ctl, "default/web")
    assert.are.equal(2, #berth.writes_of("create", "Pod"))
    assert.are.equal(2, berth.get("ReplicaSet", NS, "web").status.replicas)
  end)

  it("reports a failed create in a ReplicaFailure condition and retries", function()
    berth.add(make_rs("web", 1))
    berth.fail_next("create", "Forbidden")
    assert.has_error(function() fake.reconcile(ctl, "default/web") end)
    local cond = berth.get("ReplicaSet", NS, "web").status.conditions[1]
    assert.are.equal("ReplicaFailure", cond.type)
    assert.are.equal("FailedCreate", cond.reason)
    fake.reconcile(ctl, "default/web")
    fake.reconcile(ctl, "default/web")
    assert.is_nil(berth.get("ReplicaSet", NS, "web").status.conditions)
    assert.are.equal(1, berth.count("Pod"))
  end)

  it("creates nothing for a ReplicaSet being deleted", function()
    local rs = make_rs("web", 3)
    rs.metadata.deletionTimestamp = berth.time()
    berth.add(rs)
    fake.reconcile(ctl, "default/web")
    assert.are.equal(0, berth.count("Pod"))
  end)

  it("keeps 10,000 replicas in reasonable time", function()
    berth.add(make_rs("huge", 10000))
    local t = os.clock()
    local passes = 0
    repeat
      passes = passes + 1
      local again = fake.reconcile(ctl, "default/huge")
    until again == nil or passes > 40
    assert.are.equal(10000, berth.count("Pod"))
    -- Scale down by half in bursts, then check the status pass.
    local rs = berth.get("ReplicaSet", NS, "huge")
    rs.spec.replicas = 5000
    berth.update(rs)
    repeat
      passes = passes + 1
      local again = fake.reconcile(ctl, "default/huge")
    until again == nil or passes > 80
    fake.reconcile(ctl, "default/huge")
    assert.are.equal(5000, berth.count("Pod"))
    assert.are.equal(5000, berth.get("ReplicaSet", NS, "huge").status.replicas)
    local secs = os.clock() - t
    print(string.format("\n10000 replicas up and 5000 down: %d passes, %.2f s CPU", passes, secs))
    assert.is_true(secs < 60)
  end)
end)
