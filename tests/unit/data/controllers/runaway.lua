-- Misbehaves on purpose: loops forever for "loop", eats memory for "bomb",
-- raises for "boom". The host must survive all three.
local berth = require("berth")
return {
  kind = "Secret",
  reconcile = function(req)
    if req.name == "loop" then while true do end end
    if req.name == "bomb" then
      local t = {}
      for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end
    end
    if req.name == "boom" then error("boom") end
    if req.name == "escape" then
      assert(io == nil and debug == nil and os.execute == nil and package.loadlib == nil)
      assert(load(string.dump and "" or "return 1") ~= nil)
      assert(berth.create({ apiVersion = "v1", kind = "ConfigMap",
                            metadata = { name = "sandbox-ok", namespace = "default" } }))
      berth.requeue_after(30)
    end
  end,
}
