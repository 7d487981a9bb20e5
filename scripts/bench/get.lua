-- wrk: GET a path with the API key. env: BENCH_KEY, BENCH_PATH
local key = os.getenv("BENCH_KEY")
local path = os.getenv("BENCH_PATH")
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
