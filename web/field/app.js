/*
 * app.js: the enumerators' web app that fieldd serves at / on the board's
 * Wi-Fi.  An enumerator logs in (name and PIN, POST /api/login, or a long
 * token), picks a form, fills it in, and submits it to
 * POST /api/records/{form}.
 *
 * The page renders each form from its JSON definition (GET /api/forms/ID):
 * every type of the forms language, groups (a form with groups is paged:
 * each top-level group a page, progress shown), repeats (repeat_count
 * sets their items), notes, ${field} piped into labels, calculations
 * written in as answers change, cascading selects (choice_filter; a long
 * list is a type-to-search box), metadata (start, end, today, deviceid,
 * username), defaults and read_only.  The rules are the board's own C
 * (rules.wasm, through rules.js): relevance, calculations and choice
 * filters come from it (FieldRules.state, .choices), and every error shows
 * beside its field in the daemon's words as the enumerator leaves the
 * field and again before sending.  The server stays the guard: a 422's
 * errors are shown beside their fields the same way.
 *
 * What the phone keeps (localStorage):
 *   field.token     the session token (or an enumerator token)
 *   field.user      the name it belongs to; field.last_user, to prefill
 *   field.lang      the language chosen
 *   field.drafts    the drafts' index: [{id, user, form, version,
 *                   created, updated, answers}], no answers in it
 *   field.draft.ID  a draft's answers, written on every change
 *   field.current   the draft open now, reopened after a reload
 * A draft's id is the record's _id, so sending it twice (a lost answer,
 * a retry) stores it once.  A sent record's draft is deleted at once and
 * nothing of it is shown again: today's list (GET /api/submissions) has
 * ids, forms and times only.
 *
 * For tests, body[data-state] is loading, login, home, form or
 * submitting; each field's wrapper has data-path (the daemon's path,
 * "members[2].age_years") and its error data-reason (the daemon's
 * reason, whatever the language shown).  Plain ES2019, no library, no
 * build step, no inline script or style (the page's CSP forbids them).
 */
'use strict';

