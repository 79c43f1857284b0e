-- The DaemonSet controller: one pod per eligible node. A node is eligible
-- when the template's nodeSelector and required node affinity select it and
-- its NoSchedule/NoExecute taints are tolerated (DaemonSet pods get the
-- default tolerations Kubernetes adds, see lib/daemonset_nodes.lua).
--
-- Pods are bound directly: the controller sets spec.nodeName, so the
-- scheduler leaves them alone. Pods on nodes that are gone or no longer
-- eligible are deleted, failed pods are replaced, and surplus pods on one
-- node are deleted (the oldest stays).
--
-- updateStrategy RollingUpdate deletes pods of an older template (the
-- controller-revision-hash label differs from berth.template_hash of the
-- template) while at most maxUnavailable nodes lack an available daemon;
-- the deleted pods come back from the new template. maxUnavailable is an
-- int or a percentage of desiredNumberScheduled, rounded up, at least 1.
-- maxSurge is not supported (treated as 0). OnDelete replaces only pods the
-- user deletes.

local berth = require("berth")
local podstatus = require("podstatus")
local workload = require("workload")
local nodes_lib = require("daemonset_nodes")

local REVISION = "controller-revision-hash"
local GENERATION = "pod-template-generation"

local function new_pod(ds, node, hash)
  local pod = workload.pod_from_template(ds, ds.spec.template)
  pod.metadata.generateName = ds.metadata.name .. "-"
  pod.metadata.labels[REVISION] = hash
  pod.metadata.labels[GENERATION] = tostring(ds.metadata.generation or 1)
  pod.spec.nodeName = node
  nodes_lib.add_default_tolerations(pod.spec)
  return pod
end

local function older(a, b)
  local ca, cb = a.metadata.creationTimestamp or "", b.metadata.creationTimestamp or ""
  if ca ~= cb then return ca < cb end
  return a.metadata.name < b.metadata.name
end

