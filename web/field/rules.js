/*
 * rules.js: the record rules of fieldd in the browser (one set of rules
 * for every client).  A port of form_parse (form/form.c), form_validate
 * (form/validate.c) and the expression language (form/expr.c, expr.h), so
 * that a page says exactly what the server would say about a record, from
 * the same form definition.  tests/rules/cases.json holds the cases both
 * sides must agree on (tests/unit/test_rules_shared.c runs C over them,
 * tests/rules/rules_test.js this file).  Plain ES2019, no dependencies: a
 * global FieldRules in a page, module.exports in node.
 *
 * API
 *
 *   FieldRules.parse(definition) -> form
 *	definition: the form definition as JSON text (exact) or as the
 *	object JSON.parse made of it.  Throws an Error whose message is
 *	form_parse's (naming the survey row, choice or key at fault) where
 *	the daemon would refuse the definition.
 *
 *   FieldRules.validate(form, record, today) -> [{path, reason}, ...]
 *	Every error form_validate reports, in its order, with its paths
 *	("site_id", "members[3].age_years" counting items from 1, "members"
 *	for a repeat as a whole, "" for the record) and its reasons.  At
 *	most 64 are returned; the array's `dropped` property counts the rest
 *	(the API's "more_errors").  [] when the record is valid.  today is
 *	"YYYY-MM-DD", the day "not in the future" is checked against; the
 *	daemon takes the UTC date (new Date().toISOString().slice(0, 10));
 *	null: today() cannot be evaluated.
 *	record: as POST /api/records/ID takes it: field name to value; a
 *	repeat an array of objects; select_multiple an array of choice
 *	names or one string of names separated by spaces; geopoint
 *	{latitude, longitude[, altitude, accuracy]} or "lat lon [alt
 *	[acc]]"; metadata _id (a UUID), _form, _version.  Give it as the
 *	object the page sends with JSON.stringify (a whole number is a JSON
 *	integer, as JSON.stringify writes it), or as the JSON text itself
 *	(then 2.0 stays a decimal, as on the server).  Throws where the
 *	server answers 400 without validating: text that is not JSON, a
 *	duplicate key, a NUL or a lone surrogate in a string, a whole number
 *	too big for int64.
 *
 *   FieldRules.isRelevant(form, record, name, index[, today]) -> boolean
 *	Whether field `name` is to be asked (shown): its `relevant`
 *	expression, and for a field in a repeat its repeat's too.  index is
 *	the item's position in the record's array, from 0 (paths count
 *	from 1); it is ignored for fields outside repeats.  A `relevant`
 *	that cannot be evaluated counts as relevant (validate reports it).
 *	A field that is not relevant must be left empty.  today as for
 *	validate, for a `relevant` that uses today().
 *
 *   FieldRules.evaluate(form, record, expression, {field, index, today})
 *	-> true | false | null
 *	Evaluates an expression as a constraint of `field` would be (`.` is
 *	its answer, in item `index` for a repeat field; empty without a
 *	field); null when it cannot be evaluated.  Throws an Error
 *	("offset N: ...") when the expression does not parse.
 *
 *   FieldRules.parseJSON(text) -> value
 *	JSON as the daemon reads it: objects become Maps (key order kept),
 *	reals FieldRules.Real ({value}), so 2.0 is not the integer 2.
 *	validate, parse and isRelevant accept such values as well.
 *
 *   form.id, form.version, form.title (default language)
 *   form.fields: [{name, type, list, choices, repeat, required, message,
 *	constraint, relevant}] in survey order; type is one of text,
 *	integer, decimal, date, select_one, select_multiple, geopoint,
 *	repeat; list and choices (the choice names) for selects; repeat is
 *	the enclosing repeat's name or null; message is the constraint
 *	message in the default language; constraint and relevant are the
 *	expression sources or null.  Read only.
 *
 * How it mirrors C
 *
 * Every string the rules see is held as UTF-8 bytes, one char per byte,
 * as C's char * holds it: byte limits (2000 bytes of text, 40-byte key in
 * a path), string comparison (bytewise, so code point order),
 * string-length (characters: bytes that do not continue a sequence) and
 * regex (the daemon runs in the C locale: glibc matches bytes) then read
 * the same as in C.  Strings become JS strings again only in messages.
 * JSON values inside are: null, booleans, byte strings, integers (JS
 * numbers), reals (Real), arrays and Maps, as jansson's json_t.
 *
 * Where C is wrong this file does not follow it: an expression holding
 * more than four select_multiple answers given as arrays reads the right
 * ones here (validate.c rotates four buffers); a message or path C cuts
 * inside a UTF-8 character loses that character here; a definition
 * naming an unknown ${field} is refused naming its survey row (C names
 * the field's index).  Both sides take a field whose name starts with
 * '_' for unknown metadata, as C does.
 */
