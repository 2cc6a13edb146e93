-- Uses: coarse, CONFLICT, covers, emit, fail, hgetall, key, next_event_id,
--   pack_with, push_event, round_to, task_num, task_view (from 00_core.lua);
--   cell_area, cell_of, clash, decayed, DEFAULT_RADIUS, fits_oneoff,
--   fits_weekly, GEO_MEMBER, RECORD, UF, week_place (from
--   10_volunteer.lua); ASG_NAME, note_match_time, queue_event, rstat,
--   set_status, watching (from 15_status.lua).
--
-- Matching, offers and assignments.
--
-- {city}:task:<id>          HASH  id kind title skill lon lat start end
--                                 region note quantity filled status
--                                 requester created opened (note absent:
--                                 none; opened absent: at created,
--                                 create_task); held (places
--                                 team orders hold, 25_teams.lua); _rc
--                                 (1: counted per community, 15_status;
--                                 2: also listed by end in the timers)
-- {city}:task:<id>:offers   HASH  volunteer -> outstanding offer id
-- {city}:task:<id>:asg      HASH  volunteer -> assignment status,
--                                 "<volunteer>:at" -> assigned at,
--                                 "<volunteer>:n" -> "=" .. its name
--                                 (task_assignees, 15_status.lua)
-- {city}:task:<id>:declined SET   volunteers who declined or let lapse
-- {city}:offer:<id>         HASH  task vol expires status
-- {city}:leases             ZSET  the sweeper's timers: outstanding offers
--                                 (O<n>) by expiry, and open tasks (T<n>)
--                                 by end, for expiry (a task of _rc 2)
-- {city}:geo:task:<skill>   GEO   open tasks, for task.nearby
-- {city}:open_by_end        ZSET  open tasks of an older library (_rc
--                                 absent or 1) by end, for expiry
-- {city}:filled_by_end      ZSET  filled tasks by end, whose assignments
--                                 the sweeper ends (sweep_ended_filled)
-- {city}:unmatched          ZSET  open tasks nobody fits, by next retry
-- {city}:user:<id>:mine     ZSET  tasks the volunteer was put on, by
--                                 when; the MINE_KEEP latest (task.mine)

-- Assignment statuses (docs/protocol.md, "Assignments"): LIVE ones are
-- still on the task (counted in `filled`, awaiting confirmation); HOLD
-- ones also hold one of the volunteer's max_active places: they are in
-- {city}:user:<id>:asg and counted in its `active`.
local LIVE = {assigned = true, active = true, finished = true}
local HOLD = {assigned = true, active = true}
local NOBODY = {} -- the exclusions of a task just made; never written
-- How many of a volunteer's tasks task.mine can list: a phone that lost
-- its storage (or a second one) finds them again, and a volunteer busy
-- for years costs a bounded list.
local MINE_KEEP = 50

-- The volunteers a task must not be offered to again: those on it, those
-- with an offer out, those who declined or let one lapse. Read once per
-- match (each set is small) instead of three lookups per candidate.
local function task_excluded(ctx, t)
    local tk = key(ctx, 'task', t.id)
    local out = {}
    local asg = redis.call('HKEYS', tk .. ':asg')
    for _, f in ipairs(asg) do out[f] = true end
    for _, f in ipairs(redis.call('HKEYS', tk .. ':offers')) do out[f] = true end
    for _, f in ipairs(redis.call('SMEMBERS', tk .. ':declined')) do
        out[f] = true
    end
    return out
end

