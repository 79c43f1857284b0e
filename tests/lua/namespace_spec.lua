-- Behaviour of controllers/namespace.lua against the fake berth module.

local fake = require("fake_berth")

describe("namespace controller", function()
  local berth, ctl

  local function namespace(name)
    return berth.add({ apiVersion = "v1", kind = "Namespace", metadata = { name = name },
      spec = { finalizers = { "kubernetes" } } })
  end

  local function object(kind, ns, name, extra)
    local o = { apiVersion = kind == "Deployment" and "apps/v1" or "v1", kind = kind,
                metadata = { name = name, namespace = ns } }
    for k, v in pairs(extra or {}) do o.metadata[k] = v end
    return berth.add(o)
  end

  -- Applies a change, then runs the controller on every key it queues.
  local function after(change)
    local from = #berth.changes
    change()
    local keys = {}
    for i = from + 1, #berth.changes do
      local c = berth.changes[i]
      for _, k in ipairs(fake.keys_for(ctl, c.kind, c.obj)) do keys[#keys + 1] = k end
    end
    return fake.run(ctl, keys)
  end

  local function condition(name, type_)
    for _, c in ipairs(berth.get("Namespace", nil, name).status.conditions or {}) do
      if c.type == type_ then return c end
    end
  end

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/namespace.lua")
  end)

  it("marks a namespace Active, once", function()
    namespace("team")
    fake.reconcile(ctl, "team")
    assert.are.equal("Active", berth.get("Namespace", nil, "team").status.phase)
    berth.reset_writes()
    fake.reconcile(ctl, "team")
    assert.are.equal(0, #berth.writes)
  end)

  it("empties a deleted namespace and then finalizes it", function()
    namespace("team")
    namespace("other")
    object("Deployment", "team", "web")
    object("Pod", "team", "web-1")
    object("ConfigMap", "team", "cfg")
    object("Secret", "team", "s")
    object("Pod", "other", "keep")
    after(function() berth.delete("Namespace", nil, "team") end)
    assert.is_nil(berth.get("Namespace", nil, "team"))
    assert.are.equal(1, berth.count("Pod"))
    assert.are.equal(0, berth.count("Deployment"))
    assert.are.equal(0, berth.count("ConfigMap"))
    assert.are.equal(0, berth.count("Secret"))
    assert.truthy(berth.get("Pod", "other", "keep"))
    assert.are.equal(1, #berth.writes_of("finalize", "Namespace"))
  end)

  it("waits for content held by finalizers and reports it", function()
    namespace("team")
    object("Pod", "team", "slow", { finalizers = { "example.com/hold" } })
    object("ConfigMap", "team", "cfg")
    after(function() berth.delete("Namespace", nil, "team") end)
    local ns = berth.get("Namespace", nil, "team")
    assert.truthy(ns)
    assert.are.equal("Terminating", ns.status.phase)
    assert.are.same({ "kubernetes" }, ns.spec.finalizers)
    assert.are.equal(0, berth.count("ConfigMap"))
    local c = condition("team", "NamespaceContentRemaining")
    assert.are.equal("True", c.status)
    assert.are.equal("SomeResourcesRemain", c.reason)
    assert.truthy(c.message:find("Pod has 1 resource instances", 1, true))
    assert.are.equal("SomeFinalizersRemain", condition("team", "NamespaceFinalizersRemaining").reason)
    assert.are.equal(15, fake.reconcile(ctl, "team"))
    -- The pod's finalizer goes: the namespace follows.
    after(function() berth.patch("Pod", "team", "slow", { metadata = { finalizers = berth.null } }) end)
    assert.is_nil(berth.get("Namespace", nil, "team"))
  end)

  it("leaves a namespace to its other finalizers once its content is gone", function()
    local ns = namespace("team")
    ns.metadata.finalizers = { "example.com/keep" }
    berth.update(ns)
    after(function() berth.delete("Namespace", nil, "team") end)
    ns = berth.get("Namespace", nil, "team")
    assert.truthy(ns)
    assert.are.same({}, ns.spec.finalizers)
    assert.are.equal("Terminating", ns.status.phase)
    berth.reset_writes()
    fake.reconcile(ctl, "team")
    assert.are.equal(0, #berth.writes)
  end)

  it("reports a failed deletion and retries", function()
    namespace("team")
    object("Pod", "team", "p")
    berth.delete("Namespace", nil, "team")
    berth.fail_next("delete", "Forbidden")
    assert.has_error(function() fake.reconcile(ctl, "team") end)
    assert.are.equal("ContentDeletionFailed", condition("team", "NamespaceDeletionContentFailure").reason)
    fake.reconcile(ctl, "team")
    assert.is_nil(berth.get("Namespace", nil, "team"))
  end)

  it("deletes a large namespace in bursts", function()
    namespace("big")
    for i = 1, 1200 do object("ConfigMap", "big", "cm-" .. i) end
    berth.delete("Namespace", nil, "big")
    assert.are.equal(0, fake.reconcile(ctl, "big"))
    assert.are.equal(700, berth.count("ConfigMap"))
    assert.are.equal(0, fake.reconcile(ctl, "big"))
    fake.reconcile(ctl, "big")
    assert.are.equal(0, berth.count("ConfigMap"))
    fake.reconcile(ctl, "big")
    assert.is_nil(berth.get("Namespace", nil, "big"))
  end)
end)
