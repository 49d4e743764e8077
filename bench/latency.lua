-- For targets without a request script: print the 95th percentile latency (microseconds).
function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
