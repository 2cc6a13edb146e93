-- Uses: BAD, context, coord, fail, hgetall, is_list, is_time, key, want_bool,
--   want_city_place, want_num, want_role, want_str, want_table (from
--   00_core.lua); want_skills (from 05_skills.lua).
--
-- Volunteers: profile, availability, listing in the candidate sets.
--
-- {city}:user:<id>        HASH  one per user, fields named by UF below:
--                               name region skills(csv) lon lat radius
--                               available hours points balance (see
--                               45_ledger.lua); record: what the matcher
--                               reads of a candidate, packed (RECORD
--                               below: max_active, one-off windows,
--                               active, offers out to it, rating sum and
--                               count, last_at, recent, weekly slots). A
--                               profile of an older library holds these
--                               as fields apart (max_active weekly nwins
--                               active recent last_at rating_sum
--                               rating_count offers) until its next write
-- {city}:user:<id>:win    ZSET  one-off windows "start-end" by start
-- {city}:user:<id>:asg    ZSET  live assignments "<task>|<end>" by start
-- {city}:geo:vol:<skill>  GEO   available volunteers with the skill; a
--                               member is the id, "\0", then what the
--                               matcher checks before reading the profile
--                               (GEO_MEMBER below)
-- {city}:dens:<skill>     HASH  cell -> volunteers listed there, for the
--                               first search radius of a match; and "~",
--                               whose long value keeps it a hash table
--                               (GEO_MEMBER.DENS_TABLE)

-- The stored names of the user hash's fields. Every volunteer has one of
-- these hashes and a city has a million volunteers: in a listpack each
-- field name is stored in every hash, so one letter instead of words like
-- "max_active" saves about 50 bytes a volunteer.
local UF = {
    name = 'n', region = 'g', skills = 's', lon = 'x', lat = 'y',
    radius = 'r', max_active = 'm', available = 'a', weekly = 'w',
    nwins = 'o', active = 'c', recent = 'f', last_at = 'l',
    rating_sum = 'rs', rating_count = 'rn', hours = 'h', points = 'p',
    offers = 'q',
    -- the points balance in hundredths, moved only with its ledger
    -- (45_ledger.lua)
    balance = 'b',
    -- the matcher's fields of the volunteer in one value (RECORD); an
    -- older library's profile has the nine fields above it replaces
    -- (RECORD.OLD) instead
    record = 'k',
}

local DEFAULT_RADIUS, DEFAULT_MAX_ACTIVE = 5000, 2
local CELL_DEG = 0.02 -- density cells of about 2.2 km x 1.8 km at Jinan
local HALF_LIFE = 7 * 86400 -- of the "recent assignments" count

