-- The garbage collector: deletes objects whose owners are gone and carries
-- out Foreground and Orphan deletion, as Kubernetes' garbage collector does.
--
-- Design. Any object of the watched kinds can be an owner, a dependent, or
-- both, so the collector is one controller of several kinds (`kinds`, see
-- docs/lua-api.md): its keys are "Kind/ns/name" and every change to a
-- watched object queues that object. A reconcile looks at one object in
-- both of its roles:
--   - as a dependent: each ownerReference is solid (the owner exists with
--     that uid), dangling (no such owner in the cache, or another uid), or
--     waiting (the owner is being deleted in the foreground). With a solid
--     owner, dangling and waiting references are removed; without one the
--     object is deleted.
--   - as an owner being deleted: with the `orphan` finalizer its dependents
--     lose their references to it, then the finalizer goes; with
--     `foregroundDeletion` its dependents are collected (above), and the
--     finalizer goes once no dependent with blockOwnerDeletion is left.
-- The maps close the loop without a dependency graph: a change to an object
-- queues its owners that are being deleted (they may be waiting for it),
-- and an object's removal queues its dependents (they may now be orphans).
--
-- The cache stands in for Kubernetes' graph, so an owner missing from it is
-- gone. One exception guards against watch streams arriving out of order:
-- an object younger than ARRIVAL_GRACE seconds whose owner is missing may
-- have been created right after its owner, whose event has not arrived yet;
-- it is looked at again when the grace has passed. Owners of kinds not
-- watched here (such as Nodes) are never judged gone.

local berth = require("berth")
local ownership = require("ownership")

local KINDS = { "Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job",
  "CronJob", "Service", "Endpoints", "ConfigMap", "Secret", "PersistentVolumeClaim" }
local WATCHED = {}
for _, k in ipairs(KINDS) do WATCHED[k] = true end

local ARRIVAL_GRACE = 5
-- Dependents handled in one pass over an owner; the rest follow in the
-- next, so an owner of thousands does not hold a worker for long.
local BURST = 500

local ORPHAN = "orphan"
local FOREGROUND = "foregroundDeletion"

local function key_of(kind, md)
  if md.namespace and md.namespace ~= "" then
    return kind .. "/" .. md.namespace .. "/" .. md.name
  end
  return kind .. "/" .. md.name
end

local function has_finalizer(obj, f)
  for _, x in ipairs(obj.metadata.finalizers or {}) do
    if x == f then return true end
  end
  return false
end

