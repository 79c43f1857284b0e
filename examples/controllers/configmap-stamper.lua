-- A complete custom controller: stamps every ConfigMap with the time it was
-- first seen and a hash of its data, and keeps a "<name>-audit" ConfigMap
-- (owned by it, so the garbage collector removes it with its owner) that
-- counts how often the data changed.
--
-- Run it without rebuilding anything:
--   berthd server --controllers examples/controllers
-- Test it with busted (see tests/lua/configmap_stamper_spec.lua).
local berth = require("berth")

local STAMP = "example.com/stamped"
local HASH = "example.com/data-hash"

local function audit_name(name) return name .. "-audit" end

return {
  name = "configmap-stamper",
  kind = "ConfigMap",
  resync = 300,

  reconcile = function(req)
    -- Audit maps are ours; they need no audit of their own.
    if req.name:match("%-audit$") then return end
    local cm = berth.get("ConfigMap", req.namespace, req.name)
    if not cm then return end -- deleted: its audit map goes with it (owner reference)

    local hash = berth.template_hash(cm.data or {})
    local ann = cm.metadata.annotations or {}
    if ann[HASH] == hash and ann[STAMP] then return end -- nothing new

    -- Count the change in the audit map, creating it on first sight.
    local audit = berth.get("ConfigMap", req.namespace, audit_name(req.name))
    if not audit then
      local _, msg, reason = berth.create({
        apiVersion = "v1", kind = "ConfigMap",
        metadata = { name = audit_name(req.name), namespace = req.namespace,
                     ownerReferences = { berth.owner_ref(cm) } },
        data = { changes = "1" },
      })
      if msg and reason ~= "AlreadyExists" then error(msg) end
    elseif ann[HASH] ~= hash then
      audit.data = audit.data or {}
      audit.data.changes = tostring((tonumber(audit.data.changes) or 0) + 1)
      local _, msg, reason = berth.update(audit)
      if msg then
        if reason == "Conflict" then return end -- requeued by the host
        error(msg)
      end
    end

    local _, msg, reason = berth.patch("ConfigMap", req.namespace, req.name, {
      metadata = { annotations = { [STAMP] = ann[STAMP] or berth.time(), [HASH] = hash } },
    })
    if msg and reason ~= "Conflict" then error(msg) end
    berth.event(cm, "Normal", "Stamped", "data hash " .. hash)
    berth.log.info("stamped %s/%s", req.namespace, req.name)
  end,
}
