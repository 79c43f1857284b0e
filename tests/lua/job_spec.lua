-- The Job controller (controllers/job.lua) against the fake berth module.

local fake = require("fake_berth")

describe("job controller", function()
  local berth, ctl

  before_each(function()
    berth = fake.new()
    ctl = fake.load("controllers/job.lua")
  end)

  local function add_job(spec)
    spec.template = spec.template or {
      metadata = { labels = { app = "calc" }, annotations = { note = "x" } },
      spec = { restartPolicy = spec.restartPolicy or "Never",
               containers = { { name = "pi", image = "perl" } } },
    }
    spec.restartPolicy = nil
    return berth.add({ apiVersion = "batch/v1", kind = "Job",
                       metadata = { name = "pi", namespace = "default" }, spec = spec })
  end

  local function job() return berth.get("Job", "default", "pi") end

  local function pods()
    return berth.list("Pod", "default")
  end

  local function active()
    local out = {}
    for _, p in ipairs(pods()) do
      local ph = (p.status or {}).phase
      if ph ~= "Succeeded" and ph ~= "Failed" then out[#out + 1] = p end
    end
    return out
  end

  local function finish(pod, phase)
    berth.set_status("Pod", "default", pod.metadata.name, {
      phase = phase,
      containerStatuses = { { name = "pi", restartCount = 0,
        state = { terminated = { exitCode = phase == "Succeeded" and 0 or 1,
                                 finishedAt = berth.time() } } } },
    })
  end

  local function run() return fake.reconcile(ctl, "default/pi") end

  local function condition(j, type_)
    for _, c in ipairs((j.status or {}).conditions or {}) do
      if c.type == type_ then return c end
    end
  end

  it("creates pods from the template with the job's labels, owner and finalizer", function()
    local j = add_job({ completions = 1 })
    run()
    local ps = pods()
    assert.are.equal(1, #ps)
    local md = ps[1].metadata
    assert.truthy(md.name:match("^pi%-"))
    assert.are.equal("calc", md.labels.app)
    assert.are.equal("pi", md.labels["job-name"])
    assert.are.equal("pi", md.labels["batch.kubernetes.io/job-name"])
    assert.are.equal(j.metadata.uid, md.labels["controller-uid"])
    assert.are.equal(j.metadata.uid, md.labels["batch.kubernetes.io/controller-uid"])
    assert.are.equal("x", md.annotations.note)
    assert.are.equal(j.metadata.uid, md.ownerReferences[1].uid)
    assert.is_true(md.ownerReferences[1].controller)
    assert.are.same({ "batch.kubernetes.io/job-tracking" }, md.finalizers)
    assert.are.equal("Never", ps[1].spec.restartPolicy)
    local st = job().status
    assert.are.equal(1, st.active)
    assert.is_string(st.startTime)
    assert.are.equal("SuccessfulCreate", berth.events[1].reason)
  end)

  it("runs 5 completions at most 2 at a time and then completes", function()
    add_job({ completions = 5, parallelism = 2 })
    local created = 0
    for _ = 1, 10 do
      berth.reset_writes()
      run()
      created = created + #berth.writes_of("create", "Pod")
      local act = active()
      assert.is_true(#act <= 2)
      if condition(job(), "Complete") then break end
      -- Never more pods than completions still missing.
      assert.is_true(#act <= 5 - (job().status.succeeded or 0))
      berth.advance(5)
      for _, p in ipairs(act) do finish(p, "Succeeded") end
    end
    local st = job().status
    assert.are.equal(5, created)
    assert.are.equal(5, st.succeeded)
    assert.are.equal(0, st.failed)
    assert.are.equal(0, st.active)
    assert.is_string(st.completionTime)
    local c = condition(job(), "Complete")
    assert.are.equal("True", c.status)
    assert.is_string(c.lastTransitionTime)
    assert.is_string(c.lastProbeTime)
    -- Finished pods are kept, with their finalizers released.
    assert.are.equal(5, #pods())
    for _, p in ipairs(pods()) do assert.is_nil(p.metadata.finalizers) end
    assert.are.equal(0, #berth.writes_of("delete", "Pod"))
  end)

  it("creates only the pods still needed when fewer completions remain", function()
    add_job({ completions = 3, parallelism = 2 })
    run()
    local act = active()
    finish(act[1], "Succeeded")
    finish(act[2], "Succeeded")
    run()
    assert.are.equal(1, #active())
    assert.are.equal(2, job().status.succeeded)
  end)

  it("counts each finished pod once", function()
    add_job({ completions = 3, parallelism = 1 })
    run()
    finish(active()[1], "Succeeded")
    for _ = 1, 4 do run() end
    assert.are.equal(1, job().status.succeeded)
    -- Deleting a counted pod does not lower the count.
    local done = pods()[1]
    berth.delete("Pod", "default", done.metadata.name)
    run()
    assert.are.equal(1, job().status.succeeded)
    assert.are.equal(1, #active())
  end)

  it("records a finished pod as uncounted before releasing it", function()
    add_job({ completions = 2, parallelism = 1 })
    run()
    local p = active()[1]
    finish(p, "Succeeded")
    berth.fail_next("patch", "InternalError")
    run()
    local st = job().status
    assert.are.same({ p.metadata.uid }, st.uncountedTerminatedPods.succeeded)
    assert.are.equal(0, st.succeeded or 0)
    run()
    st = job().status
    assert.are.equal(1, st.succeeded)
    assert.is_nil(st.uncountedTerminatedPods.succeeded)
  end)

  it("completes a work queue when one pod succeeded and none is active", function()
    add_job({ parallelism = 3 })
    run()
    local act = active()
    assert.are.equal(3, #act)
    finish(act[1], "Succeeded")
    run()
    -- No new pod after a success; the others keep running.
    assert.are.equal(2, #active())
    assert.is_nil(condition(job(), "Complete"))
    finish(act[2], "Succeeded")
    finish(act[3], "Succeeded")
    run()
    assert.are.equal("True", condition(job(), "Complete").status)
    assert.are.equal(3, job().status.succeeded)
    assert.are.equal(3, #pods())
  end)

  it("runs one pod when neither completions nor parallelism is set", function()
    add_job({})
    run()
    assert.are.equal(1, #active())
    finish(active()[1], "Succeeded")
    run()
    assert.are.equal("True", condition(job(), "Complete").status)
  end)

  it("replaces failed pods after a growing delay and fails past backoffLimit", function()
    add_job({ completions = 1, backoffLimit = 2 })
    run()
    for attempt = 1, 3 do
      local p = active()[1]
      assert.is_not_nil(p, "attempt " .. attempt)
      finish(p, "Failed")
      local delay = run()
      if attempt < 3 then
        -- 10 s after the first failure, 20 s after the second.
        assert.are.equal(0, #active())
        assert.are.equal(10 * 2 ^ (attempt - 1), delay)
        assert.are.equal(attempt, job().status.failed)
        berth.advance(delay)
        run()
        assert.are.equal(1, #active())
      end
    end
    local j = job()
    assert.are.equal(3, j.status.failed)
    local c = condition(j, "Failed")
    assert.are.equal("True", c.status)
    assert.are.equal("BackoffLimitExceeded", c.reason)
    assert.is_nil(j.status.completionTime)
    assert.are.equal(3, #pods())
    run()
    assert.are.equal(3, #pods())
  end)

  it("counts container restarts against backoffLimit under OnFailure", function()
    add_job({ completions = 1, backoffLimit = 3, restartPolicy = "OnFailure" })
    run()
    local p = active()[1]
    assert.are.equal("OnFailure", p.spec.restartPolicy)
    berth.set_status("Pod", "default", p.metadata.name, { phase = "Running",
      containerStatuses = { { name = "pi", restartCount = 2 } } })
    run()
    assert.is_nil(condition(job(), "Failed"))
    berth.set_status("Pod", "default", p.metadata.name, { phase = "Running",
      containerStatuses = { { name = "pi", restartCount = 3 } } })
    run()
    assert.are.equal("BackoffLimitExceeded", condition(job(), "Failed").reason)
    -- The restarting pod is stopped.
    assert.are.equal(0, #pods())
  end)

  it("fails with DeadlineExceeded after activeDeadlineSeconds and deletes active pods", function()
    add_job({ completions = 4, parallelism = 2, activeDeadlineSeconds = 30 })
    local delay = run()
    assert.are.equal(30, delay)
    berth.advance(10)
    assert.are.equal(20, run())
    berth.advance(20)
    run()
    local j = job()
    local c = condition(j, "Failed")
    assert.are.equal("DeadlineExceeded", c.reason)
    assert.are.equal("Job was active longer than specified deadline", c.message)
    assert.are.equal(0, #pods())
    assert.are.equal(0, j.status.active)
    assert.are.equal("DeadlineExceeded", berth.events[#berth.events].reason)
  end)

  it("deletes a finished job after ttlSecondsAfterFinished with Background propagation", function()
    add_job({ completions = 1, ttlSecondsAfterFinished = 100 })
    run()
    finish(active()[1], "Succeeded")
    assert.are.equal(100, run())
    berth.advance(60)
    assert.are.equal(40, run())
    berth.advance(40)
    run()
    assert.is_nil(job())
    local d = berth.writes_of("delete", "Job")
    assert.are.equal(1, #d)
    assert.are.equal("Background", d[1].opts.propagationPolicy)
  end)

  it("deletes active pods while suspended and restarts the clock on resume", function()
    add_job({ completions = 2, parallelism = 2, activeDeadlineSeconds = 50 })
    run()
    assert.are.equal(2, #active())
    local j = job()
    j.spec.suspend = true
    berth.update(j)
    berth.advance(40)
    run()
    assert.are.equal(0, #pods())
    local c = condition(job(), "Suspended")
    assert.are.equal("True", c.status)
    assert.are.equal("JobSuspended", c.reason)
    assert.are.equal(0, job().status.active)
    -- Still suspended well past the deadline: nothing happens.
    berth.advance(100)
    run()
    assert.is_nil(condition(job(), "Failed"))
    j = job()
    j.spec.suspend = false
    berth.update(j)
    assert.are.equal(50, run())
    assert.are.equal(2, #active())
    assert.are.equal("False", condition(job(), "Suspended").status)
    assert.are.equal(berth.time(), job().status.startTime)
    assert.are.equal(0, job().status.failed)
  end)

  it("reports ready pods", function()
    add_job({ completions = 2, parallelism = 2 })
    run()
    local p = active()[1]
    berth.set_status("Pod", "default", p.metadata.name, { phase = "Running",
      conditions = { { type = "Ready", status = "True" } } })
    run()
    assert.are.equal(1, job().status.ready)
    assert.are.equal(2, job().status.active)
  end)

  it("writes status only when it changes", function()
    add_job({ completions = 1 })
    run()
    berth.reset_writes()
    run()
    run()
    assert.are.equal(0, #berth.writes)
  end)

  it("deletes surplus pods when parallelism shrinks", function()
    add_job({ completions = 6, parallelism = 3 })
    run()
    local j = job()
    j.spec.parallelism = 1
    berth.update(j)
    run()
    assert.are.equal(1, #active())
  end)

  it("releases the finalizers of pods whose job was deleted", function()
    add_job({ completions = 2, parallelism = 2 })
    run()
    berth.delete("Job", "default", "pi")
    run()
    for _, p in ipairs(pods()) do assert.is_nil(p.metadata.finalizers) end
  end)

  it("ignores pods the job does not control", function()
    add_job({ completions = 1 })
    berth.add({ apiVersion = "v1", kind = "Pod", metadata = { name = "other",
      namespace = "default", labels = { ["job-name"] = "pi" } }, spec = {} })
    run()
    assert.are.equal(2, #pods())
    assert.are.equal(1, job().status.active)
  end)

  it("treats a conflicting status write as a retry, not an error", function()
    add_job({ completions = 1 })
    berth.fail_next("update_status", "Conflict")
    assert.has_no.errors(run)
    run()
    assert.are.equal(1, job().status.active)
    assert.are.equal(1, #pods())
  end)

  it("does nothing for a missing job", function()
    assert.has_no.errors(function() fake.reconcile(ctl, "default/none") end)
  end)
end)
