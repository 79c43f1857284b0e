-- The ReplicaSet controller: keeps spec.replicas active pods that match the
-- selector, as Kubernetes' ReplicaSet controller does.
--
-- Each reconcile claims pods (adopting orphans the selector selects and
-- releasing owned pods it no longer selects), creates or deletes pods to
-- reach spec.replicas, and writes status. Pods that are being deleted or
-- have finished do not count.
--
-- Creations and deletions are remembered until the cache shows them (the
-- "expectations" of Kubernetes): until then a reconcile only updates status,
-- so a cache that lags behind the writes never makes the controller create
-- or delete the same pods twice.

local berth = require("berth")
local pods_lib = require("pods")
local ownership = require("ownership")
local conditions = require("conditions")

-- Pods created or deleted in one reconcile at most; the rest follow in the
-- next one, so a large scale-up does not hold the key for long.
local BURST = 500
-- Seconds after which unobserved writes are no longer waited for.
local EXPECTATION_TTL = 300

-- ReplicaSet uid -> { names = { pod name -> "create" | "delete" }, count,
-- since }.
local expectations = {}

-- Whether the writes recorded for rs have all reached the cache. by_name
-- maps pod names to the pods the cache holds for rs.
local function expectations_met(uid, by_name)
  local e = expectations[uid]
  if not e then return true end
  for name, what in pairs(e.names) do
    local pod = by_name[name]
    local seen
    if what == "create" then
      seen = pod ~= nil
    else
      seen = pod == nil or pod.metadata.deletionTimestamp ~= nil
    end
    if seen then
      e.names[name] = nil
      e.count = e.count - 1
    end
  end
  if e.count <= 0 or berth.now() - e.since > EXPECTATION_TTL then
    expectations[uid] = nil
    return true
  end
  return false
end

local function expect(uid, name, what)
  local e = expectations[uid]
  if not e then
    e = { names = {}, count = 0, since = berth.now() }
    expectations[uid] = e
  end
  if not e.names[name] then e.count = e.count + 1 end
  e.names[name] = what
end

local function selector_is_empty(sel)
  return sel == nil or (next(sel.matchLabels or {}) == nil and
    next(sel.matchExpressions or {}) == nil)
end

-- A pod for rs from its template, named by the API from "<rs>-".
local function new_pod(rs)
  local tmpl = rs.spec.template or {}
  local tmd = tmpl.metadata or {}
  return {
    apiVersion = "v1",
    kind = "Pod",
    metadata = {
      generateName = rs.metadata.name .. "-",
      namespace = rs.metadata.namespace,
      labels = berth.copy(tmd.labels),
      annotations = berth.copy(tmd.annotations),
      finalizers = berth.copy(tmd.finalizers),
      ownerReferences = berth.array({ berth.owner_ref(rs) }),
    },
    spec = berth.copy(tmpl.spec or {}),
  }
end

-- Creates or deletes pods to move the count of active pods towards
-- spec.replicas. Returns nil on success, or a message and a reason; the
-- third result is true when a burst left work for another pass.
local function manage(rs, active)
  local want = rs.spec.replicas or 1
  local diff = #active - want
  local uid = rs.metadata.uid
  if diff < 0 then
    -- A burst goes out at once: the creates share the store's fsyncs.
    local n = math.min(-diff, BURST)
    local pods = {}
    for i = 1, n do pods[i] = new_pod(rs) end
    local created, first_msg, first_reason = 0, nil, nil
    for _, r in ipairs(berth.create_all(pods)) do
      if r.object then
        created = created + 1
        expect(uid, r.object.metadata.name, "create")
      elseif not first_msg then
        first_msg, first_reason = r.message, r.reason
      end
    end
    if created > 0 then
      berth.event(rs, "Normal", "SuccessfulCreate",
        string.format("Created %d pod(s) from template", created))
    end
    if first_msg then
      berth.event(rs, "Warning", "FailedCreate", "Error creating: " .. tostring(first_msg))
      return first_msg, first_reason
    end
    return nil, nil, -diff > n
  elseif diff > 0 then
    local victims = pods_lib.pick_for_deletion(active, math.min(diff, BURST))
    local items = {}
    for i, pod in ipairs(victims) do
      local md = pod.metadata
      items[i] = { kind = "Pod", namespace = md.namespace, name = md.name,
                   opts = { preconditions = { uid = md.uid } } }
    end
    local first_msg, first_reason
    for i, r in ipairs(berth.delete_all(items)) do
      local md = victims[i].metadata
      if r.ok or r.reason == "NotFound" then
        expect(uid, md.name, "delete")
        berth.event(rs, "Normal", "SuccessfulDelete", "Deleted pod: " .. md.name)
      elseif not first_msg then
        first_msg, first_reason = r.message, r.reason
      end
    end
    if first_msg then
      berth.event(rs, "Warning", "FailedDelete", "Error deleting: " .. tostring(first_msg))
      return first_msg, first_reason
    end
    return nil, nil, diff > #victims
  end
