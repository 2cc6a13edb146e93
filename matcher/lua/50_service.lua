-- Uses: city_date, CONFLICT, context, covers, distance, emit, fail,
--   field_fail, FORBIDDEN, hgetall, in_scope, is_staff, key, load_task, next_id,
--   NOT_FOUND, task_view, want_city_place, want_id, want_num, want_place,
--   want_role, want_span, want_str, want_user_id (from 00_core.lua);
--   want_skill (from 05_skills.lua); RECORD, UF (from 10_volunteer.lua); queue_event,
--   rcount, scopes_of, set_status, status_counts, task_assignees, watching (from
--   15_status.lua); assignment_view, HOLD, LIVE, MINE_KEEP,
--   release_volunteer (from 20_match.lua); teams (from 25_teams.lua);
--   projects (from 26_projects.lua); create_task (from 30_tasks.lua); ledger (from 45_ledger.lua).
--
-- After the match: check-in, check-out, confirmation and credit, ratings
-- (社会评单), the centre's menu (中心制单), stats, the quarterly board.
--
-- {city}:task:<id>:asg      also "<vol>:in", "<vol>:out", "<vol>:hours"
-- {city}:task:<id>:raters   SET   "<rater>|<vol>": who rated whom, once
-- {city}:menu:<id>          HASH  id title skill region note
-- {city}:menus:<scope>      ZSET  menu items posted for a scope
-- {city}:board:<q>:vol:<scope>  ZSET  volunteer -> hours in quarter q
-- {city}:board:<q>:sub:<scope>  ZSET  child scope -> hours in quarter q
-- {city}:board:<q>:n:<scope>    HASH  done, rating_sum, rating_count
-- {city}:board:<q>:team:<scope> ZSET  team -> hours (25_teams.lua)

-- The methods of this file, registered by 90_session.lua as wish_task_checkin
-- (service.checkin), ... wish_board (service.board).
local service = {}

local CHECKIN_EARLY = 30 * 60 -- check-in opens this long before start

-- "2026Q4" for a Unix time, in the city's local time.
local function quarter_of(ctx, t)
    local y, m = city_date(ctx, t)
    return y .. 'Q' .. (math.floor((m - 1) / 3) + 1)
end

-- Loads the task and the caller's own assignment on it, which must be in
-- one of the given states.
local function load_own_assignment(ctx, states)
    want_role(ctx, 'volunteer')
    local t = load_task(ctx, want_id(ctx.params, 'task_id', 'T'))
    local st = redis.call('HGET', key(ctx, 'task', t.id, 'asg'),
                          ctx.caller.user)
    if not st or st == 'cancelled' then
        fail(FORBIDDEN, 'you are not assigned to task ' .. t.id)
    end
    if not states[st] then
        fail(CONFLICT, 'your assignment to task ' .. t.id .. ' is ' .. st)
    end
    return t, st
end

-- Raises NOT_FOUND unless `status` (the volunteer's assignment status on
-- the task, false when none) is one a volunteer on the task can have.
local function want_assigned(t, user, status)
    if not status or status == 'cancelled' then
        fail(NOT_FOUND, user .. ' is not assigned to task ' .. t.id)
    end
end

local function assignment_now(ctx, t, user, status)
    local at = tonumber(redis.call('HGET', key(ctx, 'task', t.id, 'asg'),
                                   user .. ':at'))
    return assignment_view(t, user, status, at)
end

-- task.checkin: on site (within checkin-radius), from 30 minutes before
-- start until end.
function service.checkin(keys, args)
    local ctx = context(keys, args)
    local t = load_own_assignment(ctx, {assigned = true})
    local lon, lat = want_place(ctx.params)
    if ctx.now < tonumber(t.start) - CHECKIN_EARLY then
        fail(CONFLICT, 'check-in opens 30 minutes before the start')
    end
    if ctx.now > tonumber(t['end']) then
        fail(CONFLICT, 'task ' .. t.id .. ' has ended')
    end
    local d = distance(lon, lat, tonumber(t.lon), tonumber(t.lat))
    if d > ctx.cfg.checkin_radius then
        fail(CONFLICT, string.format('you are %d m from the task; check in '
             .. 'within %d m', math.floor(d), ctx.cfg.checkin_radius))
    end
    local user = ctx.caller.user
    redis.call('HSET', key(ctx, 'task', t.id, 'asg'), user, 'active',
               user .. ':in', ctx.now)
    emit(ctx, t.requester, {type = 'checked_in', task_id = t.id,
                            volunteer_id = user})
    queue_event(ctx, t, 'checked_in', {volunteer_id = user})
    return cmsgpack.pack(assignment_now(ctx, t, user, 'active'))
