-- POST /v1/identify: a mix of new, matching and merging observations. Each wrk thread
-- makes its own identifiers (run nonce, thread id, cycle k), so merges really happen:
-- cycle k creates two fragments, a wechat person A_k and an alipay person B_k, and,
-- LAG cycles later (long after both were answered), a unionid observation joins them.
-- Of every 10 requests: 2 create, 1 merges, 7 match (1 a fragment of this thread, 6 a
-- population person: 3 phones with the cycle's message id, so 2 are redeliveries). In the
-- first LAG cycles population matches (one attaching a new device) stand in for the merge
-- and the fragment match.
local LAG = 8
local cycle, step = 0, 0

local function id(kind, scope, value)
  if scope then
    return string.format('{"kind": "%s", "scope": "%s", "value": "%s"}', kind, scope, value)
  end
  return string.format('{"kind": "%s", "value": "%s"}', kind, value)
end

local function key(k) return string.format("%s-%d-%d", nonce, tid, k) end
local function frag_a(k) return id("wechat_openid", "wx_mp2", "a-" .. key(k)) end
local function frag_b(k) return id("alipay_openid", "ali_mp1", "b-" .. key(k)) end

local function body(identifiers, extra)
  return '{"identifiers": [' .. table.concat(identifiers, ", ") .. ']' .. (extra or "") .. '}'
end

local function population_match(variant)
  local i = math.random(0, population - 1)
  if variant == 1 then
    return body({id("login_id", "app", "u-" .. i), id("idfa", nil, uuid(i))},
      ', "channel": "app", "event": "login", "traits": {"membership_level": "gold"}')
  elseif variant == 2 then
    return body({id("phone", nil, phone(i))},
      ', "channel": "crm", "message_id": "m-' .. key(cycle) .. '", "tags": ["tea"]')
  elseif variant == 3 then
    return body({id("login_id", "app", "u-" .. i), id("oaid", nil, "d-" .. key(cycle))},
      ', "channel": "app", "event": "open"')
  end
  return body({id("wechat_openid", "wx_mp1", "o-" .. i)},
    ', "channel": "wechat_mp", "event": "view", "tags": ["air_purifier"]')
end

function request()
  local s, b = step, nil
  step = (step + 1) % 10
  if s == 0 then
    b = body({frag_a(cycle), id("idfa", nil, string.format("%s-%04X-4000-9000-%012X", nonce, tid, cycle))},
      ', "channel": "wechat_mp", "traits": {"consumption_level": "mid"}')
  elseif s == 2 then
    b = body({frag_b(cycle)}, ', "channel": "alipay_mp", "tags": ["skincare"]')
  elseif s == 4 and cycle >= LAG then
    b = body({frag_a(cycle - LAG)}, ', "channel": "wechat_mp", "tags": ["tea"]')
  elseif s == 6 and cycle >= LAG then
    local k = cycle - LAG
    b = body({id("wechat_unionid", "open1", "u-" .. key(k)), frag_a(k), frag_b(k)},
      ', "channel": "wechat_mp", "event": "bind"')
  else
    b = population_match(s % 4 + 1)
  end
  if step == 0 then cycle = cycle + 1 end
  return wrk.format("POST", "/v1/identify", headers, b)
end

function response(status, headers, answer)
  local outcome = string.match(answer, '"outcome":%s*"(%a+)"') or ("status_" .. status)
  counts[outcome] = (counts[outcome] or 0) + 1
end
