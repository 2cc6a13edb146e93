-- Uses: field_fail, register, want_num, want_table (from 00_core.lua); RECORD,
--   UF (from 10_volunteer.lua); HOLD, LIVE (from 20_match.lua).
--
-- wish_check: the one read-only check of a city's invariants. The fault
-- tests (tests/fault/test_faults.c, through tests/lib/flows.c) and
-- `wishbench check` both call it, so the rules and the key names they
-- read live here, beside the functions that keep them, and nowhere else.
--
--   FCALL wish_check 1 {city} now caller params settings
--     (only params is read; no role is needed: it is not a method of
--     wishd's and changes nothing, registered 'no-writes')
--   params  from     first task number to check (T<from>), default 1
--           count    tasks at most in this call, 0..1000, default 100
--                    (0: only the users and the expected changes)
--           users    up to 64 volunteer ids checked besides those the
--                    tasks reach, with their count of offers out
--           skip     up to 64 volunteer ids not checked in this call
--                    though the tasks reach them (a caller that names
--                    them in a call of their own)
--           expect   up to 1000 "T12" (the task exists) or "T12|vol"
--                    (vol holds a live assignment on it): changes a
--                    client was told had been made
--           items    up to 64 shop item ids ("I3") to check
--
-- Invariants, each a kind in the result's `violations`:
--   per task      overfilled        filled > quantity
--                 filled_mismatch   open or filled, and filled ~= its live
--                                   assignments
--                 status_mismatch   "filled" but not full, "open" but full
--                 missing_task      T<n> <= {city}:seq:T has no hash and
--                                   was not removed after task-keep (its
--                                   bit in {city}:gone, 80_keep.lua);
--                                   removed ones count in `removed`
--                 removed_leftover  a removed task still has a key
--                 not_in_user_set   an assignment holding a place is not in
--                                   the volunteer's :asg set at the task's
--                                   start as "<task>|<end>"
--                 held_mismatch     its `held` (places team orders hold
--                                   unfilled) ~= the sum of its teams'
--                                   places in :teams, or a team's below 0
--                                   (56_team_orders.lua)
--                 overheld          filled + held > quantity
--                 no_project        linked to a project (its `project`)
--                                   that has no hash (26_projects.lua)
--                 project_unlisted  linked to a project whose :tasks does
--                                   not list it
--   per volunteer malformed_asg     an :asg member not "<task>|<end>",
--                                   end <= start
--                 double_booked     two members overlap (touching is no
--                                   clash)
--                 not_on_task       a member whose task does not hold the
--                                   volunteer in a place-holding status
--                 active_count      its `active` ~= its :asg set size
--                 offers_count      (named users only) its count of offers
--                                   out ~= offers in {city}:leases still
--                                   "offered" to it
--                 ledger_mismatch   its points balance ~= the sum of its
--                                   ledger (45_ledger.lua; ledgers of at
--                                   most LEDGER_READ entries: longer ones
--                                   count in `ledgers_long`, unchecked)
--                 negative_balance  its balance is below 0
--                 malformed_ledger  an entry not "<at>|<kind>|<cents>|<ref>"
--   per item      oversold          a shop item's stock or sold below 0
--   expect        acked_missing     an expected task or assignment absent
--
-- Bound: one call reads at most `count` tasks (a hash, its :asg hash of
-- two or three fields per volunteer ever assigned) and stops early after
-- the task that takes its field reads past BUDGET; the volunteers those
-- tasks hold (a task holds at most its quantity, <= 1000) and the named
-- users, each its profile fields and at most ASG_READ members of its :asg
-- set (max_active is at most 20); with users, the leases once, unless
-- there are more than LEASES_MAX of them (then `offers_checked` is false).
-- No SCAN: the caller walks the city in pages, T1..Tn, with `next`. A
-- volunteer no task holds is seen only when named: a million profiles
-- cannot be read in bounded calls without a cursor over them, and its
-- assignments, if any, would name a task the pages reach.
--
-- Result: {seq, tasks, removed, next (0 when past the last task), status {name ->
-- tasks}, live, held, volunteers, booked, offers_out, offers_checked,
-- over_max_active, ledgers, ledgers_long, balance (the checked
-- volunteers' balances, in hundredths of a point), team_held (the
-- tasks' `held` summed), linked (tasks linked to a project), items,
-- stock, sold,
-- violations {kind -> count}, first [up to FIRST_MAX violations in
-- words]}. `held` (tasks' place-holding assignments) and
-- `booked` (checked volunteers' :asg sizes) agree when every volunteer on
-- the pages' tasks is checked and no stray member exists.

local CHECK = {BUDGET = 20000, COUNT_MAX = 1000, USERS_MAX = 64,
               EXPECT_MAX = 1000, ASG_READ = 64, LEASES_MAX = 20000,
               FIRST_MAX = 8, LEDGER_READ = 1000}
-- Statuses of a task still taking volunteers or awaiting its end: a
-- task that ended (done, cancelled, expired) keeps the `filled` it had
-- while its assignments move on to finished or cancelled.
CHECK.RUNNING = {open = true, filled = true}
-- The keys of a task besides its hash (80_keep.lua removes them all).
CHECK.PARTS = {':asg', ':offers', ':teams', ':comments', ':declined',
               ':raters'}

-- Records a violation of `kind`, in words while the list has room.
function CHECK.bad(r, kind, fmt, ...)
    r.violations[kind] = (r.violations[kind] or 0) + 1
    if #r.first < CHECK.FIRST_MAX then
        r.first[#r.first + 1] = string.format(fmt, ...)
    end
end

-- Checks one task; notes the volunteers holding a place on it in
-- `vols`. Returns the field reads it made.
function CHECK.task(p, r, id, vols)
    local tk = p .. ':task:' .. id
    local t = redis.call('HMGET', tk, 'quantity', 'filled', 'status',
                         'start', 'end', 'held', 'project')
    if not t[3] then
        if redis.call('GETBIT', p .. ':gone', tonumber(string.sub(id, 2)))
            == 1 then
            r.removed = r.removed + 1
            for _, part in ipairs(CHECK.PARTS) do
                if redis.call('EXISTS', tk .. part) == 1 then
                    CHECK.bad(r, 'removed_leftover', '%s was removed but '
                              .. '%s is left', id, tk .. part)
                end
            end
            return 1 + #CHECK.PARTS
        end
        CHECK.bad(r, 'missing_task', '%s is counted but has no hash', id)
        return 1
    end
    r.tasks = r.tasks + 1
    local q, filled = tonumber(t[1]) or 0, tonumber(t[2]) or 0
    local st, start, e = t[3], tonumber(t[4]), t[5]
    r.status[st] = (r.status[st] or 0) + 1
    local asg = redis.call('HGETALL', tk .. ':asg')
    local live = 0
    for i = 1, #asg, 2 do
        local vol, ast = asg[i], asg[i + 1]
        -- "<volunteer>:at" and the like are times, not volunteers
        if not string.find(vol, ':', 1, true) and LIVE[ast] then
            live = live + 1
            if HOLD[ast] then
                r.held = r.held + 1
                vols[vol] = true
                local s = redis.call('ZSCORE', p .. ':user:' .. vol .. ':asg',
                                     id .. '|' .. e)
                if tonumber(s) ~= start then
                    CHECK.bad(r, 'not_in_user_set', '%s: %s is %s on it but '
                              .. 'not in its assignments set at %s', id, vol,
                              ast, tostring(start))
                end
            end
        end
    end
    r.live = r.live + live
    if filled > q then
        CHECK.bad(r, 'overfilled', '%s over-filled: filled %d, quantity %d',
                  id, filled, q)
    end
    if filled ~= live and CHECK.RUNNING[st] then
        CHECK.bad(r, 'filled_mismatch', '%s: filled %d but %d live '
                  .. 'assignments', id, filled, live)
    end
    if (st == 'filled') ~= (filled == q) and CHECK.RUNNING[st] then
        CHECK.bad(r, 'status_mismatch', '%s is %s with %d of %d', id, st,
                  filled, q)
    end
    local reads = CHECK.team_places(p, r, id, q, filled, tonumber(t[6]) or 0)
    if t[7] and t[7] ~= '' then
        reads = reads + CHECK.project(p, r, id, t[7])
    end
    return 7 + #asg + reads
end

-- Checks task id's team places (docs/protocol.md "Teams"): its `held`
-- is what its teams hold unfilled, summed from :teams (fields
-- "<team>"; "<team>:n", ":until", ":back" are not places), none below
-- 0, and with `filled` it never passes `quantity`. Held places stay as
-- they were when a task closes, so this holds in every status. Returns
-- the field reads it made.
function CHECK.team_places(p, r, id, q, filled, held)
    r.team_held = r.team_held + held
    local flat = redis.call('HGETALL', p .. ':task:' .. id .. ':teams')
    local sum = 0
    for i = 1, #flat, 2 do
        if not string.find(flat[i], ':', 1, true) then
            local n = tonumber(flat[i + 1]) or 0
            if n < 0 then
                CHECK.bad(r, 'held_mismatch', '%s: team %s holds %d places',
                          id, flat[i], n)
            end
            sum = sum + n
        end
    end
    if sum ~= held then
        CHECK.bad(r, 'held_mismatch', '%s: held %d, its teams hold %d', id,
                  held, sum)
    end
    if filled + held > q then
        CHECK.bad(r, 'overheld', '%s: filled %d + held %d over quantity %d',
                  id, filled, held, q)
    end
    return #flat
end

-- Checks that task id's project pid (26_projects.lua) exists and lists
-- it among its tasks. Returns the field reads it made.
function CHECK.project(p, r, id, pid)
    r.linked = r.linked + 1
    local pk = p .. ':project:' .. pid
    if redis.call('EXISTS', pk) == 0 then
        CHECK.bad(r, 'no_project', '%s is linked to %s, which does not '
                  .. 'exist', id, pid)
        return 1
    end
    if not redis.call('ZSCORE', pk .. ':tasks', id) then
        CHECK.bad(r, 'project_unlisted', '%s is linked to %s, which does '
                  .. 'not list it', id, pid)
    end
    return 2
end

-- Outstanding offers per volunteer, from the leases (nil when the timers
-- hold more than LEASES_MAX offers and open tasks' ends).
function CHECK.offers_out(p)
    local lk = p .. ':leases'
    if redis.call('ZCARD', lk) > CHECK.LEASES_MAX then return nil end
    local out = {}
    for _, oid in ipairs(redis.call('ZRANGE', lk, 0, -1)) do
        -- The timers hold open tasks' ends (T<n>) too: no offer to read.
        if string.byte(oid, 1) ~= 84 then
            local o = redis.call('HMGET', p .. ':offer:' .. oid, 'vol',
                                 'status')
            if o[1] and o[2] == 'offered' then
                out[o[1]] = (out[o[1]] or 0) + 1
            end
        end
    end
    return out
end

-- Checks one volunteer; `out` is its offers out per the leases, or nil
-- when they are not checked.
function CHECK.volunteer(p, r, vol, out)
    local uk = p .. ':user:' .. vol
    local z = redis.call('ZRANGE', uk .. ':asg', 0, CHECK.ASG_READ - 1,
                         'WITHSCORES')
    local n = redis.call('ZCARD', uk .. ':asg')
    r.volunteers = r.volunteers + 1
    r.booked = r.booked + n
    local busy_until, prev = nil, nil
    for i = 1, #z, 2 do
        local m, start = z[i], tonumber(z[i + 1])
        local task, e = string.match(m, '^([^|]+)|(%d+)$')
        e = tonumber(e)
        if not task or e <= start then
            CHECK.bad(r, 'malformed_asg', '%s: assignment %s is malformed',
                      vol, m)
        else
            if busy_until and start < busy_until then
                CHECK.bad(r, 'double_booked', '%s double-booked: %s (from '
                          .. '%d) overlaps %s (to %d)', vol, m, start, prev,
                          busy_until)
            end
            if not busy_until or e > busy_until then
                busy_until, prev = e, task
            end
            local st = redis.call('HGET', p .. ':task:' .. task .. ':asg',
                                  vol)
            if not HOLD[st] then
                CHECK.bad(r, 'not_on_task', '%s has %s in its set but is '
                          .. '"%s" on it', vol, task, tostring(st or ''))
            end
        end
    end
    CHECK.ledger(p, r, vol)
    local raw = RECORD.read(uk)
    if not RECORD.valid(raw) then
        CHECK.bad(r, 'malformed_record', '%s: its record is %d bytes', vol,
                  #raw)
        return
    end
    local max_active, _, active, offers = RECORD.unpack(raw)
    if active ~= n then
        CHECK.bad(r, 'active_count', '%s: active %d, %d live assignments',
                  vol, active, n)
    end
    -- Not a violation: volunteer.update may lower max_active below the
    -- places already held.
    if n > max_active then
        r.over_max_active = r.over_max_active + 1
    end
    if out then
        local q, want = offers, out[vol] or 0
        r.offers_out = r.offers_out + want
        if q ~= want then
            CHECK.bad(r, 'offers_count', '%s: %d offers counted, %d '
                      .. 'outstanding', vol, q, want)
        end
    end
end

-- Checks one volunteer's points: the balance is the ledger's sum and
-- never below 0.
function CHECK.ledger(p, r, vol)
    local uk = p .. ':user:' .. vol
    local lk = uk .. ':ledger'
    local bal = tonumber(redis.call('HGET', uk, UF.balance)) or 0
    if bal < 0 then
        CHECK.bad(r, 'negative_balance', '%s: balance %d', vol, bal)
    end
    if redis.call('LLEN', lk) > CHECK.LEDGER_READ then
        r.ledgers_long = r.ledgers_long + 1
        return
    end
    local sum = 0
    for _, e in ipairs(redis.call('LRANGE', lk, 0, -1)) do
        local cents = string.match(e, '^%d+|[cdfo]|(%-?%d+)|.')
        if not cents then
            CHECK.bad(r, 'malformed_ledger', '%s: ledger entry %s', vol, e)
        else
            sum = sum + tonumber(cents)
        end
    end
    r.ledgers = r.ledgers + 1
    r.balance = r.balance + bal
    if sum ~= bal then
        CHECK.bad(r, 'ledger_mismatch', '%s: balance %d, ledger sum %d',
                  vol, bal, sum)
    end
end

-- Checks one shop item (57_shop.lua): nothing sold past the stock.
function CHECK.item(p, r, id)
    local it = redis.call('HMGET', p .. ':shop:item:' .. id, 'stock', 'sold')
    local stock, sold = tonumber(it[1]), tonumber(it[2])
    if not stock then return end
    r.items, r.stock, r.sold = r.items + 1, r.stock + stock, r.sold + sold
    if stock < 0 or sold < 0 then
        CHECK.bad(r, 'oversold', '%s: stock %d, sold %d', id, stock, sold)
    end
end

-- One expected change: "T12" exists, "T12|vol" is live on T12.
function CHECK.expected(p, r, what)
    local task, vol = string.match(what, '^(T%d+)|(.+)$')
    -- Removed after task-keep, its export acknowledged: retention, not a
    -- lost change.
    local n = tonumber(string.match(what, '^T(%d+)'))
    if n < 2 ^ 32 and redis.call('GETBIT', p .. ':gone', n) == 1 then
        return
    end
    if not task then
        if redis.call('EXISTS', p .. ':task:' .. what) == 0 then
            CHECK.bad(r, 'acked_missing', 'acknowledged post of %s is not '
                      .. 'in Redis', what)
        end
        return
    end
    local st = redis.call('HGET', p .. ':task:' .. task .. ':asg', vol)
    if not LIVE[st] then
        CHECK.bad(r, 'acked_missing', 'acknowledged assignment of %s to %s '
                  .. 'is not in Redis ("%s")', task, vol, tostring(st or ''))
    end
end

function CHECK.run(keys, args)
    local p = keys[1]
    local params = cmsgpack.unpack(args[3])
    if type(params) ~= 'table' then params = {} end
    local from = want_num(params, 'from', 1, 2 ^ 53, true, true) or 1
    local count = want_num(params, 'count', 0, CHECK.COUNT_MAX, true, true)
        or 100
    local users = want_table(params, 'users', CHECK.USERS_MAX, true) or {}
    local skip = want_table(params, 'skip', CHECK.USERS_MAX, true) or {}
    local expect = want_table(params, 'expect', CHECK.EXPECT_MAX, true) or {}
    local items = want_table(params, 'items', CHECK.USERS_MAX, true) or {}
    for _, id in ipairs(items) do
        if type(id) ~= 'string' or not string.match(id, '^I%d+$') then
            field_fail('items', 'elements must be item ids')
        end
    end
    for _, u in ipairs(users) do
        if type(u) ~= 'string' or u == '' then
            field_fail('users', 'elements must be user ids')
        end
    end
    -- every element is checked before the first read that depends on it
    for _, what in ipairs(expect) do
        if type(what) ~= 'string' or not (string.match(what, '^T%d+$')
            or string.match(what, '^T%d+|.')) then
            field_fail('expect', 'elements must be "T<n>" or "T<n>|<user>"')
        end
    end
    local r = {tasks = 0, removed = 0, status = {}, live = 0, held = 0,
               volunteers = 0,
               booked = 0, offers_out = 0, over_max_active = 0,
               ledgers = 0, ledgers_long = 0, balance = 0, team_held = 0,
               linked = 0, items = 0,
               stock = 0, sold = 0, violations = {}, first = {}}
    r.seq = tonumber(redis.call('GET', p .. ':seq:T')) or 0
    local vols, n, reads = {}, from, 0
    while n <= r.seq and n < from + count and reads < CHECK.BUDGET do
        reads = reads + CHECK.task(p, r, 'T' .. n, vols)
        n = n + 1
    end
    r.next = n <= r.seq and n or 0
    local out = nil
    if #users > 0 then out = CHECK.offers_out(p) end
    r.offers_checked = out ~= nil
    for _, u in ipairs(users) do
        CHECK.volunteer(p, r, u, out)
        vols[u] = nil
    end
    for _, u in ipairs(skip) do vols[u] = nil end
    for vol in pairs(vols) do CHECK.volunteer(p, r, vol, nil) end
    for _, what in ipairs(expect) do CHECK.expected(p, r, what) end
    for _, id in ipairs(items) do CHECK.item(p, r, id) end
    return cmsgpack.pack(r)
end

register('wish_check', CHECK.run, {'no-writes'})
