-- Uses: city_date, CONFLICT, context, fail, field_fail, FORBIDDEN,
--   in_scope, is_staff, key, NOT_FOUND, want_role, want_str,
--   want_user_id (from 00_core.lua); UF (from 10_volunteer.lua).
--
-- Service certificates (志愿服务证明; docs/protocol.md, "Service
-- certificates"). A certificate is read from the volunteer's compact
-- service record ({city}:user:<id>:svc, 45_ledger.lua), so it outlives
-- the tasks themselves. wishd makes the verification code and renders
-- the PDF; this file checks who may ask, reads the record, and keeps
-- what verification needs, keyed by the code's SHA-256 (wishd hashes
-- it): the code itself is never stored, so a copy of Redis cannot mint
-- a genuine-looking certificate, and a forged code finds nothing.
--
-- {city}:cert:<sha256hex>   HASH  n name from to tasks hours points
--                                 issuer at user: one issued certificate
-- {city}:seq:cert           STRING  the city's last issue number
-- {city}:certday:<user>:<yyyymmdd>  STRING  certificates issued to the
--                                 volunteer that city day; expires
--
-- Neither function is in wishd's method table: wishd calls them with
-- params it packed (the hash, the issuer), never a client's as they came.
-- Every function is a field of one table: the chunk's locals are few.

local cert = {
    SCAN_MAX = 5000,  -- newest service records one certificate reads
    ROWS_MAX = 300,   -- services one certificate lists
    SPAN_MAX = 366,   -- days of one period
    DEFAULT_SPAN = 365, -- days before `to` that `from` defaults to
    DAY_MAX = 20,     -- certificates of one volunteer a city day
}

