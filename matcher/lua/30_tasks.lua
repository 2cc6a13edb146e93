-- Uses: BAD, check_skill, coarse, CONFLICT, context, coord, covers, distance,
--   emit, fail, field_fail, FORBIDDEN, hgetall, in_scope, is_staff, key,
--   load_task, next_id, NOT_FOUND, round_to, task_view, want_bool,
--   want_city_place, want_id, want_num, want_region, want_role, want_span,
--   want_str, want_user_id (from 00_core.lua); want_skill (from
--   05_skills.lua); clash, DEFAULT_RADIUS, split_csv, UF (from
--   10_volunteer.lua); count_status, queue_event, rcount, set_status,
--   task_assignees (from 15_status.lua); check_assignable, do_assign, drop_offer, HOLD,
--   list_open_task, LIVE, match_task, open_task, release_volunteer,
--   unlist_open_task, withdraw_offers (from 20_match.lua); teams (from
--   25_teams.lua); projects (from 26_projects.lua).
--
-- Tasks: wishes, posts, review, cancel, claims, offers, dispatch, views.
--
-- {city}:user:<id>:tasks  ZSET  tasks a user asked for, by creation time

-- Raises CONFLICT when the caller already has as many open tasks (in
-- review, open or filled; the set track_open keeps) as a task of `kind`
-- allows: max-open-posts for a centre's posts, max-open-wishes for a
-- resident's wishes and menu orders.
local function check_open_cap(ctx, kind)
    local cap, name = ctx.cfg.max_open_wishes, 'max-open-wishes'
    if kind == 'post' then
        cap, name = ctx.cfg.max_open_posts, 'max-open-posts'
    end
    local n = redis.call('SCARD', key(ctx, 'user', ctx.caller.user, 'open'))
    if n >= cap then
        fail(CONFLICT, 'you have ' .. n .. ' open tasks, the most allowed ('
             .. name .. '); cancel one or wait until one is done')
    end
end

-- Creates a task from validated fields; opens it (and offers it) unless
-- it waits for review. One HSET writes it whole, status included, and
-- `_rc` = 2 (counted per community: rcount.touch; its end among the
-- timers: list_open_task). An open one is matched before it is listed,
-- so that its end and its offers' leases are one ZADD. Its checks (the
-- caller's cap, the street's and city's bounds in rcount.enrol) come
-- before its first write.
local create_task
do
    -- The task's HSET: the fields every task has, then `...`, pairs of
    -- the fields only some have. A new hash is a listpack built one
    -- field at a time, each walking those before it (the 17-field HSET
    -- was ~37 k instructions of Redis's own work), so a field whose
    -- value readers can tell anyway is not written: `note` when empty
    -- (read as ''), `opened` when the task opened as it was made (read as
    -- `created`: note_match_time, keep.record). A task waiting for review
    -- keeps `opened` = '' until it opens, as before.
    local function write_task(ctx, t, ...)
        redis.call('HSET', key(ctx, 'task', t.id), 'id', t.id,
                   'kind', t.kind, 'title', t.title, 'skill', t.skill,
                   'lon', t.lon, 'lat', t.lat, 'start', t.start,
                   'end', t['end'], 'region', t.region,
                   'quantity', t.quantity, 'filled', t.filled,
                   'requester', t.requester, 'created', t.created,
                   'status', t.status, '_rc', '2', ...)
    end

    function create_task(ctx, f)
        check_open_cap(ctx, f.kind)
        rcount.enrol(ctx, f.region)
        local id = next_id(ctx, 'T')
        -- The task as HGETALL would read it back (strings, the fields
        -- left out above as their readers take them), without the read.
        -- Whole numbers by "%d" and the time as the daemon sent it:
        -- tostring of a number takes printf's float path ("%.14g"), ~3 k
        -- each.
        local t = {id = id, kind = f.kind, title = f.title, skill = f.skill,
                   lon = coord(f.lon), lat = coord(f.lat),
                   start = string.format('%d', f.start),
                   ['end'] = string.format('%d', f['end']),
                   region = f.region, note = f.note or '',
                   -- most tasks want one volunteer: no format for them
                   quantity = f.quantity == 1 and '1'
                       or string.format('%d', f.quantity),
                   filled = '0',
                   requester = ctx.caller.user, created = ctx.now_arg,
                   status = f.status,
                   -- a project's task: its queue event says so (the hash
                   -- gets it from projects.link, right after)
                   project = f.project, _rc = '2'}
        local open = f.status == 'open'
        local note = t.note ~= '' and t.note
        if open then
            t.opened = t.created
            if note then write_task(ctx, t, 'note', note)
            else write_task(ctx, t) end
        elseif note then
            write_task(ctx, t, 'note', note, 'opened', '')
        else
            write_task(ctx, t, 'opened', '')
        end
        -- wish.list reads this: a resident's wishes and menu orders. A
        -- coordinator's posts need no such list.
        if f.kind ~= 'post' then
            redis.call('ZADD', key(ctx, 'user', ctx.caller.user, 'tasks'),
                       ctx.now_arg, id)
        end
        queue_event(ctx, t, 'created', nil,
                    count_status(ctx, t, nil, t.status))
        if open then
            -- Neither the search nor the offers read the listings.
            local timers = {}
            match_task(ctx, t, true, timers)
            list_open_task(ctx, t, timers)
        end
        return t
    end
