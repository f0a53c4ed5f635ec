// The owner's page (www/) in headless Chromium against the real stack that
// tests/integration/47-browser.sh starts: web server from the shipped
// configuration, awtrix-cloud.fcgi, broker, agents, fake AWTRIX clocks.
// Run by that scenario, once per web server; the environment says where:
//   BASE          the web server's origin, http://127.0.0.1:PORT
//   SERVER        a label for the screenshots (lighttpd, fcgid, ...)
//   TOKEN         the token of an agent in front of a working fake clock
//   FAKE          that fake clock's base URL, http://127.0.0.1:PORT
//   FAKE_LOG      its request log (one line per request, body included)
//   OFFLINE_TOKEN a well-formed token no agent holds
//   UNREACH_TOKEN the token of an agent whose clock does not answer
//   HOSTILE_TOKEN the token of an agent in front of fake-awtrix --hostile
//   CHROME        the browser: Debian's chromium-headless-shell or chromium
//   ARTEFACTS     where the screenshots go
// Each top-level test is one check; they run in order and share a browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
	if (!process.env[k])
		throw new Error(`${k} is not set (run by tests/integration/47-browser.sh)`);
	return process.env[k];
};
const BASE = env('BASE');
const SERVER = env('SERVER');
const TOKEN = env('TOKEN');
const FAKE = env('FAKE');
const FAKE_LOG = env('FAKE_LOG');
const OFFLINE_TOKEN = env('OFFLINE_TOKEN');
const UNREACH_TOKEN = env('UNREACH_TOKEN');
const HOSTILE_TOKEN = env('HOSTILE_TOKEN');
const ARTEFACTS = env('ARTEFACTS');
const PAGE = `${BASE}/owner/`;
const W = 32, H = 8, P = 10;	// the canvas: 320 x 80, 10 px per LED

let browser, context;
const csp = [];			// CSP violations seen on any page of the test
const requests = [];		// every request a page made

// wait(fn): fn's value once truthy, polled for up to 15 s (bounded).
async function wait(fn, what) {
	let last;
	for (let i = 0; i < 150; i++) {
		last = await fn();
		if (last)
			return last;
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.fail(`timed out waiting for ${what}`);
}

async function shot(page, name) {
	await page.screenshot({ path: join(ARTEFACTS, `${SERVER}-${name}.png`),
	    fullPage: true });
}

async function newPage() {
	const page = await context.newPage();
	page.on('console', (m) => {
		if (/Content.Security.Policy/i.test(m.text()))
			csp.push(`${m.type()}: ${m.text()}`);
	});
	page.on('request', (r) => requests.push({ url: r.url(),
	    headers: r.headers(), at: Date.now(), page }));
	return page;
}

async function stateOf(page) {
	return page.$eval('#state', (e) => e.dataset.state);
}

// The canvas at each LED's centre, as 0xRRGGBB.
async function canvasLeds(page) {
	return page.$eval('#screen', (c, [w, h, p]) => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		const out = [];
		for (let y = 0; y < h; y++)
			for (let x = 0; x < w; x++) {
				const i = ((y * p + p / 2) * c.width + x * p + p / 2) * 4;
				out.push(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
			}
		return out;
	}, [W, H, P]);
}

async function fakeScreen() {
	const r = await fetch(`${FAKE}/api/screen`);
	return r.json();
}

async function fakeNotify(body) {
	const r = await fetch(`${FAKE}/api/notify`, { method: 'POST',
	    headers: { 'Content-Type': 'application/json' },
	    body: JSON.stringify(body) });
	assert.equal(r.status, 200);
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

before(async () => {
	mkdirSync(ARTEFACTS, { recursive: true });
	browser = await chromium.launch({ executablePath: env('CHROME') });
	context = await browser.newContext({ viewport: { width: 800, height: 900 } });
	await context.grantPermissions(['clipboard-read', 'clipboard-write'],
	    { origin: BASE });
	// Every violation of the policy the server sent, whatever the console says.
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
		});
	});
});

after(async () => {
	await browser?.close();
});

