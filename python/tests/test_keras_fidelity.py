"""
test_keras_fidelity.py — Keras 3's behaviour where latefuse's Python layer
differed (session 34's list): the order of a single output's evaluate list
and logs, the metrics' keys, set_vocabulary with the reserved tokens given,
the latefuse-only TextVectorization options in .keras files and the
optimizer's variables in .keras files.

Each case cites the Keras source it follows (keras-team/keras, keras/src/...).
"""
import numpy as np
import pytest

from latefuse import Model
from latefuse.layers import Dense, Input


def _binary(seed=3, n=48):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(np.float64).reshape(-1, 1)
    return x, y


# ---------------------------------------------------------------- evaluate's order, one output

def test_one_output_evaluate_lists_the_metrics_in_compile_order():
    """keras/src/trainers/trainer.py _flatten_metrics_in_order: loss, then
    CompileMetrics.metrics (compile_utils.py: metrics then weighted_metrics,
    each in compile's order) found in the logs, then the other keys sorted"""
    x, y = _binary()
    inp = Input((3,))
    m = Model(inp, Dense(1, activation="sigmoid")(inp))
    m.compile("adam", "binary_crossentropy", metrics=["mse", "accuracy", "mae"])
    assert m.metrics_names == ["loss", "mse", "accuracy", "mae"]
    d = m.evaluate(x, y, return_dict=True, verbose=0)
    assert list(d) == ["loss", "mse", "accuracy", "mae"]
    v = m.evaluate(x, y, verbose=0)
    assert v == [d[k] for k in m.metrics_names]
    p = m.predict(x, verbose=0).astype(np.float64)
    assert v[1] == pytest.approx(np.mean((p - y) ** 2), rel=1e-6)
    assert v[2] == pytest.approx(np.mean((p > 0.5) == (y > 0.5)), rel=1e-12)
    assert v[3] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-6)
    h = m.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert list(h.history) == ["loss", "mse", "accuracy", "mae", "val_loss", "val_mse", "val_accuracy", "val_mae"]
    # weighted_metrics after the metrics; one renamed weighted_<name> after those under their own names
    m.compile("adam", "binary_crossentropy", metrics=["mae", "accuracy"], weighted_metrics=["mse", "mae"])
    assert list(m.evaluate(x, y, return_dict=True, verbose=0)) == ["loss", "mae", "accuracy", "mse", "weighted_mae"]
    assert m.metrics_names == ["loss", "mae", "accuracy", "mse", "weighted_mae"]


# ---------------------------------------------------------------- the metrics' keys

def test_auc_and_value_metrics_are_keyed_as_keras_3_names_them(tmp_path):
    """keras/src/trainers/compile_utils.py get_metric: a string is its own
    key ('AUC' stays 'AUC': keras/src/metrics/__init__.py maps both 'AUC'
    and 'auc' to the class), an object its name (AUC() 'auc', AUC(name='x')
    'x'); weighted_metrics of a name metrics= has: weighted_<name>"""
    from latefuse import load_model
    from latefuse.metrics import AUC, MeanAbsoluteError
    from latefuse.models import _auc
    x, y = _binary(5, 60)
    inp = Input((3,))
    m = Model(inp, Dense(1, activation="sigmoid")(inp), seed=2)
    p = m.predict(x, verbose=0)[:, 0].astype(np.float64)
    auc = _auc(p, y[:, 0] > 0.5, np.ones(len(y)))
    for metrics, keys in ((["AUC"], ["AUC"]), (["auc"], ["auc"]), ([AUC()], ["auc"]), ([AUC(name="x")], ["x"]),
                          ([AUC(name="x"), "AUC", MeanAbsoluteError(name="err")], ["x", "AUC", "err"])):
        m.compile("sgd", "binary_crossentropy", metrics=metrics)
        assert m.metrics_names == ["loss"] + keys
        d = m.evaluate(x, y, return_dict=True, verbose=0)
        assert list(d) == ["loss"] + keys
        assert d[keys[0]] == pytest.approx(auc, rel=1e-12)
    assert d["err"] == pytest.approx(np.mean(np.abs(p - y[:, 0])), rel=1e-6)
    m.compile("sgd", "binary_crossentropy", metrics=["AUC"], weighted_metrics=["AUC", AUC(name="w")])
    assert list(m.evaluate(x, y, return_dict=True, verbose=0)) == ["loss", "AUC", "weighted_AUC", "w"]
    assert m.metrics_names == ["loss", "AUC", "w", "weighted_AUC"]
    h = m.fit(x, y, epochs=1, verbose=0, validation_split=0.5)
    assert list(h.history) == ["loss", "AUC", "weighted_AUC", "w", "val_loss", "val_AUC", "val_weighted_AUC", "val_w"]
    # a .keras file keeps the keys: AUC(name='w') as Keras serializes a metric object
    m.compile("sgd", "binary_crossentropy", metrics=[AUC(name="x"), "AUC"], weighted_metrics=[AUC()])
    m.save(tmp_path / "m.keras")
    import json
    import zipfile
    cc = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))["compile_config"]
    assert cc["metrics"][0] == {"module": "keras.metrics", "class_name": "AUC", "registered_name": None,
                                "config": {"name": "x", "dtype": None, "num_thresholds": 200, "curve": "ROC",
                                           "summation_method": "interpolation", "multi_label": False,
                                           "num_labels": None, "label_weights": None, "from_logits": False}}
    assert cc["metrics"][1] == "AUC" and cc["weighted_metrics"] == ["auc"]
    back = load_model(tmp_path / "m.keras")
    assert back.metrics_names == m.metrics_names == ["loss", "x", "AUC", "auc"]
