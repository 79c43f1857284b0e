-- A controller of several kinds: keys carry the kind ("Kind/ns/name").
local berth = require("berth")
return {
  kinds = { "ConfigMap", "Secret" },
  reconcile = function(req)
    if req.name ~= "web" or not req.key:find("^" .. req.kind .. "/default/web$") then return end
    assert(berth.get(req.kind, req.namespace, req.name))
    berth.create({ apiVersion = "v1", kind = "ConfigMap",
                   metadata = { name = "seen-" .. req.kind .. "-web", namespace = "default" } })
  end,
}
