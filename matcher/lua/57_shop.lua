-- Uses: BAD, CONFLICT, context, covers, emit, fail, FORBIDDEN, hgetall,
--   in_scope, key, next_id, NOT_FOUND, want_id, want_num, want_role,
--   want_str (from 00_core.lua); scopes_of (from 15_status.lua); ledger
--   (from 45_ledger.lua); want_scope (from 50_service.lua).
--
-- The credit supermarket (积分超市; docs/protocol.md, "Points, the ledger
-- and the credit supermarket"): items staff put on the shelf of a city
-- or district, redeemed by volunteers for points, collected at a station.
-- A redemption takes the points, one piece of stock and makes a receipt
-- in one call: two volunteers can never get the last piece, nor one
-- spend its points twice, however many daemons serve them.
--
-- {city}:shop:item:<I#>      HASH  id name price (whole points) stock
--                                  sold (held or collected receipts)
--                                  station region note by created
-- {city}:shop:items:<scope>  ZSET  items posted for a scope, by time
-- {city}:shop:rcpt:<R#>      HASH  id item user name price station region
--                                  code status (held, collected,
--                                  refunded) at closed by reason
-- {city}:shop:salt           STRING  made once: the secret part of every
--                                  collection code
-- {city}:user:<id>:rcpt      LIST  the volunteer's receipts, oldest first
--
-- Every function is a field of one table: the chunk's locals are few
-- (tests/lua_check.py).

local shop = {
    PRICE_MAX = 100000, STOCK_MAX = 100000,
    LIST_MAX = 100, -- items of one scope shop.list shows
    PAGE_MAX = 50,  -- receipts one shop.receipts returns
}

-- The item's fields given in params; `edit` makes each optional.
function shop.fields(p, edit)
    return {
        name = want_str(p, 'name', 1, 100, edit),
        price = want_num(p, 'price', 1, shop.PRICE_MAX, edit, true),
        stock = want_num(p, 'stock', 0, shop.STOCK_MAX, edit, true),
        station = want_str(p, 'station', 1, 200, edit),
        note = want_str(p, 'note', 0, 500, true),
    }
end

function shop.item_view(it)
    return {item_id = it.id, name = it.name, price = tonumber(it.price),
            stock = tonumber(it.stock), station = it.station,
            region = it.region, note = it.note}
end

-- The item of params field item_id, or NOT_FOUND.
function shop.load_item(ctx)
    local id = want_id(ctx.params, 'item_id', 'I')
    local it = hgetall(key(ctx, 'shop', 'item', id))
    if not it then fail(NOT_FOUND, 'no such item_id ' .. id) end
    return it
end

-- shop.item.post: staff put an item on the shelf of a scope they cover.
function shop.post(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local f = shop.fields(ctx.params, false)
    local region = want_scope(ctx, ctx.params, 'region')
    local id = next_id(ctx, 'I')
    redis.call('HSET', key(ctx, 'shop', 'item', id), 'id', id, 'name',
               f.name, 'price', f.price, 'stock', f.stock, 'sold', 0,
               'station', f.station, 'region', region, 'note', f.note or '',
               'by', ctx.caller.user, 'created', ctx.now)
    redis.call('ZADD', key(ctx, 'shop', 'items', region), ctx.now, id)
    return cmsgpack.pack(shop.item_view(
        hgetall(key(ctx, 'shop', 'item', id))))
end

-- shop.item.edit: staff over the item's region change any of its fields
-- but the region; `stock` is the new count on the shelf. Receipts keep
-- the price they were paid.
function shop.edit(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'coordinator', 'admin')
    local it = shop.load_item(ctx)
    local f = shop.fields(ctx.params, true)
    if not in_scope(ctx, it.region) then
        fail(FORBIDDEN, 'item ' .. it.id .. ' is outside your scope '
             .. ctx.caller.region)
    end
    local set = {}
    for _, name in ipairs({'name', 'price', 'stock', 'station', 'note'}) do
        if f[name] ~= nil then
            set[#set + 1] = name
            set[#set + 1] = f[name]
        end
    end
    if #set == 0 then
        fail(BAD, 'give at least one of name, price, stock, station, note')
    end
    local ik = key(ctx, 'shop', 'item', it.id)
    redis.call('HSET', ik, unpack(set))
    return cmsgpack.pack(shop.item_view(hgetall(ik)))
end

-- shop.list: the items on the shelves of a region: those posted for it
-- and for every scope above it, city first, at most LIST_MAX a scope.
function shop.list(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer', 'coordinator', 'admin')
    local region = want_scope(ctx, ctx.params, 'region', ctx.caller.region,
                              true)
    local out = {}
    for _, s in ipairs(scopes_of(region)) do
        for _, id in ipairs(redis.call('ZRANGE', key(ctx, 'shop', 'items',
                                                     s), 0,
                                       shop.LIST_MAX - 1)) do
            local it = hgetall(key(ctx, 'shop', 'item', id))
            if it then out[#out + 1] = shop.item_view(it) end
        end
    end
    return cmsgpack.pack(out)
end

-- A receipt as shown; the collection code only to its volunteer (staff
-- hear it at the counter).
function shop.receipt_view(r, own)
    local v = {receipt_id = r.id, item_id = r.item, name = r.name,
               price = tonumber(r.price), station = r.station,
               region = r.region, volunteer_id = r.user, status = r.status,
               at = tonumber(r.at), closed_at = tonumber(r.closed)}
    if own then v.code = r.code end
    if r.reason and r.reason ~= '' then v.reason = r.reason end
    return v
end

-- A collection code of six digits for receipt `id`: a hash of the
-- city's salt, the receipt and Redis's clock in microseconds. Redis
-- seeds Lua's math.random the same way on every call, so randomness
-- comes from the salt, made once from the clock and never shown.
function shop.code(ctx, id)
    local t = redis.call('TIME')
    local sk = key(ctx, 'shop', 'salt')
    local salt = redis.call('GET', sk)
    if not salt then
        salt = redis.sha1hex(ctx.p .. t[1] .. '.' .. t[2])
        redis.call('SET', sk, salt)
    end
    local h = redis.sha1hex(salt .. id .. t[1] .. '.' .. t[2])
    return string.format('%06d', tonumber(string.sub(h, 1, 8), 16) % 1000000)
end

-- shop.redeem: a volunteer takes one piece of an item on offer in its
-- region for its price; points, stock and receipt in this one call.
function shop.redeem(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local it = shop.load_item(ctx)
    local user = ctx.caller.user
    if not covers(it.region, ctx.caller.region) then
        fail(FORBIDDEN, 'item ' .. it.id .. ' is not on offer in '
             .. ctx.caller.region)
    end
    if tonumber(it.stock) < 1 then
        fail(CONFLICT, 'item ' .. it.id .. ' is out of stock')
    end
    local cents = tonumber(it.price) * 100
    ledger.want_cover(ctx, user, cents)

    local id = next_id(ctx, 'R')
    local ik = key(ctx, 'shop', 'item', it.id)
    redis.call('HINCRBY', ik, 'stock', -1)
    redis.call('HINCRBY', ik, 'sold', 1)
    local r = {id = id, item = it.id, user = user, name = it.name,
               price = it.price, station = it.station, region = it.region,
               code = shop.code(ctx, id), status = 'held', at = ctx.now}
    redis.call('HSET', key(ctx, 'shop', 'rcpt', id), 'id', id, 'item',
               r.item, 'user', user, 'name', r.name, 'price', r.price,
               'station', r.station, 'region', r.region, 'code', r.code,
               'status', 'held', 'at', ctx.now)
    redis.call('RPUSH', key(ctx, 'user', user, 'rcpt'), id)
    local balance = ledger.add(ctx, user, 'd', -cents, id)
    local v = shop.receipt_view(r, true)
    v.balance = ledger.points(balance)
    return cmsgpack.pack(v)
end

-- The held receipt of params field receipt_id, for staff over its
-- region; NOT_FOUND, FORBIDDEN or CONFLICT (collected or refunded
-- already: each happens once).
function shop.load_held(ctx)
    want_role(ctx, 'coordinator', 'admin')
    local id = want_id(ctx.params, 'receipt_id', 'R')
    local r = hgetall(key(ctx, 'shop', 'rcpt', id))
    if not r then fail(NOT_FOUND, 'no such receipt_id ' .. id) end
    if not in_scope(ctx, r.region) then
        fail(FORBIDDEN, 'receipt ' .. id .. ' is outside your scope '
             .. ctx.caller.region)
    end
    if r.status ~= 'held' then
        fail(CONFLICT, 'receipt ' .. id .. ' is already ' .. r.status)
    end
    return r
end

-- Closes a held receipt as `status`, tells its volunteer, and returns
-- the receipt as staff see it.
function shop.close(ctx, r, status, reason)
    r.status, r.closed, r.reason = status, ctx.now, reason
    redis.call('HSET', key(ctx, 'shop', 'rcpt', r.id), 'status', status,
               'closed', ctx.now, 'by', ctx.caller.user, 'reason',
               reason or '')
    emit(ctx, r.user, {type = 'receipt', receipt_id = r.id, status = status})
    return cmsgpack.pack(shop.receipt_view(r, false))
end

-- shop.collect: staff at the station hand the item over to the
-- volunteer who tells them the receipt's code.
function shop.collect(keys, args)
    local ctx = context(keys, args)
    local r = shop.load_held(ctx)
    local code = want_str(ctx.params, 'code', 1, 16)
    if code ~= r.code then
        fail(BAD, "field 'code': not the collection code of receipt "
             .. r.id)
    end
    return shop.close(ctx, r, 'collected')
end

-- shop.refund: staff take a held receipt back: its price returns to the
-- volunteer's points (a ledger entry) and its piece to the stock.
function shop.refund(keys, args)
    local ctx = context(keys, args)
    local r = shop.load_held(ctx)
    local reason = want_str(ctx.params, 'reason', 0, 500, true)
    local ik = key(ctx, 'shop', 'item', r.item)
    redis.call('HINCRBY', ik, 'stock', 1)
    redis.call('HINCRBY', ik, 'sold', -1)
    ledger.add(ctx, r.user, 'f', tonumber(r.price) * 100, r.id)
    return shop.close(ctx, r, 'refunded', reason)
end

-- shop.receipts: the caller's receipts, newest first, a page of `limit`
-- (1..PAGE_MAX, default 20) before number `before`; `next` as in
-- ledger.list. Bounded: one LRANGE and a hash per receipt.
function shop.receipts(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p = ctx.params
    local limit = want_num(p, 'limit', 1, shop.PAGE_MAX, true, true) or 20
    local before = want_num(p, 'before', 1, 2 ^ 53, true, true)
    local lk = key(ctx, 'user', ctx.caller.user, 'rcpt')
    local total = redis.call('LLEN', lk)
    local last = math.min(total, before and before - 1 or total)
    local first = math.max(1, last - limit + 1)
    local out = {}
    if last >= 1 then
        local ids = redis.call('LRANGE', lk, first - 1, last - 1)
        for i = #ids, 1, -1 do
            local r = hgetall(key(ctx, 'shop', 'rcpt', ids[i]))
            if r then out[#out + 1] = shop.receipt_view(r, true) end
        end
    end
    return cmsgpack.pack({receipts = out, total = total,
                          next = (last >= 1 and first > 1) and first or 0})
end
