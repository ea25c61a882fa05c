#!/usr/bin/env node
/*
 * field_page.js: drives Debian's chromium (playwright-core) through the
 * enumerators' web app (web/field) that a real fieldd serves, and prints
 * what it saw as one JSON object; tests/integration/test_field_page.py
 * makes the checks.
 *
 *   node field_page.js --url http://127.0.0.1:PORT/ --user NAME --pin PIN
 *       --out DIR [--chromium PATH] [--sync DIR]
 *
 * Two browser contexts:
 *   phone   360x740, touch: a wrong PIN, then the PIN; a household with
 *           three members (skip logic on consent on the way); a household
 *           with an age of 130 and a phone that does not match (errors
 *           beside their fields as they are left, nothing sent; then the
 *           page's rules switched off to see the server's 422 beside the
 *           same fields), left as a draft and discarded; half a resource
 *           centre visit, a reload, a board restart, the session expired
 *           (the login, then the draft again), the rest of it in Arabic
 *           (right to left) and sent; log out; a refused token.
 *   tablet  1024x600 (the board's 7-inch screen), touch, a position: a
 *           site assessment with "use my location", sent; a made-up form
 *           (served by the script, never sent) for the field types the
 *           shipped forms lack.
 * With --sync DIR the script asks the test for two things done to the
 * board, writing DIR/WHAT.req and waiting for DIR/WHAT.ok: "restart"
 * (fieldd restarted on the same port, so the origin and the phone's
 * storage stay) and "expire" (the enumerator's sessions expire, as after
 * 12 hours).
 *
 * Recorded for each context: console errors and warnings, page errors,
 * every request (and those leaving the board's origin), responses of 400
 * and more; layout: the page's width and every control under 44 px.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { launch, watchPage } = require('./common');

function args() {
	const a = { url: '', user: '', pin: '', out: '.', sync: '',
		chromium: '/usr/bin/chromium', timeout: 30000 };
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2)
		a[v[i].replace(/^--/, '')] = v[i + 1];
	a.timeout = Number(a.timeout);
	if (!a.url || !a.user || !a.pin) {
		console.error('usage: field_page.js --url URL --user NAME --pin PIN ' +
		    '--out DIR [--sync DIR]');
		process.exit(2);
	}
	return a;
}

function newLog() {
	return { console: [], pageErrors: [], requests: [], foreign: [],
		failed: [], posts: [] };
}

function watch(page, origin, log) {
	watchPage(page, origin, log);
	page.on('response', (r) => {
		const u = new URL(r.url());
		if (r.status() >= 400)
			log.failed.push(r.status() + ' ' + r.request().method() + ' ' +
			    u.pathname);
		if (r.request().method() === 'POST' &&
		    u.pathname.startsWith('/api/records/'))
			log.posts.push(r.status() + ' ' + u.pathname + u.search);
	});
}

function localToday(days) {
	const d = new Date(Date.now() + (days || 0) * 86400000);
	const p = (n) => String(n).padStart(2, '0');
	return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Run {
	constructor(page, a, name) {
		this.page = page;
		this.a = a;
		this.name = name;
		this.shots = [];
	}

	state(want) {
		return this.page.waitForSelector('body[data-state="' + want + '"]',
		    { timeout: this.a.timeout });
	}

	sel(p) {
		return '[data-path="' + p + '"]';
	}

	/* A text, number or date answer. */
	async fill(p, v) {
		await this.page.fill(this.sel(p) + ' :is(input, textarea)', String(v));
	}

	/* A choice (radio or checkbox). */
	async choose(p, name, on) {
		const s = this.sel(p) + ' input[value="' + name + '"]';
		if (on === false)
			await this.page.uncheck(s);
		else
			await this.page.check(s);
	}

	/* Leaves the field: focus goes to the form's title. */
	async leave(p) {
		await this.page.focus(this.sel(p) + ' :is(input, textarea)');
		await this.page.keyboard.press('Tab');
	}

	visible(p) {
		return this.page.isVisible(this.sel(p));
	}

	/* The error shown beside a field: {text, reason} or null. */
	errorOf(p) {
		return this.page.$eval(this.sel(p), (w) => {
			const e = w.querySelector(':scope > .field-error');
			return e && !e.hidden ? { text: e.textContent,
				reason: e.dataset.reason } : null;
		}).catch(() => 'no field ' + p);
	}

	/* Every error shown: path -> reason. */
	errors() {
		return this.page.$$eval('[data-path] > .field-error:not([hidden])',
		    (es) => Object.fromEntries(es.map((e) =>
		    [e.parentElement.dataset.path, e.dataset.reason])));
	}

	/* What the form shows now, field by field. */
	values() {
		return this.page.$$eval('#fields [data-path]', (ws) => {
			const out = {};
			for (const w of ws) {
				const t = w.dataset.type;
				if (t === 'repeat' || w.hidden)
					continue;
				if (t === 'select_one' || t === 'select_multiple') {
					const on = [...w.querySelectorAll('input:checked')]
					    .map((i) => i.value);
					if (on.length)
						out[w.dataset.path] = t === 'select_one' ? on[0] : on;
				} else if (t === 'geopoint') {
					const [la, lo] = [...w.querySelectorAll('input')]
					    .map((i) => i.value);
					if (la || lo)
						out[w.dataset.path] = [la, lo];
				} else {
					const i = w.querySelector('input, textarea');
					if (i && i.value)
						out[w.dataset.path] = i.value;
				}
			}
			return out;
		});
	}

	async shot(file, full) {
		await this.page.screenshot({ path: path.join(this.a.out, file),
			fullPage: full !== false });
		this.shots.push(file);
	}

	async login(user, pin) {
		await this.page.fill('#login-user', user);
		await this.page.fill('#login-pin', pin);
		await this.page.click('#pin-form button[type="submit"]');
	}

	async open(form) {
		await this.page.click('#forms button[data-form="' + form + '"]');
		await this.state('form');
	}

	/* Sends the open form; the id of the record saved. */
	async submit() {
		const t0 = Date.now();
		await this.page.click('#submit');
		await this.state('home');
		await this.page.waitForSelector('#notice[data-id]:not([hidden])',
		    { timeout: this.a.timeout });
		const n = await this.page.$eval('#notice', (e) => ({
			id: e.dataset.id, form: e.dataset.form,
			text: e.querySelector('.notice-text').textContent }));
		n.ms = Date.now() - t0;
		return n;
	}

	/* Layout: the page's width, and visible controls under 44 px. */
	layout() {
		return this.page.evaluate(() => {
			const small = [];
			const seen = new Set();
			const els = document.querySelectorAll('button, select, textarea, ' +
			    'summary, input:not([type=radio]):not([type=checkbox]), ' +
			    'label.choice');
			for (const e of els) {
				const r = e.getBoundingClientRect();
				if (e.offsetParent === null || r.width === 0 || seen.has(e))
					continue;
				seen.add(e);
				if (r.height < 44 || r.width < 44)
					small.push(e.tagName.toLowerCase() + ' "' +
					    (e.textContent || e.id || e.name).trim().slice(0, 30) +
					    '" ' + Math.round(r.width) + 'x' +
					    Math.round(r.height));
			}
			return { scrollWidth: document.documentElement.scrollWidth,
				innerWidth: window.innerWidth, small,
				checked: seen.size };
		});
	}

	/* The page's whole storage, as text. */
	storage() {
		return this.page.evaluate(() => {
			const o = {};
			for (let i = 0; i < localStorage.length; i++) {
				const k = localStorage.key(i);
				o[k] = localStorage.getItem(k);
			}
			return o;
		});
	}
}

