-- The local-path provisioner: a PersistentVolumeClaim waiting for storage
-- gets a PersistentVolume of its own, bound to it. The volume lives on the
-- node that runs the pod, under the node's data dir (volumes/NS-CLAIM),
-- which is where the node agent mounts a claim from; the PV records that
-- path relative to the data dir. A claim that names a volume already, or
-- asks for another storage class than "local-path" (or none), is left alone,
-- and so is one that a volume which exists already fits
-- (controllers/lib/volumes.lua): the binder (volume-binder.lua) binds it.
-- When a bound claim goes, or binds to another volume, a volume with
-- reclaim policy Delete goes too.
local berth = require("berth")
local volumes = require("volumes")

local CLASS = volumes.LOCAL_PATH_CLASS
local PROVISIONER = volumes.PROVISIONER

local function pv_name(pvc) return "pvc-" .. pvc.metadata.uid end

local wants_us = volumes.local_path_class

-- The volume for pvc, bound to it through claimRef.
local function new_volume(pvc)
  local size = ((pvc.spec.resources or {}).requests or {}).storage or "1Gi"
  return {
    apiVersion = "v1", kind = "PersistentVolume",
    metadata = {
      name = pv_name(pvc),
      annotations = { ["pv.kubernetes.io/provisioned-by"] = PROVISIONER },
      labels = { ["berth.dev/claim-namespace"] = pvc.metadata.namespace },
    },
    spec = {
      capacity = { storage = size },
      accessModes = pvc.spec.accessModes or berth.array({ "ReadWriteOnce" }),
      persistentVolumeReclaimPolicy = "Delete",
      storageClassName = CLASS,
      volumeMode = pvc.spec.volumeMode or "Filesystem",
      ["local"] = { path = "volumes/" .. pvc.metadata.namespace .. "-" .. pvc.metadata.name },
      claimRef = { apiVersion = "v1", kind = "PersistentVolumeClaim",
                   namespace = pvc.metadata.namespace, name = pvc.metadata.name,
                   uid = pvc.metadata.uid },
    },
  }
end

local function fail_on(msg, reason)
  if msg and reason ~= "Conflict" and reason ~= "AlreadyExists" then error(msg) end
end

-- A claim: make sure its volume exists and both say Bound.
local function reconcile_claim(ns, name)
  local pvc = berth.get("PersistentVolumeClaim", ns, name)
  if not pvc or pvc.metadata.deletionTimestamp or not wants_us(pvc) then return end
  local named = volumes.volume_name(pvc)
  if named and named ~= pv_name(pvc) then return end
  local pv = berth.get("PersistentVolume", nil, pv_name(pvc))
  if not pv then
    if not named and volumes.best_match(pvc, berth.list("PersistentVolume")) then
      return -- a volume that exists fits: the binder's claim
    end
    local _, msg, reason = berth.create(new_volume(pvc))
    fail_on(msg, reason)
    berth.event(pvc, "Normal", "ProvisioningSucceeded",
      "Successfully provisioned volume " .. pv_name(pvc))
    return -- the volume's own event brings us back to bind it
  end
  if (pv.status or {}).phase ~= "Bound" then
    pv.status = { phase = "Bound" }
    local _, msg, reason = berth.update_status(pv)
    fail_on(msg, reason)
  end
  if named ~= pv.metadata.name then
    pvc.spec.volumeName = pv.metadata.name
    local updated, msg, reason = berth.update(pvc)
    fail_on(msg, reason)
    if not updated then return end
    pvc = updated
  end
  local st = pvc.status or {}
  if st.phase ~= "Bound" then
    pvc.status = { phase = "Bound", accessModes = pv.spec.accessModes,
                   capacity = pv.spec.capacity }
    local _, msg, reason = berth.update_status(pvc)
    fail_on(msg, reason)
  end
end

-- A volume we provisioned whose claim is gone, or bound to another volume
-- (the binder found one for it meanwhile): reclaim it.
local function reconcile_volume(name)
  local pv = berth.get("PersistentVolume", nil, name)
  if not pv or not volumes.provisioned(pv) then return end
  local ref = pv.spec.claimRef or {}
  local pvc = ref.name and berth.get("PersistentVolumeClaim", ref.namespace, ref.name)
  if pvc and pvc.metadata.uid == ref.uid then
    local named = volumes.volume_name(pvc)
    if named == nil or named == name then
      return reconcile_claim(ref.namespace, ref.name)
    end
  end
  if pv.spec.persistentVolumeReclaimPolicy == "Delete" then
    local _, msg, reason = berth.delete("PersistentVolume", nil, name)
    if msg and reason ~= "NotFound" then error(msg) end
  elseif (pv.status or {}).phase ~= "Released" then
    pv.status = { phase = "Released" }
    local _, msg, reason = berth.update_status(pv)
    fail_on(msg, reason)
  end
end

return {
  name = "local-path-provisioner",
  kinds = { "PersistentVolumeClaim", "PersistentVolume" },
  reconcile = function(req)
    if req.kind == "PersistentVolumeClaim" then
      return reconcile_claim(req.namespace, req.name)
    end
    return reconcile_volume(req.name)
  end,
  maps = {
    -- A claim's deletion, or its binding to another volume, wakes its volume.
    PersistentVolumeClaim = function(pvc)
      if not pvc.metadata.uid then return {} end
      return { "PersistentVolume/pvc-" .. pvc.metadata.uid }
    end,
    -- A volume that exists and changes (taken by another claim, deleted)
    -- may leave a claim it was left to without one: wake the claims that
    -- still wait, so they are provisioned after all.
    PersistentVolume = function(pv)
      if volumes.provisioned(pv) then return {} end
      local keys = {}
      for _, pvc in ipairs(berth.list("PersistentVolumeClaim")) do
        if wants_us(pvc) and not volumes.volume_name(pvc) and
            (pvc.status or {}).phase ~= "Bound" and not pvc.metadata.deletionTimestamp then
          keys[#keys + 1] = "PersistentVolumeClaim/" .. pvc.metadata.namespace .. "/" .. pvc.metadata.name
        end
      end
      return keys
    end,
  },
}