(function (root, factory) {
	if (typeof module === 'object' && module.exports)
		module.exports = factory();
	else
		root.FieldRules = factory();
}(typeof self !== 'undefined' ? self : this, function () {
'use strict';

/* form.h, form_impl.h, expr.h, validate.c */
const FORM_MAX_DEF_BYTES = 256 * 1024;
const FORM_MAX_FIELDS = 256;
const FORM_MAX_REPEAT_ITEMS = 100;
const FORM_MAX_TEXT = 2000;
const FORM_MAX_ERRORS = 64;
const FORM_ID_MAX = 64;
const FORM_VERSION_MAX = 32;
const FORM_NAME_MAX = 128;
const FORM_MAX_LISTS = 64;
const FORM_MAX_CHOICES = 256;
const FORM_MAX_DIMS = 16;
const FORM_MAX_MEASURES = 32;
const FORM_MAX_BANDS = 12;
const ERROR_TEXT_MAX = 159;		/* path[160], reason[160] */
const VCTX_BUF = FORM_MAX_CHOICES * FORM_NAME_MAX;
const EXPR_MAX_SRC = 4096;
const EXPR_MAX_DEPTH = 32;
const EXPR_MAX_STR = 512;

/* Text. */

/* A JS string as UTF-8 bytes, one char per byte.  A NUL or a lone
   surrogate is refused: jansson refuses them, so the server never
   sees them. */
function bytes(s) {
	if (s.indexOf('\0') >= 0)
		throw new Error('not JSON: a string holds a NUL character');
	if (!/[^\x00-\x7f]/.test(s))
		return s;
	let out = '';
	for (let i = 0; i < s.length; i++) {
		let c = s.charCodeAt(i);
		if (c >= 0xd800 && c <= 0xdfff) {
			const d = s.charCodeAt(i + 1);
			if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff))
				throw new Error('not JSON: a string holds a ' +
				    'lone surrogate');
			c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
			i++;
		}
		if (c < 0x80)
			out += String.fromCharCode(c);
		else if (c < 0x800)
			out += String.fromCharCode(0xc0 | c >> 6, 0x80 | c & 63);
		else if (c < 0x10000)
			out += String.fromCharCode(0xe0 | c >> 12,
			    0x80 | c >> 6 & 63, 0x80 | c & 63);
		else
			out += String.fromCharCode(0xf0 | c >> 18,
			    0x80 | c >> 12 & 63, 0x80 | c >> 6 & 63,
			    0x80 | c & 63);
	}
	return out;
}

/* Bytes as a JS string.  C cuts long messages at a byte count, which
   may split a character; the split character is left out here. */
function text(b) {
	if (!/[\x80-\xff]/.test(b))
		return b;
	let out = '';
	for (let i = 0; i < b.length;) {
		const c = b.charCodeAt(i);
		const n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (c < 0x80) {
			out += b[i++];
			continue;
		}
		if (i + n > b.length)
			break;
		let cp = c & (0x7f >> n);
		for (let k = 1; k < n; k++)
			cp = cp << 6 | b.charCodeAt(i + k) & 63;
		out += String.fromCodePoint(cp);
		i += n;
	}
	return out;
}

/* snprintf into a buffer of n + 1 bytes. */
function cut(b, n) {
	return b.length > n ? b.slice(0, n) : b;
}

const isDigit = (c) => c >= '0' && c <= '9';
const isAlpha = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isWord = (c) => isAlpha(c) || isDigit(c) || c === '_';
const isSpace = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/* JSON as jansson reads it. */

function Real(value) {
	this.value = value;
}

const INT64_MAX = '9223372036854775807';

/* A whole number's digits (an optional '-' first) within int64. */
function int64Ok(digits) {
	const neg = digits[0] === '-';
	const d = neg ? digits.slice(1) : digits;
	const max = neg ? '9223372036854775808' : INT64_MAX;

	return d.length < max.length || (d.length === max.length && d <= max);
}

/*
 * Parses JSON text as the daemon does (json_loadb with
 * JSON_REJECT_DUPLICATES): objects are Maps in key order, integers JS
 * numbers, reals Real.  Throws Error("not JSON: line L column C: why").
 */
function parseJSON(src) {
	let i = 0;

	function fail(why) {
		const lines = src.slice(0, i).split('\n');
		throw new Error('not JSON: line ' + lines.length + ' column ' +
		    (lines[lines.length - 1].length + 1) + ': ' + why);
	}
	function ws() {
		while (i < src.length && ' \t\n\r'.indexOf(src[i]) >= 0)
			i++;
	}
	function string() {
		let out = '';

		for (i++; ; i++) {
			const c = src[i];
			if (c === undefined)
				fail('unterminated string');
			if (c === '"')
				break;
			if (c < ' ')
				fail('control character in a string');
			if (c !== '\\') {
				out += c;
				continue;
			}
			const e = src[++i];
			const k = '"\\/bfnrt'.indexOf(e);
			if (k >= 0 && e !== undefined) {
				out += '"\\/\b\f\n\r\t'[k];
				continue;
			}
			if (e !== 'u' || !/^[0-9a-fA-F]{4}$/.test(
			    src.substr(i + 1, 4)))
				fail('invalid escape');
			out += String.fromCharCode(parseInt(src.substr(i + 1, 4),
			    16));
			i += 4;
		}
		i++;
		bytes(out);	/* NUL, lone surrogates: refused */
		return out;
	}
	function value(depth) {
		if (depth > 2048)
			fail('maximum parsing depth reached');
		ws();
		const c = src[i];
		if (c === '{' || c === '[') {
			const obj = c === '{' ? new Map() : [];
			const close = c === '{' ? '}' : ']';
			i++;
			ws();
			if (src[i] === close) {
				i++;
				return obj;
			}
			for (;;) {
				ws();
				if (c === '{') {
					if (src[i] !== '"')
						fail('string or \'}\' expected');
					const key = string();
					ws();
					if (src[i++] !== ':')
						fail('\':\' expected');
					if (obj.has(key))
						fail('duplicate object key');
					obj.set(key, value(depth + 1));
				} else
					obj.push(value(depth + 1));
				ws();
				if (src[i] === close) {
					i++;
					return obj;
				}
				if (src[i++] !== ',')
					fail('\',\' or \'' + close + '\' expected');
			}
		}
		if (c === '"')
			return string();
		for (const [word, v] of [['true', true], ['false', false],
		    ['null', null]])
			if (src.startsWith(word, i)) {
				i += word.length;
				return v;
			}
		const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
		m.lastIndex = i;
		const t = m.exec(src);
		if (t === null)
			fail('invalid token');
		i += t[0].length;
		if (t[1] === undefined && t[2] === undefined) {
			if (!int64Ok(t[0]))
				fail('too big integer');
			return Number(t[0]) + 0;	/* -0 is 0 */
		}
		if (!isFinite(Number(t[0])))
			fail('real number overflow');
		return new Real(Number(t[0]));
	}
	const v = value(0);
	ws();
	if (i < src.length)
		fail('end of file expected');
	return v;
}

/*
 * A value given from JS as the rules hold it: what the server parses
 * from JSON.stringify(v) (undefined and functions left out of objects,
 * null in arrays; NaN and Infinity null; a whole number an integer).
 * Maps and Reals (parseJSON's) pass as they are.
 */
function fromJS(v) {
	if (v === null || v === true || v === false || v instanceof Real)
		return v;
	switch (typeof v) {
	case 'string':
		return bytes(v);
	case 'number':
		if (!isFinite(v))
			return null;
		if (Number.isInteger(v) && Math.abs(v) < 1e21) {
			/* 2^63 itself may be int64's max read from text */
			if (Math.abs(v) > 9223372036854775808)
				throw new Error('not JSON: too big integer');
			return v + 0;
		}
		return new Real(v);
	case 'object':
		break;
	default:
		return undefined;
	}
	if (typeof v.toJSON === 'function')
		return fromJS(v.toJSON());
	if (Array.isArray(v))
		return v.map((x) => {
			const y = fromJS(x);
			return y === undefined ? null : y;
		});
	const m = new Map();
	const entries = v instanceof Map ? Array.from(v) :
	    Object.keys(v).map((k) => [k, v[k]]);
	for (const [k, x] of entries) {
		const y = fromJS(x);
		if (y !== undefined)
			m.set(bytes(String(k)), y);
	}
	return m;
}

function toValue(v) {
	return fromJS(typeof v === 'string' ? parseJSON(v) : v);
}

/* json_object_get: undefined unless obj is an object with key. */
function get(obj, key) {
	return obj instanceof Map ? obj.get(key) : undefined;
}

/* json_string_value(json_object_get(obj, key)), or null. */
function getStr(obj, key) {
	const v = get(obj, key);
	return typeof v === 'string' ? v : null;
}

const isNum = (v) => typeof v === 'number' || v instanceof Real;
const numOf = (v) => typeof v === 'number' ? v : v.value;

/* Expressions (expr.c): lexer, parser, evaluator. */

class ExprSyntaxError extends Error {}

const FUNCTIONS = new Map([['selected', 2], ['count-selected', 1],
    ['string-length', 1], ['regex', 2], ['today', 0], ['count', 1],
    ['count-if', 2], ['coalesce', 2], ['number', 1], ['not', 1], ['if', 3],
    ['true', 0], ['false', 0]]);
const KEYWORDS = new Map([['and', 'and'], ['or', 'or'], ['div', 'div'],
    ['mod', 'mod']]);
/* Binary operators by precedence, lowest first (token types). */
const BINOPS = [['or'], ['and'], ['=', '!=', '<', '<=', '>', '>='],
    ['+', '-'], ['*', 'div', 'mod']];

/* Offsets are byte offsets, as C's: src is bytes. */
function perr(off, msg) {
	throw new ExprSyntaxError('offset ' + off + ': ' + msg);
}

/* Length of a number at s[i] (Digits ('.' Digits?)? | '.' Digits), or 0. */
function numSpan(s, i) {
	const m = /\d+(?:\.\d*)?|\.\d+/y;

	m.lastIndex = i;
	const t = m.exec(s);
	return t ? t[0].length : 0;
}

/* The next token into ps.tok: {type, off, len, text}. */
function lex(ps) {
	const s = ps.src;
	let i = ps.pos, n;

	while (isSpace(s[i]))
		i++;
	const t = { type: 'BAD', off: i, len: 1, text: '' };
	const c = s[i];
	if (c === undefined) {
		t.type = 'END';
		t.len = 0;
	} else if ('(),=+-*'.indexOf(c) >= 0) {
		t.type = c;
	} else if (c === '!') {
		if (s[i + 1] === '=') {
			t.type = '!=';
			t.len = 2;
		}
	} else if (c === '<' || c === '>') {
		t.type = c;
		if (s[i + 1] === '=') {
			t.type += '=';
			t.len = 2;
		}
	} else if (c === '\'' || c === '"') {
		/* No escapes, as in XPath: the other quote holds a quote. */
		if ((n = s.indexOf(c, i + 1)) < 0)
			perr(i, 'unterminated string');
		t.type = 'STR';
		t.text = s.slice(i + 1, n);
		t.len = n + 1 - i;
	} else if (c === '$') {
		if (s[i + 1] === '{') {
			n = i + 2;
			if (!isAlpha(s[n]) && s[n] !== '_')
				perr(n, 'expected a field name after \'${\'');
			while (isWord(s[n]))
				n++;
			if (s[n] !== '}')
				perr(n, 'expected \'}\'');
			t.type = 'REF';
			t.text = s.slice(i + 2, n);
			t.len = n + 1 - i;
		}
	} else if ((n = numSpan(s, i)) > 0) {
		t.type = 'NUM';
		t.len = n;
	} else if (c === '.') {
		t.type = 'DOT';
	} else if (isAlpha(c) || c === '_') {
		/* A '-' joins words only between letters: count-if. */
		for (n = i; isWord(s[n]) || (s[n] === '-' && isAlpha(s[n + 1]) &&
		    n > i); n++)
			;
		t.text = s.slice(i, n);
		t.len = n - i;
		t.type = KEYWORDS.get(t.text) || 'WORD';
	}
	ps.pos = i + t.len;
	ps.tok = t;
}

/* Counts one level of nesting (parentheses, calls, unary minus). */
function pEnter(ps) {
	if (++ps.depth > EXPR_MAX_DEPTH)
		perr(ps.tok.off, 'nested deeper than ' + EXPR_MAX_DEPTH +
		    ' levels');
}

function argsMessage(fn, n) {
	return fn + '() takes ' + n + ' argument' + (n === 1 ? '' : 's');
}

/* At the '(' after a function name; name is the WORD token. */
function pCall(ps, name) {
	const nargs = FUNCTIONS.get(name.text);
	const argoff = [];

	if (nargs === undefined)
		perr(name.off, 'unknown function \'' + name.text.slice(0, 32) +
		    '\'');
	pEnter(ps);
	const n = { t: 'call', fn: name.text, kids: [], re: null };
	lex(ps);			/* past '(' */
	if (ps.tok.type !== ')') {
		for (;;) {
			if (n.kids.length === 3)
				perr(name.off, argsMessage(name.text, nargs));
			argoff.push(ps.tok.off);
			n.kids.push(pLevel(ps, 0));
			if (ps.tok.type !== ',')
				break;
			lex(ps);
		}
		if (ps.tok.type !== ')')
			perr(ps.tok.off, 'expected \',\' or \')\'');
	}
	lex(ps);			/* past ')' */
	ps.depth--;
	if (n.kids.length !== nargs)
		perr(name.off, argsMessage(name.text, nargs));
	/* A literal pattern is compiled once, now, as C does. */
	if (n.fn === 'regex' && n.kids[1].t === 'str') {
		n.re = reCompile(n.kids[1].str, false);
		if (typeof n.re === 'string')
			perr(argoff[1], 'regex() pattern: ' + n.re);
	}
	return n;
}

function pPrimary(ps) {
	const t = ps.tok;
	let n;

	switch (t.type) {
	case 'NUM':
		lex(ps);
		return { t: 'num', num: Number(ps.src.substr(t.off, t.len)) };
	case 'STR':
	case 'REF':
		lex(ps);
		return { t: t.type === 'STR' ? 'str' : 'ref', str: t.text };
	case 'DOT':
		lex(ps);
		return { t: 'dot' };
	case '(':
		pEnter(ps);
		lex(ps);
		n = pLevel(ps, 0);
		if (ps.tok.type !== ')')
			perr(ps.tok.off, 'expected \')\'');
		lex(ps);
		ps.depth--;
		return n;
	case 'WORD':
		lex(ps);
		if (ps.tok.type !== '(') {
			if (FUNCTIONS.has(t.text))
				perr(ps.tok.off, 'expected \'(\'');
			perr(t.off, 'expected a value, not \'' +
			    t.text.slice(0, 32) + '\' (strings need quotes)');
		}
		return pCall(ps, t);
	default:
		return perr(t.off, 'expected a value');
	}
}

function pUnary(ps) {
	if (ps.tok.type !== '-')
		return pPrimary(ps);
	pEnter(ps);
	lex(ps);
	const a = pUnary(ps);
	ps.depth--;
	return { t: 'neg', kids: [a] };
}

/* One precedence level: next { op next }, folded to the left, so only
   parentheses, calls and unary minus nest. */
function pLevel(ps, level) {
	if (level === BINOPS.length)
		return pUnary(ps);
	let l = pLevel(ps, level + 1);
	while (BINOPS[level].indexOf(ps.tok.type) >= 0) {
		const op = ps.tok.type;
		lex(ps);
		l = { t: op, kids: [l, pLevel(ps, level + 1)] };
	}
	return l;
}

/* Parses src (bytes) into a tree; throws ExprSyntaxError.  C keeps only
   the first error, so throwing at it gives the same message. */
function exprParse(src) {
	if (src.length > EXPR_MAX_SRC)
		perr(EXPR_MAX_SRC, 'expression longer than ' + EXPR_MAX_SRC +
		    ' bytes');
	const ps = { src, pos: 0, tok: null, depth: 0 };
	lex(ps);
	const root = pLevel(ps, 0);
	if (ps.tok.type !== 'END')
		perr(ps.tok.off, ps.tok.type === ')' ? 'unbalanced \')\'' :
		    'expected an operator or the end');
	return root;
}

/* The ${name}s of an expression, in C's order (expr_names). */
function exprNames(n, out) {
	if (n.t === 'ref')
		out.push(n.str);
	for (const k of n.kids || [])
		exprNames(k, out);
	return out;
}

/*
 * Values: {k: 'E'} empty, {k: 'S', s} string (bytes), {k: 'N', n}
 * number, {k: 'B', b} boolean, {k: 'R', items, count} repeat (only as
 * count's or count-if's argument).  An evaluation error throws
 * EVAL_ERROR: expr_eval_bool's -1.
 */
const EVAL_ERROR = { evalError: true };
const EMPTY = { k: 'E' };
const vNumber = (n) => ({ k: 'N', n });
const vString = (s) => ({ k: 'S', s });
const vBoolean = (b) => ({ k: 'B', b: !!b });

/* "Parses as a number": blanks, an optional '-', a plain decimal, blanks;
   no exponent, hex, inf or '+', which Number() alone would take. */
function strNum(s) {
	return /^[ \t\n\r]*-?(?:\d+(?:\.\d*)?|\.\d+)[ \t\n\r]*$/.test(s) ?
	    Number(s) : NaN;
}

function vNum(v) {
	switch (v.k) {
	case 'N': return v.n;
	case 'B': return v.b ? 1 : 0;
	case 'S': return strNum(v.s);
	default: return NaN;
	}
}

function vBool(v) {
	switch (v.k) {
	case 'B': return v.b;
	case 'N': return v.n !== 0 && !isNaN(v.n);
	case 'S': return v.s !== '';
	default: return false;
	}
}

/*
 * printf("%.*g", prec, x) as glibc writes it: the exact decimal value
 * rounded to prec digits, half to even.  JS's toFixed and toExponential
 * round an exact half up, so the digits are rounded here, from the exact
 * expansion toExponential(100) gives (a double's digits past the 18th are
 * never all zero up to the 101st unless the value ends there).
 */
function formatG(x, prec) {
	const [m, e] = Math.abs(x).toExponential(100).split('e');
	const all = m.replace('.', '');
	let digits = all.slice(0, prec), exp = Number(e);
	const next = all[prec], rest = all.slice(prec + 1);

	if (next > '5' || (next === '5' && (/[1-9]/.test(rest) ||
	    Number(digits[prec - 1]) % 2 === 1))) {
		/* round up: add 1 to the digits, carrying */
		let i = prec - 1;
		while (i >= 0 && digits[i] === '9')
			i--;
		if (i < 0) {
			digits = '1' + '0'.repeat(prec - 1);
			exp++;
		} else
			digits = digits.slice(0, i) + String(Number(digits[i]) + 1) +
			    '0'.repeat(prec - 1 - i);
	}
	const trim = (int, frac) => {
		frac = frac.replace(/0+$/, '');
		return (x < 0 ? '-' : '') + int + (frac ? '.' + frac : '');
	};
	if (exp < -4 || exp >= prec)
		return trim(digits[0], digits.slice(1)) + 'e' +
		    (exp < 0 ? '-' : '+') + (Math.abs(exp) < 10 ? '0' : '') +
		    Math.abs(exp);
	if (exp < 0)
		return trim('0', '0'.repeat(-exp - 1) + digits);
	return trim(digits.slice(0, exp + 1), digits.slice(exp + 1));
}

/* A number as text, as C's v_text: integers below 1e15 in full, others
   in the fewest %g digits that read back the same. */
function numText(x) {
	if (isNaN(x))
		return 'NaN';
	if (!isFinite(x))
		return x > 0 ? 'Infinity' : '-Infinity';
	if (x === 0)
		return '0';		/* and -0 */
	if (Number.isInteger(x) && Math.abs(x) < 1e15)
		return String(x);
	let s;
	for (let prec = 1; prec <= 17; prec++)
		if (Number(s = formatG(x, prec)) === x)
			break;
	return s;
}

function vText(v) {
	switch (v.k) {
	case 'S': return v.s;
	case 'B': return v.b ? 'true' : 'false';
	case 'N': return numText(v.n);
	default: return '';
	}
}

/*
 * Either side boolean: both as booleans.  Either a number: both as
 * numbers, so a non-numeric or empty string is NaN and every comparison,
 * != included, is false.  Otherwise bytewise, as strcmp.
 */
function compare(op, a, b) {
	let c;

	if ((a.k === 'N' && isNaN(a.n)) || (b.k === 'N' && isNaN(b.n)))
		return false;
	if (a.k === 'B' || b.k === 'B') {
		c = (vBool(a) ? 1 : 0) - (vBool(b) ? 1 : 0);
	} else if (a.k === 'N' || b.k === 'N') {
		const x = vNum(a), y = vNum(b);
		if (isNaN(x) || isNaN(y))
			return false;
		c = x < y ? -1 : x > y ? 1 : 0;
	} else {
		const x = a.k === 'S' ? a.s : '', y = b.k === 'S' ? b.s : '';
		c = x < y ? -1 : x > y ? 1 : 0;
	}
	switch (op) {
	case '=': return c === 0;
	case '!=': return c !== 0;
	case '<': return c < 0;
	case '<=': return c <= 0;
	case '>': return c > 0;
	default: return c >= 0;
	}
}

/* A space-separated list (a select_multiple answer); any string is one. */
const words = (s) => s.split(/[ \t\n\r]+/).filter((w) => w !== '');

function evalScalar(n, env) {
	const v = evalNode(n, env);
	if (v.k === 'R')
		throw EVAL_ERROR;
	return v;
}

function evalCall(n, env) {
	const [k0, k1, k2] = n.kids;
	let a, re;

	switch (n.fn) {
	case 'selected':
		a = evalScalar(k0, env);
		return vBoolean(words(vText(a)).indexOf(
		    vText(evalScalar(k1, env))) >= 0);
	case 'count-selected':
		return vNumber(words(vText(evalScalar(k0, env))).length);
	case 'string-length':
		/* characters: bytes that do not continue a sequence */
		return vNumber(vText(evalScalar(k0, env)).replace(
		    /[\x80-\xbf]/g, '').length);
	case 'regex':
		a = evalScalar(k0, env);
		if ((re = n.re) === null) {
			re = reCompile(vText(evalScalar(k1, env)), true);
			if (typeof re === 'string')
				throw EVAL_ERROR;
		}
		return vBoolean(reMatch(re, vText(a)));
	case 'today':
		if (env.today === null)
			throw EVAL_ERROR;
		return vString(env.today);
	case 'count':
		a = evalNode(k0, env);
		if (a.k === 'E')
			return vNumber(0);
		if (a.k === 'R')
			return vNumber(a.count);
		throw EVAL_ERROR;
	case 'count-if': {
		let count = 0;
		a = evalNode(k0, env);
		if (a.k === 'E')
			return vNumber(0);
		if (a.k !== 'R')
			throw EVAL_ERROR;
		for (let i = 0; i < a.count; i++)
			if (vBool(evalScalar(k1, Object.assign({}, env,
			    { item: a.items[i] }))))
				count++;
		return vNumber(count);
	}
	case 'coalesce':
		/* Lazy: b is read only when a is empty. */
		a = evalScalar(k0, env);
		return a.k === 'E' || (a.k === 'S' && a.s === '') ?
		    evalScalar(k1, env) : a;
	case 'number':
		return vNumber(vNum(evalScalar(k0, env)));
	case 'not':
		return vBoolean(!vBool(evalScalar(k0, env)));
	case 'if':
		return evalScalar(vBool(evalScalar(k0, env)) ? k1 : k2, env);
	default:
		return vBoolean(n.fn === 'true');
	}
}

function evalNode(n, env) {
	switch (n.t) {
	case 'num':
		return vNumber(n.num);
	case 'str':
		return vString(n.str);
	case 'dot':
		return env.resolve(env.item, null);
	case 'ref':
		return env.resolve(env.item, n.str);
	case 'call':
		return evalCall(n, env);
	case 'neg':
		return vNumber(-vNum(evalScalar(n.kids[0], env)));
	case 'or':
	case 'and': {
		/* Short-circuit: the right side is not read when decided. */
		const a = evalScalar(n.kids[0], env);
		if (vBool(a) === (n.t === 'or'))
			return vBoolean(n.t === 'or');
		return vBoolean(vBool(evalScalar(n.kids[1], env)));
	}
	}
	const a = evalScalar(n.kids[0], env), b = evalScalar(n.kids[1], env);
	const x = vNum(a), y = vNum(b);
	switch (n.t) {
	case '+': return vNumber(x + y);
	case '-': return vNumber(x - y);
	case '*': return vNumber(x * y);
	case 'div': return vNumber(x / y);
	case 'mod': return vNumber(x % y);	/* fmod: sign of x */
	default: return vBoolean(compare(n.t, a, b));
	}
}

/* 1 true, 0 false, -1 an evaluation error. */
function evalBool(e, env) {
	try {
		return vBool(evalScalar(e, env)) ? 1 : 0;
	} catch (x) {
		if (x === EVAL_ERROR)
			return -1;
		throw x;
	}
}

/*
 * regex(): POSIX extended expressions as glibc reads them in the C
 * locale, matched against the whole value (C compiles "^(" p ")$").
 *
 * Acceptance is C's in two steps: reCheck is expr.c's re_check (its
 * limits and messages), then reAlt, reBranch, reExpr, reDup and
 * reBracket follow glibc's regcomp parser (POSIX_EXTENDED syntax with
 * GNU operators: \w \W \s \S \b \B \< \> \` \', intervals {m}, {m,},
 * {m,n} and {,n}), refusing what it refuses ("not a valid extended
 * regular expression").  Matching is a Thompson NFA over the bytes, not
 * a JS RegExp: whether a whole value matches does not depend on
 * leftmost-longest versus first-match, and the NFA takes time linear in
 * the text as glibc does, where a backtracking RegExp can take
 * exponential time on patterns C accepts, such as (a*)*.  Repetitions
 * are copied out as glibc copies them; a pattern needing more than
 * RE_MAX_STATES states is refused (C's re_check bounds that size except
 * for "{,n}", which glibc then takes a very long time to compile).
 */
const RE_MAX_NEST = 16;
const RE_MAX_DUP = 255;
const RE_MAX_SIZE = 4096;
const RE_MAX_QNEST = 3;
const RE_MAX_QQ = 6;
const RE_DUP_MAX = 0x7fff;		/* glibc's */
const RE_MAX_STATES = 1 << 18;
const RE_BAD = { reBad: true };

/* expr.c re_check: null when the pattern is fit, else why not. */
function reCheck(p) {
	const size = [0], qnest = [0];
	let last = 0, i = 0, d = 0, lastq = -1, qq = 0;

	while (i < p.length) {
		const c = p[i];
		/* lastq: quantifier nesting of the last item, -1 if none. */
		if (c === '*' || c === '+' || c === '?' ||
		    (c === '{' && (isDigit(p[i + 1]) || p[i + 1] === ','))) {
			if (lastq < 0)
				return 'quantifier without an item to repeat';
			if ((lastq > 0 || (i > 0 && p[i - 1] === ')')) &&
			    ++qq > RE_MAX_QQ)
				return 'too many quantifiers on groups or ' +
				    'quantifiers';
			if (++lastq > RE_MAX_QNEST)
				return 'quantifiers nested too deeply';
			if (lastq > qnest[d])
				qnest[d] = lastq;
		} else if (c !== ')')
			lastq = 0;

		switch (c) {
		case '\\':
			if (i + 1 >= p.length)
				return 'pattern ends in \'\\\'';
			if (isDigit(p[i + 1]))
				return 'back-references are not supported';
			i += 2;
			last = 1;
			size[d] += 1;
			break;
		case '[': {
			/* A bracket expression is one position. */
			let k = i + 1;
			if (p[k] === '^')
				k++;
			if (p[k] === ']')
				k++;
			while (k < p.length && p[k] !== ']') {
				const cc = p[k + 1];
				if (p[k] === '[' && (cc === ':' || cc === '.' ||
				    cc === '=')) {
					for (k += 2; k < p.length &&
					    !(p[k] === cc && p[k + 1] === ']'); k++)
						;
					if (k >= p.length)
						return 'unterminated \'[\'';
					k += 2;
				} else
					k++;
			}
			if (k >= p.length)
				return 'unterminated \'[\'';
			i = k + 1;
			last = 1;
			size[d] += 1;
			break;
		}
		case '(':
			if (d === RE_MAX_NEST)
				return 'pattern nested too deeply';
			size[++d] = 0;
			qnest[d] = 0;
			last = 0;
			lastq = -1;
			i++;
			break;
		case ')':
			if (d === 0)
				return 'unbalanced \')\'';
			lastq = qnest[d];
			last = size[d--];
			if (last === 0)
				last = 1;
			if (lastq > qnest[d])
				qnest[d] = lastq;
			size[d] += last;
			i++;
			break;
		case '{': {
			if (!isDigit(p[i + 1]) && p[i + 1] !== ',') {
				/* an ordinary character; glibc reads "{,n}" as
				   "{0,n}", an interval, as C counts it */
				last = 1;
				size[d] += 1;
				i++;
				break;
			}
			let m = 0, hi, k;
			for (k = i + 1; isDigit(p[k]); k++)
				if ((m = m * 10 + Number(p[k])) > RE_MAX_DUP)
					return 'repetition count over 255';
			hi = m;
			if (p[k] === ',') {
				k++;
				if (isDigit(p[k])) {
					for (hi = 0; isDigit(p[k]); k++)
						if ((hi = hi * 10 + Number(p[k])) >
						    RE_MAX_DUP)
							return 'repetition ' +
							    'count over 255';
				} else
					hi = m + 1;	/* m copies and a star */
			}
			if (hi > 1)
				size[d] += last * (hi - 1);
			last *= hi;
			i = k;
			break;
		}
		case '+':
			size[d] += last;	/* glibc: a+ is a a* */
			last *= 2;
			i++;
			break;
		case '|':
		case '^':
		case '$':
			last = 0;
			lastq = -1;
			i++;
			break;
		case '*':
		case '?':
			i++;
			break;
		default:
			last = 1;
			size[d] += 1;
			i++;
			break;
		}
		if (size[d] > RE_MAX_SIZE || last > RE_MAX_SIZE)
			return 'pattern too large';
	}
	return null;
}

/* Byte sets: Uint8Array(256). */
function byteSet(test) {
	const set = new Uint8Array(256);
	for (let c = 0; c < 256; c++)
		set[c] = test(String.fromCharCode(c)) ? 1 : 0;
	return set;
}

/* The C locale's classes: ASCII only. */
const RE_CLASSES = new Map([
	['alpha', byteSet(isAlpha)],
	['digit', byteSet(isDigit)],
	['alnum', byteSet((c) => isAlpha(c) || isDigit(c))],
	['upper', byteSet((c) => c >= 'A' && c <= 'Z')],
	['lower', byteSet((c) => c >= 'a' && c <= 'z')],
	['space', byteSet((c) => ' \t\n\v\f\r'.indexOf(c) >= 0)],
	['blank', byteSet((c) => c === ' ' || c === '\t')],
	['punct', byteSet((c) => c > ' ' && c < '\x7f' && !isWord(c) ||
	    c === '_')],
	['print', byteSet((c) => c >= ' ' && c < '\x7f')],
	['graph', byteSet((c) => c > ' ' && c < '\x7f')],
	['cntrl', byteSet((c) => c < ' ' || c === '\x7f')],
	['xdigit', byteSet((c) => isDigit(c) || /[a-fA-F]/.test(c))]
]);
const RE_ESCAPES = new Map([	/* \w \W \s \S */
	['w', byteSet(isWord)], ['W', byteSet((c) => !isWord(c))],
	['s', RE_CLASSES.get('space')],
	['S', byteSet((c) => !RE_CLASSES.get('space')[c.charCodeAt(0)])]
]);
const RE_ANY = byteSet((c) => c !== '\0');
const RE_EMPTY = { t: 'cat', kids: [] };
const RE_DUPS = new Set(['*', '+', '?', '{']);

/* One token as glibc's peek_token reads it: {t, c, len}. */
function reToken(p, i) {
	if (i >= p.length)
		return { t: 'end', c: '', len: 0 };
	let c = p[i];
	if (c !== '\\') {
		if (c === '^' || c === '$')
			return { t: 'assert', c, len: 1 };
		return { t: '|*+?{}()[.'.indexOf(c) >= 0 ? c : 'char', c, len: 1 };
	}
	if (i + 1 >= p.length)
		return { t: 'bad', c, len: 1 };
	c = p[i + 1];
	if ('<>bB`\''.indexOf(c) >= 0)
		return { t: 'assert', c, len: 2 };
	if (RE_ESCAPES.has(c))
		return { t: 'class', c, len: 2 };
	if (c >= '1' && c <= '9')
		return { t: 'backref', c, len: 2 };
	return { t: 'char', c, len: 2 };	/* \. \{ \d: the character */
}

function reNext(st) {
	st.i += st.tok.len;
	st.tok = reToken(st.p, st.i);
}

/* glibc parse_reg_exp: branches separated by '|', any of them empty. */
function reAlt(st) {
	const alts = [reBranch(st)];

	while (st.tok.t === '|') {
		reNext(st);
		const t = st.tok.t;
		alts.push(t === '|' || t === 'end' || t === ')' ? RE_EMPTY :
		    reBranch(st));
	}
	return alts.length === 1 ? alts[0] : { t: 'alt', kids: alts };
}

function reBranch(st) {
	const kids = [];

	do
		kids.push(reExpr(st));
	while (st.tok.t !== '|' && st.tok.t !== 'end' && st.tok.t !== ')');
	return { t: 'cat', kids };
}

/* glibc parse_expression: an item and its repetitions. */
function reExpr(st) {
	const tok = st.tok;
	let node;

	switch (tok.t) {
	case 'char':
	case '}':
		node = { t: 'set', set: byteSet((c) => c === tok.c) };
		reNext(st);
		break;
	case '.':
		node = { t: 'set', set: RE_ANY };
		reNext(st);
		break;
	case 'class':
		node = { t: 'set', set: RE_ESCAPES.get(tok.c) };
		reNext(st);
		break;
	case '[':
		node = reBracket(st);
		break;
	case '(':
		reNext(st);
		node = st.tok.t === ')' ? RE_EMPTY : reAlt(st);
		if (st.tok.t !== ')')
			throw RE_BAD;
		reNext(st);
		break;
	case 'assert':
		/* glibc: nothing may repeat an anchor ("\b*" is refused) */
		reNext(st);
		return { t: 'assert', c: tok.c };
	case '|':
	case 'end':
		return RE_EMPTY;
	default:	/* a repetition of nothing, a lone '\', \1 */
		throw RE_BAD;
	}
	while (RE_DUPS.has(st.tok.t))
		node = reDup(st, node);
	return node;
}

/*
 * glibc fetch_number: reads tokens up to '}' or a ','; the number, -1
 * when there were no digits, -2 when anything else came (or the end).
 */
function reNumber(st) {
	let num = -1;

	for (;;) {
		reNext(st);
		const t = st.tok;
		if (t.t === 'end')
			return -2;
		if (t.t === '}' || t.c === ',')	/* "\," counts as ',' too */
			return num;
		num = t.t !== 'char' || !isDigit(t.c) || num === -2 ? -2 :
		    num === -1 ? Number(t.c) :
		    Math.min(RE_DUP_MAX + 1, num * 10 + Number(t.c));
	}
}

/* glibc parse_dup_op, at * + ? or '{'. */
function reDup(st, node) {
	let min = 0, max = -1;

	if (st.tok.t === '+')
		min = 1;
	else if (st.tok.t === '?')
		max = 1;
	else if (st.tok.t === '{') {
		min = reNumber(st);
		const comma = st.tok.t === 'char' && st.tok.c === ',';
		if (min === -1 && !comma)
			throw RE_BAD;			/* {} */
		if (min === -1)
			min = 0;			/* {,n} is {0,n} */
		if (min !== -2)
			max = st.tok.t === '}' ? min : comma ? reNumber(st) : -2;
		if (min === -2 || max === -2 || (max !== -1 && min > max) ||
		    st.tok.t !== '}' || (max === -1 ? min : max) > RE_DUP_MAX)
			throw RE_BAD;
	}
	reNext(st);
	return { t: 'rep', kid: node, min, max };
}

/* glibc parse_bracket_exp, at '['; leaves st after the ']'. */
function reBracket(st) {
	const p = st.p, set = new Uint8Array(256);
	let i = st.i + 1;

	/* peek_token_bracket */
	function peek(j) {
		if (j >= p.length)
			return { t: 'end', c: '', len: 0 };
		const c = p[j];
		if (c === '[' && j + 1 < p.length && ':.='.indexOf(p[j + 1]) >= 0)
			return { t: '[' + p[j + 1], c: p[j + 1], len: 2 };
		return { t: c === '-' || c === ']' || c === '^' ? c : 'char', c,
		    len: 1 };
	}
	/* parse_bracket_element: [element, position after it] */
	function element(j, t, acceptHyphen) {
		j += t.len;
		if (t.t[0] === '[') {
			/* [:class:], [.c.], [=c=]: one character in C */
			let name = '';
			for (;; j++) {
				if (j + 1 >= p.length || name.length >= 32)
					throw RE_BAD;
				if (p[j] === t.c && p[j + 1] === ']')
					break;
				name += p[j];
			}
			j += 2;
			if (t.t === '[:') {
				if (!RE_CLASSES.has(name))
					throw RE_BAD;
				return [{ t: 'class', set: RE_CLASSES.get(name) }, j];
			}
			if (name.length !== 1)
				throw RE_BAD;
			return [{ t: t.t === '[=' ? 'equiv' : 'char',
			    ch: name.charCodeAt(0) }, j];
		}
		/* a '-' only first, last or as a range's end */
		if (t.t === '-' && !acceptHyphen && peek(j).t !== ']')
			throw RE_BAD;
		return [{ t: 'char', ch: t.c.charCodeAt(0) }, j];
	}

	let tok = peek(i), first = true, nonMatch = false;
	if (tok.t === '^') {
		nonMatch = true;
		i += tok.len;
		tok = peek(i);
	}
	if (tok.t === ']')	/* the first ']' is itself */
		tok = { t: 'char', c: ']', len: 1 };
	for (;;) {
		let start, end, tok2, isRange = false;
		if (tok.t === 'end')
			throw RE_BAD;
		[start, i] = element(i, tok, first);
		first = false;
		tok = peek(i);
		if (start.t !== 'class' && start.t !== 'equiv' &&
		    tok.t === '-') {
			tok2 = peek(i + 1);
			if (tok2.t === ']')	/* a last '-' is itself */
				tok = { t: 'char', c: '-', len: 1 };
			else {
				i += 1;
				isRange = true;
			}
		}
		if (isRange) {
			if (tok2.t === 'end')
				throw RE_BAD;
			[end, i] = element(i, tok2, true);
			tok = peek(i);
			if (end.t === 'class' || end.t === 'equiv' ||
			    start.ch > end.ch)
				throw RE_BAD;
			for (let c = start.ch; c <= end.ch; c++)
				set[c] = 1;
		} else if (start.t === 'class') {
			start.set.forEach((x, c) => { set[c] |= x; });
		} else
			set[start.ch] = 1;
		if (tok.t === 'end')
			throw RE_BAD;
		if (tok.t === ']')
			break;
	}
	if (nonMatch)
		set.forEach((x, c) => { set[c] = x ? 0 : 1; });
	st.i = i;
	st.tok = { len: 1 };		/* the ']' */
	reNext(st);
	return { t: 'set', set };
}

/*
 * The NFA: parallel arrays op (a byte set, SPLIT, ASSERT or MATCH), its
 * set or assertion, and next states a (and b for SPLIT).  Repetitions
 * are copies, as glibc makes them: X{2,4} is X X (X (X)?)?.
 */
const RE_SET = 0, RE_SPLIT = 1, RE_ASSERT = 2, RE_MATCH = 3;

function reBuild(tree) {
	const prog = { op: [], arg: [], a: [], b: [], start: 0 };

	function state(op, arg, a, b) {
		if (prog.op.length === RE_MAX_STATES)
			throw RE_BAD;
		prog.op.push(op);
		prog.arg.push(arg);
		prog.a.push(a);
		prog.b.push(b);
		return prog.op.length - 1;
	}
	/* The states matching n then whatever next matches. */
	function comp(n, next) {
		let s = next;

		switch (n.t) {
		case 'set':
			return state(RE_SET, n.set, next, -1);
		case 'assert':
			return state(RE_ASSERT, n.c, next, -1);
		case 'cat':
			for (let i = n.kids.length - 1; i >= 0; i--)
				s = comp(n.kids[i], s);
			return s;
		case 'alt':
			s = comp(n.kids[n.kids.length - 1], next);
			for (let i = n.kids.length - 2; i >= 0; i--)
				s = state(RE_SPLIT, null, comp(n.kids[i], next), s);
			return s;
		default:	/* rep */
			if (n.max < 0) {
				s = state(RE_SPLIT, null, -1, next);
				prog.a[s] = comp(n.kid, s);
			} else
				for (let i = n.min; i < n.max; i++)
					s = state(RE_SPLIT, null, comp(n.kid, s),
					    next);
			for (let i = 0; i < n.min; i++)
				s = comp(n.kid, s);
			return s;
		}
	}
	prog.start = comp(tree, state(RE_MATCH, null, -1, -1));
	return prog;
}

/*
 * Whether assertion c holds at position pos of s (bytes).  glibc's
 * matcher gives a newline "newline context" even without REG_NEWLINE, so
 * a ^ or $ inside the pattern also holds after or before a newline
 * (regex('a\nb', 'a$.^b') is true); the whole-value anchors C adds do
 * not, nor do \` and \'.
 */
function reHolds(c, s, pos) {
	const w = (j) => j >= 0 && j < s.length && isWord(s[j]);

	switch (c) {
	case '^':
		return pos === 0 || s[pos - 1] === '\n';
	case '$':
		return pos === s.length || s[pos] === '\n';
	case '`':
		return pos === 0;
	case '\'':
		return pos === s.length;
	case '<':
		return !w(pos - 1) && w(pos);
	case '>':
		return w(pos - 1) && !w(pos);
	case 'b':
		return w(pos - 1) !== w(pos);
	default:	/* B */
		return w(pos - 1) === w(pos);
	}
}

/* Whether the whole of s matches: the states alive after each byte. */
function reMatch(prog, s) {
	const mark = new Int32Array(prog.op.length).fill(-1);
	let cur = [], gen = 0;

	function add(list, st, pos) {
		const stack = [st];
		while (stack.length > 0) {
			const x = stack.pop();
			if (mark[x] === gen)
				continue;
			mark[x] = gen;
			if (prog.op[x] === RE_SPLIT)
				stack.push(prog.b[x], prog.a[x]);
			else if (prog.op[x] === RE_ASSERT) {
				if (reHolds(prog.arg[x], s, pos))
					stack.push(prog.a[x]);
			} else
				list.push(x);
		}
	}
	add(cur, prog.start, 0);
	for (let pos = 0; pos < s.length && cur.length > 0; pos++) {
		const c = s.charCodeAt(pos), next = [];
		gen++;
		for (const x of cur)
			if (prog.op[x] === RE_SET && prog.arg[x][c])
				add(next, prog.a[x], pos + 1);
		cur = next;
	}
	return cur.some((x) => prog.op[x] === RE_MATCH);
}

/*
 * Compiles a pattern (bytes) for a whole-value match: the program, or
 * why not (a string).  A pattern known only when evaluated must fit, as
 * "^(...)$", in EXPR_MAX_STR bytes.
 */
function reCompile(pat, dynamic) {
	if (dynamic && pat.length + 5 > EXPR_MAX_STR + 1)
		return 'pattern too long';
	const why = reCheck(pat);
	if (why !== null)
		return why;
	try {
		const st = { p: pat, i: 0, tok: reToken(pat, 0) };
		const tree = reAlt(st);
		if (st.tok.t !== 'end')
			throw RE_BAD;
		return reBuild(tree);
	} catch (x) {
		if (x === RE_BAD)
			return 'not a valid extended regular expression';
		throw x;
	}
}

/* Definitions (form.c form_parse). */

const TOP_KEYS = ['form_id', 'version', 'title', 'default_language',
    'survey', 'choices', 'settings', 'counts'];
const ROW_COLUMNS = ['type', 'name', 'label', 'hint', 'required',
    'required_message', 'constraint', 'constraint_message', 'relevant',
    'appearance'];
const PLAIN_TYPES = new Map([['text', 'text'], ['integer', 'integer'],
    ['decimal', 'decimal'], ['date', 'date'], ['geopoint', 'geopoint'],
    ['begin_repeat', 'repeat'], ['begin repeat', 'repeat']]);

function defFail(msg) {
	throw new Error(text(msg));
}

function nameOk(s) {
	return s.length > 0 && s.length < FORM_NAME_MAX &&
	    /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s);
}

