-- V2 telemetry POSTs spread over many devices, counting every status.
-- args: a file of "device_id token" lines; the path is /devices/<id>/telemetry; then "numbered" to send
-- each reading with seq and boot as the firmware does (a boot id per wrk thread, a seq per device).
local report = require("report") -- LUA_PATH points at bench/lua (bench/common.py sets it)
local devices = {}
local next_device = 0
local boot = nil
local seqs = {}
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
  if args[2] == "numbered" then
    boot = string.format("%08x", math.random(0, 0x7fffffff))
  end
end

function request()
  next_device = next_device % #devices + 1
  local device = devices[next_device]
  local identity = ""
  if boot then
    seqs[next_device] = (seqs[next_device] or 0) + 1
    identity = string.format('"seq":%d,"boot":"%s",', seqs[next_device], boot)
  end
  local body = string.format('{"device_token":"%s",%s"data":{"v0":%d,"temperature":%.1f,"humidity":%d}}',
    device[2], identity, next_device % 2, 20 + (next_device % 100) / 10, 40 + next_device % 20)
  return wrk.format("POST", "/devices/" .. device[1] .. "/telemetry", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
