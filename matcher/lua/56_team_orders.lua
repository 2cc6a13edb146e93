-- Uses: CONFLICT, context, covers, fail, field_fail, FORBIDDEN, hgetall,
--   in_scope, key, load_task, NOT_FOUND, task_view, want_id, want_num,
--   want_role, want_user_id (from 00_core.lua); split_csv, UF (from
--   10_volunteer.lua); queue_event (from 15_status.lua); check_assignable,
--   do_assign, list_open_task, match_task, withdraw_offers (from
--   20_match.lua); teams (from 25_teams.lua); load_task_as_staff (from
--   30_tasks.lua).
--
-- Team orders (docs/protocol.md, "Teams"): staff dispatch a task to a
-- team (task.assign with team_id), or a leader claims places of one for
-- its team (task.claim with team_id); either way the team holds those
-- places (`held`, which matching and every other assignment count as
-- taken) until its leaders fill them with members (team.fill). A member
-- goes through check_assignable and do_assign like any volunteer: the
-- team changes who chooses, never what is checked.
--
-- Held places go back (docs/protocol.md, "Held places that go back"):
-- the team's places on a task share a deadline ("<team>:until" in the
-- task's :teams hash, and {city}:team_holds); at it the sweeper gives
-- the unfilled ones back to the task (teams.sweep_holds), and a leader
-- or staff may give some back sooner (team.release).

-- The default deadline of a team order on task t: team-hold-release
-- before its start; for an order taken after that point, the start; for
-- one taken after the start (a task under way), its end. A daemon from
-- before the setting passes none: the places are held to the end, as
-- they were then.
function teams.deadline(ctx, t)
    local s, e = tonumber(t.start), tonumber(t['end'])
    local release = ctx.cfg.team_hold_release
    if not release then return e end
    if s - release > ctx.now then return s - release end
    if s > ctx.now then return s end
    return e
end

-- The order's deadline: params field hold_until (whole Unix seconds,
-- after now and at most the task's end), else teams.deadline.
function teams.want_hold_until(ctx, t)
    local v = want_num(ctx.params, 'hold_until', 0, 4102444800, true, true)
    if v == nil then return teams.deadline(ctx, t) end
    if v <= ctx.now or v > tonumber(t['end']) then
        field_fail('hold_until', 'must be after now and at most the task\'s '
                   .. 'end (' .. t['end'] .. ')')
    end
    return v
end

-- Takes `places` (nil: every free one) of open task t for team g, and
-- tells the team's leaders. Checks come first: no write before them.
function teams.take(ctx, t, g, places)
    if not covers(g.region, t.region) then
        fail(FORBIDDEN, 'team ' .. g.id .. ' serves ' .. g.region
             .. ', not ' .. t.region)
    end
    if not teams.has_skill(g, t.skill) then
        fail(FORBIDDEN, 'team ' .. g.id .. ' does not list the skill '
             .. t.skill)
    end
    if t.status ~= 'open' then
        fail(CONFLICT, 'task ' .. t.id .. ' is ' .. t.status)
    end
    local free = tonumber(t.quantity) - tonumber(t.filled)
        - (tonumber(t.held) or 0)
    places = places or free
    if free <= 0 or places > free then
        fail(CONFLICT, 'task ' .. t.id .. ' has ' .. math.max(free, 0)
             .. ' free places')
    end

    local deadline = teams.want_hold_until(ctx, t)

    local tk = key(ctx, 'task', t.id)
    t.held = tostring(redis.call('HINCRBY', tk, 'held', places))
    local held = redis.call('HINCRBY', tk .. ':teams', g.id, places)
    redis.call('HINCRBY', tk .. ':teams', g.id .. ':n', places)
    -- One deadline for the team's places on the task: the later one.
    deadline = math.max(deadline, tonumber(redis.call('HGET', tk .. ':teams',
                                                      g.id .. ':until')) or 0)
    redis.call('HSET', tk .. ':teams', g.id .. ':until', deadline)
    redis.call('ZADD', key(ctx, 'team_holds'), deadline, t.id .. '|' .. g.id)
    local ok = key(ctx, 'team', g.id, 'orders')
    redis.call('ZADD', ok, t.start, t.id)
    redis.call('ZREMRANGEBYRANK', ok, 0, -teams.ORDERS_KEEP - 1)
    if places == free then
        -- Nobody else can take a place now: no offers out that would
        -- only be refused, and not listed for task.nearby. Its end stays
        -- a timer: the sweeper still expires it if never filled.
        withdraw_offers(ctx, t, 'filled')
        redis.call('ZREM', key(ctx, 'geo', 'task', t.skill), t.id)
        redis.call('ZREM', key(ctx, 'unmatched'), t.id)
    end
    queue_event(ctx, t, 'team_order', {team_id = g.id, places = places})
    teams.tell_leaders(ctx, g, {type = 'team_order', team_id = g.id,
                                task = task_view(t, true), places = places,
                                held = held, hold_until = deadline})
    return cmsgpack.pack({task_id = t.id, team_id = g.id, places = places,
                          held = held, hold_until = deadline})
