-- A revision of an article that joined an alert (updated in place, or re-issued as corrected
-- by the same outlet): record what it says now and, when the alert has been sent and the
-- change touches the development (`notify`), queue a Correction in the alert's thread and
-- flag the alert. Once per revision of each article.
-- KEYS[1] outbox due zset.  ARGV: prefix, now, alert_id, article, matched rule, content hash,
--   evidence, headline, payload (json), sinks (comma separated), withdrawn ("1": the article
--   no longer reports it), notify ("1"), outlet (a withdrawn report stops counting for it)
local prefix, now, alert_id, article = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local rule, content, evidence, headline = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local payload, sinks = ARGV[9], ARGV[10]
local withdrawn, notify, outlet = ARGV[11] == "1", ARGV[12] == "1", ARGV[13] or ""
local rec = prefix .. ":article:" .. article
if redis.call("HGET", rec, rule .. ":content") == content then return "duplicate" end
redis.call("HSET", rec, rule, alert_id, rule .. ":content", content, rule .. ":evidence", evidence,
  rule .. ":headline", headline)
local akey = prefix .. ":alert:" .. alert_id
redis.call("SADD", akey .. ":articles", article)
if withdrawn then
  redis.call("SADD", akey .. ":withdrawn", article)
  if outlet ~= "" and redis.call("SREM", akey .. ":by:" .. outlet, article) == 1
      and redis.call("SCARD", akey .. ":by:" .. outlet) == 0 then
    redis.call("SREM", akey .. ":sources", outlet)  -- its only report is withdrawn
    redis.call("SADD", akey .. ":withdrawn_outlets", outlet)
  end
elseif outlet ~= "" and redis.call("SISMEMBER", akey .. ":withdrawn", article) == 1 then
  redis.call("SREM", akey .. ":withdrawn", article)  -- reported again after all
  redis.call("SADD", akey .. ":by:" .. outlet, article)
  redis.call("SADD", akey .. ":sources", outlet)
  redis.call("SREM", akey .. ":withdrawn_outlets", outlet)
end
if not notify then return "unchanged" end
if redis.call("HGET", akey, "status") ~= "open" then return "held" end
redis.call("HSET", akey, "corrected", 1)
local key = alert_id .. ":r:" .. article .. ":" .. string.sub(content, 1, 12)
for sink in string.gmatch(sinks, "[^,]+") do
  local entry = key .. "|" .. sink
  local okey = prefix .. ":outbox:" .. entry
  if redis.call("EXISTS", okey) == 0 then
    redis.call("HSET", okey, "key", key, "sink", sink, "kind", "revision", "alert", alert_id,
      "parent", alert_id, "payload", payload, "attempts", 0, "claims", 0, "status", "pending",
      "created", now)
    redis.call("ZADD", KEYS[1], now, entry)
  end
end
return "revised"
