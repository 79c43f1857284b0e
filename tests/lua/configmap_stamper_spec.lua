-- The custom-controller example of docs/lua-api.md, tested as a user would.
local fake = require("fake_berth")

describe("configmap-stamper example", function()
  local berth, ctl
  before_each(function()
    berth = fake.new()
    ctl = fake.load("examples/controllers/configmap-stamper.lua")
  end)

  local function add(name, data)
    return berth.add({ apiVersion = "v1", kind = "ConfigMap",
                       metadata = { name = name, namespace = "default" }, data = data })
  end

  it("stamps a ConfigMap and creates its audit map", function()
    add("a", { k = "v" })
    fake.reconcile(ctl, "default/a")
    local cm = berth.get("ConfigMap", "default", "a")
    assert.is_truthy(cm.metadata.annotations["example.com/stamped"])
    assert.are.equal(berth.template_hash({ k = "v" }), cm.metadata.annotations["example.com/data-hash"])
    local audit = berth.get("ConfigMap", "default", "a-audit")
    assert.are.equal("1", audit.data.changes)
    assert.are.equal(cm.metadata.uid, audit.metadata.ownerReferences[1].uid)
    assert.are.equal("Stamped", berth.events[1].reason)
  end)

  it("does nothing when nothing changed", function()
    add("a", { k = "v" })
    fake.reconcile(ctl, "default/a")
    berth.reset_writes()
    fake.reconcile(ctl, "default/a")
    assert.are.equal(0, #berth.writes)
  end)

  it("counts data changes", function()
    add("a", { k = "v" })
    fake.reconcile(ctl, "default/a")
    local cm = berth.get("ConfigMap", "default", "a")
    cm.data.k = "w"
    berth.update(cm)
    fake.reconcile(ctl, "default/a")
    assert.are.equal("2", berth.get("ConfigMap", "default", "a-audit").data.changes)
  end)

  it("leaves audit maps and deleted maps alone", function()
    add("x-audit", { changes = "3" })
    fake.reconcile(ctl, "default/x-audit")
    fake.reconcile(ctl, "default/gone")
    assert.are.equal(0, #berth.writes)
  end)
end)
