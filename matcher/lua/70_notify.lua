-- Uses: context, field_fail, key, TIME_MAX, want_bool, want_num, want_str,
--   want_table, want_user_id (from 00_core.lua); accounts (from
--   60_accounts.lua).
--
-- Notifications to closed apps (docs/protocol.md): the queue of events
-- that wishd POSTs to a city's own SMS or WeChat gateway (setting
-- notify-webhook; server/notify.c). emit() (00_core.lua) fills it when
-- the city has a gateway; wishd takes off it what it pushed live
-- (notify_seen), takes what fell due (notify_claim), and says how each
-- POST went (notify_done). Every step is one call, so any number of
-- daemons share a city's queue and each event is POSTed by one at a time.
--
-- {city}:notify:due      ZSET  "<user>\n<event id>" by the Unix second
--                              it falls due
-- {city}:notify:lease    ZSET  the same, taken by a wishd, by when its
--                              lease ends (a wishd that dies mid-POST)
-- {city}:notify:tries    HASH  member -> failed POSTs of it so far
-- {city}:notify:off      SET   users who said notify.set {webhook: false}
-- {city}:notify:dropped  HASH  full: dropped past notify_queue_max;
--                              retries: dropped after notify_retry_max
--
-- Every function is a field of one table, as in 60_accounts.lua: the
-- chunk's locals are few (tests/lua_check.py).

local notify = {
    SEEN_MAX = 512,   -- items one notify_seen takes
    CLAIM_MAX = 1000, -- events one notify_claim takes
    LEASE_MAX = 3600, -- seconds
}

-- The keys of the queue.
function notify.keys(ctx)
    return key(ctx, 'notify', 'due'), key(ctx, 'notify', 'lease'),
        key(ctx, 'notify', 'tries')
end

-- A 16-digit event id of params field `name`.
function notify.want_event_id(p, name)
    local id = want_str(p, name, 16, 16)
    if string.find(id, '%D') then field_fail(name, 'must be an event id') end
    return id
end

-- The inbox entry of event `id` (16 digits) in the list `inbox`, or nil
-- when it is gone (acked, trimmed, expired). Ids increase along the
-- list, so a binary search with LINDEX: about log2(inbox_max) reads,
-- however full the inbox of a user whose app stays closed.
function notify.find(inbox, id)
    local lo, hi = 0, redis.call('LLEN', inbox) - 1
    while lo <= hi do
        local mid = math.floor((lo + hi) / 2)
        local e = redis.call('LINDEX', inbox, mid)
        local eid = string.sub(e, 1, 16)
        if eid == id then return e end
        if eid < id then lo = mid + 1 else hi = mid - 1 end
    end
    return nil
end

-- A failed try of member m, whose lease is gone already: due again at
-- `at`, or dropped and counted after notify_retry_max tries. Returns the
-- state ('retry' or 'dropped') and the tries so far.
function notify.failed(ctx, m, at)
    local due, _, tries = notify.keys(ctx)
    local n = redis.call('HINCRBY', tries, m, 1)
    if n >= ctx.cfg.notify_retry_max then
        redis.call('HDEL', tries, m)
        redis.call('HINCRBY', key(ctx, 'notify', 'dropped'), 'retries', 1)
        return 'dropped', n
    end
    redis.call('ZADD', due, at, m)
    return 'retry', n
end

-- notify_seen {items = [[user, event id], ...]}: these were pushed to a
-- live connection of their user; nobody need be told of them again.
-- Whatever is leased already is let go too: its POST is on its way, and
-- a failure of it will not be retried.
function notify.seen(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'system')
    local items = want_table(ctx.params, 'items', notify.SEEN_MAX)
    local ms = {}
    for i = 1, #items do
        local it = items[i]
        if type(it) ~= 'table' then
            field_fail('items', 'each must be [user, event id]')
        end
        ms[i] = want_user_id({items = it[1]}, 'items') .. '\n'
            .. notify.want_event_id({items = it[2]}, 'items')
    end
    if #ms == 0 then return cmsgpack.pack({removed = 0}) end
    local due, lease, tries = notify.keys(ctx)
    local n = redis.call('ZREM', due, unpack(ms))
    n = n + redis.call('ZREM', lease, unpack(ms))
    redis.call('HDEL', tries, unpack(ms))
    return cmsgpack.pack({removed = n})
