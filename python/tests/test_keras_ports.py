"""
test_keras_ports.py — the usage patterns of Keras 3's guides "The Functional
API" and "Training & evaluation with the built-in methods" and of the
"Simple MNIST convnet" example (keras-io), written for latefuse.

The models are those of the guides (the same layer kinds, units and shapes,
so the same parameter counts), built through latefuse's Keras-style API and
trained for a few epochs on small synthetic arrays of the guides' shapes
and dtypes. Checked: parameter counts and summary shapes, finite losses that
go down, a two-output weighted loss and the from_logits crossentropies
against PyTorch, list and dict forms of compile/fit agreeing bit for bit,
class_weight equal to its sample_weight, models reloaded bit for bit, and
the refusals (a variable length, losses / metrics / layers of one's own)
with their messages.
"""
import io

import numpy as np
import pytest
import torch

import latefuse as keras
from latefuse import layers


def _summary(model):
    """model.summary() as a list of lines."""
    out = io.StringIO()
    model.summary(print_fn=lambda line, **_: out.write(line + "\n"))
    return out.getvalue().splitlines()


def _uint8_images(n, seed, shape=(28, 28)):
    """n random uint8 images of `shape` and n labels in 0..9 (uint8)."""
    gen = np.random.default_rng(seed)
    return (gen.integers(0, 256, (n,) + shape).astype("uint8"),
            gen.integers(0, 10, n).astype("uint8"))


def _flat_unit(images):
    """(n, 28, 28) uint8 -> (n, 784) float32 in [0, 1]."""
    return images.reshape(len(images), -1).astype("float32") / 255


def _learnable_rows(n, seed):
    """(n, 784) float32 rows whose label (0..9, float32) lights 8 of its pixels."""
    gen = np.random.default_rng(seed)
    label = gen.integers(0, 10, n)
    rows = gen.random((n, 784)).astype("float32") * 0.5
    for k in range(8):
        rows[np.arange(n), label * 78 + k] += 3.0
    return rows, label.astype("float32")


def _mlp(inputs, head=None, name=None):
    """inputs -> Dense(64, relu) -> Dense(64, relu) -> Dense(10, head)."""
    h = inputs
    for _ in range(2):
        h = layers.Dense(64, activation="relu")(h)
    return keras.Model(inputs, layers.Dense(10, activation=head)(h), name=name)


def _softmax_classifier():
    """the 784 -> 64 -> 64 -> 10 softmax network, compiled with RMSprop and
    the sparse crossentropy / accuracy."""
    net = _mlp(keras.Input(shape=(784,)), head="softmax")
    net.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                metrics=["sparse_categorical_accuracy"])
    return net


def _falls(values):
    return bool(np.all(np.isfinite(values)) and values[-1] < values[0])


# -------------------------------------------------------------- functional API

