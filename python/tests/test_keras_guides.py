"""
test_keras_guides.py — the usage patterns of more of Keras 3's guides and
examples (keras-io: "The Sequential model", "Writing your own callbacks",
"Save, serialize, and export models", "Understanding masking & padding",
and the examples "Text classification from scratch", "Bidirectional LSTM
on IMDB", "Image classification from scratch"), written for latefuse.

The models are those of the guides (the same layer kinds, units and shapes,
so the same parameter counts), fed small synthetic arrays of the guides'
shapes and dtypes (variable lengths get a length: the engine needs one,
test_keras_ports.py::test_functional_variable_length_refused). Checked:
Sequential idioms (add / pop, building on first call, input_shape's warning,
feature extraction, freezing), every callback hook in Keras' order with its
log keys and values (test batch metrics against numpy), callbacks that stop
training, put weights back and set the learning rate, .keras / .weights.h5 /
config / JSON round trips, masks through an LSTM (pre- and post-padding
alike), TextVectorization into a model and a string-input model equal to its
integer one; and what the engine cannot do (custom call(), keras.ops,
keras.saving's custom objects, a standardize callable) refused with a
message naming the alternative.
"""
import io

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers


def _summary_text(model):
    out = io.StringIO()
    model.summary(print_fn=lambda line, **_: out.write(line + "\n"))
    return out.getvalue()


def _relu(units, **kw):
    return layers.Dense(units, activation="relu", **kw)


def _two_three_four():
    """Dense(2, relu), Dense(3, relu), Dense(4): the stack the Sequential tests use."""
    return [_relu(2), _relu(3), layers.Dense(4)]


def _by_hand(x, weight_pairs):
    """the 2-3-4 stack in numpy from its (kernel, bias) pairs."""
    for i, (k, b) in enumerate(weight_pairs):
        x = x @ k + b
        x = np.maximum(x, 0) if i < len(weight_pairs) - 1 else x
    return x


# ------------------------------------------------------------------ Sequential

def test_sequential_equals_its_layers_chained():
    ones = np.ones((3, 3))
    stack = keras.Sequential(_two_three_four())
    out = stack(ones)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, _by_hand(ones, [ly.get_weights() for ly in stack.layers]), rtol=1e-5, atol=1e-6)

    loose = _two_three_four()
    chained = loose[2](loose[1](loose[0](ones)))
    np.testing.assert_allclose(chained, _by_hand(ones, [ly.get_weights() for ly in loose]), rtol=1e-5, atol=1e-6)


def test_sequential_add_pop_and_name():
    assert len(keras.Sequential(_two_three_four()).layers) == 3
    grown = keras.Sequential()
    for ly in _two_three_four():
        grown.add(ly)
    grown.pop()
    assert len(grown.layers) == 2
    named = keras.Sequential(name="named_stack")
    for ly in _two_three_four():
        named.add(ly)
    assert named.name == "named_stack"


def test_layer_weights_appear_on_first_call():
    dense = layers.Dense(3)
    assert dense.weights == []
    dense(np.ones((1, 4)))
    assert [w.shape for w in dense.weights] == [(4, 3), (3,)]


def test_sequential_without_input_builds_on_first_call():
    stack = keras.Sequential(_two_three_four())
    with pytest.raises(ValueError, match="not yet been built"):
        stack.summary()
    stack(np.ones((1, 4)))
    assert len(stack.weights) == 6
    stack.summary(print_fn=lambda *a, **k: None)


def test_sequential_input_first_or_input_shape():
    stack = keras.Sequential()
    stack.add(keras.Input(shape=(4,)))
    stack.add(_relu(2))
    assert "(None, 2)" in _summary_text(stack)
    assert [type(ly).__name__ for ly in stack.layers] == ["Dense"]

    stack = keras.Sequential()
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        stack.add(_relu(2, input_shape=(4,)))
    assert stack.count_params() == 4 * 2 + 2


def _conv_relu(width=32, size=3, **kw):
    return layers.Conv2D(width, size, activation="relu", **kw)