/* Asks the test for something done to the board (restart, expire the
   sessions): DIR/WHAT.req, then wait for DIR/WHAT.ok. */
async function ask(a, what) {
	const ok = path.join(a.sync, what + '.ok');
	fs.writeFileSync(path.join(a.sync, what + '.req'), '1');
	const t0 = Date.now();
	while (!fs.existsSync(ok)) {
		if (Date.now() - t0 > 90000)
			throw new Error('no ' + ok + ' after 90 s');
		await sleep(50);
	}
	fs.unlinkSync(ok);
}

/* --- the phone --------------------------------------------------------- */

const HH = {
	site_id: 'SITE-001', admin1: 'SS01', admin2: 'SS0101',
	head_name: 'Amina Testcase', phone: '+211 912 345 678',
	members: [
		{ member_name: 'Amina Testcase', sex: 'female', age_years: 34,
			relationship: 'head', documentation: 'national_id' },
		{ member_name: 'Deng Testcase', sex: 'male', age_years: 36,
			relationship: 'spouse', vulnerabilities: ['chronic_illness'] },
		{ member_name: 'Nyandeng Testcase', sex: 'female', age_years: 7,
			relationship: 'child' }
	]
};

async function household(r, out) {
	const page = r.page;
	const d = {};
	await r.open('dtm_household');
	d.title = await page.textContent('#form-title');
	d.itemsAtStart = await page.$$eval('[data-path="members"] .item',
	    (x) => x.length);
	await r.fill('site_id', HH.site_id);
	await r.fill('admin1', HH.admin1);
	await r.fill('admin2', HH.admin2);
	await r.fill('registration_date', localToday(-1));
	/* skip logic: names and phone only with consent */
	d.skip = { before: { head_name: await r.visible('head_name'),
		phone: await r.visible('phone'),
		member_name: await r.visible('members[1].member_name') } };
	await r.choose('consent', 'yes');
	d.skip.yes = { head_name: await r.visible('head_name'),
		phone: await r.visible('phone'),
		member_name: await r.visible('members[1].member_name') };
	await r.fill('head_name', 'Someone Else');
	await r.choose('consent', 'no');
	d.skip.no = { head_name: await r.visible('head_name'),
		draftHasName: (JSON.stringify(await r.storage())).indexOf(
		    'Someone Else') >= 0 };
	await r.choose('consent', 'yes');
	d.skip.again = await page.inputValue('[data-path="head_name"] input');
	await r.fill('head_name', HH.head_name);
	await r.fill('phone', HH.phone);
	await r.fill('origin_admin1', 'SS02');
	await r.fill('displacement_date', localToday(-30));
	await r.choose('displacement_reason', 'conflict');
	await r.choose('shelter_type', 'tent');
	await r.choose('intention', 'stay');
	await r.choose('needs', 'food');
	await r.choose('needs', 'water');
	for (let i = 0; i < HH.members.length; i++) {
		const m = HH.members[i], p = 'members[' + (i + 1) + '].';
		if (i > 0) {
			await page.click('[data-path="members"] button.add');
			await page.waitForSelector('[data-path="' + p + 'sex"]');
		}
		await r.fill(p + 'member_name', m.member_name);
		await r.choose(p + 'sex', m.sex);
		await r.fill(p + 'age_years', m.age_years);
		await r.choose(p + 'relationship', m.relationship);
		for (const v of m.vulnerabilities || [])
			await r.choose(p + 'vulnerabilities', v);
		if (m.documentation)
			await r.choose(p + 'documentation', m.documentation);
	}
	/* removing an item: a fourth member, taken away again */
	await page.click('[data-path="members"] button.add');
	await page.waitForSelector('[data-path="members[4].sex"]');
	d.items4 = await page.$$eval('[data-path="members"] .item',
	    (x) => x.length);
	await page.click('[data-item="members[4]"] button.remove');
	await page.click('[data-item="members[4]"] button.remove');
	await page.waitForSelector('[data-item="members[4]"]',
	    { state: 'detached' });
	d.itemsBeforeSend = await page.$$eval('[data-path="members"] .item',
	    (x) => x.length);
	d.errorsBeforeSend = await r.errors();
	d.layout = await r.layout();
	await r.shot('field_phone_household.png');
	d.saved = await r.submit();
	/* nothing of the record is shown or kept afterwards */
	const body = await page.evaluate(() => document.body.innerText);
	const store = JSON.stringify(await r.storage());
	d.after = {
		shownValues: ['Testcase', HH.phone, HH.site_id].filter((v) =>
		    body.indexOf(v) >= 0),
		keptValues: ['Testcase', HH.phone, HH.site_id].filter((v) =>
		    store.indexOf(v) >= 0),
		inputsWithValues: await page.$$eval('#fields input, #fields textarea',
		    (is) => is.filter((i) => i.value || i.checked).length),
		drafts: await page.$$eval('#drafts li', (x) => x.length)
	};
	out.household = d;
}

