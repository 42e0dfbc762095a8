/* Tests of the JSON reader/writer (lib/io/json.c). */
#include "test_util.h"

#include "core/alloc.h"
#include "io/json.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a NUL-terminated text, failing the test on error. */
static ddgan_json_doc *parse_ok(const char *text)
{
    ddgan_json_doc *doc = NULL;
    ddgan_status_t st = ddgan__json_parse(&doc, text, strlen(text), "test");
    if (st != DDGAN_OK)
        print_error("parse of <%s> failed: %s\n", text, ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_non_null(doc);
    return doc;
}

/* Expects the parse of text[0..len) to fail with DDGAN_ERR_FORMAT and a
 * message containing needle. */
static void parse_fail_n(const char *text, size_t len, const char *needle)
{
    ddgan_json_doc *doc = (ddgan_json_doc *)1;
    ddgan_clear_last_error();
    ddgan_status_t st = ddgan__json_parse(&doc, text, len, "test");
    if (st != DDGAN_ERR_FORMAT)
        print_error("parse of <%.*s> gave status %d, expected FORMAT\n", (int)len, text, (int)st);
    tu_assert_status(st, DDGAN_ERR_FORMAT, needle);
    assert_null(doc);
}

static void parse_fail(const char *text, const char *needle)
{
    parse_fail_n(text, strlen(text), needle);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_parse_basic(void **state)
{
    (void)state;
    ddgan_json_doc *doc =
        parse_ok(" {\"name\": \"ddgan\", \"n\": 42, \"x\": -1.5e3, \"ok\": true, \"no\": false,\n"
                 "\t\"nil\": null, \"list\": [1, [2, 3], {}], \"obj\": {\"k\": \"v\"}}\r\n");
    const ddgan_json_value *root = ddgan__json_root(doc);
    assert_int_equal(ddgan__json_type(root), DDGAN_JSON_OBJECT);
    assert_int_equal(ddgan__json_length(root), 8);

    /* Members by index keep document order. */
    const char *expected_keys[] = {"name", "n", "x", "ok", "no", "nil", "list", "obj"};
    for (size_t i = 0; i < 8; i++) {
        size_t klen = 0;
        const char *k = ddgan__json_object_key(root, i, &klen);
        assert_non_null(k);
        assert_string_equal(k, expected_keys[i]);
        assert_int_equal(klen, strlen(expected_keys[i]));
        assert_ptr_equal(ddgan__json_object_value(root, i), ddgan__json_object_get(root, k));
    }
    assert_null(ddgan__json_object_key(root, 8, NULL));
    assert_null(ddgan__json_object_value(root, 8));
    assert_null(ddgan__json_object_get(root, "missing"));
    assert_null(ddgan__json_object_get(root, "nam"));

    size_t len = 0;
    assert_string_equal(ddgan__json_string(ddgan__json_object_get(root, "name"), &len), "ddgan");
    assert_int_equal(len, 5);

    int64_t i64 = 0;
    double d = 0;
    int b = -1;
    assert_int_equal(ddgan__json_get_int64(ddgan__json_object_get(root, "n"), &i64), DDGAN_OK);
    assert_int_equal(i64, 42);
    assert_int_equal(ddgan__json_get_number(ddgan__json_object_get(root, "n"), &d), DDGAN_OK);
    assert_true(d == 42.0);
    assert_int_equal(ddgan__json_get_number(ddgan__json_object_get(root, "x"), &d), DDGAN_OK);
    assert_true(d == -1500.0);
    assert_int_equal(ddgan__json_get_bool(ddgan__json_object_get(root, "ok"), &b), DDGAN_OK);
    assert_int_equal(b, 1);
    assert_int_equal(ddgan__json_get_bool(ddgan__json_object_get(root, "no"), &b), DDGAN_OK);
    assert_int_equal(b, 0);
    assert_int_equal(ddgan__json_type(ddgan__json_object_get(root, "nil")), DDGAN_JSON_NULL);

    const ddgan_json_value *list = ddgan__json_object_get(root, "list");
    assert_int_equal(ddgan__json_type(list), DDGAN_JSON_ARRAY);
    assert_int_equal(ddgan__json_length(list), 3);
    const ddgan_json_value *inner = ddgan__json_array_item(list, 1);
    assert_int_equal(ddgan__json_length(inner), 2);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(inner, 1), &i64), DDGAN_OK);
    assert_int_equal(i64, 3);
    assert_int_equal(ddgan__json_type(ddgan__json_array_item(list, 2)), DDGAN_JSON_OBJECT);
    assert_int_equal(ddgan__json_length(ddgan__json_array_item(list, 2)), 0);
    assert_null(ddgan__json_array_item(list, 3));
    assert_null(ddgan__json_array_item(root, 0)); /* not an array */
    const ddgan_json_value *obj = ddgan__json_object_get(root, "obj");
    assert_string_equal(ddgan__json_string(ddgan__json_object_get(obj, "k"), NULL), "v");

    /* Wrong-type getters fail with FORMAT and say what the value is. */
    tu_assert_status(ddgan__json_get_number(ddgan__json_object_get(root, "name"), &d), DDGAN_ERR_FORMAT,
                     "is a string, not a number");
    tu_assert_status(ddgan__json_get_bool(ddgan__json_object_get(root, "n"), &b), DDGAN_ERR_FORMAT,
                     "not a bool");
    tu_assert_status(ddgan__json_get_int64(ddgan__json_object_get(root, "x"), &i64), DDGAN_ERR_FORMAT,
                     "not written as an integer");
    assert_null(ddgan__json_string(ddgan__json_object_get(root, "n"), NULL));
    assert_int_equal(ddgan__json_length(ddgan__json_object_get(root, "n")), 0);

    /* Offsets point at the value's first byte. */
    assert_int_equal(ddgan__json_offset(root), 1);
    ddgan__json_free(doc);
    ddgan__json_free(NULL);

    /* Scalars at the top level. */
    doc = parse_ok("  \"top\"  ");
    assert_string_equal(ddgan__json_string(ddgan__json_root(doc), NULL), "top");
    ddgan__json_free(doc);
    doc = parse_ok("-0");
    assert_int_equal(ddgan__json_get_number(ddgan__json_root(doc), &d), DDGAN_OK);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(ddgan__json_get_int64(ddgan__json_root(doc), &i64), DDGAN_OK);
    assert_int_equal(i64, 0);
    ddgan__json_free(doc);
}

