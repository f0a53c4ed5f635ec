-- wrk -s bench/notify.lua URL: the request an IFTTT webhook makes
-- ("Make a web request": POST, application/json, the device's notify JSON),
-- to URL = http://HOST:PORT/cloud?mode=notify&token=TOKEN, over and over.
-- Used by bench/e2e.sh for the relay and for the trivial FastCGI floor alike.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "IFTTT-bench"
wrk.body = '{"text":"New mail from Alice Example","icon":"51","color":"#00FF00","duration":10}'

-- Tokens after "--" (wrk ... URL -- TOKEN...): requests go round-robin to
-- them, as many IFTTT applets of many owners would.
local tokens = {}
local next_token = 0

init = function(args)
	for _, t in ipairs(args) do
		tokens[#tokens + 1] = t
	end
end

request = function()
	if #tokens == 0 then
		return wrk.format()
	end
	next_token = next_token % #tokens + 1
	return wrk.format(nil, "/cloud?mode=notify&token=" .. tokens[next_token])
end
