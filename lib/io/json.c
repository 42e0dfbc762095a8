/* JSON reader and writer; see json.h for the exact dialect and limits.
 *
 * Reader layout: the parser appends nodes to one growable array, string
 * contents to one growable pool, and the children of every container to one
 * "kids" array (children are collected on a scratch stack while the container
 * is open, then copied contiguously when it closes, so item i is O(1)).
 * Everything refers to everything else by index while the arrays may still
 * move; a final pass turns the indices into pointers. An object's kids are
 * [key0, value0, key1, value1, ..., s0, s1, ...] where s_k are member numbers
 * sorted by key: sorting finds duplicate keys in O(n log n) (hostile headers
 * can have millions of members) and makes lookup by key a binary search.
 */
#include "io/json.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The "C" locale, created once                                             */
/* ------------------------------------------------------------------------ */

/* strtod/printf follow LC_NUMERIC, which the host program may have set to a
 * decimal-comma locale. We parse with strtod_l and print under uselocale(),
 * both with a private "C" locale object that lives until the process exits. */
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;
static locale_t g_c_locale = (locale_t)0;
static int g_c_locale_errno = 0;

static void c_locale_init(void)
{
    g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (g_c_locale == (locale_t)0)
        g_c_locale_errno = errno;
}

static ddgan_status_t get_c_locale(locale_t *out)
{
    if (pthread_once(&g_c_locale_once, c_locale_init) != 0)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "json: pthread_once failed while creating the C locale");
    if (g_c_locale == (locale_t)0)
        return DDGAN_ERR(g_c_locale_errno == ENOMEM ? DDGAN_ERR_OUT_OF_MEMORY : DDGAN_ERR_INTERNAL,
                         "json: newlocale(LC_ALL_MASK, \"C\") failed (errno %d)", g_c_locale_errno);
    *out = g_c_locale;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Small helpers shared by reader and writer                                */
/* ------------------------------------------------------------------------ */

/* Grows *buf (elements of `elem` bytes, capacity *cap) to hold `need`
 * elements. There is no ddgan__realloc, so this is malloc + copy + free. */
static ddgan_status_t grow(void **buf, size_t *cap, size_t used, size_t need, size_t elem,
                           const char *what)
{
    if (need <= *cap)
        return DDGAN_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > ((size_t)-1) / 2)
            return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "%s: capacity %zu overflows", what, need);
        ncap *= 2;
    }
    size_t bytes;
    if (!ddgan__mul_size(ncap, elem, &bytes))
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "%s: %zu x %zu bytes overflows", what, ncap, elem);
    void *nb = ddgan__malloc(bytes, what);
    if (!nb)
        return DDGAN_ERR_OUT_OF_MEMORY;
    if (used)
        memcpy(nb, *buf, used * elem);
    ddgan__free(*buf);
    *buf = nb;
    *cap = ncap;
    return DDGAN_OK;
}

/* Length of the valid UTF-8 sequence at s (avail bytes left), 0 if invalid.
 * Rejects overlong forms, UTF-16 surrogates and code points above U+10FFFF
 * (RFC 3629 table 3-7). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

int ddgan__json_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq_len(u + i, len - i);
        if (!n) {
            if (bad_offset)
                *bad_offset = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

/* Describes byte c for a message: "'x'" when printable ASCII, else "byte 0xNN". */
static const char *describe_byte(unsigned char c, char buf[16])
{
    if (c >= 0x21 && c <= 0x7E)
        snprintf(buf, 16, "'%c'", (char)c);
    else if (c == ' ')
        snprintf(buf, 16, "' '");
    else
        snprintf(buf, 16, "byte 0x%02X", (unsigned)c);
    return buf;
}

/* Validates the JSON number grammar  -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * starting at s[i]. On success returns NULL and sets *end and *is_int (no
 * fraction, no exponent); otherwise returns the problem and sets *err_at. */
static const char *scan_number(const unsigned char *s, size_t len, size_t i, size_t *end,
                               int *is_int, size_t *err_at)
{
#define DIGIT(k) ((k) < len && s[(k)] >= '0' && s[(k)] <= '9')
    *is_int = 1;
    if (i < len && s[i] == '-')
        i++;
    if (!DIGIT(i)) {
        *err_at = i;
        return "expected a digit";
    }
    if (s[i] == '0') {
        i++;
        if (DIGIT(i)) {
            *err_at = i;
            return "leading zeros are not allowed in numbers";
        }
    } else {
        while (DIGIT(i))
            i++;
    }
    if (i < len && s[i] == '.') {
        *is_int = 0;
        i++;
        if (!DIGIT(i)) {
            *err_at = i;
            return "expected a digit after the decimal point";
        }
        while (DIGIT(i))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!DIGIT(i)) {
            *err_at = i;
            return "expected a digit in the exponent";
        }
        while (DIGIT(i))
            i++;
    }
    *end = i;
    return NULL;
#undef DIGIT
}

/* strtod_l of a grammar-checked token (not NUL-terminated). Sets *overflow
 * when the magnitude is too large for a double. */
