-- The DaemonSet controller (controllers/daemonset.lua) and its node
-- eligibility rules (controllers/lib/daemonset_nodes.lua).

local fake = require("fake_berth")

describe("daemonset controller", function()
  local berth, ctl

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/daemonset.lua")
  end)

  local function add_node(name, labels, taints)
    return berth.add({ apiVersion = "v1", kind = "Node",
                       metadata = { name = name, labels = labels or {} },
                       spec = { taints = taints } })
  end

  local function add_ds(spec)
    spec.selector = spec.selector or { matchLabels = { app = "agent" } }
    spec.template = spec.template or { metadata = { labels = { app = "agent" } }, spec = {} }
    local ps = spec.template.spec
    ps.containers = ps.containers or { { name = "agent", image = "agent:1" } }
    return berth.add({ apiVersion = "apps/v1", kind = "DaemonSet",
                       metadata = { name = "agent", namespace = "kube-system" }, spec = spec })
  end

  local function ds() return berth.get("DaemonSet", "kube-system", "agent") end
  local function run() return fake.reconcile(ctl, "kube-system/agent") end
  local function pods() return berth.list("Pod", "kube-system") end
  local function placed()
    local out = {}
    for _, p in ipairs(pods()) do out[#out + 1] = p.spec.nodeName end
    table.sort(out)
    return out
  end
  local function pod_on(node)
    for _, p in ipairs(pods()) do if p.spec.nodeName == node then return p end end
  end
  local function make_ready(p)
    berth.set_status("Pod", "kube-system", p.metadata.name, { phase = "Running",
      conditions = { { type = "Ready", status = "True", lastTransitionTime = berth.time() } } })
  end
  local function ready_all()
    for _, p in ipairs(pods()) do if not (p.status or {}).phase then make_ready(p) end end
  end

  it("runs one pod on every node, bound directly", function()
    add_node("n1"); add_node("n2"); add_node("n3")
    local d = add_ds({})
    run()
    assert.are.same({ "n1", "n2", "n3" }, placed())
    local p = pod_on("n2")
    assert.truthy(p.metadata.name:match("^agent%-"))
    assert.are.equal("agent", p.metadata.labels.app)
    assert.are.equal(berth.template_hash(d.spec.template), p.metadata.labels["controller-revision-hash"])
    assert.are.equal(d.metadata.uid, p.metadata.ownerReferences[1].uid)
    local keys = {}
    for _, t in ipairs(p.spec.tolerations) do keys[t.key .. ":" .. t.effect] = t.operator end
    assert.are.same({
      ["node.kubernetes.io/not-ready:NoExecute"] = "Exists",
      ["node.kubernetes.io/unreachable:NoExecute"] = "Exists",
      ["node.kubernetes.io/disk-pressure:NoSchedule"] = "Exists",
      ["node.kubernetes.io/memory-pressure:NoSchedule"] = "Exists",
      ["node.kubernetes.io/pid-pressure:NoSchedule"] = "Exists",
      ["node.kubernetes.io/unschedulable:NoSchedule"] = "Exists",
    }, keys)
    run()
    assert.are.equal(3, #pods())
    local st = ds().status
    assert.are.equal(3, st.desiredNumberScheduled)
    assert.are.equal(3, st.currentNumberScheduled)
    assert.are.equal(0, st.numberReady)
    assert.are.equal(3, st.numberUnavailable)
    assert.are.equal(3, st.updatedNumberScheduled)
    assert.are.equal(0, st.numberMisscheduled)
    assert.are.equal(1, st.observedGeneration)
    ready_all()
    run()
    st = ds().status
    assert.are.equal(3, st.numberReady)
    assert.are.equal(3, st.numberAvailable)
    assert.are.equal(0, st.numberUnavailable)
  end)

  it("honours the nodeSelector", function()
    add_node("a", { disk = "ssd" }); add_node("b", { disk = "hdd" }); add_node("c", { disk = "ssd" })
    add_ds({ template = { metadata = { labels = { app = "agent" } },
                          spec = { nodeSelector = { disk = "ssd" } } } })
    run()
    assert.are.same({ "a", "c" }, placed())
    assert.are.equal(2, ds().status.desiredNumberScheduled)
  end)

  it("honours required node affinity expressions and fields", function()
    -- Each call starts over with the same five nodes.
    local function only(terms)
      berth = fake.new()
      ctl = fake.load("controllers/daemonset.lua")
      add_node("a", { zone = "z1", cores = "8" })
      add_node("b", { zone = "z2", cores = "2" })
      add_node("c", { zone = "z3", cores = "16", gpu = "yes" })
      add_node("d", { zone = "z1", cores = "x" })
      add_node("e", {})
      add_ds({ template = { metadata = { labels = { app = "agent" } }, spec = { affinity = {
        nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution = {
          nodeSelectorTerms = terms } } } } } })
      run()
      return placed()
    end
    local function expr(key, op, values)
      return { matchExpressions = { { key = key, operator = op, values = values } } }
    end
    assert.are.same({ "a", "d" }, only({ expr("zone", "In", { "z1" }) }))
    assert.are.same({ "b", "c", "e" }, only({ expr("zone", "NotIn", { "z1" }) }))
    assert.are.same({ "c" }, only({ expr("gpu", "Exists") }))
    assert.are.same({ "a", "b", "d", "e" }, only({ expr("gpu", "DoesNotExist") }))
    assert.are.same({ "a", "c" }, only({ expr("cores", "Gt", { "4" }) }))
    assert.are.same({ "b" }, only({ expr("cores", "Lt", { "4" }) }))
    -- Terms are ORed; expressions within a term are ANDed.
    assert.are.same({ "b", "c" }, only({ expr("zone", "In", { "z2" }), expr("gpu", "Exists") }))
    assert.are.same({ "a" }, only({ { matchExpressions = {
      { key = "zone", operator = "In", values = { "z1" } },
      { key = "cores", operator = "Gt", values = { "1" } } } } }))
    assert.are.same({ "b", "e" }, only({ { matchFields = {
      { key = "metadata.name", operator = "In", values = { "b", "e" } } } } }))
    assert.are.same({ "a", "c", "d", "e" }, only({ { matchFields = {
      { key = "metadata.name", operator = "NotIn", values = { "b" } } } } }))
    -- An empty term selects nothing.
    assert.are.same({}, only({ {} }))
  end)

  it("keeps off nodes with untolerated NoSchedule and NoExecute taints", function()
    add_node("plain")
    add_node("gpu", {}, { { key = "gpu", value = "true", effect = "NoSchedule" } })
    add_node("evict", {}, { { key = "maint", effect = "NoExecute" } })
    add_node("soft", {}, { { key = "x", effect = "PreferNoSchedule" } })
    add_node("cordoned", {}, { { key = "node.kubernetes.io/unschedulable", effect = "NoSchedule" } })
    add_node("notready", {}, { { key = "node.kubernetes.io/not-ready", effect = "NoExecute" } })
    add_ds({})
    run()
    assert.are.same({ "cordoned", "notready", "plain", "soft" }, placed())
  end)

  it("goes onto tainted nodes whose taints the template tolerates", function()
    add_node("gpu", {}, { { key = "gpu", value = "true", effect = "NoSchedule" } })
    add_node("other", {}, { { key = "gpu", value = "false", effect = "NoSchedule" } })
    add_node("any", {}, { { key = "team", value = "a", effect = "NoExecute" } })
    add_ds({ template = { metadata = { labels = { app = "agent" } }, spec = { tolerations = {
      { key = "gpu", operator = "Equal", value = "true", effect = "NoSchedule" },
      { key = "team", operator = "Exists" } } } } })
    run()
    assert.are.same({ "any", "gpu" }, placed())
  end)

  it("tolerates everything with an empty-key Exists toleration", function()
    add_node("a", {}, { { key = "k", value = "v", effect = "NoSchedule" } })
    add_ds({ template = { metadata = { labels = { app = "agent" } },
                          spec = { tolerations = { { operator = "Exists" } } } } })
    run()
    assert.are.same({ "a" }, placed())
  end)

  it("follows nodes coming and going", function()
    add_node("n1")
    add_ds({})
    assert.are.same({ "kube-system/agent" }, ctl.maps.Node({ metadata = { name = "n2" } }))
    run()
    add_node("n2")
    run()
    assert.are.same({ "n1", "n2" }, placed())
    berth.delete("Node", nil, "n1")
    run()
    assert.are.same({ "n2" }, placed())
    assert.are.equal(1, ds().status.desiredNumberScheduled)
  end)

  it("removes the pod when a node stops matching", function()
    add_node("a", { role = "edge" })
    add_ds({ template = { metadata = { labels = { app = "agent" } },
                          spec = { nodeSelector = { role = "edge" } } } })
    run()
    assert.are.same({ "a" }, placed())
    local n = berth.get("Node", nil, "a")
    n.metadata.labels.role = "core"
    berth.update(n)
    run()
    assert.are.same({}, placed())
  end)

  it("keeps a running pod under a new NoSchedule taint but evicts it under NoExecute", function()
    add_node("a")
    add_ds({})
    run()
    local n = berth.get("Node", nil, "a")
    n.spec.taints = { { key = "dedicated", value = "db", effect = "NoSchedule" } }
    berth.update(n)
    run()
    assert.are.same({ "a" }, placed())
    local st = ds().status
    assert.are.equal(0, st.desiredNumberScheduled)
    assert.are.equal(1, st.numberMisscheduled)
    n = berth.get("Node", nil, "a")
    n.spec.taints = { { key = "dedicated", value = "db", effect = "NoExecute" } }
    berth.update(n)
    run()
    assert.are.same({}, placed())
  end)

  it("replaces a failed pod and removes surplus pods", function()
    add_node("a"); add_node("b")
    add_ds({})
    run()
    local failed = pod_on("a")
    berth.set_status("Pod", "kube-system", failed.metadata.name, { phase = "Failed" })
    -- A duplicate on b, younger than the first.
    berth.advance(5)
    local dup = berth.copy(pod_on("b"))
    dup.metadata.name, dup.metadata.uid, dup.metadata.creationTimestamp = "agent-dup", nil, nil
    berth.add(dup)
    run()
    assert.are.same({ "a", "b" }, placed())
    assert.are_not.equal(failed.metadata.name, pod_on("a").metadata.name)
    assert.are_not.equal("agent-dup", pod_on("b").metadata.name)
  end)

  local function rolling(n_nodes, max_unavailable)
    for i = 1, n_nodes do add_node("n" .. i) end
    add_ds({ updateStrategy = { type = "RollingUpdate",
                                rollingUpdate = { maxUnavailable = max_unavailable } } })
    run(); ready_all(); run()
    local d = ds()
    d.spec.template.spec.containers[1].image = "agent:2"
    berth.update(d)
    local new_hash = berth.template_hash(ds().spec.template)
    local most_down = 0
    for _ = 1, 30 do
      run()
      local down = n_nodes
      for _, p in ipairs(pods()) do if (p.status or {}).phase == "Running" then down = down - 1 end end
      most_down = math.max(most_down, down)
      ready_all()
      if ds().status.updatedNumberScheduled == n_nodes and ds().status.numberAvailable == n_nodes then
        break
      end
    end
    for _, p in ipairs(pods()) do
      assert.are.equal(new_hash, p.metadata.labels["controller-revision-hash"])
      assert.are.equal("agent:2", p.spec.containers[1].image)
    end
    return most_down
  end

  it("rolls one node at a time by default", function()
    assert.are.equal(1, rolling(4, nil))
  end)

  it("rolls maxUnavailable nodes at a time, percentages rounded up", function()
    assert.are.equal(2, rolling(4, 2))
  end)

  it("rounds a percentage of desired nodes up", function()
    assert.are.equal(1, rolling(3, "25%")) -- 0.75 -> 1
  end)

  it("takes 50% of 5 nodes as 3", function()
    assert.are.equal(3, rolling(5, "50%"))
  end)

  it("replaces only deleted pods under OnDelete", function()
    add_node("a"); add_node("b")
    add_ds({ updateStrategy = { type = "OnDelete" } })
    run(); ready_all(); run()
    local d = ds()
    d.spec.template.spec.containers[1].image = "agent:2"
    berth.update(d)
    run(); run()
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
    assert.are.equal(0, ds().status.updatedNumberScheduled)
    berth.delete("Pod", "kube-system", pod_on("a").metadata.name)
    run()
    assert.are.equal("agent:2", pod_on("a").spec.containers[1].image)
    assert.are.equal("agent:1", pod_on("b").spec.containers[1].image)
    assert.are.equal(1, ds().status.updatedNumberScheduled)
  end)

  it("writes status only when it changes", function()
    add_node("a")
    add_ds({})
    run()
    berth.reset_writes()
    run()
    assert.are.equal(0, #berth.writes)
  end)
end)