-- What every candidate of one match is checked against, worked out once:
-- the task, its span and place in the week, its exclusions, and which
-- volunteer scopes cover its region (volunteers share a few scopes:
-- `covered`, made when a member without its scope in the city needs it).
-- `inside[n]` is the one scope of n bytes, less "<city>/", that covers
-- the region ("" the whole city, then each district, street and
-- community): a member's scope (flag 1) is checked by its length and one
-- compare in place, with no string made (candidate_rank). Regions
-- repeat, so `inside` is kept per city and region across calls (read
-- only; emptied past INSIDE_MAX).
local match_context
do
    local INSIDE_MAX = 10000
    local inside_of, n_inside = {}, 0

    local function inside_scopes(ctx, region)
        local of_city = inside_of[ctx.p]
        local inside = of_city and of_city[region]
        if inside then return inside end
        inside = {}
        if covers(ctx.city, region) then
            local rest = string.sub(region, #ctx.city + 2)
            inside[0] = ''
            local at = string.find(rest, '/', 1, true)
            while at do
                inside[at - 1] = string.sub(rest, 1, at - 1)
                at = string.find(rest, '/', at + 1, true)
            end
            inside[#rest] = rest
        end
        if n_inside >= INSIDE_MAX then inside_of, n_inside = {}, 0 end
        of_city = inside_of[ctx.p]
        if not of_city then
            of_city = {}
            inside_of[ctx.p] = of_city
        end
        of_city[region] = inside
        n_inside = n_inside + 1
        return inside
    end

    function match_context(ctx, t, excluded)
        local s, e = t.start + 0, t['end'] + 0
        local wd, from, to = week_place(ctx, s, e)
        return {t = t, s = s, e = e, from = from, to = to,
                weekday = wd, on_day = GEO_MEMBER.on_day(wd),
                excluded = excluded,
                inside = inside_scopes(ctx, t.region),
                user_key = ctx.p .. ':user:'}
    end
end

-- Rank of a fitting candidate in metres: distance first, then fairness
-- (recent assignments), then rating, with weights from the settings.
-- Returns the rank, the volunteer's id and its record as read (RECORD,
-- 10_volunteer.lua; nil for a profile of an older library, made from its
-- fields: make_offer then reads it again, to replace them), or nil when
-- it does not fit the task. `member` is its GEO member (GEO_MEMBER):
-- radius, the weekdays it serves on and scope come from it, so a
-- candidate out of any costs no read and no string (the id is cut from
-- the member only after them); its record decides the rest, windows and
-- clashes cost a read only when needed. An older library's member
-- without the weekday byte is read for its week with the rest; a bare
-- member (no "\0") has its radius and scope read too. The checks are pure, so
-- their order does not change the answer. Only available volunteers are
-- in the GEO sets (vol_list), so `available` needs no check here.
local function candidate_rank(ctx, m, dist, member)
    local cut = string.find(member, '\0', 1, true)
    local user, scope
    if cut then
        local flag, r1, r2, days = string.byte(member, cut + 1, cut + 4)
        if dist > r1 * 256 + r2 then return nil end
        local at = cut + 4 -- where the scope starts
        if flag >= GEO_MEMBER.DAYS_FLAG then
            -- No weekly slot on the task's weekday and no one-off
            -- windows: fits_weekly and fits_oneoff would both say no.
            if not m.on_day[days] then return nil end
            flag, at = flag - GEO_MEMBER.DAYS_FLAG, at + 1
        end
        if flag == 1 then -- within the city: its scope less "<city>/"
            local want = m.inside[#member - at + 1]
            if not want or string.find(member, want, at, true) ~= at then
                return nil
            end
            scope = true
        elseif flag == 2 then
            scope = string.sub(member, at)
        end
        user = string.sub(member, 1, cut - 1)
        if m.excluded[user] then return nil end
    else
        user = member
        if m.excluded[user] then return nil end
        local v = redis.call('HMGET', m.user_key .. user, UF.radius,
                             UF.region)
        if dist > (v[1] or DEFAULT_RADIUS) + 0 then return nil end
        scope = v[2]
    end
    if not scope then return nil end
    if scope ~= true then
        local covered = m.covered
        if not covered then
            covered = {}
            m.covered = covered
        end
        local ok = covered[scope]
        if ok == nil then
            ok = covers(scope, m.t.region)
            covered[scope] = ok
        end
        if not ok then return nil end
    end
    -- The record (RECORD, 10_volunteer.lua): one HGET and one unpack
    -- into numbers; an older library's profile read from its fields.
    local uk = m.user_key .. user
    local raw = redis.call('HGET', uk, UF.record)
    local given = raw
    if not raw then raw = RECORD.legacy(uk) end
    local max_active, windows, active, offers, rating_sum, rated, last_at,
        recent, weekly_at = RECORD.unpack(raw)
    -- Offers out count against the free places too: one silent volunteer
    -- may not hold more tasks for offer-ttl than it could take.
    if active + offers >= max_active then return nil end
    if not fits_weekly(raw, weekly_at, m.weekday, m.from, m.to)
        and not (windows > 0 and fits_oneoff(ctx, user, m.s, m.e)) then
        return nil
    end
    -- No live assignment, nothing to clash with.
    if active > 0 and clash(ctx, user, m.s, m.e) then return nil end

    local cfg = ctx.cfg
    local rank = dist
    if recent > 0 then
        rank = rank + cfg.rank_fairness_m * decayed(recent, last_at, ctx.now)
    end
    local rating = rated > 0 and rating_sum / rated
        or cfg.rank_default_rating
    return rank + cfg.rank_rating_m * (5 - rating), user, given
end

-- Closes an outstanding offer made to `user` (accepted, declined, lapsed,
-- withdrawn): every offer ends here, so the volunteer's count of offers
-- out (UF.offers) stays in step with make_offer.
-- do_assign does two of the writes itself (`accepted`): the volunteer's
-- count, in the profile write it makes anyway, and, when the task fills,
-- the lease, in unlist_open_task's ZREM of the task's own timer.
local function close_offer(ctx, oid, user, status, accepted, lease_left)
    local ok = key(ctx, 'offer', oid)
    redis.call('HSET', ok, 'status', status)
    redis.call('EXPIRE', ok, ctx.cfg.offer_keep_arg)
    if not lease_left then redis.call('ZREM', key(ctx, 'leases'), oid) end
    if not accepted then
        local uk = key(ctx, 'user', user)
        local raw, legacy = RECORD.read(uk)
        RECORD.put(uk, RECORD.counted(raw, 0, -1, 0, 0), legacy)
    end
end

-- Offers task t to `user`, `dist` metres from it. The offer is named by
-- its event's id (O<n>, n the event's number): the city's event counter
-- takes it from the block the call holds (next_event_id), no INCR of
-- its own, and the counter only grows, across a failover too (wish_epoch,
-- 92_epoch.lua), so an offer id is never given twice. The event to the
-- volunteer carries that id.
-- `raw`: the volunteer's record as candidate_rank read it in this call
-- (false: read here), its count of offers out moved by one.
-- `timers`: a list the caller ZADDs to {city}:leases itself, with the
-- task's end (create_task: one call), the lease added to it; else nil.
-- `vh`, `vp`: what make_offer answered for the same task in this match
-- (its view packed), or nil.
local make_offer

do
    -- The offer event {task, distance in it, id, at, type, offer_id,
    -- expires_at} is packed from its values, with no table (the view's
    -- and the event's tables and cmsgpack's walk of them cost more), the
    -- task's part once for all the offers of a match. One cmsgpack.pack
    -- of many values makes a string of each and joins them, so the
    -- event's own keys are constants. MessagePack's fixmap header is
    -- 0x80 + its pairs: the event has 6, its first key "task" (fixstr
    -- 0xa0 + 4); the task has 13 with `distance` (14 with project_id):
    -- the fields of task_view's coarse view, which test_matching keeps
    -- the same (test_offer_task_is_the_coarse_view).
    local EV_TASK, VIEW, VIEW_PROJECT = '\134\164task', '\141', '\142'
    -- The other keys packed (fixstr: 0xa0 + length), "id" with the
    -- header of its 16-byte value, "type" with its value "offer".
    local K_DISTANCE, K_ID, K_AT = '\168distance', '\162id\176', '\162at'
    local K_TYPE_OFFER_ID = '\164type\165offer\168offer_id'
    local K_EXPIRES = '\170expires_at'

    -- The task's map header and its pairs less the last (distance),
    -- packed: the same for every offer of a match. Numbers through
    -- task_view's cache (task_num): the accept's views find them there.
    local function packed_view(t)
        local num = task_num
        local lon, lat = coarse(num(t.lon), num(t.lat))
        local v = cmsgpack.pack('task_id', t.id, 'kind', t.kind,
                                'title', t.title, 'skill', t.skill,
                                'region', t.region, 'start', num(t.start),
                                'end', num(t['end']), 'status', t.status,
                                'quantity', num(t.quantity),
                                'filled', num(t.filled),
                                'lon', lon, 'lat', lat)
        if t.project then
            return VIEW_PROJECT, v .. cmsgpack.pack('project_id', t.project)
        end
        return VIEW, v
    end

    function make_offer(ctx, t, user, dist, raw, timers, vh, vp)
        local eid, n = next_event_id(ctx)
        local oid = string.format('O%d', n)
        local uk, legacy = key(ctx, 'user', user), false
        if not raw then raw, legacy = RECORD.read(uk) end
        RECORD.put(uk, RECORD.counted(raw, 0, 1, 0, 0), legacy)
        local expires = ctx.now + ctx.cfg.offer_ttl
        -- Formatted once by "%d": a number passed to redis.call is
        -- formatted with "%.17g" for each command.
        local expires_arg = string.format('%d', expires)
        redis.call('HSET', key(ctx, 'offer', oid), 'task', t.id, 'vol', user,
                   'expires', expires_arg, 'status', 'offered')
        if timers then
            timers[#timers + 1] = expires_arg
            timers[#timers + 1] = oid
        else
            redis.call('ZADD', key(ctx, 'leases'), expires_arg, oid)
        end
        redis.call('HSET', key(ctx, 'task', t.id, 'offers'), user, oid)
        rstat(ctx, t, 'offers_sent')
        if watching.any(ctx, t.region) then
            queue_event(ctx, t, 'offered', {volunteer_id = user})
        end
        if not vh then vh, vp = packed_view(t) end
        -- The task's last pair, then the event's other five; keys and the
        -- event id (16 bytes) need no packing.
        local pack = cmsgpack.pack
        push_event(ctx, user, eid .. EV_TASK .. vh .. vp .. K_DISTANCE
                   .. pack(round_to(dist, 100)) .. K_ID .. eid .. K_AT
                   .. pack(ctx.now) .. K_TYPE_OFFER_ID .. pack(oid)
                   .. K_EXPIRES .. pack(expires), 'offer', eid)
        return vh, vp
    end
end

-- Withdraws every outstanding offer of a task, telling each volunteer.
-- A task with none (its last offer accepted: the usual fill) has no
-- offers hash, and nothing to delete.
local function withdraw_offers(ctx, t, reason)
    local ok = key(ctx, 'task', t.id, 'offers')
    local flat = redis.call('HGETALL', ok)
    if #flat == 0 then return end
    for i = 1, #flat, 2 do
        close_offer(ctx, flat[i + 1], flat[i], 'withdrawn')
        emit(ctx, flat[i], {type = 'offer_withdrawn', offer_id = flat[i + 1],
                            reason = reason})
    end
    redis.call('DEL', ok)
end

-- Takes an open task off the listings. Its end is in the timers
-- ({city}:leases) for a task made by this library (`_rc` 2), in
-- {city}:open_by_end for one from before, whose end stays there: each
-- task's end is in one place, so nothing is written or removed twice
-- (list_open_task). `t` may be {id, skill} only (a task whose hash is
-- gone): then both lose it. `offered`: the id of an offer of it still
-- out (the one being accepted, whose lease close_offer left): it leaves
-- the timers with the task's end, and the task is not in
-- {city}:unmatched: match_task lists a task there only when it has no
-- offer out, and takes it out whenever it makes one.
local function unlist_open_task(ctx, t, offered)
    redis.call('ZREM', key(ctx, 'geo', 'task', t.skill), t.id)
    if t.status and t._rc == '2' then
        if offered then
            redis.call('ZREM', key(ctx, 'leases'), t.id, offered)
        else
            redis.call('ZREM', key(ctx, 'leases'), t.id)
        end
    elseif t.status then
        redis.call('ZREM', key(ctx, 'open_by_end'), t.id)
        if offered then redis.call('ZREM', key(ctx, 'leases'), offered) end
    else
        redis.call('ZREM', key(ctx, 'leases'), t.id)
        redis.call('ZREM', key(ctx, 'open_by_end'), t.id)
    end
    if not offered then redis.call('ZREM', key(ctx, 'unmatched'), t.id) end
end

-- Offers an open task to the best-ranked fitting volunteers, as many as
-- its free places times offer-fanout, less the offers already out.
-- `fresh`: the task was made in this call, so it has no offers, no
-- exclusions and is not listed as unmatched: nothing to read; then
-- `timers` is make_offer's (the leases, for the caller's ZADD).
--
-- The work is bounded whatever the city's size: the first radius comes
-- from the density of volunteers with the skill around the task (so the
-- first GEOSEARCH returns about match_k people), and the search widens
-- for at most match_rounds rounds, match_max_examined candidates and
-- match_max_radius metres. Returns the number of offers made.
local function match_task(ctx, t, fresh, timers)
    if t.status ~= 'open' then return 0 end
    local cfg = ctx.cfg
    local tk = key(ctx, 'task', t.id)
    local out = 0
    if not fresh then out = redis.call('HLEN', tk .. ':offers') end
    -- Places a team order holds (`held`, 25_teams.lua) are not offered.
    local want = (t.quantity - t.filled - (t.held or 0)) * cfg.offer_fanout
        - out
    if want <= 0 then return 0 end

    local lat = t.lat + 0
    local listed = (redis.call('HGET', key(ctx, 'dens', t.skill),
                               cell_of(t.lon + 0, lat)) or 0) + 0
    local r = cfg.match_first_radius
    if listed > 0 then
        r = math.sqrt(cfg.match_k * cell_area(lat) / (math.pi * listed))
    end
    r = math.min(math.max(r, cfg.match_min_radius), cfg.match_max_radius)

    local geo = key(ctx, 'geo', 'vol', t.skill)
    local m = match_context(ctx, t, fresh and NOBODY or task_excluded(ctx, t))
    -- Candidates come nearest first, round after round (a later round
    -- only adds people further out), and a rank is never below the
    -- distance (fairness and rating only add metres). So once `want`
    -- fits rank at or below the distance of the next candidate, nobody
    -- further can displace them: stop there. Same choice, fewer reads.
    -- The count goes to GEOSEARCH as a string: the first round's made
    -- once per settings, a wider one by "%d" (not "%.17g").
    local count, count_arg = cfg.match_k, cfg.match_k_arg
    -- Fits in one array in rank order, four slots each (rank, distance,
    -- id, record as read: make_offer's count of offers out moves in it
    -- with no read): not a table each. `seen` keeps each member's distance: a
    -- later round returns the earlier rows again, not parsed twice.
    local seen, examined, nfit, fits = {}, 0, 0, {}
    local settled = false
    for _ = 1, cfg.match_rounds do
        local found = redis.call('GEOSEARCH', geo, 'FROMLONLAT', t.lon, t.lat,
                                 'BYRADIUS', r, 'm', 'ASC', 'COUNT', count_arg,
                                 'WITHDIST')
        for i = 1, #found do
            local row = found[i]
            local member = row[1]
            local dist = seen[member]
            local new = not dist
            if new then dist = row[2] + 0 end
            if nfit >= want and fits[4 * want - 3] <= dist then
                settled = true
                break
            end
            -- Seen by member: a volunteer is listed under one member
            -- (vol_unlist takes out its bare id and its old member).
            if new then
                seen[member] = dist
                examined = examined + 1
                local rank, user, raw = candidate_rank(ctx, m, dist, member)
                if rank then
                    -- Kept in rank order (an insertion: fits stay few).
                    local i = 4 * nfit
                    while i >= 4 and fits[i - 3] > rank do
                        fits[i + 1], fits[i + 2], fits[i + 3], fits[i + 4] =
                            fits[i - 3], fits[i - 2], fits[i - 1], fits[i]
                        i = i - 4
                    end
                    fits[i + 1], fits[i + 2], fits[i + 3], fits[i + 4] =
                        rank, dist, user, raw
                    nfit = nfit + 1
                end
            end
        end
        if settled or nfit >= want
            or examined >= cfg.match_max_examined then
            break
        end
        if #found < count then
            -- Everyone inside r has been seen: widen.
            if r >= cfg.match_max_radius then break end
            r = math.min(r * 2, cfg.match_max_radius)
        else
            count = count + cfg.match_k
            count_arg = string.format('%d', count)
        end
    end

    local made = math.min(want, nfit)
    local vh, vp
    for i = 4, 4 * made, 4 do
        vh, vp = make_offer(ctx, t, fits[i - 1], fits[i - 2], fits[i], timers,
                            vh, vp)
    end

    if out + made == 0 then
        redis.call('ZADD', key(ctx, 'unmatched'),
                   ctx.now + cfg.rematch_interval, t.id)
    elseif not fresh then
        redis.call('ZREM', key(ctx, 'unmatched'), t.id)
    end
    return made
end

-- Puts an open task where volunteers (task.nearby) and the sweeper
-- (expiry: its end among the timers, or in open_by_end for a task from
-- before, as unlist_open_task says) find it. `timers`: leases of its
-- offers, score and member pairs, written with its end (nil: none): a
-- post's end and its offers' leases are one ZADD (create_task).
local function list_open_task(ctx, t, timers)
    redis.call('GEOADD', key(ctx, 'geo', 'task', t.skill), t.lon, t.lat,
               t.id)
    redis.call('ZADD', key(ctx, t._rc == '2' and 'leases' or 'open_by_end'),
               t['end'], t.id, unpack(timers or NOBODY))
end

-- Opens a task waiting for review and offers it; `change` names it in
-- the queue.
local function open_task(ctx, t, change)
    t.opened = ctx.now
    redis.call('HSET', key(ctx, 'task', t.id), 'opened', ctx.now_arg)
    set_status(ctx, t, 'open', change)
    list_open_task(ctx, t)
    match_task(ctx, t)
end

-- Raises CONFLICT unless the volunteer can take the task now: the task is
-- open with a free place, the volunteer is not on it yet, and nothing it
-- is assigned to overlaps. With check_load, also below its max_active;
-- then returns what do_assign reads of the volunteer (its `v`: record,
-- name, and true when the record replaces an older library's fields), so
-- that an accept or a claim reads the profile once. `offered`: the volunteer
-- holds an outstanding offer of the task (offer.accept), so it is not on
-- it and no read asks: offers go only to volunteers not in the task's
-- :asg (task_excluded), and do_assign, the one place that puts a
-- volunteer on a task, closes its offer of the task whenever one is out.
local function check_assignable(ctx, t, user, check_load, offered)
    if t.status ~= 'open' then
        fail(CONFLICT, 'task ' .. t.id .. ' is ' .. t.status)
    end
    -- A place a team order holds (`held`, 25_teams.lua) is taken: its
    -- team's fill counts it free by lowering t.held first.
    if tonumber(t.filled) + (tonumber(t.held) or 0)
        >= tonumber(t.quantity) then
        fail(CONFLICT, 'task ' .. t.id .. ' is full')
    end
    if not offered then
        local st = redis.call('HGET', key(ctx, 'task', t.id, 'asg'), user)
        if st and LIVE[st] then
            fail(CONFLICT, user .. ' is already on task ' .. t.id)
        end
    end
    local other = clash(ctx, user, tonumber(t.start), tonumber(t['end']))
    if other then
        fail(CONFLICT, 'the time clashes with task ' .. other)
    end
    if check_load then
        local v = RECORD.read_named(key(ctx, 'user', user))
        local max_active, _, active = RECORD.unpack(v[1])
        if active >= max_active then
            fail(CONFLICT, 'already at max_active assignments')
        end
        return v
    end
end

local function assignment_view(t, user, status, at, view)
    return {task_id = t.id, volunteer_id = user, status = status,
            assigned_at = at, task = view or task_view(t, true)}
end

-- Puts the volunteer on the task (checks done by check_assignable). Fills
-- the task when this was its last place: other offers are withdrawn.
-- Returns the assignment view (assignment_view), packed, with the
-- fields of `more` (a map, or nil) added. `v`: what check_assignable
-- returned, when it read the volunteer (nothing wrote it since); else
-- read here. `own`: the volunteer's outstanding offer of the task when
-- the caller holds it (offer.accept: one offer a volunteer and task,
-- made once); else looked up.
local do_assign

do
    -- The two `assigned` events and the answer are packed from their
    -- values around the task's view packed once, with no table (the
    -- event tables, cmsgpack's walk of them and pack_with's splice cost
    -- more): one cmsgpack.pack of many values packs each and joins them.
    -- MessagePack's fixmap header is 0x80 + its pairs: the volunteer's
    -- event has 4 (type, id, at, task), the requester's 5 (and
    -- volunteer, a map of 3), the answer 5 (task_id, volunteer_id,
    -- status, assigned_at, task); "task" is fixstr 0xa0 + 4.
    local MAP3, MAP4, MAP5, K_TASK = '\131', '\132', '\133', '\164task'

    function do_assign(ctx, t, user, v, own, more)
        local tk = key(ctx, 'task', t.id)
        -- One read for the fairness count, the load, and what the requester
        -- learns of its volunteer (id, name, rating; never where it is).
        local uk = key(ctx, 'user', user)
        v = v or RECORD.read_named(uk)
        local name = v[2] or user
        -- The name goes beside the status ("<vol>:n", see ASG_NAME), so that
        -- every view of who is on the task (task_assignees) is one read.
        redis.call('HSET', tk .. ':asg', user, 'assigned', user .. ':at',
                   ctx.now_arg, user .. ':n', ASG_NAME .. name)
        -- `filled` as read in this call plus one (nothing else writes it):
        -- written below, with the status when this fills the task.
        local filled = tonumber(t.filled) + 1
        t.filled = filled
        redis.call('ZADD', key(ctx, 'user', user, 'asg'), t.start,
                   t.id .. '|' .. t['end'])
        local mine = key(ctx, 'user', user, 'mine')
        if redis.call('ZADD', mine, ctx.now_arg, t.id) == 1 then
            -- Bounds as strings ("%d"): a number passed to redis.call is
            -- formatted by printf's float path ("%.17g").
            redis.call('ZREMRANGEBYRANK', mine, '0',
                       string.format('%d', -MINE_KEEP - 1))
        end
        own = own or redis.call('HGET', tk .. ':offers', user)
        local fills = filled >= t.quantity + 0
        local filled_arg = string.format('%d', filled)
        -- The record in one write; the offer accepted leaves its count of
        -- offers out here (close_offer is told).
        local max_active, windows, active, offers, rating_sum, rated,
            last_at, recent = RECORD.unpack(v[1])
        RECORD.put(uk, RECORD.with(v[1], max_active, windows, active + 1,
                                   own and offers - 1 or offers, rating_sum,
                                   rated, ctx.now,
                                   decayed(recent, last_at, ctx.now) + 1),
                   v[3])

        if own then
            close_offer(ctx, own, user, 'accepted', true, fills)
            redis.call('HDEL', tk .. ':offers', user)
            rstat(ctx, t, 'offers_accepted')
        end
        note_match_time(ctx, t)

        if fills then
            unlist_open_task(ctx, t, own)
            redis.call('ZADD', key(ctx, 'filled_by_end'), t['end'], t.id)
            withdraw_offers(ctx, t, 'filled')
            set_status(ctx, t, 'filled', 'assigned', {volunteer_id = user},
                       'filled', filled_arg)
        else
            redis.call('HSET', tk, 'filled', filled_arg)
            queue_event(ctx, t, 'assigned', {volunteer_id = user})
        end
        -- The task as it now stands, built and packed once for both events
        -- and the answer.
        local view = cmsgpack.pack(task_view(t, true))
        local pack, now = cmsgpack.pack, ctx.now
        local eid = next_event_id(ctx)
        push_event(ctx, user, eid .. MAP4 .. pack('type', 'assigned', 'id',
                                                  eid, 'at', now, 'task')
                   .. view, 'assigned', eid)
        -- What the requester learns of its volunteer: id, name, rating
        -- (never where it is).
        eid = next_event_id(ctx)
        push_event(ctx, t.requester, eid .. MAP5
                   .. pack('type', 'assigned', 'id', eid, 'at', now,
                           'volunteer')
                   .. MAP3 .. pack('id', user, 'name', name, 'rating',
                                   rated > 0 and rating_sum / rated or 0)
                   .. K_TASK .. view, 'assigned', eid)
        if more then
            local out = {task_id = t.id, volunteer_id = user,
                         status = 'assigned', assigned_at = now}
            for k, x in pairs(more) do out[k] = x end
            return pack_with(out, 'task', view)
        end
        return MAP5 .. pack('task_id', t.id, 'volunteer_id', user, 'status',
                            'assigned', 'assigned_at', now) .. K_TASK .. view
    end
end

-- Marks an offer declined or lapsed and offers the task to the next.
local function drop_offer(ctx, oid, o, status)
    close_offer(ctx, oid, o.vol, status)
    local tk = key(ctx, 'task', o.task)
    redis.call('HDEL', tk .. ':offers', o.vol)
    redis.call('SADD', tk .. ':declined', o.vol)
    local t = hgetall(tk)
    if t then
        rstat(ctx, t, 'offers_' .. status)
        queue_event(ctx, t, status, {volunteer_id = o.vol})
        match_task(ctx, t)
    end
end

-- Frees the volunteer's time and its max_active place once its
-- assignment no longer holds one (HOLD).
local function release_volunteer(ctx, t, user)
    redis.call('ZREM', key(ctx, 'user', user, 'asg'), t.id .. '|' .. t['end'])
    local uk = key(ctx, 'user', user)
    local raw, legacy = RECORD.read(uk)
    RECORD.put(uk, RECORD.counted(raw, -1, 0, 0, 0), legacy)
end

-- Ends the assignments of a task that is over (its end passed, open or
-- filled): each one still holding a place (HOLD) becomes `finished`,
-- awaiting confirmation, and its place is freed; a volunteer still
-- checked in is checked out at the end. Returns the volunteers moved.
local function finish_assignments(ctx, t)
    local ak = key(ctx, 'task', t.id, 'asg')
    local flat = redis.call('HGETALL', ak)
    local moved = {}
    for i = 1, #flat, 2 do
        local user, st = flat[i], flat[i + 1]
        if HOLD[st] then
            redis.call('HSET', ak, user, 'finished')
            if st == 'active' then
                redis.call('HSET', ak, user .. ':out',
                           math.min(ctx.now, tonumber(t['end'])))
            end
            release_volunteer(ctx, t, user)
            moved[#moved + 1] = user
        end
    end
    return moved
end

-- wish_sweep's step for filled tasks whose end has passed: their
-- assignments end (finish_assignments), the requester is told to
-- confirm (task_ended), and the task stays filled until it is done.
-- Handles at most `batch` tasks; returns how many it handled.
local function sweep_ended_filled(ctx, batch)
    local k = key(ctx, 'filled_by_end')
    local ended = redis.call('ZRANGEBYSCORE', k, '-inf', ctx.now, 'LIMIT', 0,
                             batch)
    for _, id in ipairs(ended) do
        local t = hgetall(key(ctx, 'task', id))
        if t and t.status == 'filled' then
            finish_assignments(ctx, t)
            queue_event(ctx, t, 'ended')
            emit(ctx, t.requester, {type = 'task_ended', task_id = id})
        end
        redis.call('ZREM', k, id)
    end
    return #ended
end
