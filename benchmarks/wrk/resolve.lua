-- POST /v1/resolve of known identifiers of random population persons, in three shapes:
-- a phone (normalised and keyed-hashed by the server), an openid with a device, a login.
function request()
  local i = math.random(0, population - 1)
  local shape, body = math.random(3), nil
  if shape == 1 then
    body = string.format('{"identifiers": [{"kind": "phone", "value": "%s"}]}', phone(i))
  elseif shape == 2 then
    body = string.format('{"identifiers": [{"kind": "wechat_openid", "scope": "wx_mp1", ' ..
      '"value": "o-%d"}, {"kind": "idfa", "value": "%s"}]}', i, uuid(i))
  else
    body = string.format(
      '{"identifiers": [{"kind": "login_id", "scope": "app", "value": "u-%d"}]}', i)
  end
  return wrk.format("POST", "/v1/resolve", headers, body)
end
