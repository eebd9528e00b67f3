/*
 * json.c: the strict JSON reader (see json.h).
 *
 * A recursive descent over RFC 8259's grammar, one function per rule
 * (value, object, array, string, number), the depth passed down so that a
 * hostile manifest of a million '[' ends with EINVAL at depth 65 instead of
 * the stack.  Strings are decoded as they are checked: escapes replaced,
 * surrogate pairs joined, and every byte of UTF-8 validated (RFC 3629:
 * no overlong forms, no encoded surrogates, nothing above U+10FFFF).
 */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *start, *p, *end;
};

static int fail(struct parser *ps)
{
	errno = EINVAL;
	(void)ps;
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end
	       && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(enum json_type type)
{
	struct json *v = calloc(1, sizeof *v);

	if (v)
		v->type = type;
	return v;
}

void json_free(struct json *v)
{
	while (v) {
		struct json *next = v->next;

		json_free(v->child);	/* at most JSON_MAX_DEPTH deep */
		free(v->text);
		free(v->key);
		free(v);
		v = next;
	}
}

/* The length of the valid UTF-8 sequence at p (of at most n bytes) that
 * starts with a byte >= 0x80, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;	/* overlong below U+0800 */
		else if (c == 0xED)
			hi = 0x9F;	/* U+D800..U+DFFF, the surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;	/* overlong below U+10000 */
		else if (c == 0xF4)
			hi = 0x8F;	/* above U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return len;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string, at the opening quote.  The decoded text is never longer than
 * the raw one (an escape of 6 or 12 bytes gives at most 4), so one
 * allocation of the raw length is enough. */
static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
	const char *q;
	char *buf, *o;

	ps->p++;
	for (q = ps->p; q < ps->end && *q != '"'; q++) {
		if (*q == '\\' && ++q == ps->end)
			break;
	}
	if (q >= ps->end)
		return fail(ps);
	buf = malloc((size_t)(q - ps->p) + 1);
	if (buf == NULL)
		return -1;
	o = buf;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '"') {
			ps->p++;
			*o = '\0';
			*out = buf;
			*outlen = (size_t)(o - buf);
			return 0;
		}
		if (c < 0x20)
			break;
		if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));

			if (n == 0)
				break;
			memcpy(o, ps->p, n);
			o += n;
			ps->p += n;
			continue;
		}
		if (c != '\\') {
			*o++ = (char)c;
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			break;
		c = (unsigned char)ps->p[1];
		ps->p += 2;
		switch (c) {
		case '"': *o++ = '"'; continue;
		case '\\': *o++ = '\\'; continue;
		case '/': *o++ = '/'; continue;
		case 'b': *o++ = '\b'; continue;
		case 'f': *o++ = '\f'; continue;
		case 'n': *o++ = '\n'; continue;
		case 'r': *o++ = '\r'; continue;
		case 't': *o++ = '\t'; continue;
		case 'u': break;
		default: goto bad;
		}
		{
			unsigned cp, lo;

			if (ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0)
				goto bad;
			ps->p += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				goto bad;	/* a low surrogate alone */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate: a low one must follow. */
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u'
				    || hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					goto bad;
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			o += put_utf8(o, cp);
		}
	}
bad:
	free(buf);
	return fail(ps);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *ps, struct json *v)
{
	const char *s = ps->p, *p = s, *e = ps->end;

#define DIGIT(x) ((x) >= '0' && (x) <= '9')
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9')
		while (p < e && DIGIT(*p))
			p++;
	else
		goto bad;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || !DIGIT(*p))
			goto bad;
		while (p < e && DIGIT(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || !DIGIT(*p))
			goto bad;
		while (p < e && DIGIT(*p))
			p++;
	}
#undef DIGIT
	v->text = strndup(s, (size_t)(p - s));
	if (v->text == NULL)
		return -1;
	v->len = (size_t)(p - s);
	ps->p = p;
	return 0;
bad:
	ps->p = p;
	return fail(ps);
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps);
	ps->p += n;
	return 0;
}

static struct json *parse_value(struct parser *ps, int depth);

/* An array or an object, at its opening bracket. */
static int parse_container(struct parser *ps, struct json *v, int depth)
{
	char close = v->type == JSON_ARRAY ? ']' : '}';
	struct json **tail = &v->child;

	if (depth > JSON_MAX_DEPTH)
		return fail(ps);
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t keylen = 0;
		struct json *m;

		if (v->type == JSON_OBJECT) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps);
			if (parse_string(ps, &key, &keylen) < 0)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return fail(ps);
			}
			ps->p++;
		}
		m = parse_value(ps, depth);
		if (m == NULL) {
			free(key);
			return -1;
		}
		m->key = key;
		m->keylen = keylen;
		*tail = m;
		tail = &m->next;
		v->len++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			/* [1,] and {"a":1,} are not JSON. */
			if (ps->p < ps->end && *ps->p == close)
				return fail(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps);
	}
}

static struct json *parse_value(struct parser *ps, int depth)
{
	struct json *v;
	int rc;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps);
		return NULL;
	}
	switch (*ps->p) {
	case '{': v = new_node(JSON_OBJECT); break;
	case '[': v = new_node(JSON_ARRAY); break;
	case '"': v = new_node(JSON_STRING); break;
	case 't': v = new_node(JSON_TRUE); break;
	case 'f': v = new_node(JSON_FALSE); break;
	case 'n': v = new_node(JSON_NULL); break;
	default: v = new_node(JSON_NUMBER); break;
	}
	if (v == NULL)
		return NULL;
	switch (v->type) {
	case JSON_OBJECT:
	case JSON_ARRAY: rc = parse_container(ps, v, depth + 1); break;
	case JSON_STRING: rc = parse_string(ps, &v->text, &v->len); break;
	case JSON_TRUE: rc = literal(ps, "true"); break;
	case JSON_FALSE: rc = literal(ps, "false"); break;
	case JSON_NULL: rc = literal(ps, "null"); break;
	default: rc = parse_number(ps, v); break;
	}
	if (rc < 0) {
		int saved = errno;

		json_free(v);
		errno = saved;
		return NULL;
	}
	return v;
}

struct json *json_parse(const char *text, size_t len, size_t *err_at)
{
	struct parser ps = { text, text, text + len };
	struct json *v = parse_value(&ps, 0);

	if (v) {
		skip_ws(&ps);
		if (ps.p == ps.end)
			return v;
		json_free(v);
		errno = EINVAL;
	}
	if (err_at)
		*err_at = (size_t)(ps.p - ps.start);
	return NULL;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	const struct json *found = NULL;
	size_t n = strlen(key);

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *m = obj->child; m; m = m->next) {
		if (m->keylen == n && memcmp(m->key, key, n) == 0)
			found = m;
	}
	return found;
}

const struct json *json_at(const struct json *v, size_t i)
{
	if (v == NULL || v->type != JSON_ARRAY)
		return NULL;
	for (v = v->child; v && i > 0; i--)
		v = v->next;
	return v;
}

const char *json_string(const struct json *v)
{
	if (v == NULL || v->type != JSON_STRING || strlen(v->text) != v->len)
		return NULL;
	return v->text;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = { "null", "false", "true", "number", "string", "array",
					     "object" };

	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