local function reconcile(req)
  local ds = berth.get("DaemonSet", req.namespace, req.name)
  if not ds or ds.metadata.deletionTimestamp then return end
  ds.spec = ds.spec or {}
  ds.status = ds.status or {}
  local spec = ds.spec
  local old = berth.copy(ds.status)
  local now = berth.now()
  local min_ready = spec.minReadySeconds or 0
  local hash = berth.template_hash(spec.template or {})

  -- The pod spec as it will run, default tolerations included, decides
  -- which nodes are eligible.
  local pod_spec = nodes_lib.add_default_tolerations(
    berth.copy(((spec.template or {}).spec) or {}))

  -- Live (not terminating) daemon pods by node.
  local on_node, stray = {}, {}
  for _, pod in ipairs(workload.controlled(berth.owned("Pod", ds), ds)) do
    if not podstatus.terminating(pod) then
      local n = pod.spec and pod.spec.nodeName
      if n then
        on_node[n] = on_node[n] or {}
        table.insert(on_node[n], pod)
      else
        stray[#stray + 1] = pod
      end
    end
  end

  local failures
  local function delete(pod, why)
    local ok, msg, reason = berth.delete("Pod", pod.metadata.namespace, pod.metadata.name,
                                         { preconditions = { uid = pod.metadata.uid } })
    if ok or reason == "NotFound" then
      berth.event(ds, "Normal", "SuccessfulDelete", "Deleted pod: " .. pod.metadata.name .. why)
      return true
    end
    failures = msg
    return false
  end

  -- Place, keep or remove daemons node by node.
  local nodes = berth.list("Node", nil)
  local eligible, seen = {}, {}
  for _, node in ipairs(nodes) do
    local name = node.metadata.name
    seen[name] = true
    local run, keep = nodes_lib.fit(pod_spec, node)
    local live = on_node[name] or {}
    local left = {}
    if keep then
      table.sort(live, older)
      for _, pod in ipairs(live) do
        if podstatus.phase(pod) == "Failed" then
          if not delete(pod, " (failed)") then left[#left + 1] = pod end
          berth.event(ds, "Warning", "FailedDaemonPod", string.format(
            "Found failed daemon pod %s on node %s, will try to kill it", pod.metadata.name, name))
        elseif #left >= 1 then
          if not delete(pod, " (surplus)") then left[#left + 1] = pod end
        else
          left[#left + 1] = pod
        end
      end
    else
      for _, pod in ipairs(live) do
        if not delete(pod, " (node not eligible)") then left[#left + 1] = pod end
      end
    end
    if run and #left == 0 then
      local pod, msg, reason = berth.create(new_pod(ds, name, hash))
      if pod then
        left[1] = pod
        berth.event(ds, "Normal", "SuccessfulCreate", "Created pod: " .. pod.metadata.name)
      else
        berth.event(ds, "Warning", "FailedCreate", "Error creating: " .. tostring(msg))
        if reason ~= "Conflict" then failures = msg end
      end
    end
    on_node[name] = left
    if run then eligible[#eligible + 1] = name end
  end
  -- Pods on nodes that no longer exist, or on no node at all.
  for name, live in pairs(on_node) do
    if not seen[name] then
      for _, pod in ipairs(live) do delete(pod, " (node gone)") end
      on_node[name] = nil
    end
  end
  for _, pod in ipairs(stray) do delete(pod, " (not bound)") end

  -- Rolling update: replace old pods while few enough nodes are down.
  local strategy = spec.updateStrategy or {}
  if (strategy.type or "RollingUpdate") == "RollingUpdate" then
    local max_unavailable, err = workload.scaled(
      (strategy.rollingUpdate or {}).maxUnavailable or 1, #eligible, true)
    if not max_unavailable then
      berth.event(ds, "Warning", "InvalidMaxUnavailable", err)
      max_unavailable = 1
    end
    if max_unavailable < 1 then max_unavailable = 1 end
    local unavailable, doomed, candidates = 0, {}, {}
    for _, name in ipairs(eligible) do
      local pod = (on_node[name] or {})[1]
      if not pod then
        unavailable = unavailable + 1
      elseif pod.metadata.labels[REVISION] == hash then
        if not podstatus.available(pod, min_ready, now) then unavailable = unavailable + 1 end
      elseif not podstatus.available(pod, min_ready, now) then
        -- An old pod that is down anyway goes at once.
        doomed[#doomed + 1] = pod
      else
        candidates[#candidates + 1] = pod
      end
    end
    for i = 1, math.min(#candidates, max_unavailable - unavailable - #doomed) do
      doomed[#doomed + 1] = candidates[i]
    end
    for _, pod in ipairs(doomed) do
      if delete(pod, " (update)") then
        local list = on_node[pod.spec.nodeName]
        for i, p in ipairs(list) do if p == pod then table.remove(list, i) break end end
      end
    end
  end

  -- Status, from the pods as they now stand.
  local is_eligible = {}
  for _, name in ipairs(eligible) do is_eligible[name] = true end
  local st = ds.status
  local scheduled, ready, available, updated, misscheduled = 0, 0, 0, 0, 0
  local waiting = false
  for name, live in pairs(on_node) do
    local pod = live[1]
    if pod then
      if is_eligible[name] then
        scheduled = scheduled + 1
        if podstatus.ready(pod) then ready = ready + 1 end
        if podstatus.available(pod, min_ready, now) then
          available = available + 1
        elseif podstatus.ready(pod) then
          waiting = true
        end
        if pod.metadata.labels[REVISION] == hash then updated = updated + 1 end
      else
        misscheduled = misscheduled + 1
      end
    end
  end
  st.desiredNumberScheduled = #eligible
  st.currentNumberScheduled = scheduled
  st.numberMisscheduled = misscheduled
  st.numberReady = ready
  st.numberAvailable = available
  st.numberUnavailable = #eligible - available
  st.updatedNumberScheduled = updated
  st.observedGeneration = ds.metadata.generation
  local ok, msg, reason = workload.write_status(ds, old)
  if not ok and reason ~= "Conflict" then error("daemonset status: " .. tostring(msg)) end
  if waiting and min_ready > 0 then berth.requeue_after(min_ready) end
  if failures then error("daemonset " .. ds.metadata.name .. ": " .. tostring(failures)) end
end

-- Every DaemonSet may care about a node that comes, goes or changes.
local function all_daemonsets()
  local keys = {}
  for _, ds in ipairs(berth.list("DaemonSet", nil)) do
    keys[#keys + 1] = ds.metadata.namespace .. "/" .. ds.metadata.name
  end
  return keys
end

return {
  name = "daemonset",
  kind = "DaemonSet",
  owns = { "Pod" },
  maps = { Node = all_daemonsets },
  resync = 300,
  reconcile = reconcile,
}
