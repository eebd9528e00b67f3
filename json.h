/*
 * json.h: a small strict JSON reader (RFC 8259), for image manifests and
 * configs.
 *
 * The whole text is parsed into a tree; the caller then walks it with
 * json_get and json_at.  Strict means what RFC 8259 allows and nothing
 * more: no trailing commas, no comments, no single quotes, no leading
 * zeros or '+', no bare control characters in strings, only the eight
 * escapes and \uXXXX with surrogates in pairs, valid UTF-8 everywhere, no
 * byte order mark, nothing after the value but white space, and at most
 * JSON_MAX_DEPTH nested arrays and objects.  An object may repeat a key;
 * json_get answers with the last one, as most readers do.  Numbers are kept
 * as their text: the caller decides what range it needs.
 *
 * Pure: nothing is printed.  Functions that can fail return NULL or -1
 * with errno set.
 */
#ifndef SDOCKER_JSON_H
#define SDOCKER_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
		 JSON_OBJECT };

struct json {
	enum json_type type;
	/* STRING: the decoded UTF-8, NUL-terminated; it may hold a NUL of its
	 * own (from \u0000), which len tells.  NUMBER: the text as written.
	 * Otherwise NULL. */
	char *text;
	size_t len;		/* bytes of text; ARRAY, OBJECT: element count */
	char *key;		/* a member of an OBJECT: its decoded name */
	size_t keylen;
	struct json *child;	/* ARRAY, OBJECT: the first element or member */
	struct json *next;	/* the next element or member of the parent */
};

/* Parse len bytes of text.  Returns the tree (free it with json_free), or
 * NULL with errno EINVAL (not JSON; *err_at, when not NULL, is the offset
 * of the byte where it stopped being JSON) or ENOMEM. */
struct json *json_parse(const char *text, size_t len, size_t *err_at);
void json_free(struct json *v);

/* The member key of object obj (the last one, if the key repeats), or NULL
 * when obj is not an object or has no such member.  Keys holding a NUL
 * never match. */
const struct json *json_get(const struct json *obj, const char *key);
/* Element i of array v, or NULL. */
const struct json *json_at(const struct json *v, size_t i);
/* v's text when v is a string with no NUL in it, else NULL. */
const char *json_string(const struct json *v);
/* "null", "false", "true", "number", "string", "array", "object". */
const char *json_type_name(enum json_type t);

#endif
