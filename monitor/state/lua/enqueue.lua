-- Enqueue one standalone message per sink, once per key (idempotent).
-- KEYS[1] due zset.  ARGV: prefix, now, key, kind, payload, sinks (comma separated)
for sink in string.gmatch(ARGV[6], "[^,]+") do
  local entry = ARGV[3] .. "|" .. sink
  local okey = ARGV[1] .. ":outbox:" .. entry
  if redis.call("EXISTS", okey) == 0 then
    redis.call("HSET", okey, "key", ARGV[3], "sink", sink, "kind", ARGV[4], "alert", ARGV[3],
      "parent", "", "payload", ARGV[5], "attempts", 0, "claims", 0, "status", "pending", "created", ARGV[2])
    redis.call("ZADD", KEYS[1], tonumber(ARGV[2]), entry)
  end
end
return 1
