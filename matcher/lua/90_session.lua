-- Uses: context, emit, field_fail, hgetall, key, register, want_str (from
--   00_core.lua); wish_skill_define, wish_skills (from 05_skills.lua); RECORD, split_csv, UF,
--   wish_volunteer_update (from 10_volunteer.lua); set_status, watching
--   (from 15_status.lua); drop_offer, finish_assignments, LIVE, match_task,
--   sweep_ended_filled, unlist_open_task, withdraw_offers (from
--   20_match.lua); teams (from 25_teams.lua); projects (from
--   26_projects.lua); wish_offer_accept,
--   wish_offer_decline, wish_task_assign,
--   wish_task_cancel, wish_task_claim, wish_task_get, wish_task_nearby,
--   wish_task_post, wish_wish_list, wish_wish_review, wish_wish_submit (from
--   30_tasks.lua); service (from 50_service.lua); ledger (from 45_ledger.lua); shop (from 57_shop.lua);
--   accounts (from 60_accounts.lua); notify (from 70_notify.lua); keep (from
--   80_keep.lua); made_once (from 85_once.lua); cert (from
--   47_certificate.lua).
--
-- Session methods, the sweeper, and the registration of every function.

-- me: the caller's profile and, for volunteers, its service record and
-- what offers need (skills, a home, available), so that a client can say
-- why none come.
local function wish_me(keys, args)
    local ctx = context(keys, args)
    local c = ctx.caller
    local uk = key(ctx, 'user', c.user)
    local h = redis.call('HMGET', uk, UF.name, UF.hours, UF.points,
                         UF.record, UF.skills, UF.lon, UF.available)
    local me = {user = c.user, role = c.role, region = c.region,
                name = h[1] or c.user,
                webhook = notify.wanted(ctx, c.user)}
    if c.role == 'volunteer' then
        -- Rating and load from the record (RECORD, 10_volunteer.lua).
        local _, _, active, _, rating_sum, rated =
            RECORD.unpack(h[4] or RECORD.legacy(uk))
        me.hours = tonumber(h[2]) or 0
        me.points = tonumber(h[3]) or 0
        me.balance = ledger.points(ledger.balance(ctx, c.user))
        me.rating = rated > 0 and rating_sum / rated or 0
        me.ratings = rated
        me.active = active
        me.skills = split_csv(h[5])
        me.home = h[6] ~= false and h[6] ~= nil
        me.available = h[7] == '1'
    end
    return cmsgpack.pack(me)
end