test('the page and its files are served with the security headers', async () => {
	const r = await fetch(PAGE);
	assert.equal(r.status, 200);
	assert.match(r.headers.get('content-type'), /^text\/html/);
	const policy = r.headers.get('content-security-policy') ?? '';
	assert.match(policy, /script-src 'self'/);
	assert.match(policy, /style-src 'self'/);
	assert.match(policy, /connect-src 'self'/);
	assert.match(policy, /frame-ancestors 'none'/);
	assert.match(policy, /default-src 'none'/);
	assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
	assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
	assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
	const html = await r.text();
	assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=/i,
	    'no inline script, style or handler in index.html');
	for (const [f, type] of [['owner.js', /javascript/], ['owner.css', /^text\/css/],
	    ['qrcode.js', /javascript/]]) {
		const s = await fetch(PAGE + f);
		assert.equal(s.status, 200, f);
		assert.match(s.headers.get('content-type') ?? '', type, f);
		assert.equal(s.headers.get('x-content-type-options'), 'nosniff', f);
	}
});

let live;			// the page signed in with TOKEN, kept open

test('the token from #token= leaves the address bar at once, and only travels as Bearer', async () => {
	live = await newPage();
	const seen = [];
	live.on('framenavigated', (f) => { if (f === live.mainFrame()) seen.push(f.url()); });
	await live.goto(`${PAGE}#token=${TOKEN}`);
	assert.equal(live.url(), PAGE);
	assert.ok(!live.url().includes(TOKEN));
	assert.equal(await live.evaluate(() => location.hash), '');
	await wait(() => requests.some((q) => q.url.includes('mode=screen')), 'a screen request');
	for (const q of requests) {
		assert.ok(!q.url.includes(TOKEN), `token in a request URL: ${q.url}`);
		if (q.url.startsWith(`${BASE}/cloud`))
			assert.equal(q.headers.authorization, `Bearer ${TOKEN}`);
		assert.ok(!q.headers.referer, `Referer sent to ${q.url}`);
	}
	assert.equal(await live.evaluate(() => sessionStorage.length), 0,
	    'nothing in sessionStorage unless asked');
});

test('live view: the canvas at each LED centre equals the clock\'s screen, and follows it', async () => {
	await fakeNotify({ text: 'HI', color: '#FF0000' });
	const first = await fakeScreen();
	assert.equal(first.length, W * H);
	await wait(async () => same(await canvasLeds(live), first), 'the first frame on the canvas');
	assert.equal(await stateOf(live), 'live');
	assert.ok(first.some((c) => c === 0xff0000), 'the frame has red LEDs');
	await shot(live, 'live');

	await fakeNotify({ text: 'YO', color: '#0000FF' });
	const second = await fakeScreen();
	assert.ok(!same(first, second), 'the clock shows something else');
	await wait(async () => same(await canvasLeds(live), second), 'the new frame on the canvas');
	// Square LEDs on black: the corner of each LED's cell is black.
	const corner = await live.$eval('#screen', (c) =>
	    Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data));
	assert.deepEqual(corner, [0, 0, 0, 255]);
});

test('live view: one request at a time, at most 2 per second', async () => {
	const mine = [];
	const onReq = (r) => { if (r.url().includes('mode=screen')) mine.push({ r, start: Date.now() }); };
	const onEnd = (r) => {
		const m = mine.find((x) => x.r === r);
		if (m) m.end = Date.now();
	};
	live.on('request', onReq);
	live.on('requestfinished', onEnd);
	live.on('requestfailed', onEnd);
	await wait(() => mine.filter((m) => m.end).length >= 5, '5 screen requests');
	live.off('request', onReq);
	for (let i = 1; i < mine.length; i++) {
		assert.ok(mine[i - 1].end !== undefined && mine[i].start >= mine[i - 1].end,
		    'a screen request started before the previous one ended');
		assert.ok(mine[i].start - mine[i - 1].start >= 480,
		    `two screen requests ${mine[i].start - mine[i - 1].start} ms apart`);
	}
});

