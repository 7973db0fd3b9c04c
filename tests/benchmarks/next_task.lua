-- wrk script for bench_next_task.py: one connection per wrk thread (-t N -c N), one account
-- per connection, and every request timed here (CLOCK_MONOTONIC through LuaJIT's ffi) so that
-- claims and submits get their own latency figures.
--
--   BENCH_HEADERS="Authorization: Token tok1<newline>..."  BENCH_OUT=/path/results.txt \
--     wrk -t 20 -c 20 -d 8s --timeout 30s -s next_task.lua http://127.0.0.1:PORT -- loop
--
-- Modes (the argument after --): `ping` (GET /api/v1/ping/), `me` (GET /api/v1/me/), `loop`
-- (POST next/, then submit/ of the claimed assignment; every 10th pair skip/ instead), `app`
-- (the worker app's own order: a plain claim on arrival, then while one pair is open the next
-- is claimed with {"prefetch": true}, so two are open; the older is submitted, the next
-- prefetched, and so on; every 10th pair skip/ instead).
-- BENCH_HEADERS: one line per account, its request headers ("Name: value") separated by tabs.
-- Results: BENCH_OUT gets one line per request, "<kind> <status> <microseconds>", written
-- by done() after the run, so the measuring threads never touch the disk.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local ANSWERS = '{"sub_preferences": {"instruction_following": "left", "correctness": "right", '
  .. '"information": "left", "aesthetics": "left"}, '
  .. '"harm_labels": {"left": [], "right": ["violence"]}, '
  .. '"helpfulness": "left", "harmlessness": "right", '
  .. '"timings": {"stage1_ms": 30000, "stage2_ms": 5000}}'
local SKIP = '{"reason": "unsure"}'
-- `items` mode: the loop on the classification batch, named in each claim.
local LABEL = '{"harmful": true, "categories": ["violence"]}'
local ITEMS_CLAIM = '{"batch": "bench-items"}'

-- setup phase (its own Lua state): hand each thread its account.
local threads = {}
local accounts = {}
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  accounts[#accounts + 1] = line
end

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("account", accounts[((#threads - 1) % #accounts) + 1])
end

-- running phase (one Lua state per wrk thread)
local mode, headers, assignment, pending, started, pairs_done, answer_body
local ping_request, claim_request, prefetch_request
local queue, exhausted -- app mode: the open assignments, oldest first; a 204 was seen

function init(args)
  mode = args[1] or "loop"
  headers = { ["Content-Type"] = "application/json" }
  for name, value in string.gmatch(account, "([^\t:]+): ([^\t]*)") do
    headers[name] = value
  end
  ping_request = wrk.format("GET", "/api/v1/" .. mode .. "/", headers)
  claim_request = wrk.format("POST", "/api/v1/assignments/next/", headers, "{}")
  answer_body = ANSWERS
  if mode == "items" then
    claim_request = wrk.format("POST", "/api/v1/assignments/next/", headers, ITEMS_CLAIM)
    answer_body = LABEL
  end
  prefetch_request = wrk.format("POST", "/api/v1/assignments/next/", headers, '{"prefetch": true}')
  queue = {}
  exhausted = false
  pairs_done = 0
  samples = {} -- global, read by done() through thread:get
end

local function answer(id)
  pairs_done = pairs_done + 1
  if pairs_done % 10 == 0 then
    pending = "skip"
    return wrk.format("POST", "/api/v1/assignments/" .. id .. "/skip/", headers, SKIP)
  end
  pending = "submit"
  return wrk.format("POST", "/api/v1/assignments/" .. id .. "/submit/", headers, answer_body)
end

function request()
  started = now_us()
  if mode == "ping" or mode == "me" then
    pending = mode
    return ping_request
  end
  if mode == "app" then
    if #queue == 0 then
      -- Arrival (or nothing left): a plain claim resumes what the account left open.
      pending = "claim"
      return claim_request
    end
    if #queue < 2 and not exhausted then
      pending = "claim"
      return prefetch_request
    end
    return answer(table.remove(queue, 1))
  end
  if assignment == nil then
    pending = "claim"
    return claim_request
  end
  local id = assignment
  assignment = nil
  return answer(id)
end

local function remember(id)
  for _, known in ipairs(queue) do
    if known == id then
      return
    end
  end
  queue[#queue + 1] = id
end

function response(status, _, body)
  local elapsed = now_us() - started
  samples[#samples + 1] = pending .. " " .. status .. " " .. string.format("%.0f", elapsed)
  if pending == "claim" then
    if status == 200 then
      local id = string.match(body, '"id"%s*:%s*"([%x%-]+)"')
      if mode == "app" then
        remember(id)
      else
        assignment = id
      end
    elseif status == 204 then
      exhausted = true
      if #queue == 0 then
        wrk.thread:stop() -- the batch is exhausted for this account
      end
    end
  end
end

function done(summary, _, _)
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("samples")) do
      out:write(line, "\n")
    end
  end
  out:write(string.format("duration_us %d\n", summary.duration))
  local e = summary.errors
  out:write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  out:close()
end
