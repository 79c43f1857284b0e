-- The node IPAM controller: every Node gets its own slice of the pod
-- network in spec.podCIDR (and spec.podCIDRs), as Kubernetes' nodeipam
-- controller (range allocator) does. The network plugin on each node
-- hands out pod IPs from that slice.
--
-- The pod network and the slice size come from the ConfigMap
-- kube-system/berth-cluster (keys podNetworkCIDR and nodeCIDRMaskSize,
-- written by `berthd server`); without it, 10.244.0.0/16 cut into /24s.
-- A node gets the lowest slice that no other node's podCIDR overlaps. A
-- podCIDR once set is never changed (the API forbids it too), even when it
-- lies outside the configured network; it still counts as taken where it
-- overlaps. When no slice is left the node gets a CIDRNotAvailable event
-- and is looked at again every 30 s.

local berth = require("berth")
local cidr = require("cidr")

local CONFIG_NAMESPACE, CONFIG_NAME = "kube-system", "berth-cluster"
local DEFAULT_NETWORK, DEFAULT_MASK = "10.244.0.0/16", "24"
-- A /31 or /32 slice leaves no room for a gateway and pods.
local MAX_MASK = 30
local RETRY_EXHAUSTED = 30

-- Slices handed out by this controller that the cache does not show yet:
-- CIDR text -> { node =, uid =, written = }. An entry is set before the
-- patch (which yields, so another node's reconcile may run meanwhile) and
-- kept after it succeeds until the node's podCIDR reaches the cache, as
-- the cache lags the write.
local pending = {}

local function blank(s) return s == nil or s == "" end

-- The configured network and slice length, or nil and what is wrong.
local function config()
  local cm = berth.get("ConfigMap", CONFIG_NAMESPACE, CONFIG_NAME)
  local data = (cm and cm.data) or {}
  local network_text = blank(data.podNetworkCIDR) and DEFAULT_NETWORK or data.podNetworkCIDR
  local mask_text = blank(data.nodeCIDRMaskSize) and DEFAULT_MASK or tostring(data.nodeCIDRMaskSize)
  local where = CONFIG_NAMESPACE .. "/" .. CONFIG_NAME
  local network, err = cidr.parse(network_text)
  if not network then
    return nil, string.format("ConfigMap %s: podNetworkCIDR: %s", where, err)
  end
  local mask = mask_text:match("^%d%d?$") and tonumber(mask_text)
  if not mask or mask < network.prefix or mask > MAX_MASK then
    return nil, string.format(
      "ConfigMap %s: nodeCIDRMaskSize %q must be a number from %d (the prefix of %s) to %d",
      where, mask_text, network.prefix, network_text, MAX_MASK)
  end
  return { network = network, mask = mask }
end

-- Forgets written slices that the cache now shows (or whose node went).
local function prune_pending()
  for text, claim in pairs(pending) do
    if claim.written then
      local node = berth.get("Node", nil, claim.node)
      if not node or node.metadata.uid ~= claim.uid or not blank((node.spec or {}).podCIDR) then
        pending[text] = nil
      end
    end
  end
end

local function has_pending(name, uid)
  for _, claim in pairs(pending) do
    if claim.node == name and claim.uid == uid then return true end
  end
  return false
end

-- The taken slices as sorted spans { first index, last index } of the
-- network's slices: every node's podCIDR(s) and every pending claim.
local function taken_spans(cfg)
  local net, mask = cfg.network, cfg.mask
  local spans = {}
  local function take(text)
    local block = cidr.parse(text)
    if not block or not cidr.overlaps(block, net) then return end
    local first = math.max(block.addr, net.addr)
    local last = math.min(cidr.last(block), cidr.last(net))
    spans[#spans + 1] = { cidr.index(net, mask, first), cidr.index(net, mask, last) }
  end
  for _, node in ipairs(berth.list("Node", nil)) do
    local spec = node.spec or {}
    if not blank(spec.podCIDR) then take(spec.podCIDR) end
    for _, text in ipairs(spec.podCIDRs or {}) do take(text) end
  end
  for text in pairs(pending) do take(text) end
  table.sort(spans, function(a, b) return a[1] < b[1] end)
  return spans
end

-- The lowest slice index outside every span, or nil when all are taken.
local function lowest_free(spans, count)
  local free = 0
  for _, span in ipairs(spans) do
    if span[1] > free then break end
    free = math.max(free, span[2] + 1)
  end
  if free < count then return free end
end

-- Writes slice into the node's spec, holding it in `pending` meanwhile.
local function assign(node, slice)
  local name = node.metadata.name
  local claim = { node = name, uid = node.metadata.uid, written = false }
  pending[slice] = claim
  local patch = { spec = { podCIDR = slice, podCIDRs = berth.array({ slice }) } }
  local ok, stored, msg, reason = pcall(berth.patch, "Node", nil, name, patch)
  if ok and stored then
    claim.written = true
    berth.log.info("node %s: pod CIDR %s", name, slice)
    return
  end
  pending[slice] = nil
  if not ok then error(stored, 0) end
  -- Gone, or changed under us: the next reconcile sees the news.
  if reason == "NotFound" or reason == "Conflict" then return end
  berth.event(node, "Warning", "CIDRAssignmentFailed",
    string.format("Node %s: assigning pod CIDR %s failed: %s", name, slice, tostring(msg)))
  error(string.format("node %s: assigning pod CIDR %s: %s", name, slice, tostring(msg)))
end

local function reconcile(req)
  local node = berth.get("Node", nil, req.name)
  if not node or node.metadata.deletionTimestamp then return end
  if not blank((node.spec or {}).podCIDR) then return end
  prune_pending()
  -- Written already; its watch event brings the node back.
  if has_pending(req.name, node.metadata.uid) then return end

  local cfg, err = config()
  if not cfg then
    berth.log.error("%s; node %s gets no pod CIDR", err, req.name)
    return
  end
  local index = lowest_free(taken_spans(cfg), cidr.count(cfg.network, cfg.mask))
  if not index then
    berth.event(node, "Warning", "CIDRNotAvailable", string.format(
      "Node %s: no pod CIDR left in %s", req.name, cidr.format(cfg.network)))
    berth.requeue_after(RETRY_EXHAUSTED)
    return
  end
  assign(node, cidr.format(cidr.subnet(cfg.network, cfg.mask, index)))
end

-- A change of the cluster ConfigMap concerns every node still waiting.
local function waiting_nodes(cm)
  local md = cm.metadata or {}
  if md.namespace ~= CONFIG_NAMESPACE or md.name ~= CONFIG_NAME then return {} end
  local keys = {}
  for _, node in ipairs(berth.list("Node", nil)) do
    if blank((node.spec or {}).podCIDR) then keys[#keys + 1] = node.metadata.name end
  end
  return keys
end

return {
  name = "node-ipam",
  kind = "Node",
  maps = { ConfigMap = waiting_nodes },
  reconcile = reconcile,
}
