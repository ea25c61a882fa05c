#!/usr/bin/env node
/*
 * field_language.js: drives Debian's chromium (playwright-core) through
 * the web app on a form that uses the whole language
 * (tests/data/xlsform/places_2000.xlsx loaded in a real fieldd): pages by
 * group with progress, a note with ${enumerator} piped in, a field-list
 * group of cascading selects over 2,000 places searched by typing,
 * repeat_count, a calculation, time and dateTime, metadata; one record
 * refused in the phone with the board's words, then corrected and sent.
 * Prints what it saw as one JSON object; tests/integration/
 * test_field_language.py makes the checks.
 *
 *   node field_language.js --url URL --user NAME --pin PIN
 *       [--chromium PATH] [--throttle 4]
 *
 * With --throttle N the page's CPU is slowed N times (CDP
 * Emulation.setCPUThrottlingRate) and the figures bench/run.sh prints are
 * taken: the form open until it answers, and keystrokes in the search box.
 */
'use strict';

const { launch, watchPage } = require('./common');

function args() {
	const a = { url: '', user: '', pin: '', chromium: '/usr/bin/chromium',
		throttle: '0' };
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2)
		a[v[i].replace(/^--/, '')] = v[i + 1];
	if (!a.url || !a.user || !a.pin) {
		console.error('usage: field_language.js --url URL --user NAME ' +
		    '--pin PIN [--throttle N]');
		process.exit(2);
	}
	return a;
}

