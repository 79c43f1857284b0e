-- Behaviour of controllers/garbage-collector.lua against the fake berth
-- module, driven through fake.run so that every change queues the keys the
-- host would queue.

local fake = require("fake_berth")

local NS = "default"

describe("garbage collector", function()
  local berth, gc

  local function obj(kind, name, owners, extra)
    local api = ({ Deployment = "apps/v1", ReplicaSet = "apps/v1" })[kind] or "v1"
    local o = { apiVersion = api, kind = kind, metadata = { name = name, namespace = NS } }
    if owners then
      local refs = {}
      for _, owner in ipairs(owners) do refs[#refs + 1] = berth.owner_ref(owner) end
      o.metadata.ownerReferences = refs
    end
    for k, v in pairs(extra or {}) do o.metadata[k] = v end
    return berth.add(o)
  end

  -- Applies a change the way a user would, then lets the collector handle
  -- every key that change queues.
  local function after(change)
    local from = #berth.changes
    change()
    local keys = {}
    for i = from + 1, #berth.changes do
      local c = berth.changes[i]
      for _, k in ipairs(fake.keys_for(gc, c.kind, c.obj)) do keys[#keys + 1] = k end
    end
    return fake.run(gc, keys)
  end

  local function exists(kind, name) return berth.get(kind, NS, name) ~= nil end

  -- A Deployment, a ReplicaSet it owns and two pods the ReplicaSet owns,
  -- all created a while ago.
  local function family()
    local d = obj("Deployment", "web")
    local rs = obj("ReplicaSet", "web-1", { d })
    obj("Pod", "web-1-a", { rs })
    obj("Pod", "web-1-b", { rs })
    berth.advance(60)
    return d, rs
  end

  before_each(function()
    berth = fake.new()
    gc = fake.load("controllers/garbage-collector.lua")
  end)

  it("leaves objects whose owners exist", function()
    family()
    local keys = {}
    for _, kind in ipairs({ "Deployment", "ReplicaSet", "Pod" }) do
      for _, o in ipairs(berth.all(kind)) do keys[#keys + 1] = kind .. "/" .. NS .. "/" .. o.metadata.name end
    end
    fake.run(gc, keys)
    assert.are.equal(0, #berth.writes)
  end)

  it("deletes dependents in the background, down the whole chain", function()
    family()
    after(function() berth.delete("Deployment", NS, "web") end)
    assert.is_false(exists("ReplicaSet", "web-1"))
    assert.is_false(exists("Pod", "web-1-a"))
    assert.is_false(exists("Pod", "web-1-b"))
    for _, w in ipairs(berth.writes_of("delete", "Pod")) do
      assert.are.equal("Background", w.opts.propagationPolicy)
      assert.truthy(w.opts.preconditions.uid)
    end
  end)

  it("collects dependents that arrive after their owner is gone", function()
    local d = obj("Deployment", "web")
    berth.delete("Deployment", NS, "web")
    berth.advance(60)
    -- The ReplicaSet shows up late, still naming the deleted Deployment.
    local rs
    after(function() rs = obj("ReplicaSet", "late", { d }, { creationTimestamp = berth.time(berth.now() - 30) }) end)
    assert.is_false(exists("ReplicaSet", "late"))
    assert.truthy(rs)
  end)

  it("judges owners by uid, not by name", function()
    local old = obj("ConfigMap", "cfg")
    berth.delete("ConfigMap", NS, "cfg")
    obj("ConfigMap", "cfg") -- a new object under the same name
    berth.advance(60)
    after(function() obj("Secret", "s", { old }, { creationTimestamp = berth.time(berth.now() - 30) }) end)
    assert.is_false(exists("Secret", "s"))
    assert.is_true(exists("ConfigMap", "cfg"))
  end)

  it("gives a just-created dependent time for its owner to arrive", function()
    local ghost = { apiVersion = "apps/v1", kind = "ReplicaSet", metadata = { name = "soon", uid = "uid-soon" } }
    after(function() obj("Pod", "p", { ghost }) end)
    assert.is_true(exists("Pod", "p"))
    local wait = fake.reconcile(gc, "Pod/default/p")
    assert.is_true(wait > 0 and wait <= 5)
    berth.advance(5)
    fake.run(gc, { "Pod/default/p" })
    assert.is_false(exists("Pod", "p"))
  end)

  it("keeps a dependent with another owner and drops the dangling reference", function()
    local a = obj("ConfigMap", "a")
    local b = obj("ConfigMap", "b")
    obj("Secret", "s", { a, b })
    berth.advance(60)
    after(function() berth.delete("ConfigMap", NS, "a") end)
    local s = berth.get("Secret", NS, "s")
    assert.truthy(s)
    assert.are.equal(1, #s.metadata.ownerReferences)
    assert.are.equal(b.metadata.uid, s.metadata.ownerReferences[1].uid)
  end)

  it("never judges owners of kinds it does not watch", function()
    local node = { apiVersion = "v1", kind = "Node", metadata = { name = "n1", uid = "uid-node" } }
    obj("Pod", "p", { node })
    berth.advance(60)
    fake.run(gc, { "Pod/default/p" })
    assert.is_true(exists("Pod", "p"))
  end)

  it("deletes in the foreground: dependents first, then the owner", function()
    family()
    after(function() berth.delete("Deployment", NS, "web", { propagationPolicy = "Foreground" }) end)
    for _, k in ipairs({ { "Deployment", "web" }, { "ReplicaSet", "web-1" },
                         { "Pod", "web-1-a" }, { "Pod", "web-1-b" } }) do
      assert.is_false(exists(k[1], k[2]), k[2])
    end
    -- Order of removal: both pods, then the ReplicaSet, then the Deployment.
    local order = {}
    for _, c in ipairs(berth.changes) do
      if c.gone then order[#order + 1] = c.obj.metadata.name end
    end
    assert.are.same("web", order[#order])
    assert.are.same("web-1", order[#order - 1])
    -- The ReplicaSet itself went in the foreground, as it had dependents.
    local rs_delete = berth.writes_of("delete", "ReplicaSet")[1]
    assert.are.equal("Foreground", rs_delete.opts.propagationPolicy)
  end)

  it("holds a foreground owner while a blocking dependent is still terminating", function()
    local d = obj("Deployment", "web")
    -- A pod with its own finalizer stays after deletion, as a terminating pod does.
    obj("Pod", "slow", { d }, { finalizers = { "example.com/hold" } })
    berth.advance(60)
    after(function() berth.delete("Deployment", NS, "web", { propagationPolicy = "Foreground" }) end)
    assert.is_true(exists("Deployment", "web"))
    assert.truthy(berth.get("Pod", NS, "slow").metadata.deletionTimestamp)
    -- The pod's finalizer goes; the owner follows.
    after(function() berth.patch("Pod", NS, "slow", { metadata = { finalizers = berth.null } }) end)
    assert.is_false(exists("Pod", "slow"))
    assert.is_false(exists("Deployment", "web"))
  end)

  it("does not wait in the foreground for dependents that do not block", function()
    local d = obj("Deployment", "web")
    local cm = obj("ConfigMap", "loose", nil, { finalizers = { "example.com/hold" } })
    cm.metadata.ownerReferences = { { apiVersion = "apps/v1", kind = "Deployment", name = "web",
      uid = d.metadata.uid } }
    berth.update(cm)
    berth.advance(60)
    after(function() berth.delete("Deployment", NS, "web", { propagationPolicy = "Foreground" }) end)
    assert.is_false(exists("Deployment", "web"))
    assert.truthy(berth.get("ConfigMap", NS, "loose").metadata.deletionTimestamp)
  end)

  it("orphans dependents: references removed, dependents kept", function()
    local _, rs = family()
    local other = obj("ConfigMap", "other")
    local pod = berth.get("Pod", NS, "web-1-a")
    pod.metadata.ownerReferences[2] = berth.owner_ref(other)
    pod.metadata.ownerReferences[2].controller = false
    berth.update(pod)
    after(function() berth.delete("ReplicaSet", NS, "web-1", { propagationPolicy = "Orphan" }) end)
    assert.is_false(exists("ReplicaSet", "web-1"))
    assert.is_nil(berth.get("Pod", NS, "web-1-b").metadata.ownerReferences)
    local a = berth.get("Pod", NS, "web-1-a")
    assert.are.equal(1, #a.metadata.ownerReferences)
    assert.are.equal(other.metadata.uid, a.metadata.ownerReferences[1].uid)
    assert.is_nil(berth.owned("Pod", rs)[1])
    assert.is_true(exists("Deployment", "web"))
  end)

  it("collects in any order of arrival", function()
    -- The same end state whichever of the objects the collector sees first.
    local orders = {
      { "Pod/default/web-1-a", "Pod/default/web-1-b", "ReplicaSet/default/web-1" },
      { "ReplicaSet/default/web-1", "Pod/default/web-1-b", "Pod/default/web-1-a" },
      { "Pod/default/web-1-b", "ReplicaSet/default/web-1", "Pod/default/web-1-a" },
    }
    for _, keys in ipairs(orders) do
      berth = fake.new()
      gc = fake.load("controllers/garbage-collector.lua")
      family()
      -- The Deployment vanished before the collector saw anything.
      berth.objects.Deployment = {}
      fake.run(gc, keys)
      assert.are.equal(0, berth.count("ReplicaSet"))
      assert.are.equal(0, berth.count("Pod"))
    end
  end)

  it("handles a large foreground owner in bursts", function()
    local rs = obj("ReplicaSet", "big")
    for i = 1, 1200 do obj("Pod", "p-" .. i, { rs }) end
    berth.advance(60)
    berth.delete("ReplicaSet", NS, "big", { propagationPolicy = "Foreground" })
    assert.are.equal(0, fake.reconcile(gc, "ReplicaSet/default/big"))
    assert.are.equal(700, berth.count("Pod"))
    fake.reconcile(gc, "ReplicaSet/default/big")
    fake.reconcile(gc, "ReplicaSet/default/big")
    assert.are.equal(0, berth.count("Pod"))
    assert.is_nil(berth.get("ReplicaSet", NS, "big"))
  end)
end)
