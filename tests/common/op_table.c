/* The backend-parity table and its runner (op_table.h). */
#include "op_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"

/* ------------------------------------------------------------------------ */
/* The cases                                                                */

#define CONV(N, CI, H, W, CO, K, S, PT, PL, PB, PR)                                              \
    {.n = (N), .c_in = (CI), .h = (H), .w = (W), .c_out = (CO), .kh = (K), .kw = (K),          \
     .stride = (S), .pad_t = (PT), .pad_l = (PL), .pad_b = (PB), .pad_r = (PR)}
#define CONV2(N, CI, H, W, CO, KH, KW, S, PT, PL, PB, PR)                                       \
    {.n = (N), .c_in = (CI), .h = (H), .w = (W), .c_out = (CO), .kh = (KH), .kw = (KW),        \
     .stride = (S), .pad_t = (PT), .pad_l = (PL), .pad_b = (PB), .pad_r = (PR)}
/* forward, backward data and backward weights of one convolution */
#define CONV_CASES(NAME, DESC, FL)                                                               \
    {.name = NAME " fwd", .kind = OPK_CONV_FWD, .conv = DESC, .flags = (FL)},                  \
    {.name = NAME " bwd_data", .kind = OPK_CONV_BWD_DATA, .conv = DESC, .flags = (FL)},        \
    {.name = NAME " bwd_weights", .kind = OPK_CONV_BWD_WEIGHTS, .conv = DESC, .flags = (FL)}

/* batch, m, n, k, trans, lds and batch strides, alpha, beta */
#define MM(NAME, B, M, N, K, TA, TB, LDA, LDB, LDC, SA, SB, SC, AL, BE, FL)                     \
    {.name = NAME, .kind = OPK_MATMUL,                                                         \
     .mm = {.batch = (B), .m = (M), .n = (N), .k = (K), .trans_a = (TA), .trans_b = (TB),      \
            .lda = (LDA), .ldb = (LDB), .ldc = (LDC), .stride_a = (SA), .stride_b = (SB),      \
            .stride_c = (SC), .alpha = (AL), .beta = (BE)},                                    \
     .flags = (FL)}
/* tight leading dimensions and batch strides */
#define MM_TIGHT(NAME, B, M, N, K, TA, TB, AL, BE, FL)                                          \
    MM(NAME, B, M, N, K, TA, TB, (TA) ? (M) : (K), (TB) ? (K) : (N), (N), (M) * (K), (K) * (N), \
       (M) * (N), AL, BE, FL)

#define GN(NAME, KIND, N, C, HW, G, FL, ACC)                                                     \
    {.name = NAME, .kind = (KIND), .gn = {.n = (N), .c = (C), .hw = (HW), .groups = (G),       \
                                          .eps = 1e-6},                                        \
     .flags = (FL), .accumulate = (ACC), .lo = -2.0, .hi = 3.0}

#define ADAGN(NAME, N, C, HW, G, A, ALPHA)                                                      \
    {.name = NAME, .kind = OPK_ADAGN_ACT_FWD,                                                  \
     .gn = {.n = (N), .c = (C), .hw = (HW), .groups = (G), .eps = 1e-6}, .sub = (A),           \
     .alpha = (ALPHA), .lo = -2.0, .hi = 3.0}

#define ACT(NAME, A, ALPHA, LO, HI, FL)                                                         \
    {.name = NAME " fwd", .kind = OPK_ACT_FWD, .sub = (A), .alpha = (ALPHA), .rows = 517,      \
     .lo = (LO), .hi = (HI), .flags = (FL)},                                                   \
    {.name = NAME " bwd", .kind = OPK_ACT_BWD, .sub = (A), .alpha = (ALPHA), .rows = 517,      \
     .lo = (LO), .hi = (HI), .flags = (FL)},                                                   \
    {.name = NAME " bwd acc", .kind = OPK_ACT_BWD, .sub = (A), .alpha = (ALPHA), .rows = 33,   \
     .lo = (LO), .hi = (HI), .flags = (FL), .accumulate = 1}

/* k = [1,3,3,1] / DIV (4: FIR up x2, 8: down x2 and blur) */
#define FIR(N, C, H, W, UP, DOWN, P0, P1, DIV)                                                  \
    {.n = (N), .c = (C), .h = (H), .w = (W), .up = (UP), .down = (DOWN), .pad0 = (P0),         \
     .pad1 = (P1), .taps = 4, .kernel = {1.0 / (DIV), 3.0 / (DIV), 3.0 / (DIV), 1.0 / (DIV)}}
#define FIR_CASES(NAME, DESC, ACC)                                                               \
    {.name = NAME " fwd", .kind = OPK_UPFIRDN_FWD, .fir = DESC, .accumulate = (ACC)},          \
    {.name = NAME " bwd", .kind = OPK_UPFIRDN_BWD, .fir = DESC, .accumulate = (ACC)}

#define SOFTMAX(NAME, R, C)                                                                      \
    {.name = NAME " fwd", .kind = OPK_SOFTMAX_FWD, .rows = (R), .cols = (C), .lo = -4, .hi = 4}, \
    {.name = NAME " bwd", .kind = OPK_SOFTMAX_BWD, .rows = (R), .cols = (C), .lo = -4, .hi = 4}

#define SH(A, B, C, D) {(A), (B), (C), (D)}
#define DENSE(A, B, C, D) {(B) * (C) * (D), (C) * (D), (D), 1}

#define BIN(NAME, OP, SHAPE, AS, BS, OS, AOFF, OOFF, AL, BE, ACC, LO2, HI2)                      \
    {.name = NAME, .kind = OPK_BINARY, .sub = (OP),                                            \
     .ew = {.shape = SHAPE, .a_strides = AS, .b_strides = BS, .out_strides = OS},              \
     .a_off = (AOFF), .out_off = (OOFF), .alpha = (AL), .beta = (BE), .accumulate = (ACC),     \
     .lo2 = (LO2), .hi2 = (HI2)}

#define UN(NAME, OP, SHAPE, AS, OS, AOFF, OOFF, AL, BE, ACC, LO, HI)                             \
    {.name = NAME, .kind = OPK_UNARY, .sub = (OP),                                             \
     .ew = {.shape = SHAPE, .a_strides = AS, .out_strides = OS}, .a_off = (AOFF),              \
     .out_off = (OOFF), .alpha = (AL), .beta = (BE), .accumulate = (ACC), .lo = (LO),          \
     .hi = (HI)}
