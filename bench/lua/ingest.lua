-- V2 telemetry POSTs spread over many devices, counting every status.
-- args: a file of "device_id token" lines; the path is /devices/<id>/telemetry.
local devices = {}
local next_device = 0
statuses = {} -- global: done() reads it from each thread with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local id, token = line:match("(%S+) (%S+)")
    devices[#devices + 1] = { id, token }
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  next_device = math.random(#devices)
end

function request()
  next_device = next_device % #devices + 1
  local device = devices[next_device]
  local body = string.format('{"device_token":"%s","data":{"v0":%d,"temperature":%.1f,"humidity":%d}}',
    device[2], next_device % 2, 20 + (next_device % 100) / 10, 40 + next_device % 20)
  return wrk.format("POST", "/devices/" .. device[1] .. "/telemetry", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%d":%d', status, count)
  end
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ",")))
end
