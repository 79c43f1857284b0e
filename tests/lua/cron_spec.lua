-- The cron schedule parser and next-time calculator (controllers/lib/cron.lua).

local cron = require("cron")

-- "2026-01-01T00:00:00Z" <-> seconds since the epoch, independent of the
-- local time zone.
local function t(s)
  local y, mo, d, h, mi, se = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  return cron.days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 +
         tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(se)
end
local function fmt(secs)
  if not secs then return "never" end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", secs)
end

describe("cron", function()
  local NEW_YEAR = "2026-01-01T00:00:00Z" -- a Thursday

  local cases = {
    { "* * * * *", NEW_YEAR, "2026-01-01T00:01:00Z" },
    { "* * * * *", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z" },
    { "0 * * * *", NEW_YEAR, "2026-01-01T01:00:00Z" },
    { "*/15 * * * *", NEW_YEAR, "2026-01-01T00:15:00Z" },
    { "*/15 * * * *", "2026-01-01T00:50:00Z", "2026-01-01T01:00:00Z" },
    { "5 4 * * *", NEW_YEAR, "2026-01-01T04:05:00Z" },
    { "0 0 * * *", "2026-01-01T23:59:00Z", "2026-01-02T00:00:00Z" },
    { "10-20/5 * * * *", NEW_YEAR, "2026-01-01T00:10:00Z" },
    { "10-20/5 * * * *", "2026-01-01T00:20:00Z", "2026-01-01T01:10:00Z" },
    { "5/20 * * * *", "2026-01-01T00:06:00Z", "2026-01-01T00:25:00Z" },
    { "1,2,30-31 * * * *", "2026-01-01T00:02:00Z", "2026-01-01T00:30:00Z" },
    { "0 9 * * MON-FRI", NEW_YEAR, "2026-01-01T09:00:00Z" },
    { "0 9 * * mon-fri", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z" },
    { "0 9 * * SAT,SUN", NEW_YEAR, "2026-01-03T09:00:00Z" },
    { "0 0 * * 7", NEW_YEAR, "2026-01-04T00:00:00Z" },
    { "0 0 * * 0", NEW_YEAR, "2026-01-04T00:00:00Z" },
    { "0 0 * * 5-7", NEW_YEAR, "2026-01-02T00:00:00Z" },
    { "0 0 13 * *", NEW_YEAR, "2026-01-13T00:00:00Z" },
    -- Both day fields restricted: the 13th OR any Friday.
    { "0 0 13 * FRI", NEW_YEAR, "2026-01-02T00:00:00Z" },
    { "0 0 13 * FRI", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z" },
    -- A stepped star restricts the field, so this is also OR.
    { "0 0 */10 * 1", "2026-01-02T00:00:00Z", "2026-01-05T00:00:00Z" },
    -- Day-of-week unrestricted: only the day of the month counts.
    { "0 0 */2 * *", NEW_YEAR, "2026-01-03T00:00:00Z" },
    { "0 0 1 * ?", NEW_YEAR, "2026-02-01T00:00:00Z" },
    { "0 0 31 * *", NEW_YEAR, "2026-01-31T00:00:00Z" },
    { "0 0 31 * *", "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z" },
    { "30 2 29 2 *", NEW_YEAR, "2028-02-29T02:30:00Z" },
    { "0 12 1 JAN,jul *", "2026-01-01T12:00:00Z", "2026-07-01T12:00:00Z" },
    { "0 0 1 */3 *", NEW_YEAR, "2026-04-01T00:00:00Z" },
    { "59 23 31 12 *", NEW_YEAR, "2026-12-31T23:59:00Z" },
    { "0 0 1 1 *", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z" },
    { "@hourly", NEW_YEAR, "2026-01-01T01:00:00Z" },
    { "@daily", NEW_YEAR, "2026-01-02T00:00:00Z" },
    { "@midnight", NEW_YEAR, "2026-01-02T00:00:00Z" },
    { "@weekly", NEW_YEAR, "2026-01-04T00:00:00Z" },
    { "@monthly", NEW_YEAR, "2026-02-01T00:00:00Z" },
    { "@yearly", NEW_YEAR, "2027-01-01T00:00:00Z" },
    { "@annually", NEW_YEAR, "2027-01-01T00:00:00Z" },
    { "  0  6  *  *  *  ", NEW_YEAR, "2026-01-01T06:00:00Z" },
    { "0 0 30 2 *", NEW_YEAR, nil }, -- February never has a 30th
  }

  for _, c in ipairs(cases) do
    it(string.format("%q after %s is %s", c[1], c[2], c[3] or "never"), function()
      local s, err = cron.parse(c[1])
      assert.is_nil(err)
      assert.are.equal(c[3] or "never", fmt(cron.next(s, t(c[2]))))
    end)
  end

  it("lists successive firings", function()
    local s = assert(cron.parse("0 */8 * * *"))
    local at, seen = t(NEW_YEAR), {}
    for i = 1, 4 do at = cron.next(s, at); seen[i] = fmt(at) end
    assert.are.same({ "2026-01-01T08:00:00Z", "2026-01-01T16:00:00Z",
                      "2026-01-02T00:00:00Z", "2026-01-02T08:00:00Z" }, seen)
  end)

  local invalid = {
    { "", "expected 5 fields" },
    { "* * * *", "expected 5 fields" },
    { "* * * * * *", "expected 5 fields" },
    { "60 * * * *", "minute value 60 out of range 0%-59" },
    { "* 24 * * *", "hour value 24" },
    { "* * 0 * *", "day%-of%-month value 0" },
    { "* * 32 * *", "day%-of%-month value 32" },
    { "* * * 13 *", "month value 13" },
    { "* * * 0 *", "month value 0" },
    { "* * * * 8", "day%-of%-week value 8" },
    { "5-1 * * * *", "runs backwards" },
    { "*/0 * * * *", "invalid step" },
    { "*/x * * * *", "invalid step" },
    { "a * * * *", "minute: invalid value" },
    { "* * * FOO *", "month: invalid value" },
    { "* * * * MON-FOO", "day%-of%-week: invalid value" },
    { "* JAN * * *", "hour: invalid value" },
    { "1,,2 * * * *", "empty list item" },
    { "1-2-3 * * * *", "minute: invalid value" },
    { "-1 * * * *", "minute: invalid value" },
    { "@reboot", "unknown descriptor" },
    { "TZ=UTC * * * * *", "time zones" },
    { "CRON_TZ=UTC 0 * * * *", "time zones" },
  }

  for _, c in ipairs(invalid) do
    it(string.format("rejects %q", c[1]), function()
      local s, err = cron.parse(c[1])
      assert.is_nil(s)
      assert.is_string(err)
      assert.truthy(err:find(c[2]), err)
    end)
  end

  it("rejects a non-string", function()
    local s, err = cron.parse(nil)
    assert.is_nil(s)
    assert.truthy(err:find("string"))
  end)

  it("converts civil dates both ways", function()
    for _, days in ipairs({ -1, 0, 59, 365, 10957, 20454, 24000 }) do
      local y, m, d = cron.civil_from_days(days)
      assert.are.equal(days, cron.days_from_civil(y, m, d))
    end
    assert.are.equal(0, cron.days_from_civil(1970, 1, 1))
  end)
end)
