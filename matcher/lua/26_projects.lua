-- Uses: CONFLICT, covers, fail, FORBIDDEN, hgetall, key, NOT_FOUND (from
--   00_core.lua); scopes_of (from 15_status.lua).
--
-- Projects and caring partners (项目认领, 爱心伙伴; docs/protocol.md
-- "Projects and caring partners"): the key schema, the checks linking a
-- task shares, and the hooks task.post, task.confirm and task.rate call
-- so that a project's figures are counted as the service is credited,
-- never scanned. The methods are in 58_projects.lua, as fields of
-- `projects`, declared here before 30_tasks.lua and 50_service.lua so
-- that they can reach it (looked up when called).
--
-- {city}:project:<id>           HASH  id title region desc budget start
--                                     end by created status (published |
--                                     adopted) team partner pledge note
--                                     adopted_at
-- {city}:project:<id>:f         HASH  the project's figures (FIELDS)
-- {city}:project:<id>:tasks     ZSET  linked tasks by start
-- {city}:project:<id>:vols      SET   volunteers who served on them
-- {city}:projects               ZSET  score 0, "<region>/|<id>": the
--                                     projects of scope S are the members
--                                     that start with "S/" (project.list)
-- {city}:projects:n:<scope>     HASH  published adopted budget pledged,
--                                     and the figures, of the projects of
--                                     the scope and below it
-- {city}:projects:p:<scope>     ZSET  partner -> projects it adopted in
--                                     the scope (ZCARD: how many partners)
-- {city}:partner:<user>         HASH  projects pledged, and the figures
--                                     of the partner's projects
-- {city}:partner:<user>:projects ZSET score 0, the project ids it adopted
-- {city}:task:<id>              also  project: the project it is linked to
--
-- Figures (FIELDS): tasks (linked), done (of them, done), services
-- (confirmations), vols (distinct volunteers per project), hc and pc
-- (hours and points credited, in hundredths, exactly), rs and rn (stars
-- given, ratings). Every function is a field of one table: the
-- library's chunk may have only so many locals (tests/lua_check.py).

local projects = {
    FIELDS = {'tasks', 'done', 'services', 'vols', 'hc', 'pc', 'rs', 'rn'},
    PER_PARTNER = 500,   -- projects one partner adopts at most
    LIST_MAX = 50,       -- projects one project.list page holds
    LIST_READ = 200,     -- index members one project.list examines
    TASKS_SHOWN = 20,    -- linked tasks project.get lists
    PERIOD_MAX = 366 * 86400,
    MONEY_MAX = 100000000, -- yuan: a budget or a pledge
}

-- The project `id` (already of the form P<n>); NOT_FOUND when none.
function projects.load(ctx, id)
    local pr = hgetall(key(ctx, 'project', id))
    if pr == nil then fail(NOT_FOUND, 'no such project ' .. id) end
    return pr
end

-- Adds n to figure `field` of project pr, of its partner (once it has
-- one) and of every scope over its region: the three places a figure is
-- read from, moved in the same call.
function projects.add(ctx, pr, field, n)
    redis.call('HINCRBY', key(ctx, 'project', pr.id, 'f'), field, n)
    if pr.partner and pr.partner ~= '' then
        redis.call('HINCRBY', key(ctx, 'partner', pr.partner), field, n)
    end
    for _, s in ipairs(scopes_of(pr.region)) do
        redis.call('HINCRBY', key(ctx, 'projects', 'n', s), field, n)
    end
end

-- Raises unless a task of `region` starting at `start` may be linked to
-- project pr: the project has not ended (CONFLICT), its region covers
-- the task's (FORBIDDEN), the task starts inside its period (CONFLICT).
-- No writes.
function projects.want_linkable(ctx, pr, region, start)
    if tonumber(pr['end']) <= ctx.now then
        fail(CONFLICT, 'project ' .. pr.id .. ' ended')
    end
    if not covers(pr.region, region) then
        fail(FORBIDDEN, 'task region ' .. region .. ' is outside project '
             .. pr.id .. "'s region " .. pr.region)
    end
    if start < tonumber(pr.start) or start > tonumber(pr['end']) then
        fail(CONFLICT, 'the task starts outside project ' .. pr.id
             .. "'s period")
    end
end

-- Links task t (a table with id, start) to project pr. A write; the
-- caller has checked want_linkable.
function projects.link(ctx, pr, t)
    redis.call('HSET', key(ctx, 'task', t.id), 'project', pr.id)
    redis.call('ZADD', key(ctx, 'project', pr.id, 'tasks'), t.start, t.id)
    projects.add(ctx, pr, 'tasks', 1)
end

------------------------------------------------------------ credit hooks

-- The project task t is linked to, or nil. A project is never removed.
function projects.of_task(ctx, t)
    if not t.project or t.project == '' then return nil end
    return hgetall(key(ctx, 'project', t.project))
end

-- task.confirm's hook: `user`'s confirmed service on task t, `hours`
-- and `points` as credited to the volunteer, counts for t's project.
function projects.credit(ctx, t, user, hours, points)
    local pr = projects.of_task(ctx, t)
    if not pr then return end
    projects.add(ctx, pr, 'services', 1)
    projects.add(ctx, pr, 'hc', math.floor(hours * 100 + 0.5))
    projects.add(ctx, pr, 'pc', math.floor(points * 100 + 0.5))
    if redis.call('SADD', key(ctx, 'project', pr.id, 'vols'), user) == 1 then
        projects.add(ctx, pr, 'vols', 1)
    end
end

-- task.confirm's hook when the confirmation made task t done.
function projects.done(ctx, t)
    local pr = projects.of_task(ctx, t)
    if pr then projects.add(ctx, pr, 'done', 1) end
end

-- task.rate's hook: stars given for a service on task t.
function projects.rated(ctx, t, stars)
    local pr = projects.of_task(ctx, t)
    if not pr then return end
    projects.add(ctx, pr, 'rs', stars)
    projects.add(ctx, pr, 'rn', 1)
end