static ddgan_status_t token_to_double(const char *tok, size_t n, double *out, int *overflow)
{
    locale_t c = (locale_t)0;
    DDGAN_TRY(get_c_locale(&c));
    char small[64];
    char *buf = small;
    if (n >= sizeof small) {
        size_t bytes = n + 1; /* n < input size, no overflow */
        buf = ddgan__malloc(bytes, "json: number");
        if (!buf)
            return DDGAN_ERR_OUT_OF_MEMORY;
    }
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    double d = strtod_l(buf, &end, c);
    int range = errno == ERANGE;
    int complete = end == buf + n;
    if (buf != small)
        ddgan__free(buf);
    if (!complete) /* cannot happen for a grammar-checked token */
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "json: strtod_l stopped early in a number token");
    *overflow = range && isinf(d);
    *out = d;
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_strtod(const char *s, size_t len, double *out)
{
    size_t end = 0, err_at = 0;
    int is_int, overflow = 0;
    if (!s || !out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__json_strtod: NULL argument");
    const char *problem = scan_number((const unsigned char *)s, len, 0, &end, &is_int, &err_at);
    if (problem)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "json: \"%.*s\" is not a number: %s at byte %zu",
                         (int)(len < 64 ? len : 64), s, problem, err_at);
    if (end != len)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "json: \"%.*s\" is not a number: extra characters at byte %zu",
                         (int)(len < 64 ? len : 64), s, end);
    double d;
    DDGAN_TRY(token_to_double(s, len, &d, &overflow));
    if (overflow)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "json: number \"%.*s\" overflows a double",
                         (int)(len < 64 ? len : 64), s);
    *out = d;
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_format_double(char *buf, size_t size, double x, size_t *len)
{
    if (!buf)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__json_format_double: buf is NULL");
    if (!isfinite(x))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "json: %s cannot be written as JSON",
                         isnan(x) ? "NaN" : (x > 0 ? "+infinity" : "-infinity"));
    locale_t c = (locale_t)0;
    DDGAN_TRY(get_c_locale(&c));
    /* uselocale switches only this thread, so other threads are unaffected. */
    locale_t old = uselocale(c);
    if (old == (locale_t)0)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "json: uselocale failed (errno %d)", errno);
    int n = snprintf(buf, size, "%.17g", x);
    uselocale(old);
    if (n < 0 || (size_t)n >= size)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "json: a %zu-byte buffer is too small to print a double", size);
    if (len)
        *len = (size_t)n;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

/* A child reference: an index while parsing, a pointer afterwards. */
typedef union json_slot {
    size_t idx;
    const struct ddgan_json_value *ptr;
} json_slot;

enum { INT_NONE = 0, INT_EXACT = 1, INT_RANGE = 2 };

struct ddgan_json_value {
    unsigned char type;      /* ddgan_json_type */
    unsigned char int_state; /* numbers: INT_NONE / INT_EXACT / INT_RANGE */
    unsigned char boolean;
    size_t offset; /* byte offset of the value in the input */
    union {
        struct {
            double d;
            int64_t i;
        } num;
        struct {
            size_t off, len;
        } str_tmp; /* while parsing: offset into the pool */
        struct {
            const char *s;
            size_t len;
        } str;
        struct {
            size_t first, count;
        } cont_tmp; /* while parsing: offset into kids */
        struct {
            json_slot *items;
            size_t count;
        } cont;
    } u;
};

struct ddgan_json_doc {
    struct ddgan_json_value *nodes;
    json_slot *kids;
    char *pool;
};

typedef struct json_parser {
    const unsigned char *p;
    size_t len, pos;
    const char *what;
    int depth;
    struct ddgan_json_value *nodes;
    size_t nnodes, ncap;
    json_slot *kids;
    size_t nkids, kcap;
    size_t *stack; /* children of the open containers */
    size_t nstack, scap;
    char *pool;
    size_t npool, pcap;
} json_parser;

static ddgan_status_t perr(json_parser *P, size_t at, const char *fmt, ...) DDGAN_PRINTF(3, 4);
static ddgan_status_t perr(json_parser *P, size_t at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: byte %zu: %s", P->what, at, msg);
}

static void skip_ws(json_parser *P)
{
    while (P->pos < P->len) {
        unsigned char c = P->p[P->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        P->pos++;
    }
}

static ddgan_status_t new_node(json_parser *P, ddgan_json_type type, size_t offset, size_t *idx)
{
    void *b = P->nodes;
    DDGAN_TRY(grow(&b, &P->ncap, P->nnodes, P->nnodes + 1, sizeof *P->nodes, "json: nodes"));
    P->nodes = b;
    struct ddgan_json_value *v = &P->nodes[P->nnodes];
    memset(v, 0, sizeof *v);
    v->type = (unsigned char)type;
    v->offset = offset;
    *idx = P->nnodes++;
    return DDGAN_OK;
}

static ddgan_status_t push_stack(json_parser *P, size_t idx)
{
    void *b = P->stack;
    DDGAN_TRY(grow(&b, &P->scap, P->nstack, P->nstack + 1, sizeof *P->stack, "json: stack"));
    P->stack = b;
    P->stack[P->nstack++] = idx;
    return DDGAN_OK;
}

static ddgan_status_t pool_put(json_parser *P, const void *bytes, size_t n)
{
    void *b = P->pool;
    if (n > ((size_t)-1) - P->npool)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "json: string pool overflows");
    DDGAN_TRY(grow(&b, &P->pcap, P->npool, P->npool + n, 1, "json: strings"));
    P->pool = b;
    memcpy(P->pool + P->npool, bytes, n);
    P->npool += n;
    return DDGAN_OK;
}