end

-- notify_claim {max, lease}: takes up to `max` due events for this
-- wishd to POST, each leased for `lease` seconds, and returns {items =
-- [[user, event id, inbox entry, attempt], ...], lease_until, more}.
-- An inbox entry is the id and the event map in MessagePack, as in the
-- inbox. Events whose user opted out, or that are no longer in the
-- inbox (acked), are dropped on the way. Leases that ran out first go
-- back to due, as a failed try: their wishd died mid-POST or lost
-- Redis, and an event that kills every wishd posting it must not circle
-- forever. Work: at most `max` lapsed leases and `max` due events, each
-- a binary search of one inbox.
function notify.claim(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'system')
    local max = want_num(ctx.params, 'max', 1, notify.CLAIM_MAX, false,
                         true)
    local secs = want_num(ctx.params, 'lease', 1, notify.LEASE_MAX, false,
                          true)
    local due, lease, tries = notify.keys(ctx)
    local lapsed = redis.call('ZRANGEBYSCORE', lease, '-inf', ctx.now,
                              'LIMIT', 0, max)
    for _, m in ipairs(lapsed) do
        redis.call('ZREM', lease, m)
        notify.failed(ctx, m, ctx.now)
    end
    local until_ = ctx.now + secs
    local ms = redis.call('ZRANGEBYSCORE', due, '-inf', ctx.now, 'LIMIT', 0,
                          max)
    local out, off = {}, {}
    for _, m in ipairs(ms) do
        redis.call('ZREM', due, m)
        local nl = string.find(m, '\n', 1, true)
        local user = string.sub(m, 1, nl - 1)
        if off[user] == nil then
            off[user] = redis.call('SISMEMBER', key(ctx, 'notify', 'off'),
                                   user) == 1
        end
        local entry = not off[user] and notify.find(key(ctx, 'inbox', user),
                                                    string.sub(m, nl + 1))
        if entry then
            redis.call('ZADD', lease, until_, m)
            local tried = tonumber(redis.call('HGET', tries, m)) or 0
            out[#out + 1] = {user, string.sub(m, nl + 1), entry, tried + 1}
        else
            redis.call('HDEL', tries, m)
        end
    end
    return cmsgpack.pack({items = out, lease_until = until_,
                          more = #ms == max})
end

-- notify_done {user, id, lease_until, ok, [retry_at]}: how the POST of a
-- claimed event went. ok: it is forgotten. Not ok: due again at retry_at
-- (default now), or dropped after notify_retry_max tries. Only while the
-- lease is the one that claim gave (lease_until): a POST that outlived
-- its lease may have been claimed by another wishd since, whose lease
-- this must not touch. Returns {state = delivered | retry | dropped |
-- stale, tries, user, id}.
function notify.done(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'system')
    local p = ctx.params
    local m = want_user_id(p, 'user') .. '\n'
        .. notify.want_event_id(p, 'id')
    local until_ = want_num(p, 'lease_until', 0, TIME_MAX, false, true)
    local ok = want_bool(p, 'ok')
    local at = want_num(p, 'retry_at', 0, TIME_MAX, true, true) or ctx.now
    local _, lease, tries = notify.keys(ctx)
    local r = {state = 'stale', tries = 0, user = p.user, id = p.id}
    if tonumber(redis.call('ZSCORE', lease, m)) ~= until_ then
        return cmsgpack.pack(r)
    end
    redis.call('ZREM', lease, m)
    if ok then
        redis.call('HDEL', tries, m)
        r.state = 'delivered'
    else
        r.state, r.tries = notify.failed(ctx, m, at)
    end
    return cmsgpack.pack(r)
end

-- notify.set {webhook}: whether the gateway may tell the caller of what
-- its apps missed. Only opting out is stored: a set of those users.
-- What is queued already is skipped when it falls due.
function notify.set(keys, args)
    local ctx = context(keys, args)
    local on = want_bool(ctx.params, 'webhook')
    redis.call(on and 'SREM' or 'SADD', key(ctx, 'notify', 'off'),
               ctx.caller.user)
    return cmsgpack.pack({webhook = on})
end

-- Whether user lets the gateway tell them (for `me`).
function notify.wanted(ctx, user)
    return redis.call('SISMEMBER', key(ctx, 'notify', 'off'), user) == 0
end
