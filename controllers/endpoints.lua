-- The Endpoints controller: for every Service with a selector, an Endpoints
-- object of the same name listing the selected pods' IPs.
--
-- Pods with an IP that are neither finished nor being deleted are listed:
-- under addresses when their Ready condition is True (or the Service sets
-- publishNotReadyAddresses), under notReadyAddresses otherwise. Each service
-- port becomes an endpoint port; a named targetPort is looked up per pod
-- among its containers' ports (same name and protocol), and a pod without
-- it is left out of that port. Pods are grouped into one subset per distinct
-- port set, as Kubernetes repacks them. The object is written only when it
-- changes.
--
-- Services without a selector are left alone: their Endpoints are the
-- user's. When a Service is deleted its Endpoints go too.

local berth = require("berth")
local podstatus = require("podstatus")

local HEADLESS = "service.kubernetes.io/headless"

-- The port number a service port targets on pod, or nil when the pod lacks
-- the named port.
local function target_port(sp, pod)
  local tp = sp.targetPort
  if tp == nil then return sp.port end
  if type(tp) == "number" then return math.floor(tp) end
  if tostring(tp):match("^%d+$") then return tonumber(tp) end
  local proto = sp.protocol or "TCP"
  for _, c in ipairs((pod.spec or {}).containers or {}) do
    for _, p in ipairs(c.ports or {}) do
      if p.name == tp and (p.protocol or "TCP") == proto then return p.containerPort end
    end
  end
end

local function address(svc, pod)
  local a = {
    ip = pod.status.podIP,
    nodeName = pod.spec and pod.spec.nodeName or nil,
    targetRef = { kind = "Pod", name = pod.metadata.name, namespace = pod.metadata.namespace,
                  uid = pod.metadata.uid },
  }
  -- Pods that name the Service as their subdomain get DNS names under it.
  local spec = pod.spec or {}
  if spec.hostname and spec.hostname ~= "" and spec.subdomain == svc.metadata.name then
    a.hostname = spec.hostname
  end
  return a
end

local function port_key(p)
  return string.format("%s/%d/%s", p.name or "", p.port, p.protocol)
end

-- The subsets for svc from its pods, in a stable order so that unchanged
-- state compares equal.
local function subsets_for(svc, pods)
  local spec = svc.spec or {}
  local publish_all = spec.publishNotReadyAddresses == true
  local groups, order = {}, {}
  for _, pod in ipairs(pods) do
    local ip = (pod.status or {}).podIP
    if ip and ip ~= "" and not podstatus.finished(pod) and
        (publish_all or not podstatus.terminating(pod)) then
      local ports = {}
      for _, sp in ipairs(spec.ports or {}) do
        local n = target_port(sp, pod)
        if n then
          ports[#ports + 1] = { name = sp.name, port = n, protocol = sp.protocol or "TCP",
                                appProtocol = sp.appProtocol }
        end
      end
      -- A pod lacking every port of a Service that has ports is not listed.
      if #ports > 0 or #(spec.ports or {}) == 0 then
        table.sort(ports, function(a, b) return port_key(a) < port_key(b) end)
        local keys = {}
        for i, p in ipairs(ports) do keys[i] = port_key(p) end
        local key = table.concat(keys, ",")
        local g = groups[key]
        if not g then
          g = { ports = ports, ready = {}, not_ready = {} }
          groups[key] = g
          order[#order + 1] = key
        end
        local list = (publish_all or podstatus.ready(pod)) and g.ready or g.not_ready
        list[#list + 1] = address(svc, pod)
      end
    end
  end
  table.sort(order)
  local function by_ip(a, b)
    if a.ip ~= b.ip then return a.ip < b.ip end
    return a.targetRef.uid < b.targetRef.uid
  end
  local out = berth.array({})
  for _, key in ipairs(order) do
    local g = groups[key]
    table.sort(g.ready, by_ip)
    table.sort(g.not_ready, by_ip)
    out[#out + 1] = {
      addresses = #g.ready > 0 and berth.array(g.ready) or nil,
      notReadyAddresses = #g.not_ready > 0 and berth.array(g.not_ready) or nil,
      ports = #g.ports > 0 and berth.array(g.ports) or nil,
    }
  end
  return out
end

local function reconcile(req)
  local ns, name = req.namespace, req.name
  local svc = berth.get("Service", ns, name)
  if not svc then
    local ok, msg, reason = berth.delete("Endpoints", ns, name)
    if not ok and reason ~= "NotFound" then
      error("deleting endpoints " .. req.key .. ": " .. tostring(msg))
    end
    return
  end
  local selector = (svc.spec or {}).selector
  if selector == nil or svc.metadata.deletionTimestamp then return end

  local pods = berth.list("Pod", ns, { matchLabels = selector })
  local labels = berth.copy(svc.metadata.labels or {})
  if svc.spec.clusterIP == "None" then labels[HEADLESS] = "" end
  local subsets = subsets_for(svc, pods)

  local cur = berth.get("Endpoints", ns, name)
  if cur then
    if berth.equal(cur.subsets or {}, subsets) and berth.equal(cur.metadata.labels or {}, labels) then
      return
    end
    cur.subsets = subsets
    cur.metadata.labels = next(labels) and labels or nil
    local ok, msg, reason = berth.update(cur)
    if not ok and reason ~= "Conflict" then
      error("updating endpoints " .. req.key .. ": " .. tostring(msg))
    end
    return
  end
  local ok, msg, reason = berth.create({
    apiVersion = "v1",
    kind = "Endpoints",
    metadata = { name = name, namespace = ns, labels = next(labels) and labels or nil },
    subsets = subsets,
  })
  if not ok and reason ~= "AlreadyExists" then
    error("creating endpoints " .. req.key .. ": " .. tostring(msg))
  end
end

-- The Services a pod change may affect: those whose selector matches the
-- pod's labels now, and those whose Endpoints list the pod (its labels may
-- have just stopped matching).
local function services_of_pod(pod)
  local ns = pod.metadata.namespace
  local keys, seen = {}, {}
  local function add(name)
    if not seen[name] then
      seen[name] = true
      keys[#keys + 1] = ns .. "/" .. name
    end
  end
  for _, svc in ipairs(berth.list("Service", ns)) do
    local sel = (svc.spec or {}).selector
    if sel ~= nil and berth.matches({ matchLabels = sel }, pod.metadata.labels or {}) then
      add(svc.metadata.name)
    end
  end
  for _, ep in ipairs(berth.list("Endpoints", ns)) do
    local listed = false
    for _, ss in ipairs(ep.subsets or {}) do
      for _, list in ipairs({ ss.addresses or {}, ss.notReadyAddresses or {} }) do
        for _, a in ipairs(list) do
          if a.targetRef and a.targetRef.kind == "Pod" and a.targetRef.name == pod.metadata.name then
            listed = true
          end
        end
      end
    end
    if listed then add(ep.metadata.name) end
  end
  return keys
end

return {
  name = "endpoints",
  kind = "Service",
  maps = { Pod = services_of_pod },
  reads = { "Endpoints" },
  resync = 300,
  reconcile = reconcile,
}