static ddgan_status_t pool_put_cp(json_parser *P, uint32_t cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return pool_put(P, u, n);
}

/* Reads 4 hex digits at P->p[at]; returns 0 when they are not all hex. */
static int read_hex4(const json_parser *P, size_t at, uint32_t *out)
{
    if (at > P->len || P->len - at < 4)
        return 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = P->p[at + k];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* Parses the string starting at the '"' at P->pos into the pool (decoded,
 * NUL-terminated); returns its pool offset and length. */
static ddgan_status_t parse_string(json_parser *P, size_t *out_off, size_t *out_len)
{
    const size_t start = P->pos;
    const size_t off = P->npool;
    char cb[16];
    P->pos++; /* opening quote */
    for (;;) {
        if (P->pos >= P->len)
            return perr(P, start, "unterminated string");
        unsigned char c = P->p[P->pos];
        if (c == '"') {
            P->pos++;
            break;
        }
        if (c == '\\') {
            size_t esc = P->pos;
            if (esc + 1 >= P->len)
                return perr(P, start, "unterminated string");
            unsigned char e = P->p[esc + 1];
            char out;
            switch (e) {
            case '"': out = '"'; break;
            case '\\': out = '\\'; break;
            case '/': out = '/'; break;
            case 'b': out = '\b'; break;
            case 'f': out = '\f'; break;
            case 'n': out = '\n'; break;
            case 'r': out = '\r'; break;
            case 't': out = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!read_hex4(P, esc + 2, &cp))
                    return perr(P, esc, "\\u must be followed by 4 hex digits");
                P->pos = esc + 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return perr(P, esc, "lone low surrogate \\u%04X", (unsigned)cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (P->pos + 1 >= P->len || P->p[P->pos] != '\\' || P->p[P->pos + 1] != 'u' ||
                        !read_hex4(P, P->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return perr(P, esc, "high surrogate \\u%04X is not followed by a \\u low surrogate",
                                    (unsigned)cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    P->pos += 6;
                }
                DDGAN_TRY(pool_put_cp(P, cp));
                continue;
            }
            default:
                return perr(P, esc, "invalid escape sequence '\\' followed by %s", describe_byte(e, cb));
            }
            DDGAN_TRY(pool_put(P, &out, 1));
            P->pos = esc + 2;
            continue;
        }
        if (c < 0x20)
            return perr(P, P->pos, "raw control character 0x%02X in a string (must be escaped)",
                        (unsigned)c);
        if (c < 0x80) {
            /* Copy a run of plain ASCII at once. */
            size_t run = P->pos + 1;
            while (run < P->len && P->p[run] >= 0x20 && P->p[run] < 0x80 && P->p[run] != '"' &&
                   P->p[run] != '\\')
                run++;
            DDGAN_TRY(pool_put(P, P->p + P->pos, run - P->pos));
            P->pos = run;
            continue;
        }
        size_t n = utf8_seq_len(P->p + P->pos, P->len - P->pos);
        if (!n)
            return perr(P, P->pos, "invalid UTF-8 sequence in a string (starts with byte 0x%02X)",
                        (unsigned)c);
        DDGAN_TRY(pool_put(P, P->p + P->pos, n));
        P->pos += n;
    }
    const char nul = '\0';
    DDGAN_TRY(pool_put(P, &nul, 1));
    *out_off = off;
    *out_len = P->npool - off - 1;
    return DDGAN_OK;
}

static ddgan_status_t parse_number(json_parser *P, size_t *out_idx)
{
    const size_t start = P->pos;
    size_t end = 0, err_at = 0;
    int is_int = 0, overflow = 0;
    const char *problem = scan_number(P->p, P->len, start, &end, &is_int, &err_at);
    if (problem)
        return perr(P, err_at, "invalid number: %s", problem);
    const size_t n = end - start;
    const char *tok = (const char *)P->p + start;
    double d;
    DDGAN_TRY(token_to_double(tok, n, &d, &overflow));
    if (overflow)
        return perr(P, start, "number %.*s%s is too large for a double", (int)(n < 40 ? n : 40), tok,
                    n < 40 ? "" : "...");
    size_t idx;
    DDGAN_TRY(new_node(P, DDGAN_JSON_NUMBER, start, &idx));
    struct ddgan_json_value *v = &P->nodes[idx];
    v->u.num.d = d;
    if (is_int) {
        /* Exact integer value: accumulate the magnitude in uint64. */
        size_t k = start;
        int neg = 0;
        if (P->p[k] == '-') {
            neg = 1;
            k++;
        }
        uint64_t mag = 0;
        int range = 0;
        for (; k < end; k++) {
            uint64_t dgt = (uint64_t)(P->p[k] - '0');
            if (mag > (UINT64_MAX - dgt) / 10) {
                range = 1;
                break;
            }
            mag = mag * 10 + dgt;
        }
        const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
        if (range || mag > lim) {
            v->int_state = INT_RANGE;
        } else {
            v->int_state = INT_EXACT;
            /* -(mag) without overflowing for INT64_MIN */
            v->u.num.i = neg ? (mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag)
                             : (int64_t)mag;
        }
    }
    P->pos = end;
    *out_idx = idx;
    return DDGAN_OK;
}

static ddgan_status_t parse_literal(json_parser *P, const char *word, ddgan_json_type type,
                                    int boolean, size_t *out_idx)
{
    const size_t n = strlen(word);
    if (P->len - P->pos < n || memcmp(P->p + P->pos, word, n) != 0)
        return perr(P, P->pos, "invalid literal (expected '%s')", word);
    DDGAN_TRY(new_node(P, type, P->pos, out_idx));
    P->nodes[*out_idx].boolean = (unsigned char)boolean;
    P->pos += n;
    return DDGAN_OK;
}

/* Moves the n child references on the scratch stack above `base` (plus
 * `extra` zeroed slots) to kids and pops them; returns the first kids index. */
static ddgan_status_t append_kids(json_parser *P, size_t base, size_t n, size_t extra,
                                  size_t *first)
{
    void *b = P->kids;
    size_t total = n + extra;
    if (total < n || total > ((size_t)-1) - P->nkids)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "json: too many children");
    DDGAN_TRY(grow(&b, &P->kcap, P->nkids, P->nkids + total, sizeof *P->kids, "json: children"));
    P->kids = b;
    *first = P->nkids;
    for (size_t i = 0; i < n; i++)
        P->kids[P->nkids + i].idx = P->stack[base + i];
    for (size_t i = 0; i < extra; i++)
        P->kids[P->nkids + n + i].idx = 0;
    P->nkids += total;
    return DDGAN_OK;
}

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    size_t n = la < lb ? la : lb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return la < lb ? -1 : (la > lb ? 1 : 0);
}

