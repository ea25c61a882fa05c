#!/usr/bin/env node
/*
 * coord_page.js: drives Debian's chromium (playwright-core) through the
 * coordinator page and prints what it saw as one JSON object; the checks
 * are made by tests/integration/test_coord_page.py.
 *
 *   node coord_page.js --url http://127.0.0.1:PORT/ --token T --out DIR
 *
 * It visits the page three times, each in a fresh browser context:
 *   login    no token: the login shows, no data; a wrong token: an error
 *   desktop  1280x900: the token, every chart's marks, the print layout
 *            (and a PDF), a screenshot
 *   phone    390x844 with touch: the token again, layout checks, a
 *            screenshot, then "Forget token" brings the login back
 * and records console errors, page errors, failed responses and every
 * request that leaves the page's origin.
 */
'use strict';

const path = require('path');
const { launch, watchPage } = require('./common');

function args() {
	const a = { url: '', token: '', out: '.', chromium: '/usr/bin/chromium',
		timeout: 120000 };
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2)
		a[v[i].replace(/^--/, '')] = v[i + 1];
	a.timeout = Number(a.timeout);
	if (!a.url || !a.token) {
		console.error('usage: coord_page.js --url URL --token TOKEN --out DIR');
		process.exit(2);
	}
	return a;
}

/* Listens to a page: console errors, page errors, foreign requests. */
function watch(page, origin, log) {
	watchPage(page, origin, log);
	page.on('response', (r) => {
		if (r.status() >= 400)
			log.failed.push(r.status() + ' ' + r.url());
	});
}

function newLog() {
	return { console: [], pageErrors: [], requests: [], foreign: [],
		failed: [] };
}

async function state(page, want, timeout) {
	await page.waitForSelector('body[data-state="' + want + '"]',
	    { timeout });
}

async function marks(page) {
	return page.$$eval('[data-measure]', (ms) => ms.length);
}

async function enterToken(page, token, timeout) {
	await page.fill('#token', token);
	const t0 = Date.now();
	await page.click('#login-form button[type="submit"]');
	await state(page, 'ready', timeout);
	return Date.now() - t0;
}

/* Every chart and its marks, as drawn. */
function charts(page) {
	return page.$$eval('svg[data-chart]', (svgs) => svgs.map((s) => ({
		form: s.dataset.form,
		chart: s.dataset.chart,
		query: s.dataset.query,
		marks: [...s.querySelectorAll('[data-measure]')].map((m) => {
			const shown = [...m.querySelectorAll('text')]
				.map((t) => t.textContent).join(' ');
			return {
				key: m.dataset.key,
				measure: m.dataset.measure,
				value: m.dataset.value === undefined ? null :
				    Number(m.dataset.value),
				suppressed: m.dataset.suppressed === '1',
				/* hatched (.sup) or in the suppressed style (.supt) */
				distinct: m.querySelector('.sup, .supt') !== null,
				text: shown
			};
		})
	})));
}

