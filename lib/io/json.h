/* A small JSON (RFC 8259) DOM reader and a streaming writer.
 *
 * Used for the safetensors header, for configs stored in safetensors
 * metadata and for anything else the library exchanges as JSON. Both sides
 * are locale independent: a host program that switched LC_NUMERIC to a
 * decimal-comma locale does not change how numbers are parsed or printed.
 *
 * Reader
 *  - ddgan__json_parse() builds an immutable document; values are borrowed
 *    pointers into it, valid until ddgan__json_free().
 *  - Strict RFC 8259: no comments, no trailing commas, no leading '+', no
 *    leading zeros, no NaN/Infinity, no byte order mark, only the four JSON
 *    whitespace bytes. Exactly one value, optionally surrounded by whitespace;
 *    anything after it is an error.
 *  - Strings: every escape including \uXXXX with surrogate pairs is decoded
 *    to UTF-8; unknown escapes, lone surrogates and raw control characters
 *    (< 0x20) are errors. Raw bytes must be valid UTF-8 (no overlong forms,
 *    no encoded surrogates, nothing above U+10FFFF): invalid UTF-8 is REJECTED,
 *    not passed through. \u0000 is allowed; such a string has an embedded NUL
 *    and its length (not strlen) is authoritative.
 *  - Numbers are stored as a double (correctly rounded, locale independent);
 *    a number whose magnitude overflows a double (e.g. 1e400) is an error,
 *    underflow to a subnormal or zero is accepted. Numbers written without a
 *    fraction or exponent also keep an exact int64 value when they fit.
 *  - Limits against hostile input: containers nest at most
 *    DDGAN_JSON_MAX_DEPTH deep (recursion is bounded by it) and the input is
 *    at most DDGAN_JSON_MAX_INPUT bytes. Memory use is linear in the input.
 *  - Duplicate keys within one object are an error (DDGAN_ERR_FORMAT).
 *  - Every syntax error is DDGAN_ERR_FORMAT with a message
 *    "<what>: byte <offset>: <problem>".
 *
 * Writer
 *  - ddgan_json_writer builds compact JSON in a growable buffer; commas and
 *    the key/value alternation are handled by the writer, and misuse (a value
 *    without a key inside an object, unbalanced end calls, ...) is reported
 *    as DDGAN_ERR_INVALID_ARGUMENT. The first error is sticky: later calls do
 *    nothing and return it, so a sequence of calls can be checked once at
 *    ddgan__json_writer_finish().
 *  - Doubles are printed with "%.17g" (they read back bit-identically);
 *    NaN and infinities are refused (DDGAN_ERR_INVALID_ARGUMENT).
 *  - Strings must be valid UTF-8; '"', '\\' and control characters are
 *    escaped, everything else is written as is.
 *  - The writer does not detect duplicate keys; callers must not write them
 *    (the reader would reject the result).
 */
#ifndef DDGAN_IO_JSON_H
#define DDGAN_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

/* Maximum nesting of arrays/objects accepted by the reader and the writer. */
#define DDGAN_JSON_MAX_DEPTH 64
/* Largest input the reader accepts (bytes). */
#define DDGAN_JSON_MAX_INPUT ((size_t)1 << 30)

typedef enum ddgan_json_type {
    DDGAN_JSON_NULL = 0,
    DDGAN_JSON_BOOL,
    DDGAN_JSON_NUMBER,
    DDGAN_JSON_STRING,
    DDGAN_JSON_ARRAY,
    DDGAN_JSON_OBJECT
} ddgan_json_type;

typedef struct ddgan_json_doc ddgan_json_doc;
typedef struct ddgan_json_value ddgan_json_value;

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

/* Parses `len` bytes of `text` (need not be NUL-terminated). `what` names the
 * input in messages (e.g. "safetensors: model.st: header"; NULL -> "json").
 * On failure *out is NULL. */
ddgan_status_t ddgan__json_parse(ddgan_json_doc **out, const char *text, size_t len,
                                 const char *what);
/* Frees a document; NULL is a no-op. */
void ddgan__json_free(ddgan_json_doc *doc);
/* The top-level value (never NULL for a parsed document). */
const ddgan_json_value *ddgan__json_root(const ddgan_json_doc *doc);

/* Type of a value, and its lower-case name ("null", "bool", "number", ...). */
ddgan_json_type ddgan__json_type(const ddgan_json_value *v);
const char *ddgan__json_type_name(ddgan_json_type type);
/* Byte offset of the value's first character in the parsed text (for messages). */
size_t ddgan__json_offset(const ddgan_json_value *v);

/* Typed getters: DDGAN_ERR_FORMAT (message names the offset and the actual
 * type) when the value has another type. */
ddgan_status_t ddgan__json_get_number(const ddgan_json_value *v, double *out);
/* Exact integer: only numbers written as integers (no fraction, no exponent:
 * "3" but not "3.0" or "3e0") whose value fits int64. */