static void test_numbers_exact(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"0.1", 0.1},
        {"1e-8", 1e-8},
        {"5e-324", 4.9406564584124654e-324},
        {"4.9406564584124654e-324", 4.9406564584124654e-324},
        {"2.2250738585072014e-308", DBL_MIN},
        {"1.7976931348623157e308", DBL_MAX},
        {"1.7976931348623157E+308", DBL_MAX},
        {"0.30000000000000004", 0.30000000000000004},
        {"-0.0", -0.0},
        {"123456789012345678901234567890", 1.2345678901234568e29},
        {"1e-400", 0.0}, /* underflow to zero is accepted */
        {"3.141592653589793", 3.141592653589793},
        {"9007199254740993", 9007199254740992.0}, /* ties-to-even */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ddgan_json_doc *doc = parse_ok(cases[i].text);
        double d = 1.0;
        assert_int_equal(ddgan__json_get_number(ddgan__json_root(doc), &d), DDGAN_OK);
        if (!same_bits(d, cases[i].value)) {
            print_error("%s parsed as %.17g, expected %.17g\n", cases[i].text, d, cases[i].value);
            fail();
        }
        ddgan__json_free(doc);
    }
    /* 0.1 + 0.2 really is the double 0.30000000000000004. */
    double sum = 0.1 + 0.2;
    assert_true(same_bits(sum, 0.30000000000000004));

    /* ddgan__json_strtod is the same conversion for whole strings. */
    double d = 0;
    assert_int_equal(ddgan__json_strtod("0.5", 3, &d), DDGAN_OK);
    assert_true(d == 0.5);
    tu_assert_status(ddgan__json_strtod("0.5x", 4, &d), DDGAN_ERR_FORMAT, "extra characters");
    tu_assert_status(ddgan__json_strtod("inf", 3, &d), DDGAN_ERR_FORMAT, "not a number");
    tu_assert_status(ddgan__json_strtod(" 1", 2, &d), DDGAN_ERR_FORMAT, "not a number");
    tu_assert_status(ddgan__json_strtod("0x10", 4, &d), DDGAN_ERR_FORMAT, NULL);
    tu_assert_status(ddgan__json_strtod("1e999", 5, &d), DDGAN_ERR_FORMAT, "overflows");
}

