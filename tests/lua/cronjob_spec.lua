-- The CronJob controller (controllers/cronjob.lua) against the fake berth module.

local fake = require("fake_berth")

describe("cronjob controller", function()
  local berth, ctl, T0

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/cronjob.lua")
    T0 = berth.now() -- 2026-01-01T00:00:00Z
  end)

  local function add_cronjob(spec)
    spec.jobTemplate = spec.jobTemplate or {
      metadata = { labels = { app = "report" }, annotations = { team = "ops" } },
      spec = { template = { spec = { restartPolicy = "Never",
                                     containers = { { name = "r", image = "busybox" } } } } },
    }
    return berth.add({ apiVersion = "batch/v1", kind = "CronJob",
                       metadata = { name = "report", namespace = "default" }, spec = spec })
  end

  local function cronjob() return berth.get("CronJob", "default", "report") end
  local function jobs() return berth.list("Job", "default") end
  local function run() return fake.reconcile(ctl, "default/report") end
  local function job_name(t) return string.format("report-%d", t // 60) end

  local function finish_job(name, how, at)
    local j = berth.get("Job", "default", name)
    berth.set_status("Job", "default", name, {
      startTime = (j.status or {}).startTime or berth.time(at),
      completionTime = how == "Complete" and berth.time(at) or nil,
      conditions = { { type = how, status = "True" } },
    })
  end

  local function events(reason)
    local out = {}
    for _, e in ipairs(berth.events) do if e.reason == reason then out[#out + 1] = e end end
    return out
  end

  it("waits for the first scheduled time, then creates the job", function()
    local cj = add_cronjob({ schedule = "*/5 * * * *" })
    assert.are.equal(300, run())
    assert.are.equal(0, #jobs())
    berth.advance(300)
    assert.are.equal(300, run())
    local js = jobs()
    assert.are.equal(1, #js)
    local j = js[1]
    assert.are.equal(job_name(T0 + 300), j.metadata.name)
    assert.are.equal("report", j.metadata.labels.app)
    assert.are.equal("ops", j.metadata.annotations.team)
    assert.are.equal("2026-01-01T00:05:00Z",
                     j.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"])
    assert.are.equal(cj.metadata.uid, j.metadata.ownerReferences[1].uid)
    assert.are.equal("Never", j.spec.template.spec.restartPolicy)
    local st = cronjob().status
    assert.are.equal("2026-01-01T00:05:00Z", st.lastScheduleTime)
    assert.are.same({ { apiVersion = "batch/v1", kind = "Job", name = j.metadata.name,
                        namespace = "default", uid = j.metadata.uid } }, st.active)
  end)

  it("creates a run once however often it reconciles", function()
    add_cronjob({ schedule = "*/5 * * * *" })
    berth.advance(301)
    run(); run(); run()
    assert.are.equal(1, #jobs())
  end)

  it("requeues until the next scheduled time", function()
    add_cronjob({ schedule = "30 2 * * *" })
    assert.are.equal(2 * 3600 + 1800, run())
    berth.advance(3600)
    assert.are.equal(3600 + 1800, run())
  end)

  it("starts only the most recent of several missed runs", function()
    add_cronjob({ schedule = "*/5 * * * *" })
    berth.advance(3600 + 120) -- 00:00 .. 01:02: twelve runs missed
    run()
    local js = jobs()
    assert.are.equal(1, #js)
    assert.are.equal(job_name(T0 + 3600), js[1].metadata.name)
    assert.are.equal(0, #events("TooManyMissedTimes"))
  end)

  it("reports more than 100 missed runs and still starts the latest", function()
    add_cronjob({ schedule = "* * * * *" })
    berth.advance(30 * 86400 + 90)
    run()
    assert.are.equal(1, #events("TooManyMissedTimes"))
    local js = jobs()
    assert.are.equal(1, #js)
    assert.are.equal(job_name(T0 + 30 * 86400 + 60), js[1].metadata.name)
  end)

  it("skips runs older than startingDeadlineSeconds", function()
    add_cronjob({ schedule = "*/5 * * * *", startingDeadlineSeconds = 30 })
    berth.advance(360) -- the 00:05 run is 60 s late
    assert.are.equal(240, run())
    assert.are.equal(0, #jobs())
    berth.advance(250) -- 00:10:10: within the deadline
    run()
    assert.are.equal(1, #jobs())
    assert.are.equal(job_name(T0 + 600), jobs()[1].metadata.name)
  end)

  it("with a starting deadline does not count runs older than the deadline as missed", function()
    add_cronjob({ schedule = "* * * * *", startingDeadlineSeconds = 600 })
    berth.advance(86400)
    run()
    assert.are.equal(0, #events("TooManyMissedTimes"))
    assert.are.equal(1, #jobs())
  end)

  it("runs jobs side by side under Allow", function()
    add_cronjob({ schedule = "*/5 * * * *" })
    berth.advance(300); run()
    berth.advance(300); run()
    assert.are.equal(2, #jobs())
    assert.are.equal(2, #cronjob().status.active)
  end)

  it("skips while a job is active under Forbid and starts the due run after", function()
    add_cronjob({ schedule = "*/5 * * * *", concurrencyPolicy = "Forbid" })
    berth.advance(300); run()
    berth.advance(300); run()
    assert.are.equal(1, #jobs())
    assert.are.equal(1, #events("JobAlreadyActive"))
    assert.are.equal("2026-01-01T00:05:00Z", cronjob().status.lastScheduleTime)
    berth.advance(30)
    finish_job(job_name(T0 + 300), "Complete", berth.now())
    run()
    local js = jobs()
    assert.are.equal(2, #js)
    assert.are.equal(job_name(T0 + 600), js[2].metadata.name)
    local st = cronjob().status
    assert.are.equal("2026-01-01T00:10:30Z", st.lastSuccessfulTime)
    assert.are.equal(1, #st.active)
    assert.are.equal(job_name(T0 + 600), st.active[1].name)
  end)

  it("deletes the active job and creates the new one under Replace", function()
    add_cronjob({ schedule = "*/5 * * * *", concurrencyPolicy = "Replace" })
    berth.advance(300); run()
    berth.advance(300); run()
    local js = jobs()
    assert.are.equal(1, #js)
    assert.are.equal(job_name(T0 + 600), js[1].metadata.name)
    local d = berth.writes_of("delete", "Job")
    assert.are.equal(1, #d)
    assert.are.equal(job_name(T0 + 300), d[1].obj.metadata.name)
    assert.are.equal("Background", d[1].opts.propagationPolicy)
  end)

  it("creates nothing while suspended", function()
    add_cronjob({ schedule = "* * * * *", suspend = true })
    berth.advance(600)
    assert.is_nil(run())
    assert.are.equal(0, #jobs())
  end)

  it("keeps the newest finished jobs within the history limits", function()
    add_cronjob({ schedule = "* * * * *", successfulJobsHistoryLimit = 2,
                  failedJobsHistoryLimit = 1 })
    local names = {}
    for i = 1, 6 do
      berth.advance(60)
      run()
      names[i] = job_name(T0 + 60 * i)
      finish_job(names[i], i <= 4 and "Complete" or "Failed", berth.now())
    end
    berth.advance(1)
    run()
    local left = {}
    for _, j in ipairs(jobs()) do left[#left + 1] = j.metadata.name end
    table.sort(left)
    local want = { names[3], names[4], names[6] }
    table.sort(want)
    assert.are.same(want, left)
    for _, w in ipairs(berth.writes_of("delete", "Job")) do
      assert.are.equal("Background", w.opts.propagationPolicy)
    end
    assert.is_nil(cronjob().status.active)
  end)

  it("deletes finished jobs down to the default limits (3 successful, 1 failed)", function()
    add_cronjob({ schedule = "* * * * *" })
    for i = 1, 5 do
      berth.advance(60); run()
      finish_job(job_name(T0 + 60 * i), "Complete", berth.now())
    end
    run()
    assert.are.equal(3, #jobs())
  end)

  it("reports an unparseable schedule and creates nothing", function()
    add_cronjob({ schedule = "61 * * * *" })
    berth.advance(3600)
    assert.has_no.errors(run)
    assert.are.equal(0, #jobs())
    local e = events("UnparseableSchedule")
    assert.are.equal(1, #e)
    assert.are.equal("Warning", e[1].type)
    assert.truthy(e[1].message:find("minute"))
  end)

  it("accepts UTC time zones and reports others", function()
    add_cronjob({ schedule = "@hourly", timeZone = "Etc/UTC" })
    berth.advance(3600)
    run()
    assert.are.equal(1, #jobs())
    local cj = cronjob()
    cj.spec.timeZone = "Europe/Paris"
    berth.update(cj)
    berth.advance(3600)
    run()
    assert.are.equal(1, #jobs())
    assert.are.equal(1, #events("UnknownTimeZone"))
  end)

  it("supports descriptors such as @daily", function()
    add_cronjob({ schedule = "@daily" })
    assert.are.equal(86400, run())
    berth.advance(86400)
    run()
    assert.are.equal(job_name(T0 + 86400), jobs()[1].metadata.name)
  end)

  it("writes status only when it changes", function()
    add_cronjob({ schedule = "*/5 * * * *" })
    berth.advance(300)
    run()
    berth.reset_writes()
    run()
    assert.are.equal(0, #berth.writes)
  end)
end)
