/* LSTM, no input activation function (NIAF): a step's elementwise work, forward and backward, and loops over all steps.
   Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit. */
#include <stddef.h>
#include <tgmath.h>

void NAME(forward_step)(int t, int live, int B, int H, real *gates, real *rec, real *h0, real *c0, real *h_seq, real *c_seq, real *f_seq, real *g_seq, real *i_seq, real *o_seq, real *tanh_c_seq, real *p_i, real *p_f, real *p_o) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 4 + 0) * B + b) * H;
        real *g1 = gates + ((size_t)(t * 4 + 1) * B + b) * H;
        real *g2 = gates + ((size_t)(t * 4 + 2) * B + b) * H;
        real *g3 = gates + ((size_t)(t * 4 + 3) * B + b) * H;
        real *at_h = h_seq + ((size_t)t * B + b) * H;
        real *at_c = c_seq + ((size_t)t * B + b) * H;
        real *at_f = f_seq + ((size_t)t * B + b) * H;
        real *at_g = g_seq + ((size_t)t * B + b) * H;
        real *at_i = i_seq + ((size_t)t * B + b) * H;
        real *at_o = o_seq + ((size_t)t * B + b) * H;
        real *at_tanh_c = tanh_c_seq + ((size_t)t * B + b) * H;
        const real *prev_h = t ? h_seq + ((size_t)(t - 1) * B + b) * H : h0 + (size_t)b * H;
        const real *prev_c = t ? c_seq + ((size_t)(t - 1) * B + b) * H : c0 + (size_t)b * H;
        const real *r = rec + (size_t)b * 4 * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            real a0 = g0[j] + r[0 * H + j];
            real a1 = g1[j] + r[1 * H + j];
            real a2 = g2[j] + r[2 * H + j];
            real a3 = g3[j] + r[3 * H + j];
            /* g = W_g @ x + U_g @ h_prev + b_g */
            real v_g = a1;
            at_g[j] = v_g;
            /* i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i) */
            real v_i = 1 / (1 + exp(fmin(-(a2 + prev_c[j]*p_i[j]), (real)80)));
            at_i[j] = v_i;
            /* f = sigmoid(W_f @ x + U_f @ h_prev + p_f * c_prev + b_f) */
            real v_f = 1 / (1 + exp(fmin(-(a3 + prev_c[j]*p_f[j]), (real)80)));
            at_f[j] = v_f;
            /* c = f * c_prev + i * g */
            real v_c = prev_c[j]*v_f + v_g*v_i;
            at_c[j] = v_c;
            /* o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o) */
            real v_o = 1 / (1 + exp(fmin(-(a0 + v_c*p_o[j]), (real)80)));
            at_o[j] = v_o;
            real v_tanh_c = tanh(v_c);
            at_tanh_c[j] = v_tanh_c;
            /* h = o * tanh(c) */
            real v_h = v_o*v_tanh_c;
            at_h[j] = v_h;
            g0[j] = a0;
            g1[j] = a1;
            g2[j] = a2;
            g3[j] = a3;
        }
    }
}