test('live view: paused while the tab is hidden, resumed when shown', async () => {
	const count = () => requests.filter((q) => q.page === live && q.url.includes('mode=screen')).length;
	await live.evaluate(() => {
		Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
		document.dispatchEvent(new Event('visibilitychange'));
	});
	await wait(async () => (await stateOf(live)) === 'paused', 'the paused state');
	const n = count();
	await new Promise((r) => setTimeout(r, 2000));
	// At most the one already in flight when the tab was hidden.
	assert.ok(count() <= n + 1, `${count() - n} screen requests while hidden`);
	await live.evaluate(() => {
		delete document.hidden;
		delete document.visibilityState;
		document.dispatchEvent(new Event('visibilitychange'));
	});
	await wait(async () => (await stateOf(live)) === 'live' && count() > n + 1, 'polling again');
});

test('the test notification from the form reaches the clock as JSON', async () => {
	const text = `From the browser via ${SERVER}`;
	await live.fill('#n-text', text);
	await live.fill('#n-color', '#ff8800');
	await live.fill('#n-icon', '1234');
	await live.click('#notify-form button[type=submit]');
	await wait(async () => /HTTP 200/.test(await live.textContent('#n-status')), 'the answer');
	assert.equal(await live.textContent('#n-body'), 'OK');
	const line = await wait(() => readFileSync(FAKE_LOG, 'utf8').split('\n')
	    .find((l) => l.includes(text)), 'the request at the clock');
	assert.match(line, /^POST \/api\/notify ctype=application\/json /);
	const body = JSON.parse(line.slice(line.indexOf('body=') + 5));
	assert.deepEqual(body, { text, color: '#FF8800', icon: '1234' });
	await shot(live, 'notified');
});

test('status: firmware, battery and Wi-Fi signal from mode=stats', async () => {
	await wait(async () => (await live.textContent('#s-version')) === '0.98', 'the firmware version');
	assert.equal(await live.textContent('#s-bat'), '100 %');
	assert.equal(await live.textContent('#s-wifi'), '-60 dBm');
	// The top of the page as an owner sees it (docs/owner-page.png), once
	// the live view shows the notification sent from the form.
	const now = await fakeScreen();
	await wait(async () => same(await canvasLeds(live), now), 'the form\'s notification on the canvas');
	await live.screenshot({ path: join(ARTEFACTS, `${SERVER}-overview.png`) });
});

test('IFTTT settings: URL, method, content type and body, copy buttons, a QR code', async () => {
	const url = `${BASE}/cloud?mode=notify&token=${TOKEN}`;
	assert.equal(await live.inputValue('#i-url'), url);
	assert.equal(await live.inputValue('#i-method'), 'POST');
	assert.equal(await live.inputValue('#i-ctype'), 'application/json');
	const body = await live.inputValue('#i-body');
	assert.match(body, /\{\{Value1\}\}/);
	JSON.parse(body);
	await live.click('button[data-copy=i-url]');
	await wait(async () => (await live.evaluate(() => navigator.clipboard.readText())) === url,
	    'the URL on the clipboard');
	await live.click('button[data-copy=i-body]');
	await wait(async () => (await live.evaluate(() => navigator.clipboard.readText())) === body,
	    'the body on the clipboard');
	const modules = Number(await live.$eval('#qr', (c) => c.dataset.modules || '0'));
	assert.ok(modules >= 21, `a QR code of ${modules} modules`);
	const dark = await live.$eval('#qr', (c) => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] === 0) n++;
		return n / (d.length / 4);
	});
	assert.ok(dark > 0.2 && dark < 0.7, `QR canvas ${Math.round(dark * 100)} % dark`);
	await live.locator('#ifttt').screenshot({ path: join(ARTEFACTS, `${SERVER}-ifttt.png`) });
});

test('agent offline: a token no agent holds, typed into the form', async () => {
	const page = await newPage();
	await page.goto(PAGE);
	await page.fill('#token', OFFLINE_TOKEN);
	await page.click('#signin-form button[type=submit]');
	await wait(async () => (await stateOf(page)) === 'offline', 'the offline state');
	assert.match(await page.textContent('#state'), /Agent offline/);
	assert.ok(!page.url().includes(OFFLINE_TOKEN));
	await shot(page, 'offline');
	await page.close();
});

