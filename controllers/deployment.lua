-- The Deployment controller: rolls a Deployment's pod template out through
-- ReplicaSets, as Kubernetes' Deployment controller does.
--
-- The ReplicaSet whose template equals the Deployment's (ignoring the
-- pod-template-hash label) is the new one; it is named
-- "<deployment>-<hash>" and its selector and labels carry the hash. Others
-- are old. A reconcile takes one step:
--   - a Deployment being deleted only gets its status updated;
--   - a paused Deployment, or one whose replica count changed, is resized
--     (proportionally across ReplicaSets in the middle of a rollout);
--   - RollingUpdate scales the new ReplicaSet up within maxSurge and the old
--     ones down within maxUnavailable, judged by the ReplicaSets'
--     availableReplicas;
--   - Recreate scales the old ones to zero, waits until none of their pods
--     runs, then scales the new one up.
-- Status carries the Available and Progressing conditions that
-- `kubectl rollout status` watches; a rollout that makes no progress for
-- progressDeadlineSeconds is marked ProgressDeadlineExceeded.

local berth = require("berth")
local R = require("rollout")
local conditions = require("conditions")
local ownership = require("ownership")

-- Raised when a write met a Conflict: the reconcile stops, and the host
-- runs the key again at once on fresher data.
local CONFLICT = setmetatable({}, { __tostring = function() return "conflict" end })

local function check(obj, msg, reason)
  if obj then return obj end
  if reason == "Conflict" then error(CONFLICT, 0) end
  error(tostring(msg), 2)
end

-- Replaces the contents of t with those of src, so every list holding t
-- sees the stored object.
local function refresh(t, src)
  for k in pairs(t) do t[k] = nil end
  for k, v in pairs(src) do t[k] = v end
end

-- Writes d's status; d becomes the stored Deployment.
local function write_status(d)
  refresh(d, check(berth.update_status(d)))
end

-- Sets the Deployment's revision annotation to rev.
local function sync_revision(d, rev)
  local cur = (d.metadata.annotations or {})[R.REVISION]
  if cur == rev then return end
  local status = d.status
  local stored = check(berth.patch("Deployment", d.metadata.namespace, d.metadata.name,
    { metadata = { annotations = { [R.REVISION] = rev } } }))
  refresh(d, stored)
  d.status = status -- keep the status changes not yet written
end

-- Resizes rs to n (and refreshes its replica annotations); returns whether
-- its size changed.
local function scale_rs(d, rs, n)
  local resize = R.replicas(rs) ~= n
  local copy = berth.copy(rs)
  local annotated = R.set_replicas_annotations(copy, R.replicas(d),
    R.replicas(d) + R.max_surge(d))
  if not resize and not annotated then return false end
  copy.spec.replicas = n
  local before = R.replicas(rs)
  refresh(rs, check(berth.update(copy)))
  if resize then
    berth.event(d, "Normal", "ScalingReplicaSet", string.format(
      "Scaled %s replica set %s from %d to %d", n > before and "up" or "down",
      rs.metadata.name, before, n))
  end
  return resize
end

-- The ReplicaSets of d: owned ones its selector still selects, and adopted
-- orphans it selects.
local function claim_replica_sets(d)
  local candidates, selects = ownership.candidates("ReplicaSet", d, d.spec.selector)
  local kept, msg, reason = ownership.claim(d, candidates, selects)
  return check(kept, msg, reason)
end