end

-- The status for rs from its active pods; the second result is the number
-- of seconds until the next ready pod becomes available, if any.
local function compute_status(rs, active, manage_err)
  local min_ready = rs.spec.minReadySeconds or 0
  local now = berth.now()
  local tmpl_labels = ((rs.spec.template or {}).metadata or {}).labels or {}
  local labeled, ready, available = 0, 0, 0
  local next_due
  for _, pod in ipairs(active) do
    local labels = pod.metadata.labels or {}
    local full = true
    for k, v in pairs(tmpl_labels) do
      if labels[k] ~= v then full = false break end
    end
    if full then labeled = labeled + 1 end
    if pods_lib.is_ready(pod) then
      ready = ready + 1
      local ok, due = pods_lib.is_available(pod, min_ready, now)
      if ok then
        available = available + 1
      elseif due and (not next_due or due < next_due) then
        next_due = due
      end
    end
  end
  local status = berth.copy(rs.status or {})
  status.replicas = #active
  status.fullyLabeledReplicas = labeled
  status.readyReplicas = ready
  status.availableReplicas = available
  status.observedGeneration = rs.metadata.generation
  local failure = conditions.get(status, "ReplicaFailure")
  if manage_err and not failure then
    local reason = #active < (rs.spec.replicas or 1) and "FailedCreate" or "FailedDelete"
    conditions.set(status, conditions.new("ReplicaFailure", "True", reason, manage_err))
  elseif not manage_err and failure then
    conditions.remove(status, "ReplicaFailure")
    if #status.conditions == 0 then status.conditions = nil end
  end
  return status, next_due
end

local function reconcile(req)
  local rs = berth.get("ReplicaSet", req.namespace, req.name)
  if not rs then return end
  local uid = rs.metadata.uid
  local sel = rs.spec.selector
  if selector_is_empty(sel) then
    -- Validation forbids this; an empty selector would select every pod.
    berth.event(rs, "Warning", "SelectingAll", "This ReplicaSet is selecting all pods; skipped")
    return
  end

  local candidates, selects = ownership.candidates("Pod", rs, sel)
  local by_name = {}
  for _, pod in ipairs(candidates) do by_name[pod.metadata.name] = pod end
  local synced = expectations_met(uid, by_name)

  local claimed, msg, reason = ownership.claim(rs, candidates, selects)
  if not claimed then
    if reason == "Conflict" then return end -- requeued at once by the host
    error("claiming pods: " .. tostring(msg))
  end
  local active = {}
  for _, pod in ipairs(claimed) do
    if pods_lib.is_active(pod) then active[#active + 1] = pod end
  end

  local manage_err, manage_reason, more
  if synced and not rs.metadata.deletionTimestamp then
    manage_err, manage_reason, more = manage(rs, active)
  end

  local status, next_due = compute_status(rs, active, manage_err)
  if not berth.equal(status, rs.status or {}) then
    rs.status = status
    local ok, umsg, ureason = berth.update_status(rs)
    if not ok and ureason ~= "Conflict" and ureason ~= "NotFound" then
      error("updating status: " .. tostring(umsg))
    end
  end

  if manage_err then
    if manage_reason == "Conflict" then return end
    error(manage_err)
  end
  if more then
    berth.requeue_after(0)
  elseif next_due then
    -- Ready pods become available with time alone, and no event says so.
    berth.requeue_after(next_due + 0.001)
  end
end

return {
  name = "replicaset",
  kind = "ReplicaSet",
  owns = { "Pod" },
  reconcile = reconcile,
}
