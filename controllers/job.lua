-- The Job controller: runs pods from spec.template until spec.completions of
-- them succeed (or, without completions, until one succeeds and none is
-- left running), at most spec.parallelism at a time, and gives up after
-- spec.backoffLimit failures or spec.activeDeadlineSeconds.
--
-- Finished pods are counted exactly once, the way Kubernetes does it: each
-- pod carries the finalizer batch.kubernetes.io/job-tracking; a finished pod
-- is first recorded in status.uncountedTerminatedPods, then its finalizer is
-- removed, then it moves into status.succeeded / status.failed. A crash
-- between the steps repeats a step, never a count. Finished pods are kept.
--
-- Failed pods are replaced after a delay of 10 s doubling per failure since
-- the last success, at most 6 minutes (when the pods' finish times are known).
-- A finished Job with spec.ttlSecondsAfterFinished is deleted that long after
-- it finished, with Background propagation.

local berth = require("berth")
local podstatus = require("podstatus")
local workload = require("workload")

local TRACKING = "batch.kubernetes.io/job-tracking"
local DEFAULT_BACKOFF_LIMIT = 6
local BACKOFF_BASE, BACKOFF_MAX = 10, 360

local function has_tracking(pod)
  for _, f in ipairs(pod.metadata.finalizers or {}) do
    if f == TRACKING then return true end
  end
  return false
end

-- Removes the tracking finalizer from pod. The patch carries the pod's
-- resourceVersion so that it cannot drop a finalizer someone else just added.
local function release(pod)
  local rest = {}
  for _, f in ipairs(pod.metadata.finalizers or {}) do
    if f ~= TRACKING then rest[#rest + 1] = f end
  end
  local ok, msg, reason = berth.patch("Pod", pod.metadata.namespace, pod.metadata.name, {
    metadata = { resourceVersion = pod.metadata.resourceVersion,
                 finalizers = #rest > 0 and berth.array(rest) or berth.null } })
  if ok or reason == "NotFound" then
    pod.metadata.finalizers = nil
    return true
  end
  return nil, msg, reason
end

-- Pods named after this Job but not controlled by the Job with uid (a
-- deleted Job, or an earlier Job of the same name) must not stay blocked by
-- the tracking finalizer: nobody will count them.
local function release_orphans(ns, name, uid)
  local sel = { matchLabels = { ["batch.kubernetes.io/job-name"] = name } }
  for _, pod in ipairs(berth.list("Pod", ns, sel)) do
    local ref = berth.controller_of(pod)
    if has_tracking(pod) and (not ref or ref.kind ~= "Job" or ref.uid ~= uid) then
      release(pod)
    end
  end
end

local function is_true(status, type_)
  local c = workload.find_condition(status.conditions, type_)
  return c ~= nil and c.status == "True"
end

-- The time the Job finished: completionTime, else when it was marked Failed.
local function finish_time(status)
  local t = berth.parse_time(status.completionTime)
  if t then return t end
  for _, type_ in ipairs({ "Complete", "Failed" }) do
    local c = workload.find_condition(status.conditions, type_)
    if c and c.status == "True" then return berth.parse_time(c.lastTransitionTime) end
  end
end

local function new_pod(job)
  local name = job.metadata.name
  local pod = workload.pod_from_template(job, job.spec.template)
  local labels = pod.metadata.labels
  labels["job-name"] = name
  labels["controller-uid"] = job.metadata.uid
  labels["batch.kubernetes.io/job-name"] = name
  labels["batch.kubernetes.io/controller-uid"] = job.metadata.uid
  pod.metadata.generateName = name .. "-"
  pod.metadata.finalizers = berth.array({ TRACKING })
  -- A Job's pods must not restart forever; validation requires OnFailure
  -- or Never, and a template without one runs as Never.
  pod.spec.restartPolicy = pod.spec.restartPolicy or "Never"
  return pod
end

-- Deletion order when there are too many active pods: not yet scheduled
-- first, then not ready, then the youngest.
local function deletion_order(a, b)
  local sa, sb = a.spec.nodeName ~= nil, b.spec.nodeName ~= nil
  if sa ~= sb then return not sa end
  local ra, rb = podstatus.ready(a), podstatus.ready(b)
  if ra ~= rb then return not ra end
  return (a.metadata.creationTimestamp or "") > (b.metadata.creationTimestamp or "")
end

-- Deletes pods, recording an event for each; returns how many went. A pod
-- the Job deletes on purpose (suspend, deadline, surplus) is not a failure to
-- count: its tracking finalizer goes first, so it can go at once.
local function delete_pods(job, pods)
  local n = 0
  for _, pod in ipairs(pods) do
    if has_tracking(pod) then release(pod) end
    local ok, msg, reason = berth.delete("Pod", pod.metadata.namespace, pod.metadata.name,
                                         { preconditions = { uid = pod.metadata.uid } })
    if ok or reason == "NotFound" then
      n = n + 1
      berth.event(job, "Normal", "SuccessfulDelete", "Deleted pod: " .. pod.metadata.name)
    else
      berth.log.warn("deleting pod %s: %s", pod.metadata.name, tostring(msg))
    end
  end
  return n
end

-- Records newly finished pods in status.uncountedTerminatedPods, removes
-- their finalizers, and moves them into the counts. Returns the job (its
-- status updated in memory) and a copy of the status as stored, or nil when
-- a write conflicted (the key is requeued).
local function track(job, pods)
  local status = job.status
  local stored_status = berth.copy(status)
  local unc = status.uncountedTerminatedPods or {}
  unc.succeeded = berth.array(unc.succeeded or {})
  unc.failed = berth.array(unc.failed or {})
  local seen = {}
  for _, uid in ipairs(unc.succeeded) do seen[uid] = true end
  for _, uid in ipairs(unc.failed) do seen[uid] = true end

  local fresh = false
  for _, pod in ipairs(pods) do
    local uid = pod.metadata.uid
    if has_tracking(pod) and not seen[uid] and podstatus.finished(pod) then
      if podstatus.phase(pod) == "Succeeded" then
        unc.succeeded[#unc.succeeded + 1] = uid
        seen[uid], fresh = true, true
      elseif not (job.spec.suspend and podstatus.terminating(pod)) then
        -- Pods stopped because the Job was suspended are not failures.
        unc.failed[#unc.failed + 1] = uid
        seen[uid], fresh = true, true
      end
    end
  end
  status.uncountedTerminatedPods = unc
  if fresh then
    local stored, msg, reason = berth.update_status(job)
    if not stored then
      if reason == "Conflict" then return nil end
      error("recording finished pods of job " .. job.metadata.name .. ": " .. tostring(msg))
    end
    job = stored
    stored_status = berth.copy(job.status)
    job.status.uncountedTerminatedPods = unc
    status = job.status
  end

  local by_uid = {}
  for _, pod in ipairs(pods) do
    by_uid[pod.metadata.uid] = pod
    if has_tracking(pod) and podstatus.finished(pod) then release(pod) end
  end
  -- A recorded pod whose finalizer is gone (or that is gone) is counted.
  for _, which in ipairs({ "succeeded", "failed" }) do
    local keep = berth.array({})
    for _, uid in ipairs(unc[which]) do
      local pod = by_uid[uid]
      if pod and has_tracking(pod) then
        keep[#keep + 1] = uid
      else
        status[which] = (status[which] or 0) + 1
      end
    end
    unc[which] = #keep > 0 and keep or nil
  end
  return job, stored_status
end

-- Delay before replacing failed pods: 10 s doubling with each failure since
-- the last success, capped; nil when no wait is needed.
local function backoff_wait(pods, now)
  local last_ok = 0
  for _, pod in ipairs(pods) do
    if podstatus.phase(pod) == "Succeeded" then
      last_ok = math.max(last_ok, podstatus.finish_time(pod) or 0)
    end
  end
  local fails, last_fail = 0, nil
  for _, pod in ipairs(pods) do
    local t = podstatus.phase(pod) == "Failed" and podstatus.finish_time(pod)
    if t and t > last_ok then
      fails = fails + 1
      if not last_fail or t > last_fail then last_fail = t end
    end
  end
  if fails == 0 then return nil end
  local delay = math.min(BACKOFF_BASE * 2 ^ (fails - 1), BACKOFF_MAX)
  if now < last_fail + delay then return last_fail + delay - now end
end

-- Handles a finished Job: its TTL. Returns the requeue delay, if any.
local function expire(job)
  local ttl = job.spec.ttlSecondsAfterFinished
  local fin = finish_time(job.status)
  if not ttl or not fin then return nil end
  local left = fin + ttl - berth.now()
  if left > 0 then return left end
  local ok, msg, reason = berth.delete("Job", job.metadata.namespace, job.metadata.name, {
    propagationPolicy = "Background", preconditions = { uid = job.metadata.uid } })
  if not ok and reason ~= "NotFound" then
    error("deleting expired job " .. job.metadata.name .. ": " .. tostring(msg))
  end
end

local function reconcile(req)
  local job = berth.get("Job", req.namespace, req.name)
  release_orphans(req.namespace, req.name, job and job.metadata.uid)
  if not job then return end

  job.spec = job.spec or {}
  job.status = job.status or {}
  local spec = job.spec
  local pods = workload.controlled(berth.owned("Pod", job), job)

  local old
  job, old = track(job, pods)
  if not job then return end
  local status = job.status
  local now = berth.now()
  local wake -- the earliest time this Job needs another look, in seconds from now
  local function wake_in(s) if s and (not wake or s < wake) then wake = s end end

  local active = {}
  for _, pod in ipairs(pods) do
    if podstatus.active(pod) then active[#active + 1] = pod end
  end
  local function count_ready()
    local n = 0
    for _, pod in ipairs(active) do if podstatus.ready(pod) then n = n + 1 end end
    return n
  end
  local unc = status.uncountedTerminatedPods or {}
  local succeeded = (status.succeeded or 0) + #(unc.succeeded or {})
  local failed = (status.failed or 0) + #(unc.failed or {})

  local function finish(write_active)
    status.active = write_active
    status.ready = write_active == 0 and 0 or count_ready()
    status.succeeded, status.failed = status.succeeded or 0, status.failed or 0
    -- NotFound: the TTL just deleted the Job.
    local ok, msg, reason = workload.write_status(job, old)
    if not ok and reason ~= "Conflict" and reason ~= "NotFound" then
      error("job status: " .. tostring(msg))
    end
    if wake then berth.requeue_after(wake) end
  end

  if is_true(status, "Complete") or is_true(status, "Failed") then
    -- Finished: stray pods (created by a lost race) go, then the TTL runs.
    delete_pods(job, active)
    wake_in(expire(job))
    return finish(0)
  end

  if spec.suspend then
    delete_pods(job, active)
    if not is_true(status, "Suspended") then
      workload.set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended")
      berth.event(job, "Normal", "Suspended", "Job suspended")
    end
    return finish(0)
  end
  if is_true(status, "Suspended") then
    -- Resuming restarts the clock of activeDeadlineSeconds.
    workload.set_condition(status, "Suspended", "False", "JobResumed", "Job resumed")
    berth.event(job, "Normal", "Resumed", "Job resumed")
    status.startTime = nil
  end
  status.startTime = status.startTime or berth.time(now)

  -- Has the Job failed?
  local limit = spec.backoffLimit or DEFAULT_BACKOFF_LIMIT
  local fail_reason, fail_msg
  if failed > limit then
    fail_reason, fail_msg = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
  elseif (spec.template and spec.template.spec or {}).restartPolicy == "OnFailure" then
    -- Restarts in place count as failures too.
    local restarts = 0
    for _, pod in ipairs(active) do restarts = restarts + podstatus.restarts(pod) end
    if (limit == 0 and restarts > 0) or (limit > 0 and restarts >= limit) then
      fail_reason, fail_msg = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
    end
  end
  if not fail_reason and spec.activeDeadlineSeconds then
    local left = (berth.parse_time(status.startTime) or now) + spec.activeDeadlineSeconds - now
    if left <= 0 then
      fail_reason, fail_msg = "DeadlineExceeded", "Job was active longer than specified deadline"
    else
      wake_in(left)
    end
  end
  if fail_reason then
    delete_pods(job, active)
    workload.set_condition(status, "Failed", "True", fail_reason, fail_msg)
    berth.event(job, "Warning", fail_reason, fail_msg)
    wake = nil
    wake_in(expire(job))
    return finish(0)
  end

  -- Has it completed?
  local parallelism = spec.parallelism or 1
  local completions = spec.completions
  if completions == nil and spec.parallelism == nil then completions = 1 end
  local complete
  if completions then
    complete = succeeded >= completions
  else
    complete = succeeded > 0 and #active == 0
  end
  if complete then
    delete_pods(job, active)
    workload.set_condition(status, "Complete", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods")
    status.completionTime = berth.time(now)
    berth.event(job, "Normal", "Completed", "Job completed")
    wake = nil
    wake_in(expire(job))
    return finish(0)
  end

  -- Run the right number of pods: never more than parallelism, never more
  -- than the completions still missing; a work queue (no completions) starts
  -- no new pod once one has succeeded.
  local want
  if completions then
    want = math.min(parallelism, completions - succeeded)
  elseif succeeded > 0 then
    want = #active
  else
    want = parallelism
  end
  want = math.max(want, 0)
  local running = #active
  local create_err
  if running > want then
    table.sort(active, deletion_order)
    local extra = {}
    for i = 1, running - want do extra[i] = active[i] end
    running = running - delete_pods(job, extra)
  elseif running < want then
    local wait = backoff_wait(pods, now)
    if wait then
      wake_in(wait)
    else
      for _ = 1, want - running do
        local pod, msg, reason = berth.create(new_pod(job))
        if not pod then
          berth.event(job, "Warning", "FailedCreate", "Error creating pod: " .. tostring(msg))
          if reason ~= "Conflict" then create_err = msg end
          break
        end
        running = running + 1
        berth.event(job, "Normal", "SuccessfulCreate", "Created pod: " .. pod.metadata.name)
      end
    end
  end
  finish(running)
  if create_err then error("creating pods of job " .. job.metadata.name .. ": " .. tostring(create_err)) end
end

return {
  name = "job",
  kind = "Job",
  owns = { "Pod" },
  resync = 300,
  reconcile = reconcile,
}
