-- Uses: city_date, CONFLICT, context, fail, key, want_num, want_role (from
--   00_core.lua); UF (from 10_volunteer.lua).
--
-- The points ledger of each volunteer and its compact service record
-- (docs/protocol.md, "Points, the ledger and the credit supermarket").
--
-- Every change of a volunteer's points is one ledger entry, appended in
-- the same call that makes the change, and the balance moves with it:
-- the balance is the ledger's sum, by construction, and wish_check
-- (95_check.lua) proves it. Amounts are whole hundredths of a point
-- ("cents"): points are credited rounded to 0.01, and integers add up
-- exactly where HINCRBYFLOAT's decimals would drift.
--
-- {city}:user:<id>         field UF.balance: the balance in cents
-- {city}:user:<id>:ledger  LIST  "<at>|<kind>|<cents>|<ref>", oldest
--                                first; entry n is at index n - 1.
--                                kind: c (a confirmation credit, ref its
--                                task), d (a redemption, ref its
--                                receipt, cents negative), f (a refund,
--                                ref its receipt), o (the opening: the
--                                points credited before the ledger
--                                began, ref "-"). About 20 bytes each.
-- {city}:user:<id>:svc     LIST  "<task>|<yyyymmdd>|<hours>|<points>|
--                                <stars sum>/<ratings>|<title>", one per
--                                confirmed service, oldest first: what
--                                certificates read once the task itself
--                                is gone. The rating part is empty until
--                                rated; the title is cut to SVC_TITLE
--                                bytes. About 40-90 bytes each.
--
-- A list stays one compact listpack chain however long it grows; a hash
-- or sorted set of task ids would turn into a hashtable past 128 entries
-- and cost about 60 bytes more an entry. Every function is a field of
-- one table: the chunk's locals are few (tests/lua_check.py).

local ledger = {
    PAGE_MAX = 100,  -- entries one ledger.list returns
    SVC_TITLE = 64,  -- bytes of a task's title kept in the record
    SVC_RATE_SCAN = 32, -- latest records task.rate looks through
    KIND = {c = 'confirm', d = 'redeem', f = 'refund', o = 'opening'},
}

-- Points as the protocol shows them (2.25) from cents (225).
function ledger.points(cents)
    return cents / 100
end

-- Cents of a number of points rounded to 0.01 (points_of's result).
function ledger.cents(points)
    return math.floor(points * 100 + 0.5)
end

-- The volunteer's balance in cents. Before its ledger's first entry it
-- is what ledger.open will write: the points credited before the ledger
-- began (a city that ran an older wishd), so `me` and ledger.list show
-- the same balance before and after.
function ledger.balance(ctx, user)
    local v = redis.call('HMGET', key(ctx, 'user', user), UF.balance,
                         UF.points)
    return tonumber(v[1]) or ledger.cents(tonumber(v[2]) or 0)
end

-- Opens the ledger before its first write: the points credited before
-- it began become entry 1 (kind o) and the balance, so that the balance
-- stays the ledger's sum (95_check.lua) for volunteers who served
-- before. Once the balance field exists this is one read.
function ledger.open(ctx, user)
    local uk = key(ctx, 'user', user)
    local v = redis.call('HMGET', uk, UF.balance, UF.points)
    if v[1] then return end
    local cents = ledger.cents(tonumber(v[2]) or 0)
    if cents > 0 then
        redis.call('RPUSH', key(ctx, 'user', user, 'ledger'),
                   ctx.now .. '|o|' .. cents .. '|-')
    end
    redis.call('HSET', uk, UF.balance, cents)
end

-- Appends one entry of `cents` (negative: a debit) of kind c, d or f
-- about `ref` (a task or receipt id) and moves the balance by it, after
-- opening the ledger (ledger.open). Returns the new balance in cents. A
-- write: the caller has checked that a debit is covered (the balance
-- never goes below 0).
function ledger.add(ctx, user, kind, cents, ref)
    ledger.open(ctx, user)
    redis.call('RPUSH', key(ctx, 'user', user, 'ledger'),
               ctx.now .. '|' .. kind .. '|' .. cents .. '|' .. ref)
    return redis.call('HINCRBY', key(ctx, 'user', user), UF.balance, cents)
end

-- s cut to at most n bytes, never inside a UTF-8 character (stock
-- MessagePack clients refuse a str that is not valid UTF-8).
function ledger.cut(s, n)
    if #s <= n then return s end
    local i = n + 1
    -- Back off continuation bytes: byte i starts the first character
    -- left out.
    while i > 1 and string.byte(s, i) >= 0x80
        and string.byte(s, i) < 0xC0 do
        i = i - 1
    end
    return string.sub(s, 1, i - 1)
end

-- task.confirm's credit: a ledger entry (when it earns any points) and
-- the compact service record, dated by the task's start in the city's
-- calendar. A write; every check is the caller's, and it comes before
-- the caller adds the points to the profile's total (ledger.open reads
-- that total as what was credited before the ledger).
function ledger.confirmed(ctx, user, t, hours, points)
    local cents = ledger.cents(points)
    if cents > 0 then ledger.add(ctx, user, 'c', cents, t.id) end
    local y, m, d = city_date(ctx, tonumber(t.start))
    redis.call('RPUSH', key(ctx, 'user', user, 'svc'),
               string.format('%s|%04d%02d%02d|%s|%s||%s', t.id, y, m, d,
                             tostring(hours), tostring(points),
                             ledger.cut(t.title, ledger.SVC_TITLE)))
