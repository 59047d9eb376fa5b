-- wrk script for the replica row: GET /api/v1/wallets/ID/history?limit=25 of a random
-- customer wallet in FIRST..LAST, with a read-only token (a principal that never writes).
-- wrk -s bench/reads.lua URL -- TOKEN FIRST LAST
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token, first, last = args[1], tonumber(args[2]), tonumber(args[3])
  math.randomseed(2000 + id)
end

function request()
  local path = string.format("/api/v1/wallets/%d/history?limit=25", math.random(first, last))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "status_errors": %d, "socket_errors": %d, ' ..
                         '"p50_ms": %f, "p99_ms": %f}\n', summary.requests, summary.duration / 1e6, e.status,
                         e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000))
end