/* Compares the keys of members ma and mb of the object whose pairs start at kids[first]. */
static int member_cmp(const json_parser *P, size_t first, size_t ma, size_t mb)
{
    const struct ddgan_json_value *a = &P->nodes[P->kids[first + 2 * ma].idx];
    const struct ddgan_json_value *b = &P->nodes[P->kids[first + 2 * mb].idx];
    return bytes_cmp(P->pool + a->u.str_tmp.off, a->u.str_tmp.len, P->pool + b->u.str_tmp.off,
                     b->u.str_tmp.len);
}

/* In-place heapsort (no allocation, O(n log n) worst case) of the member
 * numbers in s[0..n) by key. Ties are broken by member number so the
 * order is total and deterministic. */
static int member_less(const json_parser *P, size_t first, size_t ma, size_t mb)
{
    int c = member_cmp(P, first, ma, mb);
    return c < 0 || (c == 0 && ma < mb);
}

static void sift_down(const json_parser *P, size_t first, json_slot *s, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && member_less(P, first, s[child].idx, s[child + 1].idx))
            child++;
        if (!member_less(P, first, s[root].idx, s[child].idx))
            return;
        size_t t = s[root].idx;
        s[root].idx = s[child].idx;
        s[child].idx = t;
        root = child;
    }
}

static void sort_members(const json_parser *P, size_t first, json_slot *s, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(P, first, s, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        size_t t = s[0].idx;
        s[0].idx = s[end].idx;
        s[end].idx = t;
        sift_down(P, first, s, 0, end);
    }
}

/* A key for a message: at most 64 bytes, non-printable bytes as '?'. */
static void printable_key(const char *k, size_t len, char out[80])
{
    size_t n = len < 64 ? len : 64, j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        out[j++] = (c >= 0x20 && c != 0x7F) ? (char)c : '?';
    }
    if (len > n) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

static ddgan_status_t parse_value(json_parser *P, size_t *out_idx);

static ddgan_status_t parse_array(json_parser *P, size_t *out_idx)
{
    const size_t at = P->pos;
    char cb[16];
    if (P->depth >= DDGAN_JSON_MAX_DEPTH)
        return perr(P, at, "arrays/objects nested deeper than %d levels", DDGAN_JSON_MAX_DEPTH);
    P->depth++;
    size_t self;
    DDGAN_TRY(new_node(P, DDGAN_JSON_ARRAY, at, &self));
    P->pos++;
    const size_t base = P->nstack;
    skip_ws(P);
    if (P->pos < P->len && P->p[P->pos] == ']') {
        P->pos++;
    } else {
        for (;;) {
            size_t item;
            DDGAN_TRY(parse_value(P, &item));
            DDGAN_TRY(push_stack(P, item));
            skip_ws(P);
            if (P->pos >= P->len)
                return perr(P, P->pos, "unexpected end of input in the array opened at byte %zu", at);
            unsigned char c = P->p[P->pos];
            if (c == ']') {
                P->pos++;
                break;
            }
            if (c != ',')
                return perr(P, P->pos, "expected ',' or ']' in an array, got %s", describe_byte(c, cb));
            P->pos++;
            skip_ws(P);
            if (P->pos < P->len && P->p[P->pos] == ']')
                return perr(P, P->pos, "trailing comma before ']'");
        }
    }
    const size_t n = P->nstack - base;
    size_t first = 0;
    DDGAN_TRY(append_kids(P, base, n, 0, &first));
    P->nstack = base;
    P->nodes[self].u.cont_tmp.first = first;
    P->nodes[self].u.cont_tmp.count = n;
    P->depth--;
    *out_idx = self;
    return DDGAN_OK;
}

