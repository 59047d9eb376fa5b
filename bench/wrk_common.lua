-- What every bench wrk script shares: a numbered id per thread (for its random seed and
-- keys) and the one-line result bench/runners.py reads. Loaded with dofile by the scripts.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "status_errors": %d, "socket_errors": %d, ' ..
                         '"p50_ms": %f, "p99_ms": %f}\n', summary.requests, summary.duration / 1e6, e.status,
                         e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000))
end