static void test_double_round_trip(void **state)
{
    (void)state;
    const double values[] = {0.1,
                             1e-8,
                             5e-324,
                             1.7976931348623157e308,
                             -1.7976931348623157e308,
                             -0.0,
                             0.0,
                             0.30000000000000004,
                             2.2250738585072014e-308,
                             2.2250738585072009e-308, /* largest subnormal */
                             1.0 / 3.0,
                             -123456.789e-200,
                             6.02214076e23,
                             1.0,
                             -2.5,
                             9007199254740993.0,
                             4503599627370497.5};
    const size_t n = sizeof values / sizeof values[0];
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    assert_int_equal(ddgan__json_write_array_begin(&w), DDGAN_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ddgan__json_write_double(&w, values[i]), DDGAN_OK);
    assert_int_equal(ddgan__json_write_array_end(&w), DDGAN_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ddgan__json_writer_finish(&w, &text, &len), DDGAN_OK);
    assert_int_equal(strlen(text), len);

    ddgan_json_doc *doc = parse_ok(text);
    const ddgan_json_value *arr = ddgan__json_root(doc);
    assert_int_equal(ddgan__json_length(arr), n);
    for (size_t i = 0; i < n; i++) {
        double d;
        assert_int_equal(ddgan__json_get_number(ddgan__json_array_item(arr, i), &d), DDGAN_OK);
        if (!same_bits(d, values[i])) {
            print_error("value %zu: wrote %.17g, read back %.17g (text %s)\n", i, values[i], d, text);
            fail();
        }
    }
    ddgan__json_free(doc);
    ddgan__free(text);

    /* "%.17g" formatting, as documented. */
    char buf[32];
    size_t blen = 0;
    assert_int_equal(ddgan__json_format_double(buf, sizeof buf, 0.5, &blen), DDGAN_OK);
    assert_string_equal(buf, "0.5");
    assert_int_equal(blen, 3);
    assert_int_equal(ddgan__json_format_double(buf, sizeof buf, 0.1, NULL), DDGAN_OK);
    assert_string_equal(buf, "0.10000000000000001");
    assert_int_equal(ddgan__json_format_double(buf, sizeof buf, -0.0, NULL), DDGAN_OK);
    assert_string_equal(buf, "-0");
    tu_assert_status(ddgan__json_format_double(buf, 4, 0.1, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "too small");
    tu_assert_status(ddgan__json_format_double(buf, sizeof buf, NAN, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "NaN");
}

static void test_int64(void **state)
{
    (void)state;
    ddgan_json_doc *doc = parse_ok("[9223372036854775807, -9223372036854775808, 9223372036854775808,"
                                   " -9223372036854775809, 1.0, 1e2, 0, -7, 18446744073709551616]");
    const ddgan_json_value *a = ddgan__json_root(doc);
    int64_t v = 0;
    double d = 0;
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(a, 0), &v), DDGAN_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(a, 1), &v), DDGAN_OK);
    assert_true(v == INT64_MIN);
    tu_assert_status(ddgan__json_get_int64(ddgan__json_array_item(a, 2), &v), DDGAN_ERR_FORMAT,
                     "outside the int64 range");
    tu_assert_status(ddgan__json_get_int64(ddgan__json_array_item(a, 3), &v), DDGAN_ERR_FORMAT,
                     "outside the int64 range");
    tu_assert_status(ddgan__json_get_int64(ddgan__json_array_item(a, 4), &v), DDGAN_ERR_FORMAT,
                     "not written as an integer");
    tu_assert_status(ddgan__json_get_int64(ddgan__json_array_item(a, 5), &v), DDGAN_ERR_FORMAT,
                     "not written as an integer");
    assert_int_equal(ddgan__json_get_number(ddgan__json_array_item(a, 5), &d), DDGAN_OK);
    assert_true(d == 100.0);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(a, 6), &v), DDGAN_OK);
    assert_true(v == 0);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(a, 7), &v), DDGAN_OK);
    assert_true(v == -7);
    tu_assert_status(ddgan__json_get_int64(ddgan__json_array_item(a, 8), &v), DDGAN_ERR_FORMAT,
                     "int64 range");
    /* The double value of an out-of-range integer is still available. */
    assert_int_equal(ddgan__json_get_number(ddgan__json_array_item(a, 8), &d), DDGAN_OK);
    assert_true(d == 18446744073709551616.0);
    ddgan__json_free(doc);

    /* Writer: int64 extremes come back exactly. */
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    ddgan__json_write_int64(&w, INT64_MIN);
    ddgan__json_write_int64(&w, INT64_MAX);
    ddgan__json_write_int64(&w, -1);
    ddgan__json_write_array_end(&w);
    char *text = NULL;
    assert_int_equal(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_OK);
    assert_string_equal(text, "[-9223372036854775808,9223372036854775807,-1]");
    doc = parse_ok(text);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_array_item(ddgan__json_root(doc), 0), &v), DDGAN_OK);
    assert_true(v == INT64_MIN);
    ddgan__json_free(doc);
    ddgan__free(text);
}

