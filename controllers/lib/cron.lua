-- Standard five-field cron schedules (minute hour day-of-month month
-- day-of-week) and the next time a schedule fires, in UTC.
--
--   local cron = require("cron")
--   local s, err = cron.parse("*/15 9-17 * * MON-FRI")
--   local t = cron.next(s, berth.now())   -- first firing strictly after now
--
-- The grammar follows the parser Kubernetes uses for CronJobs: each field is
-- a comma-separated list of `*`, `?`, a value, a range `a-b`, any of those
-- with a step `/n`, and `a/n` meaning `a-max/n`. Months take JAN-DEC and days
-- of the week SUN-SAT (case-insensitive); 7 is Sunday too. When both the
-- day-of-month and the day-of-week are restricted (neither starts with `*`
-- or `?` without a step), a day matches if EITHER matches, as in Vixie cron.
-- The descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight and
-- @hourly are accepted.

local M = {}

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6,
                 jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }
local DAYS = { sun = 0, mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6 }

-- Field bounds in the order the fields appear.
local FIELDS = {
  { name = "minute", min = 0, max = 59 },
  { name = "hour", min = 0, max = 23 },
  { name = "day-of-month", min = 1, max = 31 },
  { name = "month", min = 1, max = 12, names = MONTHS },
  { name = "day-of-week", min = 0, max = 7, names = DAYS },
}

local DESCRIPTORS = {
  ["@yearly"] = "0 0 1 1 *", ["@annually"] = "0 0 1 1 *",
  ["@monthly"] = "0 0 1 * *", ["@weekly"] = "0 0 * * 0",
  ["@daily"] = "0 0 * * *", ["@midnight"] = "0 0 * * *",
  ["@hourly"] = "0 * * * *",
}

-- One value of a field: a decimal number or, where the field has them, a
-- three-letter name.
local function value(text, f)
  if text:match("^%d+$") then
    local v = tonumber(text)
    if v < f.min or v > f.max then
      return nil, string.format("%s value %s out of range %d-%d", f.name, text, f.min, f.max)
    end
    return v
  end
  local v = f.names and f.names[text:lower()]
  if v == nil then return nil, string.format("%s: invalid value %q", f.name, text) end
  return v
end

-- Parses one comma-separated field into a set (value -> true). Also returns
-- whether the field is unrestricted in the `*` sense used by the day rule.
local function field(text, f)
  local set, star = {}, false
  if text == "" then return nil, f.name .. " is empty" end
  for item in (text .. ","):gmatch("([^,]*),") do
    if item == "" then return nil, f.name .. ": empty list item in " .. string.format("%q", text) end
    local range, step = item:match("^([^/]*)/(.*)$")
    if not range then range = item end
    local lo, hi, item_star
    if range == "*" or range == "?" then
      lo, hi, item_star = f.min, f.max, true
    else
      local a, b = range:match("^([^-]+)-([^-]+)$")
      local err
      if a then
        lo, err = value(a, f); if not lo then return nil, err end
        hi, err = value(b, f); if not hi then return nil, err end
        if lo > hi then
          return nil, string.format("%s: range %s runs backwards", f.name, range)
        end
      else
        lo, err = value(range, f); if not lo then return nil, err end
        -- "a/n" means from a to the end of the field, every n.
        hi = step and f.max or lo
      end
    end
    local n = 1
    if step then
      if not step:match("^%d+$") or tonumber(step) == 0 then
        return nil, string.format("%s: invalid step %q", f.name, step)
      end
      n = tonumber(step)
    end
    if item_star and n == 1 then star = true end
    for v = lo, hi, n do set[v] = true end
  end
  return set, star
end

-- Parses a schedule. Returns a schedule table, or nil and a message naming
-- the bad field.
function M.parse(expr)
  if type(expr) ~= "string" then return nil, "schedule must be a string" end
  local text = expr:match("^%s*(.-)%s*$")
  if text:match("^CRON_TZ=") or text:match("^TZ=") then
    return nil, "time zones in the schedule (TZ=...) are not supported; use spec.timeZone"
  end
  if text:sub(1, 1) == "@" then
    local std = DESCRIPTORS[text:lower()]
    if not std then return nil, string.format("unknown descriptor %q", text) end
    text = std
  end
  local parts = {}
  for p in text:gmatch("%S+") do parts[#parts + 1] = p end
  if #parts ~= 5 then
    return nil, string.format("expected 5 fields (minute hour day-of-month month day-of-week), found %d in %q",
                              #parts, expr)
  end
  local s = { expr = expr }
  local keys = { "minute", "hour", "dom", "month", "dow" }
  for i, f in ipairs(FIELDS) do
    local set, star = field(parts[i], f)
    if not set then return nil, star end
    s[keys[i]] = set
    s[keys[i] .. "_star"] = star
  end
  -- 7 is another name for Sunday.
  if s.dow[7] then s.dow[0] = true; s.dow[7] = nil end
  return s
end

-- Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return y, m, d
end

M.days_from_civil = days_from_civil
M.civil_from_days = civil_from_days

local function day_matches(s, days)
  local _, _, d = civil_from_days(days)
  local dow = (days + 4) % 7 -- 1970-01-01 was a Thursday.
  local dom_ok, dow_ok = s.dom[d] == true, s.dow[dow] == true
  if s.dom_star or s.dow_star then return dom_ok and dow_ok end
  return dom_ok or dow_ok
end

-- The first time (whole seconds since the epoch, on a minute boundary)
-- strictly after t at which the schedule fires, or nil if it never fires in
-- the next five years (e.g. "0 0 30 2 *").
function M.next(s, t)
  local minute = math.floor(t) // 60 + 1
  local days = minute // 1440
  local y0 = civil_from_days(days)
  local mod = minute % 1440
  local h, mi = mod // 60, mod % 60
  while true do
    local y, m = civil_from_days(days)
    if y > y0 + 5 then return nil end
    if not s.month[m] then
      -- Jump to the first day of the next month.
      if m == 12 then y, m = y + 1, 1 else m = m + 1 end
      days, h, mi = days_from_civil(y, m, 1), 0, 0
    elseif not day_matches(s, days) then
      days, h, mi = days + 1, 0, 0
    elseif not s.hour[h] then
      h, mi = h + 1, 0
      if h == 24 then days, h = days + 1, 0 end
    elseif not s.minute[mi] then
      mi = mi + 1
      if mi == 60 then
        h, mi = h + 1, 0
        if h == 24 then days, h = days + 1, 0 end
      end
    else
      return days * 86400 + h * 3600 + mi * 60
    end
  end
end

return M
