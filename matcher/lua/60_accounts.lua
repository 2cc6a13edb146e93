-- Uses: BAD, check_skill, city_date, CONFLICT, context, emit, fail,
--   field_fail, FORBIDDEN, hgetall, in_scope, key, NOT_FOUND, want_bool,
--   want_num, want_reach, want_region, want_role, want_str, want_table,
--   want_user_id (from 00_core.lua); split_csv, UF (from 10_volunteer.lua).
--
-- Accounts (注册招募): sign-up, log-in, invites, reset codes and the feed
-- of account changes every wishd follows (docs/protocol.md, "Accounts").
-- wishd hashes and checks passwords (argon2id, off the event loop) and
-- mints the tokens; this file keeps what must hold across daemons: who
-- has which id and phone, the failure counts and locks, the generation
-- that ends every token of an account, and the logged-out token ids.
--
-- {city}:acct:<user>         HASH  name phone role region status reason
--                                  created last_login gen pw (the argon2id
--                                  encoded string, never read here)
-- {city}:phone:<phone>       STRING  the user with that phone
-- {city}:accts               ZSET  score 0, member "<region>/|<user>": the
--                                  accounts of a scope S are the members
--                                  that start with "S/", in lex order
-- {city}:invite:<sha256hex>  HASH  kind (invite|reset) role region by
--                                  user (reset only); expires with the code
-- {city}:login:n:<name>      HASH  fails until: failed log-ins of a login
--                                  name ("u:<user>", "p:<phone>")
-- {city}:login:a:<peer>      HASH  fails until: the same of an address
-- {city}:tokrev:<tid>        STRING  a logged-out token id, until the
--                                  token would have expired
-- {city}:acctfeed            ZSET  "<seq>:u:<user>" | "<seq>:t:<tid>" by
--                                  seq, the newest FEED_KEEP
-- {city}:seq:acctfeed        STRING  the feed's counter
-- {city}:signup_open         SET   communities with open sign-up
--
-- Every function is a field of one table: the chunk's locals are few
-- (tests/lua_check.py), and this file would otherwise need thirty.

local accounts = {
    UNAUTH = 'UNAUTHENTICATED',
    RATE = 'RATE_LIMITED',
    -- The one answer to every token that must stop working, so that a
    -- client learns nothing about why.
    BAD_TOKEN = 'token is invalid or expired',
    ROLES = {resident = true, volunteer = true, coordinator = true,
             admin = true, partner = true},
    -- Roles a coordinator may invite and manage: a caring enterprise
    -- (partner) is recruited by the district like its people.
    LAY = {resident = true, volunteer = true, partner = true},
    STATUSES = {pending = true, active = true, disabled = true},
    FEED_KEEP = 10000, -- feed entries kept; a wishd further behind resyncs
    FEED_PAGE = 500,   -- entries one auth_feed returns at most
    LIST_READ = 500,   -- index members one account_list examines at most
    INVITES_MAX = 100,
    EXPIRES_MIN = 60,
    EXPIRES_MAX = 2592000, -- 30 days
}

---------------------------------------------------------------- helpers

-- 'YYYY-MM-DD HH:MM:SS' of a Unix time in city time.
function accounts.city_time(ctx, t)
    local y, m, d, secs = city_date(ctx, t)
    return string.format('%04d-%02d-%02d %02d:%02d:%02d', y, m, d,
                         math.floor(secs / 3600),
                         math.floor(secs % 3600 / 60), secs % 60)
end

-- Refuses a caller whose role is not of the kind a function serves:
-- 'login' (a guest before hello, or a signed-in account: a wrong
-- old_password counts as a failed log-in), 'guest', 'account' (signed
-- in), 'staff', 'admin', 'system' (a wishd polling the feed). wishd
-- checks the same; this keeps a wrong caller form from reaching keys.
function accounts.want_caller(ctx, kind)
    local c = ctx.caller
    local role = c.role
    if kind == 'guest' or kind == 'system' then
        if role ~= kind then
            fail(FORBIDDEN, tostring(role) .. ' may not do this')
        end
        return
    end
    if kind == 'login' and role == 'guest' then return end
    if kind == 'staff' then
        want_role(ctx, 'coordinator', 'admin')
    elseif kind == 'admin' then
        want_role(ctx, 'admin')
    elseif not accounts.ROLES[role] then
        fail(FORBIDDEN, tostring(role) .. ' may not do this')
    end
    -- The id names keys: a token's grammar, checked again here.
    if type(c.user) ~= 'string' or #c.user < 1 or #c.user > 128
        or string.find(c.user, '[^A-Za-z0-9_.@%-]') then
        fail(FORBIDDEN, 'caller is not a user')
    end