/* A translated column: "col::LANG" (the key cut as C's 96-byte buffer
   cuts it) in the default language, else "col", else null. */
function defText(row, col, lang) {
	const v = getStr(row, cut(col + '::' + lang, 95));
	return v !== null ? v : getStr(row, col);
}

function defExpr(row, name, col, r) {
	const v = r.get(col);

	if (v === undefined || v === '')
		return null;
	if (typeof v !== 'string')
		defFail('survey row ' + row + ' (' + name + '): ' + col +
		    ' must be text');
	try {
		return exprParse(v);
	} catch (x) {
		if (!(x instanceof ExprSyntaxError))
			throw x;
		return defFail('survey row ' + row + ' (' + name + '): ' + col +
		    ': ' + cut(x.message, 159));
	}
}

function defLists(f, choices) {
	if (choices === undefined)
		return;
	if (!Array.isArray(choices))
		defFail('choices: must be an array');
	choices.forEach((c, i) => {
		const list = getStr(c, 'list_name'), name = getStr(c, 'name');

		if (list === null || name === null || !nameOk(list) ||
		    !nameOk(name))
			defFail('choices row ' + (i + 1) + ': needs list_name ' +
			    'and name, letters, digits, _ - . only');
		let l = f._lists.find((x) => x.name === list);
		if (l === undefined) {
			if (f._lists.length === FORM_MAX_LISTS)
				defFail('choices: more than ' + FORM_MAX_LISTS +
				    ' lists');
			f._lists.push(l = { name: list, choices: [] });
		}
		if (l.choices.indexOf(name) >= 0)
			defFail('choices row ' + (i + 1) + ': ' + name +
			    ' repeats a choice of ' + list +
			    ' (allow_choice_duplicates in settings allows it)');
		if (l.choices.length === FORM_MAX_CHOICES)
			defFail('choices: list ' + list + ' has more than ' +
			    FORM_MAX_CHOICES + ' choices');
		l.choices.push(name);
	});
}

