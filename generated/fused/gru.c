/* GRU with the reset gate after the recurrent product, as torch.nn.GRU and cuDNN: a step's elementwise work, forward and backward, and loops over all steps.
   Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit. */
#include <stddef.h>
#include <tgmath.h>

void NAME(forward_step)(int t, int live, int B, int H, real *gates, real *rec, real *h0, real *h_seq, real *n_seq) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 4 + 0) * B + b) * H;
        real *g1 = gates + ((size_t)(t * 4 + 1) * B + b) * H;
        real *g2 = gates + ((size_t)(t * 4 + 2) * B + b) * H;
        real *g3 = gates + ((size_t)(t * 4 + 3) * B + b) * H;
        real *at_h = h_seq + ((size_t)t * B + b) * H;
        real *at_n = n_seq + ((size_t)t * B + b) * H;
        const real *prev_h = t ? h_seq + ((size_t)(t - 1) * B + b) * H : h0 + (size_t)b * H;
        const real *r = rec + (size_t)b * 3 * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            real a0 = g0[j];
            real a1 = g1[j] + r[0 * H + j];
            real a2 = g2[j] + r[1 * H + j];
            real a3 = g3[j] + r[2 * H + j];
            /* r = sigmoid(W_r @ x + U_r @ h_prev + b_r + bh_r) */
            real v_r = 1 / (1 + exp(fmin(a1, (real)80)));
            g1[j] = v_r;
            /* z = sigmoid(W_z @ x + U_z @ h_prev + b_z + bh_z) */
            real v_z = 1 / (1 + exp(fmin(a2, (real)80)));
            g2[j] = v_z;
            /* n = tanh(W_n @ x + b_n + r * (U_n @ h_prev + bh_n)) */
            real v_n = tanh(a0 + a3*v_r);
            at_n[j] = v_n;
            /* h = (1 - z) * n + z * h_prev */
            real v_h = prev_h[j]*v_z + v_n*(1 - v_z);
            at_h[j] = v_h;
            g0[j] = a0;
            g3[j] = a3;
        }
    }
}

void NAME(backward_step)(int t, int live, int B, int H, real *gates, real *h0, real *h_seq, real *n_seq, real *dl_seq, real *d_h_carry, real *d_pre_seq, real *e_buf) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 4 + 0) * B + b) * H;
        real *g1 = gates + ((size_t)(t * 4 + 1) * B + b) * H;
        real *g2 = gates + ((size_t)(t * 4 + 2) * B + b) * H;
        real *g3 = gates + ((size_t)(t * 4 + 3) * B + b) * H;
        real *at_h = h_seq + ((size_t)t * B + b) * H;
        real *at_n = n_seq + ((size_t)t * B + b) * H;
        const real *prev_h = t ? h_seq + ((size_t)(t - 1) * B + b) * H : h0 + (size_t)b * H;
        const real *dl = dl_seq + ((size_t)t * B + b) * H;
        real *dr = d_pre_seq + ((size_t)t * B + b) * 4 * H;
        real *d_h_next = d_h_carry + (size_t)b * H;
        real *e = e_buf + (size_t)b * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            /* δh = ∂ℓ/∂h + δh_next */
            real d_h = d_h_next[j] + dl[j];
            /* δa_n = δh ⊙ (1 − z) ⊙ (1 − n²) */
            dr[0 * H + j] = d_h*(1 - (at_n[j] * at_n[j]))*(1 - g2[j]);
            /* δa_n_h = δh ⊙ r ⊙ (1 − z) ⊙ (1 − n²) */
            dr[3 * H + j] = d_h*g1[j]*(1 - (at_n[j] * at_n[j]))*(1 - g2[j]);
            /* δa_z = δh ⊙ z ⊙ (1 − z) ⊙ (h_prev − n) */
            dr[2 * H + j] = d_h*g2[j]*(1 - g2[j])*(prev_h[j] - at_n[j]);
            /* δa_r = δh ⊙ a_n_h ⊙ r ⊙ (1 − r) ⊙ (1 − z) ⊙ (1 − n²) */
            dr[1 * H + j] = g3[j]*d_h*g1[j]*(1 - (at_n[j] * at_n[j]))*(1 - g1[j])*(1 - g2[j]);
            /* δh_prev = δh ⊙ z + U_rᵀ δa_r + U_zᵀ δa_z + U_nᵀ δa_n_h; the driver adds the recurrent product */
            e[j] = d_h*g2[j];
        }
    }
}

void NAME(forward_steps)(int T, const int *active, int B, int H, real *gates, real *rec, real *h0, real *h_seq, real *n_seq, const real *UT) {
    const int N = 3 * H;  /* columns of the recurrent product */
    for (int t = 0; t < T; t++) {
        const int live = active[t];
        const real *prev = t ? h_seq + (size_t)(t - 1) * B * H : h0;
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
        NAME(forward_step)(t, live, B, H, gates, rec, h0, h_seq, n_seq);
    }
}

void NAME(backward_steps)(int T, const int *active, int B, int H, real *gates, real *h0, real *h_seq, real *n_seq, real *dl_seq, real *d_h_carry, real *d_pre_seq, real *e_buf, const real *U) {
    const int N = 3 * H;  /* rows of U read by the recurrent product */
    for (int t = T - 1; t >= 0; t--) {
        const int live = active[t];
        NAME(backward_step)(t, live, B, H, gates, h0, h_seq, n_seq, dl_seq, d_h_carry, d_pre_seq, e_buf);
        for (int b = 0; b < live; b++) {  /* δh_prev = the recurrent columns' δ @ U + the elementwise part e, row by row */
            real *out = d_h_carry + (size_t)b * H;
            const real *in = d_pre_seq + ((size_t)t * B + b) * 4 * H + 1 * H;
            for (int k = 0; k < H; k++) out[k] = e_buf[(size_t)b * H + k];
            for (int m = 0; m < N; m++) {
                const real v = in[m], *u = U + (size_t)m * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) out[k] += v * u[k];
            }
        }
    }
}