end

-- A phone as docs/protocol.md has it: 6..20 characters, digits with an
-- optional leading '+'. '' when `empty_ok` and given as ''.
function accounts.want_phone(p, empty_ok)
    if empty_ok and p.phone == '' then return '' end
    local v = want_str(p, 'phone', 6, 20, true)
    if v and not string.find(v, '^%+?%d+$') then
        field_fail('phone', "must be digits with an optional leading '+', "
                   .. '6..20 characters')
    end
    return v
end

-- A SHA-256 in lowercase hex (of an invite or reset code: wishd hashes
-- the code, so Redis never holds one that works).
function accounts.check_hash(name, v)
    if type(v) ~= 'string' or #v ~= 64 or string.find(v, '[^0-9a-f]') then
        field_fail(name, 'must be a SHA-256 in lowercase hex')
    end
    return v
end

-- A login name: "u:<user id>" or "p:<phone>", as wishd formed it from
-- the user or phone as typed.
function accounts.want_login_name(p)
    local v = want_str(p, 'name', 3, 130)
    local ok = string.find(v, '^u:[A-Za-z0-9_.@%-]+$')
        or (string.find(v, '^p:%+?%d+$') and #v >= 8 and #v <= 22)
    if not ok then field_fail('name', 'must be u:<user> or p:<phone>') end
    return v
end

-- The peer address of a log-in: an IP address or prefix, from wishd
-- ('?' for a socket that is not IP).
function accounts.want_peer(p)
    local v = want_str(p, 'peer', 1, 63)
    if string.find(v, '[^0-9a-fA-F.:/?]') then
        field_fail('peer', 'must be an address of [0-9a-fA-F.:/]')
    end
    return v
end

-- A token id: 22 characters of base64url.
function accounts.want_tid(p)
    local v = want_str(p, 'tid', 22, 22)
    if string.find(v, '[^A-Za-z0-9_%-]') then
        field_fail('tid', 'must be 22 characters of base64url')
    end
    return v
end

-- A region scope (1..4 segments) of the caller's city within its scope.
function accounts.want_scope(ctx, p, name, default)
    local r = p[name]
    if r == nil then r = default end
    if type(r) ~= 'string' or #r > 128
        or not (string.find(r, '^[a-z0-9_%-]+$')
                or string.find(r, '^[a-z0-9_%-]+/[a-z0-9_%-]+$')
                or string.find(r, '^[a-z0-9_%-]+/[a-z0-9_%-]+/[a-z0-9_%-]+$')
                or string.find(r, '^[a-z0-9_%-]+/[a-z0-9_%-]+/[a-z0-9_%-]+/'
                               .. '[a-z0-9_%-]+$')) then
        field_fail(name, 'must be a region: city[/district[/street'
                   .. '[/community]]]')
    end
    return want_reach(ctx, r)
end

-- Seconds a code lives: 60..30 days.
function accounts.want_expires(p)
    return want_num(p, 'expires', accounts.EXPIRES_MIN, accounts.EXPIRES_MAX,
                    false, true)
end

function accounts.disabled_msg(a)
    if a.reason and a.reason ~= '' then
        return 'account disabled: ' .. a.reason
    end
    return 'account disabled'
end

function accounts.index_member(a)
    return a.region .. '/|' .. a.user
end

-- The account of the caller's token, or NOT_FOUND.
function accounts.own(ctx)
    local a = hgetall(key(ctx, 'acct', ctx.caller.user))
    if not a then fail(NOT_FOUND, 'no account for this token') end
    a.user = ctx.caller.user
    return a
end

-- The account a staff method acts on: it exists, lies in the caller's
-- scope, and is of a role a coordinator manages when the caller is one.
function accounts.managed(ctx, user)
    local a = hgetall(key(ctx, 'acct', user))
    if not a then fail(NOT_FOUND, 'no such account ' .. user) end
    a.user = user
    if not in_scope(ctx, a.region) then
        fail(FORBIDDEN, 'account ' .. user .. ' is outside your scope')
    end
    if ctx.caller.role ~= 'admin' and not accounts.LAY[a.role] then
        fail(FORBIDDEN, 'a coordinator may manage residents, volunteers and '
             .. 'partners only')
    end
    return a
end

-- The account result; `phone` only for the account itself and staff
-- over its region (the caller decides which by `with_phone`).
function accounts.view(a, with_phone)
    local v = {user = a.user, name = a.name, role = a.role,
               region = a.region, status = a.status,
               created = tonumber(a.created) or 0,
               last_login = tonumber(a.last_login) or 0}
    if a.status == 'disabled' and a.reason and a.reason ~= '' then
        v.reason = a.reason
    end
    if with_phone and a.phone and a.phone ~= '' then v.phone = a.phone end
    return v
end

-- The fields a fresh token carries.
function accounts.login_view(a)
    return {user = a.user, role = a.role, region = a.region,
            status = a.status, gen = tonumber(a.gen)}
end

-- Appends a change to the feed every wishd follows ('u:<user>': look at
-- the account's generation and status again; 't:<tid>': that token was
-- logged out), keeping the newest FEED_KEEP.
function accounts.feed(ctx, what)
    local seq = redis.call('INCR', key(ctx, 'seq', 'acctfeed'))
    local fk = key(ctx, 'acctfeed')
    redis.call('ZADD', fk, seq, seq .. ':' .. what)
    redis.call('ZREMRANGEBYRANK', fk, 0, -(accounts.FEED_KEEP + 1))
end

-- RATE_LIMITED when a failure counter's lock is still on.
function accounts.check_lock(ctx, k, whose)
    local till = tonumber(redis.call('HGET', k, 'until'))
    if till and till > ctx.now then
        fail(accounts.RATE, 'too many failed log-ins ' .. whose
             .. '; locked until ' .. accounts.city_time(ctx, till)
             .. ' (city time); retry in ' .. (till - ctx.now) * 1000 .. ' ms')
    end
end

-- Counts one failure; past `free` failures in a row each further one
-- locks for login_lock_base doubling per failure, at most
-- login_lock_max. The counter outlives its last failure by
-- login_lock_max (and the lock), then the slate is clean.
function accounts.count_failure(ctx, k, free)
    local cfg = ctx.cfg
    local fails = redis.call('HINCRBY', k, 'fails', 1)
    local lock = 0
    if fails > free then
        lock = math.min(cfg.login_lock_base * 2 ^ (fails - free - 1),
                        cfg.login_lock_max)
        redis.call('HSET', k, 'until', string.format('%d', ctx.now + lock))
    end
    redis.call('EXPIRE', k, string.format('%d', cfg.login_lock_max + lock))
end

-- Whether a user id may become an account: nothing of the city is kept
-- under it yet. An id people used with tokens minted by the secret has a
-- profile or wishes; an account under it would take them over.
function accounts.id_taken(ctx, user)
    return redis.call('EXISTS', key(ctx, 'acct', user), key(ctx, 'user', user),
                      key(ctx, 'user', user, 'tasks')) > 0
end

-------------------------------------------------------------- log-in

-- The user id a log-in name ('u:' id or 'p:' phone) stands for: the id
-- itself, or the phone's owner (false when no account has the phone).
function accounts.user_of_name(ctx, name)
    if string.sub(name, 1, 2) == 'p:' then
        return redis.call('GET', key(ctx, 'phone', string.sub(name, 3)))
    end
    return string.sub(name, 3)
end

-- auth_begin {name, peer} (guest or account; no writes): refuses while
-- the name's or the address's lock is on, then finds the account of the
-- name. -> {found = true, user, pw, status, reason?} | {found = false}.
-- wishd checks the password against pw (or a dummy hash when not found:
-- the same work either way) and calls auth_finish.
function accounts.auth_begin(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'login')
    local p = ctx.params
    local name, peer = accounts.want_login_name(p), accounts.want_peer(p)
    accounts.check_lock(ctx, key(ctx, 'login', 'n', name),
                        'for this account')
    accounts.check_lock(ctx, key(ctx, 'login', 'a', peer),
                        'from this address')
    local user = accounts.user_of_name(ctx, name)
    local a = user and hgetall(key(ctx, 'acct', user))
    if not a then return cmsgpack.pack({found = false}) end
    local r = {found = true, user = user, pw = a.pw, status = a.status}
    if a.reason and a.reason ~= '' then r.reason = a.reason end
    return cmsgpack.pack(r)
end

-- auth_finish {name, peer, user, ok} (guest or account): the outcome of
-- the password check. ok=false counts a failure of the name and of the
-- address -> {ok = false}. ok=true clears the name's count (not the
-- address's: one address trying many names stays counted) and stamps
-- last_login -> {ok = true, user, role, region, status, gen};
-- FORBIDDEN "account disabled[: reason]" for a disabled account.
function accounts.auth_finish(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'login')
    local p = ctx.params
    local name, peer = accounts.want_login_name(p), accounts.want_peer(p)
    local ok = want_bool(p, 'ok')
    local nk = key(ctx, 'login', 'n', name)
    if not ok then
        if p.user ~= nil and p.user ~= '' then want_user_id(p, 'user') end
        accounts.count_failure(ctx, nk, ctx.cfg.login_free_fails)
        accounts.count_failure(ctx, key(ctx, 'login', 'a', peer),
                               ctx.cfg.login_addr_free_fails)
        return cmsgpack.pack({ok = false})
    end
    local user = want_user_id(p, 'user')
    -- The name must still lead to that account (a phone may have moved
    -- between begin and finish): otherwise as a wrong password.
    local a = accounts.user_of_name(ctx, name) == user
        and hgetall(key(ctx, 'acct', user))
    if not a then fail(accounts.UNAUTH, 'wrong user or password') end
    a.user = user
    -- Checked before the first write: a disabled account's right password
    -- leaves its count as it was.
    if a.status == 'disabled' then
        fail(FORBIDDEN, accounts.disabled_msg(a))
    end
    redis.call('DEL', nk)
    redis.call('HSET', key(ctx, 'acct', user), 'last_login', ctx.now)
    local r = accounts.login_view(a)
    r.ok = true
    return cmsgpack.pack(r)
end

-- auth_signup {user, name, pw, phone?, invite? | region?} (guest): a new
-- account, by an invite (its role and region, active) or in a community
-- with open sign-up (a pending volunteer a coordinator reviews).
-- -> {user, role, region, status, gen}
function accounts.auth_signup(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'guest')
    local p = ctx.params
    local user = want_user_id(p, 'user')
    local name = want_str(p, 'name', 1, 64)
    local pw = want_str(p, 'pw', 1, 512)
    local phone = accounts.want_phone(p, false)
    if (p.invite == nil) == (p.region == nil) then
        fail(BAD, 'give invite or region')
    end
    local a = {user = user, name = name, pw = pw, phone = phone,
               created = ctx.now, last_login = ctx.now, gen = 1}
    local ik
    if p.invite ~= nil then
        ik = key(ctx, 'invite', accounts.check_hash('invite', p.invite))
        local inv = hgetall(ik)
        if not inv or inv.kind ~= 'invite' then
            fail(NOT_FOUND, 'invite is unknown, used or expired')
        end
        a.role, a.region, a.status = inv.role, inv.region, 'active'
    else
        -- A guest's region is its city: want_region takes any community
        -- of it, and none of another.
        a.region = want_region(ctx, p, 'region')
        if redis.call('SISMEMBER', key(ctx, 'signup_open'), a.region) == 0
        then
            fail(FORBIDDEN, 'sign-up is not open in ' .. a.region)
        end
        a.role, a.status = 'volunteer', 'pending'
    end
    if accounts.id_taken(ctx, user) then
        fail(CONFLICT, 'user id ' .. user .. ' is taken')
    end
    if phone and redis.call('EXISTS', key(ctx, 'phone', phone)) == 1 then
        fail(CONFLICT, 'phone is taken')
    end

    redis.call('HSET', key(ctx, 'acct', user), 'name', name, 'role', a.role,
               'region', a.region, 'status', a.status, 'created', ctx.now,
               'last_login', ctx.now, 'gen', 1, 'pw', pw)
    if phone then
        redis.call('HSET', key(ctx, 'acct', user), 'phone', phone)
        redis.call('SET', key(ctx, 'phone', phone), user)
    end
    redis.call('ZADD', key(ctx, 'accts'), 0, accounts.index_member(a))
    redis.call('HSET', key(ctx, 'user', user), UF.name, name)
    if ik then redis.call('DEL', ik) end
    return cmsgpack.pack(accounts.login_view(a))
end

-- auth_reset {code, pw} (guest): redeems a reset code staff made; the
-- new password, the next generation (every other token ends), and the
-- name's failure count cleared. -> {user, role, region, status, gen}
function accounts.auth_reset(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'guest')
    local p = ctx.params
    local ck = key(ctx, 'invite', accounts.check_hash('code', p.code))
    local pw = want_str(p, 'pw', 1, 512)
    local code = hgetall(ck)
    local a = code and code.kind == 'reset' and code.user
        and hgetall(key(ctx, 'acct', code.user))
    if not a then fail(NOT_FOUND, 'reset code is unknown, used or expired') end
    a.user = code.user
    if a.status == 'disabled' then
        fail(FORBIDDEN, accounts.disabled_msg(a))
    end
    local ak = key(ctx, 'acct', a.user)
    redis.call('HSET', ak, 'pw', pw, 'last_login', ctx.now)
    a.gen = redis.call('HINCRBY', ak, 'gen', 1)
    redis.call('DEL', ck, key(ctx, 'login', 'n', 'u:' .. a.user))
    accounts.feed(ctx, 'u:' .. a.user)
    return cmsgpack.pack(accounts.login_view(a))
end

------------------------------------------------------------ sessions

-- The caller's account when its token still holds: same role and
-- region, not disabled, same generation; else UNAUTHENTICATED.
function accounts.token_account(ctx, gen)
    local c = ctx.caller
    local a = hgetall(key(ctx, 'acct', c.user))
    if not a or a.role ~= c.role or a.region ~= c.region
        or a.status == 'disabled' or tonumber(a.gen) ~= gen then
        fail(accounts.UNAUTH, accounts.BAD_TOKEN)
    end
    a.user = c.user
    return a
end

-- auth_session {gen, tid} (account; no writes): at hello with an account
-- token, whether it still holds, and where the feed stands then (changes
-- after it reach the session through the feed).
-- -> {status, seq}
function accounts.auth_session(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    local p = ctx.params
    local gen = want_num(p, 'gen', 1, 2 ^ 53, false, true)
    local tid = accounts.want_tid(p)
    local a = accounts.token_account(ctx, gen)
    if redis.call('EXISTS', key(ctx, 'tokrev', tid)) == 1 then
        fail(accounts.UNAUTH, accounts.BAD_TOKEN)
    end
    local seq = tonumber(redis.call('GET', key(ctx, 'seq', 'acctfeed'))) or 0
    return cmsgpack.pack({status = a.status, seq = seq})
end

-- auth_logout {tid, expires} (account): that token id stops working
-- until the token would have expired anyway. -> true
function accounts.auth_logout(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    local p = ctx.params
    local tid = accounts.want_tid(p)
    local expires = want_num(p, 'expires', 0, 2 ^ 53, false, true)
    -- A token already expired needs no entry. Redis drops the entry by
    -- its own clock; a skew of seconds against ours only moves when.
    if expires > ctx.now then
        redis.call('SET', key(ctx, 'tokrev', tid), '1', 'EXAT',
                   string.format('%d', expires))
    end
    accounts.feed(ctx, 't:' .. tid)
    return cmsgpack.pack(true)
end

-- auth_logout_all {} (account): the next generation; every token of the
-- account stops working. -> true
function accounts.auth_logout_all(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    accounts.own(ctx)
    redis.call('HINCRBY', key(ctx, 'acct', ctx.caller.user), 'gen', 1)
    accounts.feed(ctx, 'u:' .. ctx.caller.user)
    return cmsgpack.pack(true)
end

-- auth_refresh {gen} (account; no writes): what a fresh token carries,
-- when the current one still holds. -> {user, role, region, status, gen}
function accounts.auth_refresh(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    local gen = want_num(ctx.params, 'gen', 1, 2 ^ 53, false, true)
    return cmsgpack.pack(accounts.login_view(accounts.token_account(ctx,
                                                                    gen)))
end

-- account_me {} (account; no writes) -> account with phone
function accounts.account_me(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    return cmsgpack.pack(accounts.view(accounts.own(ctx), true))
end

-- account_update {name?, phone?, pw?} (account): only the given fields
-- change; phone '' removes it; pw (wishd checked old_password) moves the
-- generation on. -> account with phone, and gen
function accounts.account_update(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'account')
    local p = ctx.params
    local name = want_str(p, 'name', 1, 64, true)
    local phone = accounts.want_phone(p, true)
    local pw = want_str(p, 'pw', 1, 512, true)
    local a = accounts.own(ctx)
    local user = a.user
    local old = a.phone or ''
    if phone and phone ~= '' and phone ~= old
        and redis.call('EXISTS', key(ctx, 'phone', phone)) == 1 then
        fail(CONFLICT, 'phone is taken')
    end

    local ak = key(ctx, 'acct', user)
    if name then
        redis.call('HSET', ak, 'name', name)
        redis.call('HSET', key(ctx, 'user', user), UF.name, name)
        a.name = name
    end
    if phone and phone ~= old then
        if old ~= '' then redis.call('DEL', key(ctx, 'phone', old)) end
        if phone == '' then
            redis.call('HDEL', ak, 'phone')
        else
            redis.call('HSET', ak, 'phone', phone)
            redis.call('SET', key(ctx, 'phone', phone), user)
        end
        a.phone = phone
    end
    if pw then
        redis.call('HSET', ak, 'pw', pw)
        a.gen = redis.call('HINCRBY', ak, 'gen', 1)
        accounts.feed(ctx, 'u:' .. user)
    end
    local v = accounts.view(a, true)
    v.gen = tonumber(a.gen)
    return cmsgpack.pack(v)
end

------------------------------------------------------------------ staff

-- account_invite {role, region, count, expires, hashes} (staff): stores
-- the SHA-256 of each code wishd made, for `expires` seconds. A
-- coordinator invites residents and volunteers of its scope; an admin
-- any role of its city. -> {role, region, expires (Unix seconds)}
function accounts.account_invite(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local p = ctx.params
    local role = want_str(p, 'role', 1, 16)
    if not accounts.ROLES[role] then
        field_fail('role', 'must be resident, volunteer, coordinator, '
                   .. 'admin or partner')
    end
    if ctx.caller.role ~= 'admin' and not accounts.LAY[role] then
        fail(FORBIDDEN, 'a coordinator may invite residents, volunteers and '
             .. 'partners only')
    end
    local region = accounts.want_scope(ctx, p, 'region')
    local count = want_num(p, 'count', 1, accounts.INVITES_MAX, false, true)
    local expires = accounts.want_expires(p)
    local hashes = want_table(p, 'hashes', accounts.INVITES_MAX)
    if #hashes ~= count then
        field_fail('hashes', 'must hold count (' .. count .. ') hashes')
    end
    for _, h in ipairs(hashes) do accounts.check_hash('hashes', h) end

    local ttl = string.format('%d', expires)
    for _, h in ipairs(hashes) do
        local ik = key(ctx, 'invite', h)
        redis.call('HSET', ik, 'kind', 'invite', 'role', role,
                   'region', region, 'by', ctx.caller.user)
        redis.call('EXPIRE', ik, ttl)
    end
    return cmsgpack.pack({role = role, region = region,
                          expires = ctx.now + expires})
end

-- account_list {region?, role?, status?, skill?, q?, cursor?, limit?}
-- (staff; no writes): the accounts of a scope in index order (region,
-- then user id), examining at most LIST_READ per call.
-- -> {accounts: [account with phone], cursor ('' at the end)}
function accounts.account_list(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local p = ctx.params
    local scope = accounts.want_scope(ctx, p, 'region', ctx.caller.region)
    local role = want_str(p, 'role', 1, 16, true)
    if role and not accounts.ROLES[role] then
        field_fail('role', 'must be resident, volunteer, coordinator, '
                   .. 'admin or partner')
    end
    local status = want_str(p, 'status', 1, 16, true)
    if status and not accounts.STATUSES[status] then
        field_fail('status', 'must be pending, active or disabled')
    end
    local skill = p.skill ~= nil and check_skill('skill', p.skill) or nil
    local q = want_str(p, 'q', 1, 64, true)
    local limit = want_num(p, 'limit', 1, 100, true, true) or 20
    local prefix = scope .. '/'
    local cursor = want_str(p, 'cursor', 0, 300, true) or ''
    -- A cursor from another scope would read accounts outside this one.
    if cursor ~= '' and string.sub(cursor, 1, #prefix) ~= prefix then
        field_fail('cursor', 'is not a cursor of region ' .. scope)
    end
    local from = cursor == '' and '[' .. prefix or '(' .. cursor
    local members = redis.call('ZRANGEBYLEX', key(ctx, 'accts'), from,
                               '(' .. prefix .. '\255', 'LIMIT', 0,
                               accounts.LIST_READ)
    local out, last = {}, nil
    for i, m in ipairs(members) do
        local user = string.match(m, '/|(.*)$')
        local a = user and hgetall(key(ctx, 'acct', user))
        if a then
            a.user = user
            local pass = (not role or a.role == role)
                and (not status or a.status == status)
            if pass and q then
                pass = string.sub(user, 1, #q) == q
                    or string.sub(a.name or '', 1, #q) == q
                    or string.sub(a.phone or '', 1, #q) == q
            end
            if pass and skill then
                pass = false
                if a.role == 'volunteer' then
                    local s = redis.call('HGET', key(ctx, 'user', user),
                                         UF.skills)
                    for _, v in ipairs(split_csv(s)) do
                        if v == skill then pass = true end
                    end
                end
            end
            if pass then out[#out + 1] = accounts.view(a, true) end
        end
        if #out == limit then
            if i < #members then last = m end
            break
        end
    end
    if not last and #members == accounts.LIST_READ then
        last = members[#members]
    end
    return cmsgpack.pack({accounts = out, cursor = last or ''})
end

-- account_review {user, approve, reason?} (staff): decides a pending
-- sign-up of the caller's scope: active, or disabled with the reason.
-- The applicant gets account_reviewed. -> account with phone
function accounts.account_review(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local p = ctx.params
    local user = want_user_id(p, 'user')
    local approve = want_bool(p, 'approve')
    local reason = want_str(p, 'reason', 0, 500, true)
    local a = accounts.managed(ctx, user)
    if a.status ~= 'pending' then
        fail(CONFLICT, 'account ' .. user .. ' is not waiting for review')
    end

    local ak = key(ctx, 'acct', user)
    if approve then
        a.status, a.reason = 'active', nil
        redis.call('HSET', ak, 'status', 'active')
        redis.call('HDEL', ak, 'reason')
    else
        a.status, a.reason = 'disabled', reason
        redis.call('HSET', ak, 'status', 'disabled', 'reason', reason or '')
    end
    local ev = {type = 'account_reviewed', approved = approve}
    if not approve and reason and reason ~= '' then ev.reason = reason end
    emit(ctx, user, ev)
    accounts.feed(ctx, 'u:' .. user)
    return cmsgpack.pack(accounts.view(a, true))
end

-- account_disable {user, reason?} (staff): disabled, and the next
-- generation ends every session of it. -> account with phone
function accounts.account_disable(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local p = ctx.params
    local user = want_user_id(p, 'user')
    local reason = want_str(p, 'reason', 0, 500, true)
    if user == ctx.caller.user then
        fail(CONFLICT, 'you cannot disable yourself')
    end
    local a = accounts.managed(ctx, user)

    local ak = key(ctx, 'acct', user)
    a.status, a.reason = 'disabled', reason
    redis.call('HSET', ak, 'status', 'disabled', 'reason', reason or '')
    redis.call('HINCRBY', ak, 'gen', 1)
    accounts.feed(ctx, 'u:' .. user)
    return cmsgpack.pack(accounts.view(a, true))
end

-- account_enable {user} (staff): active again (a pending one too: staff
-- enabling it decided it), the reason cleared. -> account with phone
function accounts.account_enable(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local user = want_user_id(ctx.params, 'user')
    local a = accounts.managed(ctx, user)

    local ak = key(ctx, 'acct', user)
    a.status, a.reason = 'active', nil
    redis.call('HSET', ak, 'status', 'active')
    redis.call('HDEL', ak, 'reason')
    accounts.feed(ctx, 'u:' .. user)
    return cmsgpack.pack(accounts.view(a, true))
end

-- account_reset {user, hash, expires} (staff): stores the SHA-256 of a
-- one-time reset code for the account. -> {user, expires (Unix seconds)}
function accounts.account_reset(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'staff')
    local p = ctx.params
    local user = want_user_id(p, 'user')
    local h = accounts.check_hash('hash', p.hash)
    local expires = accounts.want_expires(p)
    accounts.managed(ctx, user)

    local ik = key(ctx, 'invite', h)
    redis.call('HSET', ik, 'kind', 'reset', 'user', user,
               'by', ctx.caller.user)
    redis.call('EXPIRE', ik, string.format('%d', expires))
    return cmsgpack.pack({user = user, expires = ctx.now + expires})
end

-- signup_open {region, open} (admin): opens or closes sign-up without an
-- invite in a community of the city. -> {region, open}
function accounts.signup_open(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'admin')
    local p = ctx.params
    local region = want_region(ctx, p, 'region')
    local open = want_bool(p, 'open')
    redis.call(open and 'SADD' or 'SREM', key(ctx, 'signup_open'), region)
    return cmsgpack.pack({region = region, open = open})
end

------------------------------------------------------------------- feed

-- auth_feed {after} (system; no writes): the account changes after seq
-- `after`, at most FEED_PAGE, each with the account's current generation
-- and status ('gone', gen 0, when it has none). `behind`: changes after
-- `after` were trimmed (or the counter is behind it: Redis lost the
-- feed), so the daemon must check every session again.
-- -> {seq, behind, changes: [{user, gen, status} | {tid}]}
function accounts.auth_feed(keys, args)
    local ctx = context(keys, args)
    accounts.want_caller(ctx, 'system')
    local after = want_num(ctx.params, 'after', 0, 2 ^ 53, false, true)
    local fk = key(ctx, 'acctfeed')
    local seq = tonumber(redis.call('GET', key(ctx, 'seq', 'acctfeed'))) or 0
    local first = redis.call('ZRANGE', fk, 0, 0, 'WITHSCORES')
    local oldest = tonumber(first[2]) or seq + 1
    local behind = after > 0 and (oldest > after + 1 or after > seq)
    local got = redis.call('ZRANGEBYSCORE', fk,
                           '(' .. string.format('%d', after), '+inf',
                           'LIMIT', 0, accounts.FEED_PAGE)
    local changes = {}
    for _, m in ipairs(got) do
        local n, kind, what = string.match(m, '^(%d+):([ut]):(.*)$')
        if kind == 'u' then
            local h = redis.call('HMGET', key(ctx, 'acct', what), 'gen',
                                 'status')
            changes[#changes + 1] = {user = what, gen = tonumber(h[1]) or 0,
                                     status = h[2] or 'gone'}
        elseif kind == 't' then
            changes[#changes + 1] = {tid = what}
        end
        -- A full page: the caller goes on after its last entry.
        if n and #got == accounts.FEED_PAGE then seq = tonumber(n) end
    end
    return cmsgpack.pack({seq = seq, behind = behind, changes = changes})
end
