-- Pieces the workload controllers (Job, CronJob, StatefulSet, DaemonSet)
-- share: building objects from templates, status conditions, scaled
-- int-or-percent values and change-only status writes.

local M = {}

-- Looked up at call time; see podstatus.lua.
local function berth() return require("berth") end

-- A new Pod for owner from a pod template: labels and annotations copied,
-- the owner as controller. The caller sets the name (or generateName) and
-- adds its own labels. The returned table is the caller's.
function M.pod_from_template(owner, template)
  local b = berth()
  template = template or {}
  local tm = template.metadata or {}
  return {
    apiVersion = "v1",
    kind = "Pod",
    metadata = {
      namespace = owner.metadata.namespace,
      labels = b.copy(tm.labels or {}),
      annotations = tm.annotations and b.copy(tm.annotations) or nil,
      ownerReferences = b.array({ b.owner_ref(owner) }),
    },
    spec = b.copy(template.spec or {}),
  }
end

-- Objects in list whose controller ownerReference is owner (by uid).
function M.controlled(list, owner)
  local out = {}
  for _, o in ipairs(list) do
    local ref = berth().controller_of(o)
    if ref and ref.uid == owner.metadata.uid then out[#out + 1] = o end
  end
  return out
end

-- The condition of type in a conditions list, or nil.
function M.find_condition(conds, type_)
  for _, c in ipairs(conds or {}) do
    if c.type == type_ then return c end
  end
end

-- Sets a condition in status.conditions. An unchanged condition is left as
-- it is (so that status writes happen only on change); lastTransitionTime
-- moves only when the status does. Returns the condition.
function M.set_condition(status, type_, cstatus, reason, message)
  local b = berth()
  status.conditions = status.conditions or b.array({})
  local now = b.time()
  local c = M.find_condition(status.conditions, type_)
  if not c then
    c = { type = type_ }
    status.conditions[#status.conditions + 1] = c
  elseif c.status == cstatus and c.reason == reason and c.message == message then
    return c
  end
  if c.status ~= cstatus then c.lastTransitionTime = now end
  c.status, c.reason, c.message, c.lastProbeTime = cstatus, reason, message, now
  return c
end

-- An int-or-string value ("25%" or 3) scaled against total; percentages
-- round up when round_up is true and down otherwise, as Kubernetes does.
-- Returns nil and a message for a malformed value.
function M.scaled(v, total, round_up)
  if v == nil then return nil end
  if math.type(v) == "integer" then return v end
  if type(v) == "number" then return math.floor(v) end
  local pct = type(v) == "string" and v:match("^(%d+)%%$")
  if not pct then
    if type(v) == "string" and v:match("^%d+$") then return tonumber(v) end
    return nil, string.format("invalid int-or-percent value %q", tostring(v))
  end
  local x = tonumber(pct) * total
  if round_up then return (x + 99) // 100 end
  return x // 100
end

-- Writes obj.status through the status subresource unless it equals old.
-- Returns true when nothing needed writing or the write succeeded, else
-- nil, message, reason from the API.
function M.write_status(obj, old)
  local b = berth()
  if b.equal(obj.status or {}, old or {}) then return true end
  local ok, msg, reason = b.update_status(obj)
  if not ok then return nil, msg, reason end
  return true
end

return M