ddgan_status_t ddgan__json_get_int64(const ddgan_json_value *v, int64_t *out);
/* *out = 0 or 1. */
ddgan_status_t ddgan__json_get_bool(const ddgan_json_value *v, int *out);

/* String contents (NUL-terminated, valid UTF-8; may contain embedded NULs
 * from \u0000, see *len), or NULL when v is not a string. len may be NULL. */
const char *ddgan__json_string(const ddgan_json_value *v, size_t *len);

/* Number of items of an array or members of an object; 0 for other types. */
size_t ddgan__json_length(const ddgan_json_value *v);
/* Item i of an array; NULL when v is not an array or i is out of range. */
const ddgan_json_value *ddgan__json_array_item(const ddgan_json_value *v, size_t i);
/* Key / value of member i of an object, in document order; NULL when v is not
 * an object or i is out of range. len may be NULL. */
const char *ddgan__json_object_key(const ddgan_json_value *v, size_t i, size_t *len);
const ddgan_json_value *ddgan__json_object_value(const ddgan_json_value *v, size_t i);
/* Value for a NUL-terminated key (O(log n)); NULL when absent or v is not an object. */
const ddgan_json_value *ddgan__json_object_get(const ddgan_json_value *v, const char *key);
/* Same for a key of explicit length (may contain NULs). */
const ddgan_json_value *ddgan__json_object_get_n(const ddgan_json_value *v, const char *key,
                                                 size_t key_len);

/* Returns 1 when s[0..len) is valid UTF-8 (the reader's rules), else 0 and,
 * if bad_offset is not NULL, the offset of the first invalid byte. */
int ddgan__json_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

/* Transparent so it can live on the stack; treat the fields as private. */
typedef struct ddgan_json_writer {
    char *buf;
    size_t len, cap;
    ddgan_status_t status; /* first error, sticky */
    int depth;
    int done;              /* a complete top-level value was written */
    /* Per open container: 'a' or 'o', whether it has items, whether a key is pending. */
    char kind[DDGAN_JSON_MAX_DEPTH];
    unsigned char has_items[DDGAN_JSON_MAX_DEPTH];
    unsigned char key_pending[DDGAN_JSON_MAX_DEPTH];
} ddgan_json_writer;

void ddgan__json_writer_init(ddgan_json_writer *w);
/* Releases the buffer (needed only when finish was not called or failed). */
void ddgan__json_writer_free(ddgan_json_writer *w);

ddgan_status_t ddgan__json_write_object_begin(ddgan_json_writer *w);
ddgan_status_t ddgan__json_write_object_end(ddgan_json_writer *w);
ddgan_status_t ddgan__json_write_array_begin(ddgan_json_writer *w);
ddgan_status_t ddgan__json_write_array_end(ddgan_json_writer *w);
/* An object key; the next call must write its value. */
ddgan_status_t ddgan__json_write_key(ddgan_json_writer *w, const char *key);
ddgan_status_t ddgan__json_write_key_n(ddgan_json_writer *w, const char *key, size_t len);
ddgan_status_t ddgan__json_write_string(ddgan_json_writer *w, const char *s);
ddgan_status_t ddgan__json_write_string_n(ddgan_json_writer *w, const char *s, size_t len);
ddgan_status_t ddgan__json_write_double(ddgan_json_writer *w, double x);
ddgan_status_t ddgan__json_write_int64(ddgan_json_writer *w, int64_t x);
ddgan_status_t ddgan__json_write_bool(ddgan_json_writer *w, int b);
ddgan_status_t ddgan__json_write_null(ddgan_json_writer *w);

/* Checks that exactly one complete value was written and hands over the text:
 * *out is NUL-terminated, allocated with ddgan__malloc (free with
 * ddgan__free); *len (may be NULL) excludes the NUL. The writer is left empty
 * either way (no need to call ddgan__json_writer_free afterwards). */
ddgan_status_t ddgan__json_writer_finish(ddgan_json_writer *w, char **out, size_t *len);

/* Locale-independent conversions used by the reader and the writer, exposed
 * for other modules that print or parse numbers outside JSON text.
 * format_double: "%.17g" of a finite double into buf (32 bytes always
 * suffice), *len (may be NULL) set to its length; DDGAN_ERR_INVALID_ARGUMENT
 * for NaN/infinity or a too small buffer.
 * strtod: s[0..len) must be exactly one number in JSON syntax (no spaces, no
 * hex, no "inf"); DDGAN_ERR_FORMAT otherwise or when it overflows a double
 * (underflow to a subnormal or zero is accepted). */
ddgan_status_t ddgan__json_format_double(char *buf, size_t size, double x, size_t *len);
ddgan_status_t ddgan__json_strtod(const char *s, size_t len, double *out);

#endif