function defType(f, row, fd, type) {
	let list;

	if (PLAIN_TYPES.has(type)) {
		fd.type = PLAIN_TYPES.get(type);
		return;
	}
	if (type.startsWith('select_one ')) {
		fd.type = 'select_one';
		list = type.slice(11);
	} else if (type.startsWith('select_multiple ')) {
		fd.type = 'select_multiple';
		list = type.slice(16);
	} else
		defFail('survey row ' + row + ' (' + fd.name + '): unknown ' +
		    'type "' + cut(type, 40) + '"');
	list = list.replace(/^ +/, '');
	fd._list = f._lists.findIndex((l) => l.name === list);
	if (fd._list < 0)
		defFail('survey row ' + row + ' (' + fd.name + '): no choice ' +
		    'list "' + cut(list, 40) + '"');
}

function defSurvey(f, survey, lang) {
	let repeat = -1;

	if (!Array.isArray(survey) || survey.length === 0)
		defFail('survey: must be a non-empty array');
	if (survey.length > FORM_MAX_FIELDS * 2)
		defFail('survey: more than ' + FORM_MAX_FIELDS * 2 + ' rows');
	survey.forEach((r, i) => {
		const row = i + 1, type = getStr(r, 'type');
		const name = getStr(r, 'name'), req = get(r, 'required');

		if (!(r instanceof Map) || type === null)
			defFail('survey row ' + row + ': needs a type');
		for (const key of r.keys()) {
			const n = key.indexOf(':') < 0 ? key.length :
			    key.indexOf(':');
			if (ROW_COLUMNS.indexOf(key.slice(0, n)) < 0 ||
			    (n < key.length && key.substr(n, 2) !== '::'))
				defFail('survey row ' + row + ': unknown column "' +
				    cut(key, 40) + '"');
		}
		if (type === 'end_repeat' || type === 'end repeat') {
			if (repeat < 0)
				defFail('survey row ' + row + ': end_repeat ' +
				    'without begin_repeat');
			repeat = -1;
			return;
		}
		if (name === null || !nameOk(name) || name.indexOf('.') >= 0)
			defFail('survey row ' + row + ': name must be 1 to 127 ' +
			    'letters, digits, _ or -, starting with a letter');
		if (f._index.has(name))
			defFail('survey row ' + row + ': duplicate name ' + name);
		if (f.fields.length === FORM_MAX_FIELDS)
			defFail('survey: more than ' + FORM_MAX_FIELDS + ' fields');
		const fd = { name, type: null, _list: -1, _parent: repeat,
		    _row: row };
		defType(f, row, fd, type);
		if (fd.type === 'repeat' && repeat >= 0)
			defFail('survey row ' + row + ' (' + name + '): repeats ' +
			    'inside repeats are not supported');
		if (req !== undefined && typeof req !== 'boolean' &&
		    req !== 'yes' && req !== 'no' && req !== '')
			defFail('survey row ' + row + ' (' + name + '): required ' +
			    'must be yes or no');
		fd.required = req === true || req === 'yes';
		fd._constraint = defExpr(row, name, 'constraint', r);
		fd._relevant = defExpr(row, name, 'relevant', r);
		const msg = defText(r, 'constraint_message', lang);
		fd._message = cut(msg !== null ? msg :
		    'does not meet the form\'s constraint', 159);
		f._index.set(name, f.fields.length);
		f.fields.push(fd);
		if (fd.type === 'repeat')
			repeat = f.fields.length - 1;
	});
	if (repeat >= 0)
		defFail('survey: begin_repeat ' + f.fields[repeat].name +
		    ' has no end_repeat');
	/* Expressions may name fields defined after them: checked at the
	   end.  The row named is the survey row (C names the field's index
	   instead, which differs after an end_repeat: see the report). */
	for (const fd of f.fields)
		for (const e of [fd._constraint, fd._relevant])
			for (const ref of e ? exprNames(e, []) : [])
				if (!f._index.has(ref))
					defFail('survey row ' + fd._row + ' (' +
					    fd.name + '): expression names ' +
					    'unknown field ${' + ref + '}');
}