static ddgan_status_t parse_object(json_parser *P, size_t *out_idx)
{
    const size_t at = P->pos;
    char cb[16];
    if (P->depth >= DDGAN_JSON_MAX_DEPTH)
        return perr(P, at, "arrays/objects nested deeper than %d levels", DDGAN_JSON_MAX_DEPTH);
    P->depth++;
    size_t self;
    DDGAN_TRY(new_node(P, DDGAN_JSON_OBJECT, at, &self));
    P->pos++;
    const size_t base = P->nstack;
    skip_ws(P);
    if (P->pos < P->len && P->p[P->pos] == '}') {
        P->pos++;
    } else {
        for (;;) {
            skip_ws(P);
            if (P->pos >= P->len)
                return perr(P, P->pos, "unexpected end of input in the object opened at byte %zu", at);
            unsigned char c = P->p[P->pos];
            if (c != '"')
                return perr(P, P->pos, "expected a string key in an object, got %s",
                            describe_byte(c, cb));
            const size_t kat = P->pos;
            size_t koff, klen, key, value;
            DDGAN_TRY(parse_string(P, &koff, &klen));
            DDGAN_TRY(new_node(P, DDGAN_JSON_STRING, kat, &key));
            P->nodes[key].u.str_tmp.off = koff;
            P->nodes[key].u.str_tmp.len = klen;
            skip_ws(P);
            if (P->pos >= P->len)
                return perr(P, P->pos, "unexpected end of input after an object key");
            if (P->p[P->pos] != ':')
                return perr(P, P->pos, "expected ':' after an object key, got %s",
                            describe_byte(P->p[P->pos], cb));
            P->pos++;
            DDGAN_TRY(parse_value(P, &value));
            DDGAN_TRY(push_stack(P, key));
            DDGAN_TRY(push_stack(P, value));
            skip_ws(P);
            if (P->pos >= P->len)
                return perr(P, P->pos, "unexpected end of input in the object opened at byte %zu", at);
            c = P->p[P->pos];
            if (c == '}') {
                P->pos++;
                break;
            }
            if (c != ',')
                return perr(P, P->pos, "expected ',' or '}' in an object, got %s", describe_byte(c, cb));
            P->pos++;
            skip_ws(P);
            if (P->pos < P->len && P->p[P->pos] == '}')
                return perr(P, P->pos, "trailing comma before '}'");
        }
    }
    const size_t n = (P->nstack - base) / 2;
    size_t first = 0;
    DDGAN_TRY(append_kids(P, base, 2 * n, n, &first));
    P->nstack = base;
    /* (no pointer arithmetic on kids when it may still be NULL: n == 0) */
    json_slot *sorted = n ? P->kids + first + 2 * n : NULL;
    for (size_t m = 0; m < n; m++)
        sorted[m].idx = m;
    sort_members(P, first, sorted, n);
    for (size_t m = 1; m < n; m++) {
        if (member_cmp(P, first, sorted[m - 1].idx, sorted[m].idx) == 0) {
            /* Ties are ordered by member number: [m] is the later one. */
            const struct ddgan_json_value *k1 = &P->nodes[P->kids[first + 2 * sorted[m - 1].idx].idx];
            const struct ddgan_json_value *k2 = &P->nodes[P->kids[first + 2 * sorted[m].idx].idx];
            char kb[80];
            printable_key(P->pool + k2->u.str_tmp.off, k2->u.str_tmp.len, kb);
            return perr(P, k2->offset, "duplicate key \"%s\" (first at byte %zu)", kb, k1->offset);
        }
    }
    P->nodes[self].u.cont_tmp.first = first;
    P->nodes[self].u.cont_tmp.count = n;
    P->depth--;
    *out_idx = self;
    return DDGAN_OK;
}

static ddgan_status_t parse_value(json_parser *P, size_t *out_idx)
{
    char cb[16];
    skip_ws(P);
    if (P->pos >= P->len)
        return perr(P, P->pos, "unexpected end of input, expected a value");
    unsigned char c = P->p[P->pos];
    switch (c) {
    case '{':
        return parse_object(P, out_idx);
    case '[':
        return parse_array(P, out_idx);
    case '"': {
        const size_t at = P->pos;
        size_t off, len;
        DDGAN_TRY(parse_string(P, &off, &len));
        DDGAN_TRY(new_node(P, DDGAN_JSON_STRING, at, out_idx));
        P->nodes[*out_idx].u.str_tmp.off = off;
        P->nodes[*out_idx].u.str_tmp.len = len;
        return DDGAN_OK;
    }
    case 't':
        return parse_literal(P, "true", DDGAN_JSON_BOOL, 1, out_idx);
    case 'f':
        return parse_literal(P, "false", DDGAN_JSON_BOOL, 0, out_idx);
    case 'n':
        return parse_literal(P, "null", DDGAN_JSON_NULL, 0, out_idx);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(P, out_idx);
        return perr(P, P->pos, "unexpected %s, expected a value", describe_byte(c, cb));
    }
}

static void parser_release(json_parser *P)
{
    ddgan__free(P->nodes);
    ddgan__free(P->kids);
    ddgan__free(P->stack);
    ddgan__free(P->pool);
}