def test_sequential_conv_stack_shapes_while_adding():
    stack = keras.Sequential()
    stack.add(keras.Input(shape=(250, 250, 3)))
    for ly in (_conv_relu(size=5, strides=2), _conv_relu(), layers.MaxPooling2D(3)):
        stack.add(ly)
    assert "(None, 40, 40, 32)" in _summary_text(stack)
    for pool in (3, 2):
        stack.add(_conv_relu())
        stack.add(_conv_relu())
        stack.add(layers.MaxPooling2D(pool))
    assert "(None, 4, 4, 32)" in _summary_text(stack)
    stack.add(layers.GlobalMaxPooling2D())
    stack.add(layers.Dense(10))
    assert stack.output_shape == (None, 10)


def _three_convs(middle_name=None):
    return keras.Sequential([keras.Input(shape=(250, 250, 3)), _conv_relu(size=5, strides=2),
                             _conv_relu(name=middle_name), _conv_relu()])


def test_features_of_a_sequential_as_model_outputs():
    ones = np.ones((1, 250, 250, 3))
    base = _three_convs()
    every = keras.Model(inputs=base.inputs, outputs=[ly.output for ly in base.layers])
    assert [f.shape for f in every(ones)] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]
    base = _three_convs(middle_name="middle")
    one = keras.Model(inputs=base.inputs, outputs=base.get_layer(name="middle").output)
    assert one(ones).shape == (1, 121, 121, 32)


def _unchanged(before, after):
    return all(np.array_equal(a, b) for a, b in zip(before, after))


def test_frozen_layers_and_a_frozen_base_model():
    gen = np.random.default_rng(0)
    rows, labels = gen.normal(size=(32, 784)).astype("float32"), gen.integers(0, 10, 32)
    stack = keras.Sequential([keras.Input(shape=(784,)), _relu(32), _relu(32), _relu(32), layers.Dense(10)])
    for ly in stack.layers[:-1]:
        ly.trainable = False
    before = [ly.get_weights() for ly in stack.layers]
    stack.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    stack.fit(rows, labels, epochs=1, verbose=0)
    assert [_unchanged(w, ly.get_weights()) for w, ly in zip(before, stack.layers)] == [True, True, True, False]

    base = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(8, 3), layers.GlobalAveragePooling2D()])
    base.trainable = False
    stack = keras.Sequential([base, layers.Dense(1000)])
    assert stack.count_params() == (3 * 3 * 3 * 8 + 8) + (8 * 1000 + 1000)
    kept = base.get_weights()
    stack.compile(optimizer="adam", loss="mse")
    stack.fit(gen.normal(size=(4, 16, 16, 3)), gen.normal(size=(4, 1000)), verbose=0)
    for a, b in zip(kept, base.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- callbacks

def _linear_regressor():
    """Dense(1) on flat images, RMSprop(0.1), mean squared error, mae metric."""
    net = keras.Sequential()
    net.add(layers.Dense(1))
    net.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error",
                metrics=["mean_absolute_error"])
    return net


def _regression_rows():
    """1000 train rows (784 pixels in [0, 1]) with their digit as the target,
    and the first 200 as the test rows."""
    gen = np.random.default_rng(5)
    pixels = gen.integers(0, 256, (1000, 28, 28)).astype("uint8").reshape(1000, 784).astype("float32") / 255.0
    digit = gen.integers(0, 10, 1000).astype("uint8")
    return pixels, digit, pixels[:200], digit[:200]


_EPOCH_HOOKS = ("epoch_begin", "epoch_end")
_BATCH_HOOKS = tuple(p + "_batch_" + e for p in ("train", "test", "predict") for e in ("begin", "end"))
_RUN_HOOKS = tuple(p + "_" + e for p in ("train", "test", "predict") for e in ("begin", "end"))


def _recorder(hook, numbered):
    if numbered:
        def on(self, i, logs=None):
            self.calls.append((hook, i, list(logs)))
    else:
        def on(self, logs=None):
            self.calls.append((hook, None, list(logs)))
    return on


class _HookTrace(keras.callbacks.Callback):
    """(hook, epoch or batch, log keys in order) of every hook called."""

    def __init__(self):
        super().__init__()
        self.calls = []


for _h in _EPOCH_HOOKS + _BATCH_HOOKS + _RUN_HOOKS:
    setattr(_HookTrace, "on_" + _h, _recorder(_h, _h not in _RUN_HOOKS))


def _batch_calls(phase, count, end_keys):
    return [c for b in range(count) for c in ((phase + "_batch_begin", b, []), (phase + "_batch_end", b, end_keys))]


