-- Whether a DaemonSet's pod belongs on a node: the pod's nodeSelector, its
-- required node affinity and its tolerations against the node's taints,
-- the way the Kubernetes DaemonSet controller decides.

local M = {}

-- The tolerations Kubernetes adds to every DaemonSet pod, so that daemons
-- keep running on nodes that are not ready, unreachable, under pressure or
-- cordoned.
M.DEFAULT_TOLERATIONS = {
  { key = "node.kubernetes.io/not-ready", operator = "Exists", effect = "NoExecute" },
  { key = "node.kubernetes.io/unreachable", operator = "Exists", effect = "NoExecute" },
  { key = "node.kubernetes.io/disk-pressure", operator = "Exists", effect = "NoSchedule" },
  { key = "node.kubernetes.io/memory-pressure", operator = "Exists", effect = "NoSchedule" },
  { key = "node.kubernetes.io/pid-pressure", operator = "Exists", effect = "NoSchedule" },
  { key = "node.kubernetes.io/unschedulable", operator = "Exists", effect = "NoSchedule" },
}
local HOST_NETWORK_TOLERATION =
  { key = "node.kubernetes.io/network-unavailable", operator = "Exists", effect = "NoSchedule" }

-- Adds the default tolerations to a pod spec (in place) unless the spec
-- already has one for the same key and effect.
function M.add_default_tolerations(spec)
  local have = {}
  local tols = spec.tolerations or {}
  for _, t in ipairs(tols) do have[(t.key or "") .. "\0" .. (t.effect or "")] = true end
  local function add(t)
    if not have[t.key .. "\0" .. t.effect] then
      tols[#tols + 1] = { key = t.key, operator = t.operator, effect = t.effect }
    end
  end
  for _, t in ipairs(M.DEFAULT_TOLERATIONS) do add(t) end
  if spec.hostNetwork then add(HOST_NETWORK_TOLERATION) end
  spec.tolerations = require("berth").array(tols)
  return spec
end

-- One node selector requirement against a value (a label or a field).
local function requirement(req, value)
  local op = req.operator
  local values = req.values or {}
  if op == "Exists" then return value ~= nil end
  if op == "DoesNotExist" then return value == nil end
  if op == "In" or op == "NotIn" then
    local found = false
    for _, v in ipairs(values) do if v == value then found = true break end end
    if op == "In" then return found end
    return not found
  end
  if op == "Gt" or op == "Lt" then
    local have, want = tonumber(value or ""), tonumber(values[1] or "")
    if not have or not want or math.type(have) ~= "integer" then return false end
    if op == "Gt" then return have > want end
    return have < want
  end
  return false -- an unknown operator selects nothing
end

-- A node selector term: all its expressions and fields must hold; a term
-- with neither selects nothing.
local function term_matches(term, node)
  local exprs, fields = term.matchExpressions or {}, term.matchFields or {}
  if #exprs == 0 and #fields == 0 then return false end
  local labels = node.metadata.labels or {}
  for _, r in ipairs(exprs) do
    if not requirement(r, labels[r.key]) then return false end
  end
  for _, r in ipairs(fields) do
    -- metadata.name is the only field Kubernetes supports here.
    local v = r.key == "metadata.name" and node.metadata.name or nil
    if not requirement(r, v) then return false end
  end
  return true
end

-- Whether the pod's nodeSelector and required node affinity select node.
function M.selects(spec, node)
  local labels = node.metadata.labels or {}
  for k, v in pairs(spec.nodeSelector or {}) do
    if labels[k] ~= v then return false end
  end
  local na = (spec.affinity or {}).nodeAffinity or {}
  local req = na.requiredDuringSchedulingIgnoredDuringExecution
  if req then
    local any = false
    for _, term in ipairs(req.nodeSelectorTerms or {}) do
      if term_matches(term, node) then any = true break end
    end
    if not any then return false end
  end
  return true
end

-- Whether a toleration tolerates a taint.
function M.tolerates(tol, taint)
  if tol.effect and tol.effect ~= "" and tol.effect ~= taint.effect then return false end
  local op = tol.operator or "Equal"
  if (tol.key or "") == "" then return op == "Exists" end
  if tol.key ~= taint.key then return false end
  if op == "Exists" then return true end
  return (tol.value or "") == (taint.value or "")
end

-- The first taint with one of the effects that no toleration tolerates.
local function untolerated(spec, node, effects)
  for _, taint in ipairs((node.spec or {}).taints or {}) do
    if effects[taint.effect] then
      local ok = false
      for _, tol in ipairs(spec.tolerations or {}) do
        if M.tolerates(tol, taint) then ok = true break end
      end
      if not ok then return taint end
    end
  end
end

local SCHEDULE = { NoSchedule = true, NoExecute = true }
local EXECUTE = { NoExecute = true }

-- Two answers for a pod spec (with its tolerations) and a node: should a new
-- pod be placed there, and may an existing one keep running there (a
-- NoSchedule taint added later does not evict a running daemon).
function M.fit(spec, node)
  if not M.selects(spec, node) then return false, false end
  local run = untolerated(spec, node, SCHEDULE) == nil
  local keep = untolerated(spec, node, EXECUTE) == nil
  return run, keep
end

return M