function defBands(f, settings) {
	const bands = get(settings, 'age_bands');

	f._bands = 0;
	if (bands === undefined)
		return;
	if (!Array.isArray(bands) || bands.length > FORM_MAX_BANDS)
		defFail('settings.age_bands: an array of at most ' +
		    FORM_MAX_BANDS + ' bands');
	bands.forEach((b, i) => {
		const name = getStr(b, 'name'), max = get(b, 'max');

		if (name === null || name.length >= 16 ||
		    typeof get(b, 'min') !== 'number' ||
		    (max !== undefined && typeof max !== 'number'))
			defFail('settings.age_bands[' + (i + 1) + ']: needs ' +
			    'name, integer min and optional integer max');
		f._bands++;
	});
}

/* "members.sex" or "sex": the field, checking the repeat prefix. */
function defCountField(f, what, ref) {
	if (ref === null)
		defFail('counts: ' + what + ' needs a field');
	const dot = ref.indexOf('.');
	const i = f._index.get(dot >= 0 ? ref.slice(dot + 1) : ref);
	if (i === undefined)
		defFail('counts: ' + what + ' names unknown field ' +
		    cut(ref, 64));
	const par = f.fields[i]._parent;
	if (dot >= 0) {
		if (par < 0 || f.fields[par].name !== ref.slice(0, dot))
			defFail('counts: ' + what + ': ' + cut(ref, 64) +
			    ' is not in that repeat');
	} else if (par >= 0)
		defFail('counts: ' + what + ': write ' + f.fields[par].name +
		    '.' + ref + ' for a field in a repeat');
	return f.fields[i];
}

