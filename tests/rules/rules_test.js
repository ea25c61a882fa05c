#!/usr/bin/env node
/*
 * rules_test.js: the web app's rules (web/field/rules.js and the board's
 * C in rules.wasm) over tests/rules/cases.json, the cases
 * tests/unit/test_rules_shared.c runs the daemon's C rules over: every
 * verdict must be exactly the expected one (see that file for the case
 * format).  Each case's definition and record go to the module as the
 * text they have in the file (2.0 stays a real, a duplicate key stays),
 * as the board reads a body.  Exits 1 with a diff per mismatched case.
 * Node only, no packages: `node tests/rules/rules_test.js` from anywhere.
 *
 * Then the calls the page makes besides validate: records as plain
 * objects (as JSON.stringify sends them), state() and choices().
 *
 * RULES_CASES=FILE reads another file (and skips the API checks);
 * RULES_PRINT=1 prints the verdict of each case, one JSON object a line,
 * as the C test does.
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

/*
 * The cases file as [{name, form, record, today, ...parsed}, with .raw
 * the text of each member]: a scanner that keeps the spans of values.
 */
function scan(src) {
	let i = 0;
	const ws = () => {
		while (' \t\n\r'.indexOf(src[i]) >= 0 && i < src.length)
			i++;
	};
	function skip() {		/* one value; returns its [start, end) */
		ws();
		const s = i, c = src[i];
		if (c === '"') {
			for (i++; src[i] !== '"'; i++)
				if (src[i] === '\\')
					i++;
			i++;
		} else if (c === '{' || c === '[') {
			const close = c === '{' ? '}' : ']';
			i++;
			ws();
			if (src[i] === close) {
				i++;
				return [s, i];
			}
			for (;;) {
				if (c === '{') {
					skip();
					ws();
					i++;	/* : */
				}
				skip();
				ws();
				if (src[i++] === close)
					break;
			}
		} else {
			while (i < src.length && ',]} \t\n\r'.indexOf(src[i]) < 0)
				i++;
		}
		return [s, i];
	}
	ws();
	if (src[i] !== '[')
		throw new Error('cases: not an array');
	i++;
	const out = [];
	for (;;) {
		ws();
		if (src[i] === ']')
			break;
		const [s, e] = skip();
		const c = { raw: {}, value: JSON.parse(src.slice(s, e)) };
		/* the members' spans */
		let j = s + 1;
		i = j;
		for (;;) {
			ws();
			if (src[i] === '}')
				break;
			const [ks, ke] = skip();
			ws();
			i++;
			const [vs, ve] = skip();
			c.raw[JSON.parse(src.slice(ks, ke))] = src.slice(vs, ve);
			ws();
			if (src[i] === ',')
				i++;
		}
		i = e;
		out.push(c);
		ws();
		if (src[i] === ',')
			i++;
	}
	return out;
}

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

/* What the module says of case c, in the C test's shape. */
function verdict(c) {
	const def = c.value.form;
	let form;

	try {
		form = typeof def === 'string' ? shippedForm(def) :
		    FieldRules.parse(c.raw.form);
	} catch (e) {
		return { form_error: e.message };
	}
	const rec = c.raw.record;
	let errs;
	if (rec === undefined) {
		FieldRules.free(form);
		return { form_error: '(the definition was taken)' };
	}
	try {
		errs = FieldRules.validate(form, rec, c.value.today);
	} finally {
		if (typeof def !== 'string')
			FieldRules.free(form);
	}
	return { dropped: errs.dropped,
	    errors: errs.map((e) => ({ path: e.path, reason: e.reason })) };
}

