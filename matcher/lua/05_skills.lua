-- Uses: check_skill, CONFLICT, context, fail, field_fail, key, want_role,
--   want_str, want_table (from 00_core.lua).
--
-- The skill catalogue: the codes tasks and volunteers may name, each with
-- words people read (zh first, en), per city.
--
-- {city}:skills  HASH  code -> MessagePack {zh, en}: the entries an admin
--                      defined (skill.define), new codes and new words for
--                      default ones alike
--
-- A city starts with DEFAULT_SKILLS without anyone acting, because the
-- table is part of the library, not of the city's keys: it is there for a
-- city nobody has seen yet, on every daemon, and after a Redis restart
-- without persistence, with nothing to seed and no race between two
-- daemons seeding. Checking a default code reads nothing from Redis; any
-- other code costs one HEXISTS (a profile's list: one HMGET).

-- The common services of the city's civilisation practice centres:
-- code -> {zh, en}.
local DEFAULT_SKILLS = {
    calligraphy = {'书法春联', 'calligraphy and spring couplets'},
    cleaning = {'打扫卫生', 'cleaning'},
    digital = {'手机教学', 'phone and computer help'},
    elder_care = {'助老陪伴', 'elder care and company'},
    errand = {'跑腿代办', 'errands'},
    haircut = {'义务理发', 'haircut'},
    legal = {'法律援助', 'legal aid'},
    meals = {'助餐送餐', 'meals'},
    medical = {'医疗健康', 'medical care'},
    psychology = {'心理疏导', 'counselling'},
    repair = {'维修服务', 'repairs'},
    rescue = {'应急救援', 'emergency rescue'},
    shopping = {'代买代购', 'shopping'},
    transport = {'出行接送', 'transport'},
    tutoring = {'课业辅导', 'tutoring'},
    visiting = {'探访慰问', 'home visits'},
}

-- Entries skill.define may add to one city: bounds the catalogue, hence
-- `skills`' work and its answer (~200 KB at most).
local SKILLS_MAX = 1000

-- Refuses an unknown code of field `name`, naming where people find the
-- known ones.
local function unknown_skill(name, code)
    field_fail(name, "unknown skill '" .. code
               .. "' (see the catalogue: wishctl skills)")
end

-- The skill of field `name`: required, of the skill grammar, and in the
-- catalogue (a default code, or one defined for this city).
local function want_skill(ctx, p, name)
    local v = p[name]
    if v == nil then field_fail(name, 'required') end
    -- The grammar implies what want_str would check (a string, not
    -- blank, ASCII): ~6 k instructions of C calls spared.
    check_skill(name, v)
    if not DEFAULT_SKILLS[v]
        and redis.call('HEXISTS', key(ctx, 'skills'), v) == 0 then
        unknown_skill(name, v)
    end
    return v
end

-- The list of skills of field `name` (at most `max`; nil when absent),
-- each as want_skill() wants it; one HMGET for the codes that are not
-- defaults, none when all are.
local function want_skills(ctx, p, name, max)
    local list = want_table(p, name, max, true)
    if not list then return nil end
    local other = {}
    for _, s in ipairs(list) do
        check_skill(name, s)
        if not DEFAULT_SKILLS[s] then other[#other + 1] = s end
    end
    if #other > 0 then
        local got = redis.call('HMGET', key(ctx, 'skills'), unpack(other))
        for i, s in ipairs(other) do
            if not got[i] then unknown_skill(name, s) end
        end
    end
    return list
end

-- A label: 1..64 bytes of valid UTF-8 on one line (it is shown in
-- tables and sentences).
local function want_label(p, name)
    local v = want_str(p, name, 1, 64)
    if string.find(v, '%c') then
        field_fail(name, 'must not hold control characters')
    end
    return v
end

-- skill.define {code, zh, en} (admin): adds a code to the city's
-- catalogue, or gives a code (a default one too) new words. The same
-- call again changes nothing. -> {code, zh, en}
local function wish_skill_define(keys, args)
    local ctx = context(keys, args)
    want_role(ctx, 'admin')
    local p = ctx.params
    local code = check_skill('code', want_str(p, 'code', 1, 32))
    local zh, en = want_label(p, 'zh'), want_label(p, 'en')
    local k = key(ctx, 'skills')
    if redis.call('HEXISTS', k, code) == 0
        and redis.call('HLEN', k) >= SKILLS_MAX then
        fail(CONFLICT, 'the catalogue holds ' .. SKILLS_MAX
             .. ' skills, the most allowed')
    end
    redis.call('HSET', k, code, cmsgpack.pack({zh = zh, en = en}))
    return cmsgpack.pack({code = code, zh = zh, en = en})
end

-- skills (any role): the city's catalogue, the defaults with the
-- entries defined over them, by code. -> [{code, zh, en}]
local function wish_skills(keys, args)
    local ctx = context(keys, args)
    local words = {}
    for code, w in pairs(DEFAULT_SKILLS) do
        words[code] = {zh = w[1], en = w[2]}
    end
    local flat = redis.call('HGETALL', key(ctx, 'skills'))
    for i = 1, #flat, 2 do
        words[flat[i]] = cmsgpack.unpack(flat[i + 1])
    end
    local codes = {}
    for code in pairs(words) do codes[#codes + 1] = code end
    table.sort(codes)
    local out = {}
    for i, code in ipairs(codes) do
        out[i] = {code = code, zh = words[code].zh, en = words[code].en}
    end
    return cmsgpack.pack(out)
end
