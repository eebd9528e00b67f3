/*
 * Unit tests for the image store's pure code: SHA-256 against FIPS 180-4's
 * vectors (both implementations: the test runs itself again with
 * SDOCKER_SHA256=c when the CPU has SHA extensions), the JSON reader
 * against RFC 8259, member name cleaning and the archive index's link
 * following, image names.  No root, no files.
 */
#include "image.h"
#include "json.h"
#include "sha256.h"
#include "tar.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checks, failures;

#define CHECK(cond)                                                           \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                             \
	} while (0)

static const char *hash_of(const void *data, size_t len)
{
	static char hex[SHA256_HEX_LEN + 1];
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final_hex(&c, hex);
	return hex;
}

static void test_sha256(void)
{
	static const char *const msg448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char *const msg896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
					  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	struct sha256 c;
	char hex[SHA256_HEX_LEN + 1], *million, *buf;

	/* FIPS 180-4 examples (csrc.nist.gov, SHA256.pdf, SHA2_Additional). */
	CHECK(strcmp(hash_of("", 0),
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	CHECK(strcmp(hash_of("abc", 3),
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	CHECK(strcmp(hash_of(msg448, strlen(msg448)),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
	CHECK(strcmp(hash_of(msg896, strlen(msg896)),
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") == 0);
	million = malloc(1000000);
	CHECK(million != NULL);
	if (million) {
		memset(million, 'a', 1000000);
		CHECK(strcmp(hash_of(million, 1000000),
			     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
		free(million);
	}
	/* Lengths around the padding's edge: 55, 56, 63, 64 bytes of 0x00
	 * (values from sha256sum). */
	buf = calloc(1, 200);
	if (buf) {
		CHECK(strcmp(hash_of(buf, 55),
			     "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7") == 0);
		CHECK(strcmp(hash_of(buf, 56),
			     "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb") == 0);
		CHECK(strcmp(hash_of(buf, 64),
			     "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b") == 0);
		/* Fed in pieces of every size, the same as in one. */
		for (size_t i = 0; i < 200; i++)
			buf[i] = (char)(i * 37 + 11);
		strcpy(hex, hash_of(buf, 200));
		for (size_t step = 1; step <= 70; step++) {
			char got[SHA256_HEX_LEN + 1];

			sha256_init(&c);
			for (size_t at = 0; at < 200; at += step)
				sha256_update(&c, buf + at, 200 - at < step ? 200 - at : step);
			sha256_final_hex(&c, got);
			CHECK(strcmp(got, hex) == 0);
		}
		free(buf);
	}
	CHECK(sha256_valid_digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(!sha256_valid_digest("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	CHECK(!sha256_valid_digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
	CHECK(!sha256_valid_digest("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(!sha256_valid_digest("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

static int parses_n(const char *s, size_t n)
{
	struct json *j = json_parse(s, n, NULL);
	int ok = j != NULL;

	json_free(j);
	return ok;
}

static int parses(const char *s)
{
	return parses_n(s, strlen(s));
}

static void test_json_grammar(void)
{
	static const char *const good[] = {
		"0", "-0", "1", "-1", "1.5", "1e5", "1E+5", "1e-5", "-0.0e0", "123456789012345678901234567890",
		"true", "false", "null", "\"\"", "\"a\"", " \t\r\n1\n ", "[]", "{}", "[1,2,3]",
		"{\"a\":1,\"b\":[true,false,null]}", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\"",
		"\"\\ud83d\\ude00\"", "\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"",
		"\"\xf4\x8f\xbf\xbf\"", "{\"a\":1,\"a\":2}", "\"\\u0000\"", "[[[]]]", "\"\x7f\"",
	};
	static const char *const bad[] = {
		"", " ", "01", "-", "+1", ".5", "1.", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
		"tru", "nul", "True", "[1,]", "{\"a\":1,}", "[,1]", "{,}", "[1 2]", "{\"a\" 1}", "{\"a\":}",
		"{a:1}", "{'a':1}", "'a'", "\"a", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\x01\"", "\"\t\"", "\"\n\"",
		"\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
		"\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\xef\xbb\xbf{}", "1 2",
		"[1]]", "{}}", "[1] x", "/* c */ 1", "[1,2", "{\"a\":1", "\xff",
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!parses(good[i]))
			printf("  should parse: %s\n", good[i]);
		CHECK(parses(good[i]));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parses(bad[i]))
			printf("  should not parse: %s\n", bad[i]);
		CHECK(!parses(bad[i]));
	}
	/* A NUL byte inside the text is a control character, not an end. */
	CHECK(json_parse("\"a\0b\"", 5, NULL) == NULL);
	CHECK(json_parse("1\0", 2, NULL) == NULL);
}

static void test_json_depth(void)
{
	char deep[200];
	size_t err_at = 0;

	for (int d = 63; d <= 66; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		CHECK(parses_n(deep, 2 * (size_t)d) == (d <= JSON_MAX_DEPTH));
	}
	memset(deep, '[', 100);
	CHECK(json_parse(deep, 100, &err_at) == NULL && errno == EINVAL);
}

static void test_json_tree(void)
{
	const char *text = "{\"name\":\"x\",\"n\":-12.5e3,\"list\":[\"a\",\"\\u00e9\",3],"
			   "\"dup\":1,\"dup\":\"last\",\"nul\":\"a\\u0000b\",\"o\":{\"k\":null}}";
	size_t err_at = 0;
	struct json *j = json_parse(text, strlen(text), &err_at);
	const struct json *v;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	CHECK(j->type == JSON_OBJECT && j->len == 7);
	CHECK(json_string(json_get(j, "name")) && strcmp(json_string(json_get(j, "name")), "x") == 0);
	v = json_get(j, "n");
	CHECK(v && v->type == JSON_NUMBER && strcmp(v->text, "-12.5e3") == 0);
	v = json_get(j, "list");
	CHECK(v && v->type == JSON_ARRAY && v->len == 3);
	CHECK(json_string(json_at(v, 1)) && strcmp(json_string(json_at(v, 1)), "\xc3\xa9") == 0);
	CHECK(json_at(v, 2) && json_at(v, 2)->type == JSON_NUMBER);
	CHECK(json_at(v, 3) == NULL);
	CHECK(json_string(json_get(j, "dup")) && strcmp(json_string(json_get(j, "dup")), "last") == 0);
	v = json_get(j, "nul");
	CHECK(v && v->len == 3 && memcmp(v->text, "a\0b", 3) == 0 && json_string(v) == NULL);
	CHECK(json_get(json_get(j, "o"), "k") && json_get(json_get(j, "o"), "k")->type == JSON_NULL);
	CHECK(json_get(j, "missing") == NULL);
	CHECK(json_get(json_get(j, "name"), "x") == NULL);
	CHECK(strcmp(json_type_name(JSON_OBJECT), "object") == 0);
	json_free(j);

	j = json_parse("\"\\ud83d\\ude00\"", 14, NULL);
	CHECK(j && strcmp(json_string(j), "\xf0\x9f\x98\x80") == 0);
	json_free(j);

	err_at = 0;
	CHECK(json_parse("[1,2,]", 6, &err_at) == NULL && err_at == 5);
}

static void test_clean_path(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "etc/passwd", "etc/passwd" }, { "/etc/passwd", "etc/passwd" },
		{ "./etc/passwd", "etc/passwd" }, { "etc//passwd", "etc/passwd" },
		{ "etc/./passwd", "etc/passwd" }, { "etc/", "etc" }, { "./", "" }, { ".", "" },
		{ "/", "" }, { "", "" }, { "///a///b//", "a/b" }, { "a/.wh..wh..opq", "a/.wh..wh..opq" },
		{ "..a/b..", "..a/b.." }, { "...", "..." },
	};
	static const char *const refused[] = { "..", "../x", "a/../b", "a/..", "/../etc", "./..//x" };
	char out[PATH_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(tar_clean_path(cases[i].in, out, sizeof out) == 0);
		CHECK(strcmp(out, cases[i].out) == 0);
	}
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECK(tar_clean_path(refused[i], out, sizeof out) < 0 && errno == EINVAL);
	CHECK(tar_clean_path("abcdef", out, 4) < 0 && errno == ENAMETOOLONG);
}

static void test_index_find(void)
{
	struct tar_entry e[] = {
		{ "blobs", "", '5', 0, 0 },
		{ "blobs/sha256/aa", "", '0', 512, 10 },
		{ "abc/layer.tar", "../blobs/sha256/aa", '2', 0, 0 },
		{ "hard", "blobs/sha256/aa", '1', 0, 0 },
		{ "up", "../../../../blobs/sha256/aa", '2', 0, 0 },
		{ "loop1", "loop2", '2', 0, 0 },
		{ "loop2", "loop1", '2', 0, 0 },
		{ "abs", "/blobs/sha256/aa", '2', 0, 0 },
		{ "x", "", '0', 1024, 1 },
		{ "x", "", '0', 2048, 2 },	/* the last member of a name counts */
	};
	struct tar_index ix = { e, sizeof e / sizeof e[0] };
	const struct tar_entry *got;

	got = tar_index_find(&ix, "blobs/sha256/aa");
	CHECK(got && got->offset == 512);
	got = tar_index_find(&ix, "./abc/layer.tar");
	CHECK(got && got->offset == 512);
	got = tar_index_find(&ix, "hard");
	CHECK(got && got->offset == 512);
	got = tar_index_find(&ix, "up");
	CHECK(got && got->offset == 512);	/* ".." stops at the top */
	got = tar_index_find(&ix, "abs");
	CHECK(got && got->offset == 512);
	got = tar_index_find(&ix, "x");
	CHECK(got && got->offset == 2048);
	CHECK(tar_index_find(&ix, "loop1") == NULL && errno == ELOOP);
	CHECK(tar_index_find(&ix, "nothing") == NULL && errno == ENOENT);
	CHECK(tar_index_find(&ix, "blobs") == NULL && errno == EISDIR);
}

static void test_refs(void)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1], long_name[80], long_tag[140];
	const char *why;

	CHECK(image_parse_ref("debian", name, tag, &why) == 0 && strcmp(name, "debian") == 0
	      && strcmp(tag, "latest") == 0);
	CHECK(image_parse_ref("debian:12", name, tag, &why) == 0 && strcmp(tag, "12") == 0);
	CHECK(image_parse_ref("my-img.v2_x:Tag_1.0-rc", name, tag, &why) == 0);
	CHECK(image_parse_ref("0abc:_t", name, tag, &why) == 0);
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	CHECK(image_parse_ref(long_name, name, tag, &why) == 0);
	long_name[64] = 'a';
	long_name[65] = '\0';
	CHECK(image_parse_ref(long_name, name, tag, &why) < 0 && why);
	memset(long_tag, 't', 128);
	long_tag[0] = 'x';
	long_tag[1] = ':';
	long_tag[130] = '\0';
	memset(long_tag + 2, 't', 128);
	CHECK(image_parse_ref(long_tag, name, tag, &why) == 0);
	long_tag[130] = 't';
	long_tag[131] = '\0';
	CHECK(image_parse_ref(long_tag, name, tag, &why) < 0);
	static const char *const bad[] = { "", ":tag", "Debian", "-x", ".x", "a/b", "a b", "a:",
					   "a:-t", "a:.t", "a:b:c", "a:t/x", "../x", "a\n", "é" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		CHECK(image_parse_ref(bad[i], name, tag, &why) < 0 && why != NULL && errno == EINVAL);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	test_sha256();
	test_json_grammar();
	test_json_depth();
	test_json_tree();
	test_clean_path();
	test_index_find();
	test_refs();
	printf("test_image (sha256 %s): %d checks, %d failed\n", sha256_impl(), checks, failures);
	/* The same again with the portable SHA-256, when the fast one ran. */
	if (failures == 0 && strcmp(sha256_impl(), "c") != 0 && getenv("SDOCKER_SHA256") == NULL) {
		fflush(stdout);
		setenv("SDOCKER_SHA256", "c", 1);
		execv("/proc/self/exe", argv);
		perror("execv /proc/self/exe");
		return 1;
	}
	return failures ? 1 : 0;
}
