-- The CronJob controller: creates a Job from spec.jobTemplate at each time
-- spec.schedule names (standard five-field cron, see lib/cron.lua), in UTC.
--
-- Jobs are named "<cronjob>-<scheduled time in minutes since the epoch>", so
-- a run is created at most once however often the key is reconciled. Of the
-- runs missed while the controller was away only the most recent is started;
-- spec.startingDeadlineSeconds bounds how late a run may start. Finished
-- Jobs beyond the history limits are deleted, oldest first.
--
-- spec.timeZone may be unset, "UTC" or "Etc/UTC"; any other zone is reported
-- with an UnknownTimeZone event and nothing is scheduled until it is fixed.

local berth = require("berth")
local cron = require("cron")
local workload = require("workload")

local SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
local MAX_MISSED = 100

local function finished(job)
  for _, c in ipairs((job.status or {}).conditions or {}) do
    if (c.type == "Complete" or c.type == "Failed") and c.status == "True" then
      return c.type
    end
  end
end

local function ref(job)
  return { apiVersion = "batch/v1", kind = "Job", name = job.metadata.name,
           namespace = job.metadata.namespace, uid = job.metadata.uid }
end

-- The most recent scheduled time in (earliest, now], and how many there are
-- (counting stops past MAX_MISSED). A schedule that fires every minute for a
-- month must not cost a month of steps: past the cap, the search restarts
-- from ever earlier points before now until one finds a firing.
local function most_recent(sched, earliest, now)
  local t, last, n = earliest, nil, 0
  while true do
    t = cron.next(sched, t)
    if not t or t > now then return last, n end
    last, n = t, n + 1
    if n > MAX_MISSED then break end
  end
  for _, back in ipairs({ 3600, 86400, 32 * 86400, 367 * 86400, 5 * 367 * 86400 }) do
    local from = math.max(now - back, last)
    local u = cron.next(sched, from)
    if u and u <= now then
      last = u
      while true do
        u = cron.next(sched, u)
        if not u or u > now then return last, n end
        last = u
      end
    end
  end
  return last, n
end

-- Deletes the oldest finished jobs of one kind beyond limit.
local function prune(cj, jobs, limit)
  if #jobs <= limit then return end
  table.sort(jobs, function(a, b)
    local sa = (a.status or {}).startTime or a.metadata.creationTimestamp or ""
    local sb = (b.status or {}).startTime or b.metadata.creationTimestamp or ""
    if sa ~= sb then return sa < sb end
    return a.metadata.name < b.metadata.name
  end)
  for i = 1, #jobs - limit do
    local j = jobs[i]
    local ok, msg, reason = berth.delete("Job", j.metadata.namespace, j.metadata.name,
                                         { propagationPolicy = "Background" })
    if ok then
      berth.event(cj, "Normal", "SuccessfulDelete", "Deleted job " .. j.metadata.name)
    elseif reason ~= "NotFound" then
      berth.log.warn("deleting old job %s: %s", j.metadata.name, tostring(msg))
    end
  end
end