#define UN_DENSE(NAME, OP, AL, BE, LO, HI)                                                       \
    UN(NAME, OP, SH(2, 3, 5, 7), DENSE(2, 3, 5, 7), SH(0, 0, 0, 0), 0, 0, AL, BE, 0, LO, HI)

#define RED(NAME, OP, SHAPE, MASK, ACC)                                                          \
    {.name = NAME, .kind = OPK_REDUCE, .sub = (OP), .shape = SHAPE, .axes_mask = (MASK),       \
     .accumulate = (ACC)}

#define ADAM(NAME, N, STEP)                                                                      \
    {.name = NAME, .kind = OPK_ADAM,                                                           \
     .adam = {.n = (N), .lr = 2e-4, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-8, .step = (STEP)},  \
     .lo2 = 0.0, .hi2 = 0.01}


const op_case op_table_cases[] = {
    /* convolutions (PyTorch cross-correlation); the 3 ops of each */
    CONV_CASES("conv 3x3 s1 p1", CONV(2, 3, 8, 8, 4, 3, 1, 1, 1, 1, 1), OPC_BIAS),
    CONV_CASES("conv 1x1", CONV(2, 5, 6, 6, 3, 1, 1, 0, 0, 0, 0), OPC_BIAS),
    CONV_CASES("conv 3x3 s2 p0 (after blur)", CONV(2, 4, 9, 9, 4, 3, 2, 0, 0, 0, 0), OPC_BIAS),
    CONV_CASES("conv 3x3 s2 pad (0,0,1,1)", CONV(2, 3, 8, 8, 5, 3, 2, 0, 0, 1, 1), OPC_BIAS),
    CONV_CASES("conv 3x3 s1 p1 7x5 batch 1", CONV(1, 3, 7, 5, 2, 3, 1, 1, 1, 1, 1), OPC_BIAS),
    CONV_CASES("conv 3x3 s2 p1 7x5", CONV(2, 2, 7, 5, 3, 3, 2, 1, 1, 1, 1), 0),
    CONV_CASES("conv 4x4 s2 p1 (transposed up)", CONV(1, 3, 8, 8, 4, 4, 2, 1, 1, 1, 1), 0),
    CONV_CASES("conv 3x3 16->16 16x16", CONV(2, 16, 16, 16, 16, 3, 1, 1, 1, 1, 1), OPC_BIAS),
    CONV_CASES("conv 3x2 s1 pads (1,0,2,1)", CONV2(1, 2, 6, 7, 3, 3, 2, 1, 1, 0, 2, 1), OPC_BIAS),
    CONV_CASES("conv 2x3 s2 pads (0,2,1,0)", CONV2(2, 2, 7, 6, 2, 2, 3, 2, 0, 2, 1, 0), 0),
    CONV_CASES("conv 3x3 wide row 3x70", CONV(1, 2, 3, 70, 3, 3, 1, 1, 1, 1, 1), OPC_BIAS),
    {.name = "conv fwd accumulate", .kind = OPK_CONV_FWD, .conv = CONV(1, 3, 5, 6, 2, 3, 1, 1, 1, 1, 1),
     .flags = OPC_BIAS, .accumulate = 1},
    /* 3x3 forwards and backward-data with >= 4096 output pixels: the cpu
     * plug-in runs them with oneDNN's Winograd kernels (cpu_conv.c) */
    {.name = "conv fwd 3x3 winograd-sized 4x16x32x32>16", .kind = OPK_CONV_FWD,
     .conv = CONV(4, 16, 32, 32, 16, 3, 1, 1, 1, 1, 1), .flags = OPC_BIAS},
    {.name = "conv fwd 3x3 winograd-sized 64x32x8x8>16", .kind = OPK_CONV_FWD,
     .conv = CONV(64, 32, 8, 8, 16, 3, 1, 1, 1, 1, 1)},
    {.name = "conv fwd 3x3 winograd-sized accumulate", .kind = OPK_CONV_FWD,
     .conv = CONV(4, 16, 32, 32, 32, 3, 1, 1, 1, 1, 1), .flags = OPC_BIAS, .accumulate = 1},
    {.name = "conv bwd_data 3x3 winograd-sized 4x16x32x32>32", .kind = OPK_CONV_BWD_DATA,
     .conv = CONV(4, 16, 32, 32, 32, 3, 1, 1, 1, 1, 1)},
    {.name = "conv bwd_data 3x3 winograd-sized accumulate 64x16x8x8>32", .kind = OPK_CONV_BWD_DATA,
     .conv = CONV(64, 16, 8, 8, 32, 3, 1, 1, 1, 1, 1), .accumulate = 1},
    {.name = "conv bwd_data accumulate", .kind = OPK_CONV_BWD_DATA,
     .conv = CONV(1, 3, 5, 6, 2, 3, 2, 0, 0, 1, 1), .accumulate = 1},
    {.name = "conv bwd_weights accumulate", .kind = OPK_CONV_BWD_WEIGHTS,
     .conv = CONV(2, 3, 5, 6, 2, 3, 1, 1, 1, 1, 1), .flags = OPC_BIAS, .accumulate = 1},

    /* matrix products: every transposition, beta 0 (C = NaN) and 1, padded lds,
     * broadcast batch strides, attention-like shapes */
    MM_TIGHT("matmul NN beta0", 3, 5, 7, 3, 0, 0, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul NT beta0", 3, 5, 7, 3, 0, 1, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul TN beta0", 3, 5, 7, 3, 1, 0, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul TT beta0", 3, 5, 7, 3, 1, 1, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul NN beta1 alpha0.5", 2, 4, 6, 9, 0, 0, 0.5, 1.0, 0),
    MM_TIGHT("matmul TT beta1", 2, 6, 4, 5, 1, 1, 1.0, 1.0, 0),
    MM("matmul NN padded lds beta1", 2, 5, 7, 3, 0, 0, 4, 9, 8, 23, 30, 41, 1.0, 1.0, 0),
    MM("matmul TN padded lds", 2, 5, 7, 3, 1, 0, 6, 8, 7, 20, 25, 35, 1.0, 0.0, OPC_NAN_OUT),
    MM("matmul NT padded lds", 2, 5, 7, 3, 0, 1, 3, 5, 9, 15, 36, 45, 2.0, -1.0, 0),
    MM("matmul TT padded lds", 2, 5, 7, 3, 1, 1, 5, 4, 7, 15, 28, 35, 1.0, 0.0, OPC_NAN_OUT),
    MM("matmul stride_a 0 (shared A)", 4, 6, 5, 8, 0, 0, 8, 5, 5, 0, 40, 30, 1.0, 0.0, OPC_NAN_OUT),
    MM("matmul stride_b 0 (shared B)", 4, 6, 5, 8, 0, 1, 8, 8, 5, 48, 0, 30, 1.0, 1.0, 0),
    MM_TIGHT("matmul 1x1x1", 1, 1, 1, 1, 0, 0, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul wide n 70 k 64", 1, 16, 70, 64, 0, 0, 1.0, 1.0, 0),
    /* one-row products (the dense layers at batch 1; the cpu plug-in has its
     * own kernel for them): every transposition, beta 0 and not, k not a
     * multiple of 16, n above 1024, padded lds */
    MM_TIGHT("matmul row NN beta0", 2, 1, 300, 37, 0, 0, 1.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul row NT beta1", 2, 1, 33, 70, 0, 1, 0.5, 1.0, 0),
    MM_TIGHT("matmul row TN beta0", 1, 1, 20, 19, 1, 0, 1.0, 0.0, OPC_NAN_OUT),
    MM("matmul row TT padded lds", 2, 1, 9, 21, 1, 1, 3, 25, 12, 70, 230, 12, 1.0, -0.5, 0),
    MM_TIGHT("matmul row wide n 1500", 1, 1, 1500, 8, 0, 0, 2.0, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul attention q k^T", 2, 64, 64, 16, 1, 0, 0.25, 0.0, OPC_NAN_OUT),
    MM_TIGHT("matmul attention v a^T", 2, 16, 64, 64, 0, 1, 1.0, 0.0, OPC_NAN_OUT),

    /* group norm */
    GN("gn fwd affine g2", OPK_GN_FWD, 2, 8, 12, 2, OPC_AFFINE, 0),
    GN("gn fwd non-affine g1", OPK_GN_FWD, 2, 6, 10, 1, 0, 0),
    GN("gn fwd affine g=c", OPK_GN_FWD, 3, 4, 9, 4, OPC_AFFINE, 0),
    GN("gn fwd 32 groups 64ch", OPK_GN_FWD, 2, 64, 16, 32, OPC_AFFINE, 0),
    GN("gn fwd no stats", OPK_GN_FWD, 1, 8, 5, 2, OPC_AFFINE | OPC_NO_STATS, 0),
    GN("gn bwd affine g2", OPK_GN_BWD, 2, 8, 12, 2, OPC_AFFINE, 0),
    GN("gn bwd non-affine g1", OPK_GN_BWD, 2, 6, 10, 1, 0, 0),
    GN("gn bwd affine g=c", OPK_GN_BWD, 3, 4, 9, 4, OPC_AFFINE, 0),
    GN("gn bwd affine accumulate", OPK_GN_BWD, 2, 8, 7, 4, OPC_AFFINE, 1),
    GN("gn bwd 32 groups 64ch", OPK_GN_BWD, 2, 64, 16, 32, OPC_AFFINE, 0),

    /* fused AdaGN + activation: x [n, c, hw], style [n, 2c] (gamma, beta) */
    ADAGN("adagn silu g2", 2, 8, 12, 2, DDGAN_ACT_SILU, 0.0),
    ADAGN("adagn silu 32 groups 64ch", 2, 64, 16, 32, DDGAN_ACT_SILU, 0.0),
    ADAGN("adagn silu hw 300 (partial block)", 1, 4, 300, 2, DDGAN_ACT_SILU, 0.0),
    ADAGN("adagn silu hw 1", 3, 8, 1, 4, DDGAN_ACT_SILU, 0.0),
    ADAGN("adagn lrelu 0.2 (composed)", 2, 8, 12, 4, DDGAN_ACT_LRELU, 0.2),
    ADAGN("adagn tanh (composed)", 1, 16, 20, 8, DDGAN_ACT_TANH, 0.0),

    /* activations (LeakyReLU kept off its kink; softplus across its threshold 20) */
    ACT("silu", DDGAN_ACT_SILU, 0.0, -6.0, 6.0, 0),
    ACT("lrelu 0.2", DDGAN_ACT_LRELU, 0.2, -3.0, 3.0, OPC_AWAY0),
    ACT("tanh", DDGAN_ACT_TANH, 0.0, -4.0, 4.0, 0),
    ACT("softplus", DDGAN_ACT_SOFTPLUS, 0.0, -30.0, 30.0, 0),
    ACT("sigmoid", DDGAN_ACT_SIGMOID, 0.0, -8.0, 8.0, 0),

    /* FIR resampling, reference 2.2.7 */
    FIR_CASES("fir up2 pads (2,1) [1,3,3,1]/4", FIR(2, 3, 5, 5, 2, 1, 2, 1, 4), 0),
    FIR_CASES("fir up2 4x6", FIR(1, 2, 4, 6, 2, 1, 2, 1, 4), 0),
    FIR_CASES("fir down2 pads (1,1) [1,3,3,1]/8", FIR(2, 3, 8, 8, 1, 2, 1, 1, 8), 0),
    FIR_CASES("fir down2 odd 7x9", FIR(1, 2, 7, 9, 1, 2, 1, 1, 8), 0),
    FIR_CASES("fir blur pads (2,2)", FIR(2, 3, 8, 8, 1, 1, 2, 2, 8), 0),
    FIR_CASES("fir up2 accumulate", FIR(1, 2, 3, 4, 2, 1, 2, 1, 4), 1),
    FIR_CASES("fir down2 accumulate", FIR(1, 2, 6, 4, 1, 2, 1, 1, 8), 1),

    /* row softmax */
    SOFTMAX("softmax 2x1", 2, 1),
    SOFTMAX("softmax 3x7", 3, 7),
    SOFTMAX("softmax 64x64", 64, 64),
    SOFTMAX("softmax 16x256", 16, 256),
    SOFTMAX("softmax 64x256", 64, 256),
    {.name = "softmax bwd accumulate", .kind = OPK_SOFTMAX_BWD, .rows = 4, .cols = 9, .lo = -4,
     .hi = 4, .accumulate = 1},

    /* elementwise binary ops */
    BIN("axpby dense", DDGAN_BIN_AXPBY, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5), DENSE(2, 3, 4, 5),
        SH(0, 0, 0, 0), 0, 0, 0.7, -1.3, 0, 0, 0),
    BIN("mul channel broadcast [n,c,1,1]", DDGAN_BIN_MUL, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5),
        SH(3, 1, 0, 0), SH(0, 0, 0, 0), 0, 0, 1.0, 0.0, 0, 0, 0),
    BIN("axpby channel broadcast [1,c,1,1]", DDGAN_BIN_AXPBY, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5),
        SH(0, 1, 0, 0), SH(0, 0, 0, 0), 0, 0, 1.0, 1.0, 0, 0, 0),
    BIN("mul [1,c,1,1] accumulate", DDGAN_BIN_MUL, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5),
        SH(0, 1, 0, 0), SH(0, 0, 0, 0), 0, 0, -0.5, 0.0, 1, 0, 0),
    BIN("div", DDGAN_BIN_DIV, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5), DENSE(2, 3, 4, 5),
        SH(0, 0, 0, 0), 0, 0, 1.5, 0.0, 0, 0.5, 2.0),
    BIN("div scalar broadcast", DDGAN_BIN_DIV, SH(2, 3, 4, 5), DENSE(2, 3, 4, 5), SH(0, 0, 0, 0),
        SH(0, 0, 0, 0), 0, 0, 1.0, 0.0, 0, 0.5, 2.0),
    BIN("copy into concat slice [2,6,4,4] ch 2..4", DDGAN_BIN_AXPBY, SH(2, 3, 4, 4),
        DENSE(2, 3, 4, 4), SH(0, 0, 0, 0), SH(96, 16, 4, 1), 0, 32, 1.0, 0.0, 0, 0, 0),
    BIN("axpby into slice accumulate", DDGAN_BIN_AXPBY, SH(2, 3, 4, 4), DENSE(2, 3, 4, 4),
        DENSE(2, 3, 4, 4), SH(96, 16, 4, 1), 0, 48, 0.5, 2.0, 1, 0, 0),
    BIN("mul of a slice (split)", DDGAN_BIN_MUL, SH(2, 2, 3, 3), SH(54, 9, 3, 1),
        DENSE(2, 2, 3, 3), SH(0, 0, 0, 0), 9, 0, 1.0, 0.0, 0, 0, 0),
    BIN("axpby [n,c,1,1] + [n,c,h,w] transposed out", DDGAN_BIN_AXPBY, SH(2, 3, 4, 5),
        SH(3, 1, 0, 0), DENSE(2, 3, 4, 5), SH(1, 2, 30, 6), 0, 0, 1.0, 1.0, 0, 0, 0),

    /* elementwise unary ops */
    UN_DENSE("scale", DDGAN_UN_SCALE, 2.0, 0.5, -1, 1),
    UN_DENSE("square", DDGAN_UN_SQUARE, 0.5, 0.0, -2, 2),
    UN_DENSE("sqrt", DDGAN_UN_SQRT, 1.0, 1e-8, 0.1, 4),
    UN_DENSE("rsqrt", DDGAN_UN_RSQRT, 1.0, 1e-6, 0.1, 4),
    UN_DENSE("exp", DDGAN_UN_EXP, 0.5, 0.0, -3, 3),
    UN_DENSE("log", DDGAN_UN_LOG, 1.0, 0.0, 0.1, 4),
    UN_DENSE("sin", DDGAN_UN_SIN, 1.0, 0.0, -6, 6),
    UN_DENSE("cos", DDGAN_UN_COS, 1.0, 0.0, -6, 6),
    UN("copy out of a slice (split)", DDGAN_UN_SCALE, SH(2, 3, 4, 4), SH(96, 16, 4, 1),
       SH(0, 0, 0, 0), 48, 0, 1.0, 0.0, 0, -1, 1),
    UN("scale broadcast accumulate into slice", DDGAN_UN_SCALE, SH(2, 3, 4, 4), SH(0, 1, 0, 0),
       SH(96, 16, 4, 1), 0, 16, -2.0, 0.25, 1, -1, 1),

    /* reductions over shape [3, 4, 5, 6] */
    RED("sum all", DDGAN_RED_SUM, SH(3, 4, 5, 6), 0xF, 0),
    RED("sum over n,h,w (bias grad)", DDGAN_RED_SUM, SH(3, 4, 5, 6), 0xD, 0),
    RED("mean over h,w", DDGAN_RED_MEAN, SH(3, 4, 5, 6), 0xC, 0),
    RED("mean over c,h", DDGAN_RED_MEAN, SH(3, 4, 5, 6), 0x6, 0),
    RED("sumsq over n", DDGAN_RED_SUMSQ, SH(3, 4, 5, 6), 0x1, 0),
    RED("sumsq over w accumulate", DDGAN_RED_SUMSQ, SH(3, 4, 5, 6), 0x8, 1),
    RED("mask 0 (copy)", DDGAN_RED_SUM, SH(3, 4, 5, 6), 0x0, 0),
    RED("mean all accumulate", DDGAN_RED_MEAN, SH(2, 1, 7, 1), 0xF, 1),

    /* optimisers */
    ADAM("adam step 1", 1000, 1),
    ADAM("adam step 10", 1000, 10),
    {.name = "ema 0.9999", .kind = OPK_EMA, .alpha = 0.9999, .rows = 1000},
    {.name = "ema 0.999", .kind = OPK_EMA, .alpha = 0.999, .rows = 37},

    /* Philox draws */
    {.name = "rand normal", .kind = OPK_RAND_NORMAL, .rows = 1001, .seed = 42, .stream = 3,
     .first_block = 5},
    {.name = "rand normal 3 (partial block)", .kind = OPK_RAND_NORMAL, .rows = 3,
     .seed = 0xFFFFFFFF00000001ull, .stream = 1ull << 40},
    {.name = "rand normal 5000", .kind = OPK_RAND_NORMAL, .rows = 5000, .seed = 7, .stream = 0,
     .first_block = 1000},
    {.name = "rand uniform", .kind = OPK_RAND_UNIFORM, .rows = 1001, .seed = 42, .stream = 3,
     .first_block = 5},
    {.name = "rand uniform 5000", .kind = OPK_RAND_UNIFORM, .rows = 5000, .seed = 9, .stream = 2},
};

