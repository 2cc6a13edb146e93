-- Uses: CONFLICT, context, fail, field_fail, key (from 00_core.lua).
--
-- Creating calls made once. A client whose request was answered
-- UNAVAILABLE after a store timeout cannot know whether it was made (the
-- call reached Redis; the answer did not come back in time). Retrying a
-- wish.submit, task.post, menu.order or menu.post would then make a
-- second task. So these take an optional `request_id`, chosen by the
-- client and sent again, unchanged, with every retry of one request: the
-- first call that succeeds stores its result under it, in the same
-- atomic call, and a later call with the same id returns that result
-- without doing anything. Refused calls store nothing (a retry is judged
-- afresh). The same id with other fields is CONFLICT: the client reused
-- an id by mistake, and silently answering the old result would hide it.
--
-- {city}:req:<user>:<request_id>  STRING  sha1 of the packed params (40
--                                         hex digits), then the packed
--                                         result; expires request-ttl
--                                         seconds after it was made
--
-- Other state changes need no id: a retried claim, accept, cancel,
-- confirm, rate or review is refused with CONFLICT once the first went
-- through, and volunteer.update and ack come out the same.

local REQUEST_ID_MAX = 64

-- Wraps the function of a creating call: `fn(keys, args)` runs at most
-- once per (caller, request_id) within request-ttl.
local function made_once(fn)
    return function(keys, args)
        -- Calls without the field (most) pay no extra unpacking.
        if not string.find(args[3], 'request_id', 1, true) then
            return fn(keys, args)
        end
        local ctx = context(keys, args)
        local rid = ctx.params.request_id
        if rid == nil then return fn(keys, args) end
        if type(rid) ~= 'string' or #rid < 1 or #rid > REQUEST_ID_MAX
            or string.find(rid, '[^A-Za-z0-9_.%-]') then
            field_fail('request_id', 'must be 1..' .. REQUEST_ID_MAX
                       .. ' characters of [A-Za-z0-9_.-]')
        end
        local k = key(ctx, 'req', ctx.caller.user, rid)
        local digest = redis.sha1hex(args[3])
        local first = redis.call('GET', k)
        if first then
            if string.sub(first, 1, 40) ~= digest then
                fail(CONFLICT, 'request_id ' .. rid .. ' was used for a '
                     .. 'different request')
            end
            return string.sub(first, 41)
        end
        local result = fn(keys, args)
        redis.call('SET', k, digest .. result, 'EX', ctx.cfg.request_ttl)
        return result
    end
end
