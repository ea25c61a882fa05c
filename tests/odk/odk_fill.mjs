// ODK's own form engine (@getodk/xforms-engine, the engine inside ODK Web
// Forms) against a running fieldd, as a phone would use it: the form list
// and the XForm over Digest auth, records filled in by the engine, the
// engine's verdict read (violations, relevance), the instance serialised
// by the engine and POSTed to /submission as Collect posts it.
//
// Under Node with jsdom, as the engine's own tests run it.
//
//   node odk_fill.mjs < job.json > verdicts.json
//
// job: {"url": "http://127.0.0.1:PORT", "user": U, "pin": P,
//       "forms": {FORM_ID: [{"name": CASE, "values": {...}}, ...]}}
// A case with "auto": true is filled by the harness itself, for forms
// whose rules it does not know: every relevant question the engine
// finds in violation is given answers in turn (TRIES, each choice) and
// each repeat the phone adds by hand one item, until the engine takes
// the record or nothing is left to try.
// values: by field name (fields in groups given flat, as records hold
// them); a repeat as a list of such objects; a select_multiple as a list;
// a geopoint as "lat lon alt acc".  A value for a question the engine
// finds not relevant is an error of the case ("unset" in the answer).
//
// Answers, one per case: {"form", "case", "engine_valid", "violations":
// [{"ref", "condition"}], "unset": [...], "status": HTTP status of the
// submission, "message": fieldd's OpenRosa message}.  A form the engine
// cannot load answers {"form", "load_error"}.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>');
for (const k of ['document', 'DOMParser', 'XMLSerializer', 'Node', 'Element',
	'Document', 'XMLDocument', 'DocumentFragment', 'NodeFilter', 'Attr',
	'Text', 'CharacterData', 'HTMLElement', 'XPathResult']) {
	if (dom.window[k] !== undefined && globalThis[k] === undefined)
		globalThis[k] = dom.window[k];
}
globalThis.window = globalThis.window ?? dom.window;
// The engine's bundled XPath parser (tree-sitter, emscripten) looks for
// CommonJS's __dirname and module under Node; an ES module has neither.
// Its WebAssembly is inlined, so nothing is read from that directory.
globalThis.__dirname = globalThis.__dirname ?? '/';
globalThis.module = globalThis.module ?? { exports: {} };

const { createInstance } = await import('@getodk/xforms-engine');

const job = JSON.parse(readFileSync(0, 'utf8'));
const md5 = (s) => createHash('md5').update(s).digest('hex');