def test_callback_hooks_in_order_with_their_log_keys():
    rows, target, test_rows, test_target = _regression_rows()
    net = _linear_regressor()
    metrics = ["loss", "mean_absolute_error"]
    with_val = metrics + ["val_loss", "val_mean_absolute_error"]

    trace = _HookTrace()
    net.fit(rows, target, batch_size=128, epochs=1, verbose=0, validation_split=0.5, callbacks=[trace])
    # 500 rows each side, 4 batches of 128; train batch logs hold the loss
    # alone (the library measures mae at the epoch's end, Keras every batch)
    assert trace.calls == ([("train_begin", None, []), ("epoch_begin", 0, [])]
                           + _batch_calls("train", 4, ["loss"])
                           + [("test_begin", None, [])] + _batch_calls("test", 4, metrics)
                           + [("test_end", None, metrics), ("epoch_end", 0, with_val), ("train_end", None, with_val)])

    trace = _HookTrace()
    net.evaluate(test_rows, test_target, batch_size=128, verbose=0, callbacks=[trace])
    assert trace.calls == ([("test_begin", None, [])] + _batch_calls("test", 2, metrics)
                           + [("test_end", None, metrics)])

    trace = _HookTrace()
    net.predict(test_rows, batch_size=128, callbacks=[trace])
    assert trace.calls == ([("predict_begin", None, [])] + _batch_calls("predict", 2, ["outputs"])
                           + [("predict_end", None, [])])


class _LogValues(keras.callbacks.Callback):
    """the logs of train batch ends, test batch ends and epoch ends, copied."""

    def __init__(self):
        super().__init__()
        self.train, self.test, self.epochs = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.train.append(dict(logs))

    def on_test_batch_end(self, batch, logs=None):
        self.test.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(dict(logs))


def _assert_running_metrics(test_logs, pred, target, batch, mae_rel, loss_rel=None):
    """each test batch's logs: the mae (and mse) over the rows seen so far."""
    for b, logs in enumerate(test_logs):
        seen = min(len(pred), batch * (b + 1))
        gap = pred[:seen] - target[:seen]
        if loss_rel is not None:
            assert logs["loss"] == pytest.approx(np.mean(gap ** 2), rel=loss_rel)
        assert logs["mean_absolute_error"] == pytest.approx(np.mean(np.abs(gap)), rel=mae_rel)


def test_callback_logs_hold_the_running_values():
    rows, target, test_rows, test_target = _regression_rows()
    net = _linear_regressor()
    seen = _LogValues()
    hist = net.fit(rows, target, batch_size=128, epochs=2, verbose=0, callbacks=[seen]).history
    assert len(seen.train) == 16 and all(np.isfinite(t["loss"]) for t in seen.train)
    assert [e["loss"] for e in seen.epochs] == hist["loss"]
    assert [e["mean_absolute_error"] for e in seen.epochs] == hist["mean_absolute_error"]

    seen = _LogValues()
    scores = net.evaluate(test_rows, test_target, batch_size=128, verbose=0, callbacks=[seen])
    pred = net.predict(test_rows, verbose=0)[:, 0].astype(np.float64)
    assert len(seen.test) == 2
    _assert_running_metrics(seen.test, pred, test_target, 128, mae_rel=1e-9, loss_rel=1e-5)
    assert seen.test[-1]["mean_absolute_error"] == pytest.approx(scores[1], rel=1e-12)

    seen = _LogValues()
    hist = net.fit(rows[:256], target[:256], batch_size=128, epochs=1, verbose=0,
                   validation_data=(test_rows, test_target), validation_batch_size=64, callbacks=[seen]).history
    pred = net.predict(test_rows, verbose=0)[:, 0].astype(np.float64)
    assert len(seen.test) == 4
    # fit's validation predicts batch by batch, predict here in one pass: float32 rounding apart
    _assert_running_metrics(seen.test, pred, test_target, 64, mae_rel=1e-6)
    assert seen.test[-1]["mean_absolute_error"] == pytest.approx(hist["val_mean_absolute_error"][0], rel=1e-6)


