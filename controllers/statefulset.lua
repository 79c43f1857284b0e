-- The StatefulSet controller: pods with stable names "<set>-<ordinal>",
-- stable storage (one PersistentVolumeClaim per volumeClaimTemplate and
-- ordinal, created before the pod and never deleted here) and ordered
-- rollout.
--
-- podManagementPolicy OrderedReady creates pods one at a time in ordinal
-- order, each Running and Ready before the next, and removes them from the
-- highest ordinal down, one at a time; Parallel creates and removes them all
-- at once. updateStrategy RollingUpdate replaces pods whose revision differs
-- from the template's, from the highest ordinal down to the partition, one at
-- a time, each healthy before the next; OnDelete waits for the user to
-- delete them.
--
-- A revision is "<set>-<berth.template_hash(template)>", carried by each pod
-- in the controller-revision-hash label. berth keeps no ControllerRevision
-- objects: a pod below the partition that must be recreated at the current
-- revision is rebuilt from a sibling pod of that revision; when none is left
-- it gets the update revision.

local berth = require("berth")
local podstatus = require("podstatus")
local workload = require("workload")

local REVISION = "controller-revision-hash"
local POD_NAME = "statefulset.kubernetes.io/pod-name"
local POD_INDEX = "apps.kubernetes.io/pod-index"

local function revision_of(pod)
  return (pod.metadata.labels or {})[REVISION]
end

-- Running, Ready and not being deleted: what OrderedReady waits for.
local function healthy(pod)
  return podstatus.phase(pod) == "Running" and podstatus.ready(pod) and
         not podstatus.terminating(pod)
end

local function claim_name(tmpl, set, ordinal)
  return string.format("%s-%s-%d", tmpl.metadata.name, set.metadata.name, ordinal)
end

-- The PersistentVolumeClaims ordinal needs; created when missing. Returns
-- true when all exist.
local function ensure_claims(set, ordinal)
  local ns = set.metadata.namespace
  for _, tmpl in ipairs(set.spec.volumeClaimTemplates or {}) do
    local name = claim_name(tmpl, set, ordinal)
    if not berth.get("PersistentVolumeClaim", ns, name) then
      local labels = berth.copy((tmpl.metadata or {}).labels or {})
      for k, v in pairs((set.spec.selector or {}).matchLabels or {}) do labels[k] = v end
      local pvc = {
        apiVersion = "v1",
        kind = "PersistentVolumeClaim",
        metadata = { name = name, namespace = ns, labels = labels,
                     annotations = berth.copy((tmpl.metadata or {}).annotations) },
        spec = berth.copy(tmpl.spec or {}),
      }
      local ok, msg, reason = berth.create(pvc)
      if not ok and reason ~= "AlreadyExists" then
        berth.event(set, "Warning", "FailedCreate", string.format(
          "create Claim %s for Pod %s-%d in StatefulSet %s failed error: %s",
          name, set.metadata.name, ordinal, set.metadata.name, tostring(msg)))
        return false
      end
      if ok then
        berth.event(set, "Normal", "SuccessfulCreate", string.format(
          "create Claim %s Pod %s-%d in StatefulSet %s success",
          name, set.metadata.name, ordinal, set.metadata.name))
      end
    end
  end
  return true
end

