-- wrk script: POST a realistic inquiry, each request with its own Idempotency-Key, so every
-- request is a new inquiry (a replay would take the cheaper redelivery path).
-- thread_id is a global set per thread by setup(); each thread has its own Lua state.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  math.randomseed(os.time() + thread_id * 7919)
end

local body = '{"patient": {"first_name": "Bench", "last_name": "Patient", "email": "bench@example.org"}, '
  .. '"message": "Lifted a couch yesterday and my lower back went into spasm. Pain about 6/10. '
  .. 'Never had this before. No fever, no numbness.", "symptoms": {"onset": "sudden"}}'

function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. counter .. "-" .. math.random(1e9)
  return wrk.format("POST", wrk.path, headers, body)
end

-- wrk's --latency table stops at 50/75/90/99 %; print the 95th percentile too (microseconds).
function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