void NAME(backward_step)(int t, int live, int B, int H, real *gates, real *h0, real *c0, real *h_seq, real *c_seq, real *f_seq, real *g_seq, real *i_seq, real *o_seq, real *tanh_c_seq, real *dl_seq, real *d_h_carry, real *d_c_carry, real *d_pre_seq, real *p_i, real *p_f, real *p_o, real *d_p_i, real *d_p_f, real *d_p_o) {
    for (int b = 0; b < live; b++) {
        real *g0 = gates + ((size_t)(t * 4 + 0) * B + b) * H;
        real *g1 = gates + ((size_t)(t * 4 + 1) * B + b) * H;
        real *g2 = gates + ((size_t)(t * 4 + 2) * B + b) * H;
        real *g3 = gates + ((size_t)(t * 4 + 3) * B + b) * H;
        real *at_h = h_seq + ((size_t)t * B + b) * H;
        real *at_c = c_seq + ((size_t)t * B + b) * H;
        real *at_f = f_seq + ((size_t)t * B + b) * H;
        real *at_g = g_seq + ((size_t)t * B + b) * H;
        real *at_i = i_seq + ((size_t)t * B + b) * H;
        real *at_o = o_seq + ((size_t)t * B + b) * H;
        real *at_tanh_c = tanh_c_seq + ((size_t)t * B + b) * H;
        const real *prev_h = t ? h_seq + ((size_t)(t - 1) * B + b) * H : h0 + (size_t)b * H;
        const real *prev_c = t ? c_seq + ((size_t)(t - 1) * B + b) * H : c0 + (size_t)b * H;
        const real *dl = dl_seq + ((size_t)t * B + b) * H;
        real *dr = d_pre_seq + ((size_t)t * B + b) * 4 * H;
        real *d_h_next = d_h_carry + (size_t)b * H;
        real *d_c_next = d_c_carry + (size_t)b * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            /* δh = ∂ℓ/∂h + δh_next */
            real d_h = d_h_next[j] + dl[j];
            /* δa_o = δh ⊙ o ⊙ tanh(c) ⊙ (1 − o) */
            dr[0 * H + j] = d_h*at_o[j]*at_tanh_c[j]*(1 - at_o[j]);
            /* δc = δh ⊙ o ⊙ (p_o ⊙ tanh(c) ⊙ (1 − o) + 1 − tanh²(c)) + δc_next */
            real d_c = d_c_next[j] + d_h*at_o[j]*(p_o[j]*at_tanh_c[j]*(1 - at_o[j]) - (at_tanh_c[j] * at_tanh_c[j]) + 1);
            /* δa_f = δc ⊙ c_prev ⊙ f ⊙ (1 − f) */
            dr[3 * H + j] = prev_c[j]*d_c*at_f[j]*(1 - at_f[j]);
            /* δa_i = δc ⊙ g ⊙ i ⊙ (1 − i) */
            dr[2 * H + j] = d_c*at_g[j]*at_i[j]*(1 - at_i[j]);
            /* δa_g = δc ⊙ i */
            dr[1 * H + j] = d_c*at_i[j];
            /* δp_i = δc ⊙ c_prev ⊙ g ⊙ i ⊙ (1 − i), summed over steps and rows */
            d_p_i[j] += prev_c[j]*d_c*at_g[j]*at_i[j]*(1 - at_i[j]);
            /* δp_f = δc ⊙ f ⊙ c_prev² ⊙ (1 − f), summed over steps and rows */
            d_p_f[j] += (prev_c[j] * prev_c[j])*d_c*at_f[j]*(1 - at_f[j]);
            /* δp_o = δh ⊙ c ⊙ o ⊙ tanh(c) ⊙ (1 − o), summed over steps and rows */
            d_p_o[j] += at_c[j]*d_h*at_o[j]*at_tanh_c[j]*(1 - at_o[j]);
            /* δc_prev = δc ⊙ (c_prev ⊙ f ⊙ p_f ⊙ (1 − f) + f + g ⊙ i ⊙ p_i ⊙ (1 − i)), handed to step t − 1 */
            d_c_next[j] = d_c*(prev_c[j]*at_f[j]*p_f[j]*(1 - at_f[j]) + at_f[j] + at_g[j]*at_i[j]*p_i[j]*(1 - at_i[j]));
        }
    }
}

void NAME(forward_steps)(int T, const int *active, int B, int H, real *gates, real *rec, real *h0, real *c0, real *h_seq, real *c_seq, real *f_seq, real *g_seq, real *i_seq, real *o_seq, real *tanh_c_seq, real *p_i, real *p_f, real *p_o, const real *UT) {
    const int N = 4 * H;  /* columns of the recurrent product */
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
        NAME(forward_step)(t, live, B, H, gates, rec, h0, c0, h_seq, c_seq, f_seq, g_seq, i_seq, o_seq, tanh_c_seq, p_i, p_f, p_o);
    }
}

void NAME(backward_steps)(int T, const int *active, int B, int H, real *gates, real *h0, real *c0, real *h_seq, real *c_seq, real *f_seq, real *g_seq, real *i_seq, real *o_seq, real *tanh_c_seq, real *dl_seq, real *d_h_carry, real *d_c_carry, real *d_pre_seq, real *p_i, real *p_f, real *p_o, real *d_p_i, real *d_p_f, real *d_p_o, const real *U) {
    const int N = 4 * H;  /* rows of U read by the recurrent product */
    for (int t = T - 1; t >= 0; t--) {
        const int live = active[t];
        NAME(backward_step)(t, live, B, H, gates, h0, c0, h_seq, c_seq, f_seq, g_seq, i_seq, o_seq, tanh_c_seq, dl_seq, d_h_carry, d_c_carry, d_pre_seq, p_i, p_f, p_o, d_p_i, d_p_f, d_p_o);
        for (int b = 0; b < live; b++) {  /* δh_prev = the recurrent columns' δ @ U, row by row */
            real *out = d_h_carry + (size_t)b * H;
            const real *in = d_pre_seq + ((size_t)t * B + b) * 4 * H + 0 * H;
            for (int k = 0; k < H; k++) out[k] = 0;
            for (int m = 0; m < N; m++) {
                const real v = in[m], *u = U + (size_t)m * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) out[k] += v * u[k];
            }
        }
    }
}
