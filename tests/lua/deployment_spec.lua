-- Behaviour of controllers/deployment.lua, run together with the
-- ReplicaSet controller against the fake berth module; the spec plays the
-- kubelet by marking pods ready.

local fake = require("fake_berth")

local NS = "default"
local REV = "deployment.kubernetes.io/revision"

local function make_deploy(name, replicas, spec)
  local d = {
    apiVersion = "apps/v1", kind = "Deployment",
    metadata = { name = name, namespace = NS },
    spec = {
      replicas = replicas,
      selector = { matchLabels = { app = name } },
      template = {
        metadata = { labels = { app = name } },
        spec = { containers = { { name = "c", image = "nginx:1" } } },
      },
    },
  }
  for k, v in pairs(spec or {}) do d.spec[k] = v end
  return d
end

local function rolling(surge, unavailable)
  return { type = "RollingUpdate", rollingUpdate = { maxSurge = surge, maxUnavailable = unavailable } }
end

describe("deployment controller", function()
  local berth, dctl, rsctl
  -- Checked after every reconcile while set: { min_ready =, max_pods = }.
  local bounds

  local function pods_ready()
    local n = 0
    for _, p in ipairs(berth.all("Pod")) do
      for _, c in ipairs((p.status or {}).conditions or {}) do
        if c.type == "Ready" and c.status == "True" then n = n + 1 end
      end
    end
    return n
  end

  local function check_bounds()
    if not bounds then return end
    assert.is_true(pods_ready() >= bounds.min_ready,
      "ready pods fell to " .. pods_ready())
    assert.is_true(berth.count("Pod") <= bounds.max_pods,
      "pods rose to " .. berth.count("Pod"))
  end

  -- Runs both controllers until a whole round writes nothing.
  local function converge(name)
    for _ = 1, 50 do
      local before = #berth.writes
      fake.reconcile(dctl, NS .. "/" .. name)
      check_bounds()
      for _, rs in ipairs(berth.all("ReplicaSet")) do
        fake.reconcile(rsctl, NS .. "/" .. rs.metadata.name)
        check_bounds()
      end
      if #berth.writes == before then return end
    end
    error("no fixed point")
  end

  -- Marks every pod that is not ready yet Running and Ready now.
  local function make_ready()
    local changed = false
    for _, p in ipairs(berth.all("Pod")) do
      if not (p.status and p.status.phase == "Running") then
        berth.set_status("Pod", NS, p.metadata.name, { phase = "Running",
          conditions = { { type = "Ready", status = "True", lastTransitionTime = berth.time() } } })
        changed = true
      end
    end
    return changed
  end

  -- Converges and readies pods in turns until nothing changes.
  local function roll_out(name)
    for _ = 1, 100 do
      converge(name)
      if not make_ready() then return end
    end
    error("rollout never finished")
  end

  -- What `kubectl rollout status` checks.
  local function rollout_done(name)
    local d = berth.get("Deployment", NS, name)
    local st = d.status or {}
    return d.metadata.generation <= (st.observedGeneration or 0) and
      (st.updatedReplicas or 0) == d.spec.replicas and
      (st.replicas or 0) == (st.updatedReplicas or 0) and
      (st.availableReplicas or 0) >= (st.updatedReplicas or 0)
  end

  local function condition(name, type_)
    for _, c in ipairs(berth.get("Deployment", NS, name).status.conditions or {}) do
      if c.type == type_ then return c end
    end
  end

  local function set_image(name, image)
    local d = berth.get("Deployment", NS, name)
    d.spec.template.spec.containers[1].image = image
    return berth.update(d)
  end

  local function replica_sets()
    local out = {}
    for _, rs in ipairs(berth.all("ReplicaSet")) do out[rs.spec.template.spec.containers[1].image] = rs end
    return out
  end

  before_each(function()
    berth = fake.new()
    dctl = fake.load("controllers/deployment.lua")
    rsctl = fake.load("controllers/replicaset.lua")
    bounds = nil
  end)

  it("creates one ReplicaSet named by the template hash with all replicas", function()
    local d = berth.add(make_deploy("web", 3))
    fake.reconcile(dctl, "default/web")
    local rss = berth.all("ReplicaSet")
    assert.are.equal(1, #rss)
    local rs = rss[1]
    local hash = berth.template_hash(d.spec.template, nil)
    assert.are.equal("web-" .. hash, rs.metadata.name)
    assert.are.equal(3, rs.spec.replicas)
    assert.are.equal(hash, rs.spec.template.metadata.labels["pod-template-hash"])
    assert.are.equal(hash, rs.spec.selector.matchLabels["pod-template-hash"])
    assert.are.equal(hash, rs.metadata.labels["pod-template-hash"])
    assert.are.equal(d.metadata.uid, berth.controller_of(rs).uid)
    assert.are.equal("1", rs.metadata.annotations[REV])
    assert.are.equal("3", rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"])
    assert.are.equal("4", rs.metadata.annotations["deployment.kubernetes.io/max-replicas"])
    assert.are.equal("1", berth.get("Deployment", NS, "web").metadata.annotations[REV])
    assert.are.equal("NewReplicaSetCreated", condition("web", "Progressing").reason)
    assert.is_false(rollout_done("web"))

    roll_out("web")
    local st = berth.get("Deployment", NS, "web").status
    assert.are.equal(3, st.replicas)
    assert.are.equal(3, st.updatedReplicas)
    assert.are.equal(3, st.readyReplicas)
    assert.are.equal(3, st.availableReplicas)
    assert.are.equal(0, st.unavailableReplicas)
    assert.are.equal(1, st.observedGeneration)
    assert.are.equal("MinimumReplicasAvailable", condition("web", "Available").reason)
    assert.are.equal("True", condition("web", "Available").status)
    assert.are.equal("NewReplicaSetAvailable", condition("web", "Progressing").reason)
    assert.is_true(rollout_done("web"))
    assert.are.equal(3, berth.count("Pod"))
  end)

  it("rolls an image change out within maxSurge and maxUnavailable", function()
    berth.add(make_deploy("web", 4, { strategy = rolling(1, 1) }))
    roll_out("web")
    bounds = { min_ready = 3, max_pods = 5 }
    set_image("web", "nginx:2")
    roll_out("web")
    local rss = replica_sets()
    assert.are.equal(0, rss["nginx:1"].spec.replicas)
    assert.are.equal(4, rss["nginx:2"].spec.replicas)
    assert.are.equal("1", rss["nginx:1"].metadata.annotations[REV])
    assert.are.equal("2", rss["nginx:2"].metadata.annotations[REV])
    assert.are.equal("2", berth.get("Deployment", NS, "web").metadata.annotations[REV])
    assert.is_true(rollout_done("web"))
    assert.are.equal(4, berth.count("Pod"))
    assert.are.equal("NewReplicaSetAvailable", condition("web", "Progressing").reason)
  end)

  it("rounds percentages: surge up, unavailability down", function()
    -- 10 replicas: 25% surge is 3 pods, 25% unavailable is 2.
    berth.add(make_deploy("web", 10))
    roll_out("web")
    bounds = { min_ready = 8, max_pods = 13 }
    set_image("web", "nginx:2")
    converge("web")
    assert.are.equal(13, berth.count("Pod"))
    roll_out("web")
    assert.is_true(rollout_done("web"))
  end)

  it("allows one unavailable pod when both maxSurge and maxUnavailable are zero", function()
    berth.add(make_deploy("web", 3, { strategy = rolling(0, 0) }))
    roll_out("web")
    bounds = { min_ready = 2, max_pods = 3 }
    set_image("web", "nginx:2")
    roll_out("web")
    assert.is_true(rollout_done("web"))
  end)

  it("does not scale old pods down until new ones are available", function()
    berth.add(make_deploy("web", 2, { strategy = rolling(1, 0) }))
    roll_out("web")
    set_image("web", "nginx:2")
    converge("web")
    local rss = replica_sets()
    assert.are.equal(2, rss["nginx:1"].spec.replicas)
    assert.are.equal(1, rss["nginx:2"].spec.replicas)
    assert.are.equal("True", condition("web", "Progressing").status)
    assert.is_false(rollout_done("web"))
  end)

  it("rolls back with rollout undo: the old ReplicaSet gets a new revision", function()
    local d = make_deploy("web", 2)
    d.metadata.annotations = { ["kubernetes.io/change-cause"] = "first" }
    berth.add(d)
    roll_out("web")
    local first = replica_sets()["nginx:1"]
    local d2 = berth.get("Deployment", NS, "web")
    d2.spec.template.spec.containers[1].image = "nginx:2"
    d2.metadata.annotations["kubernetes.io/change-cause"] = "second"
    berth.update(d2)
    roll_out("web")
    assert.are.equal("second", replica_sets()["nginx:2"].metadata.annotations["kubernetes.io/change-cause"])

    -- kubectl rollout undo: the old template without its hash label.
    local undo = berth.get("Deployment", NS, "web")
    local tmpl = berth.copy(first.spec.template)
    tmpl.metadata.labels["pod-template-hash"] = nil
    undo.spec.template = tmpl
    undo.metadata.annotations["kubernetes.io/change-cause"] = "undo"
    berth.update(undo)
    roll_out("web")
    local rss = replica_sets()
    assert.are.equal(2, #berth.all("ReplicaSet"))
    assert.are.equal(first.metadata.name, rss["nginx:1"].metadata.name)
    assert.are.equal("3", rss["nginx:1"].metadata.annotations[REV])
    assert.are.equal("1", rss["nginx:1"].metadata.annotations["deployment.kubernetes.io/revision-history"])
    assert.are.equal("undo", rss["nginx:1"].metadata.annotations["kubernetes.io/change-cause"])
    assert.are.equal(2, rss["nginx:1"].spec.replicas)
    assert.are.equal(0, rss["nginx:2"].spec.replicas)
    assert.are.equal("3", berth.get("Deployment", NS, "web").metadata.annotations[REV])
    assert.is_true(rollout_done("web"))
  end)

  it("recreates: old pods all gone before the new ReplicaSet exists", function()
    berth.add(make_deploy("web", 3, { strategy = { type = "Recreate" } }))
    roll_out("web")
    set_image("web", "nginx:2")
    fake.reconcile(dctl, "default/web")
    local rss = berth.all("ReplicaSet")
    assert.are.equal(1, #rss)
    assert.are.equal(0, rss[1].spec.replicas)
    -- The old pods still run: nothing new yet.
    fake.reconcile(dctl, "default/web")
    assert.are.equal(1, #berth.all("ReplicaSet"))
    -- The ReplicaSet controller removes them; a pod's removal wakes the
    -- Deployment, which then creates the new ReplicaSet at full size.
    local keys = {}
    local seen = #berth.changes
    fake.reconcile(rsctl, "default/" .. rss[1].metadata.name)
    for i = seen + 1, #berth.changes do
      local c = berth.changes[i]
      for _, k in ipairs(fake.keys_for(dctl, c.kind, c.obj)) do keys[k] = true end
    end
    assert.is_true(keys["default/web"])
    -- Until the old ReplicaSet's status shows no pods, still nothing.
    fake.reconcile(dctl, "default/web")
    assert.is_nil(replica_sets()["nginx:2"])
    fake.reconcile(rsctl, "default/" .. rss[1].metadata.name)
    fake.reconcile(dctl, "default/web")
    local new = replica_sets()["nginx:2"]
    assert.are.equal(3, new.spec.replicas)
    roll_out("web")
    assert.is_true(rollout_done("web"))
  end)

  it("makes no rollout progress while paused but keeps status and scaling", function()
    berth.add(make_deploy("web", 2))
    roll_out("web")
    local d = berth.get("Deployment", NS, "web")
    d.spec.paused = true
    berth.update(d)
    set_image("web", "nginx:2")
    roll_out("web")
    assert.are.equal(1, #berth.all("ReplicaSet"))
    assert.are.equal("DeploymentPaused", condition("web", "Progressing").reason)
    assert.are.equal(3, berth.get("Deployment", NS, "web").status.observedGeneration)
    -- Scaling still works.
    d = berth.get("Deployment", NS, "web")
    d.spec.replicas = 4
    berth.update(d)
    roll_out("web")
    assert.are.equal(4, replica_sets()["nginx:1"].spec.replicas)
    assert.are.equal(4, berth.get("Deployment", NS, "web").status.availableReplicas)
    -- Resumed, the rollout goes ahead.
    d = berth.get("Deployment", NS, "web")
    d.spec.paused = false
    berth.update(d)
    roll_out("web")
    assert.are.equal(4, replica_sets()["nginx:2"].spec.replicas)
    assert.is_true(rollout_done("web"))
  end)

  it("keeps revisionHistoryLimit old ReplicaSets", function()
    berth.add(make_deploy("web", 1, { revisionHistoryLimit = 1 }))
    roll_out("web")
    for v = 2, 4 do
      set_image("web", "nginx:" .. v)
      roll_out("web")
    end
    local rss = replica_sets()
    assert.are.equal(2, #berth.all("ReplicaSet"))
    assert.truthy(rss["nginx:4"])
    assert.truthy(rss["nginx:3"])
    assert.are.equal("4", rss["nginx:4"].metadata.annotations[REV])
  end)

  it("reports ProgressDeadlineExceeded when a rollout stalls", function()
    berth.add(make_deploy("web", 2, { progressDeadlineSeconds = 60 }))
    roll_out("web")
    set_image("web", "nginx:2")
    converge("web")
    -- New pods never become ready. The controller asks to look again when
    -- the deadline passes.
    local after = fake.reconcile(dctl, "default/web")
    assert.is_true(after ~= nil and after > 59 and after <= 60.01)
    berth.advance(30)
    fake.reconcile(dctl, "default/web")
    assert.are.equal("True", condition("web", "Progressing").status)
    berth.advance(31)
    assert.is_nil(fake.reconcile(dctl, "default/web"))
    local c = condition("web", "Progressing")
    assert.are.equal("False", c.status)
    assert.are.equal("ProgressDeadlineExceeded", c.reason)
    -- Progress afterwards sets it going again.
    roll_out("web")
    assert.are.equal("NewReplicaSetAvailable", condition("web", "Progressing").reason)
    assert.are.equal("True", condition("web", "Progressing").status)
  end)

  it("marks the Deployment unavailable below its minimum", function()
    berth.add(make_deploy("web", 4, { strategy = rolling(1, 1) }))
    converge("web")
    local c = condition("web", "Available")
    assert.are.equal("False", c.status)
    assert.are.equal("MinimumReplicasUnavailable", c.reason)
    assert.are.equal(4, berth.get("Deployment", NS, "web").status.unavailableReplicas)
  end)

  it("scales proportionally in the middle of a rollout", function()
    berth.add(make_deploy("web", 10, { strategy = rolling(3, 2) }))
    roll_out("web")
    set_image("web", "nginx:2")
    converge("web")
    local d = berth.get("Deployment", NS, "web")
    d.spec.replicas = 20
    berth.update(d)
    fake.reconcile(dctl, "default/web")
    local rss = replica_sets()
    local old, new = rss["nginx:1"].spec.replicas, rss["nginx:2"].spec.replicas
    -- 13 pods (8 old + 5 new) grow to the new allowance of 20 + 3 surge,
    -- each ReplicaSet by its share: 8 * 23 / 13 = 14 and 5 * 23 / 13 = 9.
    assert.are.equal(14, old)
    assert.are.equal(9, new)
    roll_out("web")
    assert.are.equal(20, replica_sets()["nginx:2"].spec.replicas)
    assert.is_true(rollout_done("web"))
  end)

  it("adopts an orphan ReplicaSet with its template instead of creating one", function()
    local d = berth.add(make_deploy("web", 2))
    local hash = berth.template_hash(d.spec.template, nil)
    local tmpl = berth.copy(d.spec.template)
    tmpl.metadata.labels["pod-template-hash"] = hash
    berth.add({ apiVersion = "apps/v1", kind = "ReplicaSet",
      metadata = { name = "web-" .. hash, namespace = NS, labels = tmpl.metadata.labels },
      spec = { replicas = 2, selector = { matchLabels = { app = "web", ["pod-template-hash"] = hash } },
               template = tmpl } })
    fake.reconcile(dctl, "default/web")
    assert.are.equal(1, #berth.all("ReplicaSet"))
    assert.are.equal(d.metadata.uid, berth.controller_of(berth.all("ReplicaSet")[1]).uid)
  end)

  it("counts a hash collision and names the ReplicaSet anew", function()
    local d = berth.add(make_deploy("web", 1))
    local hash = berth.template_hash(d.spec.template, nil)
    -- Someone else's ReplicaSet holds the name.
    berth.add({ apiVersion = "apps/v1", kind = "ReplicaSet",
      metadata = { name = "web-" .. hash, namespace = NS, labels = { other = "x" } },
      spec = { replicas = 0, selector = { matchLabels = { other = "x" } },
               template = { metadata = { labels = { other = "x" } }, spec = {} } } })
    assert.has_error(function() fake.reconcile(dctl, "default/web") end)
    assert.are.equal(1, berth.get("Deployment", NS, "web").status.collisionCount)
    fake.reconcile(dctl, "default/web")
    assert.truthy(berth.get("ReplicaSet", NS, "web-" .. berth.template_hash(d.spec.template, 1)))
  end)
end)