static void test_string_escapes(void **state)
{
    (void)state;
    ddgan_json_doc *doc =
        parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\","
                 " \"a\\u0000b\", \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"\"]");
    const ddgan_json_value *a = ddgan__json_root(doc);
    size_t len = 0;
    const char *s = ddgan__json_string(ddgan__json_array_item(a, 0), &len);
    assert_int_equal(len, 8);
    assert_memory_equal(s, "\"\\/\b\f\n\r\t", 8);
    s = ddgan__json_string(ddgan__json_array_item(a, 1), &len);
    /* A, e-acute (2 bytes), euro (3 bytes), U+1F600 from a surrogate pair (4 bytes) */
    assert_int_equal(len, 1 + 2 + 3 + 4);
    assert_memory_equal(s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);
    assert_int_equal(s[len], '\0');
    s = ddgan__json_string(ddgan__json_array_item(a, 2), &len);
    assert_int_equal(len, 3); /* embedded NUL: the length is authoritative */
    assert_memory_equal(s, "a\0b", 3);
    s = ddgan__json_string(ddgan__json_array_item(a, 3), &len);
    assert_string_equal(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    s = ddgan__json_string(ddgan__json_array_item(a, 4), &len);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    ddgan__json_free(doc);

    /* A key with an embedded NUL is distinct from its prefix, and findable with _n. */
    doc = parse_ok("{\"a\\u0000b\": 1, \"a\": 2}");
    const ddgan_json_value *o = ddgan__json_root(doc);
    int64_t v = 0;
    assert_int_equal(ddgan__json_get_int64(ddgan__json_object_get(o, "a"), &v), DDGAN_OK);
    assert_int_equal(v, 2);
    assert_int_equal(ddgan__json_get_int64(ddgan__json_object_get_n(o, "a\0b", 3), &v), DDGAN_OK);
    assert_int_equal(v, 1);
    ddgan__json_free(doc);

    /* Invalid strings. */
    parse_fail("\"\\x\"", "invalid escape");
    parse_fail("\"\\u12G4\"", "4 hex digits");
    parse_fail("\"\\u12\"", "4 hex digits");
    parse_fail("\"\\ud83d\"", "high surrogate");
    parse_fail("\"\\ud83dx\"", "high surrogate");
    parse_fail("\"\\ud83d\\u0041\"", "high surrogate");
    parse_fail("\"\\ude00\"", "lone low surrogate");
    parse_fail("\"a\tb\"", "raw control character 0x09");
    parse_fail("\"a\nb\"", "raw control character 0x0A");
    parse_fail("\"abc", "unterminated string");
    parse_fail("\"abc\\", "unterminated string");
    parse_fail("\"\xc0\x80\"", "invalid UTF-8");         /* overlong NUL */
    parse_fail("\"\xe0\x80\xaf\"", "invalid UTF-8");     /* overlong '/' */
    parse_fail("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
    parse_fail("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* above U+10FFFF */
    parse_fail("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
    parse_fail("\"\xe2\x82\"", "invalid UTF-8"); /* truncated sequence */
    parse_fail("\"\x80\"", "invalid UTF-8");     /* lone continuation byte */
    parse_fail("\"\xff\"", "invalid UTF-8");

    size_t bad = 99;
    assert_true(ddgan__json_utf8_valid("abc\xc3\xa9", 5, NULL));
    assert_false(ddgan__json_utf8_valid("ab\xc3", 3, &bad));
    assert_int_equal(bad, 2);
}

static void test_writer_strings(void **state)
{
    (void)state;
    /* Every control character, quotes, backslashes and multibyte UTF-8. */
    char raw[64];
    size_t n = 0;
    for (int c = 0; c < 0x20; c++)
        raw[n++] = (char)c;
    memcpy(raw + n, "\"\\/\x7f\xc3\xa9\xf0\x9f\x98\x80", 11);
    n += 11;

    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    assert_int_equal(ddgan__json_write_object_begin(&w), DDGAN_OK);
    assert_int_equal(ddgan__json_write_key_n(&w, raw, n), DDGAN_OK);
    assert_int_equal(ddgan__json_write_string_n(&w, raw, n), DDGAN_OK);
    assert_int_equal(ddgan__json_write_key(&w, "plain"), DDGAN_OK);
    assert_int_equal(ddgan__json_write_string(&w, "tab\there"), DDGAN_OK);
    assert_int_equal(ddgan__json_write_object_end(&w), DDGAN_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ddgan__json_writer_finish(&w, &text, &len), DDGAN_OK);
    /* No raw control characters in the output. */
    for (size_t i = 0; i < len; i++)
        assert_true((unsigned char)text[i] >= 0x20);
    assert_non_null(strstr(text, "\"plain\":\"tab\\there\""));
    assert_non_null(strstr(text, "\\u0000\\u0001"));

    ddgan_json_doc *doc = parse_ok(text);
    const ddgan_json_value *o = ddgan__json_root(doc);
    size_t klen = 0, slen = 0;
    const char *k = ddgan__json_object_key(o, 0, &klen);
    const char *s = ddgan__json_string(ddgan__json_object_value(o, 0), &slen);
    assert_int_equal(klen, n);
    assert_int_equal(slen, n);
    assert_memory_equal(k, raw, n);
    assert_memory_equal(s, raw, n);
    ddgan__json_free(doc);
    ddgan__free(text);

    /* Invalid UTF-8 is refused, and the error is sticky. */
    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    tu_assert_status(ddgan__json_write_string(&w, "bad \xff"), DDGAN_ERR_INVALID_ARGUMENT, "UTF-8");
    assert_int_equal(ddgan__json_write_null(&w), DDGAN_ERR_INVALID_ARGUMENT);
    assert_int_equal(ddgan__json_write_array_end(&w), DDGAN_ERR_INVALID_ARGUMENT);
    text = (char *)1;
    assert_int_equal(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_ERR_INVALID_ARGUMENT);
    assert_null(text);
}

static void test_writer_structure(void **state)
{
    (void)state;
    ddgan_json_writer w;
    char *text = NULL;

    /* Commas and nesting are automatic. */
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "a");
    ddgan__json_write_array_begin(&w);
    ddgan__json_write_int64(&w, 1);
    ddgan__json_write_bool(&w, 1);
    ddgan__json_write_bool(&w, 0);
    ddgan__json_write_null(&w);
    ddgan__json_write_string(&w, "x");
    ddgan__json_write_double(&w, 0.25);
    ddgan__json_write_array_begin(&w);
    ddgan__json_write_array_end(&w);
    ddgan__json_write_array_end(&w);
    ddgan__json_write_key(&w, "b");
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_object_end(&w);
    ddgan__json_write_key(&w, "c");
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "d");
    ddgan__json_write_int64(&w, -3);
    ddgan__json_write_object_end(&w);
    ddgan__json_write_object_end(&w);
    assert_int_equal(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_OK);
    assert_string_equal(text, "{\"a\":[1,true,false,null,\"x\",0.25,[]],\"b\":{},\"c\":{\"d\":-3}}");
    ddgan__free(text);

    /* Misuse is INVALID_ARGUMENT, sticky, and finish frees the buffer. */
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    tu_assert_status(ddgan__json_write_int64(&w, 1), DDGAN_ERR_INVALID_ARGUMENT, "without a key");
    assert_int_equal(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_ERR_INVALID_ARGUMENT);

    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    tu_assert_status(ddgan__json_write_key(&w, "k"), DDGAN_ERR_INVALID_ARGUMENT, "outside an object");
    ddgan__json_writer_free(&w);

    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "k");
    tu_assert_status(ddgan__json_write_key(&w, "k2"), DDGAN_ERR_INVALID_ARGUMENT, "key after a key");
    ddgan__json_writer_free(&w);

    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "k");
    tu_assert_status(ddgan__json_write_object_end(&w), DDGAN_ERR_INVALID_ARGUMENT, "without a value");
    ddgan__json_writer_free(&w);

    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    tu_assert_status(ddgan__json_write_object_end(&w), DDGAN_ERR_INVALID_ARGUMENT, "matching begin");
    ddgan__json_writer_free(&w);

    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    tu_assert_status(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_ERR_INVALID_ARGUMENT, "still open");
    assert_null(text);

    ddgan__json_writer_init(&w);
    tu_assert_status(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "nothing was written");

    ddgan__json_writer_init(&w);
    ddgan__json_write_int64(&w, 1);
    tu_assert_status(ddgan__json_write_int64(&w, 2), DDGAN_ERR_INVALID_ARGUMENT, "second top-level");
    ddgan__json_writer_free(&w);

    /* Depth limit applies to the writer too. */
    ddgan__json_writer_init(&w);
    for (int i = 0; i < DDGAN_JSON_MAX_DEPTH; i++)
        assert_int_equal(ddgan__json_write_array_begin(&w), DDGAN_OK);
    tu_assert_status(ddgan__json_write_array_begin(&w), DDGAN_ERR_INVALID_ARGUMENT, "deeper");
    ddgan__json_writer_free(&w);
}