-- Splits rss into the new ReplicaSet (or nil) and the old ones; the oldest
-- matching ReplicaSet wins if several share the template.
local function split(d, rss)
  table.sort(rss, R.by_creation)
  local new_rs, old = nil, {}
  for _, rs in ipairs(rss) do
    if not new_rs and R.equal_ignore_hash(rs.spec.template, d.spec.template) then
      new_rs = rs
    else
      old[#old + 1] = rs
    end
  end
  return new_rs, old
end

-- Creates the new ReplicaSet for d's current template.
local function create_new_rs(d, old, new_revision)
  local hash = berth.template_hash(d.spec.template, (d.status or {}).collisionCount)
  local tmpl = berth.copy(d.spec.template)
  tmpl.metadata = tmpl.metadata or {}
  tmpl.metadata.labels = tmpl.metadata.labels or {}
  tmpl.metadata.labels[R.HASH_LABEL] = hash
  local sel = berth.copy(d.spec.selector)
  sel.matchLabels = sel.matchLabels or {}
  sel.matchLabels[R.HASH_LABEL] = hash
  local rs = {
    apiVersion = "apps/v1",
    kind = "ReplicaSet",
    metadata = {
      name = d.metadata.name .. "-" .. hash,
      namespace = d.metadata.namespace,
      labels = berth.copy(tmpl.metadata.labels),
      ownerReferences = berth.array({ berth.owner_ref(d) }),
    },
    spec = { replicas = 0, minReadySeconds = d.spec.minReadySeconds or 0,
             selector = sel, template = tmpl },
  }
  local all = { table.unpack(old) }
  all[#all + 1] = rs
  rs.spec.replicas = R.new_rs_replicas(d, all, rs)
  R.set_new_rs_annotations(d, rs, new_revision, false)

  local created, msg, reason = berth.create(rs)
  if not created and reason == "AlreadyExists" then
    local existing = berth.get("ReplicaSet", d.metadata.namespace, rs.metadata.name)
    local ref = existing and berth.controller_of(existing)
    if ref and ref.uid == d.metadata.uid and
        R.equal_ignore_hash(existing.spec.template, d.spec.template) then
      return existing, true
    end
    -- Another template hashed to the same name: count the collision, which
    -- changes the hash on the next pass.
    d.status = d.status or {}
    d.status.collisionCount = (d.status.collisionCount or 0) + 1
    write_status(d)
    error("hash collision for replica set " .. rs.metadata.name)
  elseif not created then
    local text = string.format("Failed to create new replica set %q: %s", rs.metadata.name, msg)
    if reason ~= "Conflict" and R.has_deadline(d) then
      d.status = d.status or {}
      conditions.set(d.status, conditions.new("Progressing", "False", "ReplicaSetCreateError", text))
      berth.update_status(d)
    end
    berth.event(d, "Warning", "ReplicaSetCreateError", text)
    check(nil, msg, reason)
  end
  if R.replicas(created) > 0 then
    berth.event(d, "Normal", "ScalingReplicaSet", string.format(
      "Scaled up replica set %s from 0 to %d", created.metadata.name, R.replicas(created)))
  end
  return created, false
end

-- Finds (and with create, makes) the new ReplicaSet and brings the
-- revision annotations of it and of d up to date. Returns the new
-- ReplicaSet or nil, and the old ones.
local function new_and_old(d, rss, create)
  local new_rs, old = split(d, rss)
  local new_revision = R.max_revision(old) + 1
  d.status = d.status or {}

  if new_rs then
    local copy = berth.copy(new_rs)
    local changed = R.set_new_rs_annotations(d, copy, new_revision, true)
    if changed or (copy.spec.minReadySeconds or 0) ~= (d.spec.minReadySeconds or 0) then
      copy.spec.minReadySeconds = d.spec.minReadySeconds or 0
      refresh(new_rs, check(berth.update(copy)))
    end
    sync_revision(d, new_rs.metadata.annotations[R.REVISION])
    if R.has_deadline(d) and not conditions.get(d.status, "Progressing") then
      conditions.set(d.status, conditions.new("Progressing", "True", "FoundNewReplicaSet",
        string.format("Found new replica set %q", new_rs.metadata.name)))
      write_status(d)
    end
    return new_rs, old
  end
  if not create then return nil, old end

  local created, existed = create_new_rs(d, old, new_revision)
  sync_revision(d, string.format("%d", new_revision))
  if not existed and R.has_deadline(d) then
    conditions.set(d.status, conditions.new("Progressing", "True", "NewReplicaSetCreated",
      string.format("Created new replica set %q", created.metadata.name)))
    write_status(d)
  end
  return created, old
end

local function all_of(new_rs, old)
  local all = { table.unpack(old) }
  if new_rs then all[#all + 1] = new_rs end
  return all
end

-- Writes the status computed from the ReplicaSets, if it changed.
local function sync_status(d, all, new_rs)
  local st = R.status(all, new_rs, d)
  if berth.equal(st, d.status or {}) then return end
  d.status = st
  write_status(d)
end

-- Asks to run again when the progress deadline will pass, since nothing
-- else would wake the key then.
local function requeue_stuck(d, st)
  local c = conditions.get(st, "Progressing")
  if not R.has_deadline(d) or not c or R.complete(d, st) or
      c.reason == "ProgressDeadlineExceeded" then
    return
  end
  local from = berth.parse_time(c.lastUpdateTime) or berth.now()
  local after = from + R.deadline(d) - berth.now()
  berth.requeue_after(math.max(after, 0) + 0.001)
end

-- Updates the status with the Progressing condition of a rollout: complete,
-- progressing (its update time moves), or past its deadline.
local function sync_rollout_status(d, all, new_rs)
  local st = R.status(all, new_rs, d)
  if not R.has_deadline(d) then conditions.remove(st, "Progressing") end
  local cur = conditions.get(d.status or {}, "Progressing")
  local done = st.replicas == st.updatedReplicas and cur ~= nil and
    cur.reason == "NewReplicaSetAvailable"
  if R.has_deadline(d) and not done then
    local subject = new_rs and string.format("ReplicaSet %q", new_rs.metadata.name) or
      string.format("Deployment %q", d.metadata.name)
    if R.complete(d, st) then
      conditions.set(st, conditions.new("Progressing", "True", "NewReplicaSetAvailable",
        subject .. " has successfully progressed."))
    elseif R.progressing(d, st) then
      -- Progress moves lastUpdateTime even when the reason stays the same.
      local c = conditions.new("Progressing", "True", "ReplicaSetUpdated",
        subject .. " is progressing.")
      if cur and cur.status == "True" then c.lastTransitionTime = cur.lastTransitionTime end
      conditions.remove(st, "Progressing")
      conditions.set(st, c)
    elseif R.timed_out(d, st) then
      conditions.set(st, conditions.new("Progressing", "False", "ProgressDeadlineExceeded",
        subject .. " has timed out progressing."))
    end
  end
  if not berth.equal(st, d.status or {}) then
    d.status = st
    write_status(d)
  end
  requeue_stuck(d, st)
end

-- Deletes the oldest old ReplicaSets that have no pods beyond
-- revisionHistoryLimit.
local function cleanup(d, old)
  local alive = {}
  for _, rs in ipairs(old) do
    if not rs.metadata.deletionTimestamp then alive[#alive + 1] = rs end
  end
  local excess = #alive - R.history_limit(d)
  if excess <= 0 then return end
  table.sort(alive, R.by_revision)
  for i = 1, excess do
    local rs = alive[i]
    local st = rs.status or {}
    if (st.replicas or 0) == 0 and R.replicas(rs) == 0 and
        (rs.metadata.generation or 0) <= (st.observedGeneration or 0) then
      local ok, msg, reason = berth.delete("ReplicaSet", rs.metadata.namespace, rs.metadata.name,
        { preconditions = { uid = rs.metadata.uid } })
      if not ok and reason ~= "NotFound" then check(nil, msg, reason) end
    end
  end
end

-- Resizes the ReplicaSets to the Deployment's replica count: all to the one
-- active ReplicaSet if there is one, else proportionally to their sizes.
local function scale(d, new_rs, old)
  table.sort(old, function(a, b) return R.by_creation(b, a) end)
  local active = R.active(all_of(new_rs, old))
  local only
  if #active == 0 then
    only = new_rs or old[1]
  elseif #active == 1 then
    only = active[1]
  end
  if only then
    scale_rs(d, only, R.replicas(d))
    return
  end
  if R.is_saturated(d, new_rs) then
    for _, rs in ipairs(R.active(old)) do scale_rs(d, rs, 0) end
    return
  end
  if R.strategy(d) ~= "RollingUpdate" then return end

  local allowed = R.replicas(d) > 0 and R.replicas(d) + R.max_surge(d) or 0
  local to_add = allowed - R.spec_replicas(active)
  table.sort(active, R.by_size(to_add > 0))
  local sizes, added = {}, 0
  for i, rs in ipairs(active) do
    local p = R.proportion(rs, d, to_add, added)
    sizes[i] = R.replicas(rs) + p
    added = added + p
  end
  -- What rounding left over goes to the largest ReplicaSet.
  if to_add ~= 0 then sizes[1] = math.max(sizes[1] + to_add - added, 0) end
  for i, rs in ipairs(active) do scale_rs(d, rs, sizes[i]) end
end

-- A paused Deployment, or one being resized: size without rolling out.
local function sync_only(d, rss)
  local new_rs, old = new_and_old(d, rss, false)
  scale(d, new_rs, old)
  if d.spec.paused then cleanup(d, old) end
  sync_status(d, all_of(new_rs, old), new_rs)
end

-- Scales the new ReplicaSet up within the surge allowance.
local function scale_up_new(d, all, new_rs)
  local want = R.replicas(d)
  if R.replicas(new_rs) == want then return false end
  if R.replicas(new_rs) > want then return scale_rs(d, new_rs, want) end
  return scale_rs(d, new_rs, R.new_rs_replicas(d, all, new_rs))
end

-- Scales old ReplicaSets down as far as maxUnavailable allows: first their
-- unavailable pods, then available ones, oldest ReplicaSet first. old holds
-- the active old ReplicaSets only: an emptied one may still report pods
-- available until its status catches up, and those must not count.
local function scale_down_old(d, all, old, new_rs)
  local old_count = R.spec_replicas(old)
  if old_count == 0 then return false end
  local min_available = R.replicas(d) - R.max_unavailable(d)
  local new_unavailable = R.replicas(new_rs) - ((new_rs.status or {}).availableReplicas or 0)
  local max_down = R.spec_replicas(all) - min_available - new_unavailable
  if max_down <= 0 then return false end

  table.sort(old, R.by_creation)
  local cleaned = 0
  for _, rs in ipairs(old) do
    if cleaned >= max_down then break end
    local n, avail = R.replicas(rs), (rs.status or {}).availableReplicas or 0
    if n > 0 and n ~= avail then
      local down = math.min(max_down - cleaned, n - avail)
      scale_rs(d, rs, n - down)
      cleaned = cleaned + down
    end
  end

  local available = R.available_replicas(old) + R.available_replicas({ new_rs })
  local scaled = 0
  if available > min_available then
    local total = available - min_available
    for _, rs in ipairs(old) do
      if scaled >= total then break end
      local n = R.replicas(rs)
      if n > 0 then
        local down = math.min(n, total - scaled)
        scale_rs(d, rs, n - down)
        scaled = scaled + down
      end
    end
  end
  return cleaned + scaled > 0
end

local function rolling(d, rss)
  local new_rs, old = new_and_old(d, rss, true)
  local all = all_of(new_rs, old)
  if scale_up_new(d, all, new_rs) or scale_down_old(d, all, R.active(old), new_rs) then
    return sync_rollout_status(d, all, new_rs)
  end
  if R.complete(d, R.status(all, new_rs, d)) then cleanup(d, old) end
  sync_rollout_status(d, all, new_rs)
end

-- Whether any pod of an old ReplicaSet may still run.
local function old_pods_running(old)
  if R.status_replicas(old) > 0 then return true end
  for _, rs in ipairs(old) do
    for _, pod in ipairs(berth.owned("Pod", rs)) do
      local phase = (pod.status or {}).phase
      if phase ~= "Succeeded" and phase ~= "Failed" then return true end
    end
  end
  return false
end

local function recreate(d, rss)
  local new_rs, old = new_and_old(d, rss, false)
  local scaled = false
  for _, rs in ipairs(R.active(old)) do
    if scale_rs(d, rs, 0) then scaled = true end
  end
  if scaled or old_pods_running(old) then
    return sync_rollout_status(d, all_of(new_rs, old), new_rs)
  end
  if not new_rs then new_rs, old = new_and_old(d, rss, true) end
  scale_rs(d, new_rs, R.replicas(d))
  local all = all_of(new_rs, old)
  if R.complete(d, R.status(all, new_rs, d)) then cleanup(d, old) end
  sync_rollout_status(d, all, new_rs)
end

-- Marks pausing and resuming in the Progressing condition (status Unknown)
-- so the time spent paused never counts against the deadline.
local function sync_paused_condition(d)
  if not R.has_deadline(d) then return end
  d.status = d.status or {}
  local c = conditions.get(d.status, "Progressing")
  if c and c.reason == "ProgressDeadlineExceeded" then return end
  local paused = c ~= nil and c.reason == "DeploymentPaused"
  if d.spec.paused and not paused then
    conditions.set(d.status, conditions.new("Progressing", "Unknown", "DeploymentPaused",
      "Deployment is paused"))
  elseif not d.spec.paused and paused then
    conditions.set(d.status, conditions.new("Progressing", "Unknown", "DeploymentResumed",
      "Deployment is resumed"))
  else
    return
  end
  write_status(d)
end

local function selects_all(sel)
  return sel == nil or (next(sel.matchLabels or {}) == nil and
    next(sel.matchExpressions or {}) == nil)
end

local function sync(d)
  if selects_all(d.spec.selector) then
    berth.event(d, "Warning", "SelectingAll",
      "This deployment is selecting all pods. A non-empty selector is required.")
    d.status = d.status or {}
    if (d.status.observedGeneration or 0) < (d.metadata.generation or 0) then
      d.status.observedGeneration = d.metadata.generation
      write_status(d)
    end
    return
  end
  local rss = claim_replica_sets(d)
  if d.metadata.deletionTimestamp then
    local new_rs, old = new_and_old(d, rss, false)
    return sync_status(d, all_of(new_rs, old), new_rs)
  end
  sync_paused_condition(d)
  if d.spec.paused then return sync_only(d, rss) end
  local new_rs, old = split(d, { table.unpack(rss) })
  if R.is_scaling_event(d, all_of(new_rs, old)) then return sync_only(d, rss) end
  if R.strategy(d) == "Recreate" then return recreate(d, rss) end
  return rolling(d, rss)
end

local function reconcile(req)
  local d = berth.get("Deployment", req.namespace, req.name)
  if not d then return end
  local ok, err = pcall(sync, d)
  if not ok and err ~= CONFLICT then error(err, 0) end
end

-- A Recreate rollout waits for the old pods to be gone, and a pod's
-- removal changes no ReplicaSet: map gone and finishing pods to the
-- Deployment that owns their ReplicaSet.
local function pod_to_deployment(pod)
  local md = pod.metadata
  local phase = (pod.status or {}).phase
  local live = berth.get("Pod", md.namespace, md.name)
  if live and live.metadata.uid == md.uid and not md.deletionTimestamp and
      phase ~= "Succeeded" and phase ~= "Failed" then
    return {}
  end
  local ref = berth.controller_of(pod)
  if not ref or ref.kind ~= "ReplicaSet" then return {} end
  local rs = berth.get("ReplicaSet", md.namespace, ref.name)
  local dref = rs and berth.controller_of(rs)
  if not dref or dref.kind ~= "Deployment" then return {} end
  local d = berth.get("Deployment", md.namespace, dref.name)
  if not d or R.strategy(d) ~= "Recreate" then return {} end
  return { md.namespace .. "/" .. dref.name }
end

return {
  name = "deployment",
  kind = "Deployment",
  owns = { "ReplicaSet" },
  maps = { Pod = pod_to_deployment },
  reconcile = reconcile,
}
