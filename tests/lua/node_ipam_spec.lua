-- Behaviour of controllers/node-ipam.lua and its CIDR helpers
-- (controllers/lib/cidr.lua) against the fake berth module.

local fake = require("fake_berth")

describe("cidr", function()
  local cidr = require("cidr")

  it("parses and formats addresses", function()
    assert.are.equal(0x0af40001, cidr.parse_ip("10.244.0.1"))
    assert.are.equal("0.0.0.0", cidr.format_ip(0))
    assert.are.equal("255.255.255.255", cidr.format_ip(0xffffffff))
    assert.are.equal("192.168.7.9", cidr.format_ip(cidr.parse_ip("192.168.7.9")))
    for _, bad in ipairs({ "256.0.0.1", "10.0.0", "10.0.0.01", "1.2.3.4.5", "a.b.c.d", " 1.2.3.4", "" }) do
      local n, err = cidr.parse_ip(bad)
      assert.is_nil(n, bad)
      assert.matches("not an IPv4 address", err)
    end
  end)

  it("parses blocks, clearing host bits", function()
    assert.are.same({ addr = 0x0af40000, prefix = 16 }, cidr.parse("10.244.0.0/16"))
    assert.are.equal("10.244.0.0/16", cidr.format(cidr.parse("10.244.1.7/16")))
    assert.are.equal("0.0.0.0/0", cidr.format(cidr.parse("1.2.3.4/0")))
    assert.are.equal("1.2.3.4/32", cidr.format(cidr.parse("1.2.3.4/32")))
    for _, bad in ipairs({ "10.244.0.0", "10.244.0.0/33", "10.244.0.0/", "10.244.0.0/016",
                           "fd00::/64", "10.244.0.0/16/1", "300.1.1.1/8" }) do
      local block, err = cidr.parse(bad)
      assert.is_nil(block, bad)
      assert.matches("not an IPv4 CIDR", err)
    end
    assert.is_nil(cidr.parse(nil))
  end)

  it("answers containment and overlap", function()
    local net = cidr.parse("10.244.0.0/16")
    assert.is_true(cidr.contains(net, cidr.parse_ip("10.244.255.255")))
    assert.is_false(cidr.contains(net, cidr.parse_ip("10.245.0.0")))
    assert.is_true(cidr.contains(net, cidr.parse("10.244.3.0/24")))
    assert.is_true(cidr.contains(net, net))
    assert.is_false(cidr.contains(net, cidr.parse("10.0.0.0/8")))
    assert.is_true(cidr.overlaps(net, cidr.parse("10.0.0.0/8")))
    assert.is_true(cidr.overlaps(cidr.parse("10.244.3.0/24"), net))
    assert.is_false(cidr.overlaps(net, cidr.parse("10.245.0.0/24")))
    assert.are.equal(65536, cidr.size(net))
    assert.are.equal(cidr.parse_ip("10.244.255.255"), cidr.last(net))
  end)

  it("numbers subnets", function()
    local net = cidr.parse("10.244.0.0/16")
    assert.are.equal(256, cidr.count(net, 24))
    assert.are.equal(1, cidr.count(net, 16))
    assert.are.equal(0, cidr.count(net, 8))
    assert.are.equal("10.244.0.0/24", cidr.format(cidr.subnet(net, 24, 0)))
    assert.are.equal("10.244.255.0/24", cidr.format(cidr.subnet(net, 24, 255)))
    assert.are.equal("10.244.1.64/26", cidr.format(cidr.subnet(net, 26, 5)))
    assert.is_nil(cidr.subnet(net, 24, 256))
    assert.is_nil(cidr.subnet(net, 24, -1))
    assert.are.equal(5, cidr.index(net, 26, cidr.parse_ip("10.244.1.100")))
    assert.is_nil(cidr.index(net, 24, cidr.parse_ip("10.245.0.0")))
    -- The whole space, without overflow.
    local all = cidr.parse("0.0.0.0/0")
    assert.are.equal(1 << 32, cidr.size(all))
    assert.are.equal("255.255.255.0/24", cidr.format(cidr.subnet(all, 24, (1 << 24) - 1)))
  end)
end)