async function constraintErrors(r, out) {
	const page = r.page;
	const d = {};
	await r.open('dtm_household');
	await r.fill('site_id', 'SITE-002');
	await r.fill('admin1', 'SS01');
	await r.fill('admin2', 'SS0102');
	await r.fill('registration_date', localToday(0));
	await r.choose('consent', 'yes');
	await r.fill('phone', '12ab');
	d.phoneWhileTyping = await r.errorOf('phone');
	await r.leave('phone');
	d.phoneLeft = await r.errorOf('phone');
	await r.choose('members[1].sex', 'male');
	await r.fill('members[1].age_years', '130');
	await r.choose('members[1].relationship', 'head');
	await r.leave('members[1].age_years');
	d.ageLeft = await r.errorOf('members[1].age_years');
	d.postsBefore = r.log.posts.length;
	await page.click('#submit');
	await page.waitForSelector('#form-error:not([hidden])',
	    { timeout: r.a.timeout });
	d.stateAfterSubmit = await page.getAttribute('body', 'data-state');
	d.errorsShown = await r.errors();
	d.formError = await page.textContent('#form-error');
	d.focused = await page.evaluate(() => {
		const w = document.activeElement &&
		    document.activeElement.closest('[data-path]');
		return w ? w.dataset.path : null;
	});
	await r.shot('field_phone_errors.png', false);
	await sleep(300);
	d.postsAfter = r.log.posts.length;
	/* the server is the guard: without the page's rules, its 422 */
	await page.evaluate(() => {
		window.FieldRules.validate = () => [];
	});
	await page.click('#submit');
	await page.waitForSelector('#form-error[data-status="422"]',
	    { timeout: r.a.timeout });
	d.server = { errorsShown: await r.errors(),
		formError: await page.textContent('#form-error'),
		state: await page.getAttribute('body', 'data-state') };
	/* kept as a draft, listed, then discarded */
	await page.click('#back');
	await r.state('home');
	d.draftsListed = await page.$$eval('#drafts li', (ls) => ls.map((l) =>
	    ({ form: l.dataset.form, text: l.textContent })));
	/* resumed from the list: the answers are back */
	await page.click('#drafts li button.resume');
	await r.state('form');
	d.resumed = await r.values();
	await page.click('#back');
	await r.state('home');
	const before = await r.storage();
	d.draftKept = Object.keys(before).filter((k) =>
	    k.startsWith('field.draft.')).length;
	await page.click('#drafts li button.discard');
	await page.click('#drafts li button.discard');
	await page.waitForSelector('#drafts li', { state: 'detached' });
	const after = await r.storage();
	d.draftAfterDiscard = Object.keys(after).filter((k) =>
	    k.startsWith('field.draft.')).length;
	d.noDraftsShown = await page.isVisible('#no-drafts');
	out.constraint = d;
}

