-- The arithmetic of Deployment rollouts, free of API calls: defaults,
-- revisions and the annotations on ReplicaSets, surge and unavailability
-- fenceposts, proportional scaling, and the Deployment's status. It follows
-- Kubernetes' pkg/controller/deployment/util.

local berth = require("berth")
local intstr = require("intstr")
local conditions = require("conditions")

local M = {}

M.HASH_LABEL = "pod-template-hash"
M.REVISION = "deployment.kubernetes.io/revision"
M.REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
M.DESIRED = "deployment.kubernetes.io/desired-replicas"
M.MAX = "deployment.kubernetes.io/max-replicas"
M.CHANGE_CAUSE = "kubernetes.io/change-cause"

-- Annotations a Deployment does not hand down to its ReplicaSets: they
-- are the controller's own, or kubectl's record of the applied manifest.
local NOT_COPIED = {
  [M.REVISION] = true, [M.REVISION_HISTORY] = true, [M.DESIRED] = true, [M.MAX] = true,
  ["kubectl.kubernetes.io/last-applied-configuration"] = true,
  ["deprecated.deployment.rollback.to"] = true,
}

local NO_DEADLINE = 2147483647

-- Defaults of apps/v1, in case the API left a field out.
function M.replicas(obj) return (obj.spec or {}).replicas or 1 end
function M.strategy(d) return ((d.spec.strategy or {}).type) or "RollingUpdate" end
function M.history_limit(d) return d.spec.revisionHistoryLimit or 10 end
function M.deadline(d) return d.spec.progressDeadlineSeconds or 600 end
function M.has_deadline(d) return M.deadline(d) ~= NO_DEADLINE end

-- The template without the pod-template-hash label, for comparing a
-- Deployment's template with its ReplicaSets'.
local function strip_hash(tmpl)
  local t = berth.copy(tmpl or {})
  t.metadata = t.metadata or {}
  local labels = t.metadata.labels
  if labels then
    labels[M.HASH_LABEL] = nil
    if next(labels) == nil then t.metadata.labels = nil end
  end
  if next(t.metadata) == nil then t.metadata = nil end
  return t
end

function M.equal_ignore_hash(a, b)
  return berth.equal(strip_hash(a), strip_hash(b))
end

-- The revision number of a ReplicaSet (0 when it has none).
function M.revision(rs)
  local v = ((rs.metadata or {}).annotations or {})[M.REVISION]
  return math.tointeger(tonumber(v or "")) or 0
end

function M.max_revision(rss)
  local max = 0
  for _, rs in ipairs(rss) do max = math.max(max, M.revision(rs)) end
  return max
end

-- maxSurge and maxUnavailable as numbers of pods for the desired count:
-- surge rounds up, unavailability down, and both zero would deadlock a
-- rollout, so unavailability becomes 1 then.
function M.fenceposts(d)
  local ru = (d.spec.strategy or {}).rollingUpdate or {}
  local desired = M.replicas(d)
  local surge, err = intstr.scaled(ru.maxSurge or "25%", desired, true)
  if not surge then return nil, nil, "maxSurge: " .. err end
  local unavailable, err2 = intstr.scaled(ru.maxUnavailable or "25%", desired, false)
  if not unavailable then return nil, nil, "maxUnavailable: " .. err2 end
  if surge == 0 and unavailable == 0 then unavailable = 1 end
  return surge, unavailable
end

function M.max_surge(d)
  if M.strategy(d) ~= "RollingUpdate" then return 0 end
  local surge, _, err = M.fenceposts(d)
  if err then error(err) end
  return surge
end

function M.max_unavailable(d)
  if M.strategy(d) ~= "RollingUpdate" or M.replicas(d) == 0 then return 0 end
  local _, unavailable, err = M.fenceposts(d)
  if err then error(err) end
  return math.min(unavailable, M.replicas(d))
end

-- Sums over ReplicaSets (nil entries are skipped).
local function sum(rss, f)
  local n = 0
  for _, rs in pairs(rss) do n = n + (f(rs) or 0) end
  return n
