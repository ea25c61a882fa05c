#!/usr/bin/env node
/*
 * bench_field_page.js: the web app's budgets in headless chromium with
 * the CPU slowed 4 times (CDP Emulation.setCPUThrottlingRate), as a
 * low-end phone: bench_field_page.py starts the board and runs it.
 *
 *   node bench/bench_field_page.js --url URL --user NAME --pin PIN
 *       --form ID --field SITE [--chromium PATH] [--rate 4] [--runs 5]
 *
 * Prints one JSON object: `open` (ms from the tap on the form to its first
 * page drawn and a question answering a key, each run), `cold` (ms from a
 * reload with the form open -- scripts, rules.wasm, definitions, the
 * page -- to the same), `keys` (ms from a
 * key typed in the select's search box to the next frame drawn with the
 * list narrowed, each key), `bare` (the same for a key in a bare input on
 * the same page: the baseline), what the search found.
 */
'use strict';

const path = require('path');
const { launch } = require(path.join(__dirname, '..', 'tests', 'browser',
    'common'));

function args() {
	const a = { chromium: '/usr/bin/chromium', rate: '4', runs: '5' };
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2)
		a[v[i].replace(/^--/, '')] = v[i + 1];
	return a;
}

async function main() {
	const a = args();
	const out = { form: a.form, rate: Number(a.rate), open: [], keys: [] };
	const browser = await launch(a.chromium);
	try {
		const ctx = await browser.newContext({ viewport: { width: 360,
			height: 740 }, hasTouch: true, isMobile: true });
		const page = await ctx.newPage();
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		await page.goto(a.url);
		await page.waitForFunction(() => document.body.dataset.state ===
		    'login');
		await page.fill('#login-user', a.user);
		await page.fill('#login-pin', a.pin);
		await page.click('#pin-form button[type=submit]');
		await page.waitForFunction(() => document.body.dataset.state ===
		    'home');
		const cdp = await ctx.newCDPSession(page);
		await cdp.send('Emulation.setCPUThrottlingRate',
		    { rate: out.rate });
		for (let r = 0; r < Number(a.runs); r++) {
			/* from the tap to a page that answers: the click's handler,
			   the form's state from the rules, the first page drawn,
			   then a frame and a task after it */
			const ms = await page.evaluate((form) => new Promise((res) => {
				const b = document.querySelector('#forms button[data-form="' +
				    form + '"]');
				const t0 = performance.now();
				b.click();
				const wait = () => {
					if (document.body.dataset.state !== 'form' ||
					    !document.querySelector('#fields input'))
						return setTimeout(wait, 5);
					requestAnimationFrame(() => setTimeout(() =>
					    res(performance.now() - t0), 0));
				};
				wait();
			}), a.form);
			out.open.push(Math.round(ms));
			if (r + 1 < Number(a.runs)) {
				await page.click('#back');
				await page.waitForFunction(() => document.body.dataset
				    .state === 'home');
			}
		}
		/* cold: the page loaded again with the form open (its draft):
		   the scripts, rules.wasm compiled, the session checked, the
		   definitions fetched and parsed, the page drawn */
		out.cold = [];
		/* an answer, so there is a draft to reopen */
		const radio = await page.$('#fields input[type=radio]');
		if (radio)
			await radio.click();
		else
			await page.fill('#fields input[type=text]', 'x');
		for (let r = 0; r < Number(a.runs); r++) {
			const t0 = Date.now();
			await page.reload();
			await page.waitForFunction(() => document.body.dataset.state ===
			    'form' && document.querySelector('#fields input'));
			await page.evaluate(() => new Promise((res) =>
			    requestAnimationFrame(() => setTimeout(res, 0))));
			out.cold.push(Date.now() - t0);
		}
		/* to the page of the cascade: its state and county first */
		for (let i = 0; i < 20 && !(await page.$('[data-path="' + a.field +
		    '"]')); i++)
			await page.click('#next');
		const pick = async (name) => {
			const sel = '[data-path="' + name + '"]';
			const radio = await page.$(sel + ' input[type=radio]');
			if (radio)
				await radio.click();
			else
				await page.click(sel + ' .pick:not([hidden])');
		};
		const cascade = JSON.parse(a.cascade || '[]');
		for (const name of cascade)
			await pick(name);
		const q = '[data-path="' + a.field + '"] input.picker-q';
		out.listed = await page.$$eval('[data-path="' + a.field + '"] .pick:not([hidden])',
		    (x) => x.length);
		await page.focus(q);
		await page.evaluate((sel) => {
			const i = document.querySelector(sel);
			window.keyTimes = [];
			i.addEventListener('keydown', () => {
				const t0 = performance.now();
				/* answered: the list redrawn and painted */
				i.addEventListener('input', () => requestAnimationFrame(() =>
				    setTimeout(() => window.keyTimes.push(performance.now() -
				    t0), 0)), { once: true });
			}, true);
		}, q);
		for (const ch of a.type || 'site 1') {
			await page.keyboard.type(ch);
			await page.waitForTimeout(150);
		}
		out.keys = (await page.evaluate(() => window.keyTimes)).map((x) =>
		    Math.round(x * 10) / 10);
		/* the baseline, in the same page and run: a key in a bare input
		   (no listener), the floor a busy machine puts under every key */
		await page.evaluate(() => {
			const i = document.createElement('input');
			i.id = 'bench-bare';
			document.body.appendChild(i);
			window.bareTimes = [];
			i.addEventListener('keydown', () => {
				const t0 = performance.now();
				i.addEventListener('input', () => requestAnimationFrame(() =>
				    setTimeout(() => window.bareTimes.push(performance.now() -
				    t0), 0)), { once: true });
			}, true);
		});
		await page.focus('#bench-bare');
		for (const ch of a.type || 'site 1') {
			await page.keyboard.type(ch);
			await page.waitForTimeout(150);
		}
		out.bare = (await page.evaluate(() => window.bareTimes)).map((x) =>
		    Math.round(x * 10) / 10);
		out.found = await page.$$eval('[data-path="' + a.field + '"] .pick:not([hidden])',
		    (x) => x.map((b) => b.dataset.value));
		out.errors = errors;
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
	console.error(e && e.stack ? e.stack : e);
	process.exit(1);
});