function defCounts(f, c) {
	if (c === undefined)
		return;
	const date = defCountField(f, 'date', getStr(c, 'date'));
	const place = defCountField(f, 'place', getStr(c, 'place'));
	if (date.type !== 'date')
		defFail('counts: date must be a date field');
	if (date._parent >= 0 || place._parent >= 0)
		defFail('counts: date and place must be fields outside repeats');
	const latest = get(c, 'latest_by');
	if (latest !== undefined && latest !== null && latest !== place.name)
		defFail('counts: latest_by must be the place field');
	const dims = get(c, 'dimensions'), ms = get(c, 'measures');
	if (!Array.isArray(dims) || dims.length > FORM_MAX_DIMS ||
	    !Array.isArray(ms) || ms.length === 0 ||
	    ms.length > FORM_MAX_MEASURES)
		defFail('counts: needs dimensions (at most ' + FORM_MAX_DIMS +
		    ') and measures (1 to ' + FORM_MAX_MEASURES + ')');
	dims.forEach((d, i) => {
		const name = getStr(d, 'name'), bands = get(d, 'bands');

		if (name === null || name.length >= 32)
			defFail('counts: dimension ' + (i + 1) + ' needs a name');
		const fd = defCountField(f, name, getStr(d, 'field'));
		/* one banding per form: settings.age_bands */
		if (bands !== undefined && (f._bands === 0 ||
		    fd.type !== 'integer' || bands !== 'age_bands'))
			defFail('counts: dimension ' + name + ': bands must be ' +
			    '"age_bands", declared in settings, on an ' +
			    'integer field');
	});
	ms.forEach((d, i) => {
		const name = getStr(d, 'name'), count = getStr(d, 'count');
		const sum = getStr(d, 'sum');

		if (name === null || name.length >= 32 ||
		    (count === null) === (sum === null))
			defFail('counts: measure ' + (i + 1) + ' needs a name ' +
			    'and one of count or sum');
		if (count === 'records')
			return;
		if (count !== null) {
			const k = f._index.get(count);
			if (k === undefined || f.fields[k].type !== 'repeat')
				defFail('counts: measure ' + name + ': count ' +
				    'must be records or a repeat');
			return;
		}
		const fd = defCountField(f, name, sum);
		if (fd.type !== 'integer')
			defFail('counts: measure ' + name + ': sum of a ' +
			    'non-integer field');
		if (fd._parent >= 0)
			defFail('counts: measure ' + name + ': sum of a field in ' +
			    'a repeat');
	});
}

