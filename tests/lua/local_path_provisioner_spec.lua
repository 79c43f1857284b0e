-- The local-path provisioner: claims get volumes of their own, bound both
-- ways, unless a volume which exists fits them (the binder's); a claim's
-- volume goes with it.
local fake = require("fake_berth")

describe("local-path provisioner", function()
  local berth, ctl
  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/local-path-provisioner.lua")
  end)

  local function claim(name, extra)
    local pvc = { apiVersion = "v1", kind = "PersistentVolumeClaim",
                  metadata = { name = name, namespace = "default" },
                  spec = { accessModes = { "ReadWriteOnce" },
                           resources = { requests = { storage = "2Gi" } } } }
    for k, v in pairs(extra or {}) do pvc.spec[k] = v end
    return berth.add(pvc)
  end

  local function settle(key)
    for _ = 1, 5 do
      fake.reconcile(ctl, key)
      for _, pv in ipairs(berth.all("PersistentVolume")) do
        fake.reconcile(ctl, "PersistentVolume/" .. pv.metadata.name)
      end
    end
  end

  it("provisions and binds a pending claim", function()
    local pvc = claim("data")
    settle("PersistentVolumeClaim/default/data")
    local pv = berth.get("PersistentVolume", nil, "pvc-" .. pvc.metadata.uid)
    assert.is_truthy(pv)
    assert.are.equal("2Gi", pv.spec.capacity.storage)
    assert.are.equal("volumes/default-data", pv.spec["local"].path)
    assert.are.equal(pvc.metadata.uid, pv.spec.claimRef.uid)
    assert.are.equal("Bound", pv.status.phase)
    local bound = berth.get("PersistentVolumeClaim", "default", "data")
    assert.are.equal(pv.metadata.name, bound.spec.volumeName)
    assert.are.equal("Bound", bound.status.phase)
    assert.are.equal("2Gi", bound.status.capacity.storage)
    assert.are.equal("ProvisioningSucceeded", berth.events[1].reason)
  end)

  it("is idempotent once bound", function()
    claim("data")
    settle("PersistentVolumeClaim/default/data")
    berth.reset_writes()
    settle("PersistentVolumeClaim/default/data")
    assert.are.equal(0, #berth.writes)
  end)

  it("leaves claims of other storage classes and pre-bound claims alone", function()
    claim("fast", { storageClassName = "ssd" })
    claim("pre", { volumeName = "existing" })
    settle("PersistentVolumeClaim/default/fast")
    settle("PersistentVolumeClaim/default/pre")
    assert.are.equal(0, berth.count("PersistentVolume"))
  end)

  -- A static volume, as a user makes one.
  local function static(name, extra)
    local pv = { apiVersion = "v1", kind = "PersistentVolume", metadata = { name = name },
                 spec = { capacity = { storage = "5Gi" }, accessModes = { "ReadWriteOnce" },
                          persistentVolumeReclaimPolicy = "Retain", volumeMode = "Filesystem",
                          hostPath = { path = "/mnt/" .. name } } }
    for k, v in pairs(extra or {}) do pv.spec[k] = v end
    return berth.add(pv)
  end

  it("leaves a claim that a volume which exists fits to the binder", function()
    static("disk")
    claim("data")
    claim("local", { storageClassName = "local-path" })
    static("too-small", { capacity = { storage = "1Gi" }, storageClassName = "local-path" })
    settle("PersistentVolumeClaim/default/data")
    settle("PersistentVolumeClaim/default/local")
    -- "data" fits "disk"; nothing fits "local", so it gets a volume.
    assert.are.equal(3, berth.count("PersistentVolume"))
    assert.is_nil(berth.get("PersistentVolumeClaim", "default", "data").spec.volumeName)
    assert.are.equal("Bound", berth.get("PersistentVolumeClaim", "default", "local").status.phase)
    assert.is_nil(berth.get("PersistentVolume", nil, "disk").spec.claimRef)
  end)

  it("provisions after all when the volume a claim was left to is taken", function()
    local pv = static("disk")
    local pvc = claim("data")
    fake.reconcile(ctl, "PersistentVolumeClaim/default/data")
    assert.are.equal(1, berth.count("PersistentVolume"))
    pv.spec.claimRef = { namespace = "default", name = "other", uid = "uid-other" }
    pv = berth.update(pv)
    fake.run(ctl, fake.keys_for(ctl, "PersistentVolume", pv))
    local own = berth.get("PersistentVolume", nil, "pvc-" .. pvc.metadata.uid)
    assert.is_truthy(own)
    assert.are.equal("Bound", own.status.phase)
    assert.are.equal(own.metadata.name, berth.get("PersistentVolumeClaim", "default", "data").spec.volumeName)
  end)

  it("deletes its volume when the claim was bound to another one meanwhile", function()
    local pvc = claim("data")
    fake.reconcile(ctl, "PersistentVolumeClaim/default/data") -- creates the volume
    local name = "pvc-" .. pvc.metadata.uid
    assert.is_truthy(berth.get("PersistentVolume", nil, name))
    static("disk", { claimRef = { namespace = "default", name = "data", uid = pvc.metadata.uid } })
    local cur = berth.get("PersistentVolumeClaim", "default", "data")
    cur.spec.volumeName = "disk"
    cur = berth.update(cur)
    fake.run(ctl, fake.keys_for(ctl, "PersistentVolumeClaim", cur))
    assert.is_nil(berth.get("PersistentVolume", nil, name))
    assert.is_truthy(berth.get("PersistentVolume", nil, "disk"))
  end)

  it("shares the claims with the binder: static volumes first, then its own", function()
    local binder = fake.load("controllers/volume-binder.lua")
    static("disk")
    claim("first", { resources = { requests = { storage = "1Gi" } } })
    local second = claim("second", { resources = { requests = { storage = "1Gi" } } })
    for _ = 1, 10 do
      for _, c in ipairs({ ctl, binder }) do
        for _, kind in ipairs({ "PersistentVolumeClaim", "PersistentVolume" }) do
          for _, o in ipairs(berth.all(kind)) do
            fake.reconcile(c, kind .. "/" .. (o.metadata.namespace and o.metadata.namespace .. "/" or "") .. o.metadata.name)
          end
        end
      end
    end
    local first = berth.get("PersistentVolumeClaim", "default", "first")
    assert.are.equal("disk", first.spec.volumeName)
    assert.are.equal("Bound", first.status.phase)
    local own = "pvc-" .. second.metadata.uid
    assert.are.equal(own, berth.get("PersistentVolumeClaim", "default", "second").spec.volumeName)
    assert.are.equal(2, berth.count("PersistentVolume"))
    assert.are.equal("Bound", berth.get("PersistentVolume", nil, "disk").status.phase)
    assert.are.equal("Bound", berth.get("PersistentVolume", nil, own).status.phase)
  end)

  it("deletes the volume of a claim that is gone", function()
    local pvc = claim("data")
    settle("PersistentVolumeClaim/default/data")
    local name = "pvc-" .. pvc.metadata.uid
    berth.delete("PersistentVolumeClaim", "default", "data")
    local keys = fake.keys_for(ctl, "PersistentVolumeClaim", pvc)
    local found = false
    for _, k in ipairs(keys) do found = found or k == "PersistentVolume/" .. name end
    assert.is_true(found)
    fake.reconcile(ctl, "PersistentVolume/" .. name)
    assert.is_nil(berth.get("PersistentVolume", nil, name))
  end)
end)
