-- Uses: CONFLICT, context, covers, fail, field_fail, FORBIDDEN, in_scope,
--   key, load_task, NOT_FOUND, task_view, want_id, want_num, want_role,
--   want_user_id (from 00_core.lua); split_csv, UF (from
--   10_volunteer.lua); queue_event (from 15_status.lua); check_assignable,
--   do_assign, withdraw_offers (from 20_match.lua); teams (from
--   25_teams.lua); load_task_as_staff (from 30_tasks.lua).
--
-- Team orders (docs/protocol.md, "Teams"): staff dispatch a task to a
-- team (task.assign with team_id), or a leader claims places of one for
-- its team (task.claim with team_id); either way the team holds those
-- places (`held`, which matching and every other assignment count as
-- taken) until its leaders fill them with members (team.fill). A member
-- goes through check_assignable and do_assign like any volunteer: the
-- team changes who chooses, never what is checked.

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

    local tk = key(ctx, 'task', t.id)
    t.held = tostring(redis.call('HINCRBY', tk, 'held', places))
    local held = redis.call('HINCRBY', tk .. ':teams', g.id, places)
    redis.call('HINCRBY', tk .. ':teams', g.id .. ':n', places)
    local ok = key(ctx, 'team', g.id, 'orders')
    redis.call('ZADD', ok, t.start, t.id)
    redis.call('ZREMRANGEBYRANK', ok, 0, -teams.ORDERS_KEEP - 1)
    if places == free then
        -- Nobody else can take a place now: no offers out that would
        -- only be refused, and not listed for task.nearby. It stays in
        -- open_by_end: the sweeper still expires it if never filled.
        withdraw_offers(ctx, t, 'filled')
        redis.call('ZREM', key(ctx, 'geo', 'task', t.skill), t.id)
        redis.call('ZREM', key(ctx, 'unmatched'), t.id)
    end
    queue_event(ctx, t, 'team_order', {team_id = g.id, places = places})
    teams.tell_leaders(ctx, g, {type = 'team_order', team_id = g.id,
                                task = task_view(t, true), places = places,
                                held = held})
    return cmsgpack.pack({task_id = t.id, team_id = g.id, places = places,
                          held = held})
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
    check_assignable(ctx, t, user, true)

    redis.call('HINCRBY', tk, 'held', -1)
    redis.call('HINCRBY', tk .. ':teams', g.id, -1)
    redis.call('HSET', tk .. ':asg', user .. ':team', g.id)
    local view = do_assign(ctx, t, user)
    view.team_id = g.id
    return cmsgpack.pack(view)
end
