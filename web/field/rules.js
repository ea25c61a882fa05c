/*
 * rules.js: the board's record rules in the phone.  The rules are not
 * written again here: rules.wasm is the board's own C (form/form.c,
 * expr.c, validate.c, with jansson) compiled to WebAssembly by
 * web/wasm/build.sh, so a verdict in the phone is fieldd's word for word.
 * This file loads the module and moves JSON text in and out of it.
 *
 *   FieldRules.load(src)       a Promise: src is the module's URL (the
 *                              page: 'rules.wasm') or its bytes (node)
 *   FieldRules.parse(def)      a definition (JSON text or object) -> a form
 *                              {id, version, def}; throws Error with the
 *                              board's message for a definition it refuses
 *   FieldRules.validate(form, record, today)
 *                              -> [{path, reason}] with .dropped (errors
 *                              past 64), as a 422 from the board; a record
 *                              given as text is read as the board reads
 *                              its body (throws Error for malformed JSON)
 *   FieldRules.state(form, record, today, now)
 *                              -> {record, off, count, settled}: the record
 *                              with calculations written in and answers to
 *                              questions that are not relevant removed, the
 *                              paths not relevant, each repeat_count
 *   FieldRules.choices(form, record, field, item, today)
 *                              -> indexes of the choices of `field` its
 *                              choice_filter allows (item: from 0, in its
 *                              repeat)
 *   FieldRules.sources()       the hash of the C the module was made from
 *
 * Works in a browser (a classic script: window.FieldRules) and in node
 * (module.exports).  Plain ES2019 and WebAssembly with BigInt (Chrome 85).
 */
'use strict';

(function (root) {
	let ex = null;			/* the module's exports */
	let mem = null;			/* its memory as bytes */
	const enc = new TextEncoder();
	const dec = new TextDecoder();

	function view() {
		if (mem === null || mem.buffer !== ex.memory.buffer)
			mem = new Uint8Array(ex.memory.buffer);
		return mem;
	}

	/* The few WASI calls the C library makes: the clock (now() and the
	   board's "now"); nothing reads files or the environment. */
	const EBADF = 8;
	const imports = {
		wasi_snapshot_preview1: {
			clock_time_get(id, precision, out) {
				const ns = BigInt(Date.now()) * 1000000n;
				new DataView(ex.memory.buffer).setBigUint64(out, ns, true);
				return 0;
			},
			fd_write(fd, iovs, n, written) {
				new DataView(ex.memory.buffer).setUint32(written, 0, true);
				return 0;
			},
			fd_read() { return EBADF; },
			fd_close() { return EBADF; },
			fd_seek() { return EBADF; },
			environ_sizes_get(count, size) {
				const d = new DataView(ex.memory.buffer);
				d.setUint32(count, 0, true);
				d.setUint32(size, 0, true);
				return 0;
			},
			environ_get() { return 0; },
			proc_exit(code) {
				throw new Error('rules.wasm exited (' + code + ')');
			}
		},
		env: {
			emscripten_notify_memory_growth() { mem = null; }
		}
	};

	function started(instance) {
		ex = instance.exports;
		mem = null;
		ex._initialize();
	}

	/* The module from its URL (streamed where the server says
	   application/wasm) or from its bytes. */
	async function load(src) {
		if (ex)
			return;
		if (typeof src !== 'string') {
			started((await WebAssembly.instantiate(src, imports)).instance);
			return;
		}
		const res = await fetch(src, { cache: 'default' });
		if (!res.ok)
			throw new Error(src + ': ' + res.status);
		if (WebAssembly.instantiateStreaming && /^application\/wasm/.test(
		    res.headers.get('Content-Type') || '')) {
			started((await WebAssembly.instantiateStreaming(res,
			    imports)).instance);
			return;
		}
		started((await WebAssembly.instantiate(await res.arrayBuffer(),
		    imports)).instance);
	}

	/* Node: the module's bytes, at once. */
	function loadSync(bytes) {
		if (!ex)
			started(new WebAssembly.Instance(new WebAssembly.Module(bytes),
			    imports));
	}

	function ready() {
		if (!ex)
			throw new Error('rules.wasm is not loaded');
	}

	/* A string in the module's memory, NUL-terminated: [pointer, bytes]. */
	function put(s) {
		const b = enc.encode(s);
		const p = ex.rw_alloc(b.length + 1);
		if (!p)
			throw new Error('out of memory');
		const m = view();
		m.set(b, p);
		m[p + b.length] = 0;
		return [p, b.length];
	}

	function cstr(p) {
		const m = view();
		let e = p;
		while (m[e] !== 0)
			e++;
		return dec.decode(m.subarray(p, e));
	}

	/* The JSON text a C call returns (freed), parsed. */
	function take(p) {
		if (!p)
			throw new Error('out of memory');
		try {
			return JSON.parse(cstr(p));
		} finally {
			ex.rw_free(p);
		}
	}

	function text(v) {
		return typeof v === 'string' ? v : JSON.stringify(v);
	}

	/* Calls fn with the arguments put in memory (strings), freeing them. */
	function withText(strs, fn) {
		const ptrs = [];
		try {
			for (const s of strs)
				ptrs.push(put(s));
			return fn(ptrs);
		} finally {
			for (const [p] of ptrs)
				ex.rw_free(p);
		}
	}

	function parse(def) {
		ready();
		const src = text(def);
		const f = withText([src], ([[p, n]]) => ex.rw_parse(p, n));
		if (!f)
			throw new Error(cstr(ex.rw_error()));
		let obj = typeof def === 'string' ? null : def;
		try {
			obj = obj || JSON.parse(src);
		} catch (e) {
			obj = {};
		}
		return { ptr: f, id: obj.form_id, version: obj.version, def: obj };
	}

	function free(form) {
		if (form && form.ptr) {
			ex.rw_form_free(form.ptr);
			form.ptr = 0;
		}
	}

	function validate(form, record, today) {
		ready();
		const out = withText([text(record), today || ''], ([[r, n], [t]]) =>
		    take(ex.rw_validate(form.ptr, r, n, t)));
		if (out.error)
			throw new Error(out.error);
		const errs = out.errors;
		errs.dropped = out.more_errors;
		return errs;
	}

	function state(form, record, today, now) {
		ready();
		const out = withText([text(record), today || '', now || ''],
		    ([[r, n], [t], [w]]) => take(ex.rw_state(form.ptr, r, n, t, w)));
		if (out === null || out.error)
			throw new Error(out ? out.error : 'no state');
		return out;
	}

	function choices(form, record, field, item, today) {
		ready();
		return withText([text(record), field, today || ''],
		    ([[r, n], [fl], [t]]) => take(ex.rw_choices(form.ptr, r, n, fl,
		    item || 0, t)));
	}

	function sources() {
		ready();
		return cstr(ex.rw_sources());
	}

	const api = { load, loadSync, parse, free, validate, state, choices,
		sources };
	if (typeof module !== 'undefined' && module.exports)
		module.exports = api;
	else
		root.FieldRules = api;
})(typeof window !== 'undefined' ? window : this);
