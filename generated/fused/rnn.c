/* Simple RNN (Elman), as torch.nn.RNN with tanh: a step's elementwise work, forward and backward, and loops over all steps.
   Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit. */
#include <stddef.h>
#include <tgmath.h>

void NAME(forward_step)(int t, int live, int B, int H, real *gates, real *rec, real *h0) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 1 + 0) * B + b) * H;
        const real *prev_h = t ? gates + ((size_t)((t - 1) * 1 + 0) * B + b) * H : h0 + (size_t)b * H;
        const real *r = rec + (size_t)b * 1 * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            real a0 = g0[j] + r[0 * H + j];
            /* h = tanh(W_h @ x + U_h @ h_prev + b_h + bh_h) */
            real v_h = tanh(a0);
            g0[j] = v_h;
        }
    }
}

void NAME(backward_step)(int t, int live, int B, int H, real *gates, real *h0, real *dl_seq, real *d_h_carry, real *d_pre_seq) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 1 + 0) * B + b) * H;
        const real *prev_h = t ? gates + ((size_t)((t - 1) * 1 + 0) * B + b) * H : h0 + (size_t)b * H;
        const real *dl = dl_seq + ((size_t)t * B + b) * H;
        real *dr = d_pre_seq + ((size_t)t * B + b) * 1 * H;
        real *d_h_next = d_h_carry + (size_t)b * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            /* δh = ∂ℓ/∂h + δh_next */
            real d_h = d_h_next[j] + dl[j];
            /* δa_h = δh ⊙ (1 − h²) */
            dr[0 * H + j] = d_h*(1 - (g0[j] * g0[j]));
        }
    }
}

void NAME(forward_steps)(int T, const int *active, int B, int H, real *gates, real *rec, real *h0, const real *UT) {
    const int N = 1 * H;  /* columns of the recurrent product */
    for (int t = 0; t < T; t++) {
        const int live = active[t];
        const real *prev = t ? gates + (size_t)((t - 1) * 1 + 0) * B * H : h0;
        for (int b = 0; b < live; b++) {  /* rec = prev @ UT, row by row */
            real *out = rec + (size_t)b * N;
            const real *in = prev + (size_t)b * H;
            for (int k = 0; k < N; k++) out[k] = 0;
            for (int m = 0; m < H; m++) {
                const real v = in[m], *u = UT + (size_t)m * N;
                #pragma omp simd
                for (int k = 0; k < N; k++) out[k] += v * u[k];
            }
        }
        NAME(forward_step)(t, live, B, H, gates, rec, h0);
    }
}

void NAME(backward_steps)(int T, const int *active, int B, int H, real *gates, real *h0, real *dl_seq, real *d_h_carry, real *d_pre_seq, const real *U) {
    const int N = 1 * H;  /* rows of U read by the recurrent product */
    for (int t = T - 1; t >= 0; t--) {
        const int live = active[t];
        NAME(backward_step)(t, live, B, H, gates, h0, dl_seq, d_h_carry, d_pre_seq);
        for (int b = 0; b < live; b++) {  /* δh_prev = the recurrent columns' δ @ U, row by row */
            real *out = d_h_carry + (size_t)b * H;
            const real *in = d_pre_seq + ((size_t)t * B + b) * 1 * H + 0 * H;
            for (int k = 0; k < H; k++) out[k] = 0;
            for (int m = 0; m < N; m++) {
                const real v = in[m], *u = U + (size_t)m * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) out[k] += v * u[k];
            }
        }
    }
}
