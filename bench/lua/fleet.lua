-- A fleet of devices, each posting telemetry every 10 s and polling every 5 s (with its ETag).
-- args: devices file ("device_id token" lines), target requests/s for the whole run,
-- wrk threads, wrk connections (the Lua side cannot see -t and -c).
-- Each wrk thread takes every n-th device; each connection waits delay() between requests,
-- so the load is paced (open loop, approximately) rather than as fast as answers come.
local report = require("report") -- LUA_PATH points at bench/lua (bench/common.py sets it)
statuses = {} -- global: done() reads it from each thread
local threads = {}
local thread_count = 0
local devices, etags, schedule, index_of = {}, {}, {}, {}
local step = 0
local pause_ms = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  table.insert(threads, thread)
end

function init(args)
  local target_rps = tonumber(args[2])
  local index, total_threads, connections = thread_index, tonumber(args[3]), tonumber(args[4])
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if n % total_threads == index - 1 then
      local id, token = line:match("(%S+) (%S+)")
      devices[#devices + 1] = { id = id, token = token }
      index_of[id] = #devices
    end
  end
  -- Per 10 s cycle, a device makes one telemetry post and two polls.
  for i = 1, #devices do
    schedule[#schedule + 1] = { i, "poll" }
    schedule[#schedule + 1] = { i, "telemetry" }
    schedule[#schedule + 1] = { i, "poll" }
  end
  math.randomseed(os.time() + index * 7919)
  step = math.random(#schedule)
  pause_ms = (connections / total_threads) * 1000 / (target_rps / total_threads)
end

function delay()
  return pause_ms * (0.8 + math.random() * 0.4)
end

function request()
  step = step % #schedule + 1
  local entry = schedule[step]
  local device = devices[entry[1]]
  if entry[2] == "poll" then
    local headers = {}
    if etags[entry[1]] then headers["If-None-Match"] = etags[entry[1]] end
    return wrk.format("GET", "/telemetry/latest?device_token=" .. device.token, headers)
  end
  local body = string.format('{"device_token":"%s","data":{"temperature":%.1f,"humidity":%d,"v0":%d}}',
    device.token, 18 + math.random() * 8, 30 + math.random(40), math.random(0, 1))
  return wrk.format("POST", "/devices/" .. device.id .. "/telemetry", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- Answers come back on whichever connection is ready: find the device from the body.
  if status == 200 and headers["ETag"] then
    local id = body:match('"device_id":"(%x+)"')
    if id and index_of[id] then etags[index_of[id]] = headers["ETag"] end
  end
end

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