end

-- task.assign {task_id, team_id, [quantity]}: staff over the task
-- dispatch it to a team.
function teams.assign(ctx)
    local p = ctx.params
    local id = want_id(p, 'task_id', 'T')
    local gid = want_id(p, 'team_id', 'G')
    if p.volunteer_id ~= nil then
        field_fail('volunteer_id', 'give volunteer_id or team_id, not both')
    end
    local places = want_num(p, 'quantity', 1, 1000, true, true)
    local t = load_task_as_staff(ctx, id)
    return teams.take(ctx, t, teams.load(ctx, gid), places)
end

-- task.claim {task_id, team_id, quantity}: a leader claims places for
-- its team, of a task in its token's scope as any claim.
function teams.claim(ctx)
    local p = ctx.params
    local id = want_id(p, 'task_id', 'T')
    local gid = want_id(p, 'team_id', 'G')
    local places = want_num(p, 'quantity', 1, 1000, false, true)
    local t = load_task(ctx, id)
    local g = teams.load(ctx, gid)
    teams.want_leader(ctx, g)
    if not in_scope(ctx, t.region) then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is outside your scope')
    end
    return teams.take(ctx, t, g, places)
end

-- team.fill: a leader puts one member on one of its team's held places
-- of a task, checked as task.claim checks a volunteer (skill, status,
-- already on it, time clash, max_active). One member a call, so that a
-- refusal is whole and changes nothing.
function teams.fill(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p = ctx.params
    local id = want_id(p, 'task_id', 'T')
    local gid = want_id(p, 'team_id', 'G')
    local user = want_user_id(p, 'volunteer_id')
    local t = load_task(ctx, id)
    local g = teams.load(ctx, gid)
    teams.want_leader(ctx, g)
    local tk = key(ctx, 'task', t.id)
    local held = tonumber(redis.call('HGET', tk .. ':teams', g.id))
    if not held then
        fail(NOT_FOUND, 'team ' .. g.id .. ' has no order on task ' .. t.id)
    end
    if not teams.role(ctx, g.id, user) then
        fail(CONFLICT, user .. ' is not in team ' .. g.id)
    end
    local has = false
    for _, s in ipairs(split_csv(redis.call('HGET', key(ctx, 'user', user),
                                            UF.skills))) do
        if s == t.skill then has = true end
    end
    if not has then
        fail(FORBIDDEN, 'task ' .. t.id .. ' needs the skill ' .. t.skill
             .. ', which ' .. user .. ' lacks')
    end
    if held <= 0 and t.status == 'open' then
        fail(CONFLICT, 'team ' .. g.id .. ' has no place left on task '
             .. t.id)
    end
    -- The member takes one of the team's places: check_assignable sees
    -- it free once this call's view of `held` has one fewer.
    t.held = tostring((tonumber(t.held) or 0) - 1)
    -- Its profile as read here goes to do_assign: nothing below writes it.
    local v = check_assignable(ctx, t, user, true)

    redis.call('HINCRBY', tk, 'held', -1)
    redis.call('HINCRBY', tk .. ':teams', g.id, -1)
    redis.call('HSET', tk .. ':asg', user .. ':team', g.id)
    return do_assign(ctx, t, user, v, nil, {team_id = g.id})
end

------------------------------------------------------ held places go back

-- Gives k (> 0) of team g's unfilled places on open task t back to the
-- task: they count free again, the task is listed for task.nearby and
-- offered to volunteers (match_task), the team's order shrinks to what
-- it filled and counts what it gave back ("<team>:back"). The leaders
-- get team_released with `reason`, staff watching the queue the change
-- team_released. g may be {id = ...} alone (no leaders to tell). The
-- caller has checked k against the team's places. Returns the team's
-- places on t still unfilled.
function teams.give_back(ctx, t, g, k, reason)
    local tk = key(ctx, 'task', t.id)
    t.held = tostring(redis.call('HINCRBY', tk, 'held', -k))
    local held = redis.call('HINCRBY', tk .. ':teams', g.id, -k)
    redis.call('HINCRBY', tk .. ':teams', g.id .. ':n', -k)
    redis.call('HINCRBY', tk .. ':teams', g.id .. ':back', k)
    if held <= 0 then
        redis.call('ZREM', key(ctx, 'team_holds'), t.id .. '|' .. g.id)
    end
    -- teams.take unlisted it when the team took its last free places;
    -- listing an already listed task changes nothing.
    list_open_task(ctx, t)
    queue_event(ctx, t, 'team_released', {team_id = g.id, places = k})
    teams.tell_leaders(ctx, g, {type = 'team_released', team_id = g.id,
                                task = task_view(t, true), places = k,
                                held = held, reason = reason})
    match_task(ctx, t)
    return held
end

-- wish_sweep's part: gives back the unfilled places of at most `budget`
-- team orders whose deadline has passed. An order whose task is no
-- longer open, or whose places are all filled, has nothing to give and
-- only leaves the index. Returns how many orders it handled.
function teams.sweep_holds(ctx, budget)
    local hk = key(ctx, 'team_holds')
    local due = redis.call('ZRANGEBYSCORE', hk, '-inf', ctx.now, 'LIMIT', 0,
                           budget)
    for _, m in ipairs(due) do
        local tid, gid = string.match(m, '^([^|]+)|(.+)$')
        local t = tid and hgetall(key(ctx, 'task', tid))
        local held = t and tonumber(redis.call('HGET', key(ctx, 'task', tid,
                                                           'teams'), gid))
        if t and t.status == 'open' and held and held > 0 then
            local g = hgetall(key(ctx, 'team', gid)) or {id = gid}
            teams.give_back(ctx, t, g, held, 'deadline')
        end
        redis.call('ZREM', hk, m)
    end
    return #due
end

-- team.release {task_id, team_id, [quantity]}: a leader of the team, or
-- staff over the task, gives some or all of the team's unfilled places
-- on an open task back at once. Checks first: a refusal changes nothing.
function teams.release(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer', 'coordinator', 'admin')
    local p = ctx.params
    local id = want_id(p, 'task_id', 'T')
    local gid = want_id(p, 'team_id', 'G')
    local k = want_num(p, 'quantity', 1, 1000, true, true)
    local t, g, reason
    if ctx.caller.role == 'volunteer' then
        t, g, reason = load_task(ctx, id), teams.load(ctx, gid), 'leader'
        teams.want_leader(ctx, g)
    else
        t, g, reason = load_task_as_staff(ctx, id), teams.load(ctx, gid),
            'staff'
    end
    local held = tonumber(redis.call('HGET', key(ctx, 'task', t.id, 'teams'),
                                     g.id))
    if not held then
        fail(NOT_FOUND, 'team ' .. g.id .. ' has no order on task ' .. t.id)
    end
    if t.status ~= 'open' then
        fail(CONFLICT, 'task ' .. t.id .. ' is ' .. t.status)
    end
    k = k or held
    if held <= 0 or k > held then
        fail(CONFLICT, 'team ' .. g.id .. ' holds ' .. math.max(held, 0)
             .. ' unfilled places on task ' .. t.id)
    end
    held = teams.give_back(ctx, t, g, k, reason)
    return cmsgpack.pack({task_id = t.id, team_id = g.id, released = k,
                          held = held})
end
