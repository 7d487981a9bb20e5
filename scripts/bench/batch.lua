-- wrk: POST a 100-item batch with a fresh Idempotency-Key per request.
-- env: BENCH_KEY (API key), BENCH_BODY (path of the JSON body)
local key = os.getenv("BENCH_KEY")
local body

init = function(args)
  local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  body = f:read("*a")
  f:close()
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

local n = 0
request = function()
  n = n + 1
  local idem = string.format("bench-%d-%d-%d", math.random(1, 2147483646), math.random(1, 2147483646), n)
  return wrk.format("POST", "/connect/v1/apps/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = idem,
  }, body)
end
