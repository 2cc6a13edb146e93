#!lua name=microwish
--
-- The Redis Functions library of microwish, assembled from
-- matcher/lua/*.lua in name order (scripts/embed.sh). Every rule that must
-- hold across clients and daemons is enforced inside one function call
-- here, so two wishd processes on one Redis are as safe as one.
--
-- Conventions of every function:
--   FCALL wish_<name> 1 {city} now caller params cfg
--     KEYS[1]  "{city}": the hash tag every key of that city starts with
--     ARGV[1]  now, Unix seconds, from the daemon (never Redis's clock)
--     ARGV[2]  the caller, MessagePack {user, role, region}
--     ARGV[3]  the request's params, a MessagePack map
--     ARGV[4]  the daemon's settings, a MessagePack map (see wishd docs)
--   Result: a MessagePack string that wishd forwards as the result.
--   Errors: error replies "CODE message", CODE a protocol error name.
--   Lua has no rollback: every check comes before the first write.
--
-- The files are one chunk, so their top-level locals are all locals of
-- it, and Lua allows a function at most 200; each file after this one
-- opens with a "Uses:" comment naming the ones it takes from the files
-- before it (`make check-lua` keeps both true: tests/lua_check.py).
--
-- This file: context, errors, validation, keys, regions, views, events.

---------------------------------------------------------------- builtins

-- Lua's builtins the library uses most, held as locals of the chunk. A
-- function of a Redis library sees the globals through an empty table
-- whose metatable's __index is the real globals table, so every global
-- read is a miss there, a metatable lookup and a second lookup: ~160
-- instructions, against ~40 for an upvalue (`string.find` pays it for
-- `string`; measured: bench/PROFILE.md, "Issue 19"). These names do not
-- exist while FUNCTION LOAD runs the library (its globals are then only
-- the `redis` of register_function and log), so they are bound by the
-- first call of any function (register); `redis` starts as the load-time
-- table and becomes the full one then. tests/lua_check.py knows these
-- names as builtins: no file lists them in its "Uses:".
local string, math, tonumber, type, ipairs, cmsgpack, struct, redis =
    nil, nil, nil, nil, nil, nil, nil, redis

-- Registers library function `name` (flags as redis.register_function
-- takes them); its callback binds the builtins above on the library's
-- first call, then calls fn(keys, args).
local function register(name, fn, flags)
    redis.register_function{function_name = name, flags = flags,
                            callback = function(keys, args)
        if not string then
            local g = _G
            string, math, tonumber, type, ipairs, cmsgpack, struct, redis =
                g.string, g.math, g.tonumber, g.type, g.ipairs, g.cmsgpack,
                g.struct, g.redis
        end
        return fn(keys, args)
    end}
end

local BAD, FORBIDDEN, NOT_FOUND, CONFLICT =
    'BAD_REQUEST', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT'

-- Aborts the call with a protocol error. Only before the first write.
local function fail(code, msg)
    error({err = code .. ' ' .. msg})
end

---------------------------------------------------------------- context

-- The settings, unpacked once per distinct packed form: every call of a
-- daemon sends the same bytes, and unpacking ~20 entries on every call
-- cost more than a match's Redis reads. Treat the table as read-only.
local cfg_raw, cfg_cache

local function settings(raw)
    if raw ~= cfg_raw then
        cfg_cache = cmsgpack.unpack(raw)
        cfg_raw = raw
        -- Arguments of commands on every event, as strings once: a Lua
        -- number passed to redis.call is formatted with "%.17g" each time.
        cfg_cache.inbox_ttl_arg = tostring(cfg_cache.inbox_ttl)
        cfg_cache.match_k_arg = tostring(cfg_cache.match_k)
        cfg_cache.offer_keep_arg = tostring(cfg_cache.offer_keep)
        -- How events are announced (emit, queue_event): on one Redis,
        -- PUBLISH on "mw:ev:<city>"; on a Redis Cluster (the daemon sends
        -- cluster = 1), SPUBLISH on "mw:ev:{<city>}", whose slot is the
        -- city's (Redis refuses a shard channel of another slot here).
        cfg_cache.tagged = cfg_cache.cluster == 1
        cfg_cache.publish = cfg_cache.tagged and 'SPUBLISH' or 'PUBLISH'
    end
    return cfg_cache
end

-- The per-call context: key prefix, city, time, caller, params, settings.
-- `now_arg` is the time as the daemon sent it (whole seconds by "%lld",
-- matcher/call.c), for commands that store it: a Lua number passed to
-- redis.call is formatted with "%.17g" each time (checking its form
-- here cost a post more than the accept saved). `now` is made by Lua's
-- own coercion (`+ 0`), not tonumber: the same strtod, without a C call.
local context
do
    -- Callers and cities repeat from call to call (a session's token
    -- sends the same caller bytes every time), so each is worked out once
    -- per distinct form, like the settings: unpacking the caller's map
    -- cost every call a table and three strings, the city a string.sub.
    -- Bounded: each emptied past REPEAT_MAX. Treat a caller as read-only.
    local REPEAT_MAX = 1024
    local callers, n_callers, cities, n_cities = {}, 0, {}, 0

    function context(keys, args)
        local p, raw = keys[1], args[2]
        local city = cities[p]
        if city == nil then
            city = string.sub(p, 2, -2)
            if n_cities >= REPEAT_MAX then cities, n_cities = {}, 0 end
            cities[p] = city
            n_cities = n_cities + 1
        end
        local caller = callers[raw]
        if caller == nil then
            caller = cmsgpack.unpack(raw)
            if n_callers >= REPEAT_MAX then callers, n_callers = {}, 0 end
            callers[raw] = caller
            n_callers = n_callers + 1
        end
        local ctx = {
            p = p,
            city = city,
            now = args[1] + 0,
            now_arg = args[1],
            caller = caller,
            params = cmsgpack.unpack(args[3]),
            cfg = settings(args[4]),
        }
        -- cmsgpack turns an empty map into an empty table either way.
        if type(ctx.params) ~= 'table' then ctx.params = {} end
        return ctx
    end
end

-- A key of this city: key(ctx, 'task', id) -> "{jinan}:task:T42"; one
-- to four parts. Fixed arity: a vararg table and table.concat on each of
-- the dozens of keys a match names cost more than the key's own command.
local function key(ctx, a, b, c, d)
    if d then return ctx.p .. ':' .. a .. ':' .. b .. ':' .. c .. ':' .. d end
    if c then return ctx.p .. ':' .. a .. ':' .. b .. ':' .. c end
    if b then return ctx.p .. ':' .. a .. ':' .. b end
    return ctx.p .. ':' .. a
end

-- Next id of a kind in this city: 'T' -> "T42". "%d", not `..`: a
-- number concatenated is formatted with "%.14g", the slow float path.
local function next_id(ctx, kind)
    return string.format('%s%d', kind,
                         redis.call('INCR', key(ctx, 'seq', kind)))
end

-- HGETALL as a Lua table; nil when the key does not exist.
local function hgetall(k)
    local flat = redis.call('HGETALL', k)
    if #flat == 0 then return nil end
    local t = {}
    for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
    return t
end

------------------------------------------------------------- validation

local function field_fail(name, why)
    fail(BAD, "field '" .. name .. "': " .. why)
end

-- The latest time a field may name: 2100-01-01, far past any task.
local TIME_MAX = 4102444800

-- True when s is valid UTF-8 (RFC 3629): no stray continuation bytes, no
-- overlong forms, no surrogates, nothing above U+10FFFF, no truncated
-- sequence. Lua 5.1 has no utf8 library; stock MessagePack clients fail
-- to decode a str that is not UTF-8, so none may be stored.
local function valid_utf8(s)
    local i = string.find(s, '[\128-\255]')
    if not i then return true end
    -- Chinese is three-byte sequences led by E1-EC, EE or EF, and every
    -- such lead with two continuation bytes is valid UTF-8 (no overlong
    -- form, no surrogate: those need E0 and ED). One left-to-right pass
    -- takes them out; when only ASCII is left, every other byte lay in
    -- one of them, so s is valid (a single pass never joins bytes its
    -- removals brought together). 11.5 k instructions for a title of
    -- eleven Chinese characters and a few ASCII ones, where the walk
    -- below cost 49 k (bench/PROFILE.md); text it cannot vouch for (other
    -- lengths, E0, ED, stray bytes) takes the walk.
    local rest = string.gsub(s, '[\225-\236\238\239][\128-\191][\128-\191]',
                             '')
    if not string.find(rest, '[\128-\255]') then return true end
    local byte, n = string.byte, #s
    while i do
        local c, len = byte(s, i), 4
        if c >= 0xC2 and c <= 0xDF then len = 2
        elseif c >= 0xE0 and c <= 0xEF then len = 3
        elseif c < 0xF0 or c > 0xF4 then return false end
        if i + len - 1 > n then return false end
        -- The second byte's range rules out overlongs (E0, F0),
        -- surrogates (ED) and code points above U+10FFFF (F4).
        local lo, hi = 0x80, 0xBF
        if c == 0xE0 then lo = 0xA0
        elseif c == 0xED then hi = 0x9F
        elseif c == 0xF0 then lo = 0x90
        elseif c == 0xF4 then hi = 0x8F end
        local c2 = byte(s, i + 1)
        if c2 < lo or c2 > hi then return false end
        for j = i + 2, i + len - 1 do
            local cj = byte(s, j)
            if cj < 0x80 or cj > 0xBF then return false end
        end
        i = string.find(s, '[\128-\255]', i + len)
    end
    return true
end

-- True when t is a list: its keys are exactly 1..n. cmsgpack makes a
-- table of a map and of an array alike, and ipairs would silently skip
-- a map's string keys.
local function is_list(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    for k in pairs(t) do
        if type(k) ~= 'number' or k < 1 or k > n or k % 1 ~= 0 then
            return false
        end
    end
    return true
end

-- True when v is a whole number of Unix seconds in [0, TIME_MAX] (not
-- NaN, not inf).
local function is_time(v)
    return type(v) == 'number' and v >= 0 and v <= TIME_MAX
        and math.floor(v) == v
end

-- A string of minlen..maxlen bytes; nil when absent and optional.
local function want_str(p, name, minlen, maxlen, optional)
    local v = p[name]
    if v == nil then
        if optional then return nil end
        field_fail(name, 'required')
    end
    if type(v) ~= 'string' then field_fail(name, 'must be a string') end
    if #v < minlen or #v > maxlen then
        field_fail(name, 'must be a string of ' .. minlen .. '..' .. maxlen
                   .. ' bytes')
    end
    if minlen > 0 and not string.find(v, '%S') then
        field_fail(name, 'must not be blank')
    end
    if not valid_utf8(v) then field_fail(name, 'must be valid UTF-8') end
    return v
end

-- A number in [lo, hi]; integral when `integer`; nil when optional.
local function want_num(p, name, lo, hi, optional, integer)
    local v = p[name]
    if v == nil then
        if optional then return nil end
        field_fail(name, 'required')
    end
    if type(v) ~= 'number' or v ~= v then
        field_fail(name, 'must be a number')
    end
    -- `% 1` in the VM, not math.floor's C call; an infinity (whose
    -- `% 1` is NaN, and v - v too) is left to the range below, as before.
    if integer and v % 1 ~= 0 and v - v == 0 then
        field_fail(name, 'must be a whole number')
    end
    if v < lo or v > hi then
        field_fail(name, 'must be in [' .. lo .. ', ' .. hi .. ']')
    end
    return v
end

local function want_bool(p, name, optional)
    local v = p[name]
    if v == nil then
        if optional then return nil end
        field_fail(name, 'required')
    end
    if type(v) ~= 'boolean' then field_fail(name, 'must be true or false') end
    return v
end

local function want_table(p, name, maxlen, optional)
    local v = p[name]
    if v == nil then
        if optional then return nil end
        field_fail(name, 'required')
    end
    if type(v) ~= 'table' or not is_list(v) then
        field_fail(name, 'must be an array')
    end
    if #v > maxlen then
        field_fail(name, 'at most ' .. maxlen .. ' elements')
    end
    return v
end

-- A skill name: [a-z0-9_-], 1..32 bytes.
local function check_skill(name, v)
    if type(v) ~= 'string' or #v < 1 or #v > 32
        or string.find(v, '[^a-z0-9_%-]') then
        field_fail(name, 'must be a skill name of [a-z0-9_-], 1..32 bytes')
    end
    return v
end

-- An id of a kind ('T', 'O', 'M'): the kind letter and digits.
local function want_id(p, name, kind)
    local v = want_str(p, name, 2, 24)
    if not string.find(v, '^' .. kind .. '%d+$') then
        fail(NOT_FOUND, 'no such ' .. name .. ' ' .. v)
    end
    return v
end

-- A user id of docs/protocol.md's grammar: 1..128 bytes of
-- [A-Za-z0-9_.@-]. Checked before the id becomes part of a key, so that
-- "li-lei:asg" cannot name another user's key.
local function want_user_id(p, name)
    local v = want_str(p, name, 1, 128)
    if string.find(v, '[^A-Za-z0-9_.@%-]') then
        field_fail(name, 'must be a user id of [A-Za-z0-9_.@-], 1..128 '
                   .. 'bytes')
    end
    return v
end

-- lon, lat of a place; both required unless optional (then both or none).
-- Latitude stops at 85 degrees, where Redis GEO sets stop.
local function want_place(p, optional)
    if optional and p.lon == nil and p.lat == nil then return nil end
    return want_num(p, 'lon', -180, 180), want_num(p, 'lat', -85, 85)
end

-- want_place for a place people go to or start from: it must also lie in
-- this city's bounds (setting city-bounds), when the city has them. A
-- mistyped coordinate (lat and lon swapped, a digit dropped) would
-- otherwise make a task no volunteer can reach, or a volunteer no task
-- ever finds.
local function want_city_place(ctx, p, optional)
    local lon, lat = want_place(p, optional)
    local b = lon and ctx.cfg.city_bounds[ctx.city]
    if b and (lon < b[1] or lon > b[3] or lat < b[2] or lat > b[4]) then
        fail(BAD, 'place ' .. lon .. ',' .. lat .. ' is outside '
             .. ctx.city .. ' (lon ' .. b[1] .. '..' .. b[3] .. ', lat '
             .. b[2] .. '..' .. b[4] .. ')')
    end
    return lon, lat
end

-- A coordinate as stored: six decimals (0.1 m), not Lua's 17 digits.
local function coord(v)
    return string.format('%.6f', v)
end

-- start and end of a time span in the future, end > start, at most
-- `max_span` seconds long, starting at most `max_horizon` seconds from
-- now (a task for 2099 would sit in every index for decades) and at most
-- `start_grace` seconds ago (a date typed a day or an hour wrong, or in
-- the wrong zone, must not become a task whose start nobody can make).
local function want_span(ctx, p)
    local s = want_num(p, 'start', 0, TIME_MAX, false, true)
    local e = want_num(p, 'end', 0, TIME_MAX, false, true)
    if s < ctx.now - ctx.cfg.start_grace then
        field_fail('start', 'must be at most ' .. ctx.cfg.start_grace
                   .. ' seconds ago')
    end
    if s > ctx.now + ctx.cfg.max_horizon then
        field_fail('start', 'must be at most ' .. ctx.cfg.max_horizon
                   .. ' seconds from now')
    end
    if e <= s then field_fail('end', 'must be after start') end
    if e <= ctx.now then field_fail('end', 'must be in the future') end
    if e - s > ctx.cfg.max_span then
        field_fail('end', 'a task lasts at most ' .. ctx.cfg.max_span
                   .. ' seconds')
    end
    return s, e
end

---------------------------------------------------------------- regions

-- The city's calendar date of a Unix time (its local time, tz-offset):
-- year, month, day, and seconds since its midnight. Redis's Lua has no
-- os.date; this is H. Hinnant's civil-from-days algorithm.
local function city_date(ctx, t)
    local s = t + ctx.cfg.tz_offset * 60
    local days = math.floor(s / 86400)
    local z = days + 719468
    local era = math.floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math.floor((doe - math.floor(doe / 1460)
        + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
    local doy = doe - (365 * yoe + math.floor(yoe / 4)
        - math.floor(yoe / 100))
    local mp = math.floor((5 * doy + 2) / 153)
    local d = doy - math.floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    return yoe + era * 400 + (m <= 2 and 1 or 0), m, d, s - days * 86400
end

-- True when scope is region or above it ("jinan/lixia" covers
-- "jinan/lixia/quancheng/xinhe", not "jinan/lixiaxi"). No string made
-- (a string.sub and a concatenation were two, each hashed whole): the
-- byte after the scope is a '/' (47) and the region starts with it.
local function covers(scope, region)
    return region == scope
        or (string.byte(region, #scope + 1) == 47
            and string.find(region, scope, 1, true) == 1)
end

-- True when the caller's scope takes in the region. An admin's takes in
-- everything of its city (docs/protocol.md, "Roles"); requests are always
-- served in the city of the caller's token.
local function in_scope(ctx, region)
    return ctx.caller.role == 'admin' or covers(ctx.caller.region, region)
end

-- Returns region r (well-formed already) when it lies in the caller's
-- city and scope; else FORBIDDEN. An admin's scope takes in everything of
-- its city, never another city: a task there would reach that city's
-- watchers, an account that city's people.
local function want_reach(ctx, r)
    if not covers(ctx.city, r) then
        fail(FORBIDDEN, 'region ' .. r .. ' is in another city')
    end
    if not in_scope(ctx, r) then
        fail(FORBIDDEN, 'region ' .. r .. ' is outside your scope '
             .. ctx.caller.region)
    end
    return r
end

-- A full city/district/street/community path in this city.
local function want_region(ctx, p, name, default)
    local r = p[name]
    if r == nil then r = default end
    -- One constant pattern: Lua 5.1 joins constants by `..` at run time.
    if type(r) ~= 'string' or #r > 128
        or not string.find(r,
            '^[a-z0-9_%-]+/[a-z0-9_%-]+/[a-z0-9_%-]+/[a-z0-9_%-]+$') then
        field_fail(name, 'must be a full city/district/street/community '
                   .. 'path')
    end
    return want_reach(ctx, r)
end

-- Raises FORBIDDEN unless the caller's role is one of the given (one to
-- three). Named parameters, not `...`: a vararg table and ipairs over it
-- cost every call ~2.5 k instructions.
local function want_role(ctx, a, b, c)
    local role = ctx.caller.role
    if role == a or role == b or role == c then return end
    fail(FORBIDDEN, role .. ' may not do this')
end

local function is_staff(ctx)
    return ctx.caller.role == 'coordinator' or ctx.caller.role == 'admin'
end

------------------------------------------------------------------ views

local function round_to(v, step)
    return math.floor(v / step + 0.5) * step
end

-- A place snapped to a 500 m grid, for those who may not see it exactly.
local function coarse(lon, lat)
    local dlat = 500 / 111320
    local slat = round_to(lat, dlat)
    local dlon = 500 / (111320 * math.max(0.01, math.cos(math.rad(slat))))
    return round_to(round_to(lon, dlon), 1e-6), round_to(slat, 1e-6)
end

-- Great-circle distance in metres.
local function distance(lon1, lat1, lon2, lat2)
    local r = math.rad
    local a = math.sin(r(lat2 - lat1) / 2) ^ 2 + math.cos(r(lat1))
        * math.cos(r(lat2)) * math.sin(r(lon2 - lon1) / 2) ^ 2
    return 2 * 6372797.560856 * math.asin(math.min(1, math.sqrt(a)))
end

-- The public view of a task; exact (place, note, requester, and the
-- reason it was rejected or cancelled, when one was given) or coarse.
-- Who is on it (`assignees`) is added by those views whose reader may
-- see it: see task_assignees.
local task_view, task_num
do
    -- The numbers of a task's stored fields, each string parsed once: a
    -- post builds its task's view three times (two queue events and the
    -- offer) and tonumber of a string is a strtod. Strings are interned,
    -- so a lookup is a hash probe. Bounded: emptied past NUMS_MAX.
    local NUMS_MAX = 4096
    local nums, n_nums = {}, 0
    -- task_num: the same cache for views packed without a table
    -- (make_offer).
    local function num(s)
        local v = nums[s]
        if v == nil then
            v = tonumber(s)
            if v == nil then return nil end
            if n_nums >= NUMS_MAX then nums, n_nums = {}, 0 end
            nums[s] = v
            n_nums = n_nums + 1
        end
        return v
    end

    task_num = num

    function task_view(t, exact)
        local v = {
            task_id = t.id, kind = t.kind, title = t.title, skill = t.skill,
            region = t.region, start = num(t.start),
            ['end'] = num(t['end']), status = t.status,
            quantity = num(t.quantity), filled = num(t.filled),
            project_id = t.project, -- absent unless linked to a project
        }
        local lon, lat = num(t.lon), num(t.lat)
        if exact then
            v.lon, v.lat, v.note, v.requester = lon, lat, t.note or '',
                t.requester
            -- The reason is as private as the note: the requester's
            -- words, or staff's about the requester.
            if t.reason and t.reason ~= '' then v.reason = t.reason end
            -- Places team orders hold unfilled (25_teams.lua), when any.
            local held = tonumber(t.held) or 0
            if held > 0 then v.held = held end
        else
            v.lon, v.lat = coarse(lon, lat)
        end
        return v
    end
end

-- The task `id` (of the form T<n>); NOT_FOUND when none. A task removed
-- after task-keep (80_keep.lua) has its bit set in {city}:gone, and is
-- told apart from one that never was: one GETBIT, on a miss only.
local function load_task(ctx, id)
    local flat = redis.call('HGETALL', key(ctx, 'task', id))
    local t
    if #flat > 0 then
        -- Made with the fields every task has (a constructor sizes the
        -- table for them; a nil entry only holds its place), so that
        -- filling it never grows it: a table filled from empty is
        -- rehashed at 1, 2, 4, 8 and 16 entries.
        t = {id = nil, kind = nil, title = nil, skill = nil, lon = nil,
             lat = nil, start = nil, ['end'] = nil, region = nil,
             note = nil, quantity = nil, filled = nil, requester = nil,
             created = nil, status = nil, opened = nil, _rc = nil}
        for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
    end
    if t == nil then
        local n = tonumber(string.sub(id, 2))
        if n and n < 2 ^ 32 and redis.call('GETBIT', key(ctx, 'gone'), n)
            == 1 then
            fail(NOT_FOUND, 'task ' .. id .. ' was closed and removed after '
                 .. 'task-keep (its record is in the city\'s archive)')
        end
        fail(NOT_FOUND, 'no such task ' .. id)
    end
    return t
end

------------------------------------------------------------------ events

-- Event ids are taken from the city's counter a block at a time: one
-- INCRBY serves the three to five events a post or an accept makes.
-- Ids left over when the call ends are never used: ids only have to
-- grow, and a queue snapshot's `upto` (the counter) still covers every
-- event published before it.
local EVENT_ID_BLOCK = 8

-- The next event id of this call, as its 16-digit string, and as a
-- number (make_offer names its offer by it).
local function next_event_id(ctx)
    if not ctx.ev_next or ctx.ev_next > ctx.ev_last then
        -- EVENT_ID_BLOCK as a string: a number passed to redis.call is
        -- formatted by printf's float path ("%.17g").
        ctx.ev_last = redis.call('INCRBY', key(ctx, 'seq', 'event'), '8')
        ctx.ev_next = ctx.ev_last - EVENT_ID_BLOCK + 1
    end
    local id = ctx.ev_next
    ctx.ev_next = id + 1
    return string.format('%016d', id), id
end

-- Queues an event of user for the city's notification gateway (setting
-- notify-webhook; 70_notify.lua takes it from there): {city}:notify:due
-- scores "<user>\n<event id>" by when it falls due. An offer falls due
-- after notify_offer_delay, a grace that lets an open app have it pushed
-- live first (wishd then takes it off the queue); the rest after
-- notify_delay. Past notify_queue_max entries the one due soonest is
-- dropped and counted: the queue must not grow without bound while a
-- gateway is down.
local function notify_queue(ctx, user, kind, id)
    local cfg = ctx.cfg
    if redis.call('SISMEMBER', key(ctx, 'notify', 'off'), user) == 1 then
        return
    end
    local due = key(ctx, 'notify', 'due')
    local delay = kind == 'offer' and cfg.notify_offer_delay
        or cfg.notify_delay
    redis.call('ZADD', due, ctx.now + delay, user .. '\n' .. id)
    if redis.call('ZCARD', due) > cfg.notify_queue_max then
        local gone = redis.call('ZPOPMIN', due)
        redis.call('HDEL', key(ctx, 'notify', 'tries'), gone[1])
        redis.call('HINCRBY', key(ctx, 'notify', 'dropped'), 'full', 1)
    end
end

-- The MessagePack map of `map` with one entry more, `name` -> `packed`
-- (bytes that are MessagePack already): a task's view packed once goes
-- into several messages (do_assign's two events and its answer; a view
-- costs ~10 k instructions to pack). `map` has string keys, at least one
-- and at most 14 entries: cmsgpack packs it as a fixmap, whose first
-- byte, 0x80 + entries, is all that changes. `name` is under 32 bytes.
-- `prefix`, when given, comes first: Redis's Lua hashes every byte of
-- every string it makes, so the whole is made in one concatenation.
local function pack_with(map, name, packed, prefix)
    local head = cmsgpack.pack(map)
    local n = string.byte(head, 1)
    if n < 0x81 or n > 0x8e then error('pack_with: not a fixmap') end
    return (prefix or '') .. string.char(n + 1) .. string.sub(head, 2)
        .. string.char(0xa0 + #name) .. name .. packed
end

-- Appends an event to a user's inbox and announces it to every daemon.
-- The entry is the 16-digit id followed by the MessagePack event map; the
-- announcement on mw:ev:<city> (mw:ev:{<city>} on a cluster) is
-- "<user>\n<entry>". push_event takes an event packed already (`entry`,
-- of `kind` and `id`: make_offer's), emit a table (`name`, `packed`:
-- one more entry of its map, packed already by pack_with, when given).
local function push_event(ctx, user, entry, kind, id)
    local inbox = key(ctx, 'inbox', user)
    -- cfg read once: what the publish below adds, the reads save.
    local cfg = ctx.cfg
    local n = redis.call('RPUSH', inbox, entry)
    if n > cfg.inbox_max then
        redis.call('LTRIM', inbox, -cfg.inbox_max, -1)
    end
    redis.call('EXPIRE', inbox, cfg.inbox_ttl_arg)
    redis.call(cfg.publish, 'mw:ev:' .. (cfg.tagged and ctx.p or ctx.city),
               user .. '\n' .. entry)
    -- Cities without a gateway pay nothing (a caller from before the
    -- setting, like an old wishbench, passes none).
    if cfg.notify_on == 1 then notify_queue(ctx, user, kind, id) end
end

local function emit(ctx, user, ev, name, packed)
    ev.id = next_event_id(ctx)
    ev.at = ctx.now
    local entry = name and pack_with(ev, name, packed, ev.id)
        or ev.id .. cmsgpack.pack(ev)
    push_event(ctx, user, entry, ev.type, ev.id)
end
