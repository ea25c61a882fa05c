/*
 * coord.js: the coordinator page that collectord serves at /.  It asks for
 * a coordinator token once (kept in localStorage until "Forget token"),
 * reads GET /forms, then draws a dashboard per form from GET /counts.
 *
 * Every number drawn is an SVG element with data attributes, so a test
 * (tests/integration/test_coord_page.py) can compare it with /counts:
 *
 *   svg    data-form, data-chart, data-query (the /counts query string)
 *   mark   data-key (the row's `by` values joined by "|", "*" where the
 *          row is a total over that dim), data-measure, and data-value,
 *          or data-suppressed="1" when /counts withheld the value.
 *
 * A suppressed value is never drawn as zero: it is a hatched mark with
 * the word "suppressed".  Counts carry codes; the page labels them in the
 * language picked (#lang), from the labels /forms gives in each of the
 * form's languages (a code without a label is shown as it is).  Plain ES2019, no library, no build step; the
 * page runs under a strict CSP (no inline script or style).
 */
'use strict';

(function () {
	const TOKEN_KEY = 'coord.token';
	const LANG_KEY = 'coord.lang';
	const SVGNS = 'http://www.w3.org/2000/svg';
	const AGE_ORDER = ['0-4', '5-11', '12-17', '18-59', '60+'];
	const ROW = 30;			/* height of one bar's row, px */
	const COLOURS = 6;		/* classes c0 .. c5 in coord.css */

	/* What each shipped form shows; other forms get generic() below. */
	const DASHBOARDS = {
		dtm_household: [
			{ id: 'totals', kind: 'tiles', title: 'Totals', by: [],
				measures: ['households', 'individuals'] },
			{ id: 'site_month', kind: 'grouped', by: ['site_id', 'month'],
				measure: 'individuals', limit: 12, lastGroups: 6,
				title: 'Individuals by site and month of registration' },
			{ id: 'pyramid', kind: 'pyramid', by: ['sex', 'age_band'],
				measure: 'individuals', title: 'Individuals by sex and age' },
			{ id: 'needs', kind: 'bars', by: ['need'], measure: 'households',
				title: 'Needs named (households)' }
		],
		dtm_site_assessment: [
			{ id: 'totals', kind: 'tiles', title: 'Totals (latest assessment of each site)',
				by: [], measures: ['sites', 'households', 'individuals',
					'arrivals_last_7_days', 'departures_last_7_days'] },
			{ id: 'sites', kind: 'bars', by: ['site_id'], measure: 'individuals',
				limit: 15, title: 'Individuals by site' },
			{ id: 'pyramid', kind: 'cellpyramid', by: [],
				title: 'Individuals by sex and age' },
			{ id: 'needs', kind: 'bars', by: ['need'], measure: 'sites',
				title: 'Priority needs (sites naming them)' }
		],
		mrc_visit: [
			{ id: 'totals', kind: 'tiles', title: 'Totals', by: [],
				measures: ['visits'] },
			{ id: 'reason', kind: 'bars', by: ['reason'], measure: 'visits',
				title: 'Visits by reason' },
			{ id: 'stage', kind: 'bars', by: ['migration_stage'],
				measure: 'visits', title: 'Visits by migration stage',
				sort: ['considering', 'pre_departure', 'in_transit',
					'at_destination', 'returned'] },
			{ id: 'month', kind: 'bars', by: ['month'], measure: 'visits',
				sort: 'key', title: 'Visits by month' }
		]
	};
	const TIME_DIMS = ['day', 'week', 'month'];

	let forms = null;		/* the /forms answer */
	let lang = localStorage.getItem(LANG_KEY) || '';	/* labels' language */
	let selected = null;		/* the form whose tab is open */
	let charts = [];		/* { spec, form, plot, data } drawn */
	let drawnWidth = 0;
	const cache = new Map();	/* query -> promise of its /counts */

	function $(id) {
		return document.getElementById(id);
	}

	function html(tag, attrs, text) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {}))
			e.setAttribute(k, v);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function svg(parent, tag, attrs, text) {
		const e = document.createElementNS(SVGNS, tag);
		for (const [k, v] of Object.entries(attrs || {}))
			e.setAttribute(k, v);
		if (text !== undefined)
			e.textContent = text;
		if (parent)
			parent.appendChild(e);
		return e;
	}

	function fmt(n) {
		return Number(n).toLocaleString('en-US');
	}

	/* ---- the API --------------------------------------------------- */

	class ApiError extends Error {
		constructor(status, message) {
			super(message);
			this.status = status;
		}
	}

	/* GET path with the token; JSON (or text) or an ApiError.  The
	   browser revalidates with If-None-Match, so an unchanged answer
	   comes back as a 304 from its cache. */
	async function api(path, asText) {
		const token = localStorage.getItem(TOKEN_KEY) || '';
		let r;
		try {
			r = await fetch(path, { cache: 'no-cache',
				headers: { Authorization: 'Bearer ' + token } });
		} catch (e) {
			throw new ApiError(0, 'the collector did not answer');
		}
		if (!r.ok) {
			let msg = r.status + ' ' + r.statusText;
			try {
				msg = (await r.json()).error || msg;
			} catch (e) { /* not JSON: keep the status */ }
			throw new ApiError(r.status, msg);
		}
		return asText ? r.text() : r.json();
	}

	function query(form, spec, format) {
		const p = new URLSearchParams({ form: form.id });
		if (spec.by.length)
			p.set('by', spec.by.join(','));
		const from = $('from').value, to = $('to').value;
		if (from)
			p.set('from', from);
		if (to)
			p.set('to', to);
		if (format)
			p.set('format', format);
		return p.toString();
	}

	function counts(q) {
		if (!cache.has(q)) {
			const p = api('/counts?' + q);
			p.catch(() => cache.delete(q));
			cache.set(q, p);
		}
		return cache.get(q);
	}

	/* ---- login ----------------------------------------------------- */

	function setError(msg) {
		$('error').textContent = msg || '';
		$('error').hidden = !msg;
	}

	function showLogin(msg) {
		$('login').hidden = false;
		$('app').hidden = true;
		$('tools').hidden = true;
		$('tabs').textContent = '';
		$('forms').textContent = '';
		charts = [];
		cache.clear();
		setError(msg);
		document.body.dataset.state = msg ? 'refused' : 'login';
		$('token').focus();
	}

	function failed(e) {
		if (e.status === 401) {
			localStorage.removeItem(TOKEN_KEY);
			showLogin('The token was refused (' + e.message +
			    '). Enter a coordinator token.');
		} else {
			setError('Could not load the counts: ' + e.message);
			document.body.dataset.state = 'error';
		}
	}

	async function load() {
		setError('');
		$('login').hidden = true;
		document.body.dataset.state = 'loading';
		try {
			forms = await api('/forms');
		} catch (e) {
			failed(e);
			return;
		}
		$('app').hidden = false;
		$('tools').hidden = false;
		build();
	}

	/* ---- labels ---------------------------------------------------- */

	/* A text in the language picked, else the form's default, else any. */
	function tr(f, texts) {
		if (!texts)
			return null;
		const langs = [lang].concat(f.languages || []);
		for (const l of langs)
			if (texts[l])
				return texts[l];
		const any = Object.values(texts);
		return any.length ? any[0] : null;
	}

	function labelsOf(f) {
		return f.labels || { fields: {}, choices: {} };
	}

	function formTitle(f) {
		return tr(f, labelsOf(f).title) || f.title || f.id;
	}

	function dimTitle(f, d) {
		return tr(f, (labelsOf(f).fields || {})[d]) || d.replace(/_/g, ' ');
	}

	/* The label of a dimension's code, or the code itself. */
	function valueLabel(f, d, v) {
		const ch = (labelsOf(f).choices || {})[d];
		return (ch && tr(f, ch[v])) || label(v);
	}

	function measureTitle(m) {
		const t = m.replace(/_/g, ' ');
		return t.charAt(0).toUpperCase() + t.slice(1);
	}

	/* The languages of every form, the picked one first when known. */
	function setLanguages() {
		const all = [];
		for (const f of forms.forms)
			for (const l of f.languages || [])
				if (!all.includes(l))
					all.push(l);
		if (!all.includes(lang))
			lang = all.length ? all[0] : '';
		const sel = $('lang');
		sel.textContent = '';
		for (const l of all)
			sel.appendChild(html('option', { value: l }, l));
		sel.value = lang;
		$('lang-box').hidden = all.length < 2;
	}

	/* ---- the dashboards -------------------------------------------- */

	/*
	 * Any form the page has no dashboard for: its totals, by its place,
	 * by month, and by each other dimension (a form counted by default
	 * has one per select_one), labelled in the form's languages.
	 */
	function generic(f) {
		const ms = f.measures || [], dims = f.dims || [];
		const m = ms.length ? ms[0].name : null;
		const items = ms.find((x) => x.kind === 'items');
		const specs = [{ id: 'totals', kind: 'tiles', title: 'Totals', by: [],
			measures: ms.slice(0, 6).map((x) => x.name) }];
		if (!m)
			return specs;
		if (f.place)
			specs.push({ id: 'place', kind: 'bars', by: [f.place], measure: m,
				limit: 15, title: measureTitle(m) + ' by ' +
				    dimTitle(f, f.place) });
		specs.push({ id: 'month', kind: 'bars', by: ['month'], measure: m,
			sort: 'key', title: measureTitle(m) + ' by month' });
		for (const d of dims) {
			if (TIME_DIMS.includes(d) || d === f.place)
				continue;
			const isItem = (f.item_dims || []).includes(d);
			if (isItem && !items)
				continue;
			const dm = isItem ? items.name : m;
			specs.push({ id: 'by_' + d, kind: 'bars', by: [d], measure: dm,
				limit: 15, title: measureTitle(dm) + ' by ' + dimTitle(f, d) });
		}
		return specs;
	}

	function build() {
		const tabs = $('tabs'), main = $('forms');
		document.body.dataset.state = 'loading';
		tabs.textContent = '';
		main.textContent = '';
		charts = [];
		cache.clear();
		$('about').textContent = 'Counts of people are perturbed: each ' +
		    'record counts 0, 1 or 2 times, the same in every chart, ' +
		    'so figures are close, not exact, and totals are the sums ' +
		    'of their parts. Counts under ' + forms.threshold +
		    ' are suppressed: they are drawn hatched and marked ' +
		    '"suppressed", never as zero. Data generation ' + forms.generation + '.';
		const loads = [];
		setLanguages();
		if (!forms.forms.some((f) => f.id === selected))
			selected = forms.forms.length ? forms.forms[0].id : null;
		forms.forms.forEach((f) => {
			const tab = html('button', { type: 'button', role: 'tab',
				id: 'tab-' + f.id, 'aria-controls': 'form-' + f.id,
				'aria-selected': f.id === selected ? 'true' : 'false' },
				formTitle(f));
			tab.addEventListener('click', () => select(f.id));
			tabs.appendChild(tab);
			const sec = html('section', { id: 'form-' + f.id, role: 'tabpanel',
				class: 'form', 'aria-labelledby': 'tab-' + f.id });
			sec.hidden = f.id !== selected;
			sec.appendChild(html('h2', {}, formTitle(f)));
			main.appendChild(sec);
			for (const spec of DASHBOARDS[f.id] || generic(f))
				loads.push(chart(f, spec, sec));
		});
		Promise.all(loads).then(() => {
			if (document.body.dataset.state === 'loading')
				document.body.dataset.state = 'ready';
		});
	}

	function select(id) {
		selected = id;
		for (const t of $('tabs').children)
			t.setAttribute('aria-selected',
			    t.id === 'tab-' + id ? 'true' : 'false');
		for (const s of $('forms').children)
			s.hidden = s.id !== 'form-' + id;
	}

	/* One chart: its frame now, its SVG when /counts answers. */
	async function chart(f, spec, sec) {
		const fig = html('figure', { class: 'chart chart-' + spec.kind });
		fig.appendChild(html('figcaption', {}, spec.title));
		const note = html('p', { class: 'note' }, 'Loading…');
		const plot = html('div', { class: 'plot' });
		fig.append(note, plot);
		const dl = html('div', { class: 'downloads' });
		for (const fmtName of ['csv', 'hxl']) {
			const b = html('button', { type: 'button' },
				fmtName.toUpperCase());
			b.addEventListener('click', () => download(f, spec, fmtName));
			dl.appendChild(b);
		}
		fig.appendChild(dl);
		sec.appendChild(fig);
		let data;
		try {
			data = await counts(query(f, spec));
		} catch (e) {
			if (e.status === 401) {
				failed(e);
				return;
			}
			note.textContent = 'Could not load: ' + e.message;
			note.classList.add('error');
			return;
		}
		const c = { spec, form: f, plot, note, data };
		charts.push(c);
		draw(c);
	}

	async function download(f, spec, format) {
		try {
			const text = await api('/counts?' + query(f, spec, format),
			    true);
			const a = html('a', { download: f.id + '-' + spec.id + '-' +
				format + '.csv' });
			a.href = URL.createObjectURL(new Blob([text],
			    { type: 'text/csv' }));
			document.body.appendChild(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(a.href), 10000);
		} catch (e) {
			if (e.status === 401)
				failed(e);
			else
				setError('Could not download: ' + e.message);
		}
	}

	/* ---- from /counts rows to marks -------------------------------- */

	function keyOf(row, by) {
		return by.map((d) => (row[d] === null || row[d] === undefined ?
		    '*' : String(row[d]))).join('|');
	}

	/* { key, measure, value } with value null when suppressed. */
	function cell(row, by, measure) {
		const why = row._suppressed && row._suppressed[measure];
		const v = row[measure];
		return { key: keyOf(row, by), measure,
			value: why || v === null || v === undefined ? null : v,
			why: why || 'suppressed' };
	}

	function label(v) {
		return v === '' ? '(blank)' : v;
	}

	/* A mark group: the element the test reads. */
	function mark(parent, item) {
		const attrs = { class: 'mark', 'data-key': item.key,
			'data-measure': item.measure };
		if (item.value === null)
			attrs['data-suppressed'] = '1';
		else
			attrs['data-value'] = String(item.value);
		const g = svg(parent, 'g', attrs);
		svg(g, 'title', {}, (item.title || item.key) + ', ' +
		    item.measure + ': ' +
		    (item.value === null ? 'suppressed (' + item.why + ')' :
			fmt(item.value)));
		return g;
	}

	function frame(c, height) {
		const w = drawnWidth;
		const s = svg(null, 'svg', { width: w, height,
			viewBox: '0 0 ' + w + ' ' + height, role: 'img',
			'aria-label': c.spec.title, 'data-form': c.form.id,
			'data-chart': c.spec.id, 'data-query': query(c.form, c.spec) });
		c.plot.textContent = '';
		c.plot.appendChild(s);
		return s;
	}

	function measureOf(c) {
		return c.data.measures.includes(c.spec.measure) ? c.spec.measure :
		    null;
	}

	function draw(c) {
		drawnWidth = Math.max(280, $('forms').clientWidth);
		c.note.textContent = '';
		c.note.classList.remove('error');
		({ tiles, bars, grouped, pyramid, cellpyramid })[c.spec.kind](c);
		const sup = c.plot.querySelectorAll('[data-suppressed]').length;
		if (sup)
			c.note.textContent = sup + (sup > 1 ? ' values' : ' value') +
			    ' suppressed (under ' + c.data.threshold +
			    ', or protecting one).' + c.note.textContent;
	}

	/* A horizontal bar of value v, or the hatched "suppressed" mark. */
	function bar(g, item, x, y, h, scale, cls) {
		if (item.value === null) {
			svg(g, 'rect', { x, y, width: 18, height: h, class: 'sup' });
			svg(g, 'text', { x: x + 24, y: y + h / 2, class: 'val supt' },
			    'suppressed');
			return;
		}
		const w = Math.max(item.value > 0 ? 1 : 0, item.value * scale);
		svg(g, 'rect', { x, y, width: w, height: h, class: 'bar ' + cls });
		svg(g, 'text', { x: x + w + 6, y: y + h / 2, class: 'val' },
		    fmt(item.value));
	}

	function totalsRow(data) {
		if (data.totals && data.totals.length)
			return data.totals[data.totals.length - 1];
		return data.rows && data.rows.length ? data.rows[0] : null;
	}

	function tiles(c) {
		const row = totalsRow(c.data);
		const ms = c.spec.measures.filter((m) => c.data.measures.includes(m));
		if (!row || !ms.length) {
			c.note.textContent = 'Nothing counted yet.';
			c.plot.textContent = '';
			return;
		}
		const tw = 170, th = 76, gap = 10;
		const cols = Math.max(1, Math.floor((drawnWidth + gap) / (tw + gap)));
		const s = frame(c, Math.ceil(ms.length / cols) * (th + gap));
		ms.forEach((m, i) => {
			const x = (i % cols) * (tw + gap);
			const y = Math.floor(i / cols) * (th + gap);
			const item = cell(row, c.spec.by, m);
			item.title = 'Total';
			const g = mark(s, item);
			svg(g, 'rect', { x, y, width: tw, height: th, rx: 6,
				class: item.value === null ? 'tile sup' : 'tile' });
			svg(g, 'text', { x: x + 12, y: y + 22, class: 'tile-label' },
			    m.replace(/_/g, ' '));
			svg(g, 'text', { x: x + 12, y: y + 56, class: item.value === null ?
				'tile-value supt' : 'tile-value' },
			    item.value === null ? 'suppressed' : fmt(item.value));
		});
	}

	/* how: 'value' (largest first), 'key', 'none', or a list of codes */
	function sortItems(items, how) {
		const code = (i) => (i.code !== undefined ? i.code : i.label);
		if (Array.isArray(how)) {
			const at = (i) => (how.includes(code(i)) ? how.indexOf(code(i)) :
			    how.length);
			return items.sort((a, b) => at(a) - at(b));
		}
		if (how === 'key')
			return items.sort((a, b) => (code(a) < code(b) ? -1 :
			    code(a) > code(b) ? 1 : 0));
		if (how === 'none')
			return items;
		return items.sort((a, b) => (b.value === null ? -1 : b.value) -
		    (a.value === null ? -1 : a.value));
	}

	function textWidth(strings) {
		return 14 + 8 * Math.max(4, ...strings.map((t) => t.length));
	}

	/* One dim: a bar per value, and the total under them. */
	function bars(c) {
		const m = measureOf(c), d = c.spec.by[0];
		if (!m) {
			c.note.textContent = 'Not counted for this form.';
			return;
		}
		let items = c.data.rows.map((r) => Object.assign(cell(r, c.spec.by, m),
		    { code: String(r[d]), label: valueLabel(c.form, d, String(r[d])) }));
		items = sortItems(items, c.spec.sort || 'value');
		const all = items.length;
		if (c.spec.limit && all > c.spec.limit) {
			items = items.slice(0, c.spec.limit);
			c.note.textContent += ' Showing the ' + c.spec.limit +
			    ' largest of ' + all + '.';
		}
		if (!items.length) {
			c.note.textContent = 'Nothing counted yet.';
			c.plot.textContent = '';
			return;
		}
		const total = c.data.totals && c.data.totals.length ?
		    cell(c.data.totals[c.data.totals.length - 1], c.spec.by, m) : null;
		const lw = Math.min(drawnWidth * 0.42, textWidth(items.map((i) =>
		    i.label).concat(total ? ['All ' + m] : [])));
		const area = drawnWidth - lw - 90;
		const max = Math.max(1, ...items.map((i) => i.value || 0));
		const s = frame(c, items.length * ROW + (total ? ROW + 6 : 0));
		items.forEach((it, i) => {
			it.title = it.label;
			const g = mark(s, it);
			const y = i * ROW;
			svg(g, 'text', { x: lw - 8, y: y + ROW / 2, class: 'lab' },
			    it.label);
			bar(g, it, lw, y + 4, ROW - 8, area / max, 'c0');
		});
		if (total) {
			const y = items.length * ROW + 6;
			total.title = 'All';
			const g = mark(s, total);
			svg(g, 'line', { x1: 0, x2: drawnWidth, y1: y - 3, y2: y - 3,
				class: 'rule' });
			svg(g, 'text', { x: lw - 8, y: y + ROW / 2, class: 'lab strong' },
			    'All ' + m.replace(/_/g, ' '));
			svg(g, 'text', { x: lw, y: y + ROW / 2,
				class: total.value === null ? 'val supt strong' : 'val strong' },
			    total.value === null ? 'suppressed' : fmt(total.value));
		}
	}

	/* Two dims (place, time): a group of bars per place, one per period;
	   the place's total under its name. */
	function grouped(c) {
		const m = measureOf(c), [d1, d2] = c.spec.by;
		if (!m) {
			c.note.textContent = 'Not counted for this form.';
			return;
		}
		const totals = new Map();
		for (const t of c.data.totals || [])
			if (t[d1] !== null && t[d2] === null)
				totals.set(String(t[d1]), cell(t, c.spec.by, m));
		let periods = [...new Set(c.data.rows.map((r) => String(r[d2])))]
			.sort();
		if (c.spec.lastGroups && periods.length > c.spec.lastGroups) {
			c.note.textContent += ' The last ' + c.spec.lastGroups +
			    ' of ' + periods.length + ' periods.';
			periods = periods.slice(-c.spec.lastGroups);
		}
		let places = [...new Set(c.data.rows.map((r) => String(r[d1])))]
			.map((p) => ({ label: p, value: totals.has(p) ?
			    totals.get(p).value : null }));
		places = sortItems(places, 'value');
		if (c.spec.limit && places.length > c.spec.limit) {
			c.note.textContent += ' Showing the ' + c.spec.limit +
			    ' largest of ' + places.length + ' (' + d1 + ').';
			places = places.slice(0, c.spec.limit);
		}
		if (!places.length || !periods.length) {
			c.note.textContent = 'Nothing counted yet.';
			c.plot.textContent = '';
			return;
		}
		const cells = new Map();
		for (const r of c.data.rows)
			cells.set(String(r[d1]) + '|' + String(r[d2]),
			    cell(r, c.spec.by, m));
		const bh = 16, gh = periods.length * bh + 14;
		/* the legend, wrapped to the width */
		const keys = [];
		let lx = 0, ly = 4;
		for (const t of periods) {
			const w = 26 + 7.5 * t.length;
			if (lx > 0 && lx + w > drawnWidth) {
				lx = 0;
				ly += 22;
			}
			keys.push({ t, x: lx, y: ly });
			lx += w;
		}
		const legend = ly + 24;
		const lw = Math.min(drawnWidth * 0.4, textWidth(places.map((p) =>
		    p.label).concat(places.map((p) => 'total ' + (p.value === null ?
		    'suppressed' : fmt(p.value))))));
		const area = drawnWidth - lw - 90;
		let max = 1;
		for (const p of places)
			for (const t of periods) {
				const it = cells.get(p.label + '|' + t);
				if (it && it.value)
					max = Math.max(max, it.value);
			}
		const s = frame(c, legend + places.length * gh);
		keys.forEach((k, i) => {
			svg(s, 'rect', { x: k.x, y: k.y, width: 14, height: 14,
				class: 'bar c' + (i % COLOURS) });
			svg(s, 'text', { x: k.x + 18, y: k.y + 7, class: 'legend' }, k.t);
		});
		places.forEach((p, i) => {
			const y0 = legend + i * gh;
			svg(s, 'text', { x: lw - 8, y: y0 + 12, class: 'lab' },
			    valueLabel(c.form, d1, p.label));
			const tot = totals.get(p.label);
			if (tot) {
				tot.title = p.label + ', all periods';
				const g = mark(s, tot);
				svg(g, 'text', { x: lw - 8, y: y0 + 30, class: 'lab small' +
					(tot.value === null ? ' supt' : '') },
				    tot.value === null ? 'total suppressed' :
					'total ' + fmt(tot.value));
			}
			periods.forEach((t, k) => {
				const it = cells.get(p.label + '|' + t);
				if (!it)
					return;
				it.title = p.label + ', ' + t;
				bar(mark(s, it), it, lw, y0 + k * bh + 1, bh - 3,
				    area / max, 'c' + (k % COLOURS));
			});
			svg(s, 'line', { x1: 0, x2: drawnWidth, y1: y0 + gh - 5,
				y2: y0 + gh - 5, class: 'rule faint' });
		});
	}

	/*
	 * A population pyramid: age bands from the oldest down, males to the
	 * left, females to the right.  get(sex, band) gives the item drawn.
	 */
	function drawPyramid(c, bands, get, sexTotals) {
		const mid = 64, pad = 78, top = 26;
		const half = (drawnWidth - mid) / 2;
		const items = [];
		for (const b of bands)
			for (const sex of ['male', 'female']) {
				const it = get(sex, b);
				if (it)
					items.push(Object.assign(it, { sex, band: b }));
			}
		if (!items.length) {
			c.note.textContent = 'Nothing counted yet.';
			c.plot.textContent = '';
			return;
		}
		const max = Math.max(1, ...items.map((i) => i.value || 0));
		const scale = (half - pad) / max;
		const s = frame(c, top + bands.length * ROW);
		for (const sex of ['male', 'female']) {
			const t = sexTotals ? sexTotals(sex) : null;
			const x = sex === 'male' ? half - 4 : half + mid + 4;
			const anchor = sex === 'male' ? 'lab' : 'lab left';
			if (!t) {
				svg(s, 'text', { x, y: 12, class: anchor + ' strong' },
				    sex === 'male' ? 'Males' : 'Females');
				continue;
			}
			t.title = sex + ', all ages';
			svg(mark(s, t), 'text', { x, y: 12, class: anchor + ' strong' +
				(t.value === null ? ' supt' : '') },
			    (sex === 'male' ? 'Males ' : 'Females ') +
			    (t.value === null ? 'suppressed' : fmt(t.value)));
		}
		[...bands].reverse().forEach((b, i) => {
			const y = top + i * ROW;
			svg(s, 'text', { x: half + mid / 2, y: y + ROW / 2,
				class: 'lab mid' }, b);
			for (const it of items.filter((x) => x.band === b)) {
				it.title = it.sex + ' ' + b;
				const g = mark(s, it);
				if (it.sex === 'female') {
					bar(g, it, half + mid, y + 4, ROW - 8, scale, 'female');
					continue;
				}
				/* the male side grows to the left */
				if (it.value === null) {
					svg(g, 'rect', { x: half - 18, y: y + 4, width: 18,
						height: ROW - 8, class: 'sup' });
					svg(g, 'text', { x: half - 24, y: y + ROW / 2,
						class: 'val supt lab' }, 'suppressed');
				} else {
					const w = Math.max(it.value > 0 ? 1 : 0, it.value * scale);
					svg(g, 'rect', { x: half - w, y: y + 4, width: w,
						height: ROW - 8, class: 'bar male' });
					svg(g, 'text', { x: half - w - 6, y: y + ROW / 2,
						class: 'val lab' }, fmt(it.value));
				}
			}
		});
	}

	function ageSort(a, b) {
		const ia = AGE_ORDER.indexOf(a), ib = AGE_ORDER.indexOf(b);
		if (ia >= 0 && ib >= 0)
			return ia - ib;
		return parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : 1);
	}

	/* by=sex,age_band */
	function pyramid(c) {
		const m = measureOf(c), by = c.spec.by;
		if (!m) {
			c.note.textContent = 'Not counted for this form.';
			return;
		}
		const cells = new Map(), totals = new Map();
		for (const r of c.data.rows)
			cells.set(r[by[0]] + '|' + r[by[1]], cell(r, by, m));
		for (const t of c.data.totals || [])
			if (t[by[0]] !== null && t[by[1]] === null)
				totals.set(t[by[0]], cell(t, by, m));
		const bands = [...new Set(c.data.rows.map((r) => r[by[1]]))]
			.filter((b) => b !== '').sort(ageSort);
		drawPyramid(c, bands, (sex, b) => cells.get(sex + '|' + b),
		    (sex) => totals.get(sex));
	}

	/* The ten sex x age measures of a form's totals (site assessments). */
	function cellpyramid(c) {
		const row = totalsRow(c.data);
		const bands = [];
		for (const m of c.data.measures) {
			const x = /^females_(\d+)_(\d+|plus)$/.exec(m);
			if (x)
				bands.push(x[2] === 'plus' ? x[1] + '+' : x[1] + '-' + x[2]);
		}
		const name = (sex, b) => sex + 's_' + b.replace('+', '_plus')
			.replace('-', '_');
		drawPyramid(c, bands.sort(ageSort), (sex, b) =>
		    (row && c.data.measures.includes(name(sex, b)) ?
			cell(row, c.spec.by, name(sex, b)) : null), null);
	}

	/* ---- start ----------------------------------------------------- */

	function redraw() {
		const w = Math.max(280, $('forms').clientWidth);
		if (w === drawnWidth)
			return;
		for (const c of charts)
			draw(c);
	}

	function start() {
		$('login-form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			const t = $('token').value.trim();
			if (!t)
				return;
			localStorage.setItem(TOKEN_KEY, t);
			$('token').value = '';
			load();
		});
		$('forget').addEventListener('click', () => {
			localStorage.removeItem(TOKEN_KEY);
			showLogin('');
		});
		$('print').addEventListener('click', () => window.print());
		$('lang').addEventListener('change', () => {
			lang = $('lang').value;
			localStorage.setItem(LANG_KEY, lang);
			build();
		});
		$('period').addEventListener('submit', (ev) => {
			ev.preventDefault();
			build();
		});
		let timer = 0;
		window.addEventListener('resize', () => {
			clearTimeout(timer);
			timer = setTimeout(redraw, 150);
		});
		if (localStorage.getItem(TOKEN_KEY))
			load();
		else
			showLogin('');
	}

	start();
}());