const MRC_HALF = { centre_id: 'MRC-01', visit_date: localToday(-1),
	client_code: 'AB12CD', consent: 'yes', sex: 'female', age_years: '29',
	nationality: 'ETH', reasons: ['contract_review', 'labour_rights'] };

async function mrcVisit(r, a, out) {
	const page = r.page;
	const d = {};
	await r.open('mrc_visit');
	await r.fill('centre_id', MRC_HALF.centre_id);
	await r.fill('visit_date', MRC_HALF.visit_date);
	await r.fill('client_code', MRC_HALF.client_code);
	await r.choose('consent', MRC_HALF.consent);
	await r.choose('sex', MRC_HALF.sex);
	await r.fill('age_years', MRC_HALF.age_years);
	await r.fill('nationality', MRC_HALF.nationality);
	for (const x of MRC_HALF.reasons)
		await r.choose('reasons', x);
	d.filled = await r.values();
	/* a reload: the page opens the draft again */
	await page.reload();
	await r.state('form');
	d.afterReload = await r.values();
	d.formAfterReload = await page.getAttribute('#record', 'data-form');
	/* the board restarts: the draft is in the phone, the session holds */
	if (a.sync) {
		await ask(a, 'restart');
		await page.reload();
		await r.state('form');
		d.afterRestart = await r.values();
	}
	/* the session expires while the form is open: sending is refused
	   (401), the login shows, nothing is lost, and after it the draft is
	   back */
	if (a.sync)
		await ask(a, 'expire');
	await page.click('#submit');
	await r.state('login');
	d.expired = { error: await page.textContent('#error'),
		token: (await r.storage())['field.token'] || null };
	await r.login(a.user, a.pin);
	await r.state('form');
	d.expired.formBack = await page.getAttribute('#record', 'data-form');
	d.expired.values = await r.values();
	/* Arabic: right to left, the form's own labels */
	await page.selectOption('#form-lang', 'العربية');
	await page.waitForSelector('#record[dir="rtl"]');
	d.rtl = await page.evaluate(() => {
		const form = document.getElementById('record');
		const w = document.querySelector('[data-path="centre_id"]');
		const label = w.querySelector('.label');
		const input = w.querySelector('input');
		const choice = document.querySelector('[data-path="sex"] label.choice');
		const radio = choice.querySelector('input');
		const text = choice.querySelector('span');
		const lr = label.querySelector('span').getBoundingClientRect();
		const wr = w.getBoundingClientRect();
		return {
			dir: form.getAttribute('dir'), lang: form.getAttribute('lang'),
			direction: getComputedStyle(form).direction,
			htmlDir: document.documentElement.dir,
			title: document.getElementById('form-title').textContent,
			label: label.querySelector('span').textContent,
			choice: text.textContent,
			submit: document.getElementById('submit').textContent,
			/* mirrored: the label's text starts at the right, the
			   radio is right of its text */
			labelRightGap: Math.round(wr.right - lr.right),
			labelLeftGap: Math.round(lr.left - wr.left),
			radioRightOfText: radio.getBoundingClientRect().left >
			    text.getBoundingClientRect().left,
			inputDir: getComputedStyle(input).direction
		};
	});
	d.valuesInArabic = await r.values();
	await r.shot('field_phone_rtl.png', false);
	/* the rest of the visit, in Arabic */
	d.destBefore = await r.visible('destination_country');
	await r.choose('migration_stage', 'pre_departure');
	d.destAfter = await r.visible('destination_country');
	await r.fill('destination_country', 'SAU');
	await r.choose('visit_mode', 'in_person');
	await r.choose('services', 'information');
	d.referredBefore = await r.visible('referred_to');
	await r.choose('services', 'referral');
	await r.choose('referred_to', 'legal_aid');
	await r.choose('follow_up_needed', 'yes');
	await r.fill('follow_up_date', localToday(6));
	await r.fill('notes', 'Contract reviewed; follow up');
	await r.fill('age_years', '150');
	await r.leave('age_years');
	d.arabicError = await r.errorOf('age_years');
	await r.fill('age_years', MRC_HALF.age_years);
	await r.leave('age_years');
	d.arabicErrorFixed = await r.errorOf('age_years');
	d.layout = await r.layout();
	await r.shot('field_phone_rtl_full.png');
	d.saved = await r.submit();
	d.homeDir = await page.evaluate(() => document.documentElement.dir);
	await page.selectOption('#home-lang', 'English');
	await page.waitForFunction(() => document.documentElement.dir === 'ltr');
	out.mrc = d;
}