static void test_writer_non_finite(void **state)
{
    (void)state;
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const char *needle[] = {"NaN", "+infinity", "-infinity"};
    for (int i = 0; i < 3; i++) {
        ddgan_json_writer w;
        ddgan__json_writer_init(&w);
        ddgan__json_write_array_begin(&w);
        ddgan__json_write_double(&w, 1.0);
        tu_assert_status(ddgan__json_write_double(&w, bad[i]), DDGAN_ERR_INVALID_ARGUMENT, needle[i]);
        /* Sticky: the rest is ignored and finish reports the failure. */
        assert_int_equal(ddgan__json_write_array_end(&w), DDGAN_ERR_INVALID_ARGUMENT);
        char *text = (char *)1;
        assert_int_equal(ddgan__json_writer_finish(&w, &text, NULL), DDGAN_ERR_INVALID_ARGUMENT);
        assert_null(text);
    }
    /* And the reader refuses non-finite spellings. */
    parse_fail("NaN", "unexpected 'N'");
    parse_fail("[Infinity]", "unexpected 'I'");
    parse_fail("[-Infinity]", "expected a digit");
    parse_fail("[1e400]", "too large for a double");
    parse_fail("[-1e400]", "too large for a double");
}

static void test_depth_limit(void **state)
{
    (void)state;
    char buf[2 * 200 + 1];
    /* Exactly DDGAN_JSON_MAX_DEPTH nested arrays are fine. */
    int d = DDGAN_JSON_MAX_DEPTH;
    memset(buf, '[', (size_t)d);
    memset(buf + d, ']', (size_t)d);
    buf[2 * d] = '\0';
    ddgan_json_doc *doc = parse_ok(buf);
    ddgan__json_free(doc);
    /* One more is not. */
    d = DDGAN_JSON_MAX_DEPTH + 1;
    memset(buf, '[', (size_t)d);
    memset(buf + d, ']', (size_t)d);
    buf[2 * d] = '\0';
    parse_fail(buf, "nested deeper than 64");
    /* Same with objects. */
    char obj[64 * 8 + 8];
    size_t n = 0;
    for (int i = 0; i < DDGAN_JSON_MAX_DEPTH + 1; i++) {
        memcpy(obj + n, "{\"a\":", 5);
        n += 5;
    }
    parse_fail_n(obj, n, "nested deeper");

    /* A hostile megabyte of '[' must fail cleanly, not exhaust the stack. */
    size_t big = 1 << 20;
    char *deep = malloc(big);
    assert_non_null(deep);
    memset(deep, '[', big);
    parse_fail_n(deep, big, "nested deeper");
    memset(deep, '{', big);
    parse_fail_n(deep, big, "expected a string key");
    free(deep);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    parse_fail("{\"a\": 1, \"b\": 2, \"a\": 3}", "duplicate key \"a\"");
    parse_fail("{\"a\": 1, \"b\": 2, \"a\": 3}", "byte 17");      /* where the duplicate is */
    parse_fail("{\"a\": 1, \"b\": 2, \"a\": 3}", "first at byte 1");
    parse_fail("{\"x\": {\"k\": 1, \"k\": 1}}", "duplicate key \"k\"");
    parse_fail("[{\"k\": 1}, {\"k\": 1, \"\\u006b\": 2}]", "duplicate key \"k\""); /* after unescaping */
    /* Same key in different objects is fine. */
    ddgan_json_doc *doc = parse_ok("[{\"k\": 1}, {\"k\": 2}]");
    ddgan__json_free(doc);

    /* Many keys: no duplicate, every one found by lookup; then one duplicate at the end. */
    const int n = 5000;
    size_t cap = (size_t)n * 24 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    text[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"key%d\":%d", i ? "," : "", (i * 7919) % n, i);
    text[len++] = '}';
    text[len] = '\0';
    doc = parse_ok(text);
    const ddgan_json_value *o = ddgan__json_root(doc);
    assert_int_equal(ddgan__json_length(o), (size_t)n);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "key%d", (i * 7919) % n);
        int64_t v = -1;
        assert_int_equal(ddgan__json_get_int64(ddgan__json_object_get(o, key), &v), DDGAN_OK);
        assert_int_equal(v, i);
    }
    ddgan__json_free(doc);
    len--; /* drop '}' */
    len += (size_t)snprintf(text + len, cap - len, ",\"key%d\":0}", 1234);
    parse_fail(text, "duplicate key \"key1234\"");
    free(text);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"", "byte 0: unexpected end of input"},
        {"   ", "byte 3: unexpected end of input"},
        {"[1,]", "byte 3: trailing comma"},
        {"{\"a\":1,}", "trailing comma"},
        {"[1,,2]", "unexpected ','"},
        {"{,}", "expected a string key"},
        {"{\"a\"}", "expected ':'"},
        {"{\"a\":}", "unexpected '}'"},
        {"{'a':1}", "expected a string key in an object, got '''"},
        {"{1:1}", "expected a string key"},
        {"[1 2]", "expected ',' or ']'"},
        {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
        {"[01]", "leading zeros"},
        {"[-01]", "leading zeros"},
        {"[1.]", "after the decimal point"},
        {"[.5]", "unexpected '.'"},
        {"[+1]", "unexpected '+'"},
        {"[1e]", "in the exponent"},
        {"[1e+]", "in the exponent"},
        {"[-]", "expected a digit"},
        {"[tru]", "expected 'true'"},
        {"[nul]", "expected 'null'"},
        {"[True]", "unexpected 'T'"},
        {"\xef\xbb\xbf{}", "byte 0xEF"}, /* byte order mark */
        {"/* c */ 1", "unexpected '/'"},
        {"{} x", "byte 3: unexpected 'x' after the JSON value"},
        {"1 2", "after the JSON value"},
        {"[1]]", "after the JSON value"},
        {"nulll", "after the JSON value"},
        {"truefalse", "after the JSON value"},
        {"{}{}", "after the JSON value"},
        {"\"a\"\"b\"", "after the JSON value"},
        {"[1]\v", "byte 0x0B"}, /* only the four JSON whitespace bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parse_fail(cases[i].text, cases[i].needle);
    /* A NUL byte inside the input is data, not an end marker. */
    parse_fail_n("[1]\0", 4, "byte 0x00");
    parse_fail_n("[1,\0]", 5, "byte 0x00");
    /* Trailing whitespace is fine. */
    ddgan_json_doc *doc = parse_ok("[1] \t\r\n");
    ddgan__json_free(doc);
}

