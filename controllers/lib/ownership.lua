-- Claiming dependents: a controller adopts orphans its selector selects and
-- releases the dependents it controls that its selector no longer selects,
-- as Kubernetes' ControllerRefManager does.

local berth = require("berth")

local M = {}

-- Patches obj's ownerReferences to refs. The resourceVersion makes the
-- merge patch conditional, so a concurrent change of the list is not lost.
local function set_refs(obj, refs)
  local md = obj.metadata
  local value = berth.null
  if #refs > 0 then value = berth.array(refs) end
  return berth.patch(obj.kind, md.namespace, md.name,
    { metadata = { ownerReferences = value, resourceVersion = md.resourceVersion } })
end

-- Adds owner as obj's controller; returns the patched object or nil,
-- message, reason.
function M.adopt(owner, obj)
  local refs = {}
  for _, r in ipairs(obj.metadata.ownerReferences or {}) do refs[#refs + 1] = r end
  refs[#refs + 1] = berth.owner_ref(owner)
  return set_refs(obj, refs)
end

-- Removes every reference to the owner with that uid from obj.
function M.release(uid, obj)
  local refs = {}
  for _, r in ipairs(obj.metadata.ownerReferences or {}) do
    if r.uid ~= uid then refs[#refs + 1] = r end
  end
  return set_refs(obj, refs)
end

-- Sorts candidates (objects the owner's selector selects and objects the
-- owner controls) into the ones the owner keeps, adopting and releasing on
-- the way. selects(obj) tells whether the owner's selector selects obj.
-- Returns the kept objects, or nil, message, reason when a write failed
-- (a release of an object already gone is not a failure).
function M.claim(owner, candidates, selects)
  local uid = owner.metadata.uid
  local kept = {}
  for _, obj in ipairs(candidates) do
    local ref = berth.controller_of(obj)
    if ref then
      if ref.uid == uid then
        if selects(obj) then
          kept[#kept + 1] = obj
        else
          local ok, msg, reason = M.release(uid, obj)
          if not ok and reason ~= "NotFound" then return nil, msg, reason end
        end
      end
    elseif selects(obj) and not obj.metadata.deletionTimestamp and
        not owner.metadata.deletionTimestamp then
      -- An orphan that is being deleted is not worth adopting, and an owner
      -- that is being deleted adopts nothing.
      local adopted, msg, reason = M.adopt(owner, obj)
      if adopted then
        kept[#kept + 1] = adopted
      elseif reason ~= "NotFound" then
        return nil, msg, reason
      end
    end
  end
  return kept
end

-- Candidates for claim(): every obj of kind in the owner's namespace that
-- the selector selects, plus every one the owner already controls, once.
-- The second result is a selects() function for claim() that answers from
-- the cache's own selection instead of matching labels again.
function M.candidates(kind, owner, selector)
  local list = berth.list(kind, owner.metadata.namespace, selector)
  local selected = {}
  for _, o in ipairs(list) do selected[o.metadata.uid] = true end
  for _, o in ipairs(berth.owned(kind, owner)) do
    if not selected[o.metadata.uid] and o.metadata.namespace == owner.metadata.namespace then
      list[#list + 1] = o
    end
  end
  return list, function(o) return selected[o.metadata.uid] == true end
end

return M
