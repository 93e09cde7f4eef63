-- Enqueue one standalone message per sink, once per key (idempotent).
-- KEYS[1] due zset, KEYS[1 + i] the outbox hash of the i-th entry.
-- ARGV: now, key, kind, payload, then per sink: sink, its entry name
local now, key, kind, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
for i = 1, (#ARGV - 4) / 2 do
  local sink, entry, okey = ARGV[3 + 2 * i], ARGV[4 + 2 * i], KEYS[1 + i]
  if redis.call("EXISTS", okey) == 0 then
    redis.call("HSET", okey, "key", key, "sink", sink, "kind", kind, "alert", key,
      "parent", "", "payload", payload, "attempts", 0, "claims", 0, "status", "pending",
      "created", now)
    redis.call("ZADD", KEYS[1], tonumber(now), entry)
  end
end
return 1
