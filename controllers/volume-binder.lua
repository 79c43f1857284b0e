-- The PersistentVolume binder: claims get the PersistentVolumes that exist
-- for them, as the PV controller in kube-controller-manager does.
--
-- A claim that names a volume (spec.volumeName) gets that one, when it is
-- free for the claim and fits it. A claim that names none gets the best
-- matching volume (controllers/lib/volumes.lua: one reserved for it, else
-- the smallest that fits). Binding writes the volume first (claimRef, then
-- phase Bound), so two claims racing for one volume cannot both win: the
-- claimRef update is conditional on the volume's resourceVersion. Then the
-- claim gets spec.volumeName and status Bound.
--
-- Volumes made by the local-path provisioner, and claims it serves that
-- no existing volume fits, are the provisioner's: it binds them itself.
--
-- When a bound claim goes, its volume becomes Released, whatever its
-- reclaim policy: berth never deletes or scrubs data a user put in a
-- volume they made. A Released volume keeps its claimRef; removing it
-- makes the volume Available again.
local berth = require("berth")
local volumes = require("volumes")

local PVC, PV = "PersistentVolumeClaim", "PersistentVolume"
-- Set on a volume whose claimRef the binder wrote (not the user), as
-- Kubernetes does: only such a claimRef may be taken back.
local BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"

-- Why each waiting claim ("ns/name") was last told it waits: uid and
-- message, so an event goes out only when the reason changes.
local told = {}

local function claim_key(ns, name) return PVC .. "/" .. ns .. "/" .. name end

-- The object a write stored, or nil when the pass should stop. A Conflict
-- stops it quietly: the host runs the key again at once, on fresher data.
-- Any other failure is an error, so the key is retried with backoff.
local function written(obj, msg, reason)
  if obj then return obj end
  if reason == "Conflict" then return nil end
  error(msg, 2)
end

local function set_phase(pv, phase)
  if (pv.status or {}).phase == phase then return pv end
  pv.status = { phase = phase }
  return written(berth.update_status(pv))
end

-- Leaves pvc unbound: phase Pending when it has none yet, and a Warning
-- event when the reason is new.
local function wait(pvc, reason, message)
  local md = pvc.metadata
  local key = md.namespace .. "/" .. md.name
  local note = md.uid .. "\0" .. message
  if told[key] ~= note then
    told[key] = note
    berth.event(pvc, "Warning", reason, message)
  end
  if (pvc.status or {}).phase == nil then
    pvc.status = pvc.status or {}
    pvc.status.phase = "Pending"
    written(berth.update_status(pvc))
  end
end

-- Binds pv and pvc both ways; each step writes only what is not so yet.
local function bind(pv, pvc)
  local md = pvc.metadata
  local ref = pv.spec.claimRef
  if not (ref and ref.namespace == md.namespace and ref.name == md.name and ref.uid == md.uid) then
    if not ref then
      pv.metadata.annotations = pv.metadata.annotations or {}
      pv.metadata.annotations[BOUND_BY_CONTROLLER] = "yes"
    end
    pv.spec.claimRef = { apiVersion = "v1", kind = PVC, namespace = md.namespace,
                         name = md.name, uid = md.uid }
    pv = written(berth.update(pv))
    if not pv then return end
  end
  pv = set_phase(pv, "Bound")
  if not pv then return end
  if volumes.volume_name(pvc) ~= pv.metadata.name then
    pvc.spec.volumeName = pv.metadata.name
    pvc = written(berth.update(pvc))
    if not pvc then return end
  end
  local st = pvc.status or {}
  if st.phase ~= "Bound" or not berth.equal(st.accessModes, pv.spec.accessModes) or
      not berth.equal(st.capacity, pv.spec.capacity) then
    st.phase, st.accessModes, st.capacity = "Bound", pv.spec.accessModes, pv.spec.capacity
    pvc.status = st
    if not written(berth.update_status(pvc)) then return end
  end
  told[md.namespace .. "/" .. md.name] = nil
end

-- A claim that names its volume: bind that one, or say why not.
local function bind_named(pvc, name)
  local pv = berth.get(PV, nil, name)
  if pv and volumes.provisioned(pv) then return end
  if not pv then
    -- A bound claim whose volume went stays as it is.
    if (pvc.status or {}).phase == "Bound" then return end
    return wait(pvc, "FailedBinding", string.format("volume %q requested by this claim does not exist", name))
  end
  -- A volume reserved for the claim is bound as it is; the user named both.
  if volumes.reserved_for(pv, pvc) then return bind(pv, pvc) end
  if not volumes.free_for(pv, pvc) then
    return wait(pvc, "FailedBinding", string.format("volume %q is bound to another claim", name))
  end
  local why = volumes.unfit(pv, pvc)
  if why then
    return wait(pvc, "VolumeMismatch", string.format("cannot bind to requested volume %q: %s", name, why))
  end
  return bind(pv, pvc)
