-- wrk script for the replica row: GET /api/v1/wallets/ID/history?limit=25 of a random
-- customer wallet in FIRST..LAST, with a read-only token (a principal that never writes).
-- wrk -s bench/reads.lua URL -- TOKEN FIRST LAST
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "wrk_common.lua")  -- setup, done

function init(args)
  token, first, last = args[1], tonumber(args[2]), tonumber(args[3])
  math.randomseed(2000 + id)
end

function request()
  local path = string.format("/api/v1/wallets/%d/history?limit=25", math.random(first, last))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
