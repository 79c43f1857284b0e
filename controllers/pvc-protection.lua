-- PersistentVolumeClaim protection ("storage object in use protection"):
-- a claim that a pod still uses is not removed until no pod uses it, as
-- Kubernetes' pvc-protection controller does. Without it a deleted claim
-- goes at once, the local-path provisioner deletes its volume, and the node
-- removes the data under a running pod.
--
-- Every claim not being deleted carries the finalizer
-- "kubernetes.io/pvc-protection", so deleting it only sets its
-- deletionTimestamp (Kubernetes shows it as Terminating). Once no pod of its
-- namespace uses it, this controller removes the finalizer and the API
-- removes the claim. A pod uses a claim when one of its volumes names it
-- (persistentVolumeClaim.claimName, or an ephemeral volume, whose claim is
-- "<pod>-<volume>") and it has not finished (phase Succeeded or Failed). A
-- pod being deleted still counts until it is gone: its node may still have
-- the volume mounted.
local berth = require("berth")
local podstatus = require("podstatus")

local PVC = "PersistentVolumeClaim"
local FINALIZER = "kubernetes.io/pvc-protection"

-- The object a write stored, or nil when the pass should stop. A Conflict
-- stops it quietly: the host runs the key again at once, on fresher data.
-- A claim gone meanwhile needs nothing more. Any other failure is an
-- error, so the key is retried with backoff.
local function written(obj, msg, reason)
  if obj then return obj end
  if reason == "Conflict" or reason == "NotFound" then return nil end
  error(msg, 2)
end

local function has_finalizer(pvc)
  for _, f in ipairs(pvc.metadata.finalizers or {}) do
    if f == FINALIZER then return true end
  end
  return false
end

-- The names of the claims pod's volumes name.
local function claims_of(pod)
  local names = {}
  for _, v in ipairs((pod.spec or {}).volumes or {}) do
    if v.persistentVolumeClaim and v.persistentVolumeClaim.claimName then
      names[#names + 1] = v.persistentVolumeClaim.claimName
    elseif v.ephemeral and v.name then
      names[#names + 1] = pod.metadata.name .. "-" .. v.name
    end
  end
  return names
end

-- Whether pod keeps the claim called name in use.
local function uses(pod, name)
  if podstatus.finished(pod) then return false end
  for _, c in ipairs(claims_of(pod)) do
    if c == name then return true end
  end
  return false
end

local function in_use(pvc)
  for _, pod in ipairs(berth.list("Pod", pvc.metadata.namespace)) do
    if uses(pod, pvc.metadata.name) then return pod end
  end
end

local function reconcile(req)
  local pvc = berth.get(PVC, req.namespace, req.name)
  if not pvc then return end
  local md = pvc.metadata
  if not md.deletionTimestamp then
    if has_finalizer(pvc) then return end
    md.finalizers = md.finalizers or berth.array({})
    md.finalizers[#md.finalizers + 1] = FINALIZER
    written(berth.update(pvc))
    return
  end
  if not has_finalizer(pvc) then return end
  local pod = in_use(pvc)
  if pod then
    berth.log.debug("claim %s/%s is in use by pod %s: kept", md.namespace, md.name,
                    pod.metadata.name)
    return -- the pod's change or removal brings us back
  end
  local rest = berth.array({})
  for _, f in ipairs(md.finalizers) do
    if f ~= FINALIZER then rest[#rest + 1] = f end
  end
  md.finalizers = rest
  written(berth.update(pvc))
end

return {
  name = "pvc-protection",
  -- Only claims are reconciled: pods reach them through the map below.
  kind = PVC,
  reconcile = reconcile,
  maps = {
    -- A pod's addition, change or removal wakes the claims it names: the
    -- last pod of a claim being deleted going lets the claim go. A deleted
    -- pod comes in its last known state, which still names them.
    Pod = function(pod)
      local keys = {}
      for _, name in ipairs(claims_of(pod)) do
        keys[#keys + 1] = pod.metadata.namespace .. "/" .. name
      end
      return keys
    end,
  },
}