end

local function reconcile_claim(ns, name)
  local pvc = berth.get(PVC, ns, name)
  if not pvc or pvc.metadata.deletionTimestamp then
    told[ns .. "/" .. name] = nil
    return
  end
  local named = volumes.volume_name(pvc)
  if named then return bind_named(pvc, named) end
  local pvs = berth.list(PV)
  for _, pv in ipairs(pvs) do
    -- The provisioner made a volume for this claim already: its binding.
    if volumes.provisioned(pv) and volumes.reserved_for(pv, pvc) then return end
  end
  local pv = volumes.best_match(pvc, pvs)
  if pv then return bind(pv, pvc) end
  if volumes.local_path_class(pvc) then return end -- the provisioner makes one
  wait(pvc, "FailedBinding", string.format(
    "no PersistentVolume of storage class %q is available for this claim, and no provisioner serves that class",
    pvc.spec.storageClassName))
end

-- Takes back a claimRef the binder wrote: the claim got another volume
-- meanwhile (another binder pass, or the provisioner, was quicker).
local function unbind(pv)
  pv.spec.claimRef = nil
  pv.metadata.annotations[BOUND_BY_CONTROLLER] = nil
  pv = written(berth.update(pv))
  if pv then set_phase(pv, "Available") end
end

local function reconcile_volume(name)
  local pv = berth.get(PV, nil, name)
  if not pv or volumes.provisioned(pv) then return end
  local ref = pv.spec.claimRef
  if not ref then return set_phase(pv, "Available") end
  local pvc = berth.get(PVC, ref.namespace, ref.name)
  if not pvc or not volumes.names_claim(ref, pvc) then
    -- A claimRef without a uid reserves the volume for a claim to come.
    if ref.uid == nil or ref.uid == "" then return set_phase(pv, "Available") end
    -- Its claim is gone. Retain, Delete and Recycle alike end here: the
    -- data stays until the user deletes the volume or clears its claimRef.
    if (pv.status or {}).phase ~= "Released" then
      berth.log.info("volume %s released: claim %s/%s is gone", name, ref.namespace, ref.name)
    end
    return set_phase(pv, "Released")
  end
  local named = volumes.volume_name(pvc)
  if named == nil or named == name then
    -- A volume reserved for a claim shows as Available until it is bound.
    -- (A claimRef with a uid and no phase is a binding under way.)
    if (pv.status or {}).phase == nil and (ref.uid == nil or ref.uid == "") then
      pv = set_phase(pv, "Available")
      if not pv then return end
    end
    return reconcile_claim(ref.namespace, ref.name)
  end
  -- The claim is bound to another volume. A claimRef the user wrote stays.
  if ((pv.metadata.annotations or {})[BOUND_BY_CONTROLLER]) == "yes" then unbind(pv) end
end

return {
  name = "persistentvolume-binder",
  kinds = { PVC, PV },
  reconcile = function(req)
    if req.kind == PVC then return reconcile_claim(req.namespace, req.name) end
    return reconcile_volume(req.name)
  end,
  maps = {
    -- A volume wakes the claim its claimRef names, and the unbound claims
    -- waiting for a volume: those that name it and, while it is free,
    -- those it could serve.
    [PV] = function(pv)
      if volumes.provisioned(pv) then return {} end
      local keys = {}
      local ref = pv.spec and pv.spec.claimRef
      if ref and ref.name then keys[#keys + 1] = claim_key(ref.namespace, ref.name) end
      for _, pvc in ipairs(berth.list(PVC)) do
        if (pvc.status or {}).phase ~= "Bound" then
          local named = volumes.volume_name(pvc)
          if named == pv.metadata.name or (named == nil and volumes.matches(pv, pvc)) then
            keys[#keys + 1] = claim_key(pvc.metadata.namespace, pvc.metadata.name)
          end
        end
      end
      return keys
    end,
    -- A claim wakes the volume it names; a claim that is gone, or named a
    -- volume but is not bound yet, also wakes every volume whose claimRef
    -- names it (to release it, or to take back a claimRef it lost).
    [PVC] = function(pvc)
      local md = pvc.metadata
      local keys = {}
      local named = volumes.volume_name(pvc)
      if named then keys[1] = PV .. "/" .. named end
      local now = berth.get(PVC, md.namespace, md.name)
      local gone = not now or now.metadata.uid ~= md.uid
      if gone or (named and (pvc.status or {}).phase ~= "Bound") then
        for _, pv in ipairs(berth.list(PV)) do
          local ref = pv.spec.claimRef
          if ref and ref.namespace == md.namespace and ref.name == md.name and
              pv.metadata.name ~= named and not volumes.provisioned(pv) then
            keys[#keys + 1] = PV .. "/" .. pv.metadata.name
          end
        end
      end
      return keys
    end,
  },
}
