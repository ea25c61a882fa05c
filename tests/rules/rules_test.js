#!/usr/bin/env node
/*
 * rules_test.js: web/field/rules.js over tests/rules/cases.json, the cases
 * tests/unit/test_rules_shared.c runs the daemon's C rules over: every
 * verdict must be exactly the expected one (see that file for the case
 * format and how expression cases read).  Exits 1 with a diff per
 * mismatched case.  Node only, no packages: `node tests/rules/rules_test.js`
 * from anywhere.
 *
 * Then the calls the page makes besides validate: the cases again with
 * records and definitions as plain objects (as a page holds them and
 * JSON.stringify sends them), isRelevant and evaluate.
 *
 * RULES_CASES=FILE reads another file (and skips the API checks);
 * RULES_PRINT=1 prints the verdict of each case, one JSON object a line,
 * as the C test does, so the two can be compared on cases that have no
 * expected verdicts yet.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const FieldRules = require(path.join(ROOT, 'web', 'field', 'rules.js'));

const file = process.env.RULES_CASES ||
    path.join(ROOT, 'tests', 'rules', 'cases.json');
const print = !!process.env.RULES_PRINT;
const shipped = new Map();

/* A shipped form, parsed from its file as the daemon embeds it. */
function shippedForm(id) {
	if (!/^[a-z0-9_]{1,63}$/.test(id))
		throw new Error('bad form id ' + id);
	if (!shipped.has(id)) {
		const f = path.join(ROOT, 'proto', 'forms', id + '.json');
		shipped.set(id, FieldRules.parse(fs.readFileSync(f, 'utf8')));
	}
	return shipped.get(id);
}

/* What rules.js says of case c, in the C test's shape. */
function verdict(c) {
	const def = c.get('form');
	let form;

	try {
		form = typeof def === 'string' ? shippedForm(def) :
		    FieldRules.parse(def);
	} catch (e) {
		return { form_error: e.message };
	}
	/* A string is taken for JSON text: a record that is a string value
	   goes as the text of that string. */
	const rec = c.get('record');
	const errs = FieldRules.validate(form, typeof rec === 'string' ?
	    JSON.stringify(rec) : rec, c.get('today'));
	return { dropped: errs.dropped,
	    errors: errs.map((e) => ({ path: e.path, reason: e.reason })) };
}

function expected(c) {
	if (c.has('form_error'))
		return { form_error: c.get('form_error') };
	return { dropped: c.has('dropped') ? c.get('dropped') : 0,
	    errors: c.get('errors').map((e) => ({ path: e.get('path'),
	    reason: e.get('reason') })) };
}

function lines(v) {
	if (v.form_error !== undefined)
		return ['form refused: ' + v.form_error];
	const out = v.errors.map((e) => JSON.stringify(e.path) + ': ' +
	    e.reason);
	if (v.dropped)
		out.push('(' + v.dropped + ' more dropped)');
	return out.length > 0 ? out : ['(valid)'];
}

/*
 * A Map from parseJSON as the page would hold it: a plain object, whole
 * reals as numbers.  null when the page could not hold it so (a key an
 * object would reorder or treat specially, a whole real: JSON.stringify
 * writes 2.0 as 2).
 */
function plain(v) {
	if (v instanceof FieldRules.Real)
		return Number.isInteger(v.value) ? null : v.value;
	if (Array.isArray(v)) {
		const a = v.map(plain);
		return a.some((x, i) => x === null && v[i] !== null) ? null : a;
	}
	if (!(v instanceof Map))
		return v;
	const o = {};
	for (const [k, x] of v) {
		const y = plain(x);
		if (/^(\d+|__proto__)$/.test(k) || (y === null && x !== null))
			return null;
		o[k] = y;
	}
	return o;
}

/* What the page calls besides validate: plain objects, isRelevant,
   evaluate.  Returns the number of failures. */