function expected(c) {
	const v = c.value;
	if (v.form_error !== undefined)
		return { form_error: v.form_error };
	return { dropped: v.dropped || 0,
	    errors: v.errors.map((e) => ({ path: e.path, reason: e.reason })) };
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

/* What the page calls besides validate.  Returns the number of failures. */
function apiChecks(cases) {
	const fails = [];
	const check = (what, got, want) => {
		if (JSON.stringify(got) !== JSON.stringify(want))
			fails.push(what + ': got ' + JSON.stringify(got) +
			    ', want ' + JSON.stringify(want));
	};
	let n = 0;

	/* Records as plain objects, where JSON.stringify writes them as the
	   file does (no whole reals). */
	for (const c of cases) {
		const v = c.value;
		if (v.form_error !== undefined || typeof v.record !== 'object' ||
		    v.record === null || /\d\.0\b|\\u|\d{16}/.test(c.raw.record) ||
		    JSON.stringify(v.record) !== JSON.stringify(JSON.parse(
		    c.raw.record)))
			continue;
		const form = typeof v.form === 'string' ? shippedForm(v.form) :
		    FieldRules.parse(v.form);
		const errs = FieldRules.validate(form, v.record, v.today);
		check(v.name + ' (plain objects)', errs.map((e) =>
		    [e.path, e.reason]), v.errors.map((e) => [e.path, e.reason]));
		n++;
	}
	if (n < cases.length / 2)
		fails.push('only ' + n + ' cases as plain objects');

	const hh = shippedForm('dtm_household');
	const members = [{ sex: 'female', age_years: 30, relationship: 'head' },
	    { sex: 'male', age_years: 3, member_name: 'X' }];
	const st = FieldRules.state(hh, { consent: 'no', head_name: 'A',
	    members }, '2026-11-28');
	check('state: answers not asked are removed', [st.record.head_name,
	    st.record.members[1].member_name], [undefined, undefined]);
	check('state: paths not relevant', st.off.filter((p) =>
	    /name/.test(p)), ['head_name', 'members[1].member_name',
	    'members[2].member_name']);
	const calc = FieldRules.parse({ form_id: 'c', version: '1', survey: [
	    { type: 'integer', name: 'n' },
	    { type: 'calculate', name: 'd', calculation: '${t} * 2' },
	    { type: 'calculate', name: 't', calculation: '${n} + 1' },
	    { type: 'begin_repeat', name: 'r', repeat_count: '${n}' },
	    { type: 'select_one l', name: 's', choice_filter: 'k = ${n}' },
	    { type: 'end_repeat' }], choices: [
	    { list_name: 'l', name: 'a', k: '1' },
	    { list_name: 'l', name: 'b', k: '2' },
	    { list_name: 'l', name: 'c', k: '2' }] });
	const cs = FieldRules.state(calc, { n: 2, r: [{}, {}] }, '2026-11-28');
	check('state: a chain of calculations, written in', [cs.record.t,
	    cs.record.d, cs.settled], [3, 6, true]);
	check('state: repeat_count', cs.count, { r: 2 });
	check('choices: a choice_filter in an item', FieldRules.choices(calc,
	    { n: 2, r: [{}, {}] }, 's', 1, '2026-11-28'), [1, 2]);
	check('choices: not a select', FieldRules.choices(calc, {}, 'n', 0,
	    '2026-11-28'), null);
	check('validate JSON text keeps 2.0 a decimal', FieldRules.validate(
	    FieldRules.parse(JSON.stringify({ form_id: 'i', version: '1',
	    survey: [{ type: 'integer', name: 'i' }] })), '{"i": 2.0}',
	    '2026-11-28').map((e) => e.reason), ['must be a whole number']);
	for (const [what, f, want] of [
	    ['malformed JSON', '{"i": }', 'malformed JSON at line 1, column 7'],
	    ['a duplicate key', '{"i": 1, "i": 2}',
		'malformed JSON at line 1, column 12'],
	    ['not JSON', 'x', 'malformed JSON at line 1, column 1']]) {
		let msg = '';
		try {
			FieldRules.validate(hh, f, '2026-11-28');
		} catch (e) {
			msg = e.message;
		}
		check('validate refuses ' + what, msg, want);
	}
	for (const f of fails)
		console.log('API: ' + f);
	return fails.length;
}

function main() {
	FieldRules.loadSync(fs.readFileSync(path.join(ROOT, 'web', 'field',
	    'rules.wasm')));
	const cases = scan(fs.readFileSync(file, 'utf8'));
	let bad = 0;

	cases.forEach((c, i) => {
		const name = c.value.name;
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
	    (bad ? ' (- expected, as C says; + rules.wasm)' : ''));
	if (process.env.RULES_CASES) {
		console.log('API checks: skipped (RULES_CASES)');
		return bad > 0 ? 1 : 0;
	}
	const api = apiChecks(cases);
	console.log('API checks: ' + (api ? api + ' failed' : 'passed'));
	return bad + api > 0 ? 1 : 0;
}

process.exitCode = main();
