-- The local-path provisioner: claims get volumes of their own, bound both
-- ways; a claim's volume goes with it.
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
