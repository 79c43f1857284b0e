-- The Namespace controller: empties a namespace that is being deleted and
-- then releases it, as Kubernetes' namespace controller does.
--
-- Deleting a Namespace only sets its deletionTimestamp: the API keeps it
-- while spec.finalizers holds "kubernetes". This controller then marks it
-- Terminating, deletes every object of the namespaced kinds it watches,
-- reports what is left in the status conditions, and once nothing is left
-- removes "kubernetes" through the namespace's finalize subresource
-- (berth.update with opts.subresource = "finalize"), after which the API
-- removes the Namespace. Namespaces not being deleted are marked Active.

local berth = require("berth")

-- Workloads come first, so their controllers do not replace the pods
-- deleted in the same pass.
local KINDS = { "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet",
  "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "ServiceAccount",
  "PersistentVolumeClaim", "Lease", "Event" }

local FINALIZER = "kubernetes"

-- Seconds between looks at a namespace whose content is still going, in
-- case no removal event arrives (an object held by a finalizer).
local RECHECK = 15
-- Deletions in one pass; the rest follow in the next.
local BURST = 500

local function set_condition(conds, type_, failed, reason, message)
  local old
  for _, c in ipairs(conds) do
    if c.type == type_ then old = c end
  end
  local status = failed and "True" or "False"
  local c = { type = type_, status = status, reason = reason, message = message,
              lastTransitionTime = berth.time() }
  if old and old.status == status then c.lastTransitionTime = old.lastTransitionTime end
  local out = berth.array({})
  for _, x in ipairs(conds) do
    if x.type ~= type_ then out[#out + 1] = x end
  end
  out[#out + 1] = c
  return out
end

-- Deletes what is left in the namespace, up to BURST objects. Returns a
-- summary of what remains (counts by kind, counts by finalizer), the first
-- delete failure, and whether the burst ran out.
local function delete_content(ns)
  local left, held, failure = {}, {}, nil
  local budget = BURST
  for _, kind in ipairs(KINDS) do
    for _, o in ipairs(berth.list(kind, ns)) do
      local md = o.metadata
      left[kind] = (left[kind] or 0) + 1
      for _, f in ipairs(md.finalizers or {}) do held[f] = (held[f] or 0) + 1 end
      if not md.deletionTimestamp and budget > 0 then
        budget = budget - 1
        local ok, msg, reason = berth.delete(kind, ns, md.name,
          { propagationPolicy = "Background", preconditions = { uid = md.uid } })
        if ok or reason == "NotFound" then
          -- A deletion without finalizers or grace takes effect at once.
          if ok and not berth.get(kind, ns, md.name) then left[kind] = left[kind] - 1 end
        elseif reason ~= "Conflict" and not failure then
          failure = string.format("Failed to delete all resource types, 1 remaining: %s %s: %s",
            kind, md.name, tostring(msg))
        end
      end
    end
    if left[kind] == 0 then left[kind] = nil end
  end
  return left, held, failure, budget == 0
end

-- Counts as "Pod has 3 resource instances, ..." (fmt takes the key and
-- the count), in a stable order.
local function describe(counts, fmt)
  local keys = {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = string.format(fmt, k, counts[k]) end
  return table.concat(parts, ", ")
end

local function has_finalizer(nsobj)
  for _, f in ipairs((nsobj.spec or {}).finalizers or {}) do
    if f == FINALIZER then return true end
  end
  return false
end

local function write_status(nsobj, status)
  if berth.equal(status, nsobj.status or {}) then return true end
  nsobj.status = status
  local stored, msg, reason = berth.update_status(nsobj)
  if stored then
    nsobj.metadata.resourceVersion = stored.metadata.resourceVersion
    return true
  end
  if reason == "Conflict" or reason == "NotFound" then return false end
  error("updating namespace status: " .. tostring(msg))
end

local function reconcile(req)
  local nsobj = berth.get("Namespace", nil, req.name)
  if not nsobj then return end
  local status = berth.copy(nsobj.status or {})

  if not nsobj.metadata.deletionTimestamp then
    status.phase = "Active"
    write_status(nsobj, status)
    return
  end

  status.phase = "Terminating"
  if not has_finalizer(nsobj) then
    -- Our part is done; other finalizers hold the namespace.
    write_status(nsobj, status)
    return
  end

  local name = nsobj.metadata.name
  local left, held, failure, more = delete_content(name)
  local conds = status.conditions or berth.array({})
  conds = set_condition(conds, "NamespaceDeletionContentFailure", failure ~= nil,
    failure and "ContentDeletionFailed" or "ContentDeleted",
    failure or "All content successfully deleted, may be waiting on finalization")
  conds = set_condition(conds, "NamespaceContentRemaining", next(left) ~= nil,
    next(left) and "SomeResourcesRemain" or "ContentRemoved",
    next(left) and ("Some resources are remaining: " .. describe(left, "%s has %d resource instances"))
      or "All content successfully removed")
  conds = set_condition(conds, "NamespaceFinalizersRemaining", next(held) ~= nil,
    next(held) and "SomeFinalizersRemain" or "ContentHasNoFinalizers",
    next(held) and ("Some content in the namespace has finalizers remaining: " ..
      describe(held, "%s in %d resource instances")) or "All content-preserving finalizers finished")
  status.conditions = conds
  if not write_status(nsobj, status) then return end

  if failure then error(failure) end
  if next(left) then
    berth.requeue_after(more and 0 or RECHECK)
    return
  end

  -- Empty: hand the namespace back to the API for removal.
  local rest = {}
  for _, f in ipairs(nsobj.spec.finalizers) do
    if f ~= FINALIZER then rest[#rest + 1] = f end
  end
  nsobj.spec.finalizers = berth.array(rest)
  local ok, msg, reason = berth.update(nsobj, { subresource = "finalize" })
  if not ok and reason ~= "Conflict" and reason ~= "NotFound" then
    error("finalizing namespace: " .. tostring(msg))
  end
end

-- A change to an object in a namespace being deleted (above all, its
-- removal) may be the last one the namespace waits for.
local function to_terminating_namespace(obj)
  local ns = obj.metadata.namespace
  if not ns then return {} end
  local nsobj = berth.get("Namespace", nil, ns)
  if nsobj and nsobj.metadata.deletionTimestamp then return { ns } end
  return {}
end

local maps = {}
for _, k in ipairs(KINDS) do maps[k] = to_terminating_namespace end

return {
  name = "namespace",
  kind = "Namespace",
  maps = maps,
  reconcile = reconcile,
}