def test_functional_inputs_mlp_fit_and_reload(tmp_path):
    vec = keras.Input(shape=(784,))
    rgb = keras.Input(shape=(32, 32, 3))
    assert vec.shape == (None, 784) and vec.dtype == "float32"
    assert rgb.shape == (None, 32, 32, 3)
    net = _mlp(vec, name="digit_mlp")
    assert _summary(net)[0] == 'Model: "digit_mlp"'
    assert net.count_params() == (784 * 64 + 64) + (64 * 64 + 64) + (64 * 10 + 10) == 55050

    images, labels = _uint8_images(600, seed=0)
    rows = _flat_unit(images)
    net.compile(optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"],
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = net.fit(rows, labels, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
    scores = net.evaluate(rows[:100], labels[:100], verbose=2)
    assert _falls(hist.history["loss"])
    assert 0 <= scores[1] <= 1

    path = str(tmp_path / "mlp.lf")
    net.save(path)
    logits = net.predict(rows[:100])
    back = keras.models.load_model(path)
    np.testing.assert_array_equal(back.predict(rows[:100]), logits)
    # the file keeps the loss and the compiled metric: the same [loss, accuracy]
    assert back.evaluate(rows[:100], labels[:100], verbose=0) == scores


def _conv_encoder():
    """(28, 28, 1) -> 4 valid 3x3 convolutions around a 3x3 max pool -> global
    max over 16 channels."""
    img = keras.Input(shape=(28, 28, 1), name="image")
    h = img
    for width in (16, 32, "pool", 32, 16):
        h = layers.MaxPooling2D(3)(h) if width == "pool" else layers.Conv2D(width, 3, activation="relu")(h)
    return img, layers.GlobalMaxPooling2D()(h)


def test_functional_conv_autoencoder_reuses_the_encoder_graph():
    img, code = _conv_encoder()
    encoder = keras.Model(img, code, name="conv_encoder")
    assert _summary(encoder)[0] == 'Model: "conv_encoder"'
    assert encoder.count_params() == 18672

    h = layers.Reshape((4, 4, 1))(code)
    h = layers.Conv2DTranspose(16, 3, activation="relu")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu")(h)
    h = layers.UpSampling2D(3)(h)
    h = layers.Conv2DTranspose(16, 3, activation="relu")(h)
    recon = layers.Conv2DTranspose(1, 3, activation="relu")(h)
    autoencoder = keras.Model(img, recon, name="conv_autoencoder")
    lines = _summary(autoencoder)
    assert lines[0] == 'Model: "conv_autoencoder"'
    assert autoencoder.count_params() == 28241
    text = "\n".join(lines)
    assert "(None, 24, 24, 32)" in text and "(None, 28, 28, 1)" in text
    assert tuple(autoencoder.output_shape) == (None, 28, 28, 1)

    pics = np.random.default_rng(10).uniform(0, 1, (32, 28, 28, 1)).astype("float32")
    autoencoder.compile(optimizer="adam", loss="mse")
    assert _falls(autoencoder.fit(pics, pics, batch_size=16, epochs=3, verbose=0).history["loss"])


def test_functional_nested_models_averaged():
    def scorer():
        x = keras.Input(shape=(128,))
        return keras.Model(x, layers.Dense(1)(x))

    members = [scorer() for _ in range(3)]
    x = keras.Input(shape=(128,))
    mean = keras.Model(x, layers.average([m(x) for m in members]))
    assert mean.count_params() == 3 * 129
    rows = np.random.default_rng(1).normal(size=(5, 128)).astype("float32")
    want = sum(m.predict(rows) for m in members) / 3
    np.testing.assert_allclose(mean.predict(rows), want, rtol=1e-5, atol=1e-6)


VOCAB, N_FLAGS, N_TEAMS = 10000, 12, 4
HEAD_LEN, TEXT_LEN = 10, 100


def _two_text_router():
    """three inputs (two token sequences through an Embedding(10000, 64) and an
    LSTM each, 128 and 32 units; a 12-flag vector) joined into two heads:
    'urgency' (1 logit) and 'team' (4 logits)."""
    head = keras.Input(shape=(HEAD_LEN,), name="heading")
    text = keras.Input(shape=(TEXT_LEN,), name="text")
    flags = keras.Input(shape=(N_FLAGS,), name="flags")
    joined = layers.concatenate([layers.LSTM(128)(layers.Embedding(VOCAB, 64)(head)),
                                 layers.LSTM(32)(layers.Embedding(VOCAB, 64)(text)),
                                 flags])
    return keras.Model([head, text, flags],
                       [layers.Dense(1, name="urgency")(joined), layers.Dense(N_TEAMS, name="team")(joined)])


def _router_data(n, seed):
    gen = np.random.default_rng(seed)
    feeds = {"heading": gen.integers(0, VOCAB, (n, HEAD_LEN)),
             "text": gen.integers(0, VOCAB, (n, TEXT_LEN)),
             "flags": gen.integers(0, 2, (n, N_FLAGS)).astype("float32")}
    targets = {"urgency": gen.random((n, 1)), "team": gen.integers(0, 2, (n, N_TEAMS))}
    return feeds, targets


def test_functional_multi_io_with_loss_weights():
    net = _two_text_router()
    assert net.count_params() == 2 * VOCAB * 64 + 98816 + 12416 + 173 + 692 == 1392097
    assert [sum(w.size for w in net.get_layer(n).get_weights()) for n in ("lstm", "lstm_1", "urgency", "team")] \
        == [4 * 128 * (64 + 128 + 1), 4 * 32 * (64 + 32 + 1), 172 + 1, 4 * 172 + 4]
    assert "(None, 172)" in "\n".join(_summary(net))

    feeds, targets = _router_data(256, seed=0)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    cce = keras.losses.CategoricalCrossentropy(from_logits=True)
    net.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=[bce, cce], loss_weights=[1.0, 0.2])
    as_list = net.evaluate([feeds[k] for k in ("heading", "text", "flags")],
                           [targets["urgency"], targets["team"]], verbose=0)
    net.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss={"urgency": bce, "team": cce},
                loss_weights={"urgency": 1.0, "team": 0.2})
    assert net.evaluate(feeds, targets, verbose=0) == as_list

    hist = net.fit(feeds, targets, epochs=3, batch_size=32, verbose=0)
    assert _falls(hist.history["loss"])
    urgency, team = (torch.tensor(p, dtype=torch.float64) for p in net.predict(feeds))
    ref_u = torch.nn.functional.binary_cross_entropy_with_logits(
        urgency, torch.tensor(targets["urgency"])).item()
    ref_t = -(torch.tensor(targets["team"], dtype=torch.float64)
              * torch.log_softmax(team, 1)).sum(1).mean().item()
    total, part_u, part_t = net.evaluate(feeds, targets, verbose=0)
    assert total == pytest.approx(ref_u + 0.2 * ref_t, rel=1e-5)
    assert part_u == pytest.approx(ref_u, rel=1e-5) and part_t == pytest.approx(ref_t, rel=1e-5)


