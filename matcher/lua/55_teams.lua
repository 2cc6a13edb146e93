-- Uses: CONFLICT, context, emit, fail, field_fail, FORBIDDEN, hgetall,
--   in_scope, is_staff, key, next_id, want_bool, want_id, want_num,
--   want_role, want_str, want_table, want_user_id (from 00_core.lua);
--   want_skills (from 05_skills.lua); split_csv, UF (from
--   10_volunteer.lua); teams (from 25_teams.lua); quarter_of, want_scope
--   (from 50_service.lua).
--
-- Teams: creating them, leaders, invitations, leaving, and the views
-- (team.list, team.get with the quarter's figures). docs/protocol.md,
-- "Teams"; the keys are in 25_teams.lua.

---------------------------------------------------------------- views

-- [{id, name}] of the ids in csv, each with its volunteer name.
function teams.named(ctx, ids)
    local out = {}
    for _, u in ipairs(ids) do
        local name = redis.call('HGET', key(ctx, 'user', u), UF.name)
        out[#out + 1] = {id = u, name = name or u}
    end
    return out
end

-- The summary anyone may read: a bounded number of reads (one per
-- leader and two more).
function teams.summary(ctx, g)
    return {team_id = g.id, name = g.name, region = g.region,
            description = g.desc or '', skills = split_csv(g.skills),
            leaders = teams.named(ctx, split_csv(g.leaders)),
            members = redis.call('HLEN', key(ctx, 'team', g.id, 'people'))}
end

function teams.round2(v)
    return math.floor((tonumber(v) or 0) * 100 + 0.5) / 100
end

-- {quarter, hours, tasks_done, rating, ratings} of team g in quarter q.
function teams.figures(ctx, g, q)
    local f = hgetall(key(ctx, 'team', g.id, 'q', q)) or {}
    local rated = tonumber(f.rating_count) or 0
    return {quarter = q, hours = teams.round2(f.hours),
            tasks_done = tonumber(f.done) or 0,
            rating = rated > 0 and tonumber(f.rating_sum) / rated or 0,
            ratings = rated}
end

-- Everyone in the team, leaders first, then by id: [{id, name, leader}].
function teams.people(ctx, g)
    local flat = redis.call('HGETALL', key(ctx, 'team', g.id, 'people'))
    local out = {}
    for i = 1, #flat, 2 do
        local name = redis.call('HGET', key(ctx, 'user', flat[i]), UF.name)
        out[#out + 1] = {id = flat[i], name = name or flat[i],
                         leader = flat[i + 1] == 'leader'}
    end
    table.sort(out, function(a, b)
        if a.leader ~= b.leader then return a.leader end
        return a.id < b.id
    end)
    return out
end

-- The team's orders still open or filled, soonest first (ORDERS_SHOWN
-- of the ORDERS_KEEP kept): [{task_id, title, start, end, places,
-- filled, hold_until, released}], `filled` the team's places taken by
-- members, `released` those it gave back (56_team_orders.lua).
function teams.orders(ctx, g)
    local out = {}
    local ids = redis.call('ZRANGE', key(ctx, 'team', g.id, 'orders'), 0, -1)
    for _, id in ipairs(ids) do
        if #out >= teams.ORDERS_SHOWN then break end
        local tk = key(ctx, 'task', id)
        local v = redis.call('HMGET', tk, 'status', 'title', 'start', 'end')
        if v[1] == 'open' or v[1] == 'filled' then
            local o = redis.call('HMGET', tk .. ':teams', g.id,
                                 g.id .. ':n', g.id .. ':until',
                                 g.id .. ':back')
            local places = tonumber(o[2]) or 0
            out[#out + 1] = {task_id = id, title = v[2],
                             start = tonumber(v[3]), ['end'] = tonumber(v[4]),
                             places = places,
                             filled = places - (tonumber(o[1]) or 0),
                             -- orders from before deadlines hold to the end
                             hold_until = tonumber(o[3]) or tonumber(v[4]),
                             released = tonumber(o[4]) or 0}
        end
    end
    return out
end

-- The whole view of team g for the caller: the summary and figures for
-- everyone, the people for its members and staff over it, invitations
-- and orders for its leaders and staff over it.
function teams.view(ctx, g, q)
    local v = teams.summary(ctx, g)
    v.figures = teams.figures(ctx, g, q)
    v.totals = {hours = teams.round2(g.hours), tasks_done = tonumber(g.done) or 0}
    local staff = is_staff(ctx) and in_scope(ctx, g.region)
    local mine = ctx.caller.role == 'volunteer'
        and teams.role(ctx, g.id, ctx.caller.user)
    if staff or mine then v.people = teams.people(ctx, g) end
    if staff or mine == 'leader' then
        local inv = {}
        local flat = redis.call('HGETALL', key(ctx, 'team', g.id, 'invited'))
        for i = 1, #flat, 2 do
            if tonumber(flat[i + 1]) > ctx.now then
                inv[#inv + 1] = {id = flat[i],
                                 expires_at = tonumber(flat[i + 1])}
            end
        end
        v.invited = inv
        v.orders = teams.orders(ctx, g)
    end
    return v
end

---------------------------------------------------------------- staff

-- team.create: staff over `region` make a team, naming its leaders.
function teams.create(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local p = ctx.params
    local name = want_str(p, 'name', 1, 64)
    if p.region == nil then field_fail('region', 'required') end
    local region = want_scope(ctx, p, 'region')
    local desc = want_str(p, 'description', 0, 500, true) or ''
    local skills = want_skills(ctx, p, 'skills', teams.SKILLS_MAX) or {}
    local leaders = teams.want_users(
        want_table(p, 'leaders', teams.LEADERS_MAX, true) or {}, 'leaders')
    for _, u in ipairs(leaders) do
        teams.want_volunteer(ctx, region, u)
        teams.want_room(ctx, u)
    end

    local id = next_id(ctx, 'G')
    local gk = key(ctx, 'team', id)
    redis.call('HSET', gk, 'id', id, 'name', name, 'region', region,
               'desc', desc, 'skills', table.concat(skills, ','),
               'leaders', table.concat(leaders, ','), 'by', ctx.caller.user,
               'created', ctx.now)
    redis.call('ZADD', key(ctx, 'teams'), 0, region .. '/|' .. id)
    for _, u in ipairs(leaders) do
        redis.call('HSET', gk .. ':people', u, 'leader')
        redis.call('SADD', key(ctx, 'user', u, 'teams'), id)
    end
    return cmsgpack.pack(teams.view(ctx, hgetall(gk),
                                    quarter_of(ctx, ctx.now)))
end

-- The leaders' csv of team g with `user` added or taken away.
function teams.leaders_with(g, user, add)
    local out = {}
    for _, u in ipairs(split_csv(g.leaders)) do
        if u ~= user then out[#out + 1] = u end
    end
    if add then out[#out + 1] = user end
    return table.concat(out, ',')
end

-- Loads the team named by `team_id` and raises FORBIDDEN unless the
-- caller is staff over its region.
function teams.load_as_staff(ctx, id)
    want_role(ctx, 'coordinator', 'admin')
    local g = teams.load(ctx, id)
    if not in_scope(ctx, g.region) then
        fail(FORBIDDEN, 'team ' .. id .. ' is outside your scope')
    end
    return g
end

-- team.leader: staff name a leader (a member too) or make one a plain
-- member again.
function teams.leader(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local id = want_id(p, 'team_id', 'G')
    local user = want_user_id(p, 'volunteer_id')
    local lead = want_bool(p, 'leader')
    local g = teams.load_as_staff(ctx, id)
    local pk = key(ctx, 'team', id, 'people')
    local cur = teams.role(ctx, id, user)
    if lead then
        if cur == 'leader' then
            fail(CONFLICT, user .. ' already leads team ' .. id)
        end
        teams.want_volunteer(ctx, g.region, user)
        if #split_csv(g.leaders) >= teams.LEADERS_MAX then
            fail(CONFLICT, 'team ' .. id .. ' has ' .. teams.LEADERS_MAX
                 .. ' leaders, the most allowed')
        end
        if not cur then
            if redis.call('HLEN', pk) >= teams.MEMBERS_MAX then
                fail(CONFLICT, 'team ' .. id .. ' is full')
            end
            teams.want_room(ctx, user)
            redis.call('SADD', key(ctx, 'user', user, 'teams'), id)
            redis.call('HDEL', key(ctx, 'team', id, 'invited'), user)
        end
        redis.call('HSET', pk, user, 'leader')
    else
        if cur ~= 'leader' then
            fail(CONFLICT, user .. ' does not lead team ' .. id)
        end
        redis.call('HSET', pk, user, 'member')
    end
    redis.call('HSET', key(ctx, 'team', id), 'leaders',
               teams.leaders_with(g, user, lead))
    return cmsgpack.pack(teams.view(ctx, teams.load(ctx, id),
                                    quarter_of(ctx, ctx.now)))
end

---------------------------------------------------------------- members

-- Tells every leader of team g.
function teams.tell_leaders(ctx, g, ev)
    for _, u in ipairs(split_csv(g.leaders)) do
        local copy = {}
        for k, v in pairs(ev) do copy[k] = v end
        emit(ctx, u, copy)
    end
end

-- team.invite: a leader invites a volunteer, who answers (team.answer).
function teams.invite(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p = ctx.params
    local id = want_id(p, 'team_id', 'G')
    local user = want_user_id(p, 'volunteer_id')
    local g = teams.load(ctx, id)
    teams.want_leader(ctx, g)
    if teams.role(ctx, id, user) then
        fail(CONFLICT, user .. ' is in team ' .. id .. ' already')
    end
    local ik = key(ctx, 'team', id, 'invited')
    local flat = redis.call('HGETALL', ik)
    local live, lapsed = 0, {}
    for i = 1, #flat, 2 do
        if tonumber(flat[i + 1]) > ctx.now then
            if flat[i] == user then
                fail(CONFLICT, user .. ' is invited already')
            end
            live = live + 1
        else
            lapsed[#lapsed + 1] = flat[i]
        end
    end
    teams.want_volunteer(ctx, g.region, user)
    if redis.call('HLEN', key(ctx, 'team', id, 'people'))
        >= teams.MEMBERS_MAX then
        fail(CONFLICT, 'team ' .. id .. ' is full')
    end
    if live >= teams.INVITES_MAX then
        fail(CONFLICT, 'team ' .. id .. ' has ' .. live .. ' invitations '
             .. 'out, the most allowed')
    end
    teams.want_room(ctx, user)

    if #lapsed > 0 then redis.call('HDEL', ik, unpack(lapsed)) end
    local expires = ctx.now + teams.INVITE_TTL
    redis.call('HSET', ik, user, expires)
    emit(ctx, user, {type = 'team_invite', by = ctx.caller.user,
                     expires_at = expires,
                     team = {team_id = id, name = g.name,
                             region = g.region}})
    return cmsgpack.pack({team_id = id, volunteer_id = user,
                          status = 'invited', expires_at = expires})
end

-- team.answer: the invited volunteer joins the team or declines.
function teams.answer(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p = ctx.params
    local id = want_id(p, 'team_id', 'G')
    local accept = want_bool(p, 'accept')
    local g = teams.load(ctx, id)
    local user = ctx.caller.user
    local ik = key(ctx, 'team', id, 'invited')
    local expires = tonumber(redis.call('HGET', ik, user))
    if not expires or expires <= ctx.now then
        fail(CONFLICT, 'you have no invitation to team ' .. id
             .. ' (or it lapsed)')
    end
    if accept then
        if redis.call('HLEN', key(ctx, 'team', id, 'people'))
            >= teams.MEMBERS_MAX then
            fail(CONFLICT, 'team ' .. id .. ' is full')
        end
        teams.want_room(ctx, user)
    end

    redis.call('HDEL', ik, user)
    if accept then
        redis.call('HSET', key(ctx, 'team', id, 'people'), user, 'member')
        redis.call('SADD', key(ctx, 'user', user, 'teams'), id)
    end
    teams.tell_leaders(ctx, g, {type = 'team_member', team_id = id,
                          volunteer_id = user, accepted = accept})
    return cmsgpack.pack({team_id = id, volunteer_id = user,
                          status = accept and 'member' or 'declined'})
end

-- team.remove: a leader removes a member (or withdraws an invitation),
-- staff over the team remove anyone, a member leaves. The member keeps
-- its assignments: service on the team's places still counts for it.
function teams.remove(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer', 'coordinator', 'admin')
    local p = ctx.params
    local id = want_id(p, 'team_id', 'G')
    local user = want_user_id(p, 'volunteer_id')
    local g = teams.load(ctx, id)
    local me = ctx.caller.user
    local cur = teams.role(ctx, id, user)
    local staff = is_staff(ctx) and in_scope(ctx, g.region)
    if me ~= user and not staff then
        teams.want_leader(ctx, g)
        if cur == 'leader' then
            fail(FORBIDDEN, 'a leader of team ' .. id .. ' is removed by '
                 .. 'staff')
        end
    end
    local ik = key(ctx, 'team', id, 'invited')
    local invited = redis.call('HEXISTS', ik, user) == 1
    if not cur and not invited then
        fail(CONFLICT, user .. ' is not in team ' .. id)
    end

    redis.call('HDEL', ik, user)
    if cur then
        redis.call('HDEL', key(ctx, 'team', id, 'people'), user)
        redis.call('SREM', key(ctx, 'user', user, 'teams'), id)
        if cur == 'leader' then
            redis.call('HSET', key(ctx, 'team', id), 'leaders',
                       teams.leaders_with(g, user, false))
        end
        if me ~= user then
            emit(ctx, user, {type = 'team_removed', team_id = id})
        end
    end
    return cmsgpack.pack(true)
end

---------------------------------------------------------------- reads

-- team.list: the teams of a scope, in pages by region and id, or (mine)
-- the caller's own.
function teams.list(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local mine = want_bool(p, 'mine', true)
    local limit = want_num(p, 'limit', 1, teams.LIST_MAX, true, true) or 20
    local cursor = want_str(p, 'cursor', 0, 300, true) or ''
    local out, next_cursor = {}, ''
    if mine then
        want_role(ctx, 'volunteer')
        local ids = redis.call('SMEMBERS',
                               key(ctx, 'user', ctx.caller.user, 'teams'))
        table.sort(ids)
        for _, id in ipairs(ids) do
            local g = hgetall(key(ctx, 'team', id))
            if g then out[#out + 1] = teams.summary(ctx, g) end
        end
    else
        local region = want_scope(ctx, p, 'region', ctx.caller.region, true)
        local prefix = region .. '/'
        local lo = '[' .. prefix
        if cursor ~= '' then
            if string.sub(cursor, 1, #prefix) ~= prefix then
                field_fail('cursor', 'is not of a page of ' .. region)
            end
            lo = '(' .. cursor
        end
        local found = redis.call('ZRANGEBYLEX', key(ctx, 'teams'), lo,
                                 '[' .. prefix .. '\255', 'LIMIT', 0, limit)
        for _, m in ipairs(found) do
            local g = hgetall(key(ctx, 'team', string.match(m, '|(G%d+)$')))
            if g then out[#out + 1] = teams.summary(ctx, g) end
        end
        if #found == limit then next_cursor = found[#found] end
    end
    return cmsgpack.pack({teams = out, cursor = next_cursor})
end

-- team.get: one team as the caller may see it, with the figures of a
-- quarter (default this one).
function teams.get(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local id = want_id(p, 'team_id', 'G')
    local q = want_str(p, 'quarter', 6, 6, true)
    if q and not string.find(q, '^%d%d%d%dQ[1-4]$') then
        field_fail('quarter', 'must be a quarter like 2026Q2')
    end
    local g = teams.load(ctx, id)
    return cmsgpack.pack(teams.view(ctx, g, q or quarter_of(ctx, ctx.now)))
end
