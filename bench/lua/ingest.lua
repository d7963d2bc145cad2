-- V2 telemetry POSTs spread over many devices, counting every status.
-- args: a file of "device_id token" lines; the path is /devices/<id>/telemetry.
local report = require("report") -- LUA_PATH points at bench/lua (bench/common.py sets it)
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
  report.done(threads, summary, latency)
end