def test_functional_variable_length_refused():
    with pytest.raises(ValueError, match=r"a dimension of None .* give the length"):
        keras.Input(shape=(None,), name="heading")


def _relu_conv(x, same=False):
    return layers.Conv2D(64, 3, activation="relu", padding="same" if same else "valid")(x)


def test_functional_residual_convnet():
    img = keras.Input(shape=(32, 32, 3), name="image")
    skip = layers.MaxPooling2D(3)(_relu_conv(layers.Conv2D(32, 3, activation="relu")(img)))
    for _ in range(2):
        skip = layers.add([_relu_conv(_relu_conv(skip, same=True), same=True), skip])
    h = layers.GlobalAveragePooling2D()(_relu_conv(skip))
    h = layers.Dropout(0.5)(layers.Dense(256, activation="relu")(h))
    net = keras.Model(img, layers.Dense(10)(h), name="residual_convnet")
    assert _summary(net)[0] == 'Model: "residual_convnet"'
    assert net.count_params() == 223242

    images, labels = _uint8_images(100, seed=2, shape=(32, 32, 3))
    onehot = keras.utils.to_categorical(labels[:, None], 10)
    net.compile(optimizer=keras.optimizers.RMSprop(1e-3), metrics=["acc"],
                loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    hist = net.fit(images.astype("float32") / 255.0, onehot, batch_size=64, epochs=1,
                   validation_split=0.2, verbose=0).history
    assert sorted(hist) == ["acc", "loss", "val_acc", "val_loss"]
    assert np.isfinite(hist["loss"][0]) and np.isfinite(hist["val_loss"][0])


def test_functional_shared_layer_across_inputs():
    table = layers.Embedding(1000, 128)
    left, right = keras.Input(shape=(7,), dtype="int32"), keras.Input(shape=(7,), dtype="int32")
    both = keras.Model([left, right], [table(left), table(right)])
    assert both.count_params() == 1000 * 128
    ids = np.arange(14, dtype="int32").reshape(2, 7)
    a, b = both.predict([ids, ids])
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ built-in training

def test_fit_evaluate_predict_with_validation_data():
    rows, labels = _learnable_rows(500, seed=3)
    test_rows, test_labels = _learnable_rows(100, seed=4)
    net = _mlp(keras.Input(shape=(784,), name="pixels"), head="softmax")
    net.compile(optimizer=keras.optimizers.RMSprop(), loss=keras.losses.SparseCategoricalCrossentropy(),
                metrics=[keras.metrics.SparseCategoricalAccuracy()])
    hist = net.fit(rows[:400], labels[:400], batch_size=64, epochs=2,
                   validation_data=(rows[400:], labels[400:]), verbose=0).history
    assert sorted(hist) == ["loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"]
    assert hist["loss"][1] < hist["loss"][0]
    scores = net.evaluate(test_rows, test_labels, batch_size=128, verbose=0)
    assert len(scores) == 2 and scores[1] > 0.5
    assert net.predict(test_rows[:3]).shape == (3, 10)


def test_class_weight_is_a_per_class_sample_weight():
    rows, labels = _learnable_rows(500, seed=3)
    doubled = 5
    by_class = _softmax_classifier()
    by_class.fit(rows, labels, class_weight={c: 2.0 if c == doubled else 1.0 for c in range(10)},
                 batch_size=64, epochs=1, verbose=0)
    by_row = _softmax_classifier()
    by_row.fit(rows, labels, sample_weight=np.where(labels == doubled, 2.0, 1.0), batch_size=64, epochs=1, verbose=0)
    plain = _softmax_classifier()
    plain.fit(rows, labels, batch_size=64, epochs=1, verbose=0)
    for a, b, c in zip(by_class.get_weights(), by_row.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_early_stopping_and_batch_end_logs():
    rows, labels = _learnable_rows(500, seed=3)
    net = _softmax_classifier()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)
    hist = net.fit(rows, labels, epochs=20, batch_size=64, callbacks=[stop], validation_split=0.2, verbose=0)
    assert 1 <= len(hist.history["loss"]) <= 20

    class StepLosses(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.seen = []

        def on_batch_end(self, batch, logs):  # Keras' alias of on_train_batch_end
            self.seen.append(logs.get("loss"))

    steps = StepLosses()
    net.fit(rows, labels, epochs=1, batch_size=100, callbacks=[steps], verbose=0)
    assert len(steps.seen) == 5 and all(np.isfinite(steps.seen))


def test_own_losses_metrics_and_layers_refused():
    net = _mlp(keras.Input(shape=(784,)), head="softmax")

    def squared_gap(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1)

    with pytest.raises(ValueError, match="a loss function is not supported: the loss runs in the C library; use "
                                         "one of 'mse'"):
        net.compile(optimizer=keras.optimizers.Adam(), loss=squared_gap)

    class ScaledGap(keras.losses.Loss):
        def __init__(self, scale=0.1, name="scaled_gap"):
            super().__init__(name=name)
            self.scale = scale

    with pytest.raises(ValueError, match="a Loss subclass of your own is not supported"):
        net.compile(optimizer=keras.optimizers.Adam(), loss=ScaledGap())

    class HitCount(keras.metrics.Metric):
        def __init__(self, name="hit_count", **kwargs):
            super().__init__(name=name, **kwargs)

    with pytest.raises(ValueError, match=r"a Metric subclass of your own \(HitCount\) is not "
                                         "supported: the metrics are measured by the library"):
        net.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[HitCount()])

    class Passthrough(layers.Layer):
        def call(self, inputs):
            return inputs

    h = layers.Dense(64, activation="relu")(keras.Input(shape=(784,)))
    with pytest.raises(NotImplementedError):
        Passthrough()(h)


def _picture_and_series_scorer():
    """a (32, 32, 3) image through Conv2D(3, 3) and a (20, 10) series through
    Conv1D(3, 3), each max-pooled over space / time, joined into a 'score'
    (1 unit) and a 'category' (5 units) head."""
    pic = keras.Input(shape=(32, 32, 3), name="picture")
    seq = keras.Input(shape=(20, 10), name="series")
    joined = layers.concatenate([layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(pic)),
                                 layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(seq))])
    return keras.Model([pic, seq], [layers.Dense(1, name="score")(joined), layers.Dense(5, name="category")(joined)])


