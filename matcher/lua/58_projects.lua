-- Uses: CONFLICT, context, covers, emit, fail, field_fail, FORBIDDEN,
--   hgetall, in_scope, is_staff, key, load_task, next_id, TIME_MAX,
--   want_bool, want_id, want_num, want_role, want_str (from 00_core.lua);
--   scopes_of (from 15_status.lua); teams (from 25_teams.lua); projects
--   (from 26_projects.lua); want_scope (from 50_service.lua).
--
-- Projects and caring partners: publishing, adoption, the team, linking
-- tasks, and the reads (project.get, project.list, the partner's report,
-- the region's adoption figures). docs/protocol.md, "Projects and caring
-- partners"; the keys and the hooks that count the figures are in
-- 26_projects.lua. Every read is one hash per figure set, or a bounded
-- page.

---------------------------------------------------------------- views

-- The figures of a figures hash (FIELDS; nil: none yet) as the protocol
-- shows them.
function projects.figures(h)
    h = h or {}
    local n = function(f) return tonumber(h[f]) or 0 end
    return {tasks = n('tasks'), tasks_done = n('done'),
            services = n('services'), volunteers = n('vols'),
            hours = n('hc') / 100, points = n('pc') / 100,
            rating = n('rn') > 0 and n('rs') / n('rn') or 0,
            ratings = n('rn')}
end

-- The display name of a partner: its account's, else its id.
function projects.partner_name(ctx, user)
    return redis.call('HGET', key(ctx, 'acct', user), 'name') or user
end

-- True when the caller may read project pr's pledge and figures: staff
-- over its region, or its own partner.
function projects.privy(ctx, pr)
    if is_staff(ctx) then return in_scope(ctx, pr.region) end
    return ctx.caller.role == 'partner' and pr.partner == ctx.caller.user
end

-- Raises FORBIDDEN unless the caller may see project pr at all: staff
-- over its region, a partner whose scope covers it, or its partner.
function projects.want_visible(ctx, pr)
    if projects.privy(ctx, pr) then return end
    if ctx.caller.role == 'partner' and in_scope(ctx, pr.region) then
        return
    end
    fail(FORBIDDEN, 'project ' .. pr.id .. ' is outside your scope')
end

-- The project result for the caller (see docs/protocol.md): a bounded
-- number of reads (the figures, the team's name, the partner's name).
function projects.view(ctx, pr)
    local f = hgetall(key(ctx, 'project', pr.id, 'f'))
    local v = {project_id = pr.id, title = pr.title, region = pr.region,
               description = pr.desc or '', budget = tonumber(pr.budget),
               start = tonumber(pr.start), ['end'] = tonumber(pr['end']),
               status = pr.status, ended = tonumber(pr['end']) <= ctx.now,
               linked = tonumber(f and f.tasks) or 0}
    if pr.team and pr.team ~= '' then
        local name = redis.call('HGET', key(ctx, 'team', pr.team), 'name')
        v.team = {team_id = pr.team, name = name or pr.team}
    end
    if pr.partner and pr.partner ~= '' then
        v.partner = {id = pr.partner,
                     name = projects.partner_name(ctx, pr.partner)}
        v.adopted_at = tonumber(pr.adopted_at)
    end
    if projects.privy(ctx, pr) then
        if v.partner then
            v.pledge = tonumber(pr.pledge)
            v.note = pr.note or ''
        end
        v.figures = projects.figures(f)
    end
    return v
end

-- Loads team `id` for project region `region`: it exists (NOT_FOUND) and
-- its region overlaps the project's (FORBIDDEN).
function projects.want_team(ctx, id, region)
    local g = teams.load(ctx, id)
    if not (covers(g.region, region) or covers(region, g.region)) then
        fail(FORBIDDEN, 'team ' .. id .. ' is not of the region ' .. region)
    end
    return g
end

-- Loads the project named by `project_id` and raises FORBIDDEN unless
-- the caller is staff over its region.
function projects.load_as_staff(ctx, p)
    want_role(ctx, 'coordinator', 'admin')
    local pr = projects.load(ctx, want_id(p, 'project_id', 'P'))
    if not in_scope(ctx, pr.region) then
        fail(FORBIDDEN, 'project ' .. pr.id .. ' is outside your scope')
    end
    return pr
end

---------------------------------------------------------------- staff

-- project.create: staff over `region` publish a project.
function projects.create(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local p = ctx.params
    local title = want_str(p, 'title', 1, 200)
    if p.region == nil then field_fail('region', 'required') end
    local region = want_scope(ctx, p, 'region')
    local desc = want_str(p, 'description', 0, 2000, true) or ''
    local budget = want_num(p, 'budget', 0, projects.MONEY_MAX, false, true)
    local s = want_num(p, 'start', 0, TIME_MAX, false, true)
    local e = want_num(p, 'end', 0, TIME_MAX, false, true)
    if e <= s then field_fail('end', 'must be after start') end
    if e <= ctx.now then field_fail('end', 'must be in the future') end
    if e - s > projects.PERIOD_MAX then
        field_fail('end', 'a project lasts at most 366 days')
    end
    local team = ''
    if p.team_id ~= nil then
        team = projects.want_team(ctx, want_id(p, 'team_id', 'G'), region).id
    end

    local id = next_id(ctx, 'P')
    local pk = key(ctx, 'project', id)
    redis.call('HSET', pk, 'id', id, 'title', title, 'region', region,
               'desc', desc, 'budget', budget, 'start', s, 'end', e,
               'by', ctx.caller.user, 'created', ctx.now,
               'status', 'published', 'team', team)
    redis.call('ZADD', key(ctx, 'projects'), 0, region .. '/|' .. id)
    for _, sc in ipairs(scopes_of(region)) do
        local nk = key(ctx, 'projects', 'n', sc)
        redis.call('HINCRBY', nk, 'published', 1)
        redis.call('HINCRBY', nk, 'budget', budget)
    end
    return cmsgpack.pack(projects.view(ctx, hgetall(pk)))
end

-- project.team: staff name the team that carries the project out.
function projects.team(keys, args)
    local ctx = context(keys, args)
    local p = ctx.params
    local pr = projects.load_as_staff(ctx, p)
    local g = projects.want_team(ctx, want_id(p, 'team_id', 'G'), pr.region)
    redis.call('HSET', key(ctx, 'project', pr.id), 'team', g.id)
    pr.team = g.id
    return cmsgpack.pack(projects.view(ctx, pr))
end

-- True when someone on task `id` has had service confirmed (a bounded
-- read: a task has at most 1 000 places).
function projects.served(ctx, id)
    local flat = redis.call('HGETALL', key(ctx, 'task', id, 'asg'))
    for i = 2, #flat, 2 do
        if flat[i] == 'confirmed' or flat[i] == 'rated' then return true end
    end
    return false
end

-- project.link: staff over a task of the centre link it to a project.
function projects.link_task(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local p = ctx.params
    local pr = projects.load(ctx, want_id(p, 'project_id', 'P'))
    local t = load_task(ctx, want_id(p, 'task_id', 'T'))
    if not in_scope(ctx, t.region) then
        fail(FORBIDDEN, 'task ' .. t.id .. ' is outside your scope')
    end
    projects.want_linkable(ctx, pr, t.region, tonumber(t.start))
    if t.kind ~= 'post' then
        fail(CONFLICT, 'task ' .. t.id .. ' is not a post of the centre')
    end
    if t.project and t.project ~= '' then
        fail(CONFLICT, 'task ' .. t.id .. ' is linked to project '
             .. t.project .. ' already')
    end
    if t.status ~= 'open' and t.status ~= 'filled' then
        fail(CONFLICT, 'task ' .. t.id .. ' is ' .. t.status)
    end
    if projects.served(ctx, t.id) then
        fail(CONFLICT, 'task ' .. t.id .. ' has service confirmed already; '
             .. 'link tasks before their service is confirmed')
    end
    projects.link(ctx, pr, {id = t.id, start = tonumber(t.start)})
    return cmsgpack.pack(projects.view(ctx, pr))
end

-- project.adoption: the adoption figures of a region (staff).
function projects.adoption(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local region = want_scope(ctx, ctx.params, 'region', ctx.caller.region)
    local h = hgetall(key(ctx, 'projects', 'n', region)) or {}
    return cmsgpack.pack({
        region = region, published = tonumber(h.published) or 0,
        adopted = tonumber(h.adopted) or 0,
        partners = redis.call('ZCARD', key(ctx, 'projects', 'p', region)),
        budget = tonumber(h.budget) or 0, pledged = tonumber(h.pledged) or 0,
        figures = projects.figures(h)})
end

---------------------------------------------------------------- partners

-- project.adopt: a partner adopts a published project of its scope and
-- records its pledge.
function projects.adopt(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'partner')
    local p = ctx.params
    local pr = projects.load(ctx, want_id(p, 'project_id', 'P'))
    local pledge = want_num(p, 'pledge', 1, projects.MONEY_MAX, false, true)
    local note = want_str(p, 'note', 0, 500, true) or ''
    if not in_scope(ctx, pr.region) then
        fail(FORBIDDEN, 'project ' .. pr.id .. ' is outside your scope')
    end
    if pr.status ~= 'published' then
        fail(CONFLICT, 'project ' .. pr.id .. ' is adopted already')
    end
    if tonumber(pr['end']) <= ctx.now then
        fail(CONFLICT, 'project ' .. pr.id .. ' ended')
    end
    local me = ctx.caller.user
    local mine = key(ctx, 'partner', me, 'projects')
    if redis.call('ZCARD', mine) >= projects.PER_PARTNER then
        fail(CONFLICT, 'a partner adopts at most ' .. projects.PER_PARTNER
             .. ' projects')
    end

    redis.call('HSET', key(ctx, 'project', pr.id), 'status', 'adopted',
               'partner', me, 'pledge', pledge, 'note', note,
               'adopted_at', ctx.now)
    redis.call('ZADD', mine, 0, pr.id)
    -- What the project earned before its adoption counts for its partner.
    local mk = key(ctx, 'partner', me)
    local f = hgetall(key(ctx, 'project', pr.id, 'f')) or {}
    for _, name in ipairs(projects.FIELDS) do
        if f[name] then redis.call('HINCRBY', mk, name, f[name]) end
    end
    redis.call('HINCRBY', mk, 'projects', 1)
    redis.call('HINCRBY', mk, 'pledged', pledge)
    for _, sc in ipairs(scopes_of(pr.region)) do
        local nk = key(ctx, 'projects', 'n', sc)
        redis.call('HINCRBY', nk, 'adopted', 1)
        redis.call('HINCRBY', nk, 'pledged', pledge)
        redis.call('ZINCRBY', key(ctx, 'projects', 'p', sc), 1, me)
    end
    pr.status, pr.partner, pr.pledge, pr.note, pr.adopted_at =
        'adopted', me, pledge, note, ctx.now
    local who = {id = me, name = projects.partner_name(ctx, me)}
    emit(ctx, pr.by, {type = 'project_adopted', project_id = pr.id,
                      partner = who, pledge = pledge})
    return cmsgpack.pack(projects.view(ctx, pr))
end

---------------------------------------------------------------- reads

-- project.get: one project as the caller may see it, with its latest
-- linked tasks.
function projects.get(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin', 'partner')
    local pr = projects.load(ctx, want_id(ctx.params, 'project_id', 'P'))
    projects.want_visible(ctx, pr)
    local v = projects.view(ctx, pr)
    local ids = redis.call('ZREVRANGE', key(ctx, 'project', pr.id, 'tasks'),
                           0, projects.TASKS_SHOWN - 1)
    v.tasks = {}
    for _, id in ipairs(ids) do
        local t = redis.call('HMGET', key(ctx, 'task', id), 'title', 'start',
                             'status')
        if t[1] then
            v.tasks[#v.tasks + 1] = {task_id = id, title = t[1],
                                     start = tonumber(t[2]), status = t[3]}
        end
    end
    return cmsgpack.pack(v)
end

-- project.list: the projects of a scope in pages by region and id, or
-- (mine) a partner's adoptions by id; `status` and `ended` (whether its
-- period has ended: a partner adopts only those that have not) filter.
-- Examines at most LIST_READ index members a call.
function projects.list(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin', 'partner')
    local p = ctx.params
    local mine = want_bool(p, 'mine', true)
    local status = want_str(p, 'status', 1, 16, true)
    if status and status ~= 'published' and status ~= 'adopted' then
        field_fail('status', 'must be published or adopted')
    end
    local ended = want_bool(p, 'ended', true)
    local limit = want_num(p, 'limit', 1, projects.LIST_MAX, true, true) or 20
    local cursor = want_str(p, 'cursor', 0, 300, true) or ''
    local found, idx, lo, hi
    if mine then
        if ctx.caller.role ~= 'partner' then
            fail(FORBIDDEN, 'mine lists a partner\'s own adoptions')
        end
        idx = key(ctx, 'partner', ctx.caller.user, 'projects')
        lo, hi = '-', '+'
        if cursor ~= '' then
            if not string.find(cursor, '^P%d+$') then
                field_fail('cursor', 'is not of a page of your projects')
            end
            lo = '(' .. cursor
        end
    else
        local region = want_scope(ctx, p, 'region', ctx.caller.region)
        local prefix = region .. '/'
        idx = key(ctx, 'projects')
        lo, hi = '[' .. prefix, '[' .. prefix .. '\255'
        if cursor ~= '' then
            if string.sub(cursor, 1, #prefix) ~= prefix then
                field_fail('cursor', 'is not of a page of ' .. region)
            end
            lo = '(' .. cursor
        end
    end
    found = redis.call('ZRANGEBYLEX', idx, lo, hi, 'LIMIT', 0,
                       projects.LIST_READ)
    local out, next_cursor = {}, ''
    for i, m in ipairs(found) do
        local pr = hgetall(key(ctx, 'project', string.match(m, '(P%d+)$')))
        if pr and (not status or pr.status == status)
            and (ended == nil or (tonumber(pr['end']) <= ctx.now) == ended)
        then
            out[#out + 1] = projects.view(ctx, pr)
            if #out == limit then
                if i < #found or #found == projects.LIST_READ then
                    next_cursor = m
                end
                break
            end
        end
        if i == projects.LIST_READ then next_cursor = m end
    end
    return cmsgpack.pack({projects = out, cursor = next_cursor})
end

-- project.report: one project's report (its partner; staff over it), or
-- without project_id the partner's own, over all its projects.
function projects.report(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin', 'partner')
    local p = ctx.params
    if p.project_id ~= nil then
        local pr = projects.load(ctx, want_id(p, 'project_id', 'P'))
        if not projects.privy(ctx, pr) then
            fail(FORBIDDEN, 'the report of project ' .. pr.id
                 .. ' is not yours to read')
        end
        local v = projects.view(ctx, pr)
        return cmsgpack.pack({project = v, figures = v.figures})
    end
    if ctx.caller.role ~= 'partner' then
        field_fail('project_id', 'required (project.adoption gives a '
                   .. 'region\'s figures)')
    end
    local me = ctx.caller.user
    local h = hgetall(key(ctx, 'partner', me)) or {}
    return cmsgpack.pack({partner = me,
                          name = projects.partner_name(ctx, me),
                          projects = tonumber(h.projects) or 0,
                          pledged = tonumber(h.pledged) or 0,
                          figures = projects.figures(h)})
end