-- What the matcher reads of a candidate, packed into one field of its
-- hash (UF.record; issue 19): read with one HGET and one struct.unpack,
-- where nine fields cost an HMGET, its reply table and a conversion
-- each (~31 k instructions against ~9 k a candidate). Two forms, told
-- apart by their length modulo 5 (a weekly slot's size):
--   full, RECORD.FORMAT (big endian, RECORD.SIZE = 26 bytes: 1 mod 5):
--     max_active u8 (1..20), windows u8 (one-off windows: 0..32), active
--     i16, offers i16 (out to it), rating_sum u32, rating_count u32
--     (whole stars and ratings), last_at u32 (Unix seconds), recent
--     double (the decayed count, exact: ranks are the same as when it
--     was stored as text);
--   short, RECORD.SHORT = 2 bytes (2 mod 5): max_active, windows; every
--     count 0: a volunteer never offered, assigned or rated (most of a
--     city) stores 24 bytes less;
-- then the weekly slots (encode_weekly) to the end. Signed counts: a
-- count an operator or a bug set wrong shows as what it is to
-- wish_check, not as 65535. Every reader and writer goes through RECORD:
-- a profile an older library wrote has the nine fields RECORD.OLD
-- instead; it is read from them (RECORD.legacy), and its first write
-- replaces them by the record (RECORD.put).
local RECORD = {FORMAT = '>BBhhIIId', SIZE = 26, SHORT = 2}

-- The fields the record replaces, in RECORD.legacy's order.
RECORD.OLD = {UF.max_active, UF.active, UF.offers, UF.weekly, UF.nwins,
              UF.recent, UF.last_at, UF.rating_sum, UF.rating_count}

-- Where the weekly slots of record `raw` start.
function RECORD.weekly_at(raw)
    if #raw % 5 == RECORD.SHORT then return RECORD.SHORT + 1 end
    return RECORD.SIZE + 1
end

-- The values of record `raw`: max_active, windows, active, offers,
-- rating_sum, rating_count, last_at, recent, and where its weekly slots
-- start.
function RECORD.unpack(raw)
    if #raw % 5 == RECORD.SHORT then
        local max_active, windows = string.byte(raw, 1, 2)
        return max_active, windows, 0, 0, 0, 0, 0, 0, RECORD.SHORT + 1
    end
    return struct.unpack(RECORD.FORMAT, raw)
end

-- True when `raw` has the length of a record (wish_check).
function RECORD.valid(raw)
    local r = #raw % 5
    return r == RECORD.SHORT
        or (r == RECORD.SIZE % 5 and #raw >= RECORD.SIZE)
end

-- The record of these values and encoded weekly slots, in the short form
-- when every count is 0 (last_at counts only with recent: decayed).
function RECORD.pack(max_active, windows, active, offers, rating_sum,
                     rating_count, last_at, recent, weekly)
    if active == 0 and offers == 0 and rating_count == 0 and recent == 0 then
        return string.char(max_active, windows) .. weekly
    end
    return struct.pack(RECORD.FORMAT, max_active, windows, active, offers,
                       rating_sum, rating_count, last_at, recent) .. weekly
end

-- Record `raw` with these values, its weekly slots kept.
function RECORD.with(raw, max_active, windows, active, offers, rating_sum,
                     rating_count, last_at, recent)
    return RECORD.pack(max_active, windows, active, offers, rating_sum,
                       rating_count, last_at, recent,
                       string.sub(raw, RECORD.weekly_at(raw)))
end

-- The record of user hash `uk` made from an older library's fields
-- (defaults for those missing: a profile never written reads as a fresh
-- one), and true when it had any of them (RECORD.put then removes them).
function RECORD.legacy(uk)
    local v = redis.call('HMGET', uk, unpack(RECORD.OLD))
    local had = false
    for i = 1, #RECORD.OLD do
        if v[i] then had = true end
    end
    return RECORD.pack((v[1] or DEFAULT_MAX_ACTIVE) + 0, (v[5] or 0) + 0,
                       (v[2] or 0) + 0, (v[3] or 0) + 0, (v[8] or 0) + 0,
                       (v[9] or 0) + 0, (v[7] or 0) + 0, (v[6] or 0) + 0,
                       v[4] or ''), had
end

-- The record of user hash `uk` and whether it still has to replace an
-- older library's fields (RECORD.put's `legacy`).
function RECORD.read(uk)
    local raw = redis.call('HGET', uk, UF.record)
    if raw then return raw, false end
    return RECORD.legacy(uk)
end

-- The record of user hash `uk` and its name, in one HMGET: {record,
-- name (false when none), true when the record was made from an older
-- library's fields (RECORD.put's `legacy`)}: what an assignment reads.
function RECORD.read_named(uk)
    local v = redis.call('HMGET', uk, UF.record, UF.name)
    if not v[1] then v[1], v[3] = RECORD.legacy(uk) end
    return v
end

-- Record `raw` with its counts moved by these deltas: its live
-- assignments (a release), its offers out (an offer made or closed), its
-- rating's stars and count (a rating); the rest kept.
function RECORD.counted(raw, d_active, d_offers, d_stars, d_ratings)
    local ma, nw, active, offers, rs, rc, la, recent, at = RECORD.unpack(raw)
    return RECORD.pack(ma, nw, active + d_active, offers + d_offers,
                       rs + d_stars, rc + d_ratings, la, recent,
                       string.sub(raw, at))