function parse(definition) {
	let def;

	if (typeof definition === 'string') {
		if (bytes(definition).length > FORM_MAX_DEF_BYTES)
			defFail('definition larger than ' + FORM_MAX_DEF_BYTES +
			    ' bytes');
		def = fromJS(parseJSON(definition));
	} else
		def = fromJS(definition);
	if (!(def instanceof Map))
		defFail('a definition is a JSON object');
	for (const key of def.keys())
		if (!TOP_KEYS.some((k) => key === k ||
		    (k === 'title' && key.startsWith('title::'))))
			defFail('unknown key "' + cut(key, 40) + '"');
	const id = getStr(def, 'form_id'), ver = getStr(def, 'version');
	const dl = getStr(def, 'default_language');
	const lang = dl !== null ? dl : 'English';
	if (id === null || !nameOk(id) || id.length > FORM_ID_MAX)
		defFail('form_id: 1 to ' + FORM_ID_MAX + ' letters, digits, ' +
		    '_ - .');
	if (ver === null || ver === '' || ver.length > FORM_VERSION_MAX ||
	    !/^[0-9A-Za-z._-]*$/.test(ver))
		defFail('version: 1 to ' + FORM_VERSION_MAX + ' of letters, ' +
		    'digits, . _ -');
	const title = defText(def, 'title', lang);
	const f = { id, version: ver, title: text(cut(title !== null ? title :
	    id, 159)), fields: [], _lists: [], _index: new Map() };
	defLists(f, def.get('choices'));
	defSurvey(f, def.get('survey'), lang);
	defBands(f, def.get('settings'));
	defCounts(f, def.get('counts'));
	/* What a page reads, as JS strings. */
	for (const fd of f.fields) {
		const l = fd._list >= 0 ? f._lists[fd._list] : null;
		const src = (col) => {
			const v = getStr(def.get('survey')[fd._row - 1], col);
			return v ? text(v) : null;
		};
		fd.list = l ? l.name : null;
		fd.choices = l ? l.choices.map(text) : null;
		fd.repeat = fd._parent >= 0 ? f.fields[fd._parent].name : null;
		fd.message = text(fd._message);
		fd.constraint = src('constraint');
		fd.relevant = src('relevant');
	}
	return f;
}

/* Records (validate.c form_validate). */

function addError(errs, path, reason) {
	if (errs.length === FORM_MAX_ERRORS)
		errs.dropped++;
	else
		errs.push({ path: cut(path, ERROR_TEXT_MAX),
		    reason: cut(reason, ERROR_TEXT_MAX) });
	return false;
}

const isEmpty = (v) => v === undefined || v === null || v === '' ||
    (Array.isArray(v) && v.length === 0);

/*
 * An answer as an expression value (v_value).  An array is a
 * select_multiple's names joined by spaces; C joins them into a 16 KiB
 * buffer and leaves out a name that would not fit, or is not a string.
 */
function answer(fd, v) {
	if (isEmpty(v))
		return fd.type === 'repeat' ? { k: 'R', items: [], count: 0 } :
		    EMPTY;
	if (fd.type === 'repeat')
		return Array.isArray(v) ? { k: 'R', items: v, count: v.length } :
		    EMPTY;
	if (isNum(v))
		return vNumber(numOf(v));
	if (typeof v === 'string')
		return vString(v);
	if (typeof v === 'boolean')
		return vBoolean(v);
	if (!Array.isArray(v))
		return EMPTY;
	let s = '';
	for (const x of v)
		if (typeof x === 'string' && s.length + x.length + 2 <= VCTX_BUF)
			s += (s.length > 0 ? ' ' : '') + x;
	return vString(s);
}

/*
 * Evaluates e for field fd whose answer is v, inside item (null at top
 * level): 1, 0 or -1.  `.` is v; ${name} is the item's field when name
 * is a repeat's field (empty outside an item), the record's otherwise.
 */
function evalField(ctx, e, fd, v, item) {
	const f = ctx.form;

	return evalBool(e, {
		item,
		today: ctx.today,
		resolve(at, name) {
			if (name === null)
				return answer(fd, v);
			const i = f._index.get(name);
			if (i === undefined)
				throw EVAL_ERROR;
			const rf = f.fields[i];
			return answer(rf, get(rf._parent >= 0 ? at : ctx.rec, name));
		}
	});
}

const MDAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function dateOk(s) {
	const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(s);
	if (m === null)
		return false;
	const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
	if (y < 1900 || mo < 1 || mo > 12 || d < 1)
		return false;
	const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
	return d <= MDAYS[mo - 1] + (mo === 2 && leap ? 1 : 0);
}

/* The ODK text "lat lon [alt [acc]]", as form_geopoint_text: plain
   decimals strtod reads whole; [lat, lon, alt, acc] or null. */