end

-- task.checkout: the service is over; the volunteer's time is free.
function service.checkout(keys, args)
    local ctx = context(keys, args)
    local t = load_own_assignment(ctx, {active = true})
    local user = ctx.caller.user
    redis.call('HSET', key(ctx, 'task', t.id, 'asg'), user, 'finished',
               user .. ':out', ctx.now)
    release_volunteer(ctx, t, user)
    emit(ctx, t.requester, {type = 'finished', task_id = t.id,
                            volunteer_id = user})
    queue_event(ctx, t, 'finished', {volunteer_id = user})
    return cmsgpack.pack(assignment_now(ctx, t, user, 'finished'))
end

-- Adds to this quarter's board of every scope containing the region.
local function board_add(ctx, region, user, hours)
    local q = quarter_of(ctx, ctx.now)
    local scopes = scopes_of(region)
    for i, s in ipairs(scopes) do
        redis.call('ZINCRBY', key(ctx, 'board', q, 'vol', s), hours, user)
        if scopes[i + 1] then
            redis.call('ZINCRBY', key(ctx, 'board', q, 'sub', s), hours,
                       scopes[i + 1])
        end
        redis.call('HINCRBY', key(ctx, 'board', q, 'n', s), 'done', 1)
    end
end

-- The credit points of `hours` (hours-per-point of them a point),
-- rounded to 0.01.
local function points_of(ctx, hours)
    return math.floor(hours * 100 / ctx.cfg.hours_per_point + 0.5) / 100
end

