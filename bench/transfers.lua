-- wrk script for bench row 3: POST /api/v1/transfers, each request with its own
-- Idempotency-Key and a random pair of distinct customer wallets in FIRST..LAST (the
-- loaded wallets but the treasury: bench/load.py).
-- wrk -s bench/transfers.lua URL -- TOKEN FIRST LAST RUN_ID
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "wrk_common.lua")  -- setup, done

function init(args)
  token, first, last, run_id = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  math.randomseed(1000 + id)
  sent = 0
end

function request()
  sent = sent + 1
  local src = math.random(first, last)
  local dst = math.random(first, last - 1)
  if dst >= src then dst = dst + 1 end
  local body = string.format('{"from_wallet_id": %d, "to_wallet_id": %d, "amount": "0.01"}', src, dst)
  return wrk.format("POST", "/api/v1/transfers", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", run_id, id, sent),
  }, body)
end
