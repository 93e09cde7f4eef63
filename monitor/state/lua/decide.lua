-- Decide what an article matching a rule means, and enqueue the resulting messages,
-- in one atomic step (so a crash can never separate the decision from the outbox write).
-- KEYS[1] open pointer (rule, group)   KEYS[2] outbox due zset   KEYS[3] alerts index
-- KEYS[4] last alert of (rule, group), kept past the window for old news
-- ARGV: prefix, now, window_s, new_alert_id, article_id, source, story_id, min_sources,
--       payload (json), rule, group, sinks (comma separated), follows_only ("1": correction),
--       due (quiet hours), due_email (digest period end), digest index key ("" if none),
--       disputer (a walk-back: who disputes; kept in the alert's :disputers set),
--       matched rule id, content hash, evidence sentence, headline (the article's record, so a
--       later revision of the article can be compared with what was alerted),
--       old-news horizon (s): a development reported again this long after its alert's window
--       ended goes into the earlier alert's thread as "reported again" instead of a new alert
local prefix, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local new_id, article, source, story = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local min_sources, payload, rule, group = tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11]
local sinks, correction = ARGV[12], ARGV[13] == "1"
local due, due_email, digest = tonumber(ARGV[14]), tonumber(ARGV[15]), ARGV[16]
local disputer = ARGV[17] or ""
local matched, content, evidence, headline = ARGV[18], ARGV[19], ARGV[20], ARGV[21]
local horizon = tonumber(ARGV[22] or "0") or 0
local last_key = KEYS[4]

local function enqueue(key, kind, alert_id, parent, copy_of)
  for sink in string.gmatch(sinks, "[^,]+") do
    local entry = key .. "|" .. sink
    local okey = prefix .. ":outbox:" .. entry
    if redis.call("EXISTS", okey) == 0 then
      redis.call("HSET", okey, "key", key, "sink", sink, "kind", kind, "alert", alert_id,
        "parent", parent, "payload", payload, "attempts", 0, "claims", 0, "status", "pending",
        "created", now)
      if copy_of and copy_of ~= "" then redis.call("HSET", okey, "copy_of", copy_of) end
      if sink == "email" then
        redis.call("ZADD", KEYS[2], due_email, entry)
        if digest ~= "" then
          redis.call("HSET", okey, "digest", digest)
          redis.call("SADD", digest, entry)
        end
      else
        redis.call("ZADD", KEYS[2], due, entry)
      end
    end
  end
end

local alert_id = redis.call("GET", KEYS[1])
if alert_id then  -- the window is judged by the caller's clock; the key TTL only collects garbage
  local window_end = tonumber(redis.call("HGET", prefix .. ":alert:" .. alert_id, "window_end") or "0")
  if window_end <= now then alert_id = false end
end
local again = false
if not alert_id and horizon > 0 then  -- old news (or a late denial): back into the earlier thread
  local earlier = redis.call("GET", last_key)
  local ekey = prefix .. ":alert:" .. (earlier or "")
  if earlier and redis.call("HGET", ekey, "status") == "open"
      and tonumber(redis.call("HGET", ekey, "window_end") or "0") + horizon > now then
    alert_id = earlier
    if not correction then  -- the development again: its window opens anew
      again = true
      redis.call("SET", KEYS[1], alert_id, "EX", math.max(1, math.floor(window)) + 3600)
      redis.call("HSET", ekey, "window_end", now + window, "again", now)
    end
  end
end
if not alert_id then
  if correction then return {"", "no_parent"} end
  alert_id = new_id
  redis.call("SET", KEYS[1], alert_id, "EX", math.max(1, math.floor(window)) + 3600)
  redis.call("HSET", prefix .. ":alert:" .. alert_id, "rule", rule, "group", group,
    "opened", now, "window_end", now + window, "status", "held", "payload", payload,
    "min_sources", min_sources)
  redis.call("ZADD", KEYS[3], now, alert_id)
end
if horizon > 0 then
  redis.call("SET", last_key, alert_id, "EX", math.max(1, math.floor(window + horizon)) + 3600)
end
local akey = prefix .. ":alert:" .. alert_id
if redis.call("SADD", akey .. ":articles", article) == 0 then
  return {alert_id, "duplicate"}
end
if matched and matched ~= "" then
  redis.call("HSET", prefix .. ":article:" .. article, matched, alert_id, matched .. ":content", content,
    matched .. ":evidence", evidence, matched .. ":headline", headline)
  redis.call("SADD", prefix .. ":story:" .. story .. ":alerts", alert_id)
end
if correction then
  redis.call("HSET", akey, "disputed", 1)
  if disputer ~= "" then redis.call("SADD", akey .. ":disputers", disputer) end
  enqueue(alert_id .. ":c:" .. article, "correction", alert_id, alert_id)
  return {alert_id, "correction"}
end
-- Independent reports: a story of syndicated copies counts once, an outlet counts once.
local new_source = redis.call("SADD", akey .. ":sources", source)
redis.call("SADD", akey .. ":by:" .. source, article)
local copy_of = ""
if redis.call("SADD", akey .. ":stories", story) == 1 then
  redis.call("HSET", akey .. ":story_first", story, source)
else
  copy_of = redis.call("HGET", akey .. ":story_first", story) or ""
  if copy_of == source then copy_of = "" end
end
if new_source == 1 then
  redis.call("RPUSH", akey .. ":outlets", source)
  if copy_of ~= "" then redis.call("SADD", akey .. ":copies", source) end
end
local independent = math.min(redis.call("SCARD", akey .. ":sources"),
  redis.call("SCARD", akey .. ":stories"))
local status = redis.call("HGET", akey, "status")
if again then
  enqueue(alert_id .. ":a:" .. article, "again", alert_id, alert_id)
  return {alert_id, "again"}
end
if status == "held" then
  if independent >= tonumber(redis.call("HGET", akey, "min_sources")) then
    redis.call("HSET", akey, "status", "open", "released", now)
    local first = redis.call("HGET", akey, "payload")
    payload = first
    enqueue(alert_id, "alert", alert_id, "")
    return {alert_id, "open"}
  end
  return {alert_id, "held"}
end
if new_source == 1 then
  enqueue(alert_id .. ":f:" .. article, "followup", alert_id, alert_id, copy_of)
  return {alert_id, "followup"}
end
return {alert_id, "attached"}
