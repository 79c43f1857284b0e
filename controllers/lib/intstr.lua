-- Int-or-percent values (maxSurge, maxUnavailable): an integer, or a
-- string "N%" that scales with a total.

local M = {}

-- The value v scaled against total: integers as they are, "N%" as
-- N * total / 100 rounded up or down. Returns nil and a message for
-- anything else.
function M.scaled(v, total, round_up)
  if math.type(v) == "integer" then return v end
  if type(v) == "number" and v == math.floor(v) then return math.floor(v) end
  if type(v) == "string" then
    local pct = v:match("^(%d+)%%$")
    if pct then
      -- Integer arithmetic avoids 0.1 + 0.2 style rounding surprises.
      local num = tonumber(pct) * total
      if round_up then return (num + 99) // 100 end
      return num // 100
    end
  end
  return nil, string.format("invalid int-or-percent value %q", tostring(v))
end

return M