-- task.confirm: the requester (or staff, for tasks the centre posted) confirms
-- a volunteer's service; its checked-in time, capped at end - start, is
-- credited in hours and points.
function service.confirm(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local t = load_task(ctx, want_id(p, 'task_id', 'T'))
    local user = want_user_id(p, 'volunteer_id')
    local staff = is_staff(ctx) and t.kind == 'post'
        and in_scope(ctx, t.region)
    if ctx.caller.user ~= t.requester and not staff then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is not yours to confirm')
    end
    local ak = key(ctx, 'task', t.id, 'asg')
    local a = redis.call('HMGET', ak, user, user .. ':in', user .. ':out')
    want_assigned(t, user, a[1])
    if not LIVE[a[1]] then
        fail(CONFLICT, user .. ' on task ' .. t.id .. ' is already ' .. a[1])
    end

    local secs = 0
    if a[2] then
        secs = (tonumber(a[3]) or ctx.now) - tonumber(a[2])
        secs = math.max(0, math.min(secs, tonumber(t['end'])
                                    - tonumber(t.start)))
    end
    local hours = math.floor(secs / 36 + 0.5) / 100
    local points = points_of(ctx, hours)
    redis.call('HSET', ak, user, 'confirmed', user .. ':hours', hours)
    if HOLD[a[1]] then release_volunteer(ctx, t, user) end
    local uk = key(ctx, 'user', user)
    ledger.confirmed(ctx, user, t, hours, points) -- before the total moves
    redis.call('HINCRBYFLOAT', uk, UF.hours, hours)
    redis.call('HINCRBYFLOAT', uk, UF.points, points)
    board_add(ctx, t.region, user, hours)
    teams.credit(ctx, ak, user, hours, quarter_of(ctx, ctx.now), t.region)
    projects.credit(ctx, t, user, hours, points)
    emit(ctx, user, {type = 'confirmed', task_id = t.id, hours = hours,
                     points = points})

    -- The task is done when nobody on it is still serving.
    local live = false
    local flat = redis.call('HGETALL', ak)
    for i = 1, #flat, 2 do
        if LIVE[flat[i + 1]] then live = true end
    end
    if not live and t.status == 'filled' then
        redis.call('ZREM', key(ctx, 'filled_by_end'), t.id)
        set_status(ctx, t, 'done', 'done')
        projects.done(ctx, t)
    else
        queue_event(ctx, t, 'confirmed', {volunteer_id = user})
    end
    local view = assignment_now(ctx, t, user, 'confirmed')
    view.hours, view.points = hours, points
    return cmsgpack.pack(view)
end

-- task.mine: the volunteer's own tasks, the latest assignment first (at
-- most `limit`, default 20, of the MINE_KEEP kept): each with the state
-- of its assignment, when it was made, the hours and points once
-- confirmed, and the task as task.get shows it to the volunteer (exact
-- unless the assignment was cancelled). Bounded: one read of the list,
-- two per task.
function service.mine(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local limit = want_num(ctx.params, 'limit', 1, MINE_KEEP, true, true)
        or 20
    local user = ctx.caller.user
    local ids = redis.call('ZREVRANGE', key(ctx, 'user', user, 'mine'), 0,
                           limit - 1)
    local out = {}
    for _, id in ipairs(ids) do
        local t = hgetall(key(ctx, 'task', id))
        local a = t and redis.call('HMGET', key(ctx, 'task', id, 'asg'), user,
                                   user .. ':at', user .. ':hours')
        if a and a[1] then
            local v = {task_id = id, volunteer_id = user, status = a[1],
                       assigned_at = tonumber(a[2]),
                       task = task_view(t, a[1] ~= 'cancelled')}
            if a[3] then
                v.hours = tonumber(a[3])
                v.points = points_of(ctx, v.hours)
            end
            out[#out + 1] = v
        end
    end
    return cmsgpack.pack(out)
end

-- task.rate: stars 1..5 for a confirmed volunteer, by the requester, or
-- for tasks the centre posted by any resident of the task's region; once
-- each. A menu order is its resident's own, like a wish.
function service.rate(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local t = load_task(ctx, want_id(p, 'task_id', 'T'))
    local user = want_user_id(p, 'volunteer_id')
    local stars = want_num(p, 'stars', 1, 5, false, true)
    local comment = want_str(p, 'comment', 0, 500, true)
    local me = ctx.caller.user
    local neighbour = ctx.caller.role == 'resident' and t.kind == 'post'
        and covers(t.region, ctx.caller.region)
    if me ~= t.requester and not neighbour then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is not yours to rate')
    end
    local ak = key(ctx, 'task', t.id, 'asg')
    local st = redis.call('HGET', ak, user)
    want_assigned(t, user, st)
    if st ~= 'confirmed' and st ~= 'rated' then
        fail(CONFLICT, 'rate after the service is confirmed')
    end
    local rk = key(ctx, 'task', t.id, 'raters')
    if redis.call('SISMEMBER', rk, me .. '|' .. user) == 1 then
        fail(CONFLICT, 'you have already rated ' .. user .. ' on ' .. t.id)
    end

    redis.call('SADD', rk, me .. '|' .. user)
    if me == t.requester then redis.call('HSET', ak, user, 'rated') end
    if comment and comment ~= '' then
        redis.call('HSET', key(ctx, 'task', t.id, 'comments'),
                   me .. '|' .. user, comment)
    end
    -- The volunteer's rating lives in its record (RECORD, 10_volunteer.lua).
    local uk = key(ctx, 'user', user)
    local raw, legacy = RECORD.read(uk)
    RECORD.put(uk, RECORD.counted(raw, 0, 0, stars, 1), legacy)
    ledger.rated(ctx, user, t.id, stars)
    local q = quarter_of(ctx, ctx.now)
    for _, s in ipairs(scopes_of(t.region)) do
        local nk = key(ctx, 'board', q, 'n', s)
        redis.call('HINCRBY', nk, 'rating_sum', stars)
        redis.call('HINCRBY', nk, 'rating_count', 1)
    end
    teams.rated(ctx, ak, user, stars, q)
    projects.rated(ctx, t, stars)
    emit(ctx, user, {type = 'rated', task_id = t.id, stars = stars})
    return cmsgpack.pack(true)
end

-- A region scope of 1..4 segments in this city that the caller covers
-- (or, with `open`, any scope of the city).
local function want_scope(ctx, p, name, default, open)
    local r = p[name]
    if r == nil then r = default end
    if type(r) ~= 'string' or #r > 128
        or not string.find(r, '^[a-z0-9_%-]+[a-z0-9_%-/]*$')
        or string.find(r, '//') or string.sub(r, -1) == '/'
        or #scopes_of(r) > 4 then
        field_fail(name, 'must be a region path like jinan/lixia')
    end
    if scopes_of(r)[1] ~= ctx.city then
        fail(FORBIDDEN, 'region ' .. r .. ' is in another city')
    end
    if not open and not in_scope(ctx, r) then
        fail(FORBIDDEN, 'region ' .. r .. ' is outside your scope '
             .. ctx.caller.region)
    end
    return r
end

-- menu.post: the centre puts a service on its menu for a region.
function service.menu_post(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local p = ctx.params
    local title = want_str(p, 'title', 1, 200)
    local skill = want_skill(ctx, p, 'skill')
    local region = want_scope(ctx, p, 'region')
    local note = want_str(p, 'note', 0, 2000, true)
    local id = next_id(ctx, 'M')
    redis.call('HSET', key(ctx, 'menu', id), 'id', id, 'title', title,
               'skill', skill, 'region', region, 'note', note or '',
               'by', ctx.caller.user, 'created', ctx.now)
    redis.call('ZADD', key(ctx, 'menus', region), ctx.now, id)
    return cmsgpack.pack({item_id = id})
end

local function menu_view(m)
    return {item_id = m.id, title = m.title, skill = m.skill,
            region = m.region, note = m.note}
end

-- menu.list: items on offer in a region: those posted for it and for
-- every scope above it.
function service.menu_list(keys, args)
    local ctx = context(keys, args)
    local region = want_scope(ctx, ctx.params, 'region', ctx.caller.region,
                              true)
    local out = {}
    for _, s in ipairs(scopes_of(region)) do
        for _, id in ipairs(redis.call('ZRANGE', key(ctx, 'menus', s), 0,
                                       99)) do
            local m = hgetall(key(ctx, 'menu', id))
            if m then out[#out + 1] = menu_view(m) end
        end
    end
    return cmsgpack.pack(out)
end

-- menu.order (群众点单): a resident orders a menu item; it becomes a task
-- with the item's title and skill, open at once.
function service.menu_order(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'resident')
    local p = ctx.params
    local id = want_id(p, 'item_id', 'M')
    local m = hgetall(key(ctx, 'menu', id))
    if not m then fail(NOT_FOUND, 'no such item_id ' .. id) end
    local f = {title = m.title, skill = m.skill, kind = 'menu', quantity = 1,
               status = 'open'}
    f.lon, f.lat = want_city_place(ctx, p)
    f.start, f['end'] = want_span(ctx, p)
    f.note = want_str(p, 'note', 0, 2000, true)
    -- The order is placed where the resident lives: its token must name
    -- one community (menu.order has no region field).
    f.region = ctx.caller.region
    if #scopes_of(f.region) ~= 4 then
        fail(FORBIDDEN, 'menu orders need a token for one community, not '
             .. f.region)
    end
    if not covers(m.region, f.region) then
        fail(FORBIDDEN, 'item ' .. id .. ' is not on offer in ' .. f.region)
    end
    local t = create_task(ctx, f)
    return cmsgpack.pack({task_id = t.id, status = t.status})
end

-- The queue of a scope: tasks in review, open or filled, soonest first.
local function queue_tasks(ctx, scope, limit)
    local out = {}
    for _, id in ipairs(rcount.queue(ctx, scope, limit)) do
        local t = hgetall(key(ctx, 'task', id))
        if t then
            local v = task_view(t, true)
            v.assignees = task_assignees(ctx, t)
            v.offers = redis.call('HLEN', key(ctx, 'task', id, 'offers'))
            out[#out + 1] = v
        end
    end
    return out
end

-- queue.watch's snapshot: {region, tasks, stats, upto} for a scope the
-- caller covers. It writes: the scope's entry in {city}:watching.
function service.queue_snapshot(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local scope = want_scope(ctx, ctx.params, 'region')
    -- The scope is marked watched before anything is read: every call
    -- after this one publishes the changes of its tasks (15_status.lua,
    -- watching).
    watching.mark(ctx, {scope})
    -- upto: the last event id this snapshot includes; wishd pushes only
    -- queue events after it.
    local seq = tonumber(redis.call('GET', key(ctx, 'seq', 'event'))) or 0
    return cmsgpack.pack({region = scope, tasks = queue_tasks(ctx, scope, 500),
                          stats = status_counts(ctx, scope),
                          upto = string.format('%016d', seq)})
end

-- stats: counts by status, median seconds to match, offers, and open tasks
-- whose start has passed without enough volunteers.
function service.stats(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local scope = want_scope(ctx, ctx.params, 'region')
    local h = rcount.sum(ctx, scope, {'offers_sent', 'offers_accepted',
                                      'offers_declined', 'offers_lapsed'})
    local samples = rcount.samples(ctx, scope)
    local median = 0
    if #samples > 0 then
        table.sort(samples)
        local mid = math.floor((#samples + 1) / 2)
        median = #samples % 2 == 1 and samples[mid]
            or (samples[mid] + samples[mid + 1]) / 2
    end
    local late = 0
    local started = rcount.queue(ctx, scope, 1000, ctx.now)
    for _, id in ipairs(started) do
        local v = redis.call('HMGET', key(ctx, 'task', id), 'status',
                             'filled', 'quantity')
        if v[1] == 'open' and tonumber(v[2]) < tonumber(v[3]) then
            late = late + 1
        end
    end
    return cmsgpack.pack({
        region = scope, counts = status_counts(ctx, scope),
        median_match_s = median, matched = #samples,
        offers = {sent = h.offers_sent, accepted = h.offers_accepted,
                  declined = h.offers_declined, lapsed = h.offers_lapsed},
        unmatched_past_start = late,
    })
end

-- board: this quarter's league for a scope: top volunteers, child
-- regions (districts, for a city) and teams by hours, average rating,
-- tasks done.
function service.board(keys, args)
    local ctx = context(keys, args)
    local scope = want_scope(ctx, ctx.params, 'region', ctx.city, true)
    local q = quarter_of(ctx, ctx.now)
    local vols, subs = {}, {}
    local top = redis.call('ZREVRANGE', key(ctx, 'board', q, 'vol', scope),
                           0, 9, 'WITHSCORES')
    for i = 1, #top, 2 do
        local name = redis.call('HGET', key(ctx, 'user', top[i]), UF.name)
        vols[#vols + 1] = {id = top[i], name = name or top[i],
                           hours = tonumber(top[i + 1])}
    end
    local regions = redis.call('ZREVRANGE', key(ctx, 'board', q, 'sub',
                                                scope), 0, 19, 'WITHSCORES')
    for i = 1, #regions, 2 do
        subs[#subs + 1] = {region = regions[i],
                           hours = tonumber(regions[i + 1])}
    end
    local groups = {}
    local tops = redis.call('ZREVRANGE', key(ctx, 'board', q, 'team', scope),
                            0, 9, 'WITHSCORES')
    for i = 1, #tops, 2 do
        local name = redis.call('HGET', key(ctx, 'team', tops[i]), 'name')
        groups[#groups + 1] = {team_id = tops[i], name = name or tops[i],
                               hours = tonumber(tops[i + 1])}
    end
    local n = hgetall(key(ctx, 'board', q, 'n', scope)) or {}
    local rated = tonumber(n.rating_count) or 0
    return cmsgpack.pack({
        region = scope, quarter = q, volunteers = vols, districts = subs,
        teams = groups,
        rating = rated > 0 and tonumber(n.rating_sum) / rated or 0,
        ratings = rated, tasks_done = tonumber(n.done) or 0,
    })
end