test('clock unreachable: the agent cannot reach its clock', async () => {
	const page = await newPage();
	await page.goto(`${PAGE}#token=${UNREACH_TOKEN}`);
	await wait(async () => (await stateOf(page)) === 'unreachable', 'the unreachable state');
	assert.match(await page.textContent('#state'), /Clock unreachable/);
	await shot(page, 'unreachable');
	await page.close();
});

test('rate limited: shown while the token\'s budget is spent, live again after', async () => {
	let stop = false, sent = 0, limited = 0;
	// Other clients of the same token, at ~20 requests a second, bounded.
	const hammer = (async () => {
		while (!stop && sent < 400) {
			sent++;
			const r = await fetch(`${BASE}/cloud?mode=stats`,
			    { headers: { Authorization: `Bearer ${TOKEN}` } });
			if (r.status === 429) limited++;
			await r.arrayBuffer();
			await new Promise((res) => setTimeout(res, 50));
		}
	})();
	try {
		await wait(async () => (await stateOf(live)) === 'rate_limited', 'the rate-limited state');
		assert.match(await live.textContent('#state'), /Rate limited/);
		await shot(live, 'rate-limited');
	} finally {
		stop = true;
		await hammer;
	}
	assert.ok(limited > 0);
	await wait(async () => (await stateOf(live)) === 'live', 'live again');
});

test('a hostile device answer (HTML with script, JSON with markup) never runs', async () => {
	const page = await newPage();
	const dialogs = [];
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
	await page.goto(`${PAGE}#token=${HOSTILE_TOKEN}`);
	// text/html for mode=screen: the relay passes it on (then it is no
	// screen) or, with hostile-agent hardening, answers 502.
	await wait(async () => ['bad_answer', 'unreachable'].includes(await stateOf(page)),
	    'the live view refusing the answer');
	await page.fill('#n-text', 'hostile');
	await page.click('#notify-form button[type=submit]');
	await wait(async () => /HTTP (200|502)/.test(await page.textContent('#n-status')), 'the answer');
	const shown = await page.textContent('#n-body');
	assert.ok(shown.includes('<script>') || /device_unreachable/.test(shown),
	    `shown as text: ${shown.slice(0, 80)}`);
	// stats: JSON whose strings are markup, shown as text.
	await wait(async () => (await page.textContent('#s-version')).includes('<script>'),
	    'the markup shown as text');
	assert.equal(await page.textContent('#s-bat'), '–');
	await new Promise((r) => setTimeout(r, 500));
	assert.equal(await page.evaluate(() => window.__pwned), undefined);
	assert.deepEqual(dialogs, []);
	assert.equal(await page.evaluate(() => document.querySelectorAll('script').length), 2);
	assert.equal(await page.evaluate(() => document.querySelectorAll('img, iframe, b').length), 0);
	await shot(page, 'hostile');
	await page.close();
});

test('stay signed in: sessionStorage only when asked, and cleared at sign-out', async () => {
	const page = await newPage();
	await page.goto(PAGE);
	await page.fill('#token', TOKEN);
	await page.check('#stay');
	await page.click('#signin-form button[type=submit]');
	assert.equal(await page.evaluate(() => sessionStorage.getItem('awtrix-cloud-token')), TOKEN);
	await page.reload();
	await wait(async () => (await stateOf(page)) === 'live', 'signed in again after a reload');
	await page.click('#signout');
	assert.equal(await page.evaluate(() => sessionStorage.length), 0);
	assert.equal(await page.inputValue('#i-url'), '');
	await page.close();
});

test('the policy is enforced (an injected inline script is refused) and the page broke none of it', async () => {
	const n = csp.length;
	const probe = await newPage();
	await probe.goto(PAGE);
	await probe.evaluate(() => {
		const s = document.createElement('script');
		s.textContent = 'window.__inline = 1';
		document.body.appendChild(s);
	});
	await wait(() => csp.length > n, 'the probe\'s violation');
	assert.equal(await probe.evaluate(() => window.__inline), undefined);
	await probe.close();
	assert.deepEqual(csp.slice(0, n), [], 'CSP violations while testing the page');
});
