-- Uses: CONFLICT, context, covers, fail, field_fail, FORBIDDEN, key, next_event_id,
--   task_view (from 00_core.lua); UF (from 10_volunteer.lua).
--
-- Task status, per-region counters, and the coordinators' live queue.
--
-- {city}:rcount:<scope>  HASH  per community and district (rcount below):
--                              tasks by status, offers sent / accepted /
--                              declined / lapsed
-- {city}:rcomm:<street>  SET   communities of the street that count
-- {city}:rdist           SET   districts of the city that count
-- {city}:rstats:<scope>  HASH  an older library's counters: baselines
-- {city}:rmatch:<scope>  LIST  "<at>:<secs>" from open to assigned, newest
--                              first: the last 1000 (for the median),
--                              up to 100 more until the next trim
-- {city}:queue:<scope>   ZSET  tasks in review, open or filled, by start:
--                              the snapshot queue.watch begins with
-- {city}:user:<id>:open   SET   tasks the user asked for that are in
--                              review, open or filled: what
--                              max-open-wishes and max-open-posts count
-- {city}:closed          ZSET  closed tasks (done, cancelled, expired,
--                              rejected) by when they closed: what
--                              80_keep.lua exports and removes once
--                              task-keep has passed
-- {city}:watching        HASH  scope -> the Unix second until which some
--                              wishd has a queue.watch of it: written by
--                              the snapshot, kept by wish_queue_watching
--
-- Every change a coordinator should see is announced, while someone
-- watches one of the task's scopes ({city}:watching), on mw:q:<city> as
-- "<task region>\n" followed by a MessagePack array: the queue event map,
-- then, when the change moved the task's status, one map per scope of
-- the region (city first) holding the new counts of the statuses that
-- changed ({open = 12, review = 3}). wishd keeps each watcher's counts
-- from its snapshot and applies these; counts are absolute, so applying
-- one twice is harmless. Reading all seven counts of four scopes on
-- every change cost eight HMGETs a post.

