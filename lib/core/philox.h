/*
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011), the counter-based generator behind every random draw of libddgan.
 *
 * A stream is identified by (seed, stream id). Block b of a stream is
 *   philox4x32_10(counter = {b_lo, b_hi, stream_lo, stream_hi}, key = {seed_lo, seed_hi})
 * and yields 4 32-bit words. Because any block can be computed directly from
 * its index, the numbers never depend on thread count, batching or backend.
 *
 * Derived draws (docs/rng.md):
 *  - uniform float in (0,1): word w -> ((w >> 8) + 0.5) * 2^-24
 *  - standard normal: block b gives normals 4b..4b+3 by Box-Muller on the word
 *    pairs (w0,w1) and (w2,w3): u1 = (w0 + 0.5) * 2^-32, u2 = (w1 + 0.5) * 2^-32,
 *    r = sqrt(-2 ln u1), normals r cos(2 pi u2), r sin(2 pi u2), evaluated in
 *    double and rounded once to float.
 */
#ifndef DDGAN_CORE_PHILOX_H
#define DDGAN_CORE_PHILOX_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32 block with 10 rounds. */
void ddgan__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Words [4*first_block, 4*first_block + n) of stream (seed, stream). */
void ddgan__philox_u32(uint64_t seed, uint64_t stream, uint64_t first_block, uint32_t *out, size_t n);

/* n uniforms in (0,1) from words starting at block first_block. */
void ddgan__philox_uniform(uint64_t seed, uint64_t stream, uint64_t first_block, float *out, size_t n);

/* n standard normals starting at block first_block (4 per block). */
void ddgan__philox_normal(uint64_t seed, uint64_t stream, uint64_t first_block, float *out, size_t n);
void ddgan__philox_normal_f64(uint64_t seed, uint64_t stream, uint64_t first_block, double *out,
                              size_t n);

/* Blocks consumed by n draws (4 per block). */
static inline uint64_t ddgan__philox_blocks(size_t n) { return ((uint64_t)n + 3u) / 4u; }

#endif