async function main() {
	const a = args();
	const origin = new URL(a.url).origin;
	const out = { origin };
	const browser = await launch(a.chromium);
	try {
		/* 1. no token, then a wrong one */
		{
			const log = newLog();
			const ctx = await browser.newContext({ viewport:
				{ width: 1280, height: 900 } });
			const page = await ctx.newPage();
			watch(page, origin, log);
			await page.goto(a.url);
			await state(page, 'login', a.timeout);
			const login = {
				loginVisible: await page.isVisible('#login'),
				appVisible: await page.isVisible('#app'),
				marks: await marks(page)
			};
			await page.fill('#token', 'not-a-token-' + a.token.slice(0, 4));
			await page.click('#login-form button[type="submit"]');
			await state(page, 'refused', a.timeout);
			login.wrong = {
				error: await page.textContent('#error'),
				errorVisible: await page.isVisible('#error'),
				loginVisible: await page.isVisible('#login'),
				appVisible: await page.isVisible('#app'),
				marks: await marks(page),
				stored: await page.evaluate(() =>
				    localStorage.getItem('coord.token'))
			};
			await page.screenshot({ path: path.join(a.out,
			    'coord_wrong_token.png') });
			login.log = log;
			out.login = login;
			await ctx.close();
		}

		/* 2. desktop */
		{
			const log = newLog();
			const ctx = await browser.newContext({ viewport:
				{ width: 1280, height: 900 } });
			const page = await ctx.newPage();
			watch(page, origin, log);
			await page.goto(a.url);
			await state(page, 'login', a.timeout);
			const ms = await enterToken(page, a.token, a.timeout);
			const d = { loadMs: ms };
			d.about = await page.textContent('#about');
			d.tabs = await page.$$eval('#tabs button', (bs) =>
			    bs.map((b) => b.textContent));
			d.chartErrors = await page.$$eval('.note.error', (ns) =>
			    ns.map((n) => n.textContent));
			d.charts = await charts(page);
			d.stored = await page.evaluate(() =>
			    localStorage.getItem('coord.token') !== null);
			await page.screenshot({ path: path.join(a.out,
			    'coord_desktop.png'), fullPage: true });
			/* each tab shows its form alone */
			d.tabViews = [];
			for (const id of await page.$$eval('#tabs button', (bs) =>
			    bs.map((b) => b.id))) {
				await page.click('#' + id);
				d.tabViews.push(await page.$$eval('section.form', (ss) =>
				    ss.filter((s) => s.offsetParent !== null)
					.map((s) => s.id)));
				await page.screenshot({ path: path.join(a.out,
				    'coord_desktop_' + id.replace(/^tab-/, '') + '.png'),
				    fullPage: true });
			}
			/* the labels of the added forms' status and kit charts, in
			   the language shown first and in each other one */
			const labels = () => page.$$eval('svg[data-chart^="by_"]',
			    (ss) => Object.fromEntries(ss.filter((x) =>
				['water_points', 'distribution'].includes(
				    x.dataset.form)).map((x) => [x.dataset.form +
				    '/' + x.dataset.chart, [...x.querySelectorAll(
				    'text.lab')].map((t) => t.textContent)])));
			const byForm = (l) => ({
				water_points: l['water_points/by_status'] || [],
				distribution: l['distribution/by_kit'] || [] });
			d.labels = { start: byForm(await labels()),
				languages: await page.$$eval('#lang option', (os) =>
				    os.map((o) => o.value)) };
			for (const l of ['Français', 'العربية', 'English']) {
				await page.selectOption('#lang', l);
				await state(page, 'ready', a.timeout);
				d.labels[l] = byForm(await labels());
			}
			/* the resource centres' tab: its first bar chart's CSV
			   download */
			await page.click('#tab-mrc_visit');
			const [dl] = await Promise.all([page.waitForEvent('download'),
				page.click('section.form:not([hidden]) .chart-bars ' +
				    '.downloads button >> nth=0')]);
			d.download = { name: dl.suggestedFilename(),
				text: require('fs').readFileSync(await dl.path(), 'utf8') };
			/* a period: the last 30 days */
			const from = new Date(Date.now() - 30 * 86400000)
				.toISOString().slice(0, 10);
			await page.fill('#from', from);
			await page.click('#period button[type="submit"]');
			await state(page, 'ready', a.timeout);
			d.period = { from, charts: await charts(page),
				open: await page.$$eval('section.form', (ss) => ss
				    .filter((x) => !x.hidden).map((x) => x.id)) };
			/* printed: no tabs, every form */
			await page.emulateMedia({ media: 'print' });
			d.print = {
				formsShown: await page.$$eval('section.form', (ss) =>
				    ss.filter((s) => s.offsetParent !== null).length),
				forms: await page.$$eval('section.form', (ss) => ss.length),
				tabsShown: await page.isVisible('#tabs'),
				toolsShown: await page.isVisible('#tools')
			};
			await page.pdf({ path: path.join(a.out, 'coord_print.pdf'),
				format: 'A4', printBackground: true });
			await page.screenshot({ path: path.join(a.out,
			    'coord_print.png'), fullPage: true });
			await page.emulateMedia({ media: 'screen' });
			d.log = log;
			out.desktop = d;
			await ctx.close();
		}

		/* 3. phone */
		{
			const log = newLog();
			const ctx = await browser.newContext({
				viewport: { width: 390, height: 844 },
				deviceScaleFactor: 2, isMobile: true, hasTouch: true });
			const page = await ctx.newPage();
			watch(page, origin, log);
			await page.goto(a.url);
			await state(page, 'login', a.timeout);
			const p = { loadMs: await enterToken(page, a.token, a.timeout) };
			p.charts = await charts(page);
			p.scrollWidth = await page.evaluate(() =>
			    document.documentElement.scrollWidth);
			p.widestSvg = await page.$$eval('svg[data-chart]', (ss) =>
			    Math.max(0, ...ss.filter((s) => s.getBoundingClientRect()
				.width > 0).map((s) => s.getBoundingClientRect().right)));
			/* touch targets: every visible button */
			p.smallTargets = await page.$$eval('button', (bs) => bs
			    .filter((b) => b.offsetParent !== null)
			    .map((b) => [b.textContent, b.getBoundingClientRect()])
			    .filter(([, r]) => r.height < 44 || r.width < 44)
			    .map(([t, r]) => t + ' ' + Math.round(r.width) + 'x' +
				Math.round(r.height)));
			p.fontSizes = await page.$$eval('svg[data-chart] text', (ts) =>
			    Math.min(99, ...ts.filter((t) => t.getBoundingClientRect()
				.height > 0).map((t) => parseFloat(
				getComputedStyle(t).fontSize))));
			await page.screenshot({ path: path.join(a.out,
			    'coord_phone.png'), fullPage: true });
			await page.screenshot({ path: path.join(a.out,
			    'coord_phone_top.png') });
			for (const id of (await page.$$eval('#tabs button', (bs) =>
			    bs.map((b) => b.id))).slice(1)) {
				await page.click('#' + id);
				await page.screenshot({ path: path.join(a.out,
				    'coord_phone_' + id.replace(/^tab-/, '') + '.png'),
				    fullPage: true });
			}
			await page.click('#forget');
			await state(page, 'login', a.timeout);
			p.forgot = {
				loginVisible: await page.isVisible('#login'),
				marks: await marks(page),
				stored: await page.evaluate(() =>
				    localStorage.getItem('coord.token'))
			};
			/* a reload stays at the login */
			await page.reload();
			await state(page, 'login', a.timeout);
			p.forgot.afterReload = await page.isVisible('#login');
			p.log = log;
			out.phone = p;
			await ctx.close();
		}
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	console.error('coord_page.js: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