class _StopWhenWorse(keras.callbacks.Callback):
    """ends training at the first epoch whose loss is not below the best so far,
    and puts back the best epoch's weights."""

    def on_train_begin(self, logs=None):
        self.best_loss, self.best_weights, self.stopped_at = float("inf"), None, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["loss"] < self.best_loss:
            self.best_loss, self.best_weights = logs["loss"], self.model.get_weights()
            return
        self.stopped_at = epoch
        self.model.stop_training = True
        self.model.set_weights(self.best_weights)


def test_callback_stops_training_and_puts_back_the_best_weights():
    rows, target, _, _ = _regression_rows()
    net = _linear_regressor()
    stopper = _StopWhenWorse()
    losses = net.fit(rows, target, batch_size=64, epochs=30, verbose=0, callbacks=[stopper]).history["loss"]
    assert len(losses) < 30 and stopper.stopped_at == len(losses) - 1
    assert losses[-1] >= losses[-2] and stopper.best_loss == min(losses)
    for a, b in zip(stopper.best_weights, net.get_weights()):
        np.testing.assert_array_equal(a, b)


class _RateAtEpochs(keras.callbacks.Callback):
    """sets the optimizer's learning rate at the epochs named in `rates`, and
    records the rate each epoch starts with."""

    def __init__(self, rates):
        super().__init__()
        self.rates, self.used = rates, []

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        if epoch in self.rates:
            opt.learning_rate = self.rates[epoch]
        self.used.append(float(np.array(opt.learning_rate)))


def test_callback_sets_the_learning_rate_per_epoch():
    rows, target, _, _ = _regression_rows()
    rows, target = rows[:256], target[:256]
    net = _linear_regressor()
    steps = _RateAtEpochs({3: 0.05, 6: 0.02, 9: 0.01, 12: 0.002})
    net.fit(rows, target, batch_size=64, epochs=15, verbose=0, callbacks=[steps])
    assert steps.used == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.02] * 3 + [0.01] * 3 + [0.002] * 3)
    assert net.optimizer.learning_rate == pytest.approx(0.002)
    constant = _linear_regressor()
    constant.fit(rows, target, batch_size=64, epochs=15, verbose=0)
    assert not np.array_equal(constant.get_weights()[0], net.get_weights()[0])


# ------------------------------------------------------------ saving and config

def _regressor_32():
    x = keras.Input(shape=(32,))
    net = keras.Model(x, layers.Dense(1)(x))
    net.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return net


def test_keras_file_round_trip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gen = np.random.default_rng(12)
    rows = gen.random((128, 32))
    net = _regressor_32()
    net.fit(rows, gen.random((128, 1)), verbose=0)
    net.save("regressor.keras")
    np.testing.assert_array_equal(keras.models.load_model("regressor.keras").predict(rows), net.predict(rows))
    assert keras.models.clone_model(net).count_params() == 33


def test_custom_objects_refused():
    with pytest.raises(AttributeError, match=r"latefuse has no saving \(Keras' keras.saving\): custom objects .* "
                                             r"model.save\('m.keras'\)"):
        keras.saving.get_custom_objects()

    class Scale(keras.layers.Layer):
        def __init__(self, by):
            super().__init__()
            self.by = by

        def call(self, x):
            return x * self.by

    with pytest.raises(NotImplementedError, match="custom layers .* are not supported"):
        Scale(0.5)(keras.Input(shape=(4,)))


def test_config_and_json_round_trips():
    cfg = keras.layers.Dense(3, activation="relu").get_config()
    assert cfg["units"] == 3 and cfg["activation"] == "relu"
    assert keras.layers.Dense.from_config(cfg).get_config() == cfg

    seq = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    assert keras.Sequential.from_config(seq.get_config()).count_params() == 33
    assert keras.models.model_from_json(seq.to_json()).count_params() == 33
    x = keras.Input((32,))
    fn = keras.Model(x, keras.layers.Dense(1)(x))
    assert keras.Model.from_config(fn.get_config()).count_params() == 33


def _digit_mlp(dropout=False, seed=None):
    """784 ('pixels') -> Dense(64, relu) x2 [-> Dropout(0.5)] -> Dense(10)."""
    x = keras.Input(shape=(784,), name="pixels")
    h = _relu(64)(_relu(64)(x))
    h = layers.Dropout(0.5)(h) if dropout else h
    return keras.Model(x, layers.Dense(10)(h), name="mlp3", seed=seed)