describe("node-ipam controller", function()
  local berth, ctl

  local function node(name, pod_cidr)
    local spec = {}
    if pod_cidr then spec.podCIDR = pod_cidr; spec.podCIDRs = { pod_cidr } end
    return berth.add({ apiVersion = "v1", kind = "Node", metadata = { name = name }, spec = spec })
  end

  local function cluster_config(data)
    return berth.add({ apiVersion = "v1", kind = "ConfigMap",
      metadata = { name = "berth-cluster", namespace = "kube-system" }, data = data })
  end

  local function pod_cidr(name)
    return (berth.get("Node", nil, name).spec or {}).podCIDR
  end

  -- Adds nodes without a podCIDR, reconciles them in order and returns
  -- the podCIDRs they got.
  local function assigned(names)
    for _, name in ipairs(names) do node(name) end
    fake.run(ctl, names)
    local out = {}
    for i, name in ipairs(names) do out[i] = pod_cidr(name) or "none" end
    return out
  end

  local function errors()
    local out = {}
    for _, l in ipairs(berth.logs) do
      if l.level == "error" then out[#out + 1] = l.text end
    end
    return out
  end

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/node-ipam.lua")
  end)

  it("gives the first node the first /24 of 10.244.0.0/16", function()
    node("a")
    assert.is_nil(fake.reconcile(ctl, "a"))
    local n = berth.get("Node", nil, "a")
    assert.are.equal("10.244.0.0/24", n.spec.podCIDR)
    assert.are.same({ "10.244.0.0/24" }, n.spec.podCIDRs)
    local w = berth.writes_of("patch", "Node")
    assert.are.equal(1, #w)
    assert.are.equal('{"spec":{"podCIDR":"10.244.0.0/24","podCIDRs":["10.244.0.0/24"]}}',
      fake.canonical_json(w[1].patch))
  end)

  it("gives the next node the next free slice", function()
    assert.are.same({ "10.244.0.0/24", "10.244.1.0/24" }, assigned({ "a", "b" }))
    berth.reset_writes()
    fake.run(ctl, { "a", "b" })
    assert.are.equal(0, #berth.writes)
  end)

  it("skips slices other nodes hold", function()
    node("x", "10.244.0.0/24")
    node("y", "10.244.2.0/24")
    node("big", "10.244.4.0/23")      -- two slices
    node("v6", "fd00:10:244::/64")    -- not IPv4: takes nothing
    assert.are.same({ "10.244.1.0/24", "10.244.3.0/24", "10.244.6.0/24" },
      assigned({ "a", "b", "c" }))
  end)

  it("counts a slice held through podCIDRs only", function()
    berth.add({ apiVersion = "v1", kind = "Node", metadata = { name = "odd" },
                spec = { podCIDRs = { "10.244.0.0/24" } } })
    node("a")
    fake.reconcile(ctl, "a")
    assert.are.equal("10.244.1.0/24", pod_cidr("a"))
  end)

  it("keeps an existing podCIDR, even one outside the network", function()
    node("in", "10.244.7.0/24")
    node("out", "192.168.5.0/24")
    node("wide", "10.0.0.0/8")
    fake.run(ctl, { "in", "out", "wide" })
    assert.are.equal(0, #berth.writes)
    assert.are.equal("192.168.5.0/24", pod_cidr("out"))
  end)

  it("counts a block that overlaps the network from outside", function()
    -- 10.244.0.0/23 sticks out of 10.244.1.0/24's network on the left.
    cluster_config({ podNetworkCIDR = "10.244.1.0/24", nodeCIDRMaskSize = "25" })
    node("wide", "10.244.0.0/23")
    node("a")
    fake.reconcile(ctl, "a")
    assert.is_nil(pod_cidr("a"))
    assert.are.equal("CIDRNotAvailable", berth.events[1].reason)
  end)

  it("honours the network and slice size of the cluster ConfigMap", function()
    cluster_config({ podNetworkCIDR = "10.100.0.0/16", nodeCIDRMaskSize = "26" })
    assert.are.same({ "10.100.0.0/26", "10.100.0.64/26" }, assigned({ "a", "b" }))
  end)

  it("re-queues the waiting nodes when the cluster ConfigMap changes", function()
    node("done", "10.244.0.0/24")
    node("a")
    node("b")
    local cm = cluster_config({ podNetworkCIDR = "10.100.0.0/16" })
    assert.are.same({ "a", "b" }, fake.keys_for(ctl, "ConfigMap", cm))
    local other = berth.add({ apiVersion = "v1", kind = "ConfigMap",
      metadata = { name = "berth-cluster", namespace = "default" }, data = {} })
    assert.are.same({}, fake.keys_for(ctl, "ConfigMap", other))
    fake.run(ctl, fake.keys_for(ctl, "ConfigMap", cm))
    assert.are.equal("10.100.0.0/24", pod_cidr("a"))
    assert.are.equal("10.100.1.0/24", pod_cidr("b"))
  end)

  it("warns and retries when the network is full", function()
    cluster_config({ podNetworkCIDR = "10.0.0.0/29", nodeCIDRMaskSize = "30" })
    assert.are.same({ "10.0.0.0/30", "10.0.0.4/30" }, assigned({ "a", "b" }))
    node("c")
    berth.reset_writes()
    assert.are.equal(30, fake.reconcile(ctl, "c"))
    assert.are.equal(0, #berth.writes)
    assert.are.equal(1, #berth.events)
    local ev = berth.events[1]
    assert.are.equal("Warning", ev.type)
    assert.are.equal("CIDRNotAvailable", ev.reason)
    assert.are.equal("Node c: no pod CIDR left in 10.0.0.0/29", ev.message)
    assert.are.equal("c", ev.obj.metadata.name)
    -- A node goes; its slice serves the next try.
    berth.delete("Node", nil, "a")
    assert.is_nil(fake.reconcile(ctl, "c"))
    assert.are.equal("10.0.0.0/30", pod_cidr("c"))
  end)

  it("does nothing on a bad configuration, and says so", function()
    node("a")
    local cases = {
      { { podNetworkCIDR = "10.244.0.0" }, "podNetworkCIDR: \"10.244.0.0\" is not an IPv4 CIDR" },
      { { podNetworkCIDR = "fd00::/48" }, "is not an IPv4 CIDR" },
      { { nodeCIDRMaskSize = "12" }, "nodeCIDRMaskSize \"12\" must be a number from 16" },
      { { nodeCIDRMaskSize = "31" }, "nodeCIDRMaskSize \"31\" must be a number from 16 %(the " ..
        "prefix of 10.244.0.0/16%) to 30" },
      { { nodeCIDRMaskSize = "abc" }, "nodeCIDRMaskSize \"abc\"" },
      { { nodeCIDRMaskSize = "24.5" }, "nodeCIDRMaskSize \"24.5\"" },
    }
    for i, case in ipairs(cases) do
      berth.objects.ConfigMap = nil
      cluster_config(case[1])
      berth.logs = {}
      assert.is_nil(fake.reconcile(ctl, "a"))
      assert.are.equal(0, #berth.writes, "case " .. i)
      assert.are.equal(0, #berth.events, "case " .. i)
      local errs = errors()
      assert.are.equal(1, #errs, "case " .. i)
      assert.matches("ConfigMap kube%-system/berth%-cluster: ", errs[1])
      assert.matches(case[2], errs[1])
      assert.matches("node a gets no pod CIDR", errs[1])
    end
  end)

  it("takes a number for the mask size, and defaults missing keys", function()
    cluster_config({ nodeCIDRMaskSize = 20 })
    node("a")
    fake.reconcile(ctl, "a")
    assert.are.equal("10.244.0.0/20", pod_cidr("a"))
    berth.objects.ConfigMap = nil
    cluster_config({ podNetworkCIDR = "172.16.0.0/12", nodeCIDRMaskSize = "" })
    node("b")
    fake.reconcile(ctl, "b")
    assert.are.equal("172.16.0.0/24", pod_cidr("b"))
  end)

  it("leaves nodes being deleted alone", function()
    berth.add({ apiVersion = "v1", kind = "Node",
      metadata = { name = "a", deletionTimestamp = "2026-01-01T00:00:00Z", finalizers = { "x" } },
      spec = {} })
    fake.reconcile(ctl, "a")
    fake.reconcile(ctl, "gone")
    assert.are.equal(0, #berth.writes)
  end)

  describe("with writes that wait for the API", function()
    -- Makes berth.patch yield before it writes, as the host's does, so
    -- reconciles interleave; each returns a function that resumes it.
    local function yielding_patch()
      local patch = berth.patch
      berth.patch = function(...)
        coroutine.yield()
        return patch(...)
      end
    end
    local function start(key)
      local co = coroutine.create(function() return fake.reconcile(ctl, key) end)
      assert(coroutine.resume(co))
      return function()
        local ok, err = coroutine.resume(co)
        assert(ok, err)
        assert.are.equal("dead", coroutine.status(co))
      end
    end

    it("gives two nodes reconciled at once different slices", function()
      node("a")
      node("b")
      yielding_patch()
      local finish_a, finish_b = start("a"), start("b")
      finish_b()
      finish_a()
      assert.are.equal("10.244.0.0/24", pod_cidr("a"))
      assert.are.equal("10.244.1.0/24", pod_cidr("b"))
    end)

    it("frees the slice of a write that failed", function()
      node("a")
      node("b")
      yielding_patch()
      berth.fail_next("patch", "Invalid")
      local co = coroutine.create(function() return fake.reconcile(ctl, "a") end)
      assert(coroutine.resume(co))
      local finish_b = start("b")
      local ok, err = coroutine.resume(co)
      assert.is_false(ok)
      assert.matches("node a: assigning pod CIDR 10.244.0.0/24: injected failure", err)
      assert.are.equal("CIDRAssignmentFailed", berth.events[1].reason)
      finish_b()
      assert.are.equal("10.244.1.0/24", pod_cidr("b"))
      -- The retry takes the slice that was freed.
      start("a")()
      assert.are.equal("10.244.0.0/24", pod_cidr("a"))
    end)

    it("lets a conflicting write go without an error", function()
      node("a")
      berth.fail_next("patch", "Conflict")
      assert.is_nil(fake.reconcile(ctl, "a"))
      assert.is_nil(pod_cidr("a"))
      fake.reconcile(ctl, "a")
      assert.are.equal("10.244.0.0/24", pod_cidr("a"))
    end)

    it("holds a written slice until the cache shows it", function()
      node("a")
      node("b")
      -- The API answers at once, the cache learns of it later.
      local patch, later = berth.patch, {}
      berth.patch = function(kind, ns, name, p)
        later[#later + 1] = function() return patch(kind, ns, name, p) end
        local n = berth.get(kind, ns, name)
        n.spec = p.spec
        return n
      end
      fake.reconcile(ctl, "a")
      fake.reconcile(ctl, "a") -- again before the cache knows: no second write
      fake.reconcile(ctl, "b")
      assert.are.equal(2, #later)
      for _, apply in ipairs(later) do assert(apply()) end
      assert.are.equal("10.244.0.0/24", pod_cidr("a"))
      assert.are.equal("10.244.1.0/24", pod_cidr("b"))
      -- Once seen, the held slices are let go: a node that goes frees its own.
      berth.patch = patch
      berth.delete("Node", nil, "a")
      node("c")
      fake.reconcile(ctl, "c")
      assert.are.equal("10.244.0.0/24", pod_cidr("c"))
    end)
  end)
end)