ddgan_status_t ddgan__json_parse(ddgan_json_doc **out, const char *text, size_t len, const char *what)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__json_parse: out is NULL");
    *out = NULL;
    if (!what)
        what = "json";
    if (!text && len)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: text is NULL", what);
    if (len > DDGAN_JSON_MAX_INPUT)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %zu bytes exceed the JSON input limit of %zu bytes",
                         what, len, DDGAN_JSON_MAX_INPUT);
    json_parser P;
    memset(&P, 0, sizeof P);
    P.p = (const unsigned char *)text;
    P.len = len;
    P.what = what;

    size_t root;
    ddgan_status_t st = parse_value(&P, &root);
    if (st == DDGAN_OK) {
        skip_ws(&P);
        if (P.pos < P.len) {
            char cb[16];
            st = perr(&P, P.pos, "unexpected %s after the JSON value",
                      describe_byte(P.p[P.pos], cb));
        }
    }
    ddgan_json_doc *doc = NULL;
    if (st == DDGAN_OK) {
        doc = ddgan__malloc(sizeof *doc, "json: document");
        if (!doc)
            st = DDGAN_ERR_OUT_OF_MEMORY;
    }
    if (st != DDGAN_OK) {
        parser_release(&P);
        return st;
    }
    /* root is node 0: every value allocates its node before its children. */
    (void)root;
    /* Final pass: indices -> pointers (nothing moves any more). */
    for (size_t i = 0; i < P.nnodes; i++) {
        struct ddgan_json_value *v = &P.nodes[i];
        if (v->type == DDGAN_JSON_STRING) {
            size_t off = v->u.str_tmp.off, slen = v->u.str_tmp.len;
            v->u.str.s = P.pool + off;
            v->u.str.len = slen;
        } else if (v->type == DDGAN_JSON_ARRAY || v->type == DDGAN_JSON_OBJECT) {
            size_t first = v->u.cont_tmp.first, count = v->u.cont_tmp.count;
            size_t nref = v->type == DDGAN_JSON_OBJECT ? 2 * count : count;
            json_slot *items = count ? P.kids + first : NULL;
            for (size_t k = 0; k < nref; k++)
                items[k].ptr = &P.nodes[items[k].idx];
            v->u.cont.items = items;
            v->u.cont.count = count;
        }
    }
    doc->nodes = P.nodes;
    doc->kids = P.kids;
    doc->pool = P.pool;
    ddgan__free(P.stack);
    *out = doc;
    return DDGAN_OK;
}

void ddgan__json_free(ddgan_json_doc *doc)
{
    if (!doc)
        return;
    ddgan__free(doc->nodes);
    ddgan__free(doc->kids);
    ddgan__free(doc->pool);
    ddgan__free(doc);
}

const ddgan_json_value *ddgan__json_root(const ddgan_json_doc *doc)
{
    return doc ? &doc->nodes[0] : NULL;
}

ddgan_json_type ddgan__json_type(const ddgan_json_value *v)
{
    return v ? (ddgan_json_type)v->type : DDGAN_JSON_NULL;
}

const char *ddgan__json_type_name(ddgan_json_type type)
{
    switch (type) {
    case DDGAN_JSON_NULL: return "null";
    case DDGAN_JSON_BOOL: return "bool";
    case DDGAN_JSON_NUMBER: return "number";
    case DDGAN_JSON_STRING: return "string";
    case DDGAN_JSON_ARRAY: return "array";
    case DDGAN_JSON_OBJECT: return "object";
    }
    return "unknown";
}

size_t ddgan__json_offset(const ddgan_json_value *v) { return v ? v->offset : 0; }

/* "a number", "an array", "null", ... */
static const char *with_article(ddgan_json_type type)
{
    switch (type) {
    case DDGAN_JSON_NULL: return "null";
    case DDGAN_JSON_BOOL: return "a bool";
    case DDGAN_JSON_NUMBER: return "a number";
    case DDGAN_JSON_STRING: return "a string";
    case DDGAN_JSON_ARRAY: return "an array";
    case DDGAN_JSON_OBJECT: return "an object";
    }
    return "an unknown value";
}

static ddgan_status_t type_error(const ddgan_json_value *v, ddgan_json_type want)
{
    if (!v)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "json: value is NULL (expected %s)",
                         with_article(want));
    return DDGAN_ERR(DDGAN_ERR_FORMAT, "json: value at byte %zu is %s, not %s", v->offset,
                     with_article((ddgan_json_type)v->type), with_article(want));
}