local function new_job(cj, at)
  local tmpl = cj.spec.jobTemplate or {}
  local tm = tmpl.metadata or {}
  local annotations = berth.copy(tm.annotations or {})
  annotations[SCHEDULED_AT] = berth.time(at)
  return {
    apiVersion = "batch/v1",
    kind = "Job",
    metadata = {
      name = string.format("%s-%d", cj.metadata.name, at // 60),
      namespace = cj.metadata.namespace,
      labels = berth.copy(tm.labels or {}),
      annotations = annotations,
      ownerReferences = berth.array({ berth.owner_ref(cj) }),
    },
    spec = berth.copy(tmpl.spec or {}),
  }
end

local function reconcile(req)
  local cj = berth.get("CronJob", req.namespace, req.name)
  if not cj then return end
  cj.spec = cj.spec or {}
  cj.status = cj.status or {}
  local spec, status = cj.spec, cj.status
  local old = berth.copy(status)
  local now = math.floor(berth.now())

  -- Sort the children: running ones are the active list, finished ones
  -- feed lastSuccessfulTime and the history limits.
  local jobs = workload.controlled(berth.owned("Job", cj), cj)
  local active, succeeded, failed, by_name = {}, {}, {}, {}
  for _, j in ipairs(jobs) do
    by_name[j.metadata.name] = j
    local how = finished(j)
    if how == "Complete" then
      succeeded[#succeeded + 1] = j
      local t = (j.status or {}).completionTime
      if t and (not status.lastSuccessfulTime or t > status.lastSuccessfulTime) then
        status.lastSuccessfulTime = t
      end
    elseif how == "Failed" then
      failed[#failed + 1] = j
    elseif not j.metadata.deletionTimestamp then
      active[#active + 1] = j
    end
  end
  prune(cj, succeeded, spec.successfulJobsHistoryLimit or 3)
  prune(cj, failed, spec.failedJobsHistoryLimit or 1)

  local wake
  local function done()
    local refs = berth.array({})
    for _, j in ipairs(active) do refs[#refs + 1] = ref(j) end
    status.active = #refs > 0 and refs or nil
    local ok, msg, reason = workload.write_status(cj, old)
    if not ok and reason ~= "Conflict" then error("cronjob status: " .. tostring(msg)) end
    if wake then berth.requeue_after(wake) end
  end

  if spec.suspend or cj.metadata.deletionTimestamp then return done() end

  local sched, err = cron.parse(spec.schedule)
  if not sched then
    berth.event(cj, "Warning", "UnparseableSchedule", "unparseable schedule: " .. tostring(err))
    return done()
  end
  local tz = spec.timeZone
  if tz ~= nil and tz ~= "UTC" and tz ~= "Etc/UTC" then
    berth.event(cj, "Warning", "UnknownTimeZone",
                string.format("time zone %q is not supported; berth schedules in UTC only", tz))
    return done()
  end

  local following = cron.next(sched, now)
  wake = following and following - now

  -- Which run is due: the most recent scheduled time after the last one
  -- started (or the CronJob's creation), no older than the starting deadline.
  local earliest = berth.parse_time(status.lastScheduleTime) or
                   berth.parse_time(cj.metadata.creationTimestamp) or now
  local deadline = spec.startingDeadlineSeconds
  if deadline and now - deadline > earliest then earliest = now - deadline end
  local at, missed = most_recent(sched, earliest, now)
  if missed > MAX_MISSED then
    berth.event(cj, "Warning", "TooManyMissedTimes", string.format(
      "too many missed start times: %d or more. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      missed))
  end
  if not at then return done() end
  if deadline and at + deadline < now then
    berth.event(cj, "Warning", "MissSchedule",
                "Missed scheduled time to start a job: " .. berth.time(at))
    return done()
  end

  local job = new_job(cj, at)
  if by_name[job.metadata.name] then
    -- This run was already started.
    status.lastScheduleTime = berth.time(at)
    return done()
  end
  local policy = spec.concurrencyPolicy or "Allow"
  if policy == "Forbid" and #active > 0 then
    -- The run stays due: it starts when the running job ends, if it is still
    -- within the starting deadline then.
    berth.event(cj, "Normal", "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid")
    return done()
  end
  if policy == "Replace" then
    for _, j in ipairs(active) do
      local ok, msg, reason = berth.delete("Job", j.metadata.namespace, j.metadata.name,
                                           { propagationPolicy = "Background" })
      if not ok and reason ~= "NotFound" then
        error("replacing job " .. j.metadata.name .. ": " .. tostring(msg))
      end
      berth.event(cj, "Normal", "SuccessfulDelete", "Deleted job " .. j.metadata.name)
    end
    active = {}
  end

  local created, msg, reason = berth.create(job)
  if not created and reason ~= "AlreadyExists" then
    berth.event(cj, "Warning", "FailedCreate", "Error creating job: " .. tostring(msg))
    done()
    error("creating job " .. job.metadata.name .. ": " .. tostring(msg))
  end
  if created then
    active[#active + 1] = created
    berth.event(cj, "Normal", "SuccessfulCreate", "Created job " .. created.metadata.name)
  end
  status.lastScheduleTime = berth.time(at)
  done()
end

return {
  name = "cronjob",
  kind = "CronJob",
  owns = { "Job" },
  resync = 300,
  reconcile = reconcile,
}
