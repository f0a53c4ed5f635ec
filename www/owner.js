/*
 * The owner's page of AWTRIX Cloud: live view, test notification, IFTTT
 * settings and status of one clock, through /cloud on this same origin.
 *
 * The token is the only secret.  It comes from the address's fragment
 * (#token=..., which browsers never send to a server) or from the form,
 * leaves the address bar before anything else runs, travels only in
 * "Authorization: Bearer" (never in a query string the page requests, so
 * no access log sees it), and lives in this tab's memory, or in
 * sessionStorage when the owner ticks "stay signed in".
 *
 * Whatever /cloud passes on comes from a device, which may be hostile: it
 * is parsed as JSON or shown with textContent, never turned into markup.
 */
'use strict';

(function () {
	var W = 32, H = 8;			/* the matrix, as /api/screen sends it */
	var POLL_MS = 500;			/* pause after each answer: <= 2 Hz */
	var FETCH_MS = 15000;			/* the relay answers within 10 s */
	var SHOW_MAX = 4000;			/* characters of a device's answer shown */
	var TOKEN_RE = /^[A-Za-z0-9]{32}$/;
	var STORE_KEY = 'awtrix-cloud-token';
	/* The page lives next to /cloud: /owner/ -> /cloud. */
	var CLOUD = new URL('../cloud', window.location.href).href;

	/* The relay's JSON error slugs (docs/http-api.md) as states of the page. */
	var SLUGS = {
		device_offline: ['offline', 'Agent offline: the clock\'s agent is not connected to AWTRIX Cloud.'],
		device_unreachable: ['unreachable', 'Clock unreachable: the agent cannot reach the clock, or the clock gave an answer the relay does not pass on.'],
		rate_limited: ['rate_limited', 'Rate limited: too many requests with this token; retrying shortly.'],
		device_timeout: ['timeout', 'The clock did not answer in time.'],
		relay_unavailable: ['unavailable', 'AWTRIX Cloud is not available right now; retrying shortly.'],
		mode_not_allowed: ['error', 'The agent does not allow this request (see its --allow list).'],
		bad_request: ['error', 'The relay refused the request: is the token right?'],
		body_too_large: ['error', 'The request was too large for the relay.']
	};

	var token = null;
	var session = 0;			/* bumped at sign-in and sign-out */
	var inflight = false;
	var pollTimer = null;
	var el = {};

	/* 1. Before anything else: take the token out of the address bar. */
	var fragmentToken = takeFragmentToken();

	function takeFragmentToken() {
		var hash = window.location.hash, t;

		if (hash.length < 2)
			return null;
		t = new URLSearchParams(hash.slice(1)).get('token');
		window.history.replaceState(null, '',
		    window.location.pathname + window.location.search);
		return t;
	}

	function storeGet() {
		try {
			return window.sessionStorage.getItem(STORE_KEY);
		} catch (e) {
			return null;		/* storage disabled: memory only */
		}
	}

	function storeSet(on) {
		try {
			if (on && token)
				window.sessionStorage.setItem(STORE_KEY, token);
			else
				window.sessionStorage.removeItem(STORE_KEY);
		} catch (e) {
			/* storage disabled: the token stays in memory only */
		}
	}

	/* --- talking to /cloud --------------------------------------------- */

	/*
	 * One request to /cloud for MODE; resolves to { status, ctype, text,
	 * retry } whatever the status, rejects only when nothing came back.
	 */
	function cloud(mode, method, json) {
		var ctl = new AbortController();
		var timer = window.setTimeout(function () { ctl.abort(); }, FETCH_MS);
		var init = {
			method: method,
			headers: { 'Authorization': 'Bearer ' + token },
			cache: 'no-store',
			credentials: 'omit',
			redirect: 'error',
			referrerPolicy: 'no-referrer',
			signal: ctl.signal
		};

		if (json !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(json);
		}
		return window.fetch(CLOUD + '?mode=' + encodeURIComponent(mode), init)
		    .then(function (r) {
			return r.text().then(function (text) {
				return {
					status: r.status,
					ctype: r.headers.get('Content-Type') || '',
					text: text,
					retry: parseInt(r.headers.get('Retry-After') || '', 10)
				};
			});
		}).finally(function () {
			window.clearTimeout(timer);
		});
	}

	function parseJson(res) {
		if (!/^application\/json\b/i.test(res.ctype))
			return undefined;
		try {
			return JSON.parse(res.text);
		} catch (e) {
			return undefined;
		}
	}

	/* The relay's own error, as [state, message], or null. */
	function relayError(res) {
		var o;

		if (res.status < 400)
			return null;
		o = parseJson(res);
		if (o && typeof o.error === 'string' &&
		    Object.prototype.hasOwnProperty.call(SLUGS, o.error))
			return SLUGS[o.error];
		return null;
	}

	/* --- live view ------------------------------------------------------ */

	function setState(state, text) {
		el.state.dataset.state = state;
		el.state.textContent = text;
		el.screen.classList.toggle('stale', state !== 'live');
	}

	/* 256 integers 0xRRGGBB, row by row, or null. */
	function pixels(res) {
		var a = res.status === 200 ? parseJson(res) : undefined, i;

		if (!Array.isArray(a) || a.length !== W * H)
			return null;
		for (i = 0; i < a.length; i++)
			if (typeof a[i] !== 'number' || !Number.isInteger(a[i]) ||
			    a[i] < 0 || a[i] > 0xffffff)
				return null;
		return a;
	}

	/*
	 * Like the firmware's LiveView: a black matrix, one square LED per
	 * pixel with a dark gap around it, the colour as the clock sent it.
	 */
	function draw(px) {
		var ctx = el.screen.getContext('2d');
		var p = el.screen.width / W, gap = Math.max(1, Math.floor(p / 10));
		var x, y, c;

		ctx.fillStyle = '#000000';
		ctx.fillRect(0, 0, el.screen.width, el.screen.height);
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++) {
				c = px[y * W + x];
				if (c === 0)
					continue;
				ctx.fillStyle = '#' + c.toString(16).padStart(6, '0');
				ctx.fillRect(x * p + gap, y * p + gap, p - 2 * gap,
				    p - 2 * gap);
			}
	}

	function schedule(ms) {
		window.clearTimeout(pollTimer);
		pollTimer = window.setTimeout(poll, ms);
	}

	/* One GET mode=screen at a time; the next one only after the answer. */
	function poll() {
		var mine = session, next = POLL_MS;

		pollTimer = null;
		if (!token || document.hidden || inflight)
			return;
		inflight = true;
		cloud('screen', 'GET').then(function (res) {
			var px, err;

			if (mine !== session)
				return;
			if ((px = pixels(res)) !== null) {
				draw(px);
				setState('live', 'Live: what the clock shows now.');
			} else if ((err = relayError(res)) !== null) {
				setState(err[0], err[1]);
				/* Nothing to draw: ask less often, and as told. */
				next = res.status === 429 || res.status === 503 ?
				    1000 * Math.min(30, Math.max(1, res.retry || 1)) :
				    2000;
			} else {
				setState('bad_answer', 'The clock\'s answer is not a ' +
				    'screen (HTTP ' + res.status + '); is it an AWTRIX 3?');
				next = 2000;
			}
		}, function () {
			if (mine !== session)
				return;
			setState('error', 'No answer from AWTRIX Cloud (network).');
			next = 2000;
		}).finally(function () {
			inflight = false;
			if (mine === session && token && !document.hidden)
				schedule(next);
		});
	}

	function onVisibility() {
		if (!token)
			return;
		if (document.hidden) {
			window.clearTimeout(pollTimer);
			pollTimer = null;
			setState('paused', 'Paused while the tab is hidden.');
		} else if (!inflight && pollTimer === null) {
			poll();
		}
	}

	/* --- test notification ---------------------------------------------- */

	function show(node, text) {
		node.textContent = text.length > SHOW_MAX ?
		    text.slice(0, SHOW_MAX) + '…' : text;
	}

	function onNotify(ev) {
		var body = { text: el.nText.value, color: el.nColor.value.toUpperCase() };
		var mine = session;

		ev.preventDefault();
		if (el.nIcon.value !== '')
			body.icon = el.nIcon.value;
		el.nStatus.textContent = 'sending…';
		el.nBody.textContent = '';
		cloud('notify', 'POST', body).then(function (res) {
			var err = relayError(res);

			if (mine !== session)
				return;
			el.nStatus.textContent = 'HTTP ' + res.status +
			    (err ? ': ' + err[1] : res.status < 300 ? ': sent' : '');
			show(el.nBody, res.text);
		}, function () {
			if (mine === session)
				el.nStatus.textContent = 'no answer from AWTRIX Cloud (network)';
		});
	}

	/* --- IFTTT settings --------------------------------------------------- */

	function iftttUrl() {
		return CLOUD + '?mode=notify&token=' + token;
	}

	function drawQr(text) {
		var c = el.qr, ctx = c.getContext('2d'), q, n, cell, off, r, k;

		ctx.fillStyle = '#ffffff';
		ctx.fillRect(0, 0, c.width, c.height);
		if (typeof window.qrcode !== 'function') {
			el.qrNote.textContent = 'No QR code: this server does not ' +
			    'serve qrcode.js (Debian package node-qrcode-generator).';
			return;
		}
		q = window.qrcode(0, 'M');
		q.addData(text);
		q.make();
		n = q.getModuleCount();
		cell = Math.floor(c.width / (n + 8));	/* 4 modules of quiet zone */
		off = Math.floor((c.width - cell * n) / 2);
		ctx.fillStyle = '#000000';
		for (r = 0; r < n; r++)
			for (k = 0; k < n; k++)
				if (q.isDark(r, k))
					ctx.fillRect(off + k * cell, off + r * cell,
					    cell, cell);
		c.dataset.modules = String(n);
	}

	function onCopy(ev) {
		var input = document.getElementById(ev.currentTarget.dataset.copy);
		var done = function () { el.copied.textContent = 'Copied.'; };

		if (navigator.clipboard && window.isSecureContext) {
			navigator.clipboard.writeText(input.value).then(done,
			    function () { legacyCopy(input) && done(); });
		} else if (legacyCopy(input)) {
			done();
		}
	}

	function legacyCopy(input) {
		input.focus();
		input.select();
		try {
			return document.execCommand('copy');
		} catch (e) {
			return false;
		}
	}

	/* --- status ------------------------------------------------------------ */

	function number(v, unit) {
		return typeof v === 'number' && isFinite(v) ? String(v) + unit : '–';
	}

	function refreshStats() {
		var mine = session;

		el.sState.textContent = 'asking the clock…';
		cloud('stats', 'GET').then(function (res) {
			var o = res.status === 200 ? parseJson(res) : undefined;
			var err = relayError(res);

			if (mine !== session)
				return;
			if (!o || typeof o !== 'object' || Array.isArray(o)) {
				el.sState.textContent = err ? err[1] :
				    'The clock\'s answer is not its statistics (HTTP ' +
				    res.status + ').';
				return;
			}
			show(el.sVersion, typeof o.version === 'string' &&
			    o.version !== '' ? o.version.slice(0, 40) : '–');
			el.sBat.textContent = number(o.bat, ' %');
			el.sWifi.textContent = number(o.wifi_signal, ' dBm');
			el.sState.textContent = 'as of ' +
			    new Date().toLocaleTimeString();
		}, function () {
			if (mine === session)
				el.sState.textContent = 'no answer from AWTRIX Cloud (network)';
		});
	}

	/* --- signing in and out ------------------------------------------------- */

	function signIn(t, stay) {
		if (typeof t !== 'string' || !TOKEN_RE.test(t)) {
			el.signinError.textContent = 'A token is 32 letters and digits.';
			return;
		}
		token = t;
		session++;
		el.signinError.textContent = '';
		el.token.value = '';
		el.stay2.checked = stay;
		storeSet(stay);
		el.signin.hidden = true;
		el.app.hidden = false;
		el.who.textContent = 'Signed in.';
		el.iUrl.value = iftttUrl();
		drawQr(el.iUrl.value);
		/* Nothing of a previous clock stays on the page. */
		draw(new Array(W * H).fill(0));
		el.sVersion.textContent = el.sBat.textContent =
		    el.sWifi.textContent = '–';
		el.nStatus.textContent = 'none yet';
		el.nBody.textContent = '';
		setState('starting', 'Connecting…');
		refreshStats();
		if (!document.hidden)
			poll();
		else
			onVisibility();
	}

	function signOut() {
		token = null;
		session++;
		window.clearTimeout(pollTimer);
		pollTimer = null;
		storeSet(false);
		el.iUrl.value = '';
		drawQr('');
		el.qrNote.textContent = 'The URL as a QR code, to set IFTTT up on a phone.';
		el.app.hidden = true;
		el.signin.hidden = false;
		el.who.textContent = 'Not signed in.';
	}

	function start() {
		var ids = {
			who: 'who', signin: 'signin', signinForm: 'signin-form',
			token: 'token', stay: 'stay', signinError: 'signin-error',
			app: 'app', stay2: 'stay2', signout: 'signout',
			screen: 'screen', state: 'state', notifyForm: 'notify-form',
			nText: 'n-text', nColor: 'n-color', nIcon: 'n-icon',
			nStatus: 'n-status', nBody: 'n-body', iUrl: 'i-url',
			copied: 'copied', qr: 'qr', qrNote: 'qr-note',
			sVersion: 's-version', sBat: 's-bat', sWifi: 's-wifi',
			sRefresh: 's-refresh', sState: 's-state'
		};
		var k, saved, copies, i;

		for (k in ids)
			el[k] = document.getElementById(ids[k]);
		el.signinForm.addEventListener('submit', function (ev) {
			ev.preventDefault();
			signIn(el.token.value.trim(), el.stay.checked);
		});
		el.stay2.addEventListener('change', function () {
			storeSet(el.stay2.checked);
		});
		el.signout.addEventListener('click', signOut);
		el.notifyForm.addEventListener('submit', onNotify);
		el.sRefresh.addEventListener('click', refreshStats);
		copies = document.querySelectorAll('button.copy');
		for (i = 0; i < copies.length; i++)
			copies[i].addEventListener('click', onCopy);
		document.addEventListener('visibilitychange', onVisibility);
		/* A new #token= link opened in this tab. */
		window.addEventListener('hashchange', function () {
			var t = takeFragmentToken();

			if (t !== null)
				signIn(t, false);
		});

		if (fragmentToken !== null) {
			signIn(fragmentToken, false);
		} else if ((saved = storeGet()) !== null && TOKEN_RE.test(saved)) {
			signIn(saved, true);
		}
		fragmentToken = null;
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
