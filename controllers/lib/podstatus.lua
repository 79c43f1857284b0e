-- Questions about a pod's state that the workload controllers share: is it
-- running, finished, ready, available, how often did it restart.

local M = {}

-- The berth module is looked up at call time: specs install a fresh fake for
-- every test, and this module outlives them in package.loaded.
local function berth() return require("berth") end

function M.phase(pod)
  return (pod.status or {}).phase or "Pending"
end

-- Whether the pod is being deleted (it may still be running while it stops).
function M.terminating(pod)
  return (pod.metadata or {}).deletionTimestamp ~= nil
end

-- Whether the pod reached a terminal phase.
function M.finished(pod)
  local p = M.phase(pod)
  return p == "Succeeded" or p == "Failed"
end

-- Whether the pod counts as active: neither finished nor being deleted.
function M.active(pod)
  return not M.finished(pod) and not M.terminating(pod)
end

-- The pod's condition of the given type, or nil.
function M.condition(pod, type_)
  for _, c in ipairs((pod.status or {}).conditions or {}) do
    if c.type == type_ then return c end
  end
end

-- Whether the pod's Ready condition is True.
function M.ready(pod)
  local c = M.condition(pod, "Ready")
  return c ~= nil and c.status == "True"
end

-- Whether the pod has been Ready for at least min_ready seconds at time now.
-- A Ready condition without a transition time counts as ready long enough.
function M.available(pod, min_ready, now)
  local c = M.condition(pod, "Ready")
  if not c or c.status ~= "True" then return false end
  if not min_ready or min_ready <= 0 then return true end
  local since = berth().parse_time(c.lastTransitionTime)
  return since == nil or since + min_ready <= now
end

-- Container restarts summed over init and app containers.
function M.restarts(pod)
  local n = 0
  local st = pod.status or {}
  for _, list in ipairs({ st.initContainerStatuses or {}, st.containerStatuses or {} }) do
    for _, cs in ipairs(list) do n = n + (cs.restartCount or 0) end
  end
  return n
end

-- When the pod's last container finished (seconds), or nil when unknown.
function M.finish_time(pod)
  local latest
  for _, cs in ipairs((pod.status or {}).containerStatuses or {}) do
    local term = (cs.state or {}).terminated
    local t = term and berth().parse_time(term.finishedAt)
    if t and (not latest or t > latest) then latest = t end
  end
  return latest
end

return M