def test_weights_move_between_layers_models_and_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def built():
        dense = keras.layers.Dense(64, activation="relu")
        dense.build((None, 784))
        return dense

    src, dst = built(), built()
    dst.set_weights(src.get_weights())
    for a, b in zip(src.get_weights(), dst.get_weights()):
        np.testing.assert_array_equal(a, b)

    plain, dropped = _digit_mlp(), _digit_mlp(dropout=True, seed=9)
    dropped.set_weights(plain.get_weights())
    rows = np.random.default_rng(13).random((2, 784))
    np.testing.assert_array_equal(dropped.predict(rows), plain.predict(rows))

    seq = keras.Sequential([keras.Input(shape=(784,), name="pixels"), _relu(64), _relu(64), layers.Dense(10)])
    seq.save_weights("seq.weights.h5")
    fresh = keras.Sequential([keras.Input(shape=(784,), name="pixels"), _relu(64), _relu(64), layers.Dense(10)],
                             seed=3)
    assert not _unchanged(seq.get_weights(), fresh.get_weights())
    fresh.load_weights("seq.weights.h5")
    assert _unchanged(seq.get_weights(), fresh.get_weights())

    _digit_mlp().save_weights("mlp.weights.h5")
    trained = _digit_mlp(seed=4)
    trained.load_weights("mlp.weights.h5")
    reused = keras.Sequential(trained.layers[:-1] + [keras.layers.Dense(5)])
    assert reused.count_params() == (784 * 64 + 64) + (64 * 64 + 64) + (64 * 5 + 5) == 54725


# -------------------------------------------------------------------- masking

_RAGGED = [[15, 4, 902], [7, 3310, 28, 61, 5], [44, 1, 870, 2, 1999, 61]]


def test_padding_and_masks_through_an_lstm():
    post = keras.utils.pad_sequences(_RAGGED, padding="post")
    np.testing.assert_array_equal(post, [[15, 4, 902, 0, 0, 0], [7, 3310, 28, 61, 5, 0], [44, 1, 870, 2, 1999, 61]])
    pre = keras.utils.pad_sequences(_RAGGED, padding="pre")

    table = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    assert table(post).shape == (3, 6, 16)
    np.testing.assert_array_equal(table.compute_mask(post), post != 0)
    masking = layers.Masking()
    steps = np.repeat(post[..., None], 10, axis=-1).astype("float32")
    np.testing.assert_array_equal(masking(steps), steps)
    np.testing.assert_array_equal(masking.compute_mask(steps), post != 0)

    stack = keras.Sequential([layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32)])
    np.testing.assert_allclose(stack(post), stack(pre), rtol=1e-5, atol=1e-6)
    ids = keras.Input(shape=(6,), dtype="int32")
    fn = keras.Model(ids, layers.LSTM(32)(layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(ids)))
    np.testing.assert_allclose(fn.predict(post), fn.predict(pre), rtol=1e-5, atol=1e-6)


