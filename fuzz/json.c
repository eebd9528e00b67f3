/*
 * fuzz/json.c: json_parse(), which reads every manifest, index and config
 * an image import meets (the archives are untrusted).
 *
 * Two checks besides ASan and UBSan.  Acceptance is compared with a
 * recognizer written here from RFC 8259's grammar (section 2 to 8) and RFC
 * 3629's UTF-8 table, decoding code points rather than matching byte
 * ranges as json.c does, with the same depth limit.  And what parses must
 * survive a round trip: the tree written out again (canonical: no white
 * space, every control character escaped) parses to the same tree, and
 * writes out to the same text.
 */
#include "fuzz.h"
#include "json.h"

#include <errno.h>

/* --- the reference recognizer ------------------------------------------- */

struct ref {
	const unsigned char *p, *end;
};

static int ref_value(struct ref *r, int depth);

static void ref_ws(struct ref *r)
{
	while (r->p < r->end && strchr(" \t\n\r", *r->p) && *r->p)
		r->p++;
}

/* One UTF-8 character at p; returns its length or 0. */
static int ref_utf8(struct ref *r)
{
	const unsigned char *p = r->p;
	long left = r->end - p;
	unsigned cp;
	int n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	/* Shortest form only, no surrogates, nothing past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

static int ishex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hexval(const unsigned char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++)
		v = v * 16 + (unsigned)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	return v;
}

static int ref_u_escape(struct ref *r, unsigned *out)
{
	if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
		return 0;
	for (int i = 2; i < 6; i++) {
		if (!ishex(r->p[i]))
			return 0;
	}
	*out = hexval(r->p + 2);
	r->p += 6;
	return 1;
}

static int ref_string(struct ref *r)
{
	if (r->p >= r->end || *r->p != '"')
		return 0;
	r->p++;
	while (r->p < r->end) {
		unsigned char c = *r->p;

		if (c == '"') {
			r->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			unsigned hi, lo;

			if (r->end - r->p < 2)
				return 0;
			if (r->p[1] == 'u') {
				if (!ref_u_escape(r, &hi))
					return 0;
				if (hi >= 0xDC00 && hi <= 0xDFFF)
					return 0;
				if (hi >= 0xD800 && hi <= 0xDBFF
				    && !(ref_u_escape(r, &lo) && lo >= 0xDC00 && lo <= 0xDFFF))
					return 0;
				continue;
			}
			if (!strchr("\"\\/bfnrt", r->p[1]) || r->p[1] == 0)
				return 0;
			r->p += 2;
			continue;
		}
		{
			int n = ref_utf8(r);

			if (n == 0)
				return 0;
			r->p += n;
		}
	}
	return 0;
}

static int ref_digits(struct ref *r)
{
	const unsigned char *s = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > s;
}

static int ref_number(struct ref *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end)
		return 0;
	if (*r->p == '0')
		r->p++;
	else if (!(*r->p >= '1' && *r->p <= '9') || !ref_digits(r))
		return 0;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!ref_digits(r))
			return 0;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!ref_digits(r))
			return 0;
	}
	return 1;
}

static int ref_word(struct ref *r, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return 0;
	r->p += n;
	return 1;
}

static int ref_members(struct ref *r, int depth, int object)
{
	char close = object ? '}' : ']';

	if (depth > JSON_MAX_DEPTH)
		return 0;
	r->p++;
	ref_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 1;
	}
	for (;;) {
		ref_ws(r);
		if (object) {
			if (!ref_string(r))
				return 0;
			ref_ws(r);
			if (r->p >= r->end || *r->p != ':')
				return 0;
			r->p++;
		}
		if (!ref_value(r, depth))
			return 0;
		ref_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 1;
		}
		return 0;
	}
}

static int ref_value(struct ref *r, int depth)
{
	ref_ws(r);
	if (r->p >= r->end)
		return 0;
	switch (*r->p) {
	case '{': return ref_members(r, depth + 1, 1);
	case '[': return ref_members(r, depth + 1, 0);
	case '"': return ref_string(r);
	case 't': return ref_word(r, "true");
	case 'f': return ref_word(r, "false");
	case 'n': return ref_word(r, "null");
	default: return ref_number(r);
	}
}

static int ref_valid(const uint8_t *data, size_t size)
{
	struct ref r = { data, data + size };

	if (!ref_value(&r, 0))
		return 0;
	ref_ws(&r);
	return r.p == r.end;
}

/* --- the round trip --------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (o->buf == NULL)
			abort();
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_string(struct out *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	put(o, "\"", 1);
}

static void write_json(struct out *o, const struct json *v)
{
	switch (v->type) {
	case JSON_NULL: put(o, "null", 4); break;
	case JSON_TRUE: put(o, "true", 4); break;
	case JSON_FALSE: put(o, "false", 5); break;
	case JSON_NUMBER: put(o, v->text, v->len); break;
	case JSON_STRING: put_string(o, v->text, v->len); break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		size_t n = 0;

		put(o, v->type == JSON_ARRAY ? "[" : "{", 1);
		for (const struct json *c = v->child; c; c = c->next, n++) {
			if (n)
				put(o, ",", 1);
			if (v->type == JSON_OBJECT) {
				FUZZ_CHECK(c->key != NULL, "an object member without a key");
				put_string(o, c->key, c->keylen);
				put(o, ":", 1);
			}
			write_json(o, c);
		}
		FUZZ_CHECK(n == v->len, "%s of %zu elements says %zu", json_type_name(v->type), n,
			   v->len);
		put(o, v->type == JSON_ARRAY ? "]" : "}", 1);
		break;
	}
	}
}

static int same(const struct json *a, const struct json *b)
{
	if (a->type != b->type || a->len != b->len || a->keylen != b->keylen)
		return 0;
	if ((a->key == NULL) != (b->key == NULL) || (a->key && memcmp(a->key, b->key, a->keylen)))
		return 0;
	if ((a->type == JSON_STRING || a->type == JSON_NUMBER) && memcmp(a->text, b->text, a->len))
		return 0;
	for (a = a->child, b = b->child; a && b; a = a->next, b = b->next) {
		if (!same(a, b))
			return 0;
	}
	return a == NULL && b == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the input's size: ASan sees a read past it. */
	char *text = malloc(size ? size : 1);
	size_t err_at = 12345;
	struct json *v;
	int want;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	want = ref_valid(data, size);
	errno = 0;
	v = json_parse(text, size, &err_at);
	FUZZ_CHECK((v != NULL) == want, "json_parse %s what the RFC 8259 reference %s (%zu bytes)",
		   v ? "accepted" : "refused", want ? "accepts" : "refuses", size);
	if (v == NULL) {
		FUZZ_CHECK(errno == EINVAL, "refused with errno %d", errno);
		FUZZ_CHECK(err_at <= size, "error offset %zu past the end (%zu)", err_at, size);
	} else {
		struct out o1 = { 0 }, o2 = { 0 };
		struct json *again;

		write_json(&o1, v);
		again = json_parse(o1.buf, o1.len, NULL);
		FUZZ_CHECK(again != NULL, "its own canonical form does not parse: %s", o1.buf);
		FUZZ_CHECK(same(v, again), "the round trip changed the tree: %s", o1.buf);
		write_json(&o2, again);
		FUZZ_CHECK(o1.len == o2.len && memcmp(o1.buf, o2.buf, o1.len) == 0,
			   "canonical forms differ: %s / %s", o1.buf, o2.buf);
		/* json_get answers with the last of a repeated key. */
		if (v->type == JSON_OBJECT && v->child && memchr(v->child->key, 0, v->child->keylen) == NULL) {
			const struct json *last = NULL;

			for (const struct json *m = v->child; m; m = m->next) {
				if (m->keylen == v->child->keylen
				    && memcmp(m->key, v->child->key, m->keylen) == 0)
					last = m;
			}
			FUZZ_CHECK(json_get(v, v->child->key) == last, "json_get is not the last member");
		}
		json_free(again);
		free(o1.buf);
		free(o2.buf);
	}
	json_free(v);
	free(text);
	return 0;
}
