-- Assign an article to a story in one atomic step, so near-copies processed at the same time
-- (two workers, one batch) always meet: the story of the most similar earlier article sharing
-- an LSH band bucket with Jaccard estimate >= threshold (ties: the smallest article id), else
-- its own id. An article assigned before keeps its story (replays are idempotent).
-- KEYS: 1 signatures hash, then the article's LSH bucket set of each band.
-- ARGV: article id, signature (hex, 16 per hash value), threshold, ttl_s, and the suffix
-- that makes an article id its story's field in the signatures hash (named in keys.py)
local article, sig = ARGV[1], ARGV[2]
local threshold, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local story_of = ARGV[5]
local known = redis.call("HGET", KEYS[1], article .. story_of)
if known then return known end

local seen, candidates = {}, {}
for i = 2, #KEYS do
  for _, member in ipairs(redis.call("SMEMBERS", KEYS[i])) do
    if member ~= article and not seen[member] then
      seen[member] = true
      candidates[#candidates + 1] = member
    end
  end
end
table.sort(candidates)

local n = #sig / 16
local best, best_sim = nil, -1
for _, cand in ipairs(candidates) do
  local other = redis.call("HGET", KEYS[1], cand)
  if other and #other == #sig then
    local equal = 0
    for k = 0, n - 1 do
      if string.sub(sig, k * 16 + 1, k * 16 + 16) == string.sub(other, k * 16 + 1, k * 16 + 16) then
        equal = equal + 1
      end
    end
    local sim = equal / n
    if sim >= threshold and sim > best_sim then
      best, best_sim = cand, sim
    end
  end
end

local story = article
if best then story = redis.call("HGET", KEYS[1], best .. story_of) or best end
redis.call("HSET", KEYS[1], article, sig, article .. story_of, story)
for i = 2, #KEYS do
  redis.call("SADD", KEYS[i], article)
  redis.call("EXPIRE", KEYS[i], ttl)
end
return story