static void test_truncated(void **state)
{
    (void)state;
    /* Every proper prefix of a document that ends with its closing brace is invalid. */
    const char *text = "{\"a\": [1, -2.5e-3, true, false, null], \"b\\u00e9\": {\"c\": \"\\ud83d\\ude00x\"},"
                       " \"d\": \"caf\xc3\xa9\", \"e\": 12345678901234567890}";
    const size_t len = strlen(text);
    ddgan_json_doc *doc = parse_ok(text);
    ddgan__json_free(doc);
    for (size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes so ASan catches any read past the end. */
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, text, n);
        parse_fail_n(copy, n, NULL);
        free(copy);
    }
}

/* Allocation hooks that fail the n-th allocation. */
typedef struct fail_state {
    int countdown; /* the allocation that fails when this reaches 0; -1 = never */
    int calls;
} fail_state;

static void *failing_malloc(void *user, size_t bytes)
{
    fail_state *fs = user;
    fs->calls++;
    if (fs->countdown >= 0 && fs->countdown-- == 0)
        return NULL;
    return malloc(bytes);
}

static void plain_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    const char *text = "{\"a\": [1, 2, {\"b\": \"a longer string value with \\u00e9\"}], \"c\": 0.5,"
                       " \"d\": [[[]]], \"e\": \"x\"}";
    int saw_ok = 0;
    for (int k = 0; k < 200 && !saw_ok; k++) {
        fail_state fs = {k, 0};
        ddgan_alloc_hooks hooks = {failing_malloc, plain_free, &fs};
        ddgan__alloc_set_hooks(&hooks);
        ddgan_json_doc *doc = NULL;
        ddgan_status_t st = ddgan__json_parse(&doc, text, strlen(text), "test");
        ddgan__alloc_set_hooks(NULL);
        if (st == DDGAN_OK) {
            saw_ok = 1;
            ddgan__json_free(doc);
        } else {
            tu_assert_status(st, DDGAN_ERR_OUT_OF_MEMORY, "cannot allocate");
            assert_null(doc);
        }
    }
    assert_true(saw_ok);

    saw_ok = 0;
    for (int k = 0; k < 200 && !saw_ok; k++) {
        fail_state fs = {k, 0};
        ddgan_alloc_hooks hooks = {failing_malloc, plain_free, &fs};
        ddgan__alloc_set_hooks(&hooks);
        ddgan_json_writer w;
        ddgan__json_writer_init(&w);
        ddgan__json_write_array_begin(&w);
        for (int i = 0; i < 100; i++)
            ddgan__json_write_string(&w, "some text to make the buffer grow");
        ddgan__json_write_array_end(&w);
        char *out = NULL;
        ddgan_status_t st = ddgan__json_writer_finish(&w, &out, NULL);
        ddgan__alloc_set_hooks(NULL);
        if (st == DDGAN_OK) {
            saw_ok = 1;
            ddgan__free(out);
        } else {
            assert_int_equal(st, DDGAN_ERR_OUT_OF_MEMORY);
            assert_null(out);
        }
    }
    assert_true(saw_ok);
}

