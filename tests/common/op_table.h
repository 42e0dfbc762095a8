/*
 * The backend-parity table: one list of op cases (every compute op of
 * backend_ops.h, at the shapes DDGAN uses and at the awkward ones) that every
 * backend's tests run unchanged against an oracle backend (normally "ref" in
 * float64).
 *
 * For each case the runner
 *  - lays out the operands from the descriptor (op_table_layout),
 *  - fills the inputs deterministically: Philox uniforms (seed derived from
 *    the case index, one stream per operand) mapped to the case's range and
 *    rounded to float32, so both sides see exactly the same values whatever
 *    their dtype; outputs are pre-filled the same way (NaN for matmul with
 *    beta = 0), which checks accumulate = 0/1 and that strided outputs leave
 *    the rest of their buffer alone,
 *  - runs the op on `be` in `dt` and on `oracle` in float64, through each
 *    backend's alloc / copy_h2d / copy_d2h (device memory is never touched
 *    directly),
 *  - compares every output operand: element i passes when
 *        |got_i - want_i| <= rtol * (|want_i| + max_j |want_j|)
 *    (relative to the element plus the operand's scale, so sums that cancel
 *    are judged against the size of their terms); rtol is rtol_grad for the
 *    backward ops (conv bwd, group norm bwd, act bwd, upfirdn bwd, softmax
 *    bwd) and rtol_fwd for the others. NaN or Inf where the oracle is finite
 *    fails. On failure the case, operand and worst element are printed.
 */
#ifndef DDGAN_TEST_OP_TABLE_H
#define DDGAN_TEST_OP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend_impl.h"

typedef enum op_kind {
    OPK_CONV_FWD,
    OPK_CONV_BWD_DATA,
    OPK_CONV_BWD_WEIGHTS,
    OPK_MATMUL,
    OPK_GN_FWD,
    OPK_GN_BWD,
    OPK_ACT_FWD,
    OPK_ACT_BWD,
    OPK_UPFIRDN_FWD,
    OPK_UPFIRDN_BWD,
    OPK_SOFTMAX_FWD,
    OPK_SOFTMAX_BWD,
    OPK_BINARY,
    OPK_UNARY,
    OPK_REDUCE,
    OPK_ADAM,
    OPK_EMA,
    OPK_RAND_NORMAL,
    OPK_RAND_UNIFORM,
    OPK_ADAGN_ACT_FWD,
    OPK_COUNT
} op_kind;

/* Case flags. */
enum {
    OPC_BIAS = 1 << 0,    /* conv fwd: bias given; conv bwd_weights: dbias computed */
    OPC_AFFINE = 1 << 1,  /* group norm: gamma/beta given; bwd: dgamma/dbeta computed */
    OPC_NAN_OUT = 1 << 2, /* outputs pre-filled with NaN (matmul beta = 0) */
    OPC_AWAY0 = 1 << 3,   /* inputs kept at |x| >= 0.1 (LeakyReLU's kink) */
    OPC_NO_STATS = 1 << 4 /* group norm fwd: mean/rstd pointers NULL */
};

/* One case. Only the descriptor of `kind` is used; the runner sets its dtype. */
typedef struct op_case {
    const char *name;
    op_kind kind;
    ddgan_conv2d_desc conv;     /* OPK_CONV_* */
    ddgan_matmul_desc mm;       /* OPK_MATMUL */
    ddgan_group_norm_desc gn;   /* OPK_GN_*, OPK_ADAGN_ACT_FWD */
    ddgan_upfirdn_desc fir;     /* OPK_UPFIRDN_* */
    ddgan_ew_desc ew;           /* OPK_BINARY, OPK_UNARY */
    ddgan_adam_desc adam;       /* OPK_ADAM */
    int sub;                    /* ddgan_act (also OPK_ADAGN_ACT_FWD's) / ddgan_binary_op /
                                 * ddgan_unary_op / ddgan_reduce_op */
    double alpha, beta;         /* act alpha; binary/unary alpha, beta; ema decay */
    size_t rows, cols;          /* softmax rows x cols; act / ema / rand: rows = n */
    int64_t shape[4];           /* reduce */
    unsigned axes_mask;         /* reduce */
    int64_t a_off, out_off;     /* binary/unary: element offset of a / out in their buffers */
    uint64_t seed, stream, first_block; /* rand */
    int accumulate;
    unsigned flags;             /* OPC_* */
    double lo, hi;              /* range of the inputs ([-1, 1] when both are 0) */
    double lo2, hi2;            /* range of the second input (binary b, adam v; unused when equal) */
} op_case;

extern const op_case op_table_cases[];
extern const size_t op_table_count;

/* The operands of a case. */
#define OP_MAX_BUFS 8
typedef enum op_buf_role {
    OPB_IN,    /* read only */
    OPB_OUT,   /* written (and compared) */
    OPB_INOUT  /* read and written (and compared) */
} op_buf_role;

typedef struct op_buf {
    const char *name;
    size_t count; /* elements */
    op_buf_role role;
} op_buf;

/* Fills bufs[] (operand order of the op's signature, NULL operands omitted);
 * returns their number, or -1 when the case is malformed. */
int op_table_layout(const op_case *c, op_buf bufs[OP_MAX_BUFS]);

/* True for the backward ops (judged with rtol_grad). */
int op_table_is_grad(op_kind kind);

typedef struct op_table_opts {
    const char *filter;      /* run only cases whose name contains this (NULL: all) */
    int verbose;             /* print every case's worst error */
    int allow_unsupported;   /* DDGAN_ERR_UNSUPPORTED from `be` skips the case instead of failing */
} op_table_opts;

typedef struct op_table_report {
    int run, failed, skipped;  /* skipped: `be` unsupported (when allowed) or a NULL op in the oracle */
    double worst_fwd, worst_grad; /* worst |got-want| / (|want| + max|want|) over the cases */
    const char *worst_fwd_case, *worst_grad_case;
    double worst_elem_rel;        /* worst plain |got-want|/|want| where |want| >= 1e-3 max|want| */
    const char *worst_elem_case;
} op_table_report;

/* Runs every case (or the filtered ones) on `be` in `dt` against `oracle` in
 * float64. An op that is NULL in the oracle's compute table skips the case
 * (so a partial oracle is fine). opts and report may be NULL. Returns the
 * number of failing cases (0: all passed), or -1 when the run could not be
 * set up (allocation failure). */
int op_table_run(ddgan_backend *be, ddgan_dtype dt, ddgan_backend *oracle, double rtol_fwd,
                 double rtol_grad, const op_table_opts *opts, op_table_report *report);

#endif
