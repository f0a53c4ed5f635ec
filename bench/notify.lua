-- wrk -s bench/notify.lua URL: the request an IFTTT webhook makes
-- ("Make a web request": POST, application/json, the device's notify JSON),
-- to URL = http://HOST:PORT/cloud?mode=notify&token=TOKEN, over and over.
-- Used by bench/e2e.sh for the relay and for the trivial FastCGI floor alike.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "IFTTT-bench"
wrk.body = '{"text":"New mail from Alice Example","icon":"51","color":"#00FF00","duration":10}'