-- The pod for ordinal at a revision. base is a sibling pod of that revision
-- to copy from, or nil to build from the set's template.
local function new_pod(set, ordinal, revision, base)
  local pod
  if base then
    pod = { apiVersion = "v1", kind = "Pod", metadata = {
      namespace = set.metadata.namespace,
      labels = berth.copy(base.metadata.labels or {}),
      annotations = berth.copy(base.metadata.annotations),
      ownerReferences = berth.array({ berth.owner_ref(set) }) },
      spec = berth.copy(base.spec) }
    pod.spec.nodeName = nil
  else
    pod = workload.pod_from_template(set, set.spec.template)
  end
  local name = string.format("%s-%d", set.metadata.name, ordinal)
  local md = pod.metadata
  md.name = name
  md.labels[POD_NAME] = name
  md.labels[POD_INDEX] = tostring(ordinal)
  md.labels[REVISION] = revision
  pod.spec.hostname = name
  pod.spec.subdomain = set.spec.serviceName

  -- Claim volumes replace template volumes of the same name.
  local volumes, claimed = berth.array({}), {}
  for _, tmpl in ipairs(set.spec.volumeClaimTemplates or {}) do
    claimed[tmpl.metadata.name] = true
    volumes[#volumes + 1] = { name = tmpl.metadata.name,
      persistentVolumeClaim = { claimName = claim_name(tmpl, set, ordinal) } }
  end
  for _, v in ipairs(pod.spec.volumes or {}) do
    if not claimed[v.name] then volumes[#volumes + 1] = v end
  end
  pod.spec.volumes = #volumes > 0 and volumes or nil
  return pod
end

local function delete_pod(set, pod, why)
  local ok, msg, reason = berth.delete("Pod", pod.metadata.namespace, pod.metadata.name,
                                       { preconditions = { uid = pod.metadata.uid } })
  if ok then
    berth.event(set, "Normal", "SuccessfulDelete", string.format(
      "%s Pod %s in StatefulSet %s successful", why, pod.metadata.name, set.metadata.name))
    pod.metadata.deletionTimestamp = berth.time()
  elseif reason ~= "NotFound" then
    berth.log.warn("deleting pod %s: %s", pod.metadata.name, tostring(msg))
  end
end

local function reconcile(req)
  local set = berth.get("StatefulSet", req.namespace, req.name)
  if not set or set.metadata.deletionTimestamp then return end
  set.spec = set.spec or {}
  set.status = set.status or {}
  local spec, status = set.spec, set.status
  local old = berth.copy(status)
  local now = berth.now()
  local replicas = spec.replicas or 1
  local monotonic = spec.podManagementPolicy ~= "Parallel"
  local strategy = spec.updateStrategy or {}
  local rolling = (strategy.type or "RollingUpdate") == "RollingUpdate"
  local partition = rolling and ((strategy.rollingUpdate or {}).partition or 0) or 0

  local update_rev = set.metadata.name .. "-" .. berth.template_hash(spec.template or {})
  local current_rev = status.currentRevision or update_rev

  -- Index the pods by ordinal; anything past replicas is condemned.
  local pattern = "^" .. set.metadata.name:gsub("%p", "%%%0") .. "%-(%d+)$"
  local slots, condemned, base = {}, {}, {}
  for _, pod in ipairs(workload.controlled(berth.owned("Pod", set), set)) do
    local ord = tonumber(pod.metadata.name:match(pattern) or "")
    if ord then
      if ord < replicas then slots[ord] = pod else condemned[#condemned + 1] = { ord, pod } end
      local rev = revision_of(pod)
      if rev and not base[rev] and not podstatus.terminating(pod) then base[rev] = pod end
    end
  end
  table.sort(condemned, function(a, b) return a[1] > b[1] end)

  local function pod_revision(ord)
    if rolling and ord < partition then return current_rev end
    return update_rev
  end

  -- One step towards the desired pods; false means "stop here this round".
  local function step()
    for ord = 0, replicas - 1 do
      local pod = slots[ord]
      if pod and podstatus.finished(pod) and not podstatus.terminating(pod) then
        -- Failed (or exited) pods are replaced under the same name.
        delete_pod(set, pod, "delete")
        if monotonic then return false end
      elseif not pod then
        if not ensure_claims(set, ord) then return false end
        local rev = pod_revision(ord)
        local from = rev ~= update_rev and base[rev] or nil
        if not from then rev = update_rev end
        local created, msg, reason = berth.create(new_pod(set, ord, rev, from))
        if created then
          slots[ord] = created
          berth.event(set, "Normal", "SuccessfulCreate", string.format(
            "create Pod %s in StatefulSet %s successful", created.metadata.name, set.metadata.name))
        elseif reason ~= "AlreadyExists" then
          berth.event(set, "Warning", "FailedCreate", string.format(
            "create Pod %s-%d in StatefulSet %s failed error: %s",
            set.metadata.name, ord, set.metadata.name, tostring(msg)))
          return false
        end
        if monotonic then return false end
      elseif monotonic and not healthy(pod) then
        return false
      end
    end
    -- Scale down from the highest ordinal.
    for _, c in ipairs(condemned) do
      local pod = c[2]
      if podstatus.terminating(pod) then
        if monotonic then return false end
      else
        delete_pod(set, pod, "delete")
        if monotonic then return false end
      end
    end
    if not rolling then return true end
    -- Roll from the highest ordinal down to the partition, one at a time.
    for ord = replicas - 1, partition, -1 do
      local pod = slots[ord]
      if not pod then return false end
      if revision_of(pod) ~= update_rev and not podstatus.terminating(pod) then
        delete_pod(set, pod, "delete")
        return false
      end
      if not healthy(pod) then return false end
    end
    return true
  end
  step()

  -- Status from the pods as they now stand.
  local n, ready, available, current, updated = 0, 0, 0, 0, 0
  local function count(pod)
    if podstatus.terminating(pod) then return end
    n = n + 1
    if healthy(pod) then ready = ready + 1 end
    if healthy(pod) and podstatus.available(pod, spec.minReadySeconds or 0, now) then
      available = available + 1
    end
    if revision_of(pod) == current_rev then current = current + 1 end
    if revision_of(pod) == update_rev then updated = updated + 1 end
  end
  for ord = 0, replicas - 1 do if slots[ord] then count(slots[ord]) end end
  for _, c in ipairs(condemned) do count(c[2]) end
  status.observedGeneration = set.metadata.generation
  status.replicas, status.readyReplicas, status.availableReplicas = n, ready, available
  status.currentReplicas, status.updatedReplicas = current, updated
  status.currentRevision, status.updateRevision = current_rev, update_rev
  -- A rollout is complete when every pod runs the update revision and is ready.
  if updated == n and ready == n and n == replicas then
    status.currentRevision = update_rev
    status.currentReplicas = updated
  end
  local ok, msg, reason = workload.write_status(set, old)
  if not ok and reason ~= "Conflict" then error("statefulset status: " .. tostring(msg)) end
  -- Available depends on time passing (minReadySeconds).
  if (spec.minReadySeconds or 0) > 0 and available < ready then
    berth.requeue_after(spec.minReadySeconds)
  end
end

return {
  name = "statefulset",
  kind = "StatefulSet",
  owns = { "Pod" },
  reads = { "PersistentVolumeClaim" },
  resync = 300,
  reconcile = reconcile,
}