/* Host programs may switch LC_NUMERIC to a decimal-comma locale; numbers
 * must still be parsed and printed with '.'. */
static void test_locale_independence(void **state)
{
    (void)state;
    const char *candidates[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
                                "de_DE",       "fr_FR",      "nl_NL.UTF-8", "ru_RU.UTF-8",
                                "es_ES.UTF-8", "it_IT.UTF-8", "pt_BR.UTF-8"};
    const char *cur = setlocale(LC_ALL, NULL);
    char *saved = strdup(cur ? cur : "C");
    assert_non_null(saved);
    const char *used = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !used; i++) {
        if (setlocale(LC_ALL, candidates[i]) && strcmp(localeconv()->decimal_point, ",") == 0)
            used = candidates[i];
    }
    if (!used) {
        setlocale(LC_ALL, saved);
        free(saved);
        print_message("[  SKIP    ] no decimal-comma locale (de_DE.UTF-8, fr_FR.UTF-8, ...) is "
                      "installed: locale independence not tested\n");
        skip();
        return;
    }
    /* Collect results first, restore the locale, then assert (a failed
     * assertion must not leave the process in the foreign locale). */
    char probe[32], printed[32], written[64];
    snprintf(probe, sizeof probe, "%.1f", 0.5); /* proves the locale is in effect: "0,5" */
    ddgan_status_t st_fmt = ddgan__json_format_double(printed, sizeof printed, 0.5, NULL);
    double parsed = -1.0, parsed2 = -1.0;
    ddgan_json_doc *doc = NULL;
    ddgan_status_t st_parse = ddgan__json_parse(&doc, "[0.5, 1.25e-3]", 14, "test");
    ddgan_status_t st_get = DDGAN_ERR_INTERNAL;
    if (st_parse == DDGAN_OK) {
        st_get = ddgan__json_get_number(ddgan__json_array_item(ddgan__json_root(doc), 0), &parsed);
        if (st_get == DDGAN_OK)
            st_get = ddgan__json_get_number(ddgan__json_array_item(ddgan__json_root(doc), 1), &parsed2);
        ddgan__json_free(doc);
    }
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_array_begin(&w);
    ddgan__json_write_double(&w, 0.5);
    ddgan__json_write_double(&w, -1234.5);
    ddgan__json_write_array_end(&w);
    char *text = NULL;
    ddgan_status_t st_w = ddgan__json_writer_finish(&w, &text, NULL);
    snprintf(written, sizeof written, "%s", text ? text : "");
    ddgan__free(text);
    setlocale(LC_ALL, saved);
    free(saved);

    print_message("locale %s: printf(\"%%.1f\", 0.5) = \"%s\"\n", used, probe);
    assert_string_equal(probe, "0,5");
    assert_int_equal(st_fmt, DDGAN_OK);
    assert_string_equal(printed, "0.5");
    assert_int_equal(st_parse, DDGAN_OK);
    assert_int_equal(st_get, DDGAN_OK);
    assert_true(parsed == 0.5);
    assert_true(parsed2 == 1.25e-3);
    assert_int_equal(st_w, DDGAN_OK);
    assert_string_equal(written, "[0.5,-1234.5]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_numbers_exact),
        cmocka_unit_test(test_double_round_trip),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_writer_strings),
        cmocka_unit_test(test_writer_structure),
        cmocka_unit_test(test_writer_non_finite),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_locale_independence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