-- Every watched object that names owner (by uid) in its ownerReferences.
local function dependents(owner)
  local out = {}
  for _, k in ipairs(KINDS) do
    for _, o in ipairs(berth.owned(k, owner)) do
      o.kind = o.kind or k -- a cache may keep list items without their kind
      out[#out + 1] = o
    end
  end
  return out
end

-- The ownerReference in obj naming uid, or nil.
local function ref_to(obj, uid)
  for _, r in ipairs(obj.metadata.ownerReferences or {}) do
    if r.uid == uid then return r end
  end
end

-- The owner ref names, if it exists in the cache with ref's uid.
local function owner_of(obj, ref)
  local owner = berth.get(ref.kind, obj.metadata.namespace, ref.name)
  if owner and owner.metadata.uid == ref.uid then return owner end
end

-- Removes finalizer f from obj; the API deletes obj when it was the last.
-- Returns false when the write failed in a way that ends this pass.
local function remove_finalizer(obj, f)
  local rest = {}
  for _, x in ipairs(obj.metadata.finalizers or {}) do
    if x ~= f then rest[#rest + 1] = x end
  end
  local md = obj.metadata
  local ok, msg, reason = berth.patch(obj.kind, md.namespace, md.name, { metadata = {
    finalizers = #rest > 0 and berth.array(rest) or berth.null,
    resourceVersion = md.resourceVersion } })
  if ok or reason == "NotFound" or reason == "Conflict" then return ok ~= nil end
  error(string.format("removing finalizer %s from %s: %s", f, key_of(obj.kind, md), msg))
end

-- Writes that may fail because the object moved on: Conflict ends the pass
-- (the host runs the key again), NotFound means the work is done.
local function check_write(ok, msg, reason, what)
  if ok or reason == "NotFound" then return true end
  if reason == "Conflict" then return false end
  error(what .. ": " .. tostring(msg))
end

-- Looks at obj as a dependent: removes references to owners that are gone
-- or waiting while a solid owner remains, and deletes obj when none does.
-- Returns false when the pass should end.
local function collect(obj)
  local md = obj.metadata
  local refs = md.ownerReferences or {}
  if #refs == 0 then return true end
  local solid, drop, waiting, missing = 0, {}, 0, false
  for _, ref in ipairs(refs) do
    if not WATCHED[ref.kind] then
      solid = solid + 1
    else
      local owner = owner_of(obj, ref)
      if not owner then
        drop[ref.uid] = true
        missing = true
      elseif owner.metadata.deletionTimestamp and has_finalizer(owner, FOREGROUND) then
        drop[ref.uid] = true
        waiting = waiting + 1
      else
        solid = solid + 1
      end
    end
  end
  if not next(drop) then return true end

  if missing then
    local age = berth.now() - (berth.parse_time(md.creationTimestamp) or 0)
    if age < ARRIVAL_GRACE then
      berth.requeue_after(ARRIVAL_GRACE - age)
      return true
    end
  end

  if solid > 0 then
    local keep = {}
    for _, ref in ipairs(refs) do
      if not drop[ref.uid] then keep[#keep + 1] = ref end
    end
    return check_write(berth.patch(obj.kind, md.namespace, md.name, { metadata = {
      ownerReferences = berth.array(keep), resourceVersion = md.resourceVersion } }),
      "removing owner references from " .. key_of(obj.kind, md))
  end

  if md.deletionTimestamp then return true end -- already on its way
  local policy = "Background"
  if waiting > 0 and #dependents(obj) > 0 then
    -- An owner waits in the foreground: so do this object's own dependents.
    policy = "Foreground"
  elseif has_finalizer(obj, ORPHAN) then
    policy = "Orphan"
  elseif has_finalizer(obj, FOREGROUND) then
    policy = "Foreground"
  end
  berth.log.debug("deleting %s (%s): no owner left", key_of(obj.kind, md), policy)
  return check_write(berth.delete(obj.kind, md.namespace, md.name, {
    propagationPolicy = policy,
    preconditions = { uid = md.uid, resourceVersion = md.resourceVersion } }),
    "deleting " .. key_of(obj.kind, md))
end

-- Orphan deletion: the dependents lose their references to owner, then the
-- owner loses its finalizer.
local function orphan(owner)
  local uid = owner.metadata.uid
  local deps = dependents(owner)
  for i, dep in ipairs(deps) do
    if i > BURST then
      berth.requeue_after(0)
      return true
    end
    if not check_write(ownership.release(uid, dep)) then return false end
  end
  return remove_finalizer(owner, ORPHAN)
end

-- Foreground deletion: the dependents are collected, and the owner lets go
-- once none that blocks its deletion is left.
local function foreground(owner)
  local uid = owner.metadata.uid
  local busy = 0
  for _, dep in ipairs(dependents(owner)) do
    if not dep.metadata.deletionTimestamp then
      busy = busy + 1
      if busy > BURST then
        berth.requeue_after(0)
        return true
      end
      if not collect(dep) then return false end
    end
  end
  for _, dep in ipairs(dependents(owner)) do
    local ref = ref_to(dep, uid)
    if ref and ref.blockOwnerDeletion then return true end -- its removal wakes us
  end
  return remove_finalizer(owner, FOREGROUND)
end

local function reconcile(req)
  if not WATCHED[req.kind] then return end
  local obj = berth.get(req.kind, req.namespace, req.name)
  if not obj then return end
  obj.kind = obj.kind or req.kind
  if obj.metadata.deletionTimestamp then
    if has_finalizer(obj, ORPHAN) then
      orphan(obj)
    elseif has_finalizer(obj, FOREGROUND) then
      foreground(obj)
    end
    return
  end
  collect(obj)
end

-- The keys a change to obj (of kind) queues besides its own.
local function related(kind, obj)
  local md = obj.metadata
  local keys = {}
  for _, ref in ipairs(md.ownerReferences or {}) do
    if WATCHED[ref.kind] then
      local owner = owner_of(obj, ref)
      if owner and owner.metadata.deletionTimestamp then
        keys[#keys + 1] = key_of(ref.kind, owner.metadata)
      end
    end
  end
  local live = berth.get(kind, md.namespace, md.name)
  if not live or live.metadata.uid ~= md.uid then
    for _, dep in ipairs(dependents(obj)) do keys[#keys + 1] = key_of(dep.kind, dep.metadata) end
  end
  return keys
end

local maps = {}
for _, k in ipairs(KINDS) do
  maps[k] = function(obj) return related(k, obj) end
end

return {
  name = "garbage-collector",
  kinds = KINDS,
  maps = maps,
  workers = 8,
  reconcile = reconcile,
}
