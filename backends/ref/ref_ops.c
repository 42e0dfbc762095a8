/* The "ref" op table and the argument checks its ops share. */
#include "ref/ref_ops.h"

const ddgan_backend_compute ddgan__ref_compute = {
    .conv2d_fwd = ddgan__ref_conv2d_fwd,
    .conv2d_bwd_data = ddgan__ref_conv2d_bwd_data,
    .conv2d_bwd_weights = ddgan__ref_conv2d_bwd_weights,
    .matmul = ddgan__ref_matmul,
    .group_norm_fwd = ddgan__ref_group_norm_fwd,
    .group_norm_bwd = ddgan__ref_group_norm_bwd,
    .act_fwd = ddgan__ref_act_fwd,
    .act_bwd = ddgan__ref_act_bwd,
    .upfirdn_fwd = ddgan__ref_upfirdn_fwd,
    .upfirdn_bwd = ddgan__ref_upfirdn_bwd,
    .softmax_fwd = ddgan__ref_softmax_fwd,
    .softmax_bwd = ddgan__ref_softmax_bwd,
    .binary = ddgan__ref_binary,
    .unary = ddgan__ref_unary,
    .reduce = ddgan__ref_reduce,
    .adam = ddgan__ref_adam,
    .ema = ddgan__ref_ema,
    .rand_normal = ddgan__ref_rand_normal,
    .rand_uniform = ddgan__ref_rand_uniform,
    .adagn_act_fwd = ddgan__ref_adagn_act_fwd,
};

/* Below this many flops an op runs on the calling thread alone. */
#define REF_PARALLEL_MIN_WORK 65536.0

int ddgan__ref_team(const ddgan_backend *be, int64_t tasks, double work)
{
    int nt = ddgan__ref_threads(be);
    if (work < REF_PARALLEL_MIN_WORK || tasks < 2)
        return 1;
    if ((int64_t)nt > tasks)
        nt = (int)tasks;
    return nt;
}

ddgan_status_t ddgan__ref_check_common(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                       int accumulate)
{
    if (!be)
        return REF_INVALID("%s: backend is NULL", op);
    if (dt != DDGAN_DT_F32 && dt != DDGAN_DT_F64)
        return REF_INVALID("%s: unknown dtype %d", op, (int)dt);
    if (accumulate != 0 && accumulate != 1)
        return REF_INVALID("%s: accumulate is %d (must be 0 or 1)", op, accumulate);
    return DDGAN_OK;
}

int ddgan__ref_count4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out)
{
    const int64_t f[4] = {a, b, c, d};
    int64_t p = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] < 0)
            return -1;
        if (f[i] != 0 && p > REF_MAX_ELEMS / f[i])
            return -1;
        p *= f[i];
    }
    *out = p;
    return 0;
}