ddgan_status_t ddgan__json_get_number(const ddgan_json_value *v, double *out)
{
    if (!v || v->type != DDGAN_JSON_NUMBER)
        return type_error(v, DDGAN_JSON_NUMBER);
    *out = v->u.num.d;
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_get_int64(const ddgan_json_value *v, int64_t *out)
{
    if (!v || v->type != DDGAN_JSON_NUMBER)
        return type_error(v, DDGAN_JSON_NUMBER);
    if (v->int_state == INT_NONE)
        return DDGAN_ERR(DDGAN_ERR_FORMAT,
                         "json: number at byte %zu (%.17g) is not written as an integer", v->offset,
                         v->u.num.d);
    if (v->int_state == INT_RANGE)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "json: integer at byte %zu (%.17g) is outside the int64 range",
                         v->offset, v->u.num.d);
    *out = v->u.num.i;
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_get_bool(const ddgan_json_value *v, int *out)
{
    if (!v || v->type != DDGAN_JSON_BOOL)
        return type_error(v, DDGAN_JSON_BOOL);
    *out = v->boolean;
    return DDGAN_OK;
}

const char *ddgan__json_string(const ddgan_json_value *v, size_t *len)
{
    if (!v || v->type != DDGAN_JSON_STRING)
        return NULL;
    if (len)
        *len = v->u.str.len;
    return v->u.str.s;
}

size_t ddgan__json_length(const ddgan_json_value *v)
{
    if (!v || (v->type != DDGAN_JSON_ARRAY && v->type != DDGAN_JSON_OBJECT))
        return 0;
    return v->u.cont.count;
}

const ddgan_json_value *ddgan__json_array_item(const ddgan_json_value *v, size_t i)
{
    if (!v || v->type != DDGAN_JSON_ARRAY || i >= v->u.cont.count)
        return NULL;
    return v->u.cont.items[i].ptr;
}

const char *ddgan__json_object_key(const ddgan_json_value *v, size_t i, size_t *len)
{
    if (!v || v->type != DDGAN_JSON_OBJECT || i >= v->u.cont.count)
        return NULL;
    return ddgan__json_string(v->u.cont.items[2 * i].ptr, len);
}

const ddgan_json_value *ddgan__json_object_value(const ddgan_json_value *v, size_t i)
{
    if (!v || v->type != DDGAN_JSON_OBJECT || i >= v->u.cont.count)
        return NULL;
    return v->u.cont.items[2 * i + 1].ptr;
}

const ddgan_json_value *ddgan__json_object_get_n(const ddgan_json_value *v, const char *key,
                                                 size_t key_len)
{
    if (!v || v->type != DDGAN_JSON_OBJECT || (!key && key_len))
        return NULL;
    const size_t n = v->u.cont.count;
    const json_slot *items = v->u.cont.items;
    const json_slot *sorted = n ? items + 2 * n : NULL;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t m = sorted[mid].idx;
        const struct ddgan_json_value *k = items[2 * m].ptr;
        int c = bytes_cmp(k->u.str.s, k->u.str.len, key, key_len);
        if (c == 0)
            return items[2 * m + 1].ptr;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const ddgan_json_value *ddgan__json_object_get(const ddgan_json_value *v, const char *key)
{
    if (!key)
        return NULL;
    return ddgan__json_object_get_n(v, key, strlen(key));
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

void ddgan__json_writer_init(ddgan_json_writer *w)
{
    memset(w, 0, sizeof *w);
    w->status = DDGAN_OK;
}

void ddgan__json_writer_free(ddgan_json_writer *w)
{
    if (!w)
        return;
    ddgan__free(w->buf);
    ddgan__json_writer_init(w);
}

static ddgan_status_t werr(ddgan_json_writer *w, ddgan_status_t st, const char *fmt, ...)
    DDGAN_PRINTF(3, 4);
static ddgan_status_t werr(ddgan_json_writer *w, ddgan_status_t st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->status = st;
    return DDGAN_ERR(st, "json writer: %s", msg);
}

/* Records a failure whose message is already set (allocation). */
static ddgan_status_t wfail(ddgan_json_writer *w, ddgan_status_t st)
{
    w->status = st;
    return st;
}

static ddgan_status_t wput(ddgan_json_writer *w, const char *s, size_t n)
{
    if (n > ((size_t)-1) - w->len - 1)
        return werr(w, DDGAN_ERR_OUT_OF_MEMORY, "output size overflows");
    void *b = w->buf;
    ddgan_status_t st = grow(&b, &w->cap, w->len, w->len + n + 1, 1, "json writer: buffer");
    if (st != DDGAN_OK)
        return wfail(w, st);
    w->buf = b;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return DDGAN_OK;
}

/* Bookkeeping before any value (not keys): separators, key/value alternation. */
static ddgan_status_t before_value(ddgan_json_writer *w)
{
    if (w->status != DDGAN_OK)
        return w->status;
    if (w->depth == 0) {
        if (w->done)
            return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "a second top-level value");
        return DDGAN_OK;
    }
    const int d = w->depth - 1;
    if (w->kind[d] == 'o') {
        if (!w->key_pending[d])
            return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "a value inside an object without a key");
        w->key_pending[d] = 0;
        return DDGAN_OK;
    }
    if (w->has_items[d])
        DDGAN_TRY(wput(w, ",", 1));
    w->has_items[d] = 1;
    return DDGAN_OK;
}

/* After a scalar or a closed container. */
static void after_value(ddgan_json_writer *w)
{
    if (w->depth == 0)
        w->done = 1;
}

static ddgan_status_t w_begin(ddgan_json_writer *w, char kind)
{
    DDGAN_TRY(before_value(w));
    if (w->depth >= DDGAN_JSON_MAX_DEPTH)
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "nesting deeper than %d levels",
                    DDGAN_JSON_MAX_DEPTH);
    DDGAN_TRY(wput(w, kind == 'o' ? "{" : "[", 1));
    w->kind[w->depth] = kind;
    w->has_items[w->depth] = 0;
    w->key_pending[w->depth] = 0;
    w->depth++;
    return DDGAN_OK;
}