local QUEUED = {review = true, open = true, filled = true}
-- Match-time samples a scope's median reads: the newest `keep`. A list
-- is trimmed back to them only once it holds `slack` more, so that a
-- busy scope pays one LTRIM per `slack` samples, not one per accept;
-- readers take the first `keep` (up to index `last`, a string: a number
-- passed to redis.call is formatted by printf's float path).
local MATCH = {keep = 1000, slack = 100, last = '999'}

-- "jinan/lixia/quancheng/xinhe" -> the four scopes that contain it.
-- Regions repeat endlessly, so the split is remembered (up to a bound).
local scopes_of

do
    local cache, cached = {}, 0

    function scopes_of(region)
        local hit = cache[region]
        if hit then return hit end
        local out, at = {}, 0
        while true do
            at = string.find(region, '/', at + 1, true)
            if not at then break end
            out[#out + 1] = string.sub(region, 1, at - 1)
        end
        out[#out + 1] = region
        if cached >= 10000 then cache, cached = {}, 0 end
        cache[region] = out
        cached = cached + 1
        return out
    end
end

-- The watch registry, {city}:watching (docs/matching.md, "Who watches
-- the queue"). A queue event costs a view, a pack and a PUBLISH (73 k
-- instructions, bench/PROFILE.md E1), mostly for nobody: calls skip them
-- when no scope of the task's region is watched. Entries are expiry
-- times, never counts: several wishd may watch one scope, and one that
-- dies leaves an entry that lapses by itself, where a count would stay
-- wrong. The snapshot writes its scope's entry in the same call that
-- reads `upto`, so every change after the snapshot sees it and is
-- published; wishd refreshes the entries of the watches it holds every
-- third of watch_ttl (wish_queue_watching).
local watching = {}

do
    -- Seconds an entry lasts; a wishd from before the setting sends none.
    local WATCH_TTL = 60

    -- True when someone watches a scope of `region`. One HMGET per region
    -- per call; later events of the call reuse the answer (a call is atomic:
    -- no watch starts in the middle of it). The first region's answer is
    -- kept in two fields of ctx, later ones' in a table: most calls (a
    -- post, an accept) name one region, and a table costs ~1.5 k.
    function watching.any(ctx, region)
        if ctx.watched_region == region then return ctx.watched_hit end
        local seen = ctx.watched
        local hit = seen and seen[region]
        if hit ~= nil then return hit end
        local scopes = scopes_of(region)
        local v = redis.call('HMGET', key(ctx, 'watching'), unpack(scopes))
        hit = false
        for i = 1, #scopes do
            if v[i] and tonumber(v[i]) >= ctx.now then
                hit = true
                break
            end
        end
        if ctx.watched_region == nil then
            ctx.watched_region, ctx.watched_hit = region, hit
        else
            if not seen then
                seen = {}
                ctx.watched = seen
            end
            seen[region] = hit
        end
        return hit
    end

    -- Marks the scopes (a list) watched until watch_ttl from now; an entry
    -- some other wishd set later is kept.
    function watching.mark(ctx, scopes)
        local k = key(ctx, 'watching')
        local till = ctx.now + (ctx.cfg.watch_ttl or WATCH_TTL)
        local old = redis.call('HMGET', k, unpack(scopes))
        local args = {}
        for i = 1, #scopes do
            if (tonumber(old[i]) or 0) < till then
                args[#args + 1] = scopes[i]
                args[#args + 1] = till
            end
        end
        if #args > 0 then redis.call('HSET', k, unpack(args)) end
    end

    -- The most scopes one refresh names (wishd sends more in several calls).
    local WATCH_REFRESH_MAX = 500

    -- wish_queue_watching {scopes}: wishd's refresh of the scopes its live
    -- watches have, as the snapshots answered them; entries that lapsed are
    -- removed. For the system caller only. -> the entries kept.
    function watching.refresh(keys, args)
        local ctx = context(keys, args)
        if ctx.caller.role ~= 'system' then
            fail(FORBIDDEN, ctx.caller.role .. ' may not do this')
        end
        local scopes = ctx.params.scopes
        if type(scopes) ~= 'table' or #scopes > WATCH_REFRESH_MAX then
            field_fail('scopes', 'must be an array of at most '
                       .. WATCH_REFRESH_MAX .. ' scopes')
        end
        for i = 1, #scopes do
            local s = scopes[i]
            if type(s) ~= 'string' or #s > 128 or not covers(ctx.city, s) then
                field_fail('scopes', 'must be scopes of ' .. ctx.city)
            end
        end
        if #scopes > 0 then watching.mark(ctx, scopes) end
        local k = key(ctx, 'watching')
        local flat = redis.call('HGETALL', k)
        local gone, kept = {}, 0
        for i = 1, #flat, 2 do
            if tonumber(flat[i + 1]) < ctx.now then
                gone[#gone + 1] = flat[i]
            else
                kept = kept + 1
            end
        end
        if #gone > 0 then redis.call('HDEL', k, unpack(gone)) end
        return kept
    end
end

-- Counters per community (docs/matching.md, "Counters per community").
-- A change is counted in two scopes, the task's community and its
-- district, under {city}:rcount:<scope>; a street's figure is the sum of
-- its communities ({city}:rcomm:<street>, at most STREET_MAX), the city's
-- the sum of its districts ({city}:rdist, at most CITY_MAX). Writing all
-- four scopes cost 57 k instructions a post (bench/PROFILE.md, step 2);
-- a district holds ~400 communities and the city ~4 600, too many to sum
-- in one call, a street ~30 and the city ~12 districts. The old
-- per-scope hashes ({city}:rstats:<scope>, written by libraries before
-- this one) are never written again and are read as baselines: a
-- scope's figure is its old hash plus the new ones under it, right at
-- every moment of an upgrade without a walk.
local rcount = {}

do
    local STREET_MAX, CITY_MAX = 256, 64

    -- The scopes a task's changes are written in: community, district.
    function rcount.written(region)
        local sc = scopes_of(region)
        return sc[#sc], sc[2]
    end

    -- Puts a new task's community in its street's set (and its district
    -- in the city's) before the task writes anything: a street past
    -- STREET_MAX communities, or a city past CITY_MAX districts, is a
    -- CONFLICT that leaves nothing written.
    function rcount.enrol(ctx, region)
        local sc = scopes_of(region)
        local sk = key(ctx, 'rcomm', sc[3])
        if redis.call('SADD', sk, sc[4]) == 0 then return end
        if redis.call('SCARD', sk) > STREET_MAX then
            redis.call('SREM', sk, sc[4])
            fail(CONFLICT, 'street ' .. sc[3] .. ' counts ' .. STREET_MAX
                 .. ' communities already, the most one street may have')
        end
        local dk = key(ctx, 'rdist')
        if redis.call('SADD', dk, sc[2]) == 1
            and redis.call('SCARD', dk) > CITY_MAX then
            redis.call('SREM', dk, sc[2])
            redis.call('SREM', sk, sc[4])
            fail(CONFLICT, ctx.city .. ' counts ' .. CITY_MAX
                 .. ' districts already, the most one city may have')
        end
    end

    -- A task from before this layout (no `_rc` field) enrols its
    -- community on each write to the counters: its deltas must be in the
    -- sums too. No cap: the community counted already.
    function rcount.touch(ctx, t)
        if t._rc then return end
        local sc = scopes_of(t.region)
        if #sc < 4 then return end
        redis.call('SADD', key(ctx, 'rcomm', sc[3]), sc[4])
        redis.call('SADD', key(ctx, 'rdist'), sc[2])
    end

    -- The scopes whose {city}:rcount (and queue, samples) add up to
    -- `scope`'s; nil for a community or district, read directly.
    function rcount.members(ctx, scope)
        local depth = #scopes_of(scope)
        if depth == 3 then
            return redis.call('SMEMBERS', key(ctx, 'rcomm', scope))
        elseif depth == 1 then
            return redis.call('SMEMBERS', key(ctx, 'rdist'))
        end
        return nil
    end

    -- The scope's counters named in `fields`, as {field = number}.
    function rcount.sum(ctx, scope, fields)
        local out = {}
        for i = 1, #fields do out[fields[i]] = 0 end
        local function add(k)
            local v = redis.call('HMGET', k, unpack(fields))
            for i = 1, #fields do
                if v[i] then
                    out[fields[i]] = out[fields[i]] + tonumber(v[i])
                end
            end
        end
        add(key(ctx, 'rstats', scope)) -- the baseline of an older library
        for _, m in ipairs(rcount.members(ctx, scope) or {scope}) do
            add(key(ctx, 'rcount', m))
        end
        return out
    end

    -- The ids of the scope's queue, soonest start first (then by id, as a
    -- zset orders them): the first `limit`, of those starting by `upto`
    -- when given. A street's or the city's is the union of its own old
    -- zset and its members'.
    function rcount.queue(ctx, scope, limit, upto)
        local members = rcount.members(ctx, scope)
        if not members then
            local k = key(ctx, 'queue', scope)
            if upto then
                return redis.call('ZRANGEBYSCORE', k, '-inf', upto, 'LIMIT',
                                  0, limit)
            end
            return redis.call('ZRANGE', k, 0, limit - 1)
        end
        local function range(k)
            if upto then
                return redis.call('ZRANGEBYSCORE', k, '-inf', upto,
                                  'WITHSCORES', 'LIMIT', 0, limit)
            end
            return redis.call('ZRANGE', k, 0, limit - 1, 'WITHSCORES')
        end
        local at, ids = {}, {}
        local function add(k)
            local flat = range(k)
            for i = 1, #flat, 2 do
                if not at[flat[i]] then
                    ids[#ids + 1] = flat[i]
                    at[flat[i]] = tonumber(flat[i + 1])
                end
            end
        end
        add(key(ctx, 'queue', scope))
        for _, m in ipairs(members) do add(key(ctx, 'queue', m)) end
        table.sort(ids, function(a, b)
            if at[a] ~= at[b] then return at[a] < at[b] end
            return a < b
        end)
        for i = #ids, limit + 1, -1 do ids[i] = nil end
        return ids
    end

    -- The scope's match times in seconds, the newest 1000 (MATCH.keep).
    -- Samples are "<at>:<secs>"; plain ones were written by an older
    -- library, and a street's or the city's own old list holds those of
    -- its communities already.
    function rcount.samples(ctx, scope)
        local function secs(v)
            local c = string.find(v, ':', 1, true)
            return tonumber(c and string.sub(v, c + 1) or v)
        end
        local own = redis.call('LRANGE', key(ctx, 'rmatch', scope), '0',
                               MATCH.last)
        local members = rcount.members(ctx, scope)
        if not members then
            for i = 1, #own do own[i] = secs(own[i]) end
            return own
        end
        local timed = {}
        for _, m in ipairs(members) do
            for _, v in ipairs(redis.call('LRANGE', key(ctx, 'rmatch', m),
                                          '0', MATCH.last)) do
                local c = string.find(v, ':', 1, true)
                if c then
                    timed[#timed + 1] = {tonumber(string.sub(v, 1, c - 1)),
                                         tonumber(string.sub(v, c + 1))}
                end
            end
        end
        table.sort(timed, function(a, b) return a[1] > b[1] end)
        local out = {}
        for i = 1, math.min(#timed, MATCH.keep) do out[i] = timed[i][2] end
        for i = 1, #own do
            if #out >= MATCH.keep then break end
            out[#out + 1] = secs(own[i])
        end
        return out
    end
end

-- Adds `by` to a counter of the task's community and district.
local function rstat(ctx, t, field, by)
    rcount.touch(ctx, t)
    local c, d = rcount.written(t.region)
    redis.call('HINCRBY', key(ctx, 'rcount', c), field, by or '1')
    if d ~= c then
        redis.call('HINCRBY', key(ctx, 'rcount', d), field, by or '1')
    end
end

-- The statuses counted per scope, in the order queue messages carry them.
local COUNTED = {'review', 'open', 'filled', 'done', 'rejected', 'cancelled',
                 'expired'}

-- Status counts of one scope as a map (never empty: cmsgpack would make
-- an empty table an array).
local function status_counts(ctx, scope)
    return rcount.sum(ctx, scope, COUNTED)
end

-- The prefix of an assignee's name as {city}:task:<id>:asg keeps it
-- ("<vol>:n" -> "=Li Lei"). The hash's other values are statuses and
-- numbers, and loops over it (cancel, expiry, done) take any value found
-- in LIVE or HOLD for a volunteer's status: a volunteer named "assigned"
-- must not read as one, so a stored name never starts with a letter.
local ASG_NAME = '='

-- Who is on the task, for its requester and staff over it (never for
-- volunteers: one on a task need not know the others): [{volunteer_id,
-- name, status}] in the order they were put on it, each with its
-- assignment status (docs/protocol.md, "Results"). The name is the one
-- the volunteer had when it was put on the task, kept in the :asg hash by
-- do_assign, so one HGETALL answers; a task nobody was ever put on
-- (filled 0, which never goes down) costs no read at all. Never empty as
-- a map: cmsgpack packs an empty table as [].
local function task_assignees(ctx, t)
    local out = {}
    if tonumber(t.filled) == 0 then return out end
    local flat = redis.call('HGETALL', key(ctx, 'task', t.id, 'asg'))
    local f = {}
    for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
    local at = {}
    -- User ids have no ':' (want_user_id): the other fields all do.
    for field, st in pairs(f) do
        if not string.find(field, ':', 1, true) then
            local name = f[field .. ':n']
            if name then
                name = string.sub(name, #ASG_NAME + 1)
            else -- put on the task before names were kept there
                name = redis.call('HGET', key(ctx, 'user', field), UF.name)
                    or field
            end
            out[#out + 1] = {volunteer_id = field, name = name, status = st}
            at[field] = tonumber(f[field .. ':at']) or 0
        end
    end
    if #out > 1 then table.sort(out, function(a, b)
        local x, y = at[a.volunteer_id], at[b.volunteer_id]
        if x ~= y then return x < y end
        return a.volunteer_id < b.volunteer_id
    end) end
    return out
end

-- Announces a change of a task to the coordinators watching its region,
-- if any (nobody watching: no view, no event id, no PUBLISH); `counts`,
-- when the status moved, is the list set_status made.
local function queue_event(ctx, t, change, extra, counts)
    if not watching.any(ctx, t.region) then return end
    local view = task_view(t, true)
    view.assignees = task_assignees(ctx, t)
    local ev = {id = next_event_id(ctx), type = 'queue', at = ctx.now,
                change = change, task = view}
    for k, v in pairs(extra or {}) do ev[k] = v end
    local msg = {ev}
    if counts then
        for i = 1, #counts do msg[i + 1] = counts[i] end
    end
    local cfg = ctx.cfg
    redis.call(cfg.publish, 'mw:q:' .. (cfg.tagged and ctx.p or ctx.city),
               t.region .. '\n' .. cmsgpack.pack(msg))
end

-- Keeps the requester's set of open tasks in step with a move from `old`
-- to `status`. Every status change passes here, so the set cannot drift;
-- its SCARD is the O(1) count the caps read.
local function track_open(ctx, t, old, status)
    if QUEUED[status] == QUEUED[old] then return end
    local ok = key(ctx, 'user', t.requester, 'open')
    if QUEUED[status] then
        redis.call('SADD', ok, t.id)
    else
        redis.call('SREM', ok, t.id)
    end
end

-- Moves the counters and the queue index of the task's community and
-- district from status `old` (nil for a new task) to `status` (a task
-- leaving the queue leaves the old zsets of its street and city too),
-- and the requester's open set. Returns, when someone watches a scope
-- of the task, the new counts of the two statuses, one map per scope
-- (city first), for queue_event; nil otherwise (no event is sent).
local function count_status(ctx, t, old, status)
    track_open(ctx, t, old, status)
    rcount.touch(ctx, t)
    -- The community, then the district when it differs: no list made.
    local c, d = rcount.written(t.region)
    local s = c
    while s do
        local rk = key(ctx, 'rcount', s)
        if old then redis.call('HINCRBY', rk, old, '-1') end
        redis.call('HINCRBY', rk, status, '1')
        if QUEUED[status] and not QUEUED[old] then
            redis.call('ZADD', key(ctx, 'queue', s), t.start, t.id) -- as read
        end
        s = s ~= d and d or nil
    end
    if QUEUED[old] and not QUEUED[status] then
        for _, s in ipairs(scopes_of(t.region)) do
            redis.call('ZREM', key(ctx, 'queue', s), t.id)
        end
    end
    if not watching.any(ctx, t.region) then return nil end
    local counts = {}
    for i, s in ipairs(scopes_of(t.region)) do
        counts[i] = rcount.sum(ctx, s, old and {old, status} or {status})
    end
    return counts
end

-- Moves a task to a new status: the hash, the counters, the queue index,
-- the closed index (when it closes), and a queue event with `change` (the
-- status itself when nil) and the `extra` fields, if any. `field`,
-- `value`: one more field of the task's hash, written in the same HSET
-- (do_assign's `filled`; nil: none).
local function set_status(ctx, t, status, change, extra, field, value)
    local old = t.status
    t.status = status
    if field then
        redis.call('HSET', key(ctx, 'task', t.id), 'status', status, field,
                   value)
    else
        redis.call('HSET', key(ctx, 'task', t.id), 'status', status)
    end
    -- Every status but the queued ones is final (done, cancelled,
    -- expired, rejected: docs/protocol.md, "Tasks"); task-keep counts
    -- from when the task reached one.
    if not QUEUED[status] and QUEUED[old] then
        redis.call('ZADD', key(ctx, 'closed'), ctx.now, t.id)
    end
    queue_event(ctx, t, change or status, extra,
                count_status(ctx, t, old, status))
end

-- Records how long a task waited from open to an assignment, in its
-- community and district, as "<now>:<secs>" (rcount.samples).
-- One format makes the sample: numbers concatenated, or passed to
-- redis.call, take printf's float path ("%.14g", "%.17g"), ~2-3 k each;
-- the time is the daemon's string and the wait a whole number of seconds.
local function note_match_time(ctx, t)
    rcount.touch(ctx, t)
    -- No `opened`: the task opened as it was made (create_task); an
    -- older task's '' reads as now, as before.
    local v = string.format('%s:%d', ctx.now_arg,
                            ctx.now - (tonumber(t.opened or t.created)
                                       or ctx.now))
    -- The community, then the district when it differs: no list made.
    local c, d = rcount.written(t.region)
    local s = c
    while s do
        local k = key(ctx, 'rmatch', s)
        if redis.call('LPUSH', k, v) > MATCH.keep + MATCH.slack then
            redis.call('LTRIM', k, '0', MATCH.last)
        end
        s = s ~= d and d or nil
    end
end
