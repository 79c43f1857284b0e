-- Creates a ConfigMap "<name>-stamp" for each ConfigMap without the suffix.
local berth = require("berth")
local util = require("util")

return {
  kind = "ConfigMap",
  reconcile = function(req)
    local cm = berth.get("ConfigMap", req.namespace, req.name)
    if not cm or req.name:match("%-stamp$") then return end
    local created, msg, reason = berth.create({
      apiVersion = "v1", kind = "ConfigMap",
      metadata = { name = util.stamp_name(req.name), namespace = req.namespace,
                   ownerReferences = { berth.owner_ref(cm) } },
      data = { from = req.key },
    })
    if not created and reason ~= "AlreadyExists" then error(msg) end
  end,
}