function geopointText(s) {
	const v = [];
	let i = 0;

	while (v.length < 4) {
		while (s[i] === ' ')
			i++;
		if (i >= s.length)
			break;
		const end = s.indexOf(' ', i) < 0 ? s.length : s.indexOf(' ', i);
		const tok = s.slice(i, end);
		if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(tok) ||
		    !isFinite(Number(tok)))
			return null;
		v.push(Number(tok));
		i = end;
	}
	while (s[i] === ' ')
		i++;
	if (v.length < 2 || i < s.length)
		return null;
	while (v.length < 4)
		v.push(0);
	return v;
}

const GEO_KEYS = ['latitude', 'longitude', 'altitude', 'accuracy'];

/* A select_multiple answer: true, or false after one error. */
function multipleOk(l, v, path, errs) {
	const bad = () => addError(errs, path, 'must be a list of choices of ' +
	    l.name);

	if (typeof v === 'string') {
		/* ODK's form: names separated by spaces (only spaces) */
		const seen = [];
		for (const name of v.split(' ')) {
			if (name === '')
				continue;
			if (name.length >= FORM_NAME_MAX ||
			    seen.length + 1 > l.choices.length ||
			    l.choices.indexOf(name) < 0)
				return bad();
			if (seen.indexOf(name) >= 0)
				return addError(errs, path, 'repeats a choice');
			seen.push(name);
		}
		return seen.length > 0 || bad();	/* only spaces */
	}
	if (!Array.isArray(v) || v.length > l.choices.length)
		return bad();
	for (let i = 0; i < v.length; i++) {
		if (typeof v[i] !== 'string' || l.choices.indexOf(v[i]) < 0)
			return bad();
		if (v.indexOf(v[i]) < i)
			return addError(errs, path, 'repeats a choice');
	}
	return true;
}

function geopointOk(v, path, errs) {
	let g;

	if (typeof v === 'string')
		g = geopointText(v);
	else if (v instanceof Map) {
		for (const [k, x] of v)
			if (GEO_KEYS.indexOf(k) < 0 || !isNum(x))
				g = null;
		const lat = v.get('latitude'), lon = v.get('longitude');
		const acc = v.get('accuracy');
		if (g !== null && isNum(lat) && isNum(lon))
			g = [numOf(lat), numOf(lon), 0,
			    acc === undefined ? 0 : numOf(acc)];
		else
			g = null;
	}
	if (!g)
		return addError(errs, path, 'must be a point {latitude, ' +
		    'longitude[, altitude, accuracy]}');
	if (!(g[0] >= -90 && g[0] <= 90) || !(g[1] >= -180 && g[1] <= 180) ||
	    !(g[3] >= 0))
		return addError(errs, path, 'latitude must be -90 to 90, ' +
		    'longitude -180 to 180, accuracy 0 or more');
	return true;
}

/* Type checks (v_type): true when v is of fd's type, else one error.
   (C's check for a NUL inside a string is not needed: no string here
   holds one, as jansson refuses them.) */
function typeOk(f, fd, v, path, errs) {
	switch (fd.type) {
	case 'text':
		if (typeof v !== 'string')
			break;
		if (v.length > FORM_MAX_TEXT)
			return addError(errs, path, 'must be at most ' +
			    FORM_MAX_TEXT + ' bytes');
		if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(v))
			return addError(errs, path, 'must not hold control ' +
			    'characters');
		return true;
	case 'integer':
		return typeof v === 'number' ||
		    addError(errs, path, 'must be a whole number');
	case 'decimal':
		return (isNum(v) && isFinite(numOf(v))) ||
		    addError(errs, path, 'must be a number');
	case 'date':
		return (typeof v === 'string' && dateOk(v)) ||
		    addError(errs, path, 'must be a date YYYY-MM-DD');
	case 'select_one':
		return (typeof v === 'string' &&
		    f._lists[fd._list].choices.indexOf(v) >= 0) ||
		    addError(errs, path, 'must be one of the choices of ' +
		    f._lists[fd._list].name);
	case 'select_multiple':
		return multipleOk(f._lists[fd._list], v, path, errs);
	case 'geopoint':
		return geopointOk(v, path, errs);
	case 'repeat':
		if (!Array.isArray(v))
			break;
		if (v.length > FORM_MAX_REPEAT_ITEMS)
			return addError(errs, path, 'must have at most ' +
			    FORM_MAX_REPEAT_ITEMS + ' items');
		return v.every((x) => x instanceof Map) ||
		    addError(errs, path, 'items must be objects');
	}
	return addError(errs, path, fd.type === 'repeat' ?
	    'must be a list of groups' : 'must be text');
}

/* One field: relevant, required, type (a repeat's items), constraint. */
function checkField(ctx, fi, v, item, path) {
	const fd = ctx.form.fields[fi], errs = ctx.errs;
	let rel = 1;

	if (fd._relevant) {
		rel = evalField(ctx, fd._relevant, fd, v, item);
		if (rel < 0)
			return addError(errs, path, 'relevance cannot be ' +
			    'evaluated');
	}
	if (isEmpty(v))
		return rel && fd.required && addError(errs, path, 'required');
	if (!rel)
		return addError(errs, path, 'not relevant here, must be empty');
	if (!typeOk(ctx.form, fd, v, path, errs))
		return false;
	if (fd.type === 'repeat')
		v.forEach((x, i) => checkItem(ctx, fi, x, i));
	if (fd._constraint) {
		const ok = evalField(ctx, fd._constraint, fd, v, item);
		if (ok < 0)
			addError(errs, path, 'constraint cannot be evaluated');
		else if (!ok)
			addError(errs, path, fd._message);
	}
	return true;
}

function checkItem(ctx, rep, item, idx) {
	const f = ctx.form, prefix = f.fields[rep].name + '[' + (idx + 1) + '].';

	for (const key of item.keys()) {
		const i = f._index.get(key);
		if (i === undefined || f.fields[i]._parent !== rep)
			addError(ctx.errs, prefix + cut(key, 40), 'unknown field');
	}
	f.fields.forEach((fd, i) => {
		if (fd._parent === rep)
			checkField(ctx, i, item.get(fd.name), item, prefix + fd.name);
	});
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function checkMeta(f, key, v, errs) {
	if (key === '_id') {
		if (typeof v !== 'string' || !UUID.test(v))
			addError(errs, '_id', 'must be a UUID');
	} else if (key === '_form') {
		if (v !== f.id)
			addError(errs, '_form', 'names another form');
	} else if (key === '_version') {
		if (v !== f.version)
			addError(errs, '_version', 'names another version');
	} else
		addError(errs, key, 'unknown metadata key');
}

function validate(form, record, today) {
	const rec = toValue(record), errs = [];
	const ctx = { form, rec, errs,
	    today: today === null || today === undefined ? null :
	    bytes(String(today)) };

	errs.dropped = 0;
	if (!(rec instanceof Map))
		addError(errs, '', 'a record must be a JSON object');
	else {
		for (const key of rec.keys()) {
			if (key[0] === '_') {
				checkMeta(form, key, rec.get(key), errs);
				continue;
			}
			const i = form._index.get(key);
			if (i === undefined || form.fields[i]._parent >= 0)
				addError(errs, key.length < 64 ? key : '(long)',
				    'unknown field');
		}
		form.fields.forEach((fd, i) => {
			if (fd._parent < 0)
				checkField(ctx, i, rec.get(fd.name), null, fd.name);
		});
	}
	const out = errs.map((e) => ({ path: text(e.path),
	    reason: text(e.reason) }));
	out.dropped = errs.dropped;
	return out;
}

/* Helpers for the page. */

function fieldIndex(form, name) {
	const i = form._index.get(bytes(String(name)));
	if (i === undefined)
		throw new Error('no field ' + name + ' in form ' + form.id);
	return i;
}

/* The field's answer and item: [v, item]. */
function locate(form, rec, i, index) {
	const fd = form.fields[i];

	if (fd._parent < 0)
		return [get(rec, fd.name), null];
	const items = get(rec, form.fields[fd._parent].name);
	const item = Array.isArray(items) ? items[index] : undefined;
	return [get(item, fd.name), item === undefined ? null : item];
}

function relevantAt(ctx, i, index) {
	const fd = ctx.form.fields[i];

	if (fd._parent >= 0 && !relevantAt(ctx, fd._parent, null))
		return false;
	if (!fd._relevant)
		return true;
	const [v, item] = locate(ctx.form, ctx.rec, i, index);
	return evalField(ctx, fd._relevant, fd, v, item) !== 0;
}

function isRelevant(form, record, name, index, today) {
	return relevantAt({ form, rec: toValue(record), today: today ===
	    null || today === undefined ? null : bytes(String(today)) },
	    fieldIndex(form, name), index);
}

function evaluate(form, record, expression, opts) {
	const o = opts || {}, rec = toValue(record);
	let e;

	try {
		e = exprParse(bytes(String(expression)));
	} catch (x) {
		throw x instanceof ExprSyntaxError ? new Error(text(x.message)) : x;
	}
	const ctx = { form, rec, today: o.today === null ||
	    o.today === undefined ? null : bytes(String(o.today)) };
	let fd = { type: 'text' }, v, item = null;
	if (o.field !== undefined && o.field !== null) {
		const i = fieldIndex(form, o.field);
		fd = form.fields[i];
		[v, item] = locate(form, rec, i, o.index);
	}
	const r = evalField(ctx, e, fd, v, item);
	return r < 0 ? null : r === 1;
}

return { parse, validate, isRelevant, evaluate, parseJSON, Real };
}));
