-- Pod state as the workload controllers judge it: active, ready, available,
-- and the order in which surplus pods are deleted.

local berth = require("berth")

local M = {}

-- A pod still counts towards its owner's replicas unless it is being
-- deleted or has finished (Succeeded or Failed): those will not serve again.
function M.is_active(pod)
  if pod.metadata.deletionTimestamp then return false end
  local phase = pod.status and pod.status.phase
  return phase ~= "Succeeded" and phase ~= "Failed"
end

-- The Ready condition of a pod, or nil.
function M.ready_condition(pod)
  for _, c in ipairs((pod.status or {}).conditions or {}) do
    if c.type == "Ready" then return c end
  end
end

function M.is_ready(pod)
  local c = M.ready_condition(pod)
  return c ~= nil and c.status == "True"
end

-- Seconds since the epoch at which the pod became Ready, or nil when it is
-- not ready or the time is unknown.
function M.ready_since(pod)
  local c = M.ready_condition(pod)
  if not c or c.status ~= "True" then return nil end
  return berth.parse_time(c.lastTransitionTime)
end

-- Available means Ready for longer than min_ready seconds (strictly, as in
-- Kubernetes). With min_ready > 0 and the pod ready but not yet available,
-- the second result is how many seconds remain until it will be.
function M.is_available(pod, min_ready, now)
  if not M.is_ready(pod) then return false end
  min_ready = min_ready or 0
  if min_ready <= 0 then return true end
  local since = M.ready_since(pod)
  if not since then return false end
  local due = since + min_ready
  if due < now then return true end
  return false, due - now
end

local function max_restarts(pod)
  local n = 0
  for _, cs in ipairs((pod.status or {}).containerStatuses or {}) do
    if (cs.restartCount or 0) > n then n = cs.restartCount end
  end
  return n
end

local PHASE_RANK = { Pending = 0, Unknown = 1, Running = 2 }
local FAR = 9999999999 -- later than any time or count that occurs

-- A string that sorts ascending in the order Kubernetes deletes surplus
-- pods (its ActivePods ordering): unassigned before assigned, Pending before
-- Unknown before Running, not ready before ready, ready for less time
-- before ready for longer, more restarts before fewer, newer before older.
-- Strings let table.sort compare in C, which keeps scale-down of thousands of
-- pods cheap; the name at the end makes the order total.
function M.deletion_rank(pod)
  local spec, status = pod.spec or {}, pod.status or {}
  local assigned = (spec.nodeName and spec.nodeName ~= "") and 1 or 0
  local phase = PHASE_RANK[status.phase] or 0
  local ready = M.is_ready(pod) and 1 or 0
  -- Among ready pods the one ready most recently goes first; an unknown
  -- ready time sorts before any known one.
  local ready_key = 0
  if ready == 1 then
    local since = M.ready_since(pod)
    ready_key = since and (FAR - since) or -1
  end
  local created = berth.parse_time(pod.metadata.creationTimestamp)
  local created_key = created and (FAR - created) or -1
  return string.format("%d%d%d%011d%011d%011d %s", assigned, phase, ready,
    ready_key + 1, FAR - max_restarts(pod), created_key + 1, pod.metadata.name)
end

-- Returns the n pods to delete first, from an array of active pods.
function M.pick_for_deletion(pods, n)
  if n <= 0 then return {} end
  local ranks, by_rank = {}, {}
  for i, pod in ipairs(pods) do
    local r = M.deletion_rank(pod)
    ranks[i] = r
    by_rank[r] = pod
  end
  table.sort(ranks)
  local out = {}
  for i = 1, math.min(n, #ranks) do out[i] = by_rank[ranks[i]] end
  return out
end

return M
