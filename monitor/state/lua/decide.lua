-- Decide what an article matching a rule means, and enqueue the resulting messages,
-- in one atomic step (so a crash can never separate the decision from the outbox write).
-- Every key comes in KEYS (built by state/keys.py); the caller passes the keys of each alert
-- this decision may touch (the new id, the open one, the last one), having read the two
-- pointers first: if either moved since, nothing is written and it answers "retry".
-- KEYS: 1 open pointer (rule, group), 2 outbox due zset, 3 alerts index, 4 last alert of
--   (rule, group) (kept past the window for old news), 5 the article's record, 6 the story's
--   alerts, 7 the digest set (used when ARGV[13] is "1"), then per candidate alert a block of
--   11 alert keys (AlertKeys order) and the outbox hashes of its 4 messages x S sinks.
-- ARGV: 1 now, 2 window_s, 3 article, 4 source, 5 story, 6 min_sources, 7 payload (json),
--   8 rule, 9 group, 10 "1": a walk-back (correction), 11 due (quiet hours), 12 due of
--   digest sinks, 13 "1": digest sinks join the digest set, 14 disputer, 15 matched rule,
--   16 content hash, 17 evidence, 18 headline (the article's record, so a later revision can
--   be compared), 19-21 the record's field names, 22 old-news horizon (s): a development
--   reported again this long after its alert's window ended goes into the earlier alert's
--   thread, 23 open pointer as read, 24 last pointer as read ("" for none), 25 S sinks,
--   26 C candidates; then per sink: name, "1" if it waits for digests; then per candidate:
--   alert id (the first is the new one), its 4 message keys (alert, correction, again,
--   follow-up), and their S entry names each.
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local article, source, story = ARGV[3], ARGV[4], ARGV[5]
local min_sources, payload, rule, group = tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9]
local correction = ARGV[10] == "1"
local due, due_digest, has_digest = tonumber(ARGV[11]), tonumber(ARGV[12]), ARGV[13] == "1"
local disputer = ARGV[14]
local matched, content, evidence, headline = ARGV[15], ARGV[16], ARGV[17], ARGV[18]
local f_content, f_evidence, f_headline = ARGV[19], ARGV[20], ARGV[21]
local horizon = tonumber(ARGV[22]) or 0
local S, C = tonumber(ARGV[25]), tonumber(ARGV[26])
local FIXED_K, FIXED_A = 7, 26
local BLOCK_K, BLOCK_A = 11 + 4 * S, 5 + 4 * S
local HASH, ARTICLES, SOURCES, STORIES, BY, STORY_FIRST, OUTLETS, COPIES, DISPUTERS = 1, 2, 3, 4, 5, 6, 7, 8, 9
local ALERT, CORRECTION, AGAIN, FOLLOWUP = 1, 2, 3, 4

if (redis.call("GET", KEYS[1]) or "") ~= ARGV[23] or (redis.call("GET", KEYS[4]) or "") ~= ARGV[24] then
  return {"", "retry"}
end

local function block(id)  -- the KEYS and ARGV offsets of a candidate alert
  for i = 0, C - 1 do
    local a = FIXED_A + 2 * S + i * BLOCK_A
    if ARGV[a + 1] == id then return {k = FIXED_K + i * BLOCK_K, a = a} end
  end
  error("decide.lua: alert " .. id .. " was not passed as a candidate")
end

local function key(b, n) return KEYS[b.k + n] end

local function enqueue(b, m, kind, alert_id, parent, copy_of)
  local msg = ARGV[b.a + 1 + m]
  for s = 1, S do
    local sink, waits = ARGV[FIXED_A + 2 * s - 1], ARGV[FIXED_A + 2 * s] == "1"
    local okey = KEYS[b.k + 11 + (m - 1) * S + s]
    local entry = ARGV[b.a + 5 + (m - 1) * S + s]
    if redis.call("EXISTS", okey) == 0 then
      redis.call("HSET", okey, "key", msg, "sink", sink, "kind", kind, "alert", alert_id,
        "parent", parent, "payload", payload, "attempts", 0, "claims", 0, "status", "pending",
        "created", now)
      if copy_of and copy_of ~= "" then redis.call("HSET", okey, "copy_of", copy_of) end
      if waits then
        redis.call("ZADD", KEYS[2], due_digest, entry)
        if has_digest then
          redis.call("HSET", okey, "digest", KEYS[7])
          redis.call("SADD", KEYS[7], entry)
        end
      else
        redis.call("ZADD", KEYS[2], due, entry)
      end
    end
  end
