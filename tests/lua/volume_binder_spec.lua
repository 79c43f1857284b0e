-- Behaviour of controllers/volume-binder.lua and its matching rules
-- (controllers/lib/volumes.lua) against the fake berth module.
local fake = require("fake_berth")

describe("persistentvolume-binder", function()
  local berth, ctl
  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/volume-binder.lua")
  end)

  -- A static volume as a user writes it (after the API's defaults).
  local function volume(name, o)
    o = o or {}
    local pv = berth.add({ apiVersion = "v1", kind = "PersistentVolume",
      metadata = { name = name, labels = o.labels, annotations = o.annotations },
      spec = { capacity = { storage = o.size or "10Gi" },
               accessModes = berth.array(o.modes or { "ReadWriteOnce" }),
               storageClassName = o.class,
               persistentVolumeReclaimPolicy = o.policy or "Retain",
               volumeMode = o.mode or "Filesystem",
               hostPath = { path = "/mnt/data" },
               claimRef = o.claimRef } })
    if o.phase then berth.set_status("PersistentVolume", nil, name, { phase = o.phase }) end
    return pv
  end

  local function claim(name, o)
    o = o or {}
    return berth.add({ apiVersion = "v1", kind = "PersistentVolumeClaim",
      metadata = { name = name, namespace = o.namespace or "default" },
      spec = { accessModes = berth.array(o.modes or { "ReadWriteOnce" }),
               resources = { requests = { storage = o.size or "3Gi" } },
               storageClassName = o.class, volumeName = o.volumeName,
               volumeMode = o.mode or "Filesystem", selector = o.selector } })
  end

  local function pv_of(name) return berth.get("PersistentVolume", nil, name) end
  local function pvc_of(name, ns) return berth.get("PersistentVolumeClaim", ns or "default", name) end

  -- Runs the controller as the host would: every object's key, then
  -- whatever the writes queue through the maps.
  local function run()
    local keys = {}
    for _, kind in ipairs({ "PersistentVolumeClaim", "PersistentVolume" }) do
      for _, o in ipairs(berth.all(kind)) do
        for _, k in ipairs(fake.keys_for(ctl, kind, o)) do keys[#keys + 1] = k end
      end
    end
    fake.run(ctl, keys)
  end

  local function assert_bound(claim_name, pv_name)
    local pv, pvc = pv_of(pv_name), pvc_of(claim_name)
    assert.are.equal(pv_name, pvc.spec.volumeName)
    assert.are.equal("Bound", pvc.status.phase)
    assert.are.same(pv.spec.capacity, pvc.status.capacity)
    assert.are.same(pv.spec.accessModes, pvc.status.accessModes)
    assert.are.equal("Bound", pv.status.phase)
    local ref = pv.spec.claimRef
    assert.are.same({ apiVersion = "v1", kind = "PersistentVolumeClaim", namespace = "default",
                      name = claim_name, uid = pvc.metadata.uid }, ref)
  end

  local function assert_unbound(claim_name)
    local pvc = pvc_of(claim_name)
    assert.is_nil(pvc.spec.volumeName)
    assert.are.equal("Pending", pvc.status.phase)
  end

  local function reasons()
    local out = {}
    for _, e in ipairs(berth.events) do out[#out + 1] = e.reason end
    return out
  end

  it("binds the tutorial's hostPath volume of class manual to its claim", function()
    volume("task-pv-volume", { class = "manual", size = "10Gi" })
    claim("task-pv-claim", { class = "manual", size = "3Gi" })
    run()
    assert_bound("task-pv-claim", "task-pv-volume")
    assert.are.equal("10Gi", pvc_of("task-pv-claim").status.capacity.storage)
    assert.are.equal("yes",
      pv_of("task-pv-volume").metadata.annotations["pv.kubernetes.io/bound-by-controller"])
  end)

  it("makes a new volume Available", function()
    volume("free", { class = "manual" })
    run()
    assert.are.equal("Available", pv_of("free").status.phase)
  end)

  it("binds a claim that names its volume, though a smaller one fits too", function()
    volume("small", { class = "manual", size = "3Gi" })
    volume("named", { class = "manual", size = "50Gi" })
    claim("data", { class = "manual", volumeName = "named" })
    run()
    assert_bound("data", "named")
    assert.is_nil(pv_of("small").spec.claimRef)
  end)

  it("waits for the volume a claim names, then binds it when it comes", function()
    claim("data", { class = "manual", volumeName = "later" })
    run()
    assert.are.equal("Pending", pvc_of("data").status.phase)
    assert.are.same({ "FailedBinding" }, reasons())
    -- Passes that find nothing new say nothing new.
    run()
    assert.are.equal(1, #berth.events)
    local pv = volume("later", { class = "manual" })
    fake.run(ctl, fake.keys_for(ctl, "PersistentVolume", pv))
    assert_bound("data", "later")
  end)

  it("does not bind a named volume that does not fit, and says why", function()
    volume("tiny", { class = "manual", size = "1Gi" })
    claim("data", { class = "manual", volumeName = "tiny", size = "3Gi" })
    run()
    assert.are.equal("Pending", pvc_of("data").status.phase)
    assert.is_nil(pv_of("tiny").spec.claimRef)
    assert.are.same({ "VolumeMismatch" }, reasons())
    assert.matches("less than the 3Gi requested", berth.events[1].message)
  end)

  it("does not take a named volume bound to another claim", function()
    local other = claim("other", { class = "manual" })
    volume("taken", { class = "manual", phase = "Bound",
      claimRef = { namespace = "default", name = "other", uid = other.metadata.uid } })
    claim("data", { class = "manual", volumeName = "taken" })
    run()
    assert.are.equal("Pending", pvc_of("data").status.phase)
    assert.are.equal("other", pv_of("taken").spec.claimRef.name)
    local found = false
    for _, e in ipairs(berth.events) do
      found = found or (e.obj.metadata.name == "data" and e.message:find("another claim") ~= nil)
    end
    assert.is_true(found)
  end)

  it("chooses the smallest volume that fits, by name among equals", function()
    volume("huge", { class = "manual", size = "100Gi" })
    volume("small-b", { class = "manual", size = "5Gi" })
    volume("small-a", { class = "manual", size = "5Gi" })
    volume("tiny", { class = "manual", size = "1Gi" })
    claim("data", { class = "manual", size = "2Gi" })
    run()
    assert_bound("data", "small-a")
    for _, name in ipairs({ "huge", "small-b", "tiny" }) do
      assert.is_nil(pv_of(name).spec.claimRef)
      assert.are.equal("Available", pv_of(name).status.phase)
    end
  end)

  it("binds nothing that is too small, lacks an access mode, or has another class", function()
    volume("v", { class = "manual", size = "5Gi", modes = { "ReadWriteOnce" } })
    claim("big", { class = "manual", size = "6Gi" })
    claim("shared", { class = "manual", size = "1Gi", modes = { "ReadWriteMany" } })
    claim("fast", { class = "fast", size = "1Gi" })
    run()
    assert_unbound("big")
    assert_unbound("shared")
    assert_unbound("fast")
    assert.is_nil(pv_of("v").spec.claimRef)
  end)

  it("honours a claim's selector", function()
    volume("a", { class = "manual", size = "1Gi", labels = { tier = "slow" } })
    volume("b", { class = "manual", size = "9Gi", labels = { tier = "fast" } })
    claim("picky", { class = "manual", size = "1Gi", selector = { matchLabels = { tier = "fast" } } })
    claim("nothing", { class = "manual", size = "1Gi", selector = { matchExpressions = {
      { key = "tier", operator = "In", values = { "gold" } } } } })
    run()
    assert_bound("picky", "b")
    assert_unbound("nothing")
    assert.is_nil(pv_of("a").spec.claimRef)
  end)

  it("matches a claim without a class only to volumes without one", function()
    volume("classless", { size = "5Gi" })
    volume("manual", { class = "manual", size = "1Gi" })
    claim("plain", { class = "", size = "1Gi" })
    run()
    assert_bound("plain", "classless")
  end)

  it("does not take a volume claimRef'd to another claim", function()
    local other = claim("other", { class = "manual", size = "1Gi", volumeName = "held" })
    volume("held", { class = "manual", size = "1Gi",
      claimRef = { apiVersion = "v1", kind = "PersistentVolumeClaim", namespace = "default",
                   name = "other", uid = other.metadata.uid } })
    claim("data", { class = "manual", size = "1Gi" })
    run()
    assert_bound("other", "held")
    assert_unbound("data")
  end)

  it("binds a volume reserved for a claim by name first", function()
    volume("small", { class = "manual", size = "3Gi" })
    volume("reserved", { class = "manual", size = "8Gi",
      claimRef = { namespace = "default", name = "data" } })
    claim("data", { class = "manual", size = "3Gi" })
    run()
    assert_bound("data", "reserved")
    -- The user wrote that claimRef, not the binder.
    assert.is_nil((pv_of("reserved").metadata.annotations or {})["pv.kubernetes.io/bound-by-controller"])
  end)

  it("is idempotent once bound", function()
    volume("v", { class = "manual" })
    claim("data", { class = "manual" })
    run()
    berth.reset_writes()
    run()
    assert.are.equal(0, #berth.writes)
  end)

  it("releases a volume whose claim is gone, whatever its reclaim policy", function()
    volume("kept", { class = "manual", size = "1Gi", policy = "Retain" })
    volume("deletable", { class = "manual", size = "2Gi", policy = "Delete" })
    claim("one", { class = "manual", size = "1Gi" })
    claim("two", { class = "manual", size = "2Gi" })
    run()
    assert_bound("one", "kept")
    assert_bound("two", "deletable")
    for _, name in ipairs({ "one", "two" }) do
      local last = pvc_of(name)
      berth.delete("PersistentVolumeClaim", "default", name)
      fake.run(ctl, fake.keys_for(ctl, "PersistentVolumeClaim", last))
    end
    for _, name in ipairs({ "kept", "deletable" }) do
      local pv = pv_of(name)
      assert.is_truthy(pv, name)
      assert.are.equal("Released", pv.status.phase)
      assert.is_truthy(pv.spec.claimRef)
    end
    -- A claim of the same name is another claim: a released volume waits
    -- for its claimRef to be cleared.
    claim("one", { class = "manual", size = "1Gi" })
    run()
    assert_unbound("one")
    local pv = pv_of("kept")
    pv.spec.claimRef = nil
    berth.update(pv)
    fake.run(ctl, fake.keys_for(ctl, "PersistentVolume", pv_of("kept")))
    assert_bound("one", "kept")
  end)

  it("wakes a pending claim when a volume that fits arrives", function()
    claim("data", { class = "manual", size = "2Gi" })
    run()
    assert_unbound("data")
    local pv = volume("new", { class = "manual", size = "2Gi" })
    local keys = fake.keys_for(ctl, "PersistentVolume", pv)
    assert.is_truthy(table.concat(keys, " "):find("PersistentVolumeClaim/default/data", 1, true))
    fake.run(ctl, keys)
    assert_bound("data", "new")
  end)

  it("takes back its claimRef when the claim bound elsewhere", function()
    local pvc = claim("data", { class = "manual", size = "1Gi" })
    volume("spare", { class = "manual", size = "1Gi", annotations = {
      ["pv.kubernetes.io/bound-by-controller"] = "yes" },
      claimRef = { apiVersion = "v1", kind = "PersistentVolumeClaim", namespace = "default",
                   name = "data", uid = pvc.metadata.uid } })
    volume("winner", { class = "manual", size = "1Gi", claimRef = {
      apiVersion = "v1", kind = "PersistentVolumeClaim", namespace = "default",
      name = "data", uid = pvc.metadata.uid } })
    local cur = pvc_of("data")
    cur.spec.volumeName = "winner"
    berth.update(cur)
    fake.run(ctl, fake.keys_for(ctl, "PersistentVolumeClaim", pvc_of("data")))
    assert_bound("data", "winner")
    local spare = pv_of("spare")
    assert.is_nil(spare.spec.claimRef)
    assert.are.equal("Available", spare.status.phase)
  end)

  it("stops on a Conflict and binds on the next pass", function()
    volume("v", { class = "manual" })
    claim("data", { class = "manual" })
    berth.fail_next("update", "Conflict")
    fake.reconcile(ctl, "PersistentVolumeClaim/default/data")
    assert.is_nil(pv_of("v").spec.claimRef)
    assert.is_nil(pvc_of("data").spec.volumeName)
    run()
    assert_bound("data", "v")
  end)

  it("raises on other failures, so the key is retried", function()
    volume("v", { class = "manual" })
    claim("data", { class = "manual" })
    berth.fail_next("update", "InternalError")
    assert.has_error(function() fake.reconcile(ctl, "PersistentVolumeClaim/default/data") end)
  end)

  it("leaves the local-path provisioner's claims and volumes alone", function()
    local pvc = claim("data", { size = "1Gi" }) -- no class: the provisioner's
    run()
    assert.are.equal(0, #berth.writes)
    volume("pvc-" .. pvc.metadata.uid, { class = "local-path", size = "1Gi",
      annotations = { ["pv.kubernetes.io/provisioned-by"] = "berth.dev/local-path" },
      claimRef = { namespace = "default", name = "data", uid = pvc.metadata.uid } })
    volume("static", { size = "1Gi" }) -- fits too, but the claim has its own
    run()
    assert.is_nil(pvc_of("data").spec.volumeName)
    assert.is_nil(pv_of("static").spec.claimRef)
    berth.delete("PersistentVolumeClaim", "default", "data")
    run()
    assert.is_nil(pv_of("pvc-" .. pvc.metadata.uid).status)
  end)
end)

describe("volume matching", function()
  local berth, volumes
  before_each(function()
    berth = fake.new()
    fake.load("controllers/volume-binder.lua")
    volumes = require("volumes")
  end)

  local function pv(spec, extra)
    local o = { metadata = { name = "v" }, spec = spec, status = nil }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end
  local function pvc(spec)
    return { metadata = { name = "c", namespace = "default", uid = "u1" }, spec = spec }
  end

  it("counts a nil and an empty class as no class", function()
    local v = pv({ capacity = { storage = "1Gi" }, accessModes = { "ReadWriteOnce" } })
    assert.is_true(volumes.matches(v, pvc({ accessModes = { "ReadWriteOnce" } })))
    assert.is_true(volumes.matches(v, pvc({ storageClassName = "", accessModes = { "ReadWriteOnce" } })))
    v.spec.storageClassName = ""
    assert.is_true(volumes.matches(v, pvc({ accessModes = { "ReadWriteOnce" } })))
    assert.is_false(volumes.matches(v, pvc({ storageClassName = "manual", accessModes = { "ReadWriteOnce" } })))
  end)

  it("treats a claim without a request as asking for nothing", function()
    local v = pv({ capacity = { storage = "1Mi" }, accessModes = { "ReadWriteOnce", "ReadOnlyMany" } })
    assert.is_true(volumes.matches(v, pvc({ accessModes = { "ReadOnlyMany" } })))
  end)

  it("compares volume modes, Filesystem by default", function()
    local v = pv({ capacity = { storage = "1Gi" }, accessModes = { "ReadWriteOnce" } })
    assert.is_true(volumes.matches(v, pvc({ accessModes = { "ReadWriteOnce" }, volumeMode = "Filesystem" })))
    assert.is_false(volumes.matches(v, pvc({ accessModes = { "ReadWriteOnce" }, volumeMode = "Block" })))
    assert.matches("volume mode", volumes.unfit(v, pvc({ volumeMode = "Block" })))
  end)

  it("takes only free volumes: Available or without a phase, with no claimRef but the claim's", function()
    local spec = { capacity = { storage = "1Gi" }, accessModes = { "ReadWriteOnce" } }
    local c = pvc({ accessModes = { "ReadWriteOnce" } })
    assert.is_true(volumes.matches(pv(spec, { status = { phase = "Available" } }), c))
    assert.is_false(volumes.matches(pv(spec, { status = { phase = "Released" } }), c))
    local ref = { namespace = "default", name = "c", uid = "u2" }
    spec.claimRef = ref
    assert.is_false(volumes.matches(pv(spec), c))
    ref.uid = "u1"
    assert.is_true(volumes.matches(pv(spec, { status = { phase = "Bound" } }), c))
    ref.uid = nil
    assert.is_true(volumes.matches(pv(spec), c))
  end)

  it("never matches a volume being deleted or one the provisioner made", function()
    local spec = { capacity = { storage = "1Gi" }, accessModes = { "ReadWriteOnce" } }
    local c = pvc({ accessModes = { "ReadWriteOnce" } })
    local gone = pv(spec)
    gone.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
    assert.is_false(volumes.matches(gone, c))
    local made = pv(spec)
    made.metadata.annotations = { ["pv.kubernetes.io/provisioned-by"] = "berth.dev/local-path" }
    assert.is_false(volumes.matches(made, c))
  end)
end)