// Digest (RFC 7616, MD5, qop=auth) as Collect answers fieldd's challenge:
// one challenge per request, so no nonce is ever used twice.
async function digestFetch(path, init = {}) {
	const url = job.url + path;
	const first = await fetch(url, {
		method: 'HEAD',
		headers: { 'X-OpenRosa-Version': '1.0' },
	});
	const ch = first.headers.get('www-authenticate') || '';
	const p = {};
	for (const m of ch.matchAll(/(\w+)="([^"]*)"/g)) p[m[1]] = m[2];
	const method = init.method || 'GET';
	const cnonce = randomBytes(8).toString('hex');
	const nc = '00000001';
	const ha1 = md5(`${job.user}:${p.realm}:${job.pin}`);
	const ha2 = md5(`${method}:${path}`);
	const resp = md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`);
	const auth = `Digest username="${job.user}", realm="${p.realm}", ` +
		`nonce="${p.nonce}", uri="${path}", qop=auth, nc=${nc}, ` +
		`cnonce="${cnonce}", response="${resp}"` +
		(p.opaque ? `, opaque="${p.opaque}"` : '');
	return fetch(url, {
		...init,
		headers: { ...(init.headers || {}), 'X-OpenRosa-Version': '1.0',
			Authorization: auth },
	});
}

function message(xml) {
	const m = /<message[^>]*>([\s\S]*?)<\/message>/.exec(xml);
	return m ? m[1] : xml.slice(0, 300);
}

const nodeName = (n) => (n.definition?.nodeset ?? '').split('/').pop();

// Fills node's descendants from values (flat through groups).
function fill(node, values, unset, used) {
	const kids = () => node.currentState.children ?? [];
	for (let i = 0; i < kids().length; i++) {
		const c = kids()[i];
		const name = nodeName(c);
		switch (c.nodeType) {
		case 'group':
		case 'subtree':
			fill(c, values, unset, used);
			break;
		case 'repeat-range:uncontrolled':
		case 'repeat-range:controlled': {
			const items = values[name] ?? [];
			used.add(name);
			if (!c.currentState.relevant) {
				if (items.length) unset.push(name);
				break;
			}
			if (c.nodeType === 'repeat-range:uncontrolled') {
				const have = c.currentState.children.length;
				if (items.length > have)
					c.addInstances(have - 1 < 0 ? undefined : have - 1,
						items.length - have);
			}
			const inst = c.currentState.children;
			for (let k = 0; k < inst.length && k < items.length; k++)
				fill(inst[k], items[k], unset, new Set());
			if (items.length > inst.length) unset.push(name + '[count]');
			break;
		}
		case 'input':
		case 'select':
		case 'trigger': {
			if (!(name in values)) break;
			used.add(name);
			const v = values[name];
			if (!c.currentState.relevant || c.currentState.readonly) {
				unset.push(name);
				break;
			}
			if (c.nodeType === 'select')
				c.selectValues(Array.isArray(v) ? v : v == null ? [] : [v]);
			else if (c.nodeType === 'trigger')
				c.setValue(v === 'OK' || v === true);
			else
				c.setValue(v == null ? null : String(v));
			// a value the engine did not take is the case's error
			if (v != null && (c.currentState.value == null ||
				c.currentState.value === '' ||
				(Array.isArray(c.currentState.value) &&
					c.currentState.value.length === 0)))
				unset.push(name + '(not taken)');
			break;
		}
		default:
			break;	// notes, calculations, metadata: the engine's
		}
	}
}

// Answers an enumerator might give, tried in turn until the engine takes
// one: the "auto" case fills every required question it finds relevant
// (and one item of each repeat the phone adds by hand), for forms whose
// rules the case does not know.
const TRIES = {
	string: ['test', 'T1', '1', 'ABC123', '07701234567', '+211912345678'],
	int: [1, 0, 2, 5, 18, 30, 100],
	decimal: [1, 0, 2.5, 100],
	date: [-1, -30, 0].map((d) => new Date(Date.now() + d * 86400000)
		.toISOString().slice(0, 10)),
	time: ['10:00:00'],
	dateTime: ['2026-12-05T10:00:00.000+00:00'],
	geopoint: ['9.5 31.6 400 5'],
};

function walk(node, fn) {
	for (const c of node.currentState.children ?? []) {
		fn(c);
		if (c.currentState.relevant && c.currentState.children)
			walk(c, fn);
	}
}

function tryNext(c, tried) {
	const k = tried.get(c.nodeId) ?? 0;
	tried.set(c.nodeId, k + 1);
	if (c.nodeType === 'select') {
		const opts = (c.currentState.valueOptions ?? []).map((o) => o.value);
		const sets = opts.map((o) => [o]);
		if (c.selectType === 'select' && opts.length > 1)
			sets.splice(1, 0, opts.slice(0, 2));	// select_multiple
		if (k >= sets.length) return false;
		c.selectValues(sets[k]);
		return true;
	}
	if (c.nodeType === 'trigger') {
		if (k > 0) return false;
		c.setValue(true);
		return true;
	}
	const t = TRIES[c.valueType] ?? TRIES.string;
	if (k >= t.length) return false;
	c.setValue(t[k]);
	return true;
}

function autoFill(root) {
	const tried = new Map();
	for (let pass = 0; pass < 12; pass++) {
		let changed = false;
		walk(root, (c) => {
			if (c.nodeType === 'repeat-range:uncontrolled' &&
				c.currentState.relevant &&
				c.currentState.children.length === 0 && !tried.has(c.nodeId)) {
				tried.set(c.nodeId, 1);
				c.addInstances();
				changed = true;
			}
		});
		const bad = new Map();
		for (const v of root.validationState.violations)
			bad.set(v.nodeId, v);
		walk(root, (c) => {
			if (!['input', 'select', 'trigger'].includes(c.nodeType)) return;
			if (!c.currentState.relevant || c.currentState.readonly) return;
			if (!bad.has(c.nodeId)) return;
			if (tryNext(c, tried)) changed = true;
		});
		if (!changed) break;
	}
}

async function runCase(formId, xform, cs) {
	const form = await createInstance(xform, {
		instance: { preloadProperties: { deviceID: 'odk-engine-test' } },
	});
	const root = form.root ?? form.instance?.root ?? form;
	const unset = [];
	const used = new Set();
	if (cs.auto)
		autoFill(root);
	else
		fill(root, cs.values, unset, used);
	for (const k of Object.keys(cs.values ?? {}))
		if (!used.has(k)) unset.push(k + '(no such question)');
	const violations = root.validationState.violations.map((v) => ({
		ref: v.reference, condition: v.violation.condition,
	}));
	const payload = await root.prepareInstancePayload();
	const file = payload.data[0].get('xml_submission_file');
	const xml = await file.text();
	const fd = new FormData();
	fd.append('xml_submission_file', new Blob([xml], { type: 'text/xml' }),
		'xml_submission_file.xml');
	const r = await digestFetch('/submission', { method: 'POST', body: fd });
	const body = await r.text();
	return {
		form: formId, case: cs.name, engine_valid: violations.length === 0,
		payload_status: payload.status, violations, unset, status: r.status,
		message: message(body), xml: job.keep_xml ? xml : undefined,
	};
}

const out = [];
const listResp = await digestFetch('/formList');
const list = await listResp.text();
const listed = new Set([...list.matchAll(/<formID>([^<]*)<\/formID>/g)]
	.map((m) => m[1]));
for (const [formId, cases] of Object.entries(job.forms)) {
	if (!listed.has(formId)) {
		out.push({ form: formId, load_error: 'not in the form list' });
		continue;
	}
	const r = await digestFetch(`/forms/${formId}.xml`);
	const xform = await r.text();
	if (r.status !== 200) {
		out.push({ form: formId, load_error: `HTTP ${r.status}: ` +
			message(xform) });
		continue;
	}
	for (const cs of cases) {
		try {
			out.push(await runCase(formId, xform, cs));
		} catch (e) {
			out.push({ form: formId, case: cs.name,
				load_error: String(e && e.stack || e).slice(0, 2000) });
		}
	}
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