function apiChecks(cases) {
	const fails = [];
	const check = (what, got, want) => {
		if (JSON.stringify(got) !== JSON.stringify(want))
			fails.push(what + ': got ' + JSON.stringify(got) +
			    ', want ' + JSON.stringify(want));
	};
	let n = 0;

	/* Every case again, its record and definition as plain objects. */
	for (const c of cases) {
		const rec = c.has('record') ? plain(c.get('record')) : null;
		const def = typeof c.get('form') === 'string' ? null :
		    plain(c.get('form'));
		if (c.has('form_error') || rec === null || typeof rec === 'string' ||
		    (def === null && typeof c.get('form') !== 'string'))
			continue;
		const form = def ? FieldRules.parse(def) :
		    shippedForm(c.get('form'));
		const errs = FieldRules.validate(form, rec, c.get('today'));
		check(c.get('name') + ' (plain objects)', errs.map((e) =>
		    [e.path, e.reason]), c.get('errors').map((e) =>
		    [e.get('path'), e.get('reason')]));
		n++;
	}
	if (n < cases.length / 2)
		fails.push('only ' + n + ' cases as plain objects');

	const hh = shippedForm('dtm_household'), mrc = shippedForm('mrc_visit');
	const members = [{ sex: 'female', age_years: 30, relationship: 'head' },
	    { sex: 'male', age_years: 3 }];
	check('isRelevant head_name, consent yes', FieldRules.isRelevant(hh,
	    { consent: 'yes' }, 'head_name'), true);
	check('isRelevant head_name, consent no', FieldRules.isRelevant(hh,
	    { consent: 'no' }, 'head_name'), false);
	check('isRelevant head_name, no consent', FieldRules.isRelevant(hh,
	    {}, 'head_name'), false);
	check('isRelevant member_name of item 1', FieldRules.isRelevant(hh,
	    { consent: 'no', members }, 'member_name', 1), false);
	check('isRelevant member_name of a new item', FieldRules.isRelevant(hh,
	    { consent: 'yes', members }, 'member_name', 2), true);
	check('isRelevant sex (no relevant)', FieldRules.isRelevant(hh,
	    { members }, 'sex', 0), true);
	check('isRelevant referred_to', [['referral'], ['information'], [],
	    'information referral'].map((s) => FieldRules.isRelevant(mrc,
	    { services: s }, 'referred_to')), [true, false, false, true]);
	check('isRelevant destination_country', ['considering', 'returned']
	    .map((m) => FieldRules.isRelevant(mrc, { migration_stage: m },
	    'destination_country')), [true, false]);
	const rr = FieldRules.parse({ form_id: 'rr', version: '1', survey: [
	    { type: 'text', name: 'a' },
	    { type: 'begin_repeat', name: 'r', relevant: '${a} = \'yes\'' },
	    { type: 'integer', name: 'n' },
	    { type: 'text', name: 'm', relevant: '${n} > 1 and today() > ' +
		'\'2026-01-01\'' },
	    { type: 'end_repeat' }] });
	check('isRelevant in a repeat that is not', FieldRules.isRelevant(rr,
	    { a: 'no', r: [{ n: 2 }] }, 'n', 0), false);
	check('isRelevant from the item\'s own fields', [0, 1].map((i) =>
	    FieldRules.isRelevant(rr, { a: 'yes', r: [{ n: 2 }, { n: 1 }] },
	    'm', i, '2026-11-28')), [true, false]);
	check('isRelevant that cannot be evaluated counts as relevant',
	    FieldRules.isRelevant(rr, { a: 'yes', r: [{ n: 2 }] }, 'm', 0),
	    true);
	check('evaluate', [
	    FieldRules.evaluate(hh, {}, '1 + 1 = 2'),
	    FieldRules.evaluate(hh, { members }, 'count-if(${members}, ' +
		'${age_years} < 18)'),
	    FieldRules.evaluate(hh, { members }, '. >= 18',
		{ field: 'age_years', index: 1 }),
	    FieldRules.evaluate(hh, {}, '. <= today()',
		{ field: 'registration_date', today: '2026-11-28' }),
	    FieldRules.evaluate(hh, { registration_date: '2026-11-28' },
		'. <= today()', { field: 'registration_date' })],
	    [true, true, false, true, null]);
	let msg = '';
	try {
		FieldRules.evaluate(hh, {}, '1 +');
	} catch (e) {
		msg = e.message;
	}
	check('evaluate of a bad expression throws', msg,
	    'offset 3: expected a value');
	check('validate JSON text keeps 2.0 a decimal', FieldRules.validate(
	    FieldRules.parse(JSON.stringify({ form_id: 'i', version: '1',
	    survey: [{ type: 'integer', name: 'i' }] })), '{"i": 2.0}',
	    '2026-11-28').map((e) => e.reason), ['must be a whole number']);
	check('validate of an object with 2.0 (JSON.stringify writes 2)',
	    FieldRules.validate(FieldRules.parse({ form_id: 'i', version: '1',
	    survey: [{ type: 'integer', name: 'i' }] }), { i: 2.0 },
	    '2026-11-28').length, 0);
	check('form.fields', hh.fields.filter((f) => f.repeat).map((f) =>
	    [f.name, f.type, f.list, f.required]), [
	    ['member_name', 'text', null, false],
	    ['sex', 'select_one', 'sexes', true],
	    ['age_years', 'integer', null, true],
	    ['relationship', 'select_one', 'relationships', true],
	    ['vulnerabilities', 'select_multiple', 'vulnerabilities', false],
	    ['documentation', 'select_one', 'documentation', false]]);
	check('form title, id, version', [mrc.id, mrc.version, mrc.title],
	    ['mrc_visit', '2026.11.1', 'Migrant resource centre visit']);
	for (const [what, f] of [['malformed JSON', '{"i": }'],
	    ['a duplicate key', '{"i": 1, "i": 2}'],
	    ['a NUL', '{"t": "a\\u0000"}'],
	    ['a lone surrogate', '{"t": "\\ud800"}'],
	    ['a whole number past int64', '{"i": 9223372036854775808}']]) {
		let threw = false;
		try {
			FieldRules.validate(hh, f, '2026-11-28');
		} catch (e) {
			threw = /^not JSON/.test(e.message);
		}
		check('validate refuses ' + what, threw, true);
	}
	for (const f of fails)
		console.log('API: ' + f);
	return fails.length;
}