end

-- task.rate's stars into the service record of that task: among the
-- SVC_RATE_SCAN latest records (a rating follows its confirmation by
-- days, not by dozens of services; an older one is left unrated there).
function ledger.rated(ctx, user, task_id, stars)
    local k = key(ctx, 'user', user, 'svc')
    local recs = redis.call('LRANGE', k, -ledger.SVC_RATE_SCAN, -1)
    local head = task_id .. '|'
    for i = #recs, 1, -1 do
        local r = recs[i]
        if string.sub(r, 1, #head) == head then
            local pre, sum, n, title = string.match(
                r, '^([^|]*|[^|]*|[^|]*|[^|]*|)(%d*)/?(%d*)|(.*)$')
            if pre then
                sum, n = (tonumber(sum) or 0) + stars, (tonumber(n) or 0) + 1
                redis.call('LSET', k, i - #recs - 1,
                           pre .. sum .. '/' .. n .. '|' .. title)
            end
            return
        end
    end
end

-- One entry as ledger.list shows it; n is its number (1 the oldest).
function ledger.view(n, e)
    local at, kind, cents, ref = string.match(e, '^(%d+)|(%a)|(%-?%d+)|(.*)$')
    local v = {n = n, at = tonumber(at), reason = ledger.KIND[kind] or kind,
               points = ledger.points(tonumber(cents) or 0)}
    if kind == 'c' then
        v.task_id = ref
    elseif kind ~= 'o' then
        v.receipt_id = ref
    end
    return v
end

-- ledger.list: the caller's balance and its entries, newest first, a
-- page of `limit` (1..PAGE_MAX, default 20) before entry number
-- `before` (default: after the last). `next` is the `before` of the
-- following page, 0 when this one reached the first entry. Bounded:
-- one LRANGE of at most `limit` entries.
function ledger.list(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p, user = ctx.params, ctx.caller.user
    local limit = want_num(p, 'limit', 1, ledger.PAGE_MAX, true, true) or 20
    local before = want_num(p, 'before', 1, 2 ^ 53, true, true)
    local lk = key(ctx, 'user', user, 'ledger')
    local total = redis.call('LLEN', lk)
    local last = math.min(total, before and before - 1 or total)
    local first = math.max(1, last - limit + 1)
    local entries = {}
    if last >= 1 then
        local raw = redis.call('LRANGE', lk, first - 1, last - 1)
        for i = #raw, 1, -1 do
            entries[#entries + 1] = ledger.view(first + i - 1, raw[i])
        end
    end
    return cmsgpack.pack({
        balance = ledger.points(ledger.balance(ctx, user)),
        entries = entries, total = total,
        next = (last >= 1 and first > 1) and first or 0,
    })
end

-- Raises CONFLICT unless the balance covers a debit of `cents`.
function ledger.want_cover(ctx, user, cents)
    local have = ledger.balance(ctx, user)
    if have < cents then
        fail(CONFLICT, string.format('your balance of %s points is less '
             .. 'than %s', tostring(ledger.points(have)),
             tostring(ledger.points(cents))))
    end
    return have
end
