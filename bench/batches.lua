-- wrk script for bench rows 10: POST /api/v1/batches, each request a batch of SIZE transfers
-- (independent) between random pairs of distinct customer wallets in FIRST..LAST, with its
-- own Idempotency-Key. Each request moves SIZE transfers.
-- wrk -s bench/batches.lua URL -- TOKEN FIRST LAST RUN_ID SIZE
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "wrk_common.lua")  -- setup, done

function init(args)
  token, first, last, run_id, size = args[1], tonumber(args[2]), tonumber(args[3]), args[4], tonumber(args[5])
  math.randomseed(2000 + id)
  sent = 0
end

function request()
  sent = sent + 1
  local items = {}
  for i = 1, size do
    local src = math.random(first, last)
    local dst = math.random(first, last - 1)
    if dst >= src then dst = dst + 1 end
    items[i] = string.format('{"kind": "transfer", "from_wallet_id": %d, "to_wallet_id": %d, "amount": "0.01"}',
                             src, dst)
  end
  local body = '{"mode": "independent", "items": [' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/api/v1/batches", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", run_id, id, sent),
  }, body)
end