end

-- The fields every new task has, validated.
local function want_task_fields(ctx, p)
    local f = {}
    f.title = want_str(p, 'title', 1, 200)
    f.skill = want_skill(ctx, p, 'skill')
    f.lon, f.lat = want_city_place(ctx, p)
    f.start, f['end'] = want_span(ctx, p)
    f.note = want_str(p, 'note', 0, 2000, true)
    return f
end

local function needs_review(ctx, region)
    for _, scope in ipairs(ctx.cfg.review_regions) do
        if covers(scope, region) then return true end
    end
    return false
end

-- wish.submit (群众点单): a resident's micro-wish.
local function wish_wish_submit(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'resident')
    local f = want_task_fields(ctx, ctx.params)
    f.region = want_region(ctx, ctx.params, 'region', ctx.caller.region)
    f.kind, f.quantity = 'wish', 1
    f.status = needs_review(ctx, f.region) and 'review' or 'open'
    local t = create_task(ctx, f)
    return cmsgpack.pack({task_id = t.id, status = t.status})
end

-- task.post (中心制单): a coordinator's task for `quantity` volunteers.
local function wish_task_post(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local f = want_task_fields(ctx, ctx.params)
    if ctx.params.region == nil then field_fail('region', 'required') end
    f.region = want_region(ctx, ctx.params, 'region')
    f.quantity = want_num(ctx.params, 'quantity', 1, 1000, true, true) or 1
    f.kind, f.status = 'post', 'open'
    -- A project's task (docs/protocol.md, "Projects and caring
    -- partners"): checked before create_task's first write.
    local pr
    if ctx.params.project_id ~= nil then
        pr = projects.load(ctx, want_id(ctx.params, 'project_id', 'P'))
        projects.want_linkable(ctx, pr, f.region, f.start)
        f.project = pr.id
    end
    local t = create_task(ctx, f)
    if pr then projects.link(ctx, pr, {id = t.id, start = f.start}) end
    return cmsgpack.pack({task_id = t.id, status = t.status})
end

-- Loads a task and raises FORBIDDEN unless the caller is staff over its
-- region.
local function load_task_as_staff(ctx, id)
    want_role(ctx, 'coordinator', 'admin')
    local t = load_task(ctx, id)
    if not in_scope(ctx, t.region) then
        fail(FORBIDDEN, 'task ' .. id .. ' is outside your scope')
    end
    return t
end

-- wish.review: approve (open and offer) or reject a wish under review.
local function wish_wish_review(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local id = want_id(p, 'task_id', 'T')
    local approve = want_bool(p, 'approve')
    local reason = want_str(p, 'reason', 0, 500, true)
    local t = load_task_as_staff(ctx, id)
    if t.status ~= 'review' then
        fail(CONFLICT, 'task ' .. id .. ' is ' .. t.status .. ', not review')
    end
    if approve then
        open_task(ctx, t, 'approved')
    else
        t.reason = reason or ''
        redis.call('HSET', key(ctx, 'task', id), 'reason', t.reason)
        set_status(ctx, t, 'rejected')
    end
    emit(ctx, t.requester, {type = 'wish_reviewed', task_id = id,
                            approved = approve, reason = reason})
    local view = task_view(hgetall(key(ctx, 'task', id)), true)
    view.assignees = task_assignees(ctx, t)
    return cmsgpack.pack(view)
end

-- True when the caller may see the task's exact place and note.
local function sees_exact(ctx, t)
    if ctx.caller.user == t.requester then return true end
    if is_staff(ctx) then return in_scope(ctx, t.region) end
    if ctx.caller.role == 'volunteer' then
        local st = redis.call('HGET', key(ctx, 'task', t.id, 'asg'),
                              ctx.caller.user)
        return st ~= false and st ~= nil and st ~= 'cancelled'
    end
    return false
end

-- task.get: the task as the caller may see it; its requester and staff
-- over it also see who is on it.
local function wish_task_get(keys, args)
    local ctx = context(keys, args)
    local t = load_task(ctx, want_id(ctx.params, 'task_id', 'T'))
    if sees_exact(ctx, t) then
        local v = task_view(t, true)
        if ctx.caller.user == t.requester or is_staff(ctx) then
            v.assignees = task_assignees(ctx, t)
        end
        return cmsgpack.pack(v)
    end
    if ctx.caller.role == 'volunteer' and in_scope(ctx, t.region)
    then
        return cmsgpack.pack(task_view(t, false))
    end
    fail(FORBIDDEN, 'task ' .. t.id .. ' is not yours to see')
end

-- wish.list: the caller's own tasks, newest first (at most 100).
local function wish_wish_list(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'resident')
    local ids = redis.call('ZREVRANGE',
                           key(ctx, 'user', ctx.caller.user, 'tasks'), 0, 99)
    local out = {}
    for _, id in ipairs(ids) do
        local t = hgetall(key(ctx, 'task', id))
        if t then
            local v = task_view(t, true)
            v.assignees = task_assignees(ctx, t)
            out[#out + 1] = v
        end
    end
    return cmsgpack.pack(out)
end

-- What a cancel does to one live assignment: one not yet served
-- (assigned) is cancelled; a volunteer still checked in is checked out
-- now and, like one who had checked out (finished, left as it is),
-- awaits confirmation of the time it served. No max_active place stays
-- held.
local function cancel_assignment(ctx, t, user, st)
    local ak = key(ctx, 'task', t.id, 'asg')
    if st == 'assigned' then
        redis.call('HSET', ak, user, 'cancelled')
    elseif st == 'active' then
        redis.call('HSET', ak, user, 'finished', user .. ':out', ctx.now)
    end
    if HOLD[st] then release_volunteer(ctx, t, user) end
end

-- task.cancel: by its requester before anyone checked in, or by staff
-- over its region. Assigned volunteers are told and their time is free.
local function wish_task_cancel(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local t = load_task(ctx, want_id(p, 'task_id', 'T'))
    local reason = want_str(p, 'reason', 0, 500, true)
    local tk = key(ctx, 'task', t.id)
    local staff = is_staff(ctx) and in_scope(ctx, t.region)
    if ctx.caller.user ~= t.requester and not staff then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is not yours to cancel')
    end
    if t.status ~= 'review' and t.status ~= 'open' and t.status ~= 'filled'
    then
        fail(CONFLICT, 'task ' .. t.id .. ' is ' .. t.status)
    end
    local asg = redis.call('HGETALL', tk .. ':asg')
    if not staff then
        for i = 1, #asg, 2 do
            if asg[i + 1] ~= 'assigned' and LIVE[asg[i + 1]] then
                fail(CONFLICT, 'a volunteer has already checked in')
            end
        end
    end

    t.reason = reason or ''
    redis.call('HSET', tk, 'reason', t.reason)
    unlist_open_task(ctx, t)
    redis.call('ZREM', key(ctx, 'filled_by_end'), t.id)
    withdraw_offers(ctx, t, 'cancelled')
    local told = {}
    for i = 1, #asg, 2 do
        local user, st = asg[i], asg[i + 1]
        if LIVE[st] then
            cancel_assignment(ctx, t, user, st)
            emit(ctx, user, {type = 'task_cancelled', task_id = t.id,
                             reason = reason})
            told[user] = true
        end
    end
    -- After the assignments moved: the queue shows where each one ended.
    set_status(ctx, t, 'cancelled')
    if ctx.caller.user ~= t.requester and not told[t.requester] then
        emit(ctx, t.requester, {type = 'task_cancelled', task_id = t.id,
                                reason = reason})
    end
    local view = task_view(t, true)
    view.assignees = task_assignees(ctx, t) -- the requester or staff
    return cmsgpack.pack(view)
end

-- task.claim (志愿领单): a volunteer takes an open task it fits.
local function wish_task_claim(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    -- A leader's claim of places for its team (56_team_orders.lua).
    if ctx.params.team_id ~= nil then return teams.claim(ctx) end
    local t = load_task(ctx, want_id(ctx.params, 'task_id', 'T'))
    local user = ctx.caller.user
    if not in_scope(ctx, t.region) then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is outside your scope')
    end
    local skills = redis.call('HGET', key(ctx, 'user', user), UF.skills)
    local has = false
    for _, s in ipairs(split_csv(skills)) do
        if s == t.skill then has = true end
    end
    if not has then
        fail(FORBIDDEN, 'task ' .. t.id .. ' needs the skill ' .. t.skill)
    end
    local v = check_assignable(ctx, t, user, true)
    return do_assign(ctx, t, user, v)
end

-- task.assign: manual dispatch by staff; bypasses offers, never double
-- books.
local function wish_task_assign(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    -- An order to a team (56_team_orders.lua) names it instead.
    if p.team_id ~= nil then return teams.assign(ctx) end
    local id = want_id(p, 'task_id', 'T')
    local user = want_user_id(p, 'volunteer_id')
    local t = load_task_as_staff(ctx, id)
    if redis.call('HEXISTS', key(ctx, 'user', user), UF.skills) == 0 then
        fail(NOT_FOUND, 'no such volunteer ' .. user)
    end
    check_assignable(ctx, t, user, false)
    return do_assign(ctx, t, user)
end

-- Loads an offer made to the caller that is still outstanding: its id
-- and its task's. One HMGET of its four fields (an offer hash has all
-- four, made whole by make_offer), no table.
local function load_own_offer(ctx)
    want_role(ctx, 'volunteer')
    local oid = want_id(ctx.params, 'offer_id', 'O')
    local o = redis.call('HMGET', key(ctx, 'offer', oid), 'task', 'vol',
                         'status', 'expires')
    if not o[1] then fail(NOT_FOUND, 'no such offer ' .. oid) end
    if o[2] ~= ctx.caller.user then
        fail(FORBIDDEN, 'offer ' .. oid .. ' was made to someone else')
    end
    if o[3] ~= 'offered' then
        fail(CONFLICT, 'offer ' .. oid .. ' is ' .. o[3])
    end
    if tonumber(o[4]) <= ctx.now then
        fail(CONFLICT, 'offer ' .. oid .. ' has lapsed')
    end
    return oid, o[1]
end

-- offer.accept: the first to accept wins.
local function wish_offer_accept(keys, args)
    local ctx = context(keys, args)
    local oid, task = load_own_offer(ctx)
    local t = load_task(ctx, task)
    local v = check_assignable(ctx, t, ctx.caller.user, true, true)
    return do_assign(ctx, t, ctx.caller.user, v, oid)
end

-- offer.decline: the task goes to the next candidate.
local function wish_offer_decline(keys, args)
    local ctx = context(keys, args)
    local oid, task = load_own_offer(ctx)
    want_str(ctx.params, 'reason', 0, 500, true)
    drop_offer(ctx, oid, {task = task, vol = ctx.caller.user}, 'declined')
    return cmsgpack.pack(true)
end

---------------------------------------------------------------- nearby
--
-- task.nearby is the one read an unassigned volunteer steers (home,
-- radius, skill), so it must not depend on a task's exact place at finer
-- grain than the privacy grid: a volunteer that moves its home and
-- bisects `radius` would otherwise find a task to within a metre. Every
-- decision it makes (in reach or not, the order, the distance shown)
-- uses the task's snapped place and the home snapped to the same grid;
-- the exact places only choose which tasks are read, with a margin
-- wide enough that the snapped decision never misses one. Its work is
-- bounded whatever the caller asks: the radius stops at
-- nearby-max-radius, the search widens from NEARBY_FIRST_RADIUS only
-- while too few tasks fit, and at most nearby-max-examined tasks are read.

-- Its helpers and constants are in a block: the library's top-level
-- locals are near Lua's limit (tests/lua_check.py).
local wish_task_nearby
do
    local NEARBY_FIRST_RADIUS = 1000 -- metres, the first search
    local NEARBY_WIDEN = 4 -- each later search's radius, times the last
    -- Metres between an exact place and its snapped one: half the diagonal
    -- of a 500 m cell (354 m), rounded up.
    local GRID_MARGIN = 400

    -- What decides whether a volunteer could take a task, read first; the
    -- rest of the view is read only for the few that fit (never the note).
    local NEARBY_CHECK = {'status', 'region', 'start', 'end'}
    local NEARBY_VIEW = {'kind', 'title', 'skill', 'quantity', 'filled', 'lon',
                         'lat'}

    -- The coarse view of task `id` with `distance` from the snapped home
    -- (hlon, hlat), when the volunteer could take it now: open, in its scope,
    -- not on it yet, no clash with its assignments. Else nil.
    local function nearby_candidate(ctx, user, id, hlon, hlat)
        local tk = key(ctx, 'task', id)
        local c = redis.call('HMGET', tk, unpack(NEARBY_CHECK))
        if c[1] ~= 'open' or not c[2] or not in_scope(ctx, c[2])
            or redis.call('HEXISTS', tk .. ':asg', user) == 1
            or clash(ctx, user, tonumber(c[3]), tonumber(c[4])) then
            return nil
        end
        local t = {id = id, status = c[1], region = c[2], start = c[3],
                   ['end'] = c[4]}
        local v = redis.call('HMGET', tk, unpack(NEARBY_VIEW))
        for i, f in ipairs(NEARBY_VIEW) do t[f] = v[i] end
        local view = task_view(t, false)
        view.distance = distance(hlon, hlat, view.lon, view.lat)
        return view
    end

    -- Nearest first by snapped distance; ties by id, so that the order too
    -- depends on nothing finer than the grid.
    local function nearer(a, b)
        if a.distance ~= b.distance then return a.distance < b.distance end
        return a.task_id < b.task_id
    end

    -- task.nearby: open tasks within reach of the volunteer's home that fit
    -- its skills and its time, nearest first, places coarse.
    function wish_task_nearby(keys, args)
        local ctx = context(keys, args)
        want_role(ctx, 'volunteer')
        local p, user, cfg = ctx.params, ctx.caller.user, ctx.cfg
        local skill = p.skill ~= nil and check_skill('skill', p.skill) or nil
        local radius = want_num(p, 'radius', 100, 50000, true, true)
        local limit = want_num(p, 'limit', 1, 100, true, true) or 20
        local v = redis.call('HMGET', key(ctx, 'user', user), UF.lon, UF.lat,
                             UF.skills, UF.radius)
        local lon, lat = tonumber(v[1]), tonumber(v[2])
        if not lon then
            fail(BAD, 'set your lon and lat with volunteer.update first')
        end
        radius = math.min(radius or tonumber(v[4]) or DEFAULT_RADIUS,
                          cfg.nearby_max_radius)
        local skills = skill and {skill} or split_csv(v[3])
        local hlon, hlat = coarse(lon, lat)

        -- Search rounds from the snapped home, widening until `limit` tasks
        -- fit within the round's radius (then no task further out can come
        -- before them) or the radius is reached; each round reads only the
        -- tasks not read before, and all rounds share one budget.
        local fits, seen, budget = {}, {}, cfg.nearby_max_examined
        local r = math.min(NEARBY_FIRST_RADIUS, radius)
        while budget > 0 do
            local reach = r + GRID_MARGIN
            for _, s in ipairs(skills) do
                if budget <= 0 then break end
                local found = redis.call('GEOSEARCH',
                                         key(ctx, 'geo', 'task', s),
                                         'FROMLONLAT', hlon, hlat,
                                         'BYRADIUS', reach, 'm', 'ASC',
                                         'COUNT', budget)
                for _, id in ipairs(found) do
                    if not seen[id] then
                        seen[id] = true
                        budget = budget - 1
                        local view = nearby_candidate(ctx, user, id, hlon,
                                                      hlat)
                        if view and view.distance <= radius then
                            fits[#fits + 1] = view
                        end
                    end
                end
            end
            local inside = 0
            for _, f in ipairs(fits) do
                if f.distance <= r then inside = inside + 1 end
            end
            if inside >= limit or r >= radius then break end
            r = math.min(r * NEARBY_WIDEN, radius)
        end
        table.sort(fits, nearer)
        local out = {}
        for i = 1, math.min(limit, #fits) do
            fits[i].distance = round_to(fits[i].distance, 100)
            out[i] = fits[i]
        end
        return cmsgpack.pack(out)
    end
end
