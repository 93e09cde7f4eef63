-- End a sink's outage, once: the caller that clears it learns since when it was down and
-- whether the desk was told (so exactly one sender re-sends dead letters and says so).
-- KEYS[1] sinks-down hash.  ARGV: sink
local since = redis.call("HGET", KEYS[1], ARGV[1])
if not since then return false end
local told = redis.call("HGET", KEYS[1], ARGV[1] .. ":told") or "0"
redis.call("HDEL", KEYS[1], ARGV[1], ARGV[1] .. ":told", ARGV[1] .. ":probed")
return {since, told}
