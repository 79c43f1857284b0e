-- Which PersistentVolume may serve which PersistentVolumeClaim: the rules
-- Kubernetes' PV controller binds by, shared by the binder (which binds
-- volumes that exist) and the local-path provisioner (which makes one only
-- when none of those fits).
--
-- A volume fits a claim when its storage class, access modes, capacity and
-- volume mode satisfy the claim (unfit says which does not). It may be
-- matched to a claim that names no volume when it is also free (no
-- claimRef, phase Available or none) and the claim's selector selects its
-- labels. A volume whose claimRef already names the claim is reserved for
-- it: phase and selector do not count, and it beats every other volume.

local berth = require("berth")

local M = {}

-- The local-path provisioner's mark on the volumes it makes. Such a volume
-- was made for one claim, which the provisioner binds itself; the binder
-- never matches it.
M.PROVISIONER = "berth.dev/local-path"
M.LOCAL_PATH_CLASS = "local-path"

local function blank(s) return s == nil or s == "" end

function M.provisioned(pv)
  local ann = (pv.metadata or {}).annotations or {}
  return ann["pv.kubernetes.io/provisioned-by"] == M.PROVISIONER
end

-- Whether the local-path provisioner serves claims of pvc's class.
function M.local_path_class(pvc)
  local class = (pvc.spec or {}).storageClassName
  return blank(class) or class == M.LOCAL_PATH_CLASS
end

-- The volume a claim names in spec.volumeName, or nil; "" names none.
function M.volume_name(pvc)
  local name = (pvc.spec or {}).volumeName
  if blank(name) then return nil end
  return name
end

-- Whether a claimRef names pvc: namespace and name, and the uid when the
-- ref has one (a ref without one reserves the volume for whichever claim
-- of that name comes).
function M.names_claim(ref, pvc)
  if type(ref) ~= "table" then return false end
  local md = pvc.metadata
  if ref.namespace ~= md.namespace or ref.name ~= md.name then return false end
  return blank(ref.uid) or ref.uid == md.uid
end

-- Whether pv is reserved for pvc (its claimRef names it).
function M.reserved_for(pv, pvc)
  return M.names_claim((pv.spec or {}).claimRef, pvc)
end

-- Whether pv is free for pvc: no claimRef, or one that names pvc.
function M.free_for(pv, pvc)
  local ref = (pv.spec or {}).claimRef
  return ref == nil or M.names_claim(ref, pvc)
end

local function class_of(spec)
  local class = spec.storageClassName
  if blank(class) then return "" end
  return class
end

-- Storage in milli-units; a claim without a request asks for 0.
local function storage(tbl)
  local s = (tbl or {}).storage
  if s == nil then return 0 end
  return berth.quantity(s)
end

-- The capacity of pv in milli-units, or nil when it has none or it does
-- not parse.
function M.capacity(pv)
  local cap = (pv.spec or {}).capacity
  if not cap or cap.storage == nil then return nil end
  return (berth.quantity(cap.storage))
end

-- Why pv cannot serve pvc, or nil when it can: the checks that hold even
-- for a volume the claim names or that is reserved for the claim.
function M.unfit(pv, pvc)
  local vs, cs = pv.spec or {}, pvc.spec or {}
  if pv.metadata.deletionTimestamp then return "the volume is being deleted" end
  if class_of(vs) ~= class_of(cs) then
    return string.format("storage class %q does not match the claim's %q",
      class_of(vs), class_of(cs))
  end
  local modes = {}
  for _, m in ipairs(vs.accessModes or {}) do modes[m] = true end
  for _, m in ipairs(cs.accessModes or {}) do
    if not modes[m] then return "the volume does not offer access mode " .. m end
  end
  local have = M.capacity(pv)
  local want = storage((cs.resources or {}).requests)
  if not have then return "the volume has no valid capacity.storage" end
  if not want then return "the claim's storage request does not parse" end
  if have < want then
    return string.format("the volume's capacity %s is less than the %s requested",
      tostring(vs.capacity.storage), tostring(cs.resources.requests.storage))
  end
  if (vs.volumeMode or "Filesystem") ~= (cs.volumeMode or "Filesystem") then
    return string.format("volume mode %s does not match the claim's %s",
      vs.volumeMode or "Filesystem", cs.volumeMode or "Filesystem")
  end
  return nil
end

-- Whether pv may be bound to pvc, a claim that names no volume.
function M.matches(pv, pvc)
  if M.provisioned(pv) or not M.free_for(pv, pvc) then return false end
  if M.unfit(pv, pvc) then return false end
  if M.reserved_for(pv, pvc) then return true end
  local phase = (pv.status or {}).phase
  if phase ~= nil and phase ~= "Available" then return false end
  local sel = (pvc.spec or {}).selector
  if sel and not berth.matches(sel, (pv.metadata or {}).labels or {}) then
    return false
  end
  return true
end

-- The best volume among pvs for pvc, or nil: one reserved for the claim
-- first, else the smallest that fits, so big volumes stay for big claims;
-- among equals the first by name, so every pass picks the same.
function M.best_match(pvc, pvs)
  local best, best_reserved, best_size
  for _, pv in ipairs(pvs) do
    if M.matches(pv, pvc) then
      local reserved, size = M.reserved_for(pv, pvc), M.capacity(pv)
      local better
      if not best then
        better = true
      elseif reserved ~= best_reserved then
        better = reserved
      elseif size ~= best_size then
        better = size < best_size
      else
        better = pv.metadata.name < best.metadata.name
      end
      if better then best, best_reserved, best_size = pv, reserved, size end
    end
  end
  return best
end

return M
