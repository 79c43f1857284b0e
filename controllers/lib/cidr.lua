-- IPv4 addresses and CIDR blocks as plain integers. Lua 5.4 integers are
-- 64 bits wide, so an address (0 .. 2^32-1) and every sum of two never
-- overflow. A block is { addr = first address, prefix = 0..32 }, always
-- normalised to its network address.

local M = {}

-- "10.244.0.1" -> integer, or nil and a message. Each part is 0..255 in
-- decimal without leading zeros (which some tools read as octal).
function M.parse_ip(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil, string.format("%q is not an IPv4 address", s) end
  local n = 0
  for _, part in ipairs({ a, b, c, d }) do
    if #part > 3 or (#part > 1 and part:sub(1, 1) == "0") or tonumber(part) > 255 then
      return nil, string.format("%q is not an IPv4 address", s)
    end
    n = (n << 8) | tonumber(part)
  end
  return n
end

function M.format_ip(n)
  return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

-- The netmask of a prefix length, as an integer.
local function mask_of(prefix)
  return (0xffffffff << (32 - prefix)) & 0xffffffff
end

-- "10.244.0.0/16" -> block, or nil and a message. Host bits are cleared,
-- as Go's net.ParseCIDR does ("10.244.1.0/16" is 10.244.0.0/16).
function M.parse(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local ip, len = s:match("^([^/]+)/(%d+)$")
  if not ip then return nil, string.format("%q is not an IPv4 CIDR", s) end
  local addr = M.parse_ip(ip)
  local prefix = tonumber(len)
  if not addr or #len > 2 or prefix > 32 then
    return nil, string.format("%q is not an IPv4 CIDR", s)
  end
  return { addr = addr & mask_of(prefix), prefix = prefix }
end

function M.format(block)
  return M.format_ip(block.addr) .. "/" .. block.prefix
end

-- Addresses in the block.
function M.size(block)
  return 1 << (32 - block.prefix)
end

function M.last(block)
  return block.addr + M.size(block) - 1
end

-- Whether block holds x: an address (integer) or a whole block.
function M.contains(block, x)
  if math.type(x) == "integer" then return x >= block.addr and x <= M.last(block) end
  return x.prefix >= block.prefix and x.addr >= block.addr and M.last(x) <= M.last(block)
end

-- Whether two blocks share an address (one then holds the other).
function M.overlaps(a, b)
  return a.addr <= M.last(b) and b.addr <= M.last(a)
end

-- How many blocks of length prefix the block splits into (0 when prefix
-- is shorter than the block's own).
function M.count(block, prefix)
  if prefix < block.prefix or prefix > 32 then return 0 end
  return 1 << (prefix - block.prefix)
end

-- The n-th (from 0) block of length prefix inside block, or nil past the end.
function M.subnet(block, prefix, n)
  if n < 0 or n >= M.count(block, prefix) then return nil end
  return { addr = block.addr + (n << (32 - prefix)), prefix = prefix }
end

-- Which subnet of length prefix inside block holds the address x (from 0),
-- or nil when block does not hold x.
function M.index(block, prefix, x)
  if prefix < block.prefix or not M.contains(block, x) then return nil end
  return (x - block.addr) >> (32 - prefix)
end

return M
