-- Uses: CONFLICT, context, fail, hgetall, key, want_num, want_role (from
--   00_core.lua); scopes_of (from 15_status.lua).
--
-- Records that last (docs/protocol.md, "Records that last: task-keep and
-- the archive"): a closed task stays whole for task-keep after it closed,
-- is then exported to the city's archive, and once the operator's job has
-- acknowledged that export every key and index entry of the task is
-- removed. What lasts is the volunteers' service records and ledgers
-- (45_ledger.lua) and the aggregates (board, rstats, team totals), none
-- of which a removal touches.
--
-- {city}:closed           ZSET    closed tasks by when they closed
--                                 (15_status.lua's set_status adds them)
-- {city}:archive          STREAM  "<n>-0" -> task <id>, rec <JSON>: one
--                                 export each, n from {city}:seq:archive;
--                                 at most archive_max entries, trimmed
--                                 only up to the acknowledged id
-- {city}:seq:archive      STRING  the archive's counter
-- {city}:archive:acked    STRING  the highest archive id acknowledged
-- {city}:archived         ZSET    exported tasks awaiting removal, by
--                                 their archive id
-- {city}:task:<id>        also    _arch: "<n>|<sha1>", the archive id and
--                                 digest of its export (a record that
--                                 changed since is exported again)
-- {city}:gone             STRING  a bitmap: bit n set once T<n> was
--                                 removed (load_task's NOT_FOUND says so,
--                                 wish_check does not count it missing)
-- {city}:keep:walk        STRING  the upgrade walk's cursor: the next
--                                 task number to look at, or "done"
--
-- Why export at task-keep, not at closing: the record is final by then
-- (confirmations and ratings come days after a task closes), each task
-- is exported once, and the archive holds only what is about to leave,
-- so it stays small while the job drains it. Stream ids come from the
-- city's counter, not Redis's clock (times come from the daemon). Every
-- function is a field of one table: the chunk's locals are few
-- (tests/lua_check.py).

local keep = {
    READ_MAX = 100,          -- entries one archive.read returns at most
    READ_BYTES = 256 * 1024, -- and about this many bytes of records
    -- The keys of a task besides its hash, by type: hashes are exported
    -- as objects, sets as sorted arrays.
    HASHES = {'asg', 'offers', 'teams', 'comments'},
    SETS = {'declined', 'raters'},
    -- The upgrade walk (keep.walk): task numbers looked at per sweep.
    WALK_STEP = 256,
    CLOSED = {done = true, cancelled = true, expired = true,
              rejected = true},
}

-- The whole record of task `id` as a table, or nil when it has no hash:
-- {task_id, city, task, and asg, offers, teams, comments, declined,
-- raters when present}. Reads each key of the task once.
function keep.record(ctx, id)
    local tk = key(ctx, 'task', id)
    local t = hgetall(tk)
    if t == nil then return nil end
    -- The fields create_task leaves out (30_tasks.lua), as every
    -- export has had them: `note` '' when empty; `opened` = `created`
    -- when the task opened as it was made (only a task of `_rc` 2 can
    -- lack it so: older ones always wrote it, or never opened).
    if t.note == nil then t.note = '' end
    if t.opened == nil and t._rc == '2' then t.opened = t.created end
    t._arch, t._rc = nil, nil -- the library's own marks
    local r = {task_id = id, city = ctx.city, task = t}
    for _, part in ipairs(keep.HASHES) do
        r[part] = hgetall(tk .. ':' .. part)
    end
    for _, part in ipairs(keep.SETS) do
        local m = redis.call('SMEMBERS', tk .. ':' .. part)
        if #m > 0 then
            table.sort(m)
            r[part] = m
        end
    end
    return r
end

-- The digest of a record's content (its task and parts, not the export's
-- own fields): sha1 over every part in a fixed order, each hash's fields
-- sorted, so that equal content gives equal digests.
function keep.digest(r)
    local out = {}
    for _, part in ipairs({'task', 'asg', 'offers', 'teams', 'comments'}) do
        local h = r[part]
        if h then
            local names = {}
            for f in pairs(h) do names[#names + 1] = f end
            table.sort(names)
            out[#out + 1] = '\n[' .. part .. ']'
            for _, f in ipairs(names) do
                out[#out + 1] = f .. '\0' .. h[f]
            end
        end
    end
    for _, part in ipairs(keep.SETS) do
        if r[part] then
            out[#out + 1] = '\n[' .. part .. ']'
            for _, m in ipairs(r[part]) do out[#out + 1] = m end
        end
    end
    return redis.sha1hex(table.concat(out, '\n'))
end

-- True when the archive holds archive_max entries: nothing more may be
-- exported until the operator's job acknowledges some.
function keep.full(ctx)
    return redis.call('XLEN', key(ctx, 'archive')) >= ctx.cfg.archive_max
end

-- Exports record r (keep.record) of task `id` as the archive's next
-- entry and lists the task as awaiting removal under that entry's id.
-- `closed_at`: when it closed (nil for a re-export). A write; the caller
-- has checked keep.full.
function keep.export(ctx, id, r, closed_at)
    local digest = keep.digest(r)
    local n = redis.call('INCR', key(ctx, 'seq', 'archive'))
    r.archive_id = n
    r.archived_at = ctx.now
    r.closed_at = closed_at
    redis.call('XADD', key(ctx, 'archive'), n .. '-0', 'task', id, 'rec',
               cjson.encode(r))
    redis.call('HSET', key(ctx, 'task', id), '_arch', n .. '|' .. digest)
    redis.call('ZADD', key(ctx, 'archived'), n, id)
end

-- Removes task `id` whose record is r: every key of it, every index
-- entry naming it (the open and filled indexes, the queues of its scopes,
-- its requester's lists, each volunteer's task.mine and assignments
-- set, each team's orders, its project's tasks), and marks it gone. The
-- service records, ledgers and aggregates stay. A write.
function keep.remove(ctx, id, r)
    local t, tk = r.task, key(ctx, 'task', id)
    redis.call('DEL', tk, tk .. ':asg', tk .. ':offers', tk .. ':teams',
               tk .. ':comments', tk .. ':declined', tk .. ':raters')
    redis.call('ZREM', key(ctx, 'leases'), id) -- its end, if still there
    redis.call('ZREM', key(ctx, 'open_by_end'), id)
    redis.call('ZREM', key(ctx, 'filled_by_end'), id)
    redis.call('ZREM', key(ctx, 'unmatched'), id)
    if t.skill then redis.call('ZREM', key(ctx, 'geo', 'task', t.skill), id) end
    if t.region then
        for _, s in ipairs(scopes_of(t.region)) do
            redis.call('ZREM', key(ctx, 'queue', s), id)
        end
    end
    if t.requester then
        redis.call('ZREM', key(ctx, 'user', t.requester, 'tasks'), id)
        redis.call('SREM', key(ctx, 'user', t.requester, 'open'), id)
    end
    -- Volunteers and teams are the fields without ':' ("<vol>:at" and
    -- "<team>:n" are not).
    for f in pairs(r.asg or {}) do
        if not string.find(f, ':', 1, true) then
            redis.call('ZREM', key(ctx, 'user', f, 'mine'), id)
            redis.call('ZREM', key(ctx, 'user', f, 'asg'),
                       id .. '|' .. (t['end'] or ''))
        end
    end
    if t.project then
        redis.call('ZREM', key(ctx, 'project', t.project, 'tasks'), id)
    end
    for g in pairs(r.teams or {}) do
        if not string.find(g, ':', 1, true) then
            redis.call('ZREM', key(ctx, 'team', g, 'orders'), id)
            redis.call('ZREM', key(ctx, 'team_holds'), id .. '|' .. g)
        end
    end
    redis.call('ZREM', key(ctx, 'closed'), id)
    redis.call('ZREM', key(ctx, 'archived'), id)
    local n = tonumber(string.sub(id, 2))
    if n and n < 2 ^ 32 then redis.call('SETBIT', key(ctx, 'gone'), n, 1) end
end

-- wish_sweep's part: removes at most `budget` exported tasks whose
-- export is acknowledged (one that changed since is exported again
-- instead, room permitting), then exports at most `budget` tasks closed
-- task_keep ago or more, while the archive has room. Returns removed,
-- archived, and whether the archive was full. A daemon from before the
-- setting passes no task_keep: nothing is removed.
function keep.sweep(ctx, budget)
    local cfg = ctx.cfg
    if not cfg.task_keep or not cfg.archive_max then return 0, 0, false end
    local removed, archived, full = 0, 0, keep.full(ctx)
    local acked = tonumber(redis.call('GET', key(ctx, 'archive', 'acked')))
        or 0
    local ak = key(ctx, 'archived')
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', ak, '-inf', acked,
                                   'LIMIT', 0, budget)) do
        local r = keep.record(ctx, id)
        local mark = r and redis.call('HGET', key(ctx, 'task', id), '_arch')
        local digest = mark and string.match(mark, '|(%x+)$')
        if not r then
            redis.call('ZREM', ak, id)
        elseif digest == keep.digest(r) then
            keep.remove(ctx, id, r)
            removed = removed + 1
        elseif not full then
            keep.export(ctx, id, r, nil)
            archived = archived + 1
            full = keep.full(ctx)
        end
    end
    local ck = key(ctx, 'closed')
    local due = full and {} or redis.call('ZRANGEBYSCORE', ck, '-inf',
                                          ctx.now - cfg.task_keep,
                                          'WITHSCORES', 'LIMIT', 0, budget)
    for i = 1, #due, 2 do
        if full then break end
        local id = due[i]
        local r = keep.record(ctx, id)
        if r then
            keep.export(ctx, id, r, tonumber(due[i + 1]))
            archived = archived + 1
            full = keep.full(ctx)
        end
        redis.call('ZREM', ck, id)
    end
    -- Full and more waiting: say so (an archive that filled exactly with
    -- nothing left to export is no refusal).
    if full and #due == 0 then
        full = #redis.call('ZRANGEBYSCORE', ck, '-inf',
                           ctx.now - cfg.task_keep, 'LIMIT', 0, 1) > 0
    end
    return removed, archived, full
end

-- wish_sweep's part for cities older than this file: tasks that closed
-- before set_status kept the closed index are in none, so they would
-- never be exported nor removed. This walks the city's task numbers
-- once, T1 up to the task counter, at most `step` of them per call, and
-- puts each closed task that is neither indexed nor exported into
-- {city}:closed. When it closed was not recorded then: it counts from
-- its end, or from now for one whose end is still ahead (cancelled
-- before it began). The cursor is in Redis, so any daemon resumes it;
-- ZADD NX and the _arch mark make a step run twice harmless. Once past
-- the counter it says "done", and each later call costs one GET (tasks
-- made since are indexed by set_status). Returns the tasks it indexed
-- and whether the walk is done.
function keep.walk(ctx, step)
    local wk = key(ctx, 'keep', 'walk')
    local at = redis.call('GET', wk)
    if at == 'done' then return 0, true end
    local from = tonumber(at) or 1
    local last = tonumber(redis.call('GET', key(ctx, 'seq', 'T'))) or 0
    local to = math.min(last, from + step - 1)
    local added, ck = 0, key(ctx, 'closed')
    for n = from, to do
        local id = 'T' .. n
        local v = redis.call('HMGET', key(ctx, 'task', id), 'status', 'end',
                             '_arch')
        if v[1] and keep.CLOSED[v[1]] and not v[3] then
            local closed = math.min(tonumber(v[2]) or ctx.now, ctx.now)
            added = added + redis.call('ZADD', ck, 'NX', closed, id)
        end
    end
    local done = to >= last
    redis.call('SET', wk, done and 'done' or string.format('%d', to + 1))
    return added, done
end

-- An archive id of params field `name`: a whole number, 0..2^53.
function keep.want_id(p, name, optional)
    return want_num(p, name, 0, 2 ^ 53, optional, true)
end

-- archive.read {since, limit} (admin): the entries after `since`, oldest
-- first, at most `limit` and about READ_BYTES of records (at least one).
-- Bounded: one XRANGE of at most `limit` entries.
function keep.read(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'admin')
    local p = ctx.params
    local since = keep.want_id(p, 'since', true) or 0
    local limit = want_num(p, 'limit', 1, keep.READ_MAX, true, true)
        or keep.READ_MAX
    local k = key(ctx, 'archive')
    local rows = redis.call('XRANGE', k, '(' .. string.format('%d', since)
                            .. '-0', '+', 'COUNT', limit + 1)
    local entries, bytes, next = {}, 0, since
    for i = 1, math.min(#rows, limit) do
        local f = rows[i][2] -- task <id> rec <json>
        if #entries > 0 and bytes + #f[4] > keep.READ_BYTES then break end
        local n = tonumber(string.match(rows[i][1], '^(%d+)'))
        entries[#entries + 1] = {id = n, task_id = f[2], record = f[4]}
        bytes, next = bytes + #f[4], n
    end
    local pending = redis.call('XLEN', k)
    return cmsgpack.pack({
        entries = entries, next = next, more = #rows > #entries,
        pending = pending, cap = ctx.cfg.archive_max or 0,
        full = pending >= (ctx.cfg.archive_max or 0),
        acked = tonumber(redis.call('GET', key(ctx, 'archive', 'acked')))
            or 0,
    })
end

-- archive.ack {upto} (admin): every entry up to `upto` is acknowledged
-- and trimmed; its task may be removed from the next sweep on. An id
-- never exported is CONFLICT: an acknowledgement follows a read.
function keep.ack(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'admin')
    local upto = keep.want_id(ctx.params, 'upto')
    local last = tonumber(redis.call('GET', key(ctx, 'seq', 'archive')))
        or 0
    if upto > last then
        fail(CONFLICT, string.format('the archive has no entry %d yet', upto))
    end
    local k, ack = key(ctx, 'archive'), key(ctx, 'archive', 'acked')
    local acked = tonumber(redis.call('GET', ack)) or 0
    if upto > acked then
        redis.call('SET', ack, string.format('%d', upto))
        acked = upto
    end
    redis.call('XTRIM', k, 'MINID', string.format('%d', acked + 1) .. '-0')
    return cmsgpack.pack({acked = acked, pending = redis.call('XLEN', k)})
end
