-- A revision of an article that joined an alert (updated in place, or re-issued as corrected
-- by the same outlet): record what it says now and, when the alert has been sent and the
-- change touches the development (`notify`), queue a Correction in the alert's thread and
-- flag the alert. Once per revision of each article.
-- KEYS: 1 outbox due zset, 2 the article's record, 3-13 the alert's keys (AlertKeys order,
--   `by_outlet` of ARGV[14]), then the outbox hash of the Correction for each sink.
-- ARGV: 1 now, 2 alert_id, 3 article, 4 matched rule, 5 content hash, 6 evidence,
--   7 headline, 8-10 the record's field names (content, evidence, headline), 11 payload
--   (json), 12 withdrawn ("1": the article no longer reports it), 13 notify ("1"), 14 outlet
--   (a withdrawn report stops counting for it), 15 the Correction's message key, then per
--   sink: name, entry name
local now, alert_id, article = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local rule, content, evidence, headline = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local f_content, f_evidence, f_headline = ARGV[8], ARGV[9], ARGV[10]
local payload, withdrawn, notify, outlet = ARGV[11], ARGV[12] == "1", ARGV[13] == "1", ARGV[14]
local msg = ARGV[15]
local rec = KEYS[2]
local akey, articles, sources, by = KEYS[3], KEYS[4], KEYS[5], KEYS[7]
local gone, gone_outlets = KEYS[12], KEYS[13]
if redis.call("HGET", rec, f_content) == content then return "duplicate" end
redis.call("HSET", rec, rule, alert_id, f_content, content, f_evidence, evidence,
  f_headline, headline)
redis.call("SADD", articles, article)
if withdrawn then
  redis.call("SADD", gone, article)
  if outlet ~= "" and redis.call("SREM", by, article) == 1
      and redis.call("SCARD", by) == 0 then
    redis.call("SREM", sources, outlet)  -- its only report is withdrawn
    redis.call("SADD", gone_outlets, outlet)
  end
elseif outlet ~= "" and redis.call("SISMEMBER", gone, article) == 1 then
  redis.call("SREM", gone, article)  -- reported again after all
  redis.call("SADD", by, article)
  redis.call("SADD", sources, outlet)
  redis.call("SREM", gone_outlets, outlet)
end
if not notify then return "unchanged" end
if redis.call("HGET", akey, "status") ~= "open" then return "held" end
redis.call("HSET", akey, "corrected", 1)
for i = 1, (#ARGV - 15) / 2 do
  local sink, entry, okey = ARGV[14 + 2 * i], ARGV[15 + 2 * i], KEYS[13 + i]
  if redis.call("EXISTS", okey) == 0 then
    redis.call("HSET", okey, "key", msg, "sink", sink, "kind", "revision", "alert", alert_id,
      "parent", alert_id, "payload", payload, "attempts", 0, "claims", 0, "status", "pending",
      "created", now)
    redis.call("ZADD", KEYS[1], now, entry)
  end
end
return "revised"
