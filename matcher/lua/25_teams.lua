-- Uses: CONFLICT, covers, fail, field_fail, FORBIDDEN, hgetall, key,
--   NOT_FOUND (from 00_core.lua); split_csv, UF (from 10_volunteer.lua);
--   scopes_of (from 15_status.lua).
--
-- Teams (志愿团队, docs/protocol.md "Teams"): the key schema, the bounds,
-- the checks every team method shares, and the two hooks task.confirm
-- and task.rate call to count a member's service for its team. The
-- methods are in 55_teams.lua (membership, views) and 56_team_orders.lua
-- (team orders and filling their places); they are fields of `teams`,
-- declared here, before 30_tasks.lua and 50_service.lua, so that
-- task.assign, task.claim, task.confirm and task.rate can reach them
-- (looked up when called, once the whole library is loaded).
--
-- {city}:team:<id>            HASH  id name region desc skills (csv)
--                                   leaders (csv, <= LEADERS_MAX) by
--                                   created hours done (all time)
-- {city}:team:<id>:people     HASH  volunteer -> "leader" | "member"
-- {city}:team:<id>:invited    HASH  volunteer -> invitation's expiry
-- {city}:team:<id>:q:<q>      HASH  hours done rating_sum rating_count of
--                                   quarter q ("2026Q2")
-- {city}:team:<id>:orders     ZSET  tasks the team took places on, by
--                                   start; the ORDERS_KEEP latest
-- {city}:teams                ZSET  score 0, "<region>/|<id>": the teams
--                                   of scope S are the members that start
--                                   with "S/", in lex order (team.list)
-- {city}:user:<id>:teams      SET   teams the volunteer belongs to
-- {city}:board:<q>:team:<scope>  ZSET  team -> hours its members served
--                                   on its places in quarter q, for tasks
--                                   in the scope (board's `teams`)
-- {city}:task:<id>            also  held: places team orders hold, not
--                                   yet filled (20_match.lua counts them
--                                   taken)
-- {city}:task:<id>:teams      HASH  team -> places it holds unfilled,
--                                   "<team>:n" -> places it ordered (less
--                                   those it gave back), "<team>:until"
--                                   -> when its unfilled places go back,
--                                   "<team>:back" -> places it gave back
-- {city}:team_holds           ZSET  "<task>|<team>" by "<team>:until":
--                                   the orders whose places the sweeper
--                                   gives back (56_team_orders.lua)
-- {city}:task:<id>:asg        also  "<vol>:team" -> the team whose place
--                                   the volunteer filled
--
-- Every function is a field of one table: the library's chunk may have
-- only so many locals (tests/lua_check.py).

local teams = {
    MEMBERS_MAX = 200,  -- leaders included: team.get lists them all
    LEADERS_MAX = 10,   -- each gets every order of the team
    INVITES_MAX = 50,   -- outstanding at once, per team
    PER_VOLUNTEER = 5,  -- teams one volunteer may belong to
    INVITE_TTL = 7 * 86400,
    ORDERS_KEEP = 100,  -- a team's orders kept for team.get
    ORDERS_SHOWN = 20,
    SKILLS_MAX = 16,
    LIST_MAX = 50,      -- teams one team.list page holds
}

-- The team `id` (already of the form G<n>); NOT_FOUND when none.
function teams.load(ctx, id)
    local g = hgetall(key(ctx, 'team', id))
    if g == nil then fail(NOT_FOUND, 'no such team ' .. id) end
    return g
end

-- "leader", "member" or nil: what `user` is in team `id`.
function teams.role(ctx, id, user)
    return redis.call('HGET', key(ctx, 'team', id, 'people'), user) or nil
end

-- Raises FORBIDDEN unless the caller is a leader of team g.
function teams.want_leader(ctx, g)
    if ctx.caller.role ~= 'volunteer'
        or teams.role(ctx, g.id, ctx.caller.user) ~= 'leader' then
        fail(FORBIDDEN, 'only a leader of team ' .. g.id .. ' may do this')
    end
end

-- A list of distinct user ids (list already an array of at most its
-- bound): each checked as want_user_id checks one, BAD_REQUEST naming
-- the field.
function teams.want_users(list, name)
    local seen = {}
    for _, u in ipairs(list) do
        if type(u) ~= 'string' or #u < 1 or #u > 128
            or string.find(u, '[^A-Za-z0-9_.@%-]') then
            field_fail(name, 'elements must be user ids of '
                       .. '[A-Za-z0-9_.@-], 1..128 bytes')
        end
        if seen[u] then field_fail(name, 'names ' .. u .. ' twice') end
        seen[u] = true
    end
    return list
end

-- Raises unless `user` may be in a team of `region`: it has a volunteer
-- profile (NOT_FOUND, as task.assign says of one without) and its
-- profile's region overlaps the team's (FORBIDDEN): a district's
-- volunteer may serve in one of its communities' teams and the reverse,
-- never a team of another district.
function teams.want_volunteer(ctx, region, user)
    local v = redis.call('HMGET', key(ctx, 'user', user), UF.skills,
                         UF.region)
    if not v[1] then fail(NOT_FOUND, 'no such volunteer ' .. user) end
    local r = v[2] or ''
    if not (covers(region, r) or covers(r, region)) then
        fail(FORBIDDEN, user .. ' is not of the region ' .. region)
    end
end

-- Raises CONFLICT when `user` belongs to PER_VOLUNTEER teams already.
function teams.want_room(ctx, user)
    local n = redis.call('SCARD', key(ctx, 'user', user, 'teams'))
    if n >= teams.PER_VOLUNTEER then
        fail(CONFLICT, user .. ' belongs to ' .. n .. ' teams, the most '
             .. 'allowed')
    end
end

-- True when team g lists the skill.
function teams.has_skill(g, skill)
    for _, s in ipairs(split_csv(g.skills)) do
        if s == skill then return true end
    end
    return false
end

------------------------------------------------------------ credit hooks

-- The team whose place `user` filled on the task whose :asg hash is ak,
-- or nil.
function teams.of_assignment(ak, user)
    return redis.call('HGET', ak, user .. ':team') or nil
end

-- task.confirm's hook: counts `hours` of `user`'s service on a team's
-- place for that team, in quarter q and all time, and on the quarter's
-- board of every scope containing the task's `region`. Nothing for a
-- place that was no team's.
function teams.credit(ctx, ak, user, hours, q, region)
    local gid = teams.of_assignment(ak, user)
    if not gid then return end
    for _, s in ipairs(scopes_of(region)) do
        redis.call('ZINCRBY', key(ctx, 'board', q, 'team', s), hours, gid)
    end
    local qk = key(ctx, 'team', gid, 'q', q)
    redis.call('HINCRBYFLOAT', qk, 'hours', hours)
    redis.call('HINCRBY', qk, 'done', 1)
    local gk = key(ctx, 'team', gid)
    redis.call('HINCRBYFLOAT', gk, 'hours', hours)
    redis.call('HINCRBY', gk, 'done', 1)
end

-- task.rate's hook: the stars given for service on a team's place count
-- for that team's quarter q.
function teams.rated(ctx, ak, user, stars, q)
    local gid = teams.of_assignment(ak, user)
    if not gid then return end
    local qk = key(ctx, 'team', gid, 'q', q)
    redis.call('HINCRBY', qk, 'rating_sum', stars)
    redis.call('HINCRBY', qk, 'rating_count', 1)
end