async function main() {
	const a = args();
	const out = { log: { console: [], pageErrors: [], requests: [],
		foreign: [] }, times: {} };
	const browser = await launch(a.chromium);
	try {
		const ctx = await browser.newContext({ viewport: { width: 360,
			height: 740 }, hasTouch: true, isMobile: true });
		const page = await ctx.newPage();
		watchPage(page, new URL(a.url).origin, out.log);
		page.on('response', (r) => {
			if (r.request().method() === 'POST' &&
			    new URL(r.url()).pathname.startsWith('/api/records/'))
				(out.posts = out.posts || []).push(r.status());
		});
		if (Number(a.throttle) > 1) {
			const cdp = await ctx.newCDPSession(page);
			await cdp.send('Emulation.setCPUThrottlingRate',
			    { rate: Number(a.throttle) });
		}
		await page.goto(a.url);
		await page.waitForFunction(() => document.body.dataset.state ===
		    'login');
		await page.fill('#login-user', a.user);
		await page.fill('#login-pin', a.pin);
		await page.click('#pin-form button[type=submit]');
		await page.waitForFunction(() => document.body.dataset.state ===
		    'home');
		out.forms = await page.$$eval('#forms button', (bs) =>
		    bs.map((b) => b.dataset.form));

		/* open: until the first question takes a key */
		const t0 = Date.now();
		await page.click('#forms button[data-form="places_2000"]');
		await page.waitForFunction(() => document.body.dataset.state ===
		    'form');
		await page.fill('[data-path="enumerator"] input', 'Awut');
		out.times.open = Date.now() - t0;
		const pageInfo = () => page.evaluate(() => ({
			page: document.getElementById('fields').dataset.page,
			progress: document.getElementById('progress').textContent,
			progressShown: !document.getElementById('progress').hidden,
			next: !document.getElementById('next').hidden,
			submit: !document.getElementById('submit').hidden,
			paths: [...document.querySelectorAll('#fields [data-path]')]
			    .filter((e) => !e.hidden && e.offsetParent !== null)
			    .map((e) => e.dataset.path)
		}));
		out.page1 = await pageInfo();
		out.note = await page.textContent('[data-path="intro"] .note-text');

		/* page 2: the field-list group, cascading */
		await page.click('#next');
		out.page2 = await pageInfo();
		await page.click('[data-path="admin1"] input[value=SS02]');
		out.admin2Choices = await page.$$eval(
		    '[data-path="admin2"] .pick:not([hidden])', (bs) => bs.map((b) =>
		    b.dataset.value));
		await page.click('[data-path="admin2"] .pick:not([hidden])[data-value="SS0201"]');
		out.sitesListed = await page.$$eval('[data-path="site"] .pick:not([hidden])',
		    (bs) => bs.length);
		/* typing in the 2,000-place search: each key timed in the page */
		const q = '[data-path="site"] input.picker-q';
		await page.focus(q);
		out.times.keys = [];
		for (const ch of '1999') {
			await page.keyboard.type(ch);
			out.times.keys.push(await page.evaluate(() => new Promise((res) => {
				/* the time from the key to the next frame drawn */
				const e = performance.getEntriesByType('event');
				const last = e.length ? e[e.length - 1] : null;
				requestAnimationFrame(() => res(last ? last.duration : -1));
			})));
		}
		/* the same in JS: input event to list drawn */
		out.times.keyInPage = await page.evaluate((sel) => {
			const i = document.querySelector(sel);
			const ts = [];
			for (const s of ['S', 'Si', 'Sit', 'Site 1', 'Site 19',
			    'Site 199', 'Site 1999', '']) {
				const t = performance.now();
				i.value = s;
				i.dispatchEvent(new Event('input'));
				void i.parentNode.querySelector('.picker-list').offsetHeight;
				ts.push(performance.now() - t);
			}
			return ts;
		}, q);
		await page.fill(q, 'site 1999');
		out.sitesMatching = await page.$$eval('[data-path="site"] .pick:not([hidden])',
		    (bs) => bs.map((b) => b.dataset.value));
		await page.click('[data-path="site"] .pick:not([hidden])[data-value="S1999"]');
		out.picked = await page.textContent('[data-path="site"] .picked');

		/* page 3: the household size, its repeat */
		await page.click('#next');
		out.page3 = await pageInfo();
		await page.fill('[data-path="hh_size"] input', '2');
		await page.waitForFunction(() => document.querySelectorAll(
		    '[data-path="members"] .item').length === 2);
		out.items = await page.$$eval('[data-path="members"] .item',
		    (x) => x.length);
		out.addButtons = await page.$$eval('[data-path="members"] .add',
		    (x) => x.length);
		out.memberLabel = await page.textContent(
		    '[data-path="members[2].age"] .label');
		await page.fill('[data-path="members[1].age"] input', '34');
		await page.click('[data-path="members[1].sex"] input[value=female]');
		await page.fill('[data-path="members[2].age"] input', '130');
		await page.click('[data-path="members[2].sex"] input[value=male]');
		await page.click('[data-path="hh_size"] input');
		out.ageError = await page.getAttribute(
		    '[data-path="members[2].age"] .field-error', 'data-reason');

		/* page 4: needs, time and dateTime */
		await page.click('#next');
		out.page4 = await pageInfo();
		await page.click('[data-path="needs"] input[value=food]');
		await page.fill('[data-path="visit_time"] input', '09:30');
		await page.fill('[data-path="next_visit"] input', '2026-12-20T10:15');
		out.submitShown = !(await page.isHidden('#submit'));
		/* refused in the phone: the board's words beside the field */
		await page.click('#submit');
		await page.waitForFunction(() => !document.getElementById(
		    'form-error').hidden);
		out.refused = await page.evaluate(() => ({
			page: document.getElementById('fields').dataset.page,
			errors: [...document.querySelectorAll('.field-error')]
			    .filter((e) => !e.hidden).map((e) => [e.parentNode.dataset
			    .path, e.dataset.reason])
		}));
		out.postsBeforeFix = (out.posts || []).length;
		await page.fill('[data-path="members[2].age"] input', '3');
		/* the calculation the board recomputes, as the page holds it */
		out.state = await page.evaluate(() => JSON.parse(localStorage
		    .getItem('field.draft.' + localStorage.getItem('field.current'))));
		await page.click('#next');
		await page.click('#submit');
		await page.waitForFunction(() => document.body.dataset.state ===
		    'home', null, { timeout: 15000 });
		out.notice = await page.textContent('#notice');
		await ctx.close();
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
	console.error(e && e.stack ? e.stack : e);
	process.exit(1);
});
