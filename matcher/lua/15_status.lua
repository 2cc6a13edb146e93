-- Uses: context, covers, fail, field_fail, FORBIDDEN, key, next_event_id,
--   task_view (from 00_core.lua); UF (from 10_volunteer.lua).
--
-- Task status, per-region counters, and the coordinators' live queue.
--
-- {city}:rstats:<scope>  HASH  per region scope (city, district, street,
--                              community): tasks by status, offers sent /
--                              accepted / declined / lapsed
-- {city}:rmatch:<scope>  LIST  seconds from open to assigned, newest first,
--                              the last 1000 (for the median)
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
local MATCH_SAMPLES = 1000

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
    -- no watch starts in the middle of it).
    function watching.any(ctx, region)
        local seen = ctx.watched
        if not seen then
            seen = {}
            ctx.watched = seen
        end
        local hit = seen[region]
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
        seen[region] = hit
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

-- Adds `by` to a counter of every scope containing the region.
local function rstat(ctx, region, field, by)
    for _, s in ipairs(scopes_of(region)) do
        redis.call('HINCRBY', key(ctx, 'rstats', s), field, by or '1')
    end
end

-- The statuses counted per scope, in the order queue messages carry them.
local COUNTED = {'review', 'open', 'filled', 'done', 'rejected', 'cancelled',
                 'expired'}

-- Status counts of one scope as a map (never empty: cmsgpack would make
-- an empty table an array).
local function status_counts(ctx, scope)
    local v = redis.call('HMGET', key(ctx, 'rstats', scope), unpack(COUNTED))
    local out = {}
    for i, st in ipairs(COUNTED) do out[st] = tonumber(v[i]) or 0 end
    return out
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

-- Moves the counters and the queue index of every scope of the task's
-- region from status `old` (nil for a new task) to `status`, and the
-- requester's open set. Returns the new counts of the two statuses, one
-- map per scope, for queue_event.
local function count_status(ctx, t, old, status)
    track_open(ctx, t, old, status)
    local counts = {}
    for i, s in ipairs(scopes_of(t.region)) do
        local rk = key(ctx, 'rstats', s)
        local c = {}
        if old then c[old] = redis.call('HINCRBY', rk, old, '-1') end
        c[status] = redis.call('HINCRBY', rk, status, '1')
        counts[i] = c
        local qk = key(ctx, 'queue', s)
        if QUEUED[status] then
            if not QUEUED[old] then
                redis.call('ZADD', qk, t.start, t.id) -- as read: no %.17g
            end
        elseif QUEUED[old] then
            redis.call('ZREM', qk, t.id)
        end
    end
    return counts
end

-- Moves a task to a new status: the hash, the counters, the queue index,
-- the closed index (when it closes), and a queue event with `change` (the status itself when nil) and the
-- `extra` fields, if any.
local function set_status(ctx, t, status, change, extra)
    local old = t.status
    t.status = status
    redis.call('HSET', key(ctx, 'task', t.id), 'status', status)
    -- Every status but the queued ones is final (done, cancelled,
    -- expired, rejected: docs/protocol.md, "Tasks"); task-keep counts
    -- from when the task reached one.
    if not QUEUED[status] and QUEUED[old] then
        redis.call('ZADD', key(ctx, 'closed'), ctx.now, t.id)
    end
    queue_event(ctx, t, change or status, extra,
                count_status(ctx, t, old, status))
end

-- Records how long a task waited from open to an assignment.
local function note_match_time(ctx, t)
    local secs = ctx.now - (tonumber(t.opened) or ctx.now)
    for _, s in ipairs(scopes_of(t.region)) do
        local k = key(ctx, 'rmatch', s)
        if redis.call('LPUSH', k, secs) > MATCH_SAMPLES then
            redis.call('LTRIM', k, 0, MATCH_SAMPLES - 1)
        end
    end
end