-- Days since 1970-01-01 of a civil date (H. Hinnant's days-from-civil;
-- the inverse of city_date's).
function cert.days(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = math.floor(y / 400)
    local yoe = y - era * 400
    local mp = m > 2 and m - 3 or m + 9
    local doy = math.floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

-- yyyymmdd (a number) of a day number.
function cert.ymd_of(days)
    local y, m, d = city_date({cfg = {tz_offset = 0}}, days * 86400)
    return y * 10000 + m * 100 + d
end

-- "YYYY-MM-DD" of yyyymmdd.
function cert.iso(ymd)
    return string.format('%04d-%02d-%02d', math.floor(ymd / 10000),
                         math.floor(ymd / 100) % 100, ymd % 100)
end

-- The day number of field `name`, a real date "YYYY-MM-DD", or nil when
-- absent.
function cert.want_date(p, name)
    if p[name] == nil then return nil end
    local s = want_str(p, name, 10, 10)
    local y, m, d = string.match(s, '^(%d%d%d%d)%-(%d%d)%-(%d%d)$')
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    if not y or y < 2000 or m < 1 or m > 12 or d < 1 or d > 31 then
        field_fail(name, 'must be a date YYYY-MM-DD')
    end
    local n = cert.days(y, m, d)
    -- 2026-02-30 would come back as 2026-03-02.
    if cert.ymd_of(n) ~= y * 10000 + m * 100 + d then
        field_fail(name, 'must be a date YYYY-MM-DD')
    end
    return n
end

-- The volunteer a certificate is for, its display name and region:
-- the caller itself, or for staff `volunteer_id` in their scope.
function cert.subject(ctx)
    local p, c = ctx.params, ctx.caller
    local user
    if is_staff(ctx) then
        user = want_user_id(p, 'volunteer_id')
    else
        user = p.volunteer_id == nil and c.user
            or want_user_id(p, 'volunteer_id')
        if user ~= c.user then
            fail(FORBIDDEN, 'a volunteer gets its own certificate only')
        end
    end
    local prof = redis.call('HMGET', key(ctx, 'user', user), UF.name,
                            UF.region)
    local acct = redis.call('HMGET', key(ctx, 'acct', user), 'name',
                            'region', 'role')
    local region = prof[2] or acct[2]
    if not region or (acct[3] and acct[3] ~= 'volunteer') then
        fail(NOT_FOUND, 'no such volunteer ' .. user)
    end
    if is_staff(ctx) and not in_scope(ctx, region) then
        fail(FORBIDDEN, 'volunteer ' .. user .. ' is outside your scope '
             .. c.region)
    end
    return user, prof[1] or acct[1] or user, region
end

-- The services of `user` dated from..to (yyyymmdd), oldest first, each
-- {date, hours, points, title}; BAD_REQUEST past ROWS_MAX.
function cert.services(ctx, user, from, to)
    local recs = redis.call('LRANGE', key(ctx, 'user', user, 'svc'),
                            -cert.SCAN_MAX, -1)
    local rows = {}
    for i = 1, #recs do
        local date, hours, points, title = string.match(
            recs[i], '^[^|]*|(%d+)|([^|]*)|([^|]*)|[^|]*|(.*)$')
        date = tonumber(date)
        if date and date >= from and date <= to then
            if #rows == cert.ROWS_MAX then
                field_fail('from', 'more than ' .. cert.ROWS_MAX
                           .. ' services in the period; ask for a '
                           .. 'shorter one')
            end
            rows[#rows + 1] = {date = date, hours = tonumber(hours) or 0,
                               points = tonumber(points) or 0,
                               title = title, i = i}
        end
    end
    -- By date, then as recorded (table.sort is not stable).
    table.sort(rows, function(a, b)
        if a.date ~= b.date then return a.date < b.date end
        return a.i < b.i
    end)
    return rows
end

local function round2(v)
    return math.floor(v * 100 + 0.5) / 100
end

-- wish_cert_issue {volunteer_id?, from?, to?, hash, issuer}: checks,
-- reads the period's services, records the certificate under `hash`
-- and returns what wishd prints: {no, volunteer_id, name, region, from,
-- to, tasks, hours, points, issuer, issued_at, rows: [{date, hours,
-- title}]}. Every check comes before the first write.
function cert.issue(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer', 'coordinator', 'admin')
    local p = ctx.params
    local hash = want_str(p, 'hash', 64, 64)
    local issuer = want_str(p, 'issuer', 1, 200)
    local user, name, region = cert.subject(ctx)
    local ty, tm, td = city_date(ctx, ctx.now)
    local today = cert.days(ty, tm, td)
    local to = cert.want_date(p, 'to') or today
    local from = cert.want_date(p, 'from') or to - cert.DEFAULT_SPAN
    if to > today then field_fail('to', 'must not be after today') end
    if from > to then field_fail('from', 'must not be after to') end
    if to - from + 1 > cert.SPAN_MAX then
        field_fail('from', 'the period is at most ' .. cert.SPAN_MAX
                   .. ' days')
    end
    local f, t = cert.ymd_of(from), cert.ymd_of(to)
    local rows = cert.services(ctx, user, f, t)
    if #rows == 0 then
        fail(NOT_FOUND, 'no confirmed service between ' .. cert.iso(f)
             .. ' and ' .. cert.iso(t))
    end
    local dk = key(ctx, 'certday', user, tostring(cert.ymd_of(today)))
    if (tonumber(redis.call('GET', dk)) or 0) >= cert.DAY_MAX then
        fail(CONFLICT, 'at most ' .. cert.DAY_MAX .. ' certificates a day')
    end
    local ck = key(ctx, 'cert', hash)
    if redis.call('EXISTS', ck) == 1 then
        fail(CONFLICT, 'code in use; retry') -- 80 random bits: never
    end
    local hours, points, out = 0, 0, {}
    for i = 1, #rows do
        local r = rows[i]
        hours, points = hours + r.hours, points + r.points
        out[i] = {date = cert.iso(r.date), hours = r.hours, title = r.title}
    end
    hours, points = round2(hours), round2(points)
    -- Writes from here on.
    local n = redis.call('INCR', key(ctx, 'seq', 'cert'))
    local no = string.format('%s-%06d', ctx.city, n)
    redis.call('HSET', ck, 'n', no, 'user', user, 'name', name,
               'from', cert.iso(f), 'to', cert.iso(t), 'tasks', #rows,
               'hours', tostring(hours), 'points', tostring(points),
               'issuer', issuer, 'at', ctx.now)
    redis.call('INCR', dk)
    redis.call('EXPIRE', dk, 2 * 86400)
    return cmsgpack.pack({
        no = no, volunteer_id = user, name = name, region = region,
        from = cert.iso(f), to = cert.iso(t), tasks = #rows, hours = hours,
        points = points, issuer = issuer, issued_at = ctx.now, rows = out,
    })
end

-- wish_cert_verify {hash}: {genuine = false}, or the record's public
-- part. Read-only; one HGETALL. Any caller, guests included.
function cert.verify(keys, args)
    local ctx = context(keys, args)
    local hash = ctx.params.hash
    if type(hash) ~= 'string' or not string.find(hash, '^%x+$')
        or #hash ~= 64 then
        return cmsgpack.pack({genuine = false})
    end
    local v = redis.call('HMGET', key(ctx, 'cert', hash), 'n', 'name',
                         'from', 'to', 'tasks', 'hours', 'points',
                         'issuer', 'at')
    if not v[1] then return cmsgpack.pack({genuine = false}) end
    return cmsgpack.pack({
        genuine = true, no = v[1], name = v[2], from = v[3], to = v[4],
        tasks = tonumber(v[5]), hours = tonumber(v[6]),
        points = tonumber(v[7]), issuer = v[8], issued_at = tonumber(v[9]),
    })
end
