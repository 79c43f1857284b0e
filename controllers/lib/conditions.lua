-- Status conditions ({type, status, reason, message, lastUpdateTime,
-- lastTransitionTime}) kept the way Kubernetes controllers keep them.

local berth = require("berth")

local M = {}

-- A new condition stamped with the current time.
function M.new(type_, status, reason, message)
  local now = berth.time()
  return { type = type_, status = status, reason = reason, message = message,
           lastUpdateTime = now, lastTransitionTime = now }
end

-- The condition of that type in status.conditions, or nil.
function M.get(status, type_)
  for _, c in ipairs(status.conditions or {}) do
    if c.type == type_ then return c end
  end
end

-- Drops the condition of that type.
function M.remove(status, type_)
  local out = berth.array({})
  for _, c in ipairs(status.conditions or {}) do
    if c.type ~= type_ then out[#out + 1] = c end
  end
  status.conditions = out
end

-- Sets cond in status. Nothing changes when a condition with the same
-- status and reason is already there; when only the reason or message
-- changes, the transition time of the old condition is kept.
function M.set(status, cond)
  local cur = M.get(status, cond.type)
  if cur and cur.status == cond.status and cur.reason == cond.reason then return end
  if cur and cur.status == cond.status then
    cond.lastTransitionTime = cur.lastTransitionTime
  end
  M.remove(status, cond.type)
  status.conditions[#status.conditions + 1] = cond
end

return M