end

local alert_id = redis.call("GET", KEYS[1])
if alert_id then  -- the window is judged by the caller's clock; the key TTL only collects garbage
  local window_end = tonumber(redis.call("HGET", key(block(alert_id), HASH), "window_end") or "0")
  if window_end <= now then alert_id = false end
end
local again = false
if not alert_id and horizon > 0 then  -- old news (or a late denial): back into the earlier thread
  local earlier = redis.call("GET", KEYS[4])
  if earlier then
    local ekey = key(block(earlier), HASH)
    if redis.call("HGET", ekey, "status") == "open"
        and tonumber(redis.call("HGET", ekey, "window_end") or "0") + horizon > now then
      alert_id = earlier
      if not correction then  -- the development again: its window opens anew
        again = true
        redis.call("SET", KEYS[1], alert_id, "EX", math.max(1, math.floor(window)) + 3600)
        redis.call("HSET", ekey, "window_end", now + window, "again", now)
      end
    end
  end
end
if not alert_id then
  if correction then return {"", "no_parent"} end
  alert_id = ARGV[FIXED_A + 2 * S + 1]
  redis.call("SET", KEYS[1], alert_id, "EX", math.max(1, math.floor(window)) + 3600)
  redis.call("HSET", key(block(alert_id), HASH), "rule", rule, "group", group,
    "opened", now, "window_end", now + window, "status", "held", "payload", payload,
    "min_sources", min_sources)
  redis.call("ZADD", KEYS[3], now, alert_id)
end
if horizon > 0 then
  redis.call("SET", KEYS[4], alert_id, "EX", math.max(1, math.floor(window + horizon)) + 3600)
end
local b = block(alert_id)
local akey = key(b, HASH)
if redis.call("SADD", key(b, ARTICLES), article) == 0 then
  return {alert_id, "duplicate"}
end
if matched ~= "" then
  redis.call("HSET", KEYS[5], matched, alert_id, f_content, content, f_evidence, evidence,
    f_headline, headline)
  redis.call("SADD", KEYS[6], alert_id)
end
if correction then
  redis.call("HSET", akey, "disputed", 1)
  if disputer ~= "" then redis.call("SADD", key(b, DISPUTERS), disputer) end
  enqueue(b, CORRECTION, "correction", alert_id, alert_id)
  return {alert_id, "correction"}
end
-- Independent reports: a story of syndicated copies counts once, an outlet counts once.
local new_source = redis.call("SADD", key(b, SOURCES), source)
redis.call("SADD", key(b, BY), article)
local copy_of = ""
if redis.call("SADD", key(b, STORIES), story) == 1 then
  redis.call("HSET", key(b, STORY_FIRST), story, source)
else
  copy_of = redis.call("HGET", key(b, STORY_FIRST), story) or ""
  if copy_of == source then copy_of = "" end
end
if new_source == 1 then
  redis.call("RPUSH", key(b, OUTLETS), source)
  if copy_of ~= "" then redis.call("SADD", key(b, COPIES), source) end
end
local independent = math.min(redis.call("SCARD", key(b, SOURCES)),
  redis.call("SCARD", key(b, STORIES)))
local status = redis.call("HGET", akey, "status")
if again then
  enqueue(b, AGAIN, "again", alert_id, alert_id)
  return {alert_id, "again"}
end
if status == "held" then
  if independent >= tonumber(redis.call("HGET", akey, "min_sources")) then
    redis.call("HSET", akey, "status", "open", "released", now)
    payload = redis.call("HGET", akey, "payload")
    enqueue(b, ALERT, "alert", alert_id, "")
    return {alert_id, "open"}
  end
  return {alert_id, "held"}
end
if new_source == 1 then
  enqueue(b, FOLLOWUP, "followup", alert_id, alert_id, copy_of)
  return {alert_id, "followup"}
end
return {alert_id, "attached"}
