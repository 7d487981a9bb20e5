-- wrk: walk a list page by page, as a client syncing its apps does: every request asks
-- for the next page (limit 100), so no page is asked for twice in a row and none comes
-- from a cache; each thread starts at another place and wraps at the end.
-- env: BENCH_KEY (API key), BENCH_TOTAL (apps in the workspace)
local key = os.getenv("BENCH_KEY")
local total = tonumber(os.getenv("BENCH_TOTAL"))
local pages = math.floor(total / 100)
local page = 0
local threads = 0

setup = function(thread)
  thread:set("page", threads * 37)
  threads = threads + 1
end

request = function()
  page = (page + 1) % pages
  return wrk.format("GET", string.format("/connect/v1/apps?limit=100&offset=%d", page * 100),
    { ["Authorization"] = "Bearer " .. key })
end
