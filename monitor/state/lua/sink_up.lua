-- End a sink's outage, once: the caller that clears it learns since when it was down and
-- whether the desk was told (so exactly one sender re-sends dead letters and says so).
-- KEYS[1] sinks-down hash.  ARGV: sink, its "told" field, its "probed" field
local since = redis.call("HGET", KEYS[1], ARGV[1])
if not since then return false end
local told = redis.call("HGET", KEYS[1], ARGV[2]) or "0"
redis.call("HDEL", KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return {since, told}
