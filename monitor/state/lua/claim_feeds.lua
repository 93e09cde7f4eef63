-- Claim up to ARGV[2] feeds that are due: push each one lease ahead (so no other poller
-- takes it while this one polls, and a poller that dies gives it back when the lease ends)
-- and return them with the time each was due, oldest first.
-- KEYS[1] the feeds' due zset.  ARGV: now, limit, lease_s
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[3])
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "WITHSCORES", "LIMIT", 0, tonumber(ARGV[2]))
for i = 1, #due, 2 do
  redis.call("ZADD", KEYS[1], now + lease, due[i])
end
return due
