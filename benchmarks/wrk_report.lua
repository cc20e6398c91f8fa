-- wrk script for benchmarks/run.py.
-- Arguments (after "--"): a path template, an If-None-Match value (may be empty), a source
-- name pattern (printf form, e.g. "src%03d") and the number of sources.
-- "{n}" in the path is replaced by a number unique to each request (a cache buster), so that
-- the server can't share one computation between concurrent identical requests; "{src}" by the
-- next source's name: each thread goes round all the sources, starting at its own offset, so
-- that the connections ask for different sources at the same time.
-- At the end it prints one line: "WRK_JSON {...}" with the totals, latency percentiles (µs)
-- and the count of each response status.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  path_template = args[1] or "/"
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["If-None-Match"] = args[2]
  end
  src_pattern = args[3] or "src%03d"
  src_count = tonumber(args[4] or "1")
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local path = string.gsub(path_template, "{n}", tostring(id * 1000000000 + counter))
  local src = string.format(src_pattern, (id * 7 + counter) % src_count)
  path = string.gsub(path, "{src}", src)
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(parts, ", ")))
end