const size_t op_table_count = sizeof op_table_cases / sizeof op_table_cases[0];

/* ------------------------------------------------------------------------ */
/* Operand layout                                                           */

int op_table_is_grad(op_kind kind)
{
    return kind == OPK_CONV_BWD_DATA || kind == OPK_CONV_BWD_WEIGHTS || kind == OPK_GN_BWD ||
           kind == OPK_ACT_BWD || kind == OPK_UPFIRDN_BWD || kind == OPK_SOFTMAX_BWD;
}

static size_t prod4(const int64_t s[4]) { return (size_t)(s[0] * s[1] * s[2] * s[3]); }

/* Elements a strided 4-D operand spans (offset included). */
static size_t span4(const int64_t shape[4], const int64_t st[4], int64_t off)
{
    int64_t s = off + 1;
    for (int i = 0; i < 4; i++)
        s += (shape[i] - 1) * st[i];
    return (size_t)s;
}

static size_t mm_span(int batch, int64_t bs, int rows, int cols, int64_t ld)
{
    return (size_t)((int64_t)(batch - 1) * bs + (int64_t)(rows - 1) * ld + cols);
}

int op_table_layout(const op_case *c, op_buf b[OP_MAX_BUFS])
{
    int k = 0;
#define ADD(NAME, COUNT, ROLE)                                                                   \
    do {                                                                                         \
        b[k].name = (NAME);                                                                      \
        b[k].count = (size_t)(COUNT);                                                            \
        b[k].role = (ROLE);                                                                      \
        k++;                                                                                     \
    } while (0)
    switch (c->kind) {
    case OPK_CONV_FWD:
    case OPK_CONV_BWD_DATA:
    case OPK_CONV_BWD_WEIGHTS: {
        ddgan_conv2d_desc d = c->conv;
        if (ddgan__conv2d_desc_finish(&d) != 0)
            return -1;
        const size_t nx = (size_t)d.n * d.c_in * d.h * d.w, ny = (size_t)d.n * d.c_out * d.h_out * d.w_out;
        const size_t nw = (size_t)d.c_out * d.c_in * d.kh * d.kw;
        const int bias = (c->flags & OPC_BIAS) != 0;
        if (c->kind == OPK_CONV_FWD) {
            ADD("x", nx, OPB_IN);
            ADD("weight", nw, OPB_IN);
            if (bias)
                ADD("bias", d.c_out, OPB_IN);
            ADD("y", ny, OPB_OUT);
        } else if (c->kind == OPK_CONV_BWD_DATA) {
            ADD("dy", ny, OPB_IN);
            ADD("weight", nw, OPB_IN);
            ADD("dx", nx, OPB_OUT);
        } else {
            ADD("x", nx, OPB_IN);
            ADD("dy", ny, OPB_IN);
            ADD("dweight", nw, OPB_OUT);
            if (bias)
                ADD("dbias", d.c_out, OPB_OUT);
        }
        break;
    }
    case OPK_MATMUL: {
        const ddgan_matmul_desc *d = &c->mm;
        ADD("a", mm_span(d->batch, d->stride_a, d->trans_a ? d->k : d->m, d->trans_a ? d->m : d->k, d->lda),
            OPB_IN);
        ADD("b", mm_span(d->batch, d->stride_b, d->trans_b ? d->n : d->k, d->trans_b ? d->k : d->n, d->ldb),
            OPB_IN);
        ADD("c", mm_span(d->batch, d->stride_c, d->m, d->n, d->ldc), OPB_OUT);
        break;
    }
    case OPK_GN_FWD:
    case OPK_GN_BWD: {
        const ddgan_group_norm_desc *d = &c->gn;
        if (d->groups < 1 || d->c % d->groups != 0)
            return -1;
        const size_t nx = (size_t)d->n * d->c * d->hw, ns = (size_t)d->n * d->groups;
        const int aff = (c->flags & OPC_AFFINE) != 0;
        if (c->kind == OPK_GN_FWD) {
            ADD("x", nx, OPB_IN);
            if (aff) {
                ADD("gamma", d->c, OPB_IN);
                ADD("beta", d->c, OPB_IN);
            }
            ADD("y", nx, OPB_OUT);
            if (!(c->flags & OPC_NO_STATS)) {
                ADD("mean", ns, OPB_OUT);
                ADD("rstd", ns, OPB_OUT);
            }
        } else {
            ADD("dy", nx, OPB_IN);
            ADD("x", nx, OPB_IN);
            ADD("mean", ns, OPB_IN);
            ADD("rstd", ns, OPB_IN);
            if (aff)
                ADD("gamma", d->c, OPB_IN);
            ADD("dx", nx, OPB_OUT);
            if (aff) {
                ADD("dgamma", d->c, OPB_OUT);
                ADD("dbeta", d->c, OPB_OUT);
            }
        }
        break;
    }
    case OPK_ADAGN_ACT_FWD: {
        const ddgan_group_norm_desc *d = &c->gn;
        if (d->groups < 1 || d->c % d->groups != 0)
            return -1;
        const size_t nx = (size_t)d->n * d->c * d->hw;
        ADD("x", nx, OPB_IN);
        ADD("style", (size_t)d->n * 2 * d->c, OPB_IN);
        ADD("y", nx, OPB_OUT);
        break;
    }
    case OPK_ACT_FWD:
        ADD("x", c->rows, OPB_IN);
        ADD("y", c->rows, OPB_OUT);
        break;
    case OPK_ACT_BWD:
        ADD("x", c->rows, OPB_IN);
        ADD("y", c->rows, OPB_IN);
        ADD("dy", c->rows, OPB_IN);
        ADD("dx", c->rows, OPB_OUT);
        break;
    case OPK_UPFIRDN_FWD:
    case OPK_UPFIRDN_BWD: {
        ddgan_upfirdn_desc d = c->fir;
        if (ddgan__upfirdn_desc_finish(&d) != 0)
            return -1;
        const size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.h_out * d.w_out;
        if (c->kind == OPK_UPFIRDN_FWD) {
            ADD("x", nx, OPB_IN);
            ADD("y", ny, OPB_OUT);
        } else {
            ADD("dy", ny, OPB_IN);
            ADD("dx", nx, OPB_OUT);
        }
        break;
    }
    case OPK_SOFTMAX_FWD:
        ADD("x", c->rows * c->cols, OPB_IN);
        ADD("y", c->rows * c->cols, OPB_OUT);
        break;
    case OPK_SOFTMAX_BWD:
        ADD("y", c->rows * c->cols, OPB_IN);
        ADD("dy", c->rows * c->cols, OPB_IN);
        ADD("dx", c->rows * c->cols, OPB_OUT);
        break;
    case OPK_BINARY:
    case OPK_UNARY: {
        const ddgan_ew_desc *d = &c->ew;
        int dense = 1;
        for (int i = 0; i < 4; i++)
            dense &= d->out_strides[i] == 0;
        ADD("a", span4(d->shape, d->a_strides, c->a_off), OPB_IN);
        if (c->kind == OPK_BINARY)
            ADD("b", span4(d->shape, d->b_strides, 0), OPB_IN);
        ADD("out", dense ? prod4(d->shape) + (size_t)c->out_off : span4(d->shape, d->out_strides, c->out_off),
            OPB_OUT);
        break;
    }
    case OPK_REDUCE: {
        size_t nout = 1;
        for (int i = 0; i < 4; i++)
            if (!(c->axes_mask & (1u << i)))
                nout *= (size_t)c->shape[i];
        ADD("x", prod4(c->shape), OPB_IN);
        ADD("out", nout, OPB_OUT);
        break;
    }
    case OPK_ADAM:
        ADD("param", c->adam.n, OPB_INOUT);
        ADD("grad", c->adam.n, OPB_IN);
        ADD("m", c->adam.n, OPB_INOUT);
        ADD("v", c->adam.n, OPB_INOUT);
        break;
    case OPK_EMA:
        ADD("ema", c->rows, OPB_INOUT);
        ADD("param", c->rows, OPB_IN);
        break;
    case OPK_RAND_NORMAL:
    case OPK_RAND_UNIFORM:
        ADD("out", c->rows, OPB_OUT);
        break;
    default:
        return -1;
    }
#undef ADD
    return k;
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */

static double act_value(ddgan_act a, double alpha, double x)
{
    switch (a) {
    case DDGAN_ACT_SILU:
        return x / (1.0 + exp(-x));
    case DDGAN_ACT_LRELU:
        return x > 0 ? x : alpha * x;
    case DDGAN_ACT_TANH:
        return tanh(x);
    case DDGAN_ACT_SOFTPLUS:
        return x > 20.0 ? x : log1p(exp(x));
    case DDGAN_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    }
    return 0.0;
}

static double r32(double v) { return (double)(float)v; }

/* Fills the host copies of every operand of case `idx` (values exactly
 * representable in float32). Returns 0, or -1 when out of memory. */
static int fill_case(size_t idx, const op_case *c, const op_buf *b, int nb, double **h)
{
    const double lo = (c->lo == 0.0 && c->hi == 0.0) ? -1.0 : c->lo;
    const double hi = (c->lo == 0.0 && c->hi == 0.0) ? 1.0 : c->hi;
    for (int k = 0; k < nb; k++) {
        float *u = malloc(b[k].count * sizeof *u);
        if (!u)
            return -1;
        ddgan__philox_uniform(0xD06A7AB1Eull + idx, (uint64_t)k, 0, u, b[k].count);
        double l = lo, r = hi;
        if (b[k].role == OPB_OUT) {
            l = -1.0;
            r = 1.0;
        } else if (c->lo2 != c->hi2 &&
                   ((c->kind == OPK_BINARY && k == 1) || (c->kind == OPK_ADAM && k == 3))) {
            l = c->lo2;
            r = c->hi2;
        } else if (c->kind == OPK_ADAM && k == 2) {
            l = 0.1 * lo;
            r = 0.1 * hi;
        }
        for (size_t i = 0; i < b[k].count; i++) {
            double v = l + (r - l) * (double)u[i];
            if ((c->flags & OPC_AWAY0) && fabs(v) < 0.1)
                v += v < 0 ? -0.1 : 0.1;
            if (b[k].role == OPB_OUT && (c->flags & OPC_NAN_OUT))
                v = NAN;
            if (c->kind == OPK_ADAM && c->adam.step == 1 && k >= 2)
                v = 0.0; /* fresh moments */
            h[k][i] = r32(v);
        }
        free(u);
    }
    /* derived inputs */
    if (c->kind == OPK_GN_BWD) { /* mean, rstd of x (buffers 2, 3 from 1) */
        const ddgan_group_norm_desc *d = &c->gn;
        const size_t cnt = (size_t)(d->c / d->groups) * (size_t)d->hw;
        for (size_t t = 0; t < (size_t)d->n * d->groups; t++) {
            const double *x = h[1] + t * cnt;
            double s = 0, ss = 0;
            for (size_t i = 0; i < cnt; i++)
                s += x[i];
            const double mu = s / (double)cnt;
            for (size_t i = 0; i < cnt; i++)
                ss += (x[i] - mu) * (x[i] - mu);
            h[2][t] = r32(mu);
            h[3][t] = r32(1.0 / sqrt(ss / (double)cnt + d->eps));
        }
    } else if (c->kind == OPK_ACT_BWD) { /* y = f(x) */
        for (size_t i = 0; i < c->rows; i++)
            h[1][i] = r32(act_value((ddgan_act)c->sub, r32(c->alpha), h[0][i]));
    } else if (c->kind == OPK_SOFTMAX_BWD) { /* y = softmax of the random logits */
        for (size_t r = 0; r < c->rows; r++) {
            double *y = h[0] + r * c->cols, mx = y[0], s = 0;
            for (size_t j = 1; j < c->cols; j++)
                mx = y[j] > mx ? y[j] : mx;
            for (size_t j = 0; j < c->cols; j++)
                s += exp(y[j] - mx);
            for (size_t j = 0; j < c->cols; j++)
                y[j] = r32(exp(y[j] - mx) / s);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Running one side                                                         */

static int op_present(const ddgan_backend_compute *f, op_kind k)
{
    if (!f)
        return 0;
    switch (k) {
    case OPK_CONV_FWD: return f->conv2d_fwd != NULL;
    case OPK_CONV_BWD_DATA: return f->conv2d_bwd_data != NULL;
    case OPK_CONV_BWD_WEIGHTS: return f->conv2d_bwd_weights != NULL;
    case OPK_MATMUL: return f->matmul != NULL;
    case OPK_GN_FWD: return f->group_norm_fwd != NULL;
    case OPK_GN_BWD: return f->group_norm_bwd != NULL;
    case OPK_ACT_FWD: return f->act_fwd != NULL;
    case OPK_ACT_BWD: return f->act_bwd != NULL;
    case OPK_UPFIRDN_FWD: return f->upfirdn_fwd != NULL;
    case OPK_UPFIRDN_BWD: return f->upfirdn_bwd != NULL;
    case OPK_SOFTMAX_FWD: return f->softmax_fwd != NULL;
    case OPK_SOFTMAX_BWD: return f->softmax_bwd != NULL;
    case OPK_BINARY: return f->binary != NULL;
    case OPK_UNARY: return f->unary != NULL;
    case OPK_REDUCE: return f->reduce != NULL;
    case OPK_ADAM: return f->adam != NULL;
    case OPK_EMA: return f->ema != NULL;
    case OPK_RAND_NORMAL: return f->rand_normal != NULL;
    case OPK_RAND_UNIFORM: return f->rand_uniform != NULL;
    case OPK_ADAGN_ACT_FWD: return f->adagn_act_fwd != NULL;
    default: return 0;
    }
}

/* Calls the op of case c with device operands p[] (layout order). */
static ddgan_status_t call_op(ddgan_backend *be, ddgan_dtype dt, const op_case *c, void **p)
{
    const ddgan_backend_compute *f = be->ops->compute;
    const int bias = (c->flags & OPC_BIAS) != 0, aff = (c->flags & OPC_AFFINE) != 0;
    const int acc = c->accumulate;
    switch (c->kind) {
    case OPK_CONV_FWD: {
        ddgan_conv2d_desc d = c->conv;
        d.dtype = dt;
        return f->conv2d_fwd(be, &d, p[0], p[1], bias ? p[2] : NULL, p[bias ? 3 : 2], acc);
    }
    case OPK_CONV_BWD_DATA: {
        ddgan_conv2d_desc d = c->conv;
        d.dtype = dt;
        return f->conv2d_bwd_data(be, &d, p[0], p[1], p[2], acc);
    }
    case OPK_CONV_BWD_WEIGHTS: {
        ddgan_conv2d_desc d = c->conv;
        d.dtype = dt;
        return f->conv2d_bwd_weights(be, &d, p[0], p[1], p[2], bias ? p[3] : NULL, acc);
    }
    case OPK_MATMUL: {
        ddgan_matmul_desc d = c->mm;
        d.dtype = dt;
        return f->matmul(be, &d, p[0], p[1], p[2]);
    }
    case OPK_GN_FWD: {
        ddgan_group_norm_desc d = c->gn;
        d.dtype = dt;
        const int k = aff ? 3 : 1;
        const int stats = !(c->flags & OPC_NO_STATS);
        return f->group_norm_fwd(be, &d, p[0], aff ? p[1] : NULL, aff ? p[2] : NULL, p[k],
                                 stats ? p[k + 1] : NULL, stats ? p[k + 2] : NULL);
    }
    case OPK_GN_BWD: {
        ddgan_group_norm_desc d = c->gn;
        d.dtype = dt;
        return f->group_norm_bwd(be, &d, p[0], p[1], p[2], p[3], aff ? p[4] : NULL,
                                 p[aff ? 5 : 4], aff ? p[6] : NULL, aff ? p[7] : NULL, acc);
    }
    case OPK_ADAGN_ACT_FWD: {
        ddgan_group_norm_desc d = c->gn;
        d.dtype = dt;
        return f->adagn_act_fwd(be, &d, p[0], p[1], (ddgan_act)c->sub, c->alpha, p[2]);
    }
    case OPK_ACT_FWD:
        return f->act_fwd(be, dt, (ddgan_act)c->sub, c->alpha, c->rows, p[0], p[1]);
    case OPK_ACT_BWD:
        return f->act_bwd(be, dt, (ddgan_act)c->sub, c->alpha, c->rows, p[0], p[1], p[2], p[3],
                          acc);
    case OPK_UPFIRDN_FWD: {
        ddgan_upfirdn_desc d = c->fir;
        d.dtype = dt;
        return f->upfirdn_fwd(be, &d, p[0], p[1], acc);
    }
    case OPK_UPFIRDN_BWD: {
        ddgan_upfirdn_desc d = c->fir;
        d.dtype = dt;
        return f->upfirdn_bwd(be, &d, p[0], p[1], acc);
    }
    case OPK_SOFTMAX_FWD:
        return f->softmax_fwd(be, dt, c->rows, c->cols, p[0], p[1]);
    case OPK_SOFTMAX_BWD:
        return f->softmax_bwd(be, dt, c->rows, c->cols, p[0], p[1], p[2], acc);
    case OPK_BINARY: {
        ddgan_ew_desc d = c->ew;
        d.dtype = dt;
        const size_t es = ddgan_dtype_size(dt);
        return f->binary(be, &d, (ddgan_binary_op)c->sub, c->alpha, c->beta,
                         (char *)p[0] + (size_t)c->a_off * es, p[1],
                         (char *)p[2] + (size_t)c->out_off * es, acc);
    }
    case OPK_UNARY: {
        ddgan_ew_desc d = c->ew;
        d.dtype = dt;
        const size_t es = ddgan_dtype_size(dt);
        return f->unary(be, &d, (ddgan_unary_op)c->sub, c->alpha, c->beta,
                        (char *)p[0] + (size_t)c->a_off * es, (char *)p[1] + (size_t)c->out_off * es,
                        acc);
    }
    case OPK_REDUCE:
        return f->reduce(be, dt, (ddgan_reduce_op)c->sub, c->shape, c->axes_mask, p[0], p[1], acc);
    case OPK_ADAM: {
        ddgan_adam_desc d = c->adam;
        d.dtype = dt;
        return f->adam(be, &d, p[0], p[1], p[2], p[3]);
    }
    case OPK_EMA:
        return f->ema(be, dt, c->rows, c->alpha, p[0], p[1]);
    case OPK_RAND_NORMAL:
        return f->rand_normal(be, dt, c->rows, c->seed, c->stream, c->first_block, p[0]);
    case OPK_RAND_UNIFORM:
        return f->rand_uniform(be, dt, c->rows, c->seed, c->stream, c->first_block, p[0]);
    default:
        return DDGAN_ERR_INVALID_ARGUMENT;
    }
}

/* Runs case c on backend `be` in `dt` with inputs h[]; output operands are
 * read back into out[] (doubles). *st gets the op's status. Returns 0, or -1
 * when memory could not be allocated or copied. */
static int run_side(ddgan_backend *be, ddgan_dtype dt, const op_case *c, const op_buf *b, int nb,
                    double *const *h, double **out, ddgan_status_t *st)
{
    const size_t es = ddgan_dtype_size(dt);
    void *dev[OP_MAX_BUFS] = {0};
    void *stage = NULL;
    int rc = -1;
    size_t maxn = 1;
    for (int k = 0; k < nb; k++)
        maxn = b[k].count > maxn ? b[k].count : maxn;
    stage = malloc(maxn * es);
    if (!stage)
        goto done;
    for (int k = 0; k < nb; k++) {
        const size_t bytes = (b[k].count ? b[k].count : 1) * es;
        if (be->ops->alloc(be, bytes, &dev[k]) != DDGAN_OK)
            goto done;
        for (size_t i = 0; i < b[k].count; i++) {
            if (dt == DDGAN_DT_F32)
                ((float *)stage)[i] = (float)h[k][i];
            else
                ((double *)stage)[i] = h[k][i];
        }
        if (b[k].count && be->ops->copy_h2d(be, dev[k], stage, b[k].count * es) != DDGAN_OK)
            goto done;
    }
    *st = call_op(be, dt, c, dev);
    if (be->ops->synchronize)
        be->ops->synchronize(be);
    if (*st == DDGAN_OK) {
        for (int k = 0; k < nb; k++) {
            if (b[k].role == OPB_IN)
                continue;
            if (b[k].count && be->ops->copy_d2h(be, stage, dev[k], b[k].count * es) != DDGAN_OK)
                goto done;
            for (size_t i = 0; i < b[k].count; i++)
                out[k][i] = dt == DDGAN_DT_F32 ? (double)((float *)stage)[i] : ((double *)stage)[i];
        }
    }
    rc = 0;
done:
    for (int k = 0; k < nb; k++)
        if (dev[k])
            be->ops->free(be, dev[k]);
    free(stage);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Comparison                                                               */

typedef struct cmp_result {
    double worst;     /* max |got-want| / (|want| + scale) */
    size_t worst_i;
    double elem_rel;  /* max |got-want| / |want| over |want| >= 1e-3 scale */
    int bad_nonfinite;
} cmp_result;

static cmp_result compare(const double *got, const double *want, size_t n)
{
    cmp_result r = {0};
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale)
            scale = fabs(want[i]);
    for (size_t i = 0; i < n; i++) {
        double e;
        if (!isfinite(want[i]) || !isfinite(got[i])) {
            const int same = (isnan(want[i]) && isnan(got[i])) || want[i] == got[i];
            if (!isfinite(want[i]) && same)
                continue;
            e = INFINITY;
            r.bad_nonfinite = 1;
        } else {
            const double diff = fabs(got[i] - want[i]);
            const double den = fabs(want[i]) + scale;
            e = den > 0 ? diff / den : (diff > 0 ? INFINITY : 0.0);
            if (fabs(want[i]) >= 1e-3 * scale && fabs(want[i]) > 0) {
                const double rel = diff / fabs(want[i]);
                if (rel > r.elem_rel)
                    r.elem_rel = rel;
            }
        }
        if (e > r.worst || (i == 0 && e >= r.worst)) {
            r.worst = e;
            r.worst_i = i;
        }
    }
    return r;
}

static const char *dt_name(ddgan_dtype dt) { return dt == DDGAN_DT_F64 ? "f64" : "f32"; }

int op_table_run(ddgan_backend *be, ddgan_dtype dt, ddgan_backend *oracle, double rtol_fwd,
                 double rtol_grad, const op_table_opts *opts, op_table_report *report)
{
    op_table_report rep = {0};
    const op_table_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    int setup_failed = 0;
    for (size_t ci = 0; ci < op_table_count && !setup_failed; ci++) {
        const op_case *c = &op_table_cases[ci];
        if (opts->filter && !strstr(c->name, opts->filter))
            continue;
        if (!op_present(oracle->ops->compute, c->kind) || !op_present(be->ops->compute, c->kind)) {
            rep.skipped++;
            continue;
        }
        op_buf b[OP_MAX_BUFS];
        const int nb = op_table_layout(c, b);
        if (nb < 0) {
            fprintf(stderr, "op_table: case \"%s\" is malformed\n", c->name);
            rep.failed++;
            continue;
        }
        double *h[OP_MAX_BUFS] = {0}, *got[OP_MAX_BUFS] = {0}, *want[OP_MAX_BUFS] = {0};
        for (int k = 0; k < nb; k++) {
            const size_t n = b[k].count ? b[k].count : 1;
            h[k] = calloc(n, sizeof(double));
            got[k] = calloc(n, sizeof(double));
            want[k] = calloc(n, sizeof(double));
            if (!h[k] || !got[k] || !want[k])
                setup_failed = 1;
        }
        ddgan_status_t st_be = DDGAN_OK, st_or = DDGAN_OK;
        if (!setup_failed && fill_case(ci, c, b, nb, h) != 0)
            setup_failed = 1;
        if (!setup_failed && (run_side(oracle, DDGAN_DT_F64, c, b, nb, h, want, &st_or) != 0 ||
                              run_side(be, dt, c, b, nb, h, got, &st_be) != 0))
            setup_failed = 1;
        if (!setup_failed) {
            const int grad = op_table_is_grad(c->kind);
            const double rtol = grad ? rtol_grad : rtol_fwd;
            int failed = 0;
            double case_worst = 0.0;
            if (st_or != DDGAN_OK) {
                fprintf(stderr, "op_table: case \"%s\": the oracle failed with status %d (%s)\n",
                        c->name, (int)st_or, ddgan_last_error());
                failed = 1;
            } else if (st_be == DDGAN_ERR_UNSUPPORTED && opts->allow_unsupported) {
                rep.skipped++;
                goto next;
            } else if (st_be != DDGAN_OK) {
                fprintf(stderr, "op_table: case \"%s\" (%s): status %d (%s)\n", c->name,
                        dt_name(dt), (int)st_be, ddgan_last_error());
                failed = 1;
            } else {
                for (int k = 0; k < nb; k++) {
                    if (b[k].role == OPB_IN)
                        continue;
                    const cmp_result r = compare(got[k], want[k], b[k].count);
                    if (r.worst > case_worst)
                        case_worst = r.worst;
                    if (r.elem_rel > rep.worst_elem_rel) {
                        rep.worst_elem_rel = r.elem_rel;
                        rep.worst_elem_case = c->name;
                    }
                    if (r.worst > rtol || r.bad_nonfinite) {
                        fprintf(stderr,
                                "op_table: case \"%s\" (%s) operand %s: worst element %zu of %zu: "
                                "got %.10g want %.10g (normalised error %.3g > rtol %.3g)\n",
                                c->name, dt_name(dt), b[k].name, r.worst_i, b[k].count,
                                got[k][r.worst_i], want[k][r.worst_i], r.worst, rtol);
                        failed = 1;
                    }
                }
                if (opts->verbose)
                    printf("op_table: %-48s %s worst %.3g\n", c->name, dt_name(dt), case_worst);
                if (grad && case_worst > rep.worst_grad) {
                    rep.worst_grad = case_worst;
                    rep.worst_grad_case = c->name;
                } else if (!grad && case_worst > rep.worst_fwd) {
                    rep.worst_fwd = case_worst;
                    rep.worst_fwd_case = c->name;
                }
            }
            rep.run++;
            rep.failed += failed;
        }
    next:
        for (int k = 0; k < nb; k++) {
            free(h[k]);
            free(got[k]);
            free(want[k]);
        }
    }
    if (report)
        *report = rep;
    if (setup_failed) {
        fprintf(stderr, "op_table: out of memory or a copy failed\n");
        return -1;
    }
    return rep.failed;
}