static ddgan_status_t w_end(ddgan_json_writer *w, char kind)
{
    if (w->status != DDGAN_OK)
        return w->status;
    const char *name = kind == 'o' ? "object" : "array";
    if (w->depth == 0 || w->kind[w->depth - 1] != kind)
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "%s end without a matching begin", name);
    if (w->key_pending[w->depth - 1])
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "object ends after a key without a value");
    DDGAN_TRY(wput(w, kind == 'o' ? "}" : "]", 1));
    w->depth--;
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_object_begin(ddgan_json_writer *w) { return w_begin(w, 'o'); }
ddgan_status_t ddgan__json_write_object_end(ddgan_json_writer *w) { return w_end(w, 'o'); }
ddgan_status_t ddgan__json_write_array_begin(ddgan_json_writer *w) { return w_begin(w, 'a'); }
ddgan_status_t ddgan__json_write_array_end(ddgan_json_writer *w) { return w_end(w, 'a'); }

/* Writes s[0..len) as a quoted, escaped JSON string. */
static ddgan_status_t put_quoted(ddgan_json_writer *w, const char *s, size_t len)
{
    size_t bad = 0;
    if (!s && len)
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "string is NULL");
    if (!ddgan__json_utf8_valid(s, len, &bad))
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "string is not valid UTF-8 (byte %zu of %zu)", bad,
                    len);
    DDGAN_TRY(wput(w, "\"", 1));
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *rep = NULL;
        switch (c) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
                rep = esc;
            }
        }
        if (rep) {
            if (i > run)
                DDGAN_TRY(wput(w, s + run, i - run));
            DDGAN_TRY(wput(w, rep, strlen(rep)));
            run = i + 1;
        }
    }
    if (len > run)
        DDGAN_TRY(wput(w, s + run, len - run));
    return wput(w, "\"", 1);
}

ddgan_status_t ddgan__json_write_key_n(ddgan_json_writer *w, const char *key, size_t len)
{
    if (w->status != DDGAN_OK)
        return w->status;
    const int d = w->depth - 1;
    if (w->depth == 0 || w->kind[d] != 'o')
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "a key outside an object");
    if (w->key_pending[d])
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "a key after a key (missing value)");
    if (w->has_items[d])
        DDGAN_TRY(wput(w, ",", 1));
    w->has_items[d] = 1;
    DDGAN_TRY(put_quoted(w, key, len));
    DDGAN_TRY(wput(w, ":", 1));
    w->key_pending[d] = 1;
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_key(ddgan_json_writer *w, const char *key)
{
    if (w->status != DDGAN_OK)
        return w->status;
    if (!key)
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "key is NULL");
    return ddgan__json_write_key_n(w, key, strlen(key));
}

ddgan_status_t ddgan__json_write_string_n(ddgan_json_writer *w, const char *s, size_t len)
{
    DDGAN_TRY(before_value(w));
    DDGAN_TRY(put_quoted(w, s, len));
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_string(ddgan_json_writer *w, const char *s)
{
    if (w->status != DDGAN_OK)
        return w->status;
    if (!s)
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "string is NULL");
    return ddgan__json_write_string_n(w, s, strlen(s));
}

ddgan_status_t ddgan__json_write_double(ddgan_json_writer *w, double x)
{
    if (w->status != DDGAN_OK)
        return w->status;
    if (!isfinite(x))
        return werr(w, DDGAN_ERR_INVALID_ARGUMENT, "%s cannot be written as JSON",
                    isnan(x) ? "NaN" : (x > 0 ? "+infinity" : "-infinity"));
    char buf[32];
    size_t n = 0;
    ddgan_status_t st = ddgan__json_format_double(buf, sizeof buf, x, &n);
    if (st != DDGAN_OK)
        return wfail(w, st);
    DDGAN_TRY(before_value(w));
    DDGAN_TRY(wput(w, buf, n));
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_int64(ddgan_json_writer *w, int64_t x)
{
    char buf[32];
    /* %d conversions never use the locale's digit grouping (no ' flag). */
    int n = snprintf(buf, sizeof buf, "%" PRId64, x);
    DDGAN_TRY(before_value(w));
    DDGAN_TRY(wput(w, buf, (size_t)n));
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_bool(ddgan_json_writer *w, int b)
{
    DDGAN_TRY(before_value(w));
    DDGAN_TRY(b ? wput(w, "true", 4) : wput(w, "false", 5));
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_write_null(ddgan_json_writer *w)
{
    DDGAN_TRY(before_value(w));
    DDGAN_TRY(wput(w, "null", 4));
    after_value(w);
    return DDGAN_OK;
}

ddgan_status_t ddgan__json_writer_finish(ddgan_json_writer *w, char **out, size_t *len)
{
    ddgan_status_t st = w->status;
    if (out)
        *out = NULL;
    if (st == DDGAN_OK && !out)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "json writer: out is NULL");
    if (st == DDGAN_OK && w->depth != 0)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "json writer: %d array/object(s) still open",
                       w->depth);
    if (st == DDGAN_OK && !w->done)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "json writer: nothing was written");
    if (st != DDGAN_OK) {
        ddgan__json_writer_free(w);
        return st;
    }
    /* wput always keeps room for the terminating NUL. */
    w->buf[w->len] = '\0';
    *out = w->buf;
    if (len)
        *len = w->len;
    w->buf = NULL;
    ddgan__json_writer_init(w);
    return DDGAN_OK;
}
