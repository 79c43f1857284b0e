-- The Endpoints controller (controllers/endpoints.lua) against the fake berth module.

local fake = require("fake_berth")

describe("endpoints controller", function()
  local berth, ctl

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/endpoints.lua")
  end)

  local function add_service(name, spec, labels)
    return berth.add({ apiVersion = "v1", kind = "Service",
                       metadata = { name = name, namespace = "default", labels = labels },
                       spec = spec })
  end

  -- A pod with an IP; opts.ready, opts.ports (name -> number), opts.labels,
  -- opts.phase, opts.terminating, opts.ip (false for none).
  local function add_pod(name, opts)
    opts = opts or {}
    local cports = {}
    for pname, n in pairs(opts.ports or {}) do
      cports[#cports + 1] = { name = pname, containerPort = n, protocol = "TCP" }
    end
    table.sort(cports, function(a, b) return a.name < b.name end)
    local p = berth.add({ apiVersion = "v1", kind = "Pod",
      metadata = { name = name, namespace = "default", labels = opts.labels or { app = "web" },
                   deletionTimestamp = opts.terminating and berth.time() or nil },
      spec = { nodeName = "node-1", hostname = opts.hostname, subdomain = opts.subdomain,
               containers = { { name = "c", image = "nginx", ports = cports } } } })
    local ip = opts.ip
    if ip == nil then ip = "10.0.0." .. (#berth.list("Pod", "default")) end
    berth.set_status("Pod", "default", name, {
      phase = opts.phase or "Running",
      podIP = ip or nil,
      conditions = { { type = "Ready", status = opts.ready == false and "False" or "True" } },
    })
    return berth.get("Pod", "default", name)
  end

  local function run(name) return fake.reconcile(ctl, "default/" .. (name or "web")) end
  local function ep(name) return berth.get("Endpoints", "default", name or "web") end
  local function ips(list)
    local out = {}
    for _, a in ipairs(list or {}) do out[#out + 1] = a.ip end
    return out
  end

  it("lists ready pods as addresses and others as notReadyAddresses", function()
    add_service("web", { selector = { app = "web" }, ports = { { name = "http", port = 80 } } },
                { tier = "front" })
    local p1 = add_pod("web-a")                                      -- 10.0.0.1
    add_pod("web-b", { ready = false })                              -- 10.0.0.2
    add_pod("web-c", { ip = false })                                 -- no IP yet
    add_pod("web-d", { terminating = true })                         -- being deleted
    add_pod("web-e", { phase = "Succeeded" })                        -- finished
    add_pod("other", { labels = { app = "db" } })                    -- not selected
    run()
    local e = ep()
    assert.are.equal("front", e.metadata.labels.tier)
    assert.are.equal(1, #e.subsets)
    local ss = e.subsets[1]
    assert.are.same({ "10.0.0.1" }, ips(ss.addresses))
    assert.are.same({ "10.0.0.2" }, ips(ss.notReadyAddresses))
    assert.are.same({ ip = "10.0.0.1", nodeName = "node-1", targetRef = { kind = "Pod",
      name = "web-a", namespace = "default", uid = p1.metadata.uid } }, ss.addresses[1])
    assert.are.same({ { name = "http", port = 80, protocol = "TCP" } }, ss.ports)
  end)

  it("resolves named target ports per pod and groups pods by port set", function()
    add_service("web", { selector = { app = "web" }, ports = {
      { name = "http", port = 80, targetPort = "web" },
      { name = "metrics", port = 9000, targetPort = 9090 } } })
    add_pod("a", { ports = { web = 8080 } })   -- 10.0.0.1
    add_pod("b", { ports = { web = 8080 } })   -- 10.0.0.2
    add_pod("c", { ports = { web = 8081 } })   -- 10.0.0.3
    add_pod("d", { ports = {} })               -- 10.0.0.4: lacks "web"
    run()
    local by_ports = {}
    for _, ss in ipairs(ep().subsets) do
      local ps = {}
      for _, p in ipairs(ss.ports) do ps[#ps + 1] = p.name .. "=" .. p.port end
      by_ports[table.concat(ps, ",")] = ips(ss.addresses)
    end
    assert.are.same({
      ["http=8080,metrics=9090"] = { "10.0.0.1", "10.0.0.2" },
      ["http=8081,metrics=9090"] = { "10.0.0.3" },
      ["metrics=9090"] = { "10.0.0.4" },
    }, by_ports)
  end)

  it("uses the service port when no targetPort is given", function()
    add_service("web", { selector = { app = "web" },
                         ports = { { port = 5432, protocol = "TCP" } } })
    add_pod("a")
    run()
    assert.are.same({ { port = 5432, protocol = "TCP" } }, ep().subsets[1].ports)
  end)

  it("lists a headless service without ports, with hostnames for its subdomain", function()
    add_service("db", { selector = { app = "web" }, clusterIP = "None" })
    add_pod("db-0", { hostname = "db-0", subdomain = "db" })
    add_pod("x", { hostname = "x", subdomain = "elsewhere" })
    run("db")
    local e = ep("db")
    assert.are.equal("", e.metadata.labels["service.kubernetes.io/headless"])
    local ss = e.subsets[1]
    assert.is_nil(ss.ports)
    assert.are.equal("db-0", ss.addresses[1].hostname)
    assert.is_nil(ss.addresses[2].hostname)
  end)

  it("publishes not-ready pods as ready with publishNotReadyAddresses", function()
    add_service("web", { selector = { app = "web" }, publishNotReadyAddresses = true,
                         ports = { { port = 80 } } })
    add_pod("a", { ready = false })
    run()
    assert.are.same({ "10.0.0.1" }, ips(ep().subsets[1].addresses))
  end)

  it("writes only when something changed", function()
    add_service("web", { selector = { app = "web" }, ports = { { port = 80 } } })
    add_pod("a", { ready = false })
    run()
    assert.are.equal(1, #berth.writes_of("create", "Endpoints"))
    berth.reset_writes()
    run(); run()
    assert.are.equal(0, #berth.writes)
    berth.set_status("Pod", "default", "a", { phase = "Running", podIP = "10.0.0.1",
      conditions = { { type = "Ready", status = "True" } } })
    run()
    assert.are.equal(1, #berth.writes_of("update", "Endpoints"))
    assert.are.same({ "10.0.0.1" }, ips(ep().subsets[1].addresses))
    assert.is_nil(ep().subsets[1].notReadyAddresses)
  end)

  it("empties the subsets when no pod is selected", function()
    add_service("web", { selector = { app = "web" }, ports = { { port = 80 } } })
    add_pod("a")
    run()
    berth.delete("Pod", "default", "a")
    run()
    assert.are.same({}, ep().subsets)
  end)

  it("leaves the endpoints of a service without selector alone", function()
    add_service("ext", { ports = { { port = 443 } } })
    berth.add({ apiVersion = "v1", kind = "Endpoints", metadata = { name = "ext", namespace = "default" },
      subsets = { { addresses = { { ip = "192.0.2.7" } }, ports = { { port = 443 } } } } })
    add_pod("a")
    run("ext")
    assert.are.equal(0, #berth.writes)
    assert.are.equal("192.0.2.7", ep("ext").subsets[1].addresses[1].ip)
  end)

  it("deletes the endpoints of a deleted service", function()
    add_service("web", { selector = { app = "web" }, ports = { { port = 80 } } })
    add_pod("a")
    run()
    berth.delete("Service", "default", "web")
    run()
    assert.is_nil(ep())
    assert.has_no.errors(function() run() end)
  end)

  it("maps a pod to the services selecting it and to those listing it", function()
    add_service("web", { selector = { app = "web" }, ports = { { port = 80 } } })
    add_service("all-web", { selector = { app = "web", tier = "front" }, ports = { { port = 80 } } })
    add_service("db", { selector = { app = "db" }, ports = { { port = 5432 } } })
    add_service("manual", { ports = { { port = 1 } } })
    local p = add_pod("a", { labels = { app = "web", tier = "front" } })
    local keys = ctl.maps.Pod(p)
    table.sort(keys)
    assert.are.same({ "default/all-web", "default/web" }, keys)
    run("web")
    -- The pod's labels change: web no longer selects it, but still lists it.
    p.metadata.labels = { app = "db" }
    berth.update(p)
    keys = ctl.maps.Pod(berth.get("Pod", "default", "a"))
    table.sort(keys)
    assert.are.same({ "default/db", "default/web" }, keys)
    run("web")
    assert.are.same({}, ep().subsets)
  end)

  it("keeps labels in step with the service", function()
    add_service("web", { selector = { app = "web" }, ports = { { port = 80 } } }, { v = "1" })
    run()
    local s = berth.get("Service", "default", "web")
    s.metadata.labels.v = "2"
    berth.update(s)
    run()
    assert.are.equal("2", ep().metadata.labels.v)
  end)
end)
