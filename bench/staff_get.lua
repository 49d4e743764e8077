-- wrk script: GET staff API paths with a bearer token, each thread going round its own share of a list.
-- BENCH_TOKEN is the staff token; BENCH_PATHS a file with one path per line (e.g. /v1/admin/inquiries/<id>).
local paths = {}
local next_path = 1
local token = nil

function init(args)
  token = os.getenv("BENCH_TOKEN")
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then table.insert(paths, line) end
  end
  next_path = 1 + (thread_id or 0) * 7 % #paths
end

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

-- wrk's --latency table stops at 50/75/90/99 %; print the 95th percentile too (microseconds).
function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
