-- Shared by the endpoint scripts (http_bench.py puts this file in front of each one).
-- Script arguments: population size, run nonce (hex), API key, requests per second per
-- wrk thread (0: as fast as the connections go).
--
-- Fixed rate: delay() hands each connection that is ready to send the next free slot of
-- a per-thread schedule (one slot every 1000/rate ms), so with enough idle connections
-- requests leave at the target rate whatever the answers' latency; latency is measured
-- by wrk from the moment a request is written.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

population, nonce, headers = 0, "0", {}
counts = {}
local interval, next_at = nil, nil

function init(args)
  population, nonce = tonumber(args[1]), args[2]
  headers = {["Authorization"] = "Bearer " .. args[3], ["Content-Type"] = "application/json"}
  local rate = tonumber(args[4])
  if rate > 0 then interval = 1000 / rate end
  math.randomseed(tid * 7919 + tonumber(string.sub(nonce, 1, 6), 16))
end

function delay()
  if interval == nil then return 0 end
  local t = now_ms()
  if next_at == nil or next_at < t then next_at = t end
  local wait = next_at - t
  next_at = next_at + interval
  return wait
end

-- The identifiers of population person i (http_bench.py loads the same ones).
function uuid(i) return string.format("%08X-0000-4000-8000-%012X", i, i) end
function phone(i) return string.format("+86 139 %08d", i) end

function done(summary, latency, requests)
  local outcomes = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("counts")
    if seen then
      for name, n in pairs(seen) do outcomes[name] = (outcomes[name] or 0) + n end
    end
  end
  local parts = {}
  for name, n in pairs(outcomes) do table.insert(parts, string.format('"%s": %d', name, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"outcomes": {%s}}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