def test_multi_io_list_and_dict_forms_agree():
    gen = np.random.default_rng(5)
    pics, seqs = gen.random((100, 32, 32, 3)), gen.random((100, 20, 10))
    scores, cats = gen.random((100, 1)), gen.random((100, 5))

    by_list = _picture_and_series_scorer()
    by_list.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss_weights=[2.0, 1.0],
                    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
    h1 = by_list.fit([pics, seqs], [scores, cats], batch_size=32, epochs=1, verbose=0).history

    by_dict = _picture_and_series_scorer()
    by_dict.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                    loss={"score": keras.losses.MeanSquaredError(),
                          "category": keras.losses.CategoricalCrossentropy()},
                    metrics={"category": [keras.metrics.CategoricalAccuracy()]},
                    loss_weights={"score": 2.0, "category": 1.0})
    h2 = by_dict.fit({"picture": pics, "series": seqs}, {"score": scores, "category": cats},
                     batch_size=32, epochs=1, verbose=0).history
    assert "category_categorical_accuracy" in h2
    assert np.isfinite(h1["loss"][0]) and h1["loss"] == h2["loss"]
    for a, b in zip(by_list.get_weights(), by_dict.get_weights()):
        np.testing.assert_array_equal(a, b)
    total, mse, cce = by_list.evaluate([pics, seqs], [scores, cats], verbose=0)
    assert total == pytest.approx(2 * mse + cce, rel=1e-6)