end
function M.spec_replicas(rss) return sum(rss, function(rs) return M.replicas(rs) end) end
function M.status_replicas(rss) return sum(rss, function(rs) return (rs.status or {}).replicas end) end
function M.ready_replicas(rss) return sum(rss, function(rs) return (rs.status or {}).readyReplicas end) end
function M.available_replicas(rss)
  return sum(rss, function(rs) return (rs.status or {}).availableReplicas end)
end

-- ReplicaSets that should have pods.
function M.active(rss)
  local out = {}
  for _, rs in ipairs(rss) do
    if rs and M.replicas(rs) > 0 then out[#out + 1] = rs end
  end
  return out
end

local function created(rs) return berth.parse_time(rs.metadata.creationTimestamp) or 0 end

-- Oldest first; the name breaks ties so the order is stable.
function M.by_creation(a, b)
  local ta, tb = created(a), created(b)
  if ta ~= tb then return ta < tb end
  return a.metadata.name < b.metadata.name
end

function M.by_revision(a, b)
  local ra, rb = M.revision(a), M.revision(b)
  if ra ~= rb then return ra < rb end
  return M.by_creation(a, b)
end

-- Larger first; on a tie the newer when scaling up, the older when down.
function M.by_size(newer_first)
  return function(a, b)
    local sa, sb = M.replicas(a), M.replicas(b)
    if sa ~= sb then return sa > sb end
    if newer_first then return M.by_creation(b, a) end
    return M.by_creation(a, b)
  end
end

-- Sets the desired-replicas and max-replicas annotations; returns whether
-- anything changed.
function M.set_replicas_annotations(rs, desired, max)
  rs.metadata.annotations = rs.metadata.annotations or {}
  local a = rs.metadata.annotations
  local d, m = string.format("%d", desired), string.format("%d", max)
  if a[M.DESIRED] == d and a[M.MAX] == m then return false end
  a[M.DESIRED], a[M.MAX] = d, m
  return true
end

-- Hands the Deployment's own annotations (such as the change cause) down
-- to rs; returns whether anything changed.
local function copy_annotations(d, rs)
  rs.metadata.annotations = rs.metadata.annotations or {}
  local changed = false
  for k, v in pairs(d.metadata.annotations or {}) do
    if not NOT_COPIED[k] and rs.metadata.annotations[k] ~= v then
      rs.metadata.annotations[k] = v
      changed = true
    end
  end
  return changed
end

-- Sets the annotations of the new ReplicaSet: copied ones, the revision
-- (raised to new_revision, never lowered; a ReplicaSet coming back, as after
-- `kubectl rollout undo`, keeps its earlier numbers in revision-history),
-- and for one about to be created the replica counts. Returns whether
-- anything changed.
function M.set_new_rs_annotations(d, rs, new_revision, exists)
  local changed = copy_annotations(d, rs)
  local a = rs.metadata.annotations
  local old = a[M.REVISION]
  local old_n = math.tointeger(tonumber(old or "")) or 0
  if old_n < new_revision then
    a[M.REVISION] = string.format("%d", new_revision)
    changed = true
    if old then
      local hist = a[M.REVISION_HISTORY]
      a[M.REVISION_HISTORY] = (hist and hist ~= "") and (hist .. "," .. old) or old
    end
  end
  if not exists and M.set_replicas_annotations(rs, M.replicas(d),
      M.replicas(d) + M.max_surge(d)) then
    changed = true
  end
  return changed
end

local function desired_annotation(rs)
  local v = ((rs.metadata or {}).annotations or {})[M.DESIRED]
  return math.tointeger(tonumber(v or ""))
end

local function max_annotation(rs)
  local v = ((rs.metadata or {}).annotations or {})[M.MAX]
  return math.tointeger(tonumber(v or ""))
end

-- The size for the new ReplicaSet now: up to the surge allowance above the
-- desired count, counting every ReplicaSet's pods.
function M.new_rs_replicas(d, all, new_rs)
  if M.strategy(d) == "Recreate" then return M.replicas(d) end
  local current = M.spec_replicas(all)
  local max_total = M.replicas(d) + M.max_surge(d)
  if current >= max_total then return M.replicas(new_rs) end
  local up = math.min(max_total - current, M.replicas(d) - M.replicas(new_rs))
  return M.replicas(new_rs) + up
end

-- Whether the Deployment's replica count changed since the active
-- ReplicaSets were last sized (their desired-replicas annotation).
function M.is_scaling_event(d, all)
  for _, rs in ipairs(M.active(all)) do
    local want = desired_annotation(rs)
    if want and want ~= M.replicas(d) then return true end
  end
  return false
end

-- Whether the new ReplicaSet alone runs the whole Deployment.
function M.is_saturated(d, rs)
  if not rs then return false end
  local n = M.replicas(d)
  return desired_annotation(rs) == n and M.replicas(rs) == n and
    ((rs.status or {}).availableReplicas or 0) == n
end

local function round(x)
  if x >= 0 then return math.floor(x + 0.5) end
  return -math.floor(-x + 0.5)
end

-- The share of to_add that rs takes when a Deployment is resized in the
-- middle of a rollout, proportional to its size at the last resize.
function M.proportion(rs, d, to_add, added)
  if not rs or M.replicas(rs) == 0 or to_add == 0 or to_add == added then return 0 end
  local fraction
  if M.replicas(d) == 0 then
    fraction = -M.replicas(rs)
  else
    local total = M.replicas(d) + M.max_surge(d)
    local annotated = max_annotation(rs) or (d.status or {}).replicas or 0
    if annotated == 0 then
      fraction = 0
    else
      fraction = round(M.replicas(rs) * total / annotated) - M.replicas(rs)
    end
  end
  local allowed = to_add - added
  if to_add > 0 then return math.min(fraction, allowed) end
  return math.max(fraction, allowed)
end

-- Whether the rollout is done: every replica updated and available, and
-- the latest spec observed.
function M.complete(d, st)
  local n = M.replicas(d)
  return (st.updatedReplicas or 0) == n and (st.replicas or 0) == n and
    (st.availableReplicas or 0) == n and (st.observedGeneration or 0) >= (d.metadata.generation or 0)
end

-- Whether st shows progress since the Deployment's recorded status.
function M.progressing(d, st)
  local old = d.status or {}
  local old_old = (old.replicas or 0) - (old.updatedReplicas or 0)
  local new_old = (st.replicas or 0) - (st.updatedReplicas or 0)
  return (st.updatedReplicas or 0) > (old.updatedReplicas or 0) or new_old < old_old or
    (st.readyReplicas or 0) > (old.readyReplicas or 0) or
    (st.availableReplicas or 0) > (old.availableReplicas or 0)
end

-- Whether no progress was recorded for longer than progressDeadlineSeconds.
function M.timed_out(d, st)
  if not M.has_deadline(d) then return false end
  local c = conditions.get(st, "Progressing")
  if not c then return false end
  if c.reason == "NewReplicaSetAvailable" then return false end
  if c.reason == "ProgressDeadlineExceeded" then return true end
  local from = berth.parse_time(c.lastUpdateTime)
  return from ~= nil and from + M.deadline(d) < berth.now()
end

-- The Deployment's status from its ReplicaSets, with its conditions
-- carried over and Available set.
function M.status(all, new_rs, d)
  local available = M.available_replicas(all)
  local old = d.status or {}
  local st = {
    observedGeneration = d.metadata.generation,
    replicas = M.status_replicas(all),
    updatedReplicas = new_rs and M.status_replicas({ new_rs }) or 0,
    readyReplicas = M.ready_replicas(all),
    availableReplicas = available,
    unavailableReplicas = math.max(M.spec_replicas(all) - available, 0),
    collisionCount = old.collisionCount,
    conditions = berth.copy(old.conditions or berth.array({})),
  }
  if available >= M.replicas(d) - M.max_unavailable(d) then
    conditions.set(st, conditions.new("Available", "True", "MinimumReplicasAvailable",
      "Deployment has minimum availability."))
  else
    conditions.set(st, conditions.new("Available", "False", "MinimumReplicasUnavailable",
      "Deployment does not have minimum availability."))
  end
  return st
end

return M
