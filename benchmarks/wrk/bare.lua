-- The baseline: the body of a resolve request to a view that answers a constant.
function request()
  local i = math.random(0, population - 1)
  local body = string.format(
    '{"identifiers": [{"kind": "login_id", "scope": "app", "value": "u-%d"}]}', i)
  return wrk.format("POST", "/bare", headers, body)
end