# ------------------------------------------------------------- small convnet

def test_sequential_mnist_convnet():
    images, labels = _uint8_images(300, seed=6)
    pics = np.expand_dims(images.astype("float32") / 255, -1)
    assert pics.shape == (300, 28, 28, 1)
    onehot = keras.utils.to_categorical(labels, 10)
    def conv_pool(width):
        return [layers.Conv2D(width, kernel_size=(3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2))]

    net = keras.Sequential([keras.Input(shape=(28, 28, 1)), *conv_pool(32), *conv_pool(64),
                            layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    assert net.count_params() == (9 * 32 + 32) + (9 * 32 * 64 + 64) + (5 * 5 * 64 * 10 + 10) == 34826
    assert _summary(net)[0] == 'Model: "sequential"'
    net.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    hist = net.fit(pics, onehot, batch_size=128, epochs=2, validation_split=0.1, verbose=0)
    assert _falls(hist.history["loss"])
    assert len(net.evaluate(pics[:50], onehot[:50], verbose=0)) == 2


# ------------------------------------------------------- from_logits, exactly

def _logit_case(kind, labels):
    """(output width, targets, loss) for a from_logits crossentropy of `kind`."""
    if kind == "binary":
        return 1, (labels[:, None] == 1).astype("float32"), keras.losses.BinaryCrossentropy(from_logits=True)
    if kind == "categorical":
        return 3, np.eye(3, dtype="float32")[labels], keras.losses.CategoricalCrossentropy(from_logits=True)
    return 3, labels, keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("kind", ["binary", "categorical", "sparse"])
def test_from_logits_matches_torch(kind, tmp_path):
    """One SGD step on a linear output with from_logits=True: the loss and the
    updated weights are PyTorch's *_with_logits / cross_entropy."""
    gen = np.random.default_rng(7)
    rows = gen.normal(size=(64, 5)).astype("float32")
    labels = gen.integers(0, 3, 64)
    width, targets, loss = _logit_case(kind, labels)
    x = keras.Input((5,))
    net = keras.Model(x, layers.Dense(width)(x))
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    kernel, bias = net.get_weights()
    k_t = torch.tensor(kernel, dtype=torch.float64, requires_grad=True)
    b_t = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(rows, dtype=torch.float64) @ k_t + b_t
    if kind == "binary":
        ref = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(targets, dtype=torch.float64))
    else:
        ref = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    ref.backward()
    assert net.evaluate(rows, targets, verbose=0) == pytest.approx(ref.item(), rel=1e-6)
    np.testing.assert_allclose(net.predict(rows), z.detach().numpy(), rtol=1e-5, atol=1e-6)
    net.fit(rows, targets, batch_size=64, epochs=1, shuffle=False, verbose=0)
    kernel2, bias2 = net.get_weights()
    np.testing.assert_allclose(kernel2, kernel - 0.1 * k_t.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(bias2, bias - 0.1 * b_t.grad.numpy(), atol=1e-6)
    net.save(str(tmp_path / "m.lf"))
    back = keras.models.load_model(str(tmp_path / "m.lf"))
    assert back.evaluate(rows, targets, verbose=0) == pytest.approx(net.evaluate(rows, targets, verbose=0), rel=1e-12)


def test_from_logits_needs_a_crossentropy():
    x = keras.Input((5,))
    net = keras.Model(x, layers.Dense(1)(x))
    with pytest.raises(ValueError, match="label_smoothing=0.1 is not supported"):
        keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    net.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
    assert keras.losses.MeanSquaredError().name == "mean_squared_error"