async function phone(browser, a, origin, out) {
	const log = newLog();
	const ctx = await browser.newContext({ viewport: { width: 360,
		height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
		locale: 'en-GB' });
	const page = await ctx.newPage();
	watch(page, origin, log);
	const r = new Run(page, a, 'phone');
	r.log = log;
	const p = { times: {} };
	let t0 = Date.now();
	await page.goto(a.url);
	await r.state('login');
	p.times.load = Date.now() - t0;
	p.login = { loginVisible: await page.isVisible('#login'),
		appVisible: await page.isVisible('#home') };
	await r.shot('field_phone_login.png', false);
	/* a wrong PIN */
	await r.login(a.user, a.pin === '0000' ? '1111' : '0000');
	await page.waitForSelector('#error:not([hidden])', { timeout: a.timeout });
	p.wrong = { error: await page.textContent('#error'),
		state: await page.getAttribute('body', 'data-state'),
		homeVisible: await page.isVisible('#home'),
		token: (await r.storage())['field.token'] || null };
	await r.shot('field_phone_wrong_pin.png', false);
	/* the PIN */
	t0 = Date.now();
	await r.login(a.user, a.pin);
	await r.state('home');
	p.times.login = Date.now() - t0;
	p.home = {
		forms: await page.$$eval('#forms button', (bs) => bs.map((b) =>
		    ({ form: b.dataset.form, version: b.dataset.version,
			title: b.querySelector('.form-title').textContent }))),
		user: await page.textContent('#user-name'),
		tokenKept: !!(await r.storage())['field.token'],
		errorShown: await page.isVisible('#error'),
		layout: await r.layout()
	};
	await r.shot('field_phone_home.png');
	t0 = Date.now();
	await household(r, p);
	p.times.household = Date.now() - t0;
	p.today = await page.$$eval('#today tbody tr', (trs) => trs.map((tr) =>
	    ({ id: tr.dataset.id, form: tr.dataset.form,
		cells: [...tr.cells].map((c) => c.textContent) })));
	p.pending = await page.getAttribute('#pending', 'data-pending');
	await r.shot('field_phone_saved.png');
	t0 = Date.now();
	await constraintErrors(r, p);
	p.times.constraint = Date.now() - t0;
	t0 = Date.now();
	await mrcVisit(r, a, p);
	p.times.mrc = Date.now() - t0;
	p.todayAfter = await page.$$eval('#today tbody tr', (trs) => trs.map((tr) =>
	    ({ id: tr.dataset.id, form: tr.dataset.form,
		cells: [...tr.cells].map((c) => c.textContent) })));
	await r.shot('field_phone_today.png');
	/* log out */
	await page.click('#logout');
	await r.state('login');
	p.logout = { loginVisible: await page.isVisible('#login'),
		homeVisible: await page.isVisible('#home'),
		token: (await r.storage())['field.token'] || null };
	/* a refused token (expired, or the user removed) */
	await page.evaluate(() => {
		localStorage.setItem('field.token', 'expired-or-removed-token-' +
		    'xxxxxxxxxxxxxxxxxxxxxxxxxx');
		localStorage.setItem('field.user', 'nobody');
	});
	await page.reload();
	await r.state('login');
	p.refused = { error: await page.textContent('#error'),
		errorVisible: await page.isVisible('#error'),
		homeVisible: await page.isVisible('#home'),
		token: (await r.storage())['field.token'] || null };
	p.log = log;
	p.shots = r.shots;
	await ctx.close();
	out.phone = p;
}

/* --- the 7-inch screen -------------------------------------------------- */

/*
 * A form the board does not have, for the field types and shapes the
 * shipped forms do not use (decimal, a multiline text, an optional
 * select, a repeat with a relevant and a maximum).  Only GET /api/forms
 * and its definition are answered by the script; it is never sent.
 */
const TYPES = {
	form_id: 'ui_types', version: '1', 'title::English': 'Every type',
	default_language: 'English',
	survey: [
		{ type: 'decimal', name: 'weight_kg', 'label::English': 'Weight (kg)',
			'hint::English': 'A point or a comma', required: 'yes',
			constraint: '. > 0 and . < 500',
			'constraint_message::English': 'must be more than 0 and under 500' },
		{ type: 'integer', name: 'count', 'label::English': 'Count' },
		{ type: 'text', name: 'story', 'label::English': 'Story',
			appearance: 'multiline' },
		{ type: 'select_one yn', name: 'has_kids',
			'label::English': 'Children?' },
		{ type: 'begin_repeat', name: 'kids', 'label::English': 'Children',
			relevant: "${has_kids} = 'yes'", constraint: 'count(.) <= 2',
			'constraint_message::English': 'at most 2' },
		{ type: 'integer', name: 'kid_age', 'label::English': 'Age',
			required: 'yes' },
		{ type: 'end_repeat' }
	],
	choices: [
		{ list_name: 'yn', name: 'yes', 'label::English': 'Yes' },
		{ list_name: 'yn', name: 'no', 'label::English': 'No' }
	]
};

/* A form with a type the page does not know (one the board would refuse
   too, as a definition served from elsewhere might have): the home must
   still list and open the others. */
const NEWER = {
	form_id: 'ui_newer', version: '1', title: 'Newer language',
	survey: [ { type: 'range', name: 'hello', label: 'Hello' },
		{ type: 'text', name: 'x', label: 'X' } ]
};

async function types(r, out) {
	const page = r.page;
	const d = {};
	const draft = () => page.evaluate(() => JSON.parse(localStorage.getItem(
	    'field.draft.' + localStorage.getItem('field.current'))));
	await page.route('**/api/forms', async (route) => {
		const res = await route.fetch();
		const body = await res.json();
		body.forms.push({ form_id: TYPES.form_id, version: TYPES.version,
			title: TYPES['title::English'] });
		body.forms.push({ form_id: NEWER.form_id, version: NEWER.version,
			title: NEWER.title });
		await route.fulfill({ response: res, json: body });
	});
	await page.route('**/api/forms/ui_types?*', (route) =>
	    route.fulfill({ json: TYPES }));
	await page.route('**/api/forms/ui_newer?*', (route) =>
	    route.fulfill({ json: NEWER }));
	await page.reload();
	await r.state('home');
	d.listed = await page.$$eval('#forms button', (bs) =>
	    bs.map((b) => b.dataset.form));
	await r.open('ui_types');
	d.hint = await page.textContent('[data-path="weight_kg"] .hint');
	d.inputmode = await page.getAttribute('[data-path="weight_kg"] input',
	    'inputmode');
	d.required = await page.isVisible('[data-path="weight_kg"] .req');
	await r.fill('weight_kg', 'abc');
	await r.leave('weight_kg');
	d.notNumber = await r.errorOf('weight_kg');
	await r.fill('weight_kg', '3,5');
	await r.fill('count', '\u0663\u0664');	/* Arabic-Indic 34 */
	d.textarea = await page.$$eval('[data-path="story"] textarea',
	    (x) => x.length);
	await r.fill('story', 'line one\nline two');
	d.clearBefore = await page.isVisible('[data-path="has_kids"] button.clear');
	d.kidsBefore = await r.visible('kids');
	await r.choose('has_kids', 'yes');
	d.clearAfter = await page.isVisible('[data-path="has_kids"] button.clear');
	d.kidsAfter = await r.visible('kids');
	d.items0 = await page.$$eval('[data-path="kids"] .item', (x) => x.length);
	await page.click('[data-path="kids"] button.add');
	await r.fill('kids[1].kid_age', '4');
	await page.click('[data-path="kids"] button.add');
	await r.fill('kids[2].kid_age', '2');
	d.addDisabledAtMax = await page.isDisabled('[data-path="kids"] button.add');
	d.draft = await draft();
	await r.choose('has_kids', 'no');
	d.kidsHiddenOnNo = !(await r.visible('kids'));
	d.draftOnNo = await draft();
	await page.click('[data-path="has_kids"] button.clear');
	d.draftCleared = await draft();
	await page.click('#back');
	await r.state('home');
	out.types = d;
}

const GEO = { latitude: 9.537512, longitude: 31.660531, accuracy: 12 };

async function tablet(browser, a, origin, out) {
	const log = newLog();
	const ctx = await browser.newContext({ viewport: { width: 1024,
		height: 600 }, hasTouch: true, locale: 'en-GB',
		permissions: ['geolocation'], geolocation: GEO });
	const page = await ctx.newPage();
	watch(page, origin, log);
	const r = new Run(page, a, 'tablet');
	r.log = log;
	const d = { times: {} };
	await page.goto(a.url);
	await r.state('login');
	await r.login(a.user, a.pin);
	await r.state('home');
	d.home = { layout: await r.layout() };
	await r.shot('field_7inch_home.png', false);
	const t0 = Date.now();
	await r.open('dtm_site_assessment');
	await r.fill('site_id', 'SITE-007');
	await r.fill('site_name', 'Riverside camp');
	await r.choose('site_type', 'camp');
	await r.fill('admin1', 'SS01');
	await r.fill('admin2', 'SS0101');
	d.locateButton = await page.isVisible('[data-path="location"] button.locate');
	await page.click('[data-path="location"] button.locate');
	await page.waitForFunction(() => document.querySelector(
	    '[data-path="location"] input').value !== '', null,
	    { timeout: a.timeout });
	d.location = await page.$$eval('[data-path="location"] input', (is) =>
	    is.map((i) => i.value));
	d.accuracyShown = await page.textContent('[data-path="location"] .geo-acc');
	await r.fill('assessment_date', localToday(-2));
	await r.fill('population_households', '120');
	await r.fill('population_individuals', '540');
	await r.fill('females_0_4', '40');
	await r.fill('males_0_4', '38');
	await r.fill('females_18_59', '150');
	await r.fill('arrivals_last_7_days', '12');
	await r.choose('displacement_reason', 'conflict');
	for (const x of ['food', 'shelter', 'water', 'health'])
		await r.choose('priority_needs', x);
	await page.focus('[data-path="latrines"] input');
	d.fourNeeds = await r.errorOf('priority_needs');
	await r.choose('priority_needs', 'health', false);
	d.threeNeeds = await r.errorOf('priority_needs');
	await r.choose('site_management', 'ngo');
	await r.choose('health_facility_on_site', 'yes');
	await r.fill('latrines', '14');
	await r.choose('key_informant_type', 'site_manager');
	await r.fill('notes', 'Water point broken since Monday');
	d.layout = await r.layout();
	await page.evaluate(() => window.scrollTo(0, 0));
	await r.shot('field_7inch_form.png', false);
	await r.shot('field_7inch_form_full.png');
	d.saved = await r.submit();
	d.times.site = Date.now() - t0;
	await r.shot('field_7inch_saved.png', false);
	await types(r, d);
	d.log = log;
	d.shots = r.shots;
	await ctx.close();
	out.tablet = d;
}

async function main() {
	const a = args();
	const origin = new URL(a.url).origin;
	const out = { origin, today: localToday(0) };
	const browser = await launch(a.chromium);
	try {
		await phone(browser, a, origin, out);
		await tablet(browser, a, origin, out);
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	console.error('field_page.js: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