(function () {
	const K = {
		token: 'field.token', user: 'field.user', lastUser: 'field.last_user',
		lang: 'field.lang', drafts: 'field.drafts', current: 'field.current'
	};
	const DRAFT = 'field.draft.';
	const MAX_REPEAT = 100;		/* FORM_MAX_REPEAT_ITEMS */
	/* Types as the forms core names them, pyxform's aliases included. */
	const TYPES = { text: 'text', string: 'text', integer: 'integer',
		int: 'integer', decimal: 'decimal', date: 'date', time: 'time',
		dateTime: 'dateTime', datetime: 'dateTime', geopoint: 'geopoint',
		gps: 'geopoint', location: 'geopoint', 'start-geopoint': 'geopoint',
		'background-geopoint': 'geopoint', note: 'note',
		calculate: 'calculate', acknowledge: 'acknowledge', audit: 'audit' };
	/* Metadata: filled in by the page, never asked. */
	const META = { start: 'dateTime', end: 'dateTime', today: 'date',
		deviceid: 'text', imei: 'text', username: 'text',
		phonenumber: 'text', email: 'text', simserial: 'text',
		subscriberid: 'text' };
	/* A select_one longer than this is a search box, not radios. */
	const PICKER_AT = 15;
	const PICKER_SHOWN = 30;	/* matches listed at once */

	/* The page's own words; a form's words come from its definition. */
	const UI = {
		en: {
			appTitle: 'Field forms', logout: 'Log out', login: 'Log in',
			name: 'Name', pin: 'PIN', useToken: 'Use a token instead',
			token: 'Enumerator token',
			tokenHint: 'Given once by your team lead (fieldctl user add).',
			loginToken: 'Log in with the token', language: 'Language',
			newRecord: 'New record', drafts: 'Drafts on this phone',
			noDrafts: 'No drafts.', resume: 'Resume', discard: 'Discard',
			reallyDiscard: 'Discard for good?', sentToday: 'Sent today',
			noneToday: 'Nothing sent today.', colId: 'Record', colForm: 'Form',
			colTime: 'Time', submit: 'Submit', sending: 'Sending…',
			back: 'Back to the forms',
			keptHint: 'Every answer is kept on this phone until the record is sent.',
			add: 'Add', remove: 'Remove', reallyRemove: 'Remove for good?',
			clear: 'Clear', required: 'required', useLocation: 'Use my location',
			locating: 'Finding your location…', latitude: 'Latitude',
			longitude: 'Longitude', accuracy: 'accuracy {a} m',
			locFailed: 'No location: {m}', saved: 'Saved. Record {id}.',
			another: 'Start another', fix: 'Please correct the answers marked ({n}).',
			refused: 'The board refused the record ({n}): see the marked answers.',
			offline: 'Cannot reach the board. Your answers are kept on this phone; try again.',
			sessionEnded: 'Your session has ended. Please log in again.',
			wrongPin: 'Wrong name or PIN.', tokenRefused: 'This token was refused.',
			storageFull: 'This phone cannot keep the draft (storage full or blocked).',
			pending: '{n} records wait to be sent to the collector.',
			pendingNone: 'Every record has reached the collector.',
			lastSync: 'Last sync: {t}.', never: 'never',
			started: 'started {t}', answers: '{n} answers',
			formGone: 'This form version is no longer on the board.',
			item: '{label} {n}', more: '{n} more errors', failed: 'The board answered {s}: {m}',
			next: 'Next', previous: 'Previous', page: 'Page {n} of {m}',
			search: 'Type to search', ok: 'OK', noMatch: 'No match.',
			chosen: 'Chosen: {c}'
		},
		fr: {
			appTitle: 'Formulaires de terrain', logout: 'Se déconnecter',
			login: 'Se connecter', name: 'Nom', pin: 'Code PIN',
			useToken: 'Utiliser un jeton', token: "Jeton d'enquêteur",
			tokenHint: "Donné une fois par votre chef d'équipe (fieldctl user add).",
			loginToken: 'Se connecter avec le jeton', language: 'Langue',
			newRecord: 'Nouvelle fiche', drafts: 'Brouillons sur ce téléphone',
			noDrafts: 'Aucun brouillon.', resume: 'Reprendre',
			discard: 'Supprimer', reallyDiscard: 'Supprimer définitivement ?',
			sentToday: "Envoyées aujourd'hui", noneToday: "Rien d'envoyé aujourd'hui.",
			colId: 'Fiche', colForm: 'Formulaire', colTime: 'Heure',
			submit: 'Envoyer', sending: 'Envoi…', back: 'Retour aux formulaires',
			keptHint: "Chaque réponse est gardée sur ce téléphone jusqu'à l'envoi de la fiche.",
			add: 'Ajouter', remove: 'Retirer', reallyRemove: 'Retirer définitivement ?',
			clear: 'Effacer', required: 'obligatoire',
			useLocation: 'Utiliser ma position', locating: 'Recherche de la position…',
			latitude: 'Latitude', longitude: 'Longitude', accuracy: 'précision {a} m',
			locFailed: 'Pas de position : {m}', saved: 'Enregistrée. Fiche {id}.',
			another: 'En commencer une autre',
			fix: 'Veuillez corriger les réponses signalées ({n}).',
			refused: 'Le boîtier a refusé la fiche ({n}) : voir les réponses signalées.',
			offline: 'Le boîtier est injoignable. Vos réponses restent sur ce téléphone ; réessayez.',
			sessionEnded: 'Votre session a expiré. Reconnectez-vous.',
			wrongPin: 'Nom ou code PIN incorrect.', tokenRefused: 'Ce jeton a été refusé.',
			storageFull: 'Ce téléphone ne peut pas garder le brouillon (stockage plein ou bloqué).',
			pending: '{n} fiches attendent d’être envoyées au collecteur.',
			pendingNone: 'Toutes les fiches sont arrivées au collecteur.',
			lastSync: 'Dernière synchronisation : {t}.', never: 'jamais',
			started: 'commencé {t}', answers: '{n} réponses',
			formGone: "Cette version du formulaire n'est plus sur le boîtier.",
			item: '{label} {n}', more: '{n} autres erreurs',
			failed: 'Le boîtier a répondu {s} : {m}',
			next: 'Suivant', previous: 'Précédent', page: 'Page {n} sur {m}',
			search: 'Tapez pour chercher', ok: 'OK', noMatch: 'Aucun résultat.',
			chosen: 'Choisi : {c}',
			'required!': 'obligatoire', 'must be a whole number': 'doit être un nombre entier',
			'must be a number': 'doit être un nombre',
			'must be a date YYYY-MM-DD': 'doit être une date AAAA-MM-JJ'
		},
		ar: {
			appTitle: 'الاستمارات الميدانية', logout: 'تسجيل الخروج',
			login: 'تسجيل الدخول', name: 'الاسم', pin: 'الرمز السري',
			useToken: 'استخدام رمز مميز بدلاً من ذلك', token: 'رمز العدّاد المميز',
			tokenHint: 'يعطيه لك قائد الفريق مرة واحدة (fieldctl user add).',
			loginToken: 'الدخول بالرمز المميز', language: 'اللغة',
			newRecord: 'سجل جديد', drafts: 'المسودات على هذا الهاتف',
			noDrafts: 'لا توجد مسودات.', resume: 'متابعة', discard: 'حذف',
			reallyDiscard: 'حذف نهائي؟', sentToday: 'أُرسل اليوم',
			noneToday: 'لم يُرسل شيء اليوم.', colId: 'السجل', colForm: 'الاستمارة',
			colTime: 'الوقت', submit: 'إرسال', sending: 'جارٍ الإرسال…',
			back: 'العودة إلى الاستمارات',
			keptHint: 'تُحفظ كل إجابة على هذا الهاتف حتى يُرسل السجل.',
			add: 'إضافة', remove: 'إزالة', reallyRemove: 'إزالة نهائية؟',
			clear: 'مسح', required: 'مطلوب', useLocation: 'استخدام موقعي',
			locating: 'جارٍ تحديد الموقع…', latitude: 'خط العرض',
			longitude: 'خط الطول', accuracy: 'الدقة {a} م',
			locFailed: 'لا يتوفر الموقع: {m}', saved: 'تم الحفظ. السجل {id}.',
			another: 'بدء سجل آخر', fix: 'يرجى تصحيح الإجابات المحددة ({n}).',
			refused: 'رفض الجهاز السجل ({n}): انظر الإجابات المحددة.',
			offline: 'تعذر الوصول إلى الجهاز. إجاباتك محفوظة على هذا الهاتف؛ حاول مرة أخرى.',
			sessionEnded: 'انتهت جلستك. يرجى تسجيل الدخول مرة أخرى.',
			wrongPin: 'الاسم أو الرمز السري غير صحيح.', tokenRefused: 'رُفض هذا الرمز المميز.',
			storageFull: 'لا يستطيع هذا الهاتف حفظ المسودة (التخزين ممتلئ أو محظور).',
			pending: '{n} سجلات بانتظار الإرسال إلى المُجمِّع.',
			pendingNone: 'وصلت كل السجلات إلى المُجمِّع.',
			lastSync: 'آخر مزامنة: {t}.', never: 'أبدًا',
			started: 'بدأت {t}', answers: '{n} إجابات',
			formGone: 'لم يعد إصدار هذه الاستمارة على الجهاز.',
			item: '{label} {n}', more: '{n} أخطاء أخرى', failed: 'أجاب الجهاز {s}: {m}',
			next: 'التالي', previous: 'السابق', page: 'الصفحة {n} من {m}',
			search: 'اكتب للبحث', ok: 'موافق', noMatch: 'لا نتائج.',
			chosen: 'المختار: {c}',
			'required!': 'مطلوب', 'must be a whole number': 'يجب أن يكون عددًا صحيحًا',
			'must be a number': 'يجب أن يكون رقمًا',
			'must be a date YYYY-MM-DD': 'يجب أن يكون تاريخًا YYYY-MM-DD'
		}
	};
	/* Language names as forms write them, to codes. */
	const CODES = {
		english: 'en', 'français': 'fr', francais: 'fr', french: 'fr',
		'العربية': 'ar', arabic: 'ar', 'español': 'es', spanish: 'es',
		'português': 'pt', portuguese: 'pt', kiswahili: 'sw', swahili: 'sw',
		'فارسی': 'fa', persian: 'fa', dari: 'prs', pashto: 'ps', 'پښتو': 'ps',
		'اردو': 'ur', urdu: 'ur', 'עברית': 'he', hebrew: 'he', somali: 'so',
		amharic: 'am', tigrinya: 'ti', hausa: 'ha', russian: 'ru',
		ukrainian: 'uk', turkish: 'tr', bengali: 'bn', nepali: 'ne',
		burmese: 'my', 'kurdish (sorani)': 'ckb', sorani: 'ckb'
	};
	const RTL_CODES = ['ar', 'fa', 'prs', 'ps', 'ur', 'he', 'ckb', 'dv',
		'yi', 'ug', 'sd'];

	let token = null;
	let user = null;
	let forms = [];			/* GET /api/forms */
	const defs = new Map();		/* "id@version" -> prepared form */
	let cur = null;			/* the open draft, below */
	let controls = new Map();	/* path -> control of the open form */
	let busy = false;
	let lastSubmissions = null;	/* GET /api/submissions, last seen */

	class Stop extends Error {}	/* the session ended: already handled */

	function $(id) {
		return document.getElementById(id);
	}

	function el(tag, attrs, text) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {}))
			if (v !== null && v !== undefined && v !== false)
				e.setAttribute(k, v === true ? '' : v);
		if (text !== undefined && text !== null)
			e.textContent = text;
		return e;
	}

	/* --- storage: a blocked or full localStorage must not break the page */

	function lsGet(k) {
		try {
			return localStorage.getItem(k);
		} catch (e) {
			return null;
		}
	}

	function lsSet(k, v) {
		try {
			localStorage.setItem(k, v);
			return true;
		} catch (e) {
			return false;
		}
	}

	function lsDel(k) {
		try {
			localStorage.removeItem(k);
		} catch (e) {
			/* nothing kept, nothing to forget */
		}
	}

	function lsJSON(k, dflt) {
		try {
			const v = JSON.parse(lsGet(k));
			return v === null ? dflt : v;
		} catch (e) {
			return dflt;
		}
	}

	/* --- languages --------------------------------------------------- */

	function langCode(lang) {
		const s = String(lang || '').trim();
		const m = /\(([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?\)\s*$/.exec(s);
		if (m)
			return m[1].toLowerCase();
		return CODES[s.toLowerCase()] || '';
	}

	function isRtl(lang) {
		return RTL_CODES.indexOf(langCode(lang)) >= 0 ||
		    /^[^A-Za-z]*[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/.test(
		    String(lang || ''));
	}

	function pref() {
		return lsGet(K.lang) || 'English';
	}

	/* The page's word for key, in the language chosen. */
	function t(key, vars) {
		const table = UI[langCode(pref())] || UI.en;
		let s = table[key] !== undefined ? table[key] : UI.en[key];
		if (s === undefined)
			s = key;
		for (const [k, v] of Object.entries(vars || {}))
			s = s.split('{' + k + '}').join(String(v));
		return s;
	}

	function applyChrome() {
		const lang = pref();
		document.documentElement.lang = langCode(lang) || 'en';
		document.documentElement.dir = isRtl(lang) ? 'rtl' : 'ltr';
		for (const e of document.querySelectorAll('[data-t]'))
			e.textContent = t(e.dataset.t);
		document.title = t('appTitle');
	}

	/* A form's text in lang: COL::LANG, else COL, else the default
	   language's, else any. */
	function txt(obj, col, lang, f) {
		if (!obj)
			return '';
		const ok = (v) => typeof v === 'string' && v !== '';
		if (ok(obj[col + '::' + lang]))
			return obj[col + '::' + lang];
		if (ok(obj[col]))
			return obj[col];
		if (f && ok(obj[col + '::' + f.dflt]))
			return obj[col + '::' + f.dflt];
		for (const k of Object.keys(obj))
			if (k.startsWith(col + '::') && ok(obj[k]))
				return obj[k];
		return '';
	}

	function languages(def, dflt) {
		const seen = [dflt];
		const scan = (o) => {
			for (const k of Object.keys(o || {})) {
				const m = /^(label|hint|title|constraint_message)::(.+)$/
				    .exec(k);
				if (m && seen.indexOf(m[2]) < 0)
					seen.push(m[2]);
			}
		};
		scan(def);
		(def.survey || []).forEach(scan);
		(def.choices || []).forEach(scan);
		return seen;
	}

	/* The language a form is shown in: the one chosen if it has it. */
	function formLang(f) {
		const p = pref();
		return f.langs.indexOf(p) >= 0 ? p : f.dflt;
	}

	function title(f, lang) {
		return txt(f.def, 'title', lang, f) || f.id;
	}

	/* --- the definition, prepared for rendering ------------------------ */

	/* Repeat bounds from the begin_repeat row: `count(.) >= N`, `<= N`. */
	function repeatLimits(row) {
		const c = String(row.constraint || '');
		let min = 0, max = MAX_REPEAT, m;
		const re = /count\(\s*\.\s*\)\s*(>=|>|<=|<|=)\s*(\d+)/g;
		while ((m = re.exec(c)) !== null) {
			const n = Number(m[2]);
			if (m[1] === '>=')
				min = Math.max(min, n);
			else if (m[1] === '>')
				min = Math.max(min, n + 1);
			else if (m[1] === '<=')
				max = Math.min(max, n);
			else if (m[1] === '<')
				max = Math.min(max, n - 1);
			else
				min = max = n;
		}
		if (isYes(row.required))
			min = Math.max(min, 1);
		return { min, max: Math.max(min, max) };
	}

	function isYes(v) {
		return v === true || (typeof v === 'string' &&
		    ['yes', 'true', 'true()'].indexOf(v.trim().toLowerCase()) >= 0);
	}

	/* A row's kind, list and structure from its type, as form.c reads
	   it: {kind, list} or {begin: 'group'|'repeat'} or {end: ...}. */
	function rowType(type) {
		const t = String(type || '').trim();
		let m = /^(begin|end)[ _](group|repeat)$/.exec(t);
		if (m)
			return m[1] === 'begin' ? { begin: m[2] } : { end: m[2] };
		m = /^(select_one|select1|select one)\s+(\S+)/.exec(t);
		if (m)
			return { kind: 'select_one', list: m[2] };
		m = /^(select_multiple|select all that apply|select multiple)\s+(\S+)/
		    .exec(t);
		if (m)
			return { kind: 'select_multiple', list: m[2] };
		if (META[t])
			return { kind: META[t], meta: t };
		return TYPES[t] ? { kind: TYPES[t] } : null;
	}

	/* Kinds that hold no answer, and kinds never shown as a question. */
	const NO_VALUE = ['group', 'note'];
	const UNSEEN = ['calculate', 'audit'];

	/*
	 * The definition as a tree of nodes: groups and repeats hold their
	 * children; f.top is what the record holds at its top (groups
	 * flattened, as the board stores them), a repeat's `flat` the same in
	 * its items; f.pages the top-level nodes page by page (a form with
	 * groups: each group a page, the questions between them a page).
	 */
	function prepare(def) {
		const dflt = typeof def.default_language === 'string' &&
		    def.default_language ? def.default_language : 'English';
		const f = { def, id: def.form_id, version: def.version, dflt,
			langs: languages(def, dflt), lists: new Map(), nodes: [],
			top: [], byName: new Map(), rules: null, pages: [] };
		for (const c of def.choices || []) {
			if (!f.lists.has(c.list_name))
				f.lists.set(c.list_name, []);
			f.lists.get(c.list_name).push(c);
		}
		const stack = [{ children: f.nodes, repeat: null }];
		for (const row of def.survey || []) {
			if (row.disabled !== undefined && isYes(row.disabled))
				continue;
			const rt = rowType(row.type);
			if (rt === null) {
				f.unsupported = true;
				continue;
			}
			const up = stack[stack.length - 1];
			if (rt.end) {
				if (stack.length > 1)
					stack.pop();
				continue;
			}
			const n = { row, name: row.name, kind: rt.kind || rt.begin,
				list: rt.list || null, meta: rt.meta || null,
				repeat: up.repeat, cond: true,
				readOnly: row.read_only !== undefined && isYes(row.read_only) };
			up.children.push(n);
			if (!f.byName.has(row.name) || NO_VALUE.indexOf(n.kind) < 0)
				f.byName.set(row.name, n);
			if (rt.begin) {
				n.children = [];
				if (rt.begin === 'repeat') {
					Object.assign(n, repeatLimits(row));
					n.flat = [];
					n.count = !!(row.repeat_count || row['jr:count']);
					stack.push({ children: n.children, repeat: n });
				} else {
					n.fieldList = /field-list/.test(String(row.appearance ||
					    ''));
					stack.push({ children: n.children, repeat: up.repeat });
				}
			}
			if (n.kind !== 'group' && n.kind !== 'note')
				(n.repeat ? n.repeat.flat : f.top).push(n);
		}
		/* pages */
		const shown = (n) => !n.meta && UNSEEN.indexOf(n.kind) < 0;
		if (f.nodes.some((n) => n.kind === 'group')) {
			let loose = [];
			for (const n of f.nodes) {
				if (!shown(n))
					continue;
				if (n.kind === 'group') {
					if (loose.length)
						f.pages.push(loose);
					loose = [];
					f.pages.push([n]);
				} else
					loose.push(n);
			}
			if (loose.length)
				f.pages.push(loose);
		} else
			f.pages.push(f.nodes.filter(shown));
		if (f.pages.length === 0)
			f.pages.push([]);
		/* the rules are parsed when the form is opened (rulesOf): the
		   home lists every form without paying for each */
		return f;
	}

	/* The form's rules in the module, parsed once, on first use. */
	function rulesOf(f) {
		if (!f.rules && !f.rulesFailed) {
			try {
				f.rules = window.FieldRules.parse(f.def);
			} catch (e) {
				f.rulesFailed = String(e.message || e);
			}
		}
		return f.rules;
	}

	/* --- the rules (rules.js and the board's C in rules.wasm) ----------- */

	function today() {
		const d = new Date();
		const p = (n) => String(n).padStart(2, '0');
		return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' +
		    p(d.getDate());
	}

	/* Now as ODK writes a dateTime: local time and its offset. */
	function nowISO() {
		const d = new Date();
		const p = (n, w) => String(n).padStart(w || 2, '0');
		const off = -d.getTimezoneOffset();
		return today() + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) +
		    ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3) +
		    (off < 0 ? '-' : '+') + p(Math.floor(Math.abs(off) / 60)) +
		    ':' + p(Math.abs(off) % 60);
	}

	function validate(f, rec) {
		if (!f.rules)
			return [];
		try {
			return window.FieldRules.validate(f.rules, rec, today());
		} catch (e) {
			return [{ path: '', reason: String(e.message || e) }];
		}
	}

	/* Whether the control at path is asked, by the last state. */
	function isOn(path) {
		return !cur || !cur.off || !cur.off.has(path);
	}

	/* --- the server ---------------------------------------------------- */

	async function api(method, path, body) {
		const headers = { Accept: 'application/json' };
		const init = { method, headers, cache: 'no-store',
			credentials: 'omit', referrerPolicy: 'no-referrer' };
		if (token)
			headers.Authorization = 'Bearer ' + token;
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let res;
		try {
			res = await fetch(path, init);
		} catch (e) {
			throw new Error(t('offline'));
		}
		let data = null;
		try {
			data = await res.json();
		} catch (e) {
			data = null;
		}
		return { status: res.status, data };
	}

	/* api() for a logged-in call: a refused token ends the session. */
	async function call(method, path, body) {
		const r = await api(method, path, body);
		if (r.status === 401) {
			sessionEnded();
			throw new Stop('session ended');
		}
		return r;
	}

	function serverMessage(r) {
		const m = r.data && typeof r.data.error === 'string' ?
		    r.data.error : '';
		return t('failed', { s: r.status, m: m || '?' });
	}

	/* --- the page's states --------------------------------------------- */

	function setState(s) {
		document.body.dataset.state = s;
	}

	function showView(id) {
		for (const v of ['login', 'home', 'entry'])
			$(v).hidden = v !== id;
		$('who').hidden = id === 'login';
	}

	function showError(msg) {
		const e = $('error');
		e.textContent = msg || '';
		e.hidden = !msg;
	}

	/* The notice: nothing (''), or "saved" for a record just sent
	   ({id, form: the prepared form}), drawn in the language chosen. */
	let notice = null;

	function showNotice(what) {
		notice = what || null;
		renderNotice();
	}

	function renderNotice() {
		const n = $('notice');
		n.textContent = '';
		n.hidden = !notice;
		if (!notice) {
			delete n.dataset.id;
			delete n.dataset.form;
			return;
		}
		const f = notice.form;
		n.dataset.id = notice.id;
		n.dataset.form = f.id;
		n.appendChild(el('span', { class: 'notice-text' },
		    t('saved', { id: notice.id.slice(0, 8) })));
		const b = el('button', { type: 'button', class: 'notice-action' },
		    t('another') + ': ' + title(f, formLang(f)));
		b.addEventListener('click', () => openNew(f.id, f.version));
		n.appendChild(b);
	}

	/* A button that asks once more before doing something for good. */
	function confirming(button, again, run) {
		let armed = null;
		const label = button.textContent;
		button.addEventListener('click', () => {
			if (armed === null) {
				button.textContent = again;
				button.classList.add('armed');
				armed = setTimeout(() => {
					armed = null;
					button.textContent = label;
					button.classList.remove('armed');
				}, 5000);
				return;
			}
			clearTimeout(armed);
			armed = null;
			run();
		});
	}

	/* --- logging in and out -------------------------------------------- */

	function showLogin(msg) {
		busy = false;
		cur = null;
		controls = new Map();
		showView('login');
		showNotice('');
		showError(msg || '');
		const last = lsGet(K.lastUser);
		if (last && !$('login-user').value)
			$('login-user').value = last;
		setState('login');
	}

	function keepSession(tok, name) {
		token = tok;
		user = name;
		lsSet(K.token, tok);
		lsSet(K.user, name);
		lsSet(K.lastUser, name);
	}

	function forgetSession() {
		token = null;
		user = null;
		lsDel(K.token);
		lsDel(K.user);
	}

	/* A refused or expired token: the draft open stays (field.current),
	   so logging in again brings it back. */
	function sessionEnded() {
		forgetSession();
		showLogin(t('sessionEnded'));
	}

	async function loginPin(ev) {
		ev.preventDefault();
		if (busy)
			return;
		const name = $('login-user').value.trim();
		const pin = $('login-pin').value.trim();
		if (!name || !pin)
			return;
		busy = true;
		let r;
		try {
			r = await api('POST', '/api/login', { user: name, pin });
		} catch (e) {
			busy = false;
			showError(e.message);
			return;
		}
		busy = false;
		$('login-pin').value = '';
		if (r.status === 200 && r.data && typeof r.data.token === 'string') {
			keepSession(r.data.token, r.data.user || name);
			showError('');
			await enter();
			return;
		}
		showError(r.status === 401 ? t('wrongPin') : r.status === 429 &&
		    r.data && r.data.error ? r.data.error : serverMessage(r));
		setState('login');
	}

	async function loginToken(ev) {
		ev.preventDefault();
		if (busy)
			return;
		const tok = $('login-token').value.trim();
		if (!tok)
			return;
		busy = true;
		token = tok;
		let r;
		try {
			r = await api('GET', '/api/me');
		} catch (e) {
			token = null;
			busy = false;
			showError(e.message);
			return;
		}
		busy = false;
		$('login-token').value = '';
		if (r.status === 200 && r.data && typeof r.data.user === 'string') {
			keepSession(tok, r.data.user);
			showError('');
			await enter();
			return;
		}
		token = null;
		showError(r.status === 401 ? t('tokenRefused') : r.data &&
		    r.data.error ? r.data.error : serverMessage(r));
		setState('login');
	}

	function logout() {
		forgetSession();
		lsDel(K.current);
		$('login-user').value = '';
		showLogin('');
	}

	/* Logged in: the forms, then the draft open before a reload or the
	   home page. */
	async function enter() {
		try {
			$('user-name').textContent = user || '';
			await loadForms();
			const id = lsGet(K.current);
			if (id && draftMeta(id)) {
				await openDraft(id);
				return;
			}
			await showHome();
		} catch (e) {
			/* the token stays: a reload tries again */
			if (!(e instanceof Stop))
				showLogin(e.message);
		}
	}

	/* --- forms --------------------------------------------------------- */

	async function getDef(id, version) {
		const key = id + '@' + version;
		if (defs.has(key))
			return defs.get(key);
		const r = await call('GET', '/api/forms/' + encodeURIComponent(id) +
		    '?version=' + encodeURIComponent(version));
		if (r.status !== 200 || !r.data || !Array.isArray(r.data.survey))
			return null;
		const f = prepare(r.data);
		if (f.unsupported)
			return null;
		defs.set(key, f);
		return f;
	}

	async function loadForms() {
		const r = await call('GET', '/api/forms');
		if (r.status !== 200 || !r.data || !Array.isArray(r.data.forms))
			throw new Error(serverMessage(r));
		/*
		 * A form whose definition this page cannot render yet (the
		 * board takes more of XLSForm than rules.js knows) is left out
		 * of the list; the others stay usable.
		 */
		const ok = await Promise.all(r.data.forms.map((x) =>
		    getDef(x.form_id, x.version).then((f) => f !== null, (e) => {
			if (e instanceof Stop)
				throw e;
			return false;
		})));
		forms = r.data.forms.filter((x, i) => ok[i]);
	}

	function formOf(id, version) {
		return defs.get(id + '@' + version) || null;
	}

	function titleOf(id, version) {
		const f = formOf(id, version) || defs.get(id + '@' + ((forms.find(
		    (x) => x.form_id === id) || {}).version));
		return f ? title(f, formLang(f)) : id;
	}

	/* --- drafts -------------------------------------------------------- */

	function draftIndex() {
		const ix = lsJSON(K.drafts, []);
		return Array.isArray(ix) ? ix.filter((d) => d && d.id) : [];
	}

	function myDrafts() {
		return draftIndex().filter((d) => d.user === user)
		    .sort((a, b) => String(b.updated).localeCompare(a.updated));
	}

	function draftMeta(id) {
		return draftIndex().find((d) => d.id === id && d.user === user) ||
		    null;
	}

	function countAnswers(f, rec) {
		let n = 0;
		for (const node of f.top) {
			const v = rec[node.name];
			if (node.meta || node.kind === 'calculate')
				continue;
			if (node.kind === 'repeat') {
				for (const it of Array.isArray(v) ? v : [])
					for (const c of node.flat)
						n += !!it && !c.meta && c.kind !== 'calculate' &&
						    !isEmpty(it[c.name]);
			} else
				n += !isEmpty(v);
		}
		return n;
	}

	/* Every change: the answers, then the index (no answers in it). */
	function saveDraft() {
		if (!cur)
			return;
		const m = cur.meta;
		m.updated = new Date().toISOString();
		m.answers = countAnswers(cur.form, cur.rec);
		const ix = draftIndex().filter((d) => d.id !== m.id);
		ix.push(m);
		const ok = lsSet(DRAFT + m.id, JSON.stringify(cur.rec)) &&
		    lsSet(K.drafts, JSON.stringify(ix)) && lsSet(K.current, m.id);
		if (!ok)
			showError(t('storageFull'));
		else if ($('error').textContent === t('storageFull'))
			showError('');
	}

	function removeDraft(id) {
		lsDel(DRAFT + id);
		lsSet(K.drafts, JSON.stringify(draftIndex().filter((d) =>
		    d.id !== id)));
		if (lsGet(K.current) === id)
			lsDel(K.current);
	}

	function uuid() {
		const b = new Uint8Array(16);
		crypto.getRandomValues(b);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		const h = Array.from(b, (x) => x.toString(16).padStart(2, '0'))
		    .join('');
		return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) +
		    '-' + h.slice(16, 20) + '-' + h.slice(20);
	}

	/* --- home: forms, drafts, today's records -------------------------- */

	function fillLangs(select, langs, chosen) {
		select.textContent = '';
		for (const l of langs)
			select.appendChild(el('option', { value: l, lang:
			    langCode(l) || null, dir: 'auto' }, l));
		select.value = chosen;
	}

	function clock(iso, withDay) {
		const d = new Date(iso);
		if (isNaN(d.getTime()))
			return '';
		const p = (n) => String(n).padStart(2, '0');
		const hm = p(d.getHours()) + ':' + p(d.getMinutes());
		const day = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' +
		    p(d.getDate());
		return withDay && day !== today() ? day + ' ' + hm : hm;
	}

	async function showHome() {
		cur = null;
		controls = new Map();
		lsDel(K.current);
		$('fields').textContent = '';
		showView('home');
		const all = [];
		for (const f of defs.values())
			for (const l of f.langs)
				if (all.indexOf(l) < 0)
					all.push(l);
		if (all.indexOf(pref()) < 0)
			all.push(pref());
		fillLangs($('home-lang'), all, pref());
		renderForms();
		renderDrafts();
		try {
			await loadSubmissions();
		} catch (e) {
			if (e instanceof Stop)
				return;
			$('pending').textContent = e.message;
		}
		setState('home');
	}

	function renderForms() {
		const ul = $('forms');
		ul.textContent = '';
		for (const x of forms) {
			const f = formOf(x.form_id, x.version);
			const lang = f ? formLang(f) : '';
			const b = el('button', { type: 'button', class: 'form-btn',
				'data-form': x.form_id, 'data-version': x.version });
			b.appendChild(el('span', { class: 'form-title', dir: 'auto',
				lang: langCode(lang) || null },
			    f ? title(f, lang) : x.title || x.form_id));
			b.appendChild(el('span', { class: 'form-version' }, x.version));
			b.addEventListener('click', () => openNew(x.form_id, x.version));
			const li = el('li');
			li.appendChild(b);
			ul.appendChild(li);
		}
	}

	function renderDrafts() {
		const ul = $('drafts');
		const list = myDrafts();
		ul.textContent = '';
		$('no-drafts').hidden = list.length > 0;
		for (const d of list) {
			const li = el('li', { class: 'draft', 'data-draft': d.id,
				'data-form': d.form });
			const about = el('div', { class: 'draft-about' });
			about.appendChild(el('span', { class: 'draft-title', dir: 'auto' },
			    titleOf(d.form, d.version)));
			about.appendChild(el('span', { class: 'muted small' },
			    t('started', { t: clock(d.created, true) }) + ' · ' +
			    t('answers', { n: d.answers || 0 })));
			li.appendChild(about);
			const resume = el('button', { type: 'button', class: 'resume' },
			    t('resume'));
			resume.addEventListener('click', () => openDraft(d.id));
			const discard = el('button', { type: 'button', class: 'discard' },
			    t('discard'));
			confirming(discard, t('reallyDiscard'), () => {
				removeDraft(d.id);
				renderDrafts();
			});
			const acts = el('div', { class: 'draft-actions' });
			acts.appendChild(resume);
			acts.appendChild(discard);
			li.appendChild(acts);
			ul.appendChild(li);
		}
	}

	/* Ids, forms and times only: a sent record is never shown back. */
	async function loadSubmissions() {
		const r = await call('GET', '/api/submissions');
		if (r.status !== 200 || !r.data)
			throw new Error(serverMessage(r));
		lastSubmissions = r.data;
		renderSubmissions();
	}

	function renderSubmissions() {
		const data = lastSubmissions;
		if (!data)
			return;
		const rows = Array.isArray(data.today) ? data.today : [];
		const tb = $('today').tBodies[0];
		tb.textContent = '';
		for (const s of rows.slice().reverse()) {
			const tr = el('tr', { 'data-id': s.id, 'data-form': s.form });
			const id = el('td');
			id.appendChild(el('code', { title: s.id }, String(s.id).slice(0, 8)));
			tr.appendChild(id);
			tr.appendChild(el('td', { dir: 'auto' }, titleOf(s.form, s.version)));
			tr.appendChild(el('td', null, clock(s.created, false)));
			tb.appendChild(tr);
		}
		$('today').hidden = rows.length === 0;
		$('none-today').hidden = rows.length > 0;
		const n = Number(data.pending) || 0;
		const p = $('pending');
		p.dataset.pending = String(n);
		p.textContent = (n ? t('pending', { n }) : t('pendingNone')) + ' ' +
		    t('lastSync', { t: data.last_sync ?
		    clock(data.last_sync, true) : t('never') });
	}

	/* --- opening a form ------------------------------------------------ */

	async function openNew(id, version) {
		const f = await getDef(id, version).catch((e) => {
			if (!(e instanceof Stop))
				showError(e.message);
			return undefined;
		});
		if (f === undefined)
			return;
		if (f === null) {
			showError(t('formGone'));
			return;
		}
		const meta = { id: uuid(), user, form: id, version,
			created: new Date().toISOString() };
		const rec = {};
		for (const n of f.top)
			if (n.kind !== 'repeat')
				setDefault(n, rec);
		openForm(f, meta, rec);
	}

	async function openDraft(id) {
		const meta = draftMeta(id);
		if (!meta)
			return showHome();
		let f;
		try {
			f = await getDef(meta.form, meta.version);
		} catch (e) {
			if (!(e instanceof Stop))
				showError(e.message);
			return undefined;
		}
		if (f === null) {
			showError(t('formGone'));
			lsDel(K.current);
			return showHome();
		}
		const rec = lsJSON(DRAFT + id, {});
		openForm(f, meta, rec && typeof rec === 'object' &&
		    !Array.isArray(rec) ? rec : {});
		return undefined;
	}

	/* This phone's id for deviceid: made once, kept. */
	function deviceId() {
		let d = lsGet('field.device');
		if (!d) {
			d = 'fieldweb:' + uuid();
			lsSet('field.device', d);
		}
		return d;
	}

	/* A new answer's first value: metadata, or the row's default when it
	   is a value (an expression default is left to the enumerator). */
	function setDefault(n, holder) {
		if (n.meta) {
			const v = n.meta === 'start' ? nowISO() : n.meta === 'today' ?
			    today() : n.meta === 'deviceid' ? deviceId() :
			    n.meta === 'username' ? user : undefined;
			if (v !== undefined && v !== null)
				holder[n.name] = v;
			return;
		}
		const d = n.row.default;
		if (d === undefined || d === null || d === '' || /[($]/.test(String(d)) ||
		    NO_VALUE.indexOf(n.kind) >= 0 || n.kind === 'calculate' ||
		    n.kind === 'repeat')
			return;
		holder[n.name] = n.kind === 'integer' ? readInteger(String(d)) :
		    n.kind === 'decimal' ? readDecimal(String(d)) :
		    n.kind === 'select_multiple' ? String(d).split(/\s+/)
		    .filter((x) => x) : String(d);
	}

	function openForm(f, meta, rec) {
		if (!rulesOf(f)) {
			/* the board took this definition: it cannot be refused */
			showError(f.rulesFailed);
			return;
		}
		cur = { form: f, meta, rec, touched: new Set(), server: new Map(),
			message: null, page: 0, off: new Set(), pipes: [],
			all: false };
		lsSet(K.current, meta.id);
		showNotice('');
		showError('');
		$('form-error').hidden = true;
		showView('entry');
		renderForm();
		window.scrollTo(0, 0);
		setState('form');
	}

	function closeForm() {
		cur = null;
		controls = new Map();
		lsDel(K.current);
		$('fields').textContent = '';
	}

	/* --- rendering a form ---------------------------------------------- */

	function isEmpty(v) {
		return v === undefined || v === null || v === '' ||
		    (Array.isArray(v) && v.length === 0);
	}

	/* Arabic-Indic and Persian digits, as some phones type them. */
	function asciiDigits(s) {
		return s.replace(/[\u0660-\u0669]/g, (c) =>
		    String(c.charCodeAt(0) - 0x660)).replace(/[\u06f0-\u06f9]/g,
		    (c) => String(c.charCodeAt(0) - 0x6f0));
	}

	function readInteger(s) {
		const v = asciiDigits(s).trim();
		if (v === '')
			return undefined;
		if (/^[+-]?[0-9]+$/.test(v) && Number.isSafeInteger(Number(v)))
			return Number(v);
		return v;		/* validate says "must be a whole number" */
	}

	function readDecimal(s) {
		const v = asciiDigits(s).trim().replace(/^([+-]?[0-9]*)[,\u066b]/, '$1.');
		if (v === '')
			return undefined;
		if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(v) &&
		    isFinite(Number(v)))
			return Number(v);
		return v;		/* validate says "must be a number" */
	}

	function shown(v) {
		return v === undefined || v === null ? '' : String(v);
	}

	/* Where a field's answer lives: the record, or an item of a repeat. */
	function holder(item) {
		if (!item)
			return cur.rec;
		const items = cur.rec[item.repeat.name];
		return Array.isArray(items) ? items[item.index] : undefined;
	}

	function setAnswer(n, item, v) {
		const h = holder(item);
		if (!h)
			return;
		if (isEmpty(v))
			delete h[n.name];
		else
			h[n.name] = v;
	}

	function renderForm() {
		const f = cur.form;
		const lang = formLang(f);
		const form = $('record');
		form.dir = isRtl(lang) ? 'rtl' : 'ltr';
		form.lang = langCode(lang) || '';
		form.dataset.form = f.id;
		form.dataset.version = f.version;
		form.dataset.lang = lang;
		$('form-title').textContent = title(f, lang);
		fillLangs($('form-lang'), f.langs, lang);
		applyChrome();
		/* drawn again (a repeat's items, the language): the focus stays */
		const had = document.activeElement && box0().contains(
		    document.activeElement) ? document.activeElement.id : '';
		controls = new Map();
		cur.pipes = [];
		applyState();
		const box = box0();
		box.textContent = '';
		const pages = f.pages.length;
		cur.page = Math.max(0, Math.min(cur.page, pages - 1));
		for (const n of f.pages[cur.page]) {
			const w = renderNode(n, null, lang);
			if (w)
				box.appendChild(w);
		}
		/* progress, and the way through the pages */
		const prog = $('progress');
		prog.hidden = pages < 2;
		prog.textContent = '';
		if (pages > 1) {
			const bar = el('progress', { max: String(pages),
				value: String(cur.page + 1) });
			prog.appendChild(el('span', { class: 'page-of' }, t('page',
			    { n: cur.page + 1, m: pages })));
			prog.appendChild(bar);
		}
		$('prev').hidden = pages < 2 || prevPage() < 0;
		$('next').hidden = pages < 2 || nextPage() < 0;
		$('submit').hidden = pages > 1 && nextPage() >= 0;
		box.dataset.page = String(cur.page + 1);
		if (applyState())
			return renderForm();
		showErrors();
		if (had && $(had))
			$(had).focus({ preventScroll: true });
	}

	function box0() {
		return $('fields');
	}

	/* A page is skipped when everything on it is not asked. */
	function pageOn(i) {
		return cur.form.pages[i].some((n) => isOn(n.name));
	}

	function nextPage() {
		for (let i = cur.page + 1; i < cur.form.pages.length; i++)
			if (pageOn(i))
				return i;
		return -1;
	}

	function prevPage() {
		for (let i = cur.page - 1; i >= 0; i--)
			if (pageOn(i))
				return i;
		return -1;
	}

	function goPage(i) {
		if (i < 0 || !cur)
			return;
		/* the page left: its errors show from now on */
		for (const p of controls.keys())
			cur.touched.add(p);
		cur.page = i;
		renderForm();
		window.scrollTo(0, 0);
	}

	/* The page a path's field is on. */
	function pageOf(path) {
		const top = path.replace(/[[.].*$/, '');
		const pages = cur.form.pages;
		const holds = (n) => n.name === top || (n.children || []).some(holds);
		for (let i = 0; i < pages.length; i++)
			if (pages[i].some(holds))
				return i;
		return -1;
	}

	/* Text with ${field} piped in, from the item's answers first. */
	function pipe(text, item) {
		return String(text).replace(/\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g,
		    (m, name) => {
			const h = item ? holder(item) : null;
			let v = h && h[name] !== undefined ? h[name] : cur.rec[name];
			if (Array.isArray(v))
				v = v.join(' ');
			return v === undefined || v === null || typeof v === 'object' ?
			    '' : String(v);
		});
	}

	/* An element whose text pipes answers in, kept up to date. */
	function piped(tag, attrs, text, item) {
		const e = el(tag, attrs, pipe(text, item));
		if (/\$\{/.test(text))
			cur.pipes.push({ e, text, item });
		return e;
	}

	function renderNode(n, item, lang) {
		if (n.meta || UNSEEN.indexOf(n.kind) >= 0)
			return null;
		if (n.kind === 'repeat')
			return renderRepeat(n, lang);
		if (n.kind === 'group')
			return renderGroup(n, item, lang);
		if (n.kind === 'note')
			return renderNote(n, item, lang);
		return renderField(n, item, lang);
	}

	/* A control that only shows or hides (a group, a note). */
	function plainControl(n, item, w) {
		const path = pathOf(n, item);
		const c = { path, node: n, item, wrap: w,
			err: el('p', { class: 'field-error', id: domId(path) + '-err',
				hidden: true }), read: () => undefined, write: () => {} };
		w.appendChild(c.err);
		/* a note and a group may share a name: the first is the one
		   whose errors show */
		if (!controls.has(path))
			controls.set(path, c);
		return c;
	}

	function renderGroup(n, item, lang) {
		const f = cur.form;
		const w = el('fieldset', { class: 'group' + (n.fieldList ?
			' field-list' : ''), 'data-path': pathOf(n, item),
			'data-name': n.name, 'data-type': 'group' });
		const label = txt(n.row, 'label', lang, f);
		if (label)
			w.appendChild(piped('legend', { dir: 'auto' }, label, item));
		for (const ch of n.children) {
			const x = renderNode(ch, item, lang);
			if (x)
				w.appendChild(x);
		}
		plainControl(n, item, w);
		return w;
	}

	function renderNote(n, item, lang) {
		const f = cur.form;
		const w = el('div', { class: 'field note', 'data-path':
			pathOf(n, item), 'data-name': n.name, 'data-type': 'note' });
		w.appendChild(piped('p', { class: 'note-text', dir: 'auto' },
		    txt(n.row, 'label', lang, f) || '', item));
		const hint = txt(n.row, 'hint', lang, f);
		if (hint)
			w.appendChild(piped('p', { class: 'hint', dir: 'auto' }, hint,
			    item));
		plainControl(n, item, w);
		return w;
	}

	function pathOf(n, item) {
		return item ? item.repeat.name + '[' + (item.index + 1) + '].' +
		    n.name : n.name;
	}

	function domId(path) {
		return 'f-' + path.replace(/[^A-Za-z0-9_-]/g, '_');
	}

	/* The label, required mark and hint of a field. */
	function heading(parent, n, lang, forId, hintId, item) {
		const f = cur.form;
		const lab = el(forId ? 'label' : 'span', { class: 'label',
			for: forId || null });
		lab.appendChild(piped('span', { dir: 'auto' },
		    txt(n.row, 'label', lang, f) || n.name, item));
		if (isYes(n.row.required)) {
			lab.appendChild(el('span', { class: 'req', 'aria-hidden': 'true' },
			    ' *'));
			lab.appendChild(el('span', { class: 'sr' }, ' (' + t('required') +
			    ')'));
		}
		parent.appendChild(lab);
		const hint = txt(n.row, 'hint', lang, f);
		if (hint)
			parent.appendChild(el('p', { class: 'hint', dir: 'auto',
				id: hintId || null }, hint));
	}

	/* The keyboard a phone should offer for a text field, from its regex. */
	function textHints(n, input) {
		const c = String(n.row.constraint || '');
		const m = /regex\(\s*\.\s*,\s*'((?:[^'\\]|\\.)*)'\s*\)/.exec(c);
		if (!m)
			return;
		const re = m[1];
		if (/^[\\+?0-9 \-[\]{},()]*$/.test(re.replace(/\[[^\]]*\]/g, (s) =>
		    /[A-Za-z]/.test(s) ? 'X' : s)) && /0-9/.test(re)) {
			input.setAttribute('inputmode', 'tel');
		} else if (/A-Z/.test(re) && !/a-z/.test(re)) {
			input.setAttribute('autocapitalize', 'characters');
		}
	}

	function renderField(n, item, lang) {
		const f = cur.form;
		const path = pathOf(n, item);
		const id = domId(path);
		const grouped = ['select_one', 'select_multiple', 'geopoint',
			'acknowledge'].indexOf(n.kind) >= 0;
		const w = el(grouped ? 'fieldset' : 'div', {
			class: 'field field-' + n.kind, 'data-path': path,
			'data-name': n.name, 'data-type': n.kind });
		const errId = id + '-err';
		const described = (txt(n.row, 'hint', lang, f) ? id + '-hint ' : '') +
		    errId;
		const c = { path, node: n, item, wrap: w, err: null,
			read: null, write: null };
		const value = () => {
			const h = holder(item);
			return h ? h[n.name] : undefined;
		};
		const changed = () => {
			setAnswer(n, item, c.read());
			if (c.after)
				c.after();
			afterChange(path);
		};

		if (grouped) {
			const lg = el('legend');
			heading(lg, n, lang, null, id + '-hint', item);
			w.appendChild(lg);
		}

		const choicesOf = f.lists.get(n.list) || [];
		if (n.kind === 'select_one' && (choicesOf.length > PICKER_AT ||
		    n.row.choice_filter)) {
			c.focus = renderPicker(n, item, lang, c, w, id, described,
			    changed);
		} else if (n.kind === 'acknowledge') {
			const lab = el('label', { class: 'choice' });
			const inp = el('input', { type: 'checkbox', id, value: 'OK',
				'aria-describedby': described });
			inp.addEventListener('change', () => {
				cur.touched.add(path);
				changed();
			});
			lab.appendChild(inp);
			lab.appendChild(el('span', {}, t('ok')));
			w.appendChild(lab);
			c.read = () => inp.checked ? 'OK' : undefined;
			c.write = (v) => {
				inp.checked = v === 'OK';
			};
			c.focus = inp;
		} else if (n.kind === 'select_one' || n.kind === 'select_multiple') {
			const multi = n.kind === 'select_multiple';
			const box = el('div', { class: 'choices', role: multi ? 'group' :
				'radiogroup', 'aria-describedby': described });
			const inputs = [], labs = [];
			for (const ch of choicesOf) {
				const lab = el('label', { class: 'choice' });
				const inp = el('input', { type: multi ? 'checkbox' : 'radio',
					name: id, value: ch.name });
				inp.addEventListener('change', () => {
					cur.touched.add(path);
					changed();
				});
				inputs.push(inp);
				labs.push(lab);
				if (n.readOnly)
					inp.disabled = true;
				lab.appendChild(inp);
				lab.appendChild(el('span', { dir: 'auto' },
				    txt(ch, 'label', lang, f) || ch.name));
				box.appendChild(lab);
			}
			w.appendChild(box);
			let clear = null;
			if (!multi && !isYes(n.row.required)) {
				clear = el('button', { type: 'button', class: 'clear' },
				    t('clear'));
				clear.addEventListener('click', () => {
					for (const i of inputs)
						i.checked = false;
					changed();
				});
				w.appendChild(clear);
			}
			c.read = () => {
				const on = inputs.filter((i) => i.checked).map((i) => i.value);
				return multi ? on : on[0];
			};
			c.write = (v) => {
				const want = Array.isArray(v) ? v.map(String) :
				    typeof v === 'string' ? (multi ? v.split(/\s+/) : [v]) : [];
				for (const i of inputs)
					i.checked = want.indexOf(i.value) >= 0;
				if (clear)
					clear.hidden = !inputs.some((i) => i.checked);
			};
			c.focus = inputs[0];
			/* a short cascading list: the choices its filter leaves */
			c.allow = (ok) => {
				labs.forEach((l, i) => {
					l.hidden = ok !== null && !ok.has(i);
				});
			};
			c.after = () => {
				if (clear)
					clear.hidden = !inputs.some((i) => i.checked);
			};
		} else if (n.kind === 'geopoint') {
			c.focus = renderGeopoint(n, c, w, id, described, changed);
		} else {
			heading(w, n, lang, id, id + '-hint', item);
			let input;
			const common = { id, name: id, 'aria-describedby': described,
				'aria-required': isYes(n.row.required) ? 'true' : null,
				autocomplete: 'off' };
			if (n.kind === 'time') {
				input = el('input', Object.assign({ type: 'time' }, common));
			} else if (n.kind === 'dateTime') {
				input = el('input', Object.assign({ type: 'datetime-local' },
				    common));
			} else if (n.kind === 'date') {
				input = el('input', Object.assign({ type: 'date' }, common));
				if (/\.\s*<=\s*today\(\)/.test(String(n.row.constraint || '')))
					input.max = today();
			} else if (n.kind === 'text' && longText(n)) {
				input = el('textarea', Object.assign({ rows: 3, dir: 'auto',
					spellcheck: 'true' }, common));
			} else {
				input = el('input', Object.assign({ type: 'text', dir: 'auto',
					spellcheck: 'false' }, common));
				if (n.kind === 'integer')
					input.setAttribute('inputmode', 'numeric');
				else if (n.kind === 'decimal')
					input.setAttribute('inputmode', 'decimal');
				else
					textHints(n, input);
			}
			input.addEventListener('input', changed);
			input.addEventListener('change', changed);
			if (n.readOnly)
				input.readOnly = true;
			w.appendChild(input);
			c.read = () => n.kind === 'integer' ? readInteger(input.value) :
			    n.kind === 'decimal' ? readDecimal(input.value) :
			    n.kind === 'date' || n.kind === 'time' ? input.value ||
			    undefined : n.kind === 'dateTime' ? (input.value ?
			    withOffset(input.value) : undefined) :
			    input.value.trim() === '' ? undefined : input.value.trim();
			c.write = (v) => {
				if (n.kind === 'dateTime') {
					input.value = typeof v === 'string' ? v.slice(0, 16) : '';
					return;
				}
				if (n.kind === 'time') {
					input.value = typeof v === 'string' ? v.slice(0, 5) : '';
					return;
				}
				input.value = Array.isArray(v) ? v.join(' ') :
				    typeof v === 'object' && v !== null ? JSON.stringify(v) :
				    shown(v);
			};
			c.focus = input;
		}

		c.err = el('p', { class: 'field-error', id: errId, hidden: true });
		w.appendChild(c.err);
		w.addEventListener('focusout', (e) => left(e, w, path));
		c.write(value());
		if (c.after)
			c.after();
		controls.set(path, c);
		return w;
	}

	/* A datetime-local value with this phone's offset, as ODK sends it. */
	function withOffset(v) {
		const off = -new Date(v).getTimezoneOffset();
		const p = (x) => String(x).padStart(2, '0');
		return (v.length === 16 ? v + ':00' : v) + (off < 0 ? '-' : '+') +
		    p(Math.floor(Math.abs(off) / 60)) + ':' + p(Math.abs(off) % 60);
	}

	/* Folded for search: lower case, no accents. */
	function fold(s) {
		return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '')
		    .toLowerCase();
	}

	/*
	 * A long or cascading select_one: a search box over the choices its
	 * filter leaves, PICKER_SHOWN matches at once, each a button.  A
	 * 2,000-place list is searched in the folded labels kept per list.
	 */
	function renderPicker(n, item, lang, c, w, id, described, changed) {
		const f = cur.form;
		const all = f.lists.get(n.list) || [];
		const key = n.list + '\n' + lang;
		f.folded = f.folded || new Map();
		if (!f.folded.has(key))
			f.folded.set(key, all.map((ch) => fold((txt(ch, 'label', lang,
			    f) || ch.name) + ' ' + ch.name)));
		const folded = f.folded.get(key);
		const label = (i) => txt(all[i], 'label', lang, f) || all[i].name;
		const q = el('input', { id, type: 'search', class: 'picker-q',
			placeholder: t('search'), autocomplete: 'off', spellcheck: 'false',
			dir: 'auto', 'aria-describedby': described,
			'aria-controls': id + '-list' });
		const picked = el('p', { class: 'picked', dir: 'auto' });
		const list = el('div', { class: 'picker-list', id: id + '-list',
			role: 'listbox' });
		let value, allowed = null;
		if (n.readOnly)
			q.disabled = true;
		/* PICKER_SHOWN buttons made once and reused, one listener for
		   all: a key typed only changes texts (a low-end phone redraws
		   30 buttons, not 30 new ones with their listeners) */
		const pool = [];
		for (let k = 0; k < PICKER_SHOWN; k++) {
			const b = el('button', { type: 'button', class: 'pick',
				role: 'option', dir: 'auto', hidden: true });
			pool.push(b);
			list.appendChild(b);
		}
		const none = el('p', { class: 'muted small', hidden: true },
		    t('noMatch'));
		list.appendChild(none);
		list.addEventListener('click', (e) => {
			const b = e.target.closest('.pick');
			if (!b || !list.contains(b))
				return;
			value = b.dataset.value;
			q.value = '';
			cur.touched.add(c.path);
			showPicked();
			changed();
			draw();
		});
		const draw = () => {
			const s = fold(q.value.trim());
			let shown = 0;
			const n0 = all.length;
			for (let i = 0; i < n0 && shown < PICKER_SHOWN; i++) {
				if ((allowed !== null && !allowed.has(i)) ||
				    (s && folded[i].indexOf(s) < 0))
					continue;
				const b = pool[shown++];
				if (b.dataset.value !== all[i].name) {
					b.dataset.value = all[i].name;
					b.textContent = label(i);
				}
				b.classList.toggle('on', all[i].name === value);
				b.hidden = false;
			}
			for (let k = shown; k < PICKER_SHOWN; k++)
				if (!pool[k].hidden)
					pool[k].hidden = true;
			none.hidden = shown > 0;
		};
		const showPicked = () => {
			const i = all.findIndex((ch) => ch.name === value);
			picked.hidden = value === undefined;
			picked.textContent = value === undefined ? '' : t('chosen',
			    { c: i >= 0 ? label(i) : value });
		};
		q.addEventListener('input', draw);
		w.appendChild(q);
		w.appendChild(picked);
		w.appendChild(list);
		c.read = () => value;
		c.write = (v) => {
			value = typeof v === 'string' ? v : undefined;
			showPicked();
			draw();
		};
		c.allow = (ok) => {
			allowed = ok;
			draw();
		};
		c.draw = draw;
		return q;
	}

	/* Texts that may be long (a limit over 200 characters, or an
	   appearance that asks for it) get a text area. */
	function longText(n) {
		if (/multiline/.test(String(n.row.appearance || '')))
			return true;
		const m = /string-length\(\s*\.\s*\)\s*<=?\s*(\d+)/.exec(
		    String(n.row.constraint || ''));
		return m !== null && Number(m[1]) > 200;
	}

	function renderGeopoint(n, c, w, id, errId, changed) {
		const box = el('div', { class: 'geo', dir: 'ltr' });
		const mk = (key, label) => {
			const cell = el('div', { class: 'geo-cell' });
			cell.appendChild(el('label', { for: id + '-' + key, class: 'sublabel' },
			    label));
			const inp = el('input', { id: id + '-' + key, type: 'text',
				inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false',
				'aria-describedby': errId, 'data-part': key });
			cell.appendChild(inp);
			box.appendChild(cell);
			return inp;
		};
		const lat = mk('lat', t('latitude'));
		const lon = mk('lon', t('longitude'));
		w.appendChild(box);
		const acc = el('p', { class: 'muted small geo-acc', hidden: true });
		w.appendChild(acc);
		let accuracy = null;
		const showAcc = () => {
			acc.hidden = accuracy === null;
			acc.textContent = accuracy === null ? '' :
			    t('accuracy', { a: accuracy });
		};
		c.read = () => {
			const a = readDecimal(lat.value), b = readDecimal(lon.value);
			if (a === undefined && b === undefined)
				return undefined;
			const p = {};
			if (a !== undefined)
				p.latitude = a;
			if (b !== undefined)
				p.longitude = b;
			if (accuracy !== null && typeof a === 'number' &&
			    typeof b === 'number')
				p.accuracy = accuracy;
			return p;
		};
		c.write = (v) => {
			const p = v && typeof v === 'object' ? v : {};
			lat.value = shown(p.latitude);
			lon.value = shown(p.longitude);
			accuracy = typeof p.accuracy === 'number' ? p.accuracy : null;
			showAcc();
		};
		const typed = () => {
			accuracy = null;	/* typed by hand: no GPS accuracy */
			showAcc();
			changed();
		};
		lat.addEventListener('input', typed);
		lon.addEventListener('input', typed);
		/* Browsers give a position to secure pages only (https or the
		   board's own loopback); elsewhere the numbers are typed. */
		if (window.isSecureContext && navigator.geolocation) {
			const b = el('button', { type: 'button', class: 'locate' },
			    t('useLocation'));
			const status = el('p', { class: 'muted small geo-status',
				role: 'status' });
			b.addEventListener('click', () => {
				status.textContent = t('locating');
				b.disabled = true;
				navigator.geolocation.getCurrentPosition((pos) => {
					b.disabled = false;
					status.textContent = '';
					const r6 = (x) => Math.round(x * 1e6) / 1e6;
					lat.value = String(r6(pos.coords.latitude));
					lon.value = String(r6(pos.coords.longitude));
					accuracy = typeof pos.coords.accuracy === 'number' &&
					    isFinite(pos.coords.accuracy) ?
					    Math.round(pos.coords.accuracy * 10) / 10 : null;
					showAcc();
					cur.touched.add(c.path);
					changed();
				}, (err) => {
					b.disabled = false;
					status.textContent = t('locFailed', { m: err.message ||
					    err.code });
				}, { enableHighAccuracy: true, timeout: 30000,
					maximumAge: 60000 });
			});
			w.appendChild(b);
			w.appendChild(status);
		}
		return lat;
	}

	function renderRepeat(n, lang) {
		const f = cur.form;
		const path = n.name;
		const w = el('fieldset', { class: 'field repeat', 'data-path': path,
			'data-name': n.name, 'data-type': 'repeat' });
		const lg = el('legend');
		heading(lg, n, lang, null);
		w.appendChild(lg);
		const label = txt(n.row, 'label', lang, f) || n.name;
		let items = cur.rec[n.name];
		if (!Array.isArray(items))
			items = cur.rec[n.name] = [];
		/* a repeat that is asked starts with its minimum of items (or
		   as many as its repeat_count says: applyState) */
		if (isOn(n.name) && !n.count)
			while (items.length < n.min)
				items.push(newItem(n));
		const list = el('div', { class: 'items' });
		items.forEach((it, i) => {
			if (!it || typeof it !== 'object' || Array.isArray(it))
				items[i] = {};
			const box = el('div', { class: 'item', 'data-item': n.name + '[' +
				(i + 1) + ']' });
			const head = el('div', { class: 'item-head' });
			head.appendChild(el('h3', { dir: 'auto' }, t('item', { label,
				n: i + 1 })));
			if (!n.count) {
				const rm = el('button', { type: 'button', class: 'remove',
					'data-index': String(i + 1) }, t('remove'));
				rm.disabled = items.length <= n.min;
				confirming(rm, t('reallyRemove'), () => removeItem(n, i));
				head.appendChild(rm);
			}
			box.appendChild(head);
			for (const ch of n.children) {
				const x = renderNode(ch, { repeat: n, index: i }, lang);
				if (x)
					box.appendChild(x);
			}
			list.appendChild(box);
		});
		w.appendChild(list);
		const c = { path, node: n, item: null, wrap: w,
			err: el('p', { class: 'field-error', id: domId(path) + '-err',
				hidden: true }),
			read: () => cur.rec[n.name], write: () => {} };
		w.appendChild(c.err);
		if (!n.count) {
			const add = el('button', { type: 'button', class: 'add' },
			    t('add') + ': ' + label);
			add.disabled = items.length >= n.max;
			add.addEventListener('click', () => addItem(n));
			w.appendChild(add);
		}
		w.addEventListener('focusout', (e) => left(e, w, path));
		controls.set(path, c);
		return w;
	}

	/* A new item of repeat n, with its defaults and metadata. */
	function newItem(n) {
		const it = {};
		for (const ch of n.flat)
			setDefault(ch, it);
		return it;
	}

	/* Paths of items after a removed one move up by one. */
	function shiftPaths(name, gone, keys) {
		const re = new RegExp('^' + name.replace(/[.*+?^${}()|[\]\\]/g,
		    '\\$&') + '\\[(\\d+)\\](.*)$');
		const out = [];
		for (const k of keys) {
			const m = re.exec(k);
			if (!m)
				out.push([k, k]);
			else if (Number(m[1]) < gone)
				out.push([k, k]);
			else if (Number(m[1]) > gone)
				out.push([k, name + '[' + (Number(m[1]) - 1) + ']' + m[2]]);
		}
		return out;
	}

	function addItem(n) {
		const items = cur.rec[n.name] || (cur.rec[n.name] = []);
		if (items.length >= n.max)
			return;
		items.push(newItem(n));
		saveDraft();
		renderForm();
		const first = controls.get(n.name + '[' + items.length + '].' +
		    (n.children[0] || {}).name);
		const target = first && first.wrap.hidden ? [...controls.values()]
		    .find((c) => c.item && c.item.repeat === n &&
		    c.item.index === items.length - 1 && !c.wrap.hidden) : first;
		if (target && target.focus) {
			target.wrap.scrollIntoView({ block: 'center' });
			target.focus.focus();
		}
	}

	function removeItem(n, i) {
		const items = cur.rec[n.name] || [];
		if (items.length <= n.min)
			return;
		items.splice(i, 1);
		const touched = new Set();
		for (const [, to] of shiftPaths(n.name, i + 1, cur.touched))
			touched.add(to);
		touched.add(n.name);
		cur.touched = touched;
		const server = new Map();
		for (const [from, to] of shiftPaths(n.name, i + 1, cur.server.keys()))
			server.set(to, cur.server.get(from));
		cur.server = server;
		saveDraft();
		renderForm();
	}

	/* --- relevance, saving and errors ---------------------------------- */

	/*
	 * A field left: its errors show from now on.  When the focus left
	 * because a finger (or the mouse) went down elsewhere, they show once
	 * it is up again: a message appearing under the finger would move
	 * what it is about to tap.
	 */
	let pointerDown = false;
	let errorsLater = false;

	function left(e, w, path) {
		if (!cur || (e.relatedTarget && w.contains(e.relatedTarget)))
			return;
		cur.touched.add(path);
		if (pointerDown)
			errorsLater = true;
		else
			showErrors();
	}

	function pointerUp() {
		pointerDown = false;
		if (!errorsLater)
			return;
		errorsLater = false;
		setTimeout(() => {
			if (!pointerDown)
				showErrors();
			else
				errorsLater = true;
		}, 0);
	}

	function afterChange(path) {
		cur.server.delete(path);
		if (applyState())
			renderForm();
		saveDraft();
		showErrors();
	}

	/* The values a choice filter reads, to know when to run it again. */
	function filterKey(n, item) {
		const names = String(n.row.choice_filter || '').match(
		    /\$\{[^}]*\}/g) || [];
		const h = item ? holder(item) : null;
		return JSON.stringify(names.map((x) => {
			const k = x.slice(2, -1);
			return h && h[k] !== undefined ? h[k] : cur.rec[k];
		}));
	}

	/*
	 * The board's rules over the record as it stands (FieldRules.state):
	 * answers to questions no longer asked go, calculations are written
	 * in, a repeat_count sets its repeat's items, cascading choices are
	 * narrowed (an answer its filter no longer allows goes); then every
	 * control shown is brought in line.  True when the page must be drawn
	 * again (items came or went).
	 */
	function applyState() {
		const f = cur.form;
		if (!f.rules)
			return false;
		let redraw = false;
		for (let pass = 0; pass < 4; pass++) {
			let st;
			try {
				st = window.FieldRules.state(f.rules, cur.rec, today(),
				    nowISO());
			} catch (e) {
				return false;
			}
			let again = false;
			cur.rec = st.record;
			cur.off = new Set(st.off);
			for (const n of f.top) {
				if (n.kind !== 'repeat' || !n.count)
					continue;
				const want = st.count[n.name];
				if (typeof want !== 'number' || !isOn(n.name))
					continue;
				const k = Math.max(0, Math.min(MAX_REPEAT, Math.floor(want)));
				let items = cur.rec[n.name];
				if (!Array.isArray(items))
					items = cur.rec[n.name] = [];
				if (items.length === k)
					continue;
				while (items.length < k)
					items.push(newItem(n));
				items.length = k;
				if (k === 0)
					delete cur.rec[n.name];
				again = redraw = true;
			}
			/* cascading selects shown: the choices left */
			for (const c of controls.values()) {
				if (!c.allow || !c.node.row.choice_filter || !isOn(c.path))
					continue;
				const key = filterKey(c.node, c.item);
				if (c.filterKey !== key) {
					c.filterKey = key;
					const ok = window.FieldRules.choices(f.rules, cur.rec,
					    c.node.name, c.item ? c.item.index : 0, today());
					c.allowed = ok ? new Set(ok) : null;
					c.allow(c.allowed);
				}
				const h = holder(c.item);
				const v = h ? h[c.node.name] : undefined;
				const list = f.lists.get(c.node.list) || [];
				if (c.allowed && typeof v === 'string' && !list.some((ch, i) =>
				    ch.name === v && c.allowed.has(i))) {
					delete h[c.node.name];
					again = true;
				}
			}
			if (!again)
				break;
		}
		for (const c of controls.values()) {
			const on = isOn(c.path);
			c.wrap.hidden = !on;
			if (c.node.kind === 'repeat') {
				const items = cur.rec[c.node.name];
				const have = c.wrap.querySelectorAll(':scope > .items > .item')
				    .length;
				if ((Array.isArray(items) ? items.length : 0) !== have)
					redraw = true;
				continue;
			}
			if (c.node.kind === 'group' || c.node.kind === 'note')
				continue;
			const h = holder(c.item);
			const v = h ? h[c.node.name] : undefined;
			if (v === undefined && c.read() !== undefined) {
				c.write(undefined);
				if (c.after)
					c.after();
			}
		}
		for (const p of cur.pipes)
			p.e.textContent = pipe(p.text, p.item);
		return redraw;
	}

	/* The record as sent: the form's fields only, no empty answers. */
	function clean(f, rec) {
		const out = {};
		for (const n of f.top) {
			const v = rec[n.name];
			if (n.kind === 'repeat') {
				if (!Array.isArray(v) || v.length === 0 || !isOn(n.name))
					continue;
				out[n.name] = v.map((it) => {
					const o = {};
					for (const ch of n.flat)
						if (it && !isEmpty(it[ch.name]))
							o[ch.name] = it[ch.name];
					return o;
				});
			} else if (!isEmpty(v))
				out[n.name] = v;
		}
		return out;
	}

	/* The reason in the language shown: a constraint message is the
	   form's own in that language; a few of the daemon's words are
	   translated; the rest is the daemon's. */
	function localReason(path, reason) {
		const f = cur.form;
		const lang = formLang(f);
		if (lang === f.dflt)
			return reason;
		const name = path.replace(/^.*\./, '').replace(/\[\d+\]$/, '');
		const n = f.byName.get(name);
		if (n && reason === txt(n.row, 'constraint_message', f.dflt, f)) {
			const l = n.row['constraint_message::' + lang];
			if (typeof l === 'string' && l)
				return l;
		}
		const table = UI[langCode(lang)] || {};
		if (reason === 'required' && table['required!'])
			return table['required!'];
		return table[reason] && reason.startsWith('must be') ?
		    table[reason] : reason;
	}

	/*
	 * Runs the rules over the whole record and shows each error beside its
	 * field: for fields left once (touched), or all of them after a first
	 * try to send (cur.all).  The server's errors (a 422) stay until their
	 * field changes.  Errors whose path has no visible field go above the
	 * buttons.  Returns the errors shown.
	 */
	function showErrors() {
		if (!cur)
			return [];
		const errs = validate(cur.form, clean(cur.form, cur.rec));
		const show = new Map();
		for (const e of errs) {
			if (show.has(e.path))
				continue;
			if (cur.all || cur.touched.has(e.path))
				show.set(e.path, e.reason);
		}
		for (const [p, r] of cur.server)
			if (!show.has(p))
				show.set(p, r);
		const loose = [];
		for (const [p, r] of show) {
			const c = controls.get(p);
			if (!c || c.wrap.hidden)
				loose.push([p, r]);
		}
		for (const c of controls.values()) {
			const r = c.wrap.hidden ? undefined : show.get(c.path);
			c.err.hidden = r === undefined;
			c.err.textContent = r === undefined ? '' : localReason(c.path, r);
			if (r === undefined)
				delete c.err.dataset.reason;
			else
				c.err.dataset.reason = r;
			c.wrap.classList.toggle('invalid', r !== undefined);
			if (c.node.kind === 'repeat')
				continue;
			for (const i of c.wrap.querySelectorAll('input, textarea'))
				if (r === undefined)
					i.removeAttribute('aria-invalid');
				else
					i.setAttribute('aria-invalid', 'true');
		}
		/* above the buttons: what sending said, and the errors that have
		   no field to stand beside */
		const fe = $('form-error');
		fe.textContent = '';
		if (cur.message && !cur.message.sticky && show.size === 0)
			cur.message = null;
		if (cur.message)
			fe.appendChild(el('p', { class: 'form-message' },
			    cur.message.text));
		if (cur.all || cur.server.size)
			for (const [p, r] of loose)
				fe.appendChild(el('p', { 'data-path': p, 'data-reason': r },
				    (p ? p + ': ' : '') + localReason(p, r)));
		fe.hidden = fe.childNodes.length === 0;
		if (!cur.message || !cur.message.status)
			delete fe.dataset.status;
		else
			fe.dataset.status = String(cur.message.status);
		cur.shown = show;
		return [...show].map(([path, reason]) => ({ path, reason }));
	}

	function focusFirstError(moved) {
		for (const c of controls.values()) {
			if (c.err.hidden || c.wrap.hidden)
				continue;
			c.wrap.scrollIntoView({ block: 'center' });
			if (c.focus)
				c.focus.focus({ preventScroll: true });
			return;
		}
		/* none on this page: to the page of the first one */
		for (const p of (cur.shown || new Map()).keys()) {
			const i = pageOf(p);
			if (!moved && i >= 0 && i !== cur.page) {
				cur.page = i;
				renderForm();
				focusFirstError(true);
				return;
			}
		}
		$('form-error').scrollIntoView({ block: 'center' });
	}

	/* A message above the buttons: one about the answers goes once they
	   are right; one about sending (sticky) stays until the next try. */
	function formMessage(text, sticky, status) {
		cur.message = { text, sticky: !!sticky, status: status || 0 };
		showErrors();
	}

	/* --- sending ------------------------------------------------------- */

	async function submit(ev) {
		ev.preventDefault();
		if (!cur || busy)
			return;
		cur.all = true;
		for (const n of cur.form.top)
			if (n.meta === 'end')
				cur.rec[n.name] = nowISO();
		if (applyState())
			renderForm();
		cur.message = null;
		const shownErrs = showErrors();
		if (shownErrs.length) {
			formMessage(t('fix', { n: shownErrs.length }));
			focusFirstError();
			return;
		}
		const f = cur.form, meta = cur.meta;
		const rec = clean(f, cur.rec);
		rec._id = meta.id;
		busy = true;
		const btn = $('submit');
		btn.disabled = true;
		btn.textContent = t('sending');
		setState('submitting');
		let r;
		try {
			r = await call('POST', '/api/records/' + encodeURIComponent(f.id) +
			    '?version=' + encodeURIComponent(f.version), rec);
		} catch (e) {
			if (!(e instanceof Stop) && cur) {
				formMessage(e.message, true);
				setState('form');
			}
			return;
		} finally {
			busy = false;
			btn.disabled = false;
			btn.textContent = t('submit');
		}
		if (r.status === 201 || r.status === 200) {
			const id = r.data && typeof r.data._id === 'string' ?
			    r.data._id : meta.id;
			removeDraft(meta.id);
			closeForm();
			showNotice({ id, form: f });
			await showHome();
			window.scrollTo(0, 0);
			return;
		}
		if (r.status === 422 && r.data && Array.isArray(r.data.errors)) {
			cur.server = new Map();
			for (const e of r.data.errors)
				if (e && typeof e.path === 'string' && !cur.server.has(e.path))
					cur.server.set(e.path, String(e.reason));
			formMessage(t('refused', { n: r.data.errors.length }) +
			    (r.data.more_errors ? ' ' + t('more', { n:
			    r.data.more_errors }) : ''), false, 422);
			focusFirstError();
			setState('form');
			return;
		}
		formMessage(serverMessage(r), true, r.status);
		setState('form');
	}

	/* Enter moves to the next answer; it does not send the record. */
	function nextOnEnter(e) {
		const tg = e.target;
		if (e.key !== 'Enter' || tg.tagName !== 'INPUT' ||
		    tg.type === 'radio' || tg.type === 'checkbox')
			return;
		e.preventDefault();
		const all = [...$('fields').querySelectorAll('input:not([type=radio])' +
		    ':not([type=checkbox]), textarea')].filter((x) =>
		    x.offsetParent !== null && !x.disabled);
		const i = all.indexOf(tg);
		if (i >= 0 && i + 1 < all.length)
			all[i + 1].focus();
		else
			$('submit').focus();
	}

	function chooseLang(lang) {
		lsSet(K.lang, lang);
		applyChrome();
		if (cur)
			renderForm();
		else {
			renderForms();
			renderDrafts();
			renderSubmissions();
			renderNotice();
		}
	}

	/* --- start --------------------------------------------------------- */

	async function boot() {
		applyChrome();
		$('pin-form').addEventListener('submit', loginPin);
		$('token-form').addEventListener('submit', loginToken);
		$('logout').addEventListener('click', logout);
		$('record').addEventListener('submit', submit);
		$('record').addEventListener('keydown', nextOnEnter);
		$('next').addEventListener('click', () => goPage(nextPage()));
		$('prev').addEventListener('click', () => goPage(prevPage()));
		document.addEventListener('pointerdown', () => {
			pointerDown = true;
		}, true);
		document.addEventListener('pointerup', pointerUp, true);
		document.addEventListener('pointercancel', pointerUp, true);
		$('back').addEventListener('click', () => {
			if (cur && countAnswers(cur.form, cur.rec) === 0)
				removeDraft(cur.meta.id);
			closeForm();
			showNotice('');
			showHome().catch(() => {});
		});
		$('home-lang').addEventListener('change', (e) =>
		    chooseLang(e.target.value));
		$('form-lang').addEventListener('change', (e) =>
		    chooseLang(e.target.value));
		/* another tab logged out or in: follow it */
		window.addEventListener('storage', (e) => {
			if (e.key === K.token && e.newValue === null && token)
				showLogin('');
		});
		/* the board's rules, compiled: before any form is opened */
		await window.FieldRules.load('rules.wasm');
		token = lsGet(K.token);
		user = lsGet(K.user);
		if (!token) {
			showLogin('');
			return;
		}
		let r;
		try {
			r = await api('GET', '/api/me');
		} catch (e) {
			showLogin(e.message);
			return;
		}
		if (r.status !== 200 || !r.data || typeof r.data.user !== 'string') {
			forgetSession();
			showLogin(r.status === 401 ? t('sessionEnded') : serverMessage(r));
			return;
		}
		user = r.data.user;
		lsSet(K.user, user);
		await enter();
	}

	boot().catch((e) => {
		if (!(e instanceof Stop))
			showError(String(e && e.message ? e.message : e));
	});
}());
