-- PersistentVolumeClaim protection: claims carry the pvc-protection
-- finalizer, and a deleted claim keeps it while a pod uses the claim.
local fake = require("fake_berth")

local FINALIZER = "kubernetes.io/pvc-protection"

describe("pvc-protection", function()
  local berth, ctl
  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/pvc-protection.lua")
  end)

  local function claim(name, ns, finalizers)
    return berth.add({ apiVersion = "v1", kind = "PersistentVolumeClaim",
                       metadata = { name = name, namespace = ns or "default",
                                    finalizers = finalizers },
                       spec = { accessModes = { "ReadWriteOnce" } } })
  end

  -- A pod whose volume "d" is the claim claim_name (or, with ephemeral,
  -- an ephemeral volume "d").
  local function pod(name, opts)
    opts = opts or {}
    local vol = { name = "d" }
    if opts.ephemeral then
      vol.ephemeral = { volumeClaimTemplate = { spec = { accessModes = { "ReadWriteOnce" } } } }
    else
      vol.persistentVolumeClaim = { claimName = opts.claim or "data" }
    end
    return berth.add({ apiVersion = "v1", kind = "Pod",
                       metadata = { name = name, namespace = opts.ns or "default",
                                    deletionTimestamp = opts.deleting and berth.time() or nil },
                       spec = { containers = { { name = "c", image = "busybox" } },
                                volumes = { vol } },
                       status = { phase = opts.phase or "Running" } })
  end

  local function finalizers(name, ns)
    local pvc = berth.get("PersistentVolumeClaim", ns or "default", name)
    return pvc and pvc.metadata.finalizers
  end

  -- A protected claim, then deleted: it only gets its deletionTimestamp.
  local function deleted_claim(name, ns)
    claim(name, ns)
    fake.reconcile(ctl, (ns or "default") .. "/" .. name)
    assert.is_true(berth.delete("PersistentVolumeClaim", ns or "default", name))
    local pvc = berth.get("PersistentVolumeClaim", ns or "default", name)
    assert.is_truthy(pvc.metadata.deletionTimestamp)
    berth.reset_writes()
    return pvc
  end

  it("adds the finalizer once, keeping the others", function()
    claim("data", "default", { "example.com/keep" })
    fake.settle(ctl, "default/data")
    assert.are.same({ "example.com/keep", FINALIZER }, finalizers("data"))
    assert.are.equal(1, #berth.writes_of("update", "PersistentVolumeClaim"))
    berth.reset_writes()
    fake.reconcile(ctl, "default/data")
    assert.are.equal(0, #berth.writes)
  end)

  it("lets a deleted claim that no pod uses go", function()
    deleted_claim("data")
    fake.reconcile(ctl, "default/data")
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data"))
  end)

  it("keeps a deleted claim a running pod uses", function()
    pod("web")
    deleted_claim("data")
    fake.reconcile(ctl, "default/data")
    assert.are.same({ FINALIZER }, finalizers("data"))
    assert.are.equal(0, #berth.writes)
  end)

  it("does not count pods that finished", function()
    pod("done", { phase = "Succeeded" })
    pod("broke", { phase = "Failed" })
    deleted_claim("data")
    fake.reconcile(ctl, "default/data")
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data"))
  end)

  it("counts a pending pod and a pod being deleted", function()
    pod("stopping", { deleting = true })
    deleted_claim("data")
    fake.reconcile(ctl, "default/data")
    assert.are.same({ FINALIZER }, finalizers("data"))
    assert.is_true(berth.delete("Pod", "default", "stopping"))
    pod("waiting", { phase = "Pending" })
    fake.reconcile(ctl, "default/data")
    assert.are.same({ FINALIZER }, finalizers("data"))
  end)

  it("names an ephemeral volume's claim <pod>-<volume>", function()
    pod("web", { ephemeral = true })
    deleted_claim("web-d")
    deleted_claim("data")
    fake.reconcile(ctl, "default/web-d")
    fake.reconcile(ctl, "default/data")
    assert.are.same({ FINALIZER }, finalizers("web-d"))
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data"))
    assert.are.same({ "default/web-d" },
                    fake.keys_for(ctl, "Pod", berth.get("Pod", "default", "web")))
  end)

  it("lets the claim go when its last pod is deleted", function()
    local p = pod("web")
    pod("other", { claim = "elsewhere" })
    deleted_claim("data")
    fake.run(ctl, { "default/data" })
    assert.are.same({ FINALIZER }, finalizers("data"))
    -- The deleted pod, in its last known state, maps to the claim.
    assert.is_true(berth.delete("Pod", "default", "web"))
    assert.are.same({ "default/data" }, fake.keys_for(ctl, "Pod", p))
    fake.run(ctl, fake.keys_for(ctl, "Pod", p))
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data"))
  end)

  it("removes only its own finalizer", function()
    claim("data", "default", { "example.com/keep" })
    fake.reconcile(ctl, "default/data")
    berth.delete("PersistentVolumeClaim", "default", "data")
    fake.reconcile(ctl, "default/data")
    local pvc = berth.get("PersistentVolumeClaim", "default", "data")
    assert.are.same({ "example.com/keep" }, pvc.metadata.finalizers)
    assert.is_truthy(pvc.metadata.deletionTimestamp)
    berth.reset_writes()
    fake.reconcile(ctl, "default/data")
    assert.are.equal(0, #berth.writes)
  end)

  it("leaves claims of other namespaces alone", function()
    pod("web", { ns = "a" })
    deleted_claim("data", "b")
    fake.reconcile(ctl, "b/data")
    assert.is_nil(berth.get("PersistentVolumeClaim", "b", "data"))
    deleted_claim("data", "a")
    fake.reconcile(ctl, "a/data")
    assert.are.same({ FINALIZER }, finalizers("data", "a"))
    assert.are.same({ "a/data" }, fake.keys_for(ctl, "Pod", berth.get("Pod", "a", "web")))
  end)

  it("keeps a local-path volume while its claim waits for its pod", function()
    local provisioner = fake.load("controllers/local-path-provisioner.lua")
    ctl = fake.load("controllers/pvc-protection.lua")
    local p = pod("web")
    local pvc = claim("data")
    local pv_key = "PersistentVolume/pvc-" .. pvc.metadata.uid
    fake.reconcile(ctl, "default/data")
    fake.run(provisioner, { "PersistentVolumeClaim/default/data" })
    assert.are.equal("Bound", berth.get("PersistentVolumeClaim", "default", "data").status.phase)
    berth.delete("PersistentVolumeClaim", "default", "data")
    fake.run(ctl, { "default/data" })
    fake.run(provisioner, { "PersistentVolumeClaim/default/data", pv_key })
    assert.are.equal(1, berth.count("PersistentVolume"))
    berth.delete("Pod", "default", "web")
    fake.run(ctl, fake.keys_for(ctl, "Pod", p))
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data"))
    fake.run(provisioner, { pv_key })
    assert.are.equal(0, berth.count("PersistentVolume"))
  end)

  it("stops quietly on a Conflict, and writes on the next pass", function()
    claim("data")
    berth.fail_next("update", "Conflict")
    fake.reconcile(ctl, "default/data")
    assert.is_nil(finalizers("data"))
    fake.reconcile(ctl, "default/data")
    assert.are.same({ FINALIZER }, finalizers("data"))
  end)

  it("retries other failures as errors", function()
    claim("data")
    berth.fail_next("update", "InternalError")
    assert.has_error(function() fake.reconcile(ctl, "default/data") end)
  end)
end)
