-- A fake of the `berth` module for busted specs: an in-memory API with the
-- semantics controllers rely on (resourceVersion checks, generateName,
-- generation bumps, the status subresource), a settable clock, and a record
-- of every write. No daemon, no C.
--
--   local fake = require("fake_berth")
--   local berth = fake.new()          -- also becomes require("berth")
--   local ctl = fake.load("controllers/replicaset.lua")
--   fake.reconcile(ctl, "default/web")

local M = {}

-- Modules loaded before this one (busted's own); everything required later,
-- such as the controllers' lib/ modules, is unloaded by M.load so each
-- controller gets them afresh, bound to the current fake as in the host's
-- one Lua state per controller.
local preloaded = {}
for name in pairs(package.loaded) do preloaded[name] = true end

local array_mt = { __name = "berth.array" }
local null = setmetatable({}, { __name = "berth.null", __tostring = function() return "null" end })

local function is_array(t)
  if getmetatable(t) == array_mt then return true end
  if next(t) == nil then return false end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

local function copy(v)
  if type(v) ~= "table" or v == null then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return setmetatable(out, getmetatable(v) == array_mt and array_mt or nil)
end

local function equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- Canonical JSON: sorted keys, no spaces. The C host encodes the same way for
-- berth.template_hash, so both give the same names.
local function canonical(v, out)
  local t = type(v)
  if v == nil or v == null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 2^53) then
      out[#out + 1] = string.format("%d", math.floor(v))
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif is_array(v) then
    out[#out + 1] = "["
    for i, x in ipairs(v) do
      if i > 1 then out[#out + 1] = "," end
      canonical(x, out)
    end
    out[#out + 1] = "]"
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      canonical(k, out)
      out[#out + 1] = ":"
      canonical(v[k], out)
    end
    out[#out + 1] = "}"
  end
  return out
end

local SAFE = "bcdfghjklmnpqrstvwxz2456789"

local function template_hash(tbl, collisions)
  local s = table.concat(canonical(tbl, {}))
  if collisions then s = s .. string.format("%d", collisions) end
  local h = 0x811c9dc5
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = (h * 0x01000193) & 0xffffffff
  end
  local dec = string.format("%d", h)
  local out = {}
  for i = 1, #dec do
    local b = dec:byte(i)
    local j = b % #SAFE + 1
    out[i] = SAFE:sub(j, j)
  end
  return table.concat(out)
end

-- Label selectors, text or table form.
local function parse_selector(sel)
  if sel == nil then return {} end
  local reqs = {}
  if type(sel) == "table" then
    for k, v in pairs(sel.matchLabels or {}) do
      reqs[#reqs + 1] = { key = k, op = "In", values = { v } }
    end
    for _, e in ipairs(sel.matchExpressions or {}) do
      reqs[#reqs + 1] = { key = e.key, op = e.operator, values = e.values or {} }
    end
    return reqs
  end
  -- Split on commas outside parentheses: "a in (x,y),b" is two requirements.
  local parts, depth, cur = {}, 0, {}
  for c in sel:gmatch(".") do
    if c == "(" then depth = depth + 1 elseif c == ")" then depth = depth - 1 end
    if c == "," and depth == 0 then
      parts[#parts + 1] = table.concat(cur); cur = {}
    else
      cur[#cur + 1] = c
    end
  end
  parts[#parts + 1] = table.concat(cur)
  local out = {}
  local function add(p)
    p = p:match("^%s*(.-)%s*$")
    if p == "" then return end
    local k, vals = p:match("^(%S+)%s+in%s+%((.*)%)$")
    if k then
      local vs = {}
      for v in vals:gmatch("[^,%s]+") do vs[#vs + 1] = v end
      out[#out + 1] = { key = k, op = "In", values = vs }
      return
    end
    k, vals = p:match("^(%S+)%s+notin%s+%((.*)%)$")
    if k then
      local vs = {}
      for v in vals:gmatch("[^,%s]+") do vs[#vs + 1] = v end
      out[#out + 1] = { key = k, op = "NotIn", values = vs }
      return
    end
    local a, b = p:match("^(.-)%s*!=%s*(.*)$")
    if a then out[#out + 1] = { key = a, op = "NotIn", values = { b } } return end
    a, b = p:match("^(.-)%s*==?%s*(.*)$")
    if a then out[#out + 1] = { key = a, op = "In", values = { b } } return end
    if p:sub(1, 1) == "!" then out[#out + 1] = { key = p:sub(2), op = "DoesNotExist" } return end
    out[#out + 1] = { key = p, op = "Exists" }
  end
  for _, p in ipairs(parts) do add(p) end
  return out
end

local function matches(sel, labels)
  labels = labels or {}
  for _, r in ipairs(parse_selector(sel)) do
    local v = labels[r.key]
    local found = false
    for _, x in ipairs(r.values or {}) do if x == v then found = true end end
    if r.op == "In" and not found then return false end
    if r.op == "NotIn" and found then return false end
    if r.op == "Exists" and v == nil then return false end
    if r.op == "DoesNotExist" and v ~= nil then return false end
  end
  return true
end

local function merge_patch(target, patch)
  if type(patch) ~= "table" or is_array(patch) then return copy(patch) end
  if type(target) ~= "table" or is_array(target) then target = {} end
  for k, v in pairs(patch) do
    if v == null then target[k] = nil else target[k] = merge_patch(target[k], v) end
  end
  return target
end

local function rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

local function parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, se = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return nil end
  -- Days from the civil date, independent of the local time zone.
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(se)
end

local SUFFIX = { n = 1e-9, u = 1e-6, m = 1e-3, [""] = 1, k = 1e3, M = 1e6, G = 1e9, T = 1e12,
  P = 1e15, E = 1e18, Ki = 2^10, Mi = 2^20, Gi = 2^30, Ti = 2^40, Pi = 2^50, Ei = 2^60 }

local function quantity(s)
  if type(s) == "number" then return math.floor(s * 1000) end
  local num, suf = tostring(s):match("^([+-]?%d*%.?%d+)(%a*)$")
  if not num or not SUFFIX[suf] then return nil, "invalid quantity " .. tostring(s) end
  return math.ceil(tonumber(num) * SUFFIX[suf] * 1000 - 1e-9)
end

local function key_of(ns, name)
  if ns and ns ~= "" then return ns .. "/" .. name end
  return name
end

-- Creates a fresh fake and installs it as the module `berth`.
function M.new()
  local b = {
    null = null,
    objects = {},   -- kind -> key -> object
    writes = {},    -- { verb=, kind=, obj= } in order
    events = {},    -- { obj=, type=, reason=, message= }
    logs = {},
    clock = 1767225600, -- 2026-01-01T00:00:00Z
    rv = 100,
    uid = 0,
    failures = {},  -- verb -> reason: the next such call fails
    changes = {},   -- { kind=, obj=, gone= } for every change, read by M.run
    _requeue = nil,
  }

  local function store(kind)
    b.objects[kind] = b.objects[kind] or {}
    return b.objects[kind]
  end

  local function next_rv()
    b.rv = b.rv + 1
    return tostring(b.rv)
  end

  -- Notes a change for M.run: obj is the new state, or the last one when gone.
  local function changed(kind, obj, gone)
    b.changes[#b.changes + 1] = { kind = kind, obj = copy(obj), gone = gone or false }
  end

  -- Whether a finalizer holds o: the metadata finalizers, and for a
  -- Namespace also spec.finalizers.
  local function held(kind, o)
    if next(o.metadata.finalizers or {}) then return true end
    return kind == "Namespace" and next((o.spec or {}).finalizers or {}) ~= nil
  end

  -- The API removes an object being deleted when a write takes away the
  -- last finalizer that held it (was_held: whether one did before).
  local function finish_deletion(kind, k, was_held)
    local o = store(kind)[k]
    if not was_held or not o or not o.metadata.deletionTimestamp or held(kind, o) then return end
    store(kind)[k] = nil
    changed(kind, o, true)
  end

  local function fail(verb)
    local reason = b.failures[verb]
    if reason then
      b.failures[verb] = nil
      return reason
    end
  end

  -- Test helpers -----------------------------------------------------------

  -- Adds an object as if it already existed (no write recorded).
  function b.add(obj)
    obj = copy(obj)
    local md = obj.metadata
    md.namespace = md.namespace
    if not md.uid then b.uid = b.uid + 1; md.uid = "uid-" .. b.uid end
    md.resourceVersion = next_rv()
    md.creationTimestamp = md.creationTimestamp or rfc3339(b.clock)
    md.generation = md.generation or 1
    store(obj.kind)[key_of(md.namespace, md.name)] = obj
    changed(obj.kind, obj)
    return copy(obj)
  end

  -- Replaces an object's status, as a kubelet or a test would.
  function b.set_status(kind, ns, name, status)
    local o = store(kind)[key_of(ns, name)]
    assert(o, "no " .. kind .. " " .. key_of(ns, name))
    o.status = copy(status)
    o.metadata.resourceVersion = next_rv()
    changed(kind, o)
  end

  function b.advance(seconds) b.clock = b.clock + seconds end
  function b.fail_next(verb, reason) b.failures[verb] = reason or "Conflict" end
  function b.all(kind)
    local out = {}
    for _, o in pairs(store(kind)) do out[#out + 1] = copy(o) end
    table.sort(out, function(x, y) return x.metadata.name < y.metadata.name end)
    return out
  end
  function b.count(kind)
    local n = 0
    for _ in pairs(store(kind)) do n = n + 1 end
    return n
  end
  function b.writes_of(verb, kind)
    local out = {}
    for _, w in ipairs(b.writes) do
      if (not verb or w.verb == verb) and (not kind or w.kind == kind) then out[#out + 1] = w end
    end
    return out
  end
  function b.reset_writes() b.writes = {} end

  -- The module's API -------------------------------------------------------

  function b.get(kind, ns, name)
    return copy(store(kind)[key_of(ns, name)])
  end

  function b.list(kind, ns, selector)
    local out = {}
    for _, o in pairs(store(kind)) do
      if (ns == nil or o.metadata.namespace == ns) and matches(selector, o.metadata.labels) then
        out[#out + 1] = copy(o)
      end
    end
    table.sort(out, function(x, y) return x.metadata.name < y.metadata.name end)
    return setmetatable(out, array_mt)
  end

  function b.owned(kind, owner)
    local uid = owner.metadata.uid
    local out = {}
    for _, o in pairs(store(kind)) do
      for _, ref in ipairs(o.metadata.ownerReferences or {}) do
        if ref.uid == uid then out[#out + 1] = copy(o) break end
      end
    end
    table.sort(out, function(x, y) return x.metadata.name < y.metadata.name end)
    return setmetatable(out, array_mt)
  end

  function b.create(obj)
    local reason = fail("create")
    if reason then return nil, "injected failure", reason end
    obj = copy(obj)
    local md = obj.metadata or {}
    obj.metadata = md
    if not md.name and md.generateName then
      b.uid = b.uid + 1
      md.name = md.generateName .. string.format("%05x", b.uid)
    end
    assert(md.name, "create: metadata.name or generateName is required")
    local k = key_of(md.namespace, md.name)
    if store(obj.kind)[k] then
      return nil, obj.kind .. " \"" .. md.name .. "\" already exists", "AlreadyExists"
    end
    b.uid = b.uid + 1
    md.uid = "uid-" .. b.uid
    md.resourceVersion = next_rv()
    md.creationTimestamp = rfc3339(b.clock)
    md.generation = 1
    store(obj.kind)[k] = obj
    b.writes[#b.writes + 1] = { verb = "create", kind = obj.kind, obj = copy(obj) }
    changed(obj.kind, obj)
    return copy(obj)
  end

  -- status_only: "status" keeps all but the status, "finalize" all but
  -- spec.finalizers; false replaces all but the status.
  local function replace(verb, obj, status_only)
    local reason = fail(verb)
    if reason then return nil, "injected failure", reason end
    local md = obj.metadata
    local k = key_of(md.namespace, md.name)
    local cur = store(obj.kind)[k]
    if not cur then return nil, "not found", "NotFound" end
    if md.resourceVersion and md.resourceVersion ~= cur.metadata.resourceVersion then
      return nil, "the object has been modified", "Conflict"
    end
    local new
    if status_only == "finalize" then
      new = copy(cur)
      new.spec = new.spec or {}
      new.spec.finalizers = copy((obj.spec or {}).finalizers)
    elseif status_only then
      new = copy(cur)
      new.status = copy(obj.status)
    else
      new = copy(obj)
      new.status = copy(cur.status)
      new.metadata.uid = cur.metadata.uid
      new.metadata.creationTimestamp = cur.metadata.creationTimestamp
      new.metadata.generation = cur.metadata.generation
      if not equal(cur.spec, new.spec) then
        new.metadata.generation = (cur.metadata.generation or 1) + 1
      end
    end
    new.metadata.resourceVersion = next_rv()
    -- A write cannot take the deletion timestamp away.
    new.metadata.deletionTimestamp = new.metadata.deletionTimestamp or cur.metadata.deletionTimestamp
    store(obj.kind)[k] = new
    b.writes[#b.writes + 1] = { verb = verb, kind = obj.kind, obj = copy(new) }
    changed(obj.kind, new)
    finish_deletion(obj.kind, k, held(obj.kind, cur))
    return copy(new)
  end

  function b.update(obj, opts)
    local sub = opts and opts.subresource
    if sub == "status" then return replace("update_status", obj, true) end
    if sub == "finalize" then
      assert(obj.kind == "Namespace", "finalize: only a Namespace has it")
      return replace("finalize", obj, "finalize")
    end
    assert(sub == nil, "update: unknown subresource " .. tostring(sub))
    return replace("update", obj, false)
  end
  function b.update_status(obj) return replace("update_status", obj, true) end

  function b.patch(kind, ns, name, patch, opts)
    local reason = fail("patch")
    if reason then return nil, "injected failure", reason end
    local cur = store(kind)[key_of(ns, name)]
    if not cur then return nil, "not found", "NotFound" end
    opts = opts or {}
    local new = merge_patch(copy(cur), patch)
    if opts.subresource == "status" then
      local s = new.status
      new = copy(cur)
      new.status = s
    elseif not equal(cur.spec, new.spec) then
      new.metadata.generation = (cur.metadata.generation or 1) + 1
    end
    if patch.metadata and patch.metadata.resourceVersion and
        patch.metadata.resourceVersion ~= cur.metadata.resourceVersion then
      return nil, "the object has been modified", "Conflict"
    end
    new.metadata.resourceVersion = next_rv()
    new.metadata.deletionTimestamp = new.metadata.deletionTimestamp or cur.metadata.deletionTimestamp
    store(kind)[key_of(ns, name)] = new
    b.writes[#b.writes + 1] = { verb = "patch", kind = kind, obj = copy(new), patch = copy(patch) }
    changed(kind, new)
    finish_deletion(kind, key_of(ns, name), held(kind, cur))
    return copy(new)
  end

  function b.delete(kind, ns, name, opts)
    local reason = fail("delete")
    if reason then return nil, "injected failure", reason end
    local k = key_of(ns, name)
    local cur = store(kind)[k]
    if not cur then return nil, kind .. " \"" .. name .. "\" not found", "NotFound" end
    if opts and opts.preconditions and opts.preconditions.uid and
        opts.preconditions.uid ~= cur.metadata.uid then
      return nil, "precondition failed", "Conflict"
    end
    if opts and opts.preconditions and opts.preconditions.resourceVersion and
        opts.preconditions.resourceVersion ~= cur.metadata.resourceVersion then
      return nil, "precondition failed", "Conflict"
    end
    b.writes[#b.writes + 1] = { verb = "delete", kind = kind, obj = copy(cur), opts = copy(opts) }
    -- Foreground and Orphan deletion are the garbage collector's work: the
    -- API only adds its finalizer. Any finalizer turns the delete into
    -- setting deletionTimestamp; the object goes when the last one is removed.
    local md = cur.metadata
    -- Already held and being deleted: nothing more to do.
    if md.deletionTimestamp and held(kind, cur) then return true end
    if not md.deletionTimestamp then
      local policy = opts and opts.propagationPolicy
      local fin = { Foreground = "foregroundDeletion", Orphan = "orphan" }
      if fin[policy] then
        md.finalizers = md.finalizers or setmetatable({}, array_mt)
        local have = false
        for _, f in ipairs(md.finalizers) do have = have or f == fin[policy] end
        if not have then md.finalizers[#md.finalizers + 1] = fin[policy] end
      end
      if held(kind, cur) then
        md.deletionTimestamp = rfc3339(b.clock)
        if kind == "Namespace" then
          cur.status = cur.status or {}
          cur.status.phase = "Terminating"
        end
        md.resourceVersion = next_rv()
        changed(kind, cur)
        return true
      end
    end
    store(kind)[k] = nil
    changed(kind, cur, true)
    return true
  end

  -- The batch calls: every request at once in the host; in order here.
  function b.create_all(objs)
    local out = {}
    for i, obj in ipairs(objs) do
      local created, msg, reason = b.create(obj)
      out[i] = { object = created, message = msg, reason = reason }
    end
    return setmetatable(out, array_mt)
  end

  function b.delete_all(items)
    local out = {}
    for i, it in ipairs(items) do
      local ok, msg, reason = b.delete(it.kind, it.namespace, it.name, it.opts)
      out[i] = { ok = ok, message = msg, reason = reason }
    end
    return setmetatable(out, array_mt)
  end

  function b.event(obj, type_, reason, message)
    b.events[#b.events + 1] = { obj = copy(obj), type = type_, reason = reason, message = message }
  end

  local function logger(level)
    return function(fmt, ...)
      b.logs[#b.logs + 1] = { level = level, text = string.format(fmt, ...) }
    end
  end
  b.log = { debug = logger("debug"), info = logger("info"), warn = logger("warn"),
            error = logger("error") }

  function b.requeue_after(seconds) b._requeue = seconds end

  function b.owner_ref(owner)
    return { apiVersion = owner.apiVersion, kind = owner.kind, name = owner.metadata.name,
             uid = owner.metadata.uid, controller = true, blockOwnerDeletion = true }
  end

  function b.controller_of(obj)
    for _, ref in ipairs((obj.metadata or {}).ownerReferences or {}) do
      if ref.controller then return ref end
    end
  end

  b.matches = matches
  function b.now() return b.clock end
  function b.time(t) return rfc3339(t or b.clock) end
  b.parse_time = parse_time
  b.quantity = quantity
  b.template_hash = template_hash
  b.copy = copy
  b.equal = equal
  function b.array(t) return setmetatable(t or {}, array_mt) end

  package.loaded["berth"] = b
  M.current = b
  return b
end

-- Loads a controller file (relative to the source tree) as the host would.
function M.load(path)
  for name in pairs(package.loaded) do
    if not preloaded[name] and name ~= "berth" and name ~= "fake_berth" then
      package.loaded[name] = nil
    end
  end
  local chunk = assert(loadfile(path, "t"))
  local ctl = chunk()
  assert(type(ctl) == "table" and type(ctl.reconcile) == "function",
         path .. " must return a table with a reconcile function")
  return ctl
end

-- Runs one reconcile of key ("ns/name" or "name"; "Kind/ns/name" or
-- "Kind/name" for a controller with `kinds`); returns the requeue delay the
-- controller asked for, if any. Errors propagate to the spec.
function M.reconcile(ctl, key)
  local kind, rest = nil, key
  if ctl.kinds then kind, rest = key:match("^([^/]+)/(.*)$") end
  local ns, name = rest:match("^([^/]*)/(.*)$")
  if not ns then name = rest end
  M.current._requeue = nil
  ctl.reconcile({ kind = kind, namespace = ns, name = name, key = key })
  return M.current._requeue
end

local function contains(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

-- The keys a change to obj (of kind) queues for ctl, as the host computes
-- them: its own key when the kind is primary, its controller owner's key
-- when the kind is owned, and whatever maps[kind] returns. For a deletion,
-- call it after the object left the store, with its last state.
function M.keys_for(ctl, kind, obj)
  local md = obj.metadata
  local out = {}
  local function own_key(k, ns, name)
    local base = key_of(ns, name)
    if ctl.kinds then return k .. "/" .. base end
    return base
  end
  if kind == ctl.kind or contains(ctl.kinds, kind) then
    out[#out + 1] = own_key(kind, md.namespace, md.name)
  end
  if contains(ctl.owns, kind) then
    local ref = M.current.controller_of(obj)
    if ref and (ref.kind == ctl.kind or contains(ctl.kinds, ref.kind)) then
      out[#out + 1] = own_key(ref.kind, md.namespace, ref.name)
    end
  end
  local map = ctl.maps and ctl.maps[kind]
  if map then
    for _, k in ipairs(map(copy(obj)) or {}) do out[#out + 1] = k end
  end
  return out
end

-- Drives ctl like the host's work queue: reconciles the given keys, then
-- the keys that every later change queues (see keys_for), each key once per
-- round, until nothing is left or `rounds` rounds have run (default 50).
-- Requeue requests are not followed: a spec advances the clock and calls
-- again. Returns the number of reconciles run.
function M.run(ctl, keys, rounds)
  local b = M.current
  local seen = #b.changes
  local queue, runs = {}, 0
  for _, k in ipairs(keys or {}) do queue[#queue + 1] = k end
  for _ = 1, rounds or 50 do
    if #queue == 0 then return runs end
    local dedup, batch = {}, {}
    for _, k in ipairs(queue) do
      if not dedup[k] then dedup[k] = true; batch[#batch + 1] = k end
    end
    queue = {}
    for _, k in ipairs(batch) do
      M.reconcile(ctl, k)
      runs = runs + 1
      while seen < #b.changes do
        seen = seen + 1
        local c = b.changes[seen]
        for _, q in ipairs(M.keys_for(ctl, c.kind, c.obj)) do queue[#queue + 1] = q end
      end
    end
  end
  error("run: still busy after " .. (rounds or 50) .. " rounds")
end

-- Reconciles key until a pass makes no write (at most n passes).
function M.settle(ctl, key, n)
  for _ = 1, n or 20 do
    local before = #M.current.writes
    M.reconcile(ctl, key)
    if #M.current.writes == before then return end
  end
end

M.canonical_json = function(v) return table.concat(canonical(v, {})) end

return M