-- ack: events up to `upto` are handled; trim them from the inbox.
local function wish_ack(keys, args)
    local ctx = context(keys, args)
    local upto = want_str(ctx.params, 'upto', 1, 16)
    if string.find(upto, '%D') then
        field_fail('upto', 'must be an event id')
    end
    upto = string.rep('0', 16 - #upto) .. upto
    local inbox = key(ctx, 'inbox', ctx.caller.user)
    for _ = 1, ctx.cfg.inbox_max do
        local head = redis.call('LINDEX', inbox, 0)
        if not head or string.sub(head, 1, 16) > upto then break end
        redis.call('LPOP', inbox)
    end
    return cmsgpack.pack(true)
end

-- The due timers ({city}:leases, 20_match.lua: offers O<n> by expiry,
-- open tasks T<n> by end): lapses at most `budget` due offers, each
-- lapsed one going to the next candidate, and gathers at most `budget`
-- tasks whose end passed, for sweep_expiry, which runs after every lapse
-- of the call (lapse before expiry, as when they were two zsets).
-- Returns how many leases it handled, the tasks, and whether it left
-- due timers for the next call.
local function sweep_lapses(ctx, budget)
    local lk = key(ctx, 'leases')
    local due = redis.call('ZRANGEBYSCORE', lk, '-inf', ctx.now, 'LIMIT', 0,
                           2 * budget)
    local lapsed, ended, left = 0, {}, #due == 2 * budget
    for _, m in ipairs(due) do
        if string.byte(m, 1) == 84 then -- "T": a task's end
            if #ended < budget then ended[#ended + 1] = m else left = true end
        elseif lapsed < budget then
            lapsed = lapsed + 1
            local o = hgetall(key(ctx, 'offer', m))
            if o and o.status == 'offered' then
                drop_offer(ctx, m, o, 'lapsed')
            else
                redis.call('ZREM', lk, m)
            end
        else
            left = true
        end
    end
    return lapsed, ended, left
end

-- Expires the open tasks whose end passed: `ended` (from the timers),
-- then those of {city}:open_by_end (tasks made before their ends were
-- timers), at most `budget` in all, telling the requester and the
-- volunteers on them. Returns how many it handled.
local function sweep_expiry(ctx, budget, ended)
    if #ended < budget then
        local old = redis.call('ZRANGEBYSCORE', key(ctx, 'open_by_end'),
                               '-inf', ctx.now, 'LIMIT', 0,
                               budget - #ended)
        for _, id in ipairs(old) do ended[#ended + 1] = id end
    end
    for _, id in ipairs(ended) do
        local t = hgetall(key(ctx, 'task', id))
        if t and t.status == 'open' then
            finish_assignments(ctx, t) -- their places are free again
            set_status(ctx, t, 'expired') -- the queue sees them finished
            withdraw_offers(ctx, t, 'expired')
            local asg = redis.call('HGETALL', key(ctx, 'task', id, 'asg'))
            for i = 1, #asg, 2 do
                if LIVE[asg[i + 1]] then
                    emit(ctx, asg[i], {type = 'task_expired', task_id = id})
                end
            end
            emit(ctx, t.requester, {type = 'task_expired', task_id = id})
        end
        unlist_open_task(ctx, t or {id = id, skill = ''})
    end
    return #ended
end

-- Tries again at most `budget` open tasks nobody fitted whose retry time
-- came (match_task lists them again, rematch-interval on, if still
-- nobody fits). Returns how many it handled.
local function sweep_rematches(ctx, budget)
    local retry = redis.call('ZRANGEBYSCORE', key(ctx, 'unmatched'), '-inf',
                             ctx.now, 'LIMIT', 0, budget)
    for _, id in ipairs(retry) do
        local t = hgetall(key(ctx, 'task', id))
        if t and t.status == 'open' then
            match_task(ctx, t)
        else
            redis.call('ZREM', key(ctx, 'unmatched'), id)
        end
    end
    return #retry
end

-- wish_sweep: run by any wishd every sweep-interval; idempotent. Lapses
-- due offers (offering the next candidate), expires open tasks whose end
-- passed, ends the assignments of filled tasks whose end passed,
-- retries unmatched tasks, gives back the unfilled places of team
-- orders past their deadline, and exports and removes tasks closed
-- task-keep ago (80_keep.lua). Lapses, expiry and ends come first, each with
-- its own budget (sweep_batch): someone was promised their time.
-- Retries come last with a smaller budget of their own
-- (sweep_rematch_batch), so however many tasks nobody fits (a flood of
-- wishes), a call stays short and a due lapse waits for one call at
-- most, never for the retries. `more`: a part was cut at its budget, and
-- the daemon calls again at once.
local function wish_sweep(keys, args)
    local ctx = context(keys, args)
    local cfg = ctx.cfg
    -- A daemon from before the setting passes none: one budget for all.
    local rebatch = cfg.sweep_rematch_batch or cfg.sweep_batch
    local lapsed, ended, left = sweep_lapses(ctx, cfg.sweep_batch)
    local done = {lapsed = lapsed,
                  expired = sweep_expiry(ctx, cfg.sweep_batch, ended),
                  ended = sweep_ended_filled(ctx, cfg.sweep_batch),
                  rematched = sweep_rematches(ctx, rebatch)}
    -- Team orders past their deadline give their unfilled places back
    -- (56_team_orders.lua), with a budget of their own.
    done.released = teams.sweep_holds(ctx, cfg.sweep_batch)
    -- Records that last (80_keep.lua): last, with a budget of its own.
    done.removed, done.archived, done.archive_full =
        keep.sweep(ctx, cfg.sweep_batch)
    -- The upgrade walk indexing tasks closed before the closed index
    -- existed: one step a sweep, paced by sweep-interval rather than
    -- followed at once (nothing is due for task-keep days).
    if cfg.task_keep then
        done.indexed = keep.walk(ctx, keep.WALK_STEP)
    end
    done.more = left or done.lapsed == cfg.sweep_batch
        or done.expired == cfg.sweep_batch or done.ended == cfg.sweep_batch
        or done.rematched == rebatch
        or done.released == cfg.sweep_batch
        or done.removed >= cfg.sweep_batch
        or done.archived >= cfg.sweep_batch
    return cmsgpack.pack(done)
end

local READ_ONLY = {'no-writes'}
local functions = {
    {'wish_me', wish_me, READ_ONLY},
    {'wish_ack', wish_ack},
    {'wish_sweep', wish_sweep},
    {'wish_volunteer_update', wish_volunteer_update},
    {'wish_wish_submit', made_once(wish_wish_submit)},
    {'wish_task_post', made_once(wish_task_post)},
    {'wish_wish_review', wish_wish_review},
    {'wish_task_get', wish_task_get, READ_ONLY},
    {'wish_wish_list', wish_wish_list, READ_ONLY},
    {'wish_task_cancel', wish_task_cancel},
    {'wish_task_claim', wish_task_claim},
    {'wish_task_assign', wish_task_assign},
    {'wish_offer_accept', wish_offer_accept},
    {'wish_offer_decline', wish_offer_decline},
    {'wish_task_nearby', wish_task_nearby, READ_ONLY},
    {'wish_task_mine', service.mine, READ_ONLY},
    {'wish_task_checkin', service.checkin},
    {'wish_task_checkout', service.checkout},
    {'wish_task_confirm', service.confirm},
    {'wish_task_rate', service.rate},
    {'wish_menu_post', made_once(service.menu_post)},
    {'wish_menu_list', service.menu_list, READ_ONLY},
    {'wish_menu_order', made_once(service.menu_order)},
    {'wish_queue_snapshot', service.queue_snapshot},
    {'wish_queue_watching', watching.refresh},
    {'wish_stats', service.stats, READ_ONLY},
    {'wish_board', service.board, READ_ONLY},
    {'wish_skill_define', wish_skill_define},
    {'wish_skills', wish_skills, READ_ONLY},
    {'wish_auth_begin', accounts.auth_begin, READ_ONLY},
    {'wish_auth_finish', accounts.auth_finish},
    {'wish_auth_signup', accounts.auth_signup},
    {'wish_auth_reset', accounts.auth_reset},
    {'wish_auth_session', accounts.auth_session, READ_ONLY},
    {'wish_auth_logout', accounts.auth_logout},
    {'wish_auth_logout_all', accounts.auth_logout_all},
    {'wish_auth_refresh', accounts.auth_refresh, READ_ONLY},
    {'wish_account_me', accounts.account_me, READ_ONLY},
    {'wish_account_update', accounts.account_update},
    {'wish_account_invite', accounts.account_invite},
    {'wish_account_list', accounts.account_list, READ_ONLY},
    {'wish_account_review', accounts.account_review},
    {'wish_account_disable', accounts.account_disable},
    {'wish_account_enable', accounts.account_enable},
    {'wish_account_reset', accounts.account_reset},
    {'wish_signup_open', accounts.signup_open},
    {'wish_auth_feed', accounts.auth_feed, READ_ONLY},
    {'wish_notify_set', notify.set},
    {'wish_notify_seen', notify.seen},
    {'wish_notify_claim', notify.claim},
    {'wish_notify_done', notify.done},
    -- points: the ledger and the credit supermarket (issue 18)
    {'wish_ledger_list', ledger.list, READ_ONLY},
    {'wish_shop_item_post', made_once(shop.post)},
    {'wish_shop_item_edit', shop.edit},
    {'wish_shop_list', shop.list, READ_ONLY},
    {'wish_shop_redeem', made_once(shop.redeem)},
    {'wish_shop_collect', shop.collect},
    {'wish_shop_refund', shop.refund},
    {'wish_shop_receipts', shop.receipts, READ_ONLY},
    -- teams (55_teams.lua, 56_team_orders.lua)
    {'wish_team_create', made_once(teams.create)},
    {'wish_team_leader', teams.leader},
    {'wish_team_invite', teams.invite},
    {'wish_team_answer', teams.answer},
    {'wish_team_remove', teams.remove},
    {'wish_team_fill', teams.fill},
    {'wish_team_list', teams.list, READ_ONLY},
    {'wish_team_get', teams.get, READ_ONLY},
    -- projects and caring partners (26_projects.lua, 58_projects.lua)
    {'wish_project_create', made_once(projects.create)},
    {'wish_project_get', projects.get, READ_ONLY},
    {'wish_project_list', projects.list, READ_ONLY},
    {'wish_project_adopt', projects.adopt},
    {'wish_project_team', projects.team},
    {'wish_project_link', projects.link_task},
    {'wish_project_report', projects.report, READ_ONLY},
    {'wish_project_adoption', projects.adoption, READ_ONLY},
    -- held team places go back (56_team_orders.lua)
    {'wish_team_release', teams.release},
    -- records that last: the archive of removed tasks (80_keep.lua)
    {'wish_archive_read', keep.read, READ_ONLY},
    {'wish_archive_ack', keep.ack},
    -- service certificates (47_certificate.lua): wishd's own calls
    {'wish_cert_issue', cert.issue},
    {'wish_cert_verify', cert.verify, READ_ONLY},
}
-- The load-time environment has no ipairs: a plain loop.
for i = 1, #functions do
    local f = functions[i]
    register(f[1], f[2], f[3])
end
