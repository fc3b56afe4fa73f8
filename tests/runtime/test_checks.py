"""Generated kernels reject bad inputs with a ValueError that names the argument."""

import numpy as np
import pytest

from helpers import kernel, random_problem


@pytest.fixture
def lstm_problem():
    module = kernel("lstm")
    return (module, *random_problem(module, 3, 2, 4, 5, seed=0))


def test_wrong_param_shape(lstm_problem):
    module, params, x, init, *_ = lstm_problem
    params["U_f"] = np.zeros((5, 4))
    with pytest.raises(ValueError, match=r"params\['U_f'\] has shape \(5, 4\), expected \(H, H\) = \(5, 5\)"):
        module.forward(params, x, **init)


def test_missing_and_unexpected_params(lstm_problem):
    module, params, x, *_ = lstm_problem
    params.pop("b_o")
    params["b_typo"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"missing \['b_o'\], unexpected \['b_typo'\]"):
        module.forward(params, x)


def test_x_must_be_3d(lstm_problem):
    module, params, x, *_ = lstm_problem
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, D\)"):
        module.forward(params, x[0])


def test_x_feature_size(lstm_problem):
    module, params, x, *_ = lstm_problem
    with pytest.raises(ValueError, match=r"params\['W_i'\] has shape \(5, 4\), expected \(H, D\) = \(5, 3\)"):
        module.forward(params, x[:, :, :3])


def test_initial_state_shape(lstm_problem):
    module, params, x, init, *_ = lstm_problem
    with pytest.raises(ValueError, match=r"c0 has shape \(3, 5\), expected \(2, 5\)"):
        module.forward(params, x, h0=init["h0"], c0=np.zeros((3, 5)))


def test_dtype_mismatch_is_not_silently_upcast(lstm_problem):
    module, params, x, init, *_ = lstm_problem
    params["W_g"] = params["W_g"].astype(np.float32)
    with pytest.raises(ValueError, match=r"params\['W_g'\] has dtype float32 but x has float64"):
        module.forward(params, x, **init)


def test_integer_input_rejected(lstm_problem):
    module, params, x, *_ = lstm_problem
    with pytest.raises(ValueError, match="x has dtype int64; use float32 or float64"):
        module.forward(params, x.astype(np.int64))


def test_not_an_array(lstm_problem):
    module, params, x, *_ = lstm_problem
    with pytest.raises(ValueError, match="x must be a NumPy array, got list"):
        module.forward(params, x.tolist())


def test_backward_gradient_shape(lstm_problem):
    module, params, x, init, g_seq, g_final = lstm_problem
    _, cache = module.forward(params, x, **init)
    with pytest.raises(ValueError, match=r"dh_seq has shape \(2, 2, 5\), expected \(3, 2, 5\)"):
        module.backward(params, cache, g_seq[:2])
    with pytest.raises(ValueError, match=r"dc_T has shape \(2, 4\), expected \(2, 5\)"):
        module.backward(params, cache, g_seq, dc_T=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="cache must be the dict returned by lstm.forward"):
        module.backward(params, {}, g_seq)


def test_check_finite(lstm_problem):
    module, params, x, init, *_ = lstm_problem
    x[1, 0, 2] = np.nan
    module.forward(params, x, **init)  # off by default
    with pytest.raises(ValueError, match="NaN or Inf in x"):
        module.forward(params, x, **init, check_finite=True)


def test_backward_does_not_modify_its_inputs(lstm_problem):
    module, params, x, init, g_seq, g_final = lstm_problem
    _, cache = module.forward(params, x, **init)
    before = {k: v.copy() for k, v in g_final.items()}
    module.backward(params, cache, g_seq, **g_final)
    for k in before:
        np.testing.assert_array_equal(before[k], g_final[k])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru_cho"])
def test_float32_stays_float32(cell):
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, 3, 2, 4, 5, 0, np.float32)
    out, cache = module.forward(params, x, **init)
    grads = module.backward(params, cache, g_seq, **g_final)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def test_the_wrong_parameter_is_the_one_named(lstm_problem):
    module, params, x, init, *_ = lstm_problem
    params["W_i"] = np.zeros((5, 5))  # the first parameter, D = 4
    with pytest.raises(ValueError, match=r"^lstm.forward: params\['W_i'\] has shape \(5, 5\), expected \(H, D\) = \(5, 4\)$"):
        module.forward(params, x, **init)


def test_backward_with_the_cache_of_another_cell(lstm_problem):
    module, params, x, init, g_seq, g_final = lstm_problem
    gru = kernel("gru")
    gru_params, gru_x, *_ = random_problem(gru, 3, 2, 4, 5, seed=0)
    _, cache = gru.forward(gru_params, gru_x)
    with pytest.raises(ValueError, match=r"^lstm.backward: the cache comes from gru.forward, not lstm.forward$"):
        module.backward(params, cache, g_seq)
    with pytest.raises(ValueError, match=r"^lstm.backward: cache must be the dict returned by lstm.forward"):
        module.backward(params, {"batch": None}, g_seq)


def test_backward_checks_the_parameters(lstm_problem):
    module, params, x, init, g_seq, _ = lstm_problem
    _, cache = module.forward(params, x, **init)
    missing = {k: v for k, v in params.items() if k != "W_i"}
    with pytest.raises(ValueError, match=r"^lstm.backward: params missing \['W_i'\], unexpected nothing$"):
        module.backward(missing, cache, g_seq)
    other_d = {**params, "W_i": np.zeros((5, 7))}
    with pytest.raises(ValueError, match=r"^lstm.backward: params\['W_i'\] has shape \(5, 7\), expected \(H, D\) = \(5, 4\)$"):
        module.backward(other_d, cache, g_seq)
    other_h = {k: np.zeros(tuple(3 for _ in v.shape)) for k, v in params.items()}
    with pytest.raises(ValueError, match=r"^lstm.backward: params\['W_i'\] has shape \(3, 3\), expected \(H, D\) = \(3, 4\)$"):
        module.backward(other_h, cache, g_seq)
