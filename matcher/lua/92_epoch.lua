-- Uses: register (from 00_core.lua).
--
-- wish_epoch: moves a city's sequence counters well ahead, called by
-- wishd on a Redis Cluster before its first call of a city to a master
-- that did not serve the city before (server/cluster_epoch.h).
--
--   FCALL wish_epoch 1 {city}      -> the event counter after the move
--
-- Why: Redis replicates asynchronously. A master killed after running a
-- call, but before its replica had it, leaves the promoted replica with
-- the counters of before that call. The call's events may already have
-- been pushed live (PUBLISH runs with the call), so a session holds ids
-- the new master would give again: a session drops an event whose id it
-- has seen, and a resume from such an id skips the new events that reuse
-- it. Account-feed and archive numbers have the same hazard (an archive
-- acknowledgement up to N would cover an entry never read). Moving each
-- counter by EPOCH_STEP keeps every new number above any the lost calls
-- could have handed out: their count is bounded by what a master runs
-- before its replica has it, far below the step. Ids stay 16 digits for
-- 10^7 moves. Ids people read (tasks T<n>, certificates) are not moved:
-- a number given twice there belongs to a call nobody was told succeeded.
-- A migration moves the counters with the keys: the call is then
-- harmless, and wishd makes it on any change of owner.
do
    local EPOCH_STEP = 1000000000
    local COUNTERS = {'event', 'acctfeed', 'archive'}
    register('wish_epoch', function(keys)
        local event = 0
        for i = 1, #COUNTERS do
            local n = redis.call('INCRBY', keys[1] .. ':seq:'
                                 .. COUNTERS[i], EPOCH_STEP)
            if i == 1 then event = n end
        end
        return event
    end)
end