function main() {
	const cases = FieldRules.parseJSON(fs.readFileSync(file, 'utf8'));
	let bad = 0;

	cases.forEach((c, i) => {
		const name = c.get('name');
		let got;
		try {
			got = verdict(c);
		} catch (e) {
			got = { form_error: 'EXCEPTION ' + e.stack };
		}
		if (print) {
			const o = got.form_error !== undefined ?
			    { form_error: got.form_error, name } :
			    { dropped: got.dropped, errors: got.errors, name };
			process.stdout.write(JSON.stringify(o) + '\n');
			return;
		}
		const want = expected(c);
		if (JSON.stringify(got) === JSON.stringify(want))
			return;
		bad++;
		console.log('MISMATCH case ' + (i + 1) + ': ' + name);
		const w = lines(want), g = lines(got);
		for (let k = 0; k < Math.max(w.length, g.length); k++) {
			if (w[k] === g[k])
				console.log('    ' + w[k]);
			else {
				if (w[k] !== undefined)
					console.log('  - ' + w[k]);
				if (g[k] !== undefined)
					console.log('  + ' + g[k]);
			}
		}
	});
	if (print)
		return 0;
	console.log(cases.length + ' cases, ' + bad + ' mismatched' +
	    (bad ? ' (- expected, as C says; + rules.js)' : ''));
	if (process.env.RULES_CASES) {
		console.log('API checks: skipped (RULES_CASES)');
		return bad > 0 ? 1 : 0;
	}
	const api = apiChecks(cases);
	console.log('API checks: ' + (api ? api + ' failed' : 'passed'));
	return bad + api > 0 ? 1 : 0;
}

process.exitCode = main();
