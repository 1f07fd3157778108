-- bench/slack-ingress.lua: wrk's side of bench/slack-ingress.sh. Each wrk thread reads its own
-- file of requests signed beforehand (POOL_DIR/pool.N.tsv: timestamp, X-Slack-Signature,
-- form body; every trigger_id once) and sends them in order, so that every request is a new
-- answer. An answer counts as acknowledged when it gets 200 with coco's "Thanks" in it.
-- Arguments after wrk's "--": POOL_DIR. done() prints lines for the shell to read.
local threads = {}
local next_id = 0

function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

function init(args)
	reqs = {}
	local f = assert(io.open(args[1] .. "/pool." .. id .. ".tsv"))
	for line in f:lines() do
		local ts, sig, body = line:match("^(%d+)\t(%S+)\t(.*)$")
		reqs[#reqs + 1] = wrk.format("POST", "/slack/commands", {
			["X-Slack-Request-Timestamp"] = ts,
			["X-Slack-Signature"] = sig,
			["Content-Type"] = "application/x-www-form-urlencoded",
		}, body)
	end
	f:close()
	i = 0
	acked = 0
	wrapped = 0
end

function request()
	i = i + 1
	if i > #reqs then
		i = 1
		wrapped = 1
	end
	return reqs[i]
end

function response(status, headers, body)
	if status == 200 and body and body:find("Thanks", 1, true) then
		acked = acked + 1
	end
end

function done(summary, latency, requests)
	local a, w = 0, 0
	for _, t in ipairs(threads) do
		a = a + t:get("acked")
		w = w + t:get("wrapped")
	end
	local e = summary.errors
	io.write(string.format("RESULT requests %d\n", summary.requests))
	io.write(string.format("RESULT rps %.1f\n", summary.requests / (summary.duration / 1e6)))
	io.write(string.format("RESULT p50_us %d\n", latency:percentile(50)))
	io.write(string.format("RESULT p99_us %d\n", latency:percentile(99)))
	io.write(string.format("RESULT acked %d\n", a))
	io.write(string.format("RESULT wrapped %d\n", w))
	io.write(string.format("RESULT errors %d\n", e.connect + e.read + e.write + e.status + e.timeout))
end
