-- Claim outbox entries that are still due: push each one lease ahead and count the claim.
-- An entry another sender claimed since the caller read the due set is skipped (its due
-- time is past `now` already).
-- KEYS[1] due zset, KEYS[1 + i] the outbox hash of ARGV[2 + i].  ARGV: now, lease_s, entries
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local claimed = {}
for i = 3, #ARGV do
  local score = redis.call("ZSCORE", KEYS[1], ARGV[i])
  if score and tonumber(score) <= now then
    redis.call("ZADD", KEYS[1], now + lease, ARGV[i])
    redis.call("HINCRBY", KEYS[i - 1], "claims", 1)
    claimed[#claimed + 1] = ARGV[i]
  end
end
return claimed