def test_ops_and_mask_aware_custom_layers_refused():
    with pytest.raises(AttributeError, match=r"latefuse has no ops .* use numpy on the arrays predict returns"):
        keras.ops.relu

    class MaskKeeper(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

    emb = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(keras.Input(shape=(6,), dtype="int32"))
    with pytest.raises(NotImplementedError, match="built from latefuse.layers' classes only"):
        MaskKeeper()(emb)


# ---------------------------------------------------------------- text models

def _reviews(n, seed):
    gen = np.random.default_rng(seed)
    vocab = np.array(["nice", "dull", "scene", "cast", "superb", "boring", "story", "<br />", "score", "wow!"])
    return np.array([" ".join(gen.choice(vocab, 40)) for _ in range(n)]), gen.integers(0, 2, n).astype("int32")


def test_text_vectorization_into_a_conv1d_classifier():
    texts, labels = _reviews(64, seed=7)
    tokens, width, length = 20000, 128, 500
    with pytest.raises(ValueError, match="TextVectorization: standardize must be one of 'lower_and_strip_punctuation'"):
        keras.layers.TextVectorization(standardize=lambda s: s, max_tokens=tokens, output_mode="int",
                                       output_sequence_length=length)
    vec = keras.layers.TextVectorization(max_tokens=tokens, output_mode="int", output_sequence_length=length)
    vec.adapt(texts)
    ids = vec(texts[:, None])
    assert ids.shape == (64, 500)

    x = keras.Input(shape=(length,), dtype="int64")
    h = layers.Dropout(0.5)(layers.Embedding(tokens, width)(x))
    for _ in range(2):
        h = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(h)
    h = layers.Dropout(0.5)(_relu(128)(layers.GlobalMaxPooling1D()(h)))
    clf = keras.Model(x, layers.Dense(1, activation="sigmoid", name="predictions")(h))
    clf.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    assert clf.count_params() == tokens * width + 2 * (7 * 128 * 128 + 128) + (128 * 128 + 128) + 129 == 2806273

    hist = clf.fit(ids, labels, validation_data=(ids, labels), epochs=1, verbose=0).history
    assert sorted(hist) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    by_ids = clf.evaluate(ids, labels, verbose=0)

    raw = keras.Input(shape=(1,), dtype="string")
    from_text = keras.Model(raw, clf(vec(raw)))
    from_text.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    assert from_text.evaluate(texts[:, None], labels, verbose=0) == pytest.approx(by_ids, rel=1e-6)


def test_stacked_bidirectional_lstm_classifier():
    tokens, length = 20000, 200
    x = keras.Input(shape=(length,), dtype="int32")
    h = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(layers.Embedding(tokens, 128)(x))
    clf = keras.Model(x, layers.Dense(1, activation="sigmoid")(layers.Bidirectional(layers.LSTM(64))(h)))
    text = _summary_text(clf)
    assert clf.count_params() == tokens * 128 + 2 * 4 * 64 * (128 + 64 + 1) * 2 + 129 == 2757761
    assert "(None, 200, 128)" in text and "(None, 128)" in text

    gen = np.random.default_rng(11)
    ragged = [list(gen.integers(1, tokens, gen.integers(5, 300))) for _ in range(32)]
    labels = gen.integers(0, 2, 32)
    ids = keras.preprocessing.sequence.pad_sequences(ragged, maxlen=length)
    val_ids = keras.preprocessing.sequence.pad_sequences(ragged[:16], maxlen=length)
    assert ids.shape == (32, 200) and ids.dtype == np.int32

    clf.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = clf.fit(ids, labels, batch_size=32, epochs=1, validation_data=(val_ids, labels[:16]), verbose=0).history
    assert np.isfinite(hist["loss"][0]) and 0 <= hist["val_accuracy"][0] <= 1


# ----------------------------------------------------- separable residual convnet

def _separable_stage(h, width):
    """relu, then two SeparableConv2D(width, 3) + BatchNorm (relu between),
    a strided 3x3 max pool, plus a strided 1x1 Conv2D shortcut of h."""
    y = layers.Activation("relu")(h)
    y = layers.BatchNormalization()(layers.SeparableConv2D(width, 3, padding="same")(y))
    y = layers.Activation("relu")(y)
    y = layers.BatchNormalization()(layers.SeparableConv2D(width, 3, padding="same")(y))
    y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
    return layers.add([y, layers.Conv2D(width, 1, strides=2, padding="same")(h)])


def _small_xception(shape, classes):
    pixels = keras.Input(shape=shape)
    h = layers.Conv2D(128, 3, strides=2, padding="same")(layers.Rescaling(1.0 / 255)(pixels))
    h = layers.Activation("relu")(layers.BatchNormalization()(h))
    for width in (256, 512, 728):
        h = _separable_stage(h, width)
    h = layers.BatchNormalization()(layers.SeparableConv2D(1024, 3, padding="same")(h))
    h = layers.GlobalAveragePooling2D()(layers.Activation("relu")(h))
    return keras.Model(pixels, layers.Dense(1 if classes == 2 else classes)(layers.Dropout(0.25)(h)))


def test_separable_residual_convnet():
    net = _small_xception((16, 16, 3), classes=2)
    assert net.output_shape == (None, 1)
    sep = [ly for ly in net.layers if isinstance(ly, layers.SeparableConv2D)]
    assert [ly.count_params() for ly in sep[:2]] == [3 * 3 * 128 + 128 * 256 + 256, 3 * 3 * 256 + 256 * 256 + 256]
    out = net.predict(np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32"), verbose=0)
    assert out.shape == (2, 1) and np.all(np.isfinite(out))
