-- Claim up to ARGV[3] due outbox entries: push each one lease ahead and count the claim.
-- KEYS[1] due zset.  ARGV: prefix, now, limit, lease_s
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[2], "LIMIT", 0, tonumber(ARGV[3]))
for _, entry in ipairs(due) do
  redis.call("ZADD", KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[4]), entry)
  redis.call("HINCRBY", ARGV[1] .. ":outbox:" .. entry, "claims", 1)
end
return due
