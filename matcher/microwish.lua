#!lua name=microwish
--
-- microwish.lua -- the Redis Functions library of microwish.
--
-- Every rule that must hold across clients and daemons is enforced inside
-- one function call here. Conventions:
--   * Functions return a MessagePack string (cmsgpack.pack) that wishd
--     forwards to the client as the result, unchanged.
--   * Errors are error replies "CODE message", CODE one of the protocol's
--     error names (BAD_REQUEST, NOT_FOUND, CONFLICT, ...).
--   * Every argument is validated before the first write: Lua has no
--     rollback.
--   * Time comes from the daemon as an argument, never from Redis.

-- wish_me: the caller's profile.
-- KEYS[1] the user hash; ARGV: user id, role, region (from its token).
local function wish_me(keys, args)
    local user, role, region = args[1], args[2], args[3]
    local h = redis.call('HMGET', keys[1], 'name', 'hours', 'points',
                         'rating_sum', 'rating_count', 'active')
    local me = {user = user, role = role, region = region,
                name = h[1] or user}
    if role == 'volunteer' then
        local count = tonumber(h[5]) or 0
        me.hours = tonumber(h[2]) or 0
        me.points = tonumber(h[3]) or 0
        me.rating = count > 0 and (tonumber(h[4]) / count) or 0
        me.active = tonumber(h[6]) or 0
    end
    return cmsgpack.pack(me)
end

redis.register_function{function_name = 'wish_me', callback = wish_me,
                        flags = {'no-writes'}}