end

-- Writes record `raw` to user hash `uk`; `legacy` (RECORD.read's) takes
-- the older library's fields out in the same call, so that nothing is
-- stored twice.
function RECORD.put(uk, raw, legacy)
    if legacy then redis.call('HDEL', uk, unpack(RECORD.OLD)) end
    redis.call('HSET', uk, UF.record, raw)
end

-- "%d": whole numbers concatenated would each be formatted with "%.14g"
-- (the same text, by the slow float path).
local function cell_of(lon, lat)
    return string.format('%d,%d', math.floor(lon / CELL_DEG),
                         math.floor(lat / CELL_DEG))
end

-- Square metres of the density cell at a latitude.
local function cell_area(lat)
    local side = CELL_DEG * 111320
    return side * side * math.max(0.01, math.cos(math.rad(lat)))
end

-- A count of recent assignments that halves every week.
local function decayed(recent, last_at, now)
    if recent <= 0 then return 0 end
    return recent * 0.5 ^ (math.max(0, now - last_at) / HALF_LIFE)
end

local function split_csv(s)
    local out = {}
    if s then
        for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end
    end
    return out
end

-- A volunteer's member in the GEO sets (issue 19): the id, "\0", a flag
-- byte, its radius in metres (two bytes, big endian: at most 50 000),
-- the weekdays it may serve on (one byte: bit d set when its weekly
-- slots hold some of weekday d, 0 = Sunday; all seven when it has one-off
-- windows, which the byte cannot tell) and its scope: flag 1, the scope
-- without "<city>/" ("" for the whole city: every byte counts a million
-- times); flag 2, a scope outside the city, whole; flag 0, none; the
-- flag plus DAYS_FLAG says the weekday byte is there. The matcher
-- (candidate_rank, 20_match.lua) turns away a candidate out of its
-- radius, off on the task's weekday or out of its scope from what
-- GEOSEARCH returned, with no read. Ids are [A-Za-z0-9_.@-], every byte
-- above "\0", so members sort as the bare ids did and GEOSEARCH meets
-- equal distances in the same order. Members of older libraries are
-- still matched: one without the weekday byte (flag below DAYS_FLAG) is
-- read for its week with the rest, a bare id (no "\0") for its radius
-- and scope too; volunteer.update lists either anew. What the member
-- holds changes only there, through vol_unlist with the old values and
-- vol_list with the new.
local GEO_MEMBER = {DAYS_FLAG = 8}

-- The weekday byte of a volunteer's record (RECORD): its weekly slots
-- (encode_weekly below) after the fixed part, its count of one-off
-- windows the second byte.
function GEO_MEMBER.days(record)
    if string.byte(record, 2) > 0 then return 127 end
    local seen, days = {}, 0
    for i = RECORD.weekly_at(record), #record, 5 do
        local d = string.byte(record, i)
        if not seen[d] then
            seen[d] = true
            days = days + 2 ^ d
        end
    end
    return days
end

-- The member of a volunteer with these radius and scope, as stored
-- (strings or nil) or as given, and record (RECORD: its weekly slots and
-- one-off windows); with `legacy`, the one an older library made of
-- radius and scope alone (no weekday byte), so that vol_unlist takes it
-- out too.
function GEO_MEMBER.make(ctx, user, radius, scope, record, legacy)
    local r = tonumber(radius) or DEFAULT_RADIUS
    local flag, rest = 0, ''
    if scope == ctx.city then
        flag = 1
    elseif scope and string.sub(scope, 1, #ctx.city + 1) == ctx.city .. '/'
    then
        flag, rest = 1, string.sub(scope, #ctx.city + 2)
    elseif scope then
        flag, rest = 2, scope
    end
    local head = string.char(flag, math.floor(r / 256), r % 256)
    if not legacy then
        head = string.char(flag + GEO_MEMBER.DAYS_FLAG, math.floor(r / 256),
                           r % 256, GEO_MEMBER.days(record))
    end
    return user .. '\0' .. head .. rest
end

-- For weekday wd, the set of weekday bytes that have it: looked up by
-- the byte itself, so the matcher tests a bit with one index. Made on
-- first use (the library's load may not call string or math).
do
    local on = {}
    function GEO_MEMBER.on_day(wd)
        local set = on[wd]
        if not set then
            set = {}
            for b = 0, 127 do
                set[b] = math.floor(b / 2 ^ wd) % 2 == 1
            end
            on[wd] = set
        end
        return set
    end
end

-- Takes a volunteer out of (or puts it into) the candidate GEO sets of
-- its skills, keeping the density counts in step. `member` is
-- GEO_MEMBER.make's of what it held (the old values when it leaves);
-- `legacy` the same made as an older library did: a volunteer listed by
-- it, or as a bare id before members carried anything, is taken out too.
local function vol_unlist(ctx, user, member, legacy, skills_csv, lon, lat)
    if not lon then return end
    local cell = cell_of(lon, lat)
    for _, skill in ipairs(split_csv(skills_csv)) do
        if redis.call('ZREM', key(ctx, 'geo', 'vol', skill), member, legacy,
                      user) >= 1 then
            local dk = key(ctx, 'dens', skill)
            if redis.call('HINCRBY', dk, cell, -1) <= 0 then
                redis.call('HDEL', dk, cell)
            end
        end
    end
end

-- A density hash of up to 128 cells (a town's, a skill few offer) is a
-- listpack by Redis's defaults, and every match's HGET of its cell then
-- walks it: 17.5 k instructions at 3 000 volunteers, against ~1.2 k for
-- a hash table. A value longer than hash-max-listpack-value (64) turns a
-- hash into a table for good (an RDB reload too), so the hash carries
-- one, under a name no cell has ("x,y" numbers), set when a cell is new.
GEO_MEMBER.DENS_TABLE = {'~', 'this value is longer than a listpack '
    .. 'entry may be, so that this hash stays a hash table: each match '
    .. 'finds its cell in O(1) (docs/matching.md)'}

local function vol_list(ctx, member, skills_csv, lon, lat)
    local cell = cell_of(lon, lat)
    for _, skill in ipairs(split_csv(skills_csv)) do
        if redis.call('GEOADD', key(ctx, 'geo', 'vol', skill), lon, lat,
                      member) == 1 then
            local dk = key(ctx, 'dens', skill)
            if redis.call('HINCRBY', dk, cell, 1) == 1 then
                local table_mark = GEO_MEMBER.DENS_TABLE
                redis.call('HSETNX', dk, table_mark[1], table_mark[2])
            end
        end
    end
end

-- "HH:MM" -> minutes of the day, or nil.
local function parse_hhmm(s)
    if type(s) ~= 'string' then return nil end
    local h, m = string.match(s, '^(%d%d?):(%d%d)$')
    h, m = tonumber(h), tonumber(m)
    if not h or h > 24 or m > 59 or h * 60 + m > 1440 then return nil end
    return h * 60 + m
end

-- Validates `weekly` and encodes it in five bytes a slot: the weekday,
-- then the first and the last minute (0..1440), two bytes each, big
-- endian. A third of the text form's size, and the matcher reads it with
-- string.byte: no pattern, no number parsing.
local WEEKLY_SLOT = 5

local function encode_weekly(list)
    local parts = {}
    for _, slot in ipairs(list) do
        local d = type(slot) == 'table' and is_list(slot) and slot[1]
        local a = type(slot) == 'table' and parse_hhmm(slot[2])
        local b = type(slot) == 'table' and parse_hhmm(slot[3])
        if type(d) ~= 'number' or d < 0 or d > 6 or math.floor(d) ~= d
            or not a or not b or b <= a then
            fail(BAD, "field 'weekly': each slot is [weekday 0-6, "
                 .. '"HH:MM", "HH:MM"] with the end after the start')
        end
        parts[#parts + 1] = string.char(d, math.floor(a / 256), a % 256,
                                        math.floor(b / 256), b % 256)
    end
    return table.concat(parts)
end

-- The slots of an encoded `weekly` from byte `first` on, as given.
local function decode_weekly(s, first)
    local out = {}
    for i = first, #s - WEEKLY_SLOT + 1, WEEKLY_SLOT do
        local d, a1, a2, b1, b2 = string.byte(s, i, i + WEEKLY_SLOT - 1)
        local a, b = a1 * 256 + a2, b1 * 256 + b2
        out[#out + 1] = {d,
            string.format('%02d:%02d', math.floor(a / 60), a % 60),
            string.format('%02d:%02d', math.floor(b / 60), b % 60)}
    end
    return out
end

-- Where a span falls in the city's week: the weekday (0 = Sunday) and
-- the minutes of the day it starts and ends (the end may pass 1440).
local function week_place(ctx, s, e)
    local ls = s + ctx.cfg.tz_offset * 60
    local from = (ls % 86400) / 60
    return (math.floor(ls / 86400) + 4) % 7, -- 1970-01-01: Thursday
        from, from + (e - s) / 60
end

-- The latest end of the slots of weekday wd in an encoded `weekly`, from
-- byte `first` on (a record's: RECORD.unpack), that hold minute `at`
-- (start <= at < end), or nil when none does.
local function slot_reach(weekly, first, wd, at)
    local reach
    for i = first, #weekly - WEEKLY_SLOT + 1, WEEKLY_SLOT do
        local d, a1, a2, b1, b2 = string.byte(weekly, i, i + WEEKLY_SLOT - 1)
        local b = b1 * 256 + b2
        if d == wd and a1 * 256 + a2 <= at and b > at
            and (not reach or b > reach) then
            reach = b
        end
    end
    return reach
end

-- True when [from, to] (minutes; `to` may pass 1440) of weekday wd is
-- covered by the slots of an encoded `weekly` from byte `first` on (a
-- record's slots, read in place: no string made). Slots that touch join:
-- a volunteer free Monday 20:00-24:00 and Tuesday 00:00-02:00 is free
-- for a task from 23:30 to 00:30, and 08:00-10:30 with 10:30-12:00 holds
-- 10:00-11:00. Each step moves `from` to a later slot end, so the walk
-- ends; the usual task needs one step.
local function fits_weekly(weekly, first, wd, from, to)
    if #weekly < first then return false end
    while true do
        local reach = slot_reach(weekly, first, wd, from)
        if not reach then return false end
        if to <= reach then return true end
        if reach < 1440 then
            from = reach
        else -- on into the next day
            wd, from, to = (wd + 1) % 7, 0, to - 1440
        end
    end
end

-- True when [s, e] lies inside one of the volunteer's one-off windows.
local function fits_oneoff(ctx, user, s, e)
    local wins = redis.call('ZREVRANGEBYSCORE', key(ctx, 'user', user, 'win'),
                            s, '-inf', 'LIMIT', 0, 8)
    for i = 1, #wins do
        local we = string.match(wins[i], '%-(%d+)$')
        if we and we + 0 >= e then return true end
    end
    return false
end

-- The id of a live assignment of the volunteer overlapping [s, e], or nil.
-- s and e are whole seconds: their bounds are made by "%d", not by
-- concatenation ("%.14g", the float path of printf).
local function clash(ctx, user, s, e)
    local list = redis.call('ZRANGEBYSCORE', key(ctx, 'user', user, 'asg'),
                            string.format('(%d', s - ctx.cfg.max_span),
                            string.format('(%d', e))
    for i = 1, #list do
        local tid, te = string.match(list[i], '^([^|]+)|(%d+)$')
        if te + 0 > s then return tid end
    end
    return nil
end

-- Raises BAD_REQUEST unless every window is a [start, end] pair of whole
-- Unix seconds (no NaN, no inf: they would fail only at the write, after
-- the profile had changed) with end after start.
local function check_windows(windows)
    for _, w in ipairs(windows) do
        if type(w) ~= 'table' or not is_list(w) or #w ~= 2
            or not is_time(w[1]) or not is_time(w[2]) or w[2] <= w[1] then
            fail(BAD, "field 'windows': each window is [start, end] "
                 .. 'in whole Unix seconds with end after start')
        end
    end
end

-- The profile of a volunteer as volunteer.update returns it.
local function profile_view(ctx, user)
    local uk = key(ctx, 'user', user)
    local v = hgetall(uk) or {}
    local rec = v[UF.record] or RECORD.legacy(uk)
    local wins = {}
    local raw = redis.call('ZRANGE', key(ctx, 'user', user, 'win'), 0, -1)
    for _, w in ipairs(raw) do
        local a, b = string.match(w, '^(%d+)%-(%d+)$')
        wins[#wins + 1] = {tonumber(a), tonumber(b)}
    end
    return {
        user = user, name = v[UF.name] or user,
        skills = split_csv(v[UF.skills]),
        lon = tonumber(v[UF.lon]), lat = tonumber(v[UF.lat]),
        radius = tonumber(v[UF.radius]) or DEFAULT_RADIUS,
        max_active = string.byte(rec, 1),
        windows = wins, weekly = decode_weekly(rec, RECORD.weekly_at(rec)),
        available = v[UF.available] == '1',
    }
end

-- volunteer.update: any of name, skills, lon+lat, radius, max_active,
-- windows, weekly, available. Only the given fields change.
local function wish_volunteer_update(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'volunteer')
    local p, user = ctx.params, ctx.caller.user

    local name = want_str(p, 'name', 1, 64, true)
    local skills = want_skills(ctx, p, 'skills', 16)
    local lon, lat = want_city_place(ctx, p, true)
    local radius = want_num(p, 'radius', 100, 50000, true, true)
    local max_active = want_num(p, 'max_active', 1, 20, true, true)
    local windows = want_table(p, 'windows', 32, true)
    if windows then check_windows(windows) end
    local weekly = want_table(p, 'weekly', 28, true)
    weekly = weekly and encode_weekly(weekly)
    local available = want_bool(p, 'available', true)

    -- Every field is valid: now write.
    local uk = key(ctx, 'user', user)
    local old = redis.call('HMGET', uk, UF.skills, UF.lon, UF.lat, UF.radius,
                           UF.region)
    local rec, legacy = RECORD.read(uk)
    vol_unlist(ctx, user, GEO_MEMBER.make(ctx, user, old[4], old[5], rec),
               GEO_MEMBER.make(ctx, user, old[4], old[5], nil, true),
               old[1], tonumber(old[2]), tonumber(old[3]))

    local set = {UF.region, ctx.caller.region}
    local function put(f, v)
        if v ~= nil then set[#set + 1] = f; set[#set + 1] = v end
    end
    put(UF.name, name)
    put(UF.skills, skills and table.concat(skills, ','))
    put(UF.lon, lon and coord(lon))
    put(UF.lat, lat and coord(lat))
    put(UF.radius, radius)
    if available ~= nil then put(UF.available, available and '1' or '0') end
    redis.call('HSET', uk, unpack(set))

    -- max_active, the count of one-off windows (the matcher reads the
    -- windows only of those who have some) and the weekly slots live in
    -- the record.
    local ma, nw, active, offers, rs, rc, la, recent, at = RECORD.unpack(rec)
    if windows then
        local wk = key(ctx, 'user', user, 'win')
        redis.call('DEL', wk)
        for _, w in ipairs(windows) do
            redis.call('ZADD', wk, w[1],
                       string.format('%d-%d', w[1], w[2]))
        end
        nw = #windows
    end
    rec = RECORD.pack(max_active or ma, nw, active, offers, rs, rc, la, recent,
                      weekly or string.sub(rec, at))
    RECORD.put(uk, rec, legacy)

    local now = redis.call('HMGET', uk, UF.skills, UF.lon, UF.lat,
                           UF.available, UF.radius, UF.region)
    if now[4] == '1' and now[2] then
        vol_list(ctx, GEO_MEMBER.make(ctx, user, now[5], now[6], rec),
                 now[1], tonumber(now[2]), tonumber(now[3]))
    end
    return cmsgpack.pack(profile_view(ctx, user))
end
