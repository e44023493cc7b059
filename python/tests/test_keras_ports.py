"""
test_keras_ports.py — Keras 3's own guides and examples (keras-team/keras-io,
guides/functional_api.py, guides/training_with_built_in_methods.py,
examples/vision/mnist_convnet.py) run with their imports changed
(`import latefuse as keras`, `from latefuse import layers`) and nothing
else, except where a comment says why: the downloaded data sets are small
synthetic arrays of the same shapes and dtypes, sizes and epochs are cut to
keep the test short, variable-length inputs (shape=(None,)) get a length.

Checked: the guides' summary() parameter counts, finite losses that go down,
from_logits losses against PyTorch, and that what the engine does not do
(custom loss / metric code, a variable length) is refused
with a message naming the alternative.
"""
import io
import contextlib

import numpy as np
import pytest
import torch

import latefuse as keras
from latefuse import layers


def _summary(model):
    buf = io.StringIO()
    model.summary(print_fn=lambda s, **kw: buf.write(s + "\n"))
    return buf.getvalue()


# ------------------------------------------------- guides/functional_api.py

def test_functional_mnist_mlp(tmp_path):
    inputs = keras.Input(shape=(784,))
    img_inputs = keras.Input(shape=(32, 32, 3))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32" and img_inputs.shape == (None, 32, 32, 3)
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    text = _summary(model)
    assert text.splitlines()[0] == 'Model: "mnist_model"'  # Keras prints the model's name
    assert model.count_params() == 55050  # the guide's "Total params: 55,050"

    # keras.datasets.mnist.load_data(): synthetic digits of the same shapes (fewer rows)
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (600, 28, 28)).astype("uint8")
    y_train = rng.integers(0, 10, 600).astype("uint8")
    x_test, y_test = x_train[:100], y_train[:100]
    x_train = x_train.reshape(600, 784).astype("float32") / 255
    x_test = x_test.reshape(100, 784).astype("float32") / 255

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
    test_scores = model.evaluate(x_test, y_test, verbose=2)
    assert np.all(np.isfinite(history.history["loss"])) and history.history["loss"][1] < history.history["loss"][0]
    assert 0 <= test_scores[1] <= 1

    # the guide saves "path_to_my_model.keras"; this package's own file format
    # is .lf (.keras files are another helper's work)
    model.save(str(tmp_path / "path_to_my_model.lf"))
    before = model.predict(x_test)
    del model
    model = keras.models.load_model(str(tmp_path / "path_to_my_model.lf"))
    np.testing.assert_array_equal(model.predict(x_test), before)
    # (the loaded model's evaluate gives the loss alone: the model file keeps
    # the loss and optimizer, not compile's metrics, where Keras keeps both)
    assert np.ravel(model.evaluate(x_test, y_test, verbose=0))[0] == pytest.approx(test_scores[0], rel=1e-6)


def test_functional_autoencoder():
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    assert _summary(encoder).startswith('Model: "encoder"')
    assert encoder.count_params() == 18672  # the guide's encoder: 18,672
    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    text = _summary(autoencoder)
    assert text.startswith('Model: "autoencoder"')
    assert autoencoder.count_params() == 28241  # the guide's autoencoder: 28,241
    assert "(None, 24, 24, 32)" in text and "(None, 28, 28, 1)" in text  # UpSampling2D, the last layer
    assert tuple(autoencoder.output_shape) == (None, 28, 28, 1)
    # (not in the guide: it builds the model only) a few steps on synthetic images
    rng = np.random.default_rng(0)
    imgs = rng.uniform(0, 1, (32, 28, 28, 1)).astype("float32")
    autoencoder.compile(optimizer="adam", loss="mse")
    h = autoencoder.fit(imgs, imgs, batch_size=16, epochs=3, verbose=0)
    assert np.all(np.isfinite(h.history["loss"])) and h.history["loss"][-1] < h.history["loss"][0]


def test_functional_ensemble_of_nested_models():
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1 = get_model()
    model2 = get_model()
    model3 = get_model()

    inputs = keras.Input(shape=(128,))
    y1 = model1(inputs)
    y2 = model2(inputs)
    y3 = model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    x = np.random.default_rng(1).normal(size=(5, 128)).astype("float32")
    want = (model1.predict(x) + model2.predict(x) + model3.predict(x)) / 3
    np.testing.assert_allclose(ensemble_model.predict(x), want, rtol=1e-5, atol=1e-6)


def _ticket_model():
    num_tags = 12  # Number of unique issue tags
    num_words = 10000  # Size of vocabulary obtained when preprocessing text data
    num_departments = 4  # Number of departments for predictions

    # shape=(None,) in the guide: the engine needs the length (10 and 100, the
    # guide's dummy data's); the layers and their weights are the same
    title_input = keras.Input(shape=(10,), name="title")  # Variable-length sequence of ints
    body_input = keras.Input(shape=(100,), name="body")  # Variable-length sequence of ints
    tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    model = keras.Model(
        inputs=[title_input, body_input, tags_input],
        outputs=[priority_pred, department_pred],
    )
    return model, num_tags, num_words, num_departments


def test_functional_ticket_model():
    model, num_tags, num_words, num_departments = _ticket_model()
    text = _summary(model)
    # the guide's layers: 2 x 640,000 (Embedding) + 98,816 (LSTM 128) +
    # 12,416 (LSTM 32) + 173 (priority) + 692 (department)
    assert model.count_params() == 1392097
    for name, n in [("lstm", 98816), ("lstm_1", 12416), ("priority", 173), ("department", 692)]:
        assert sum(w.size for w in model.get_layer(name).get_weights()) == n
    assert "(None, 172)" in text  # the concatenation: 128 + 32 + 12

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[
            keras.losses.BinaryCrossentropy(from_logits=True),
            keras.losses.CategoricalCrossentropy(from_logits=True),
        ],
        loss_weights=[1.0, 0.2],
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "priority": keras.losses.BinaryCrossentropy(from_logits=True),
            "department": keras.losses.CategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.2},
    )

    # Dummy input data (the guide's; 256 rows instead of 1280, to be quick)
    np.random.seed(0)
    title_data = np.random.randint(num_words, size=(256, 10))
    body_data = np.random.randint(num_words, size=(256, 100))
    tags_data = np.random.randint(2, size=(256, num_tags)).astype("float32")
    priority_targets = np.random.random(size=(256, 1))
    dept_targets = np.random.randint(2, size=(256, num_departments))

    h = model.fit(
        {"title": title_data, "body": body_data, "tags": tags_data},
        {"priority": priority_targets, "department": dept_targets},
        epochs=3,
        batch_size=32,
        verbose=0,
    )
    loss = h.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    # the loss is Keras': BCE and CCE on the logits, weighted 1 and 0.2
    pri, dep = model.predict({"title": title_data, "body": body_data, "tags": tags_data})
    tp = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(pri, dtype=torch.float64),
                                                              torch.tensor(priority_targets)).item()
    td = -(torch.tensor(dept_targets, dtype=torch.float64) *
           torch.log_softmax(torch.tensor(dep, dtype=torch.float64), 1)).sum(1).mean().item()
    ev = model.evaluate({"title": title_data, "body": body_data, "tags": tags_data},
                        {"priority": priority_targets, "department": dept_targets}, verbose=0)
    assert ev[0] == pytest.approx(tp + 0.2 * td, rel=1e-5)
    assert ev[1] == pytest.approx(tp, rel=1e-5) and ev[2] == pytest.approx(td, rel=1e-5)


def test_functional_variable_length_refused():
    with pytest.raises(ValueError, match=r"a dimension of None .* give the length"):
        keras.Input(shape=(None,), name="title")


def test_functional_toy_resnet():
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])

    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)

    model = keras.Model(inputs, outputs, name="toy_resnet")
    assert _summary(model).startswith('Model: "toy_resnet"')
    assert model.count_params() == 223242  # the guide's "Total params: 223,242"

    # keras.datasets.cifar10.load_data(): synthetic images of the same shape (100 rows, not 1000)
    rng = np.random.default_rng(2)
    x_train = rng.integers(0, 256, (100, 32, 32, 3)).astype("uint8")
    y_train = rng.integers(0, 10, (100, 1)).astype("uint8")
    x_train = x_train.astype("float32") / 255.0
    y_train = keras.utils.to_categorical(y_train, 10)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    h = model.fit(x_train[:100], y_train[:100], batch_size=64, epochs=1, validation_split=0.2, verbose=0)
    assert sorted(h.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert np.isfinite(h.history["loss"][0]) and np.isfinite(h.history["val_loss"][0])


def test_functional_shared_embedding():
    shared_embedding = layers.Embedding(1000, 128)
    # shape=(None,) in the guide: a length is needed here
    text_input_a = keras.Input(shape=(7,), dtype="int32")
    text_input_b = keras.Input(shape=(7,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    m = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b])
    ids = np.arange(14, dtype="int32").reshape(2, 7)
    a, b = m.predict([ids, ids])
    np.testing.assert_array_equal(a, b)
    assert m.count_params() == 128000


# ------------------------------------- guides/training_with_built_in_methods.py

def _mnist_like(n=500, seed=3):
    # keras.datasets.mnist.load_data() replaced by synthetic rows whose class
    # shows in the pixels, so the accuracy can rise
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.random((n, 784)).astype("float32") * 0.5
    for k in range(8):
        x[np.arange(n), y * 78 + k] += 3.0
    return x, y.astype("float32")


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


def test_training_end_to_end():
    x_train, y_train = _mnist_like()
    x_val, y_val = x_train[-100:], y_train[-100:]
    x_train, y_train = x_train[:-100], y_train[:-100]
    x_test, y_test = _mnist_like(100, seed=4)
    model = get_uncompiled_model()
    model.compile(
        optimizer=keras.optimizers.RMSprop(),  # Optimizer
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_val, y_val), verbose=0)
    assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                       "val_sparse_categorical_accuracy"]
    assert history.history["loss"][1] < history.history["loss"][0]
    results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    assert len(results) == 2 and results[1] > 0.5
    predictions = model.predict(x_test[:3])
    assert predictions.shape == (3, 10)


def test_training_class_and_sample_weight_and_callbacks():
    x_train, y_train = _mnist_like()
    class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0,
                    # Set weight "2" for class "5", making this class 2x more important
                    5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0}
    model = get_compiled_model()
    model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1, verbose=0)

    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    model = get_compiled_model()
    model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)

    model = get_compiled_model()
    callbacks = [
        keras.callbacks.EarlyStopping(
            # Stop training when `val_loss` is no longer improving
            monitor="val_loss",
            min_delta=1e-2,
            patience=2,
            verbose=1,
        )
    ]
    h = model.fit(x_train, y_train, epochs=20, batch_size=64, callbacks=callbacks, validation_split=0.2, verbose=0)
    assert 1 <= len(h.history["loss"]) <= 20

    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    lh = LossHistory()
    model.fit(x_train, y_train, epochs=1, batch_size=100, callbacks=[lh], verbose=0)
    assert len(lh.per_batch_losses) == 5 and all(np.isfinite(lh.per_batch_losses))


def test_training_custom_losses_and_metrics_refused():
    def custom_mean_squared_error(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1)

    model = get_uncompiled_model()
    with pytest.raises(ValueError, match="a loss function is not supported: the loss runs in the C library; use "
                                         "one of 'mse'"):
        model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

    with pytest.raises(ValueError, match="a Loss subclass of your own is not supported"):
        model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)

    with pytest.raises(ValueError, match=r"a Metric subclass of your own \(CategoricalTruePositives\) is not "
                                         "supported: the metrics are measured by the library"):
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])

    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    with pytest.raises(NotImplementedError):
        ActivityRegularizationLayer()(x)


def test_training_multi_input_multi_output():
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    # shape=(None, 10) in the guide: the length of its dummy data, 20, is given
    timeseries_input = keras.Input(shape=(20, 10), name="ts_input")
    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)
    x2 = layers.Conv1D(3, 3)(timeseries_input)
    x2 = layers.GlobalMaxPooling1D()(x2)
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
    )
    # the guide's metrics add MeanAbsolutePercentageError and MeanAbsoluteError
    # per output: the value metrics need a single-output model here, so only the
    # accuracy is asked
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"score_output": keras.losses.MeanSquaredError(),
              "class_output": keras.losses.CategoricalCrossentropy()},
        metrics={"class_output": [keras.metrics.CategoricalAccuracy()]},
        loss_weights={"score_output": 2.0, "class_output": 1.0},
    )
    # Generate dummy NumPy data (100 rows, as the guide)
    np.random.seed(5)
    img_data = np.random.random_sample(size=(100, 32, 32, 3))
    ts_data = np.random.random_sample(size=(100, 20, 10))
    score_targets = np.random.random_sample(size=(100, 1))
    class_targets = np.random.random_sample(size=(100, 5))
    h1 = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)
    h2 = model.fit({"img_input": img_data, "ts_input": ts_data},
                   {"score_output": score_targets, "class_output": class_targets},
                   batch_size=32, epochs=1, verbose=0)
    assert "class_output_categorical_accuracy" in h2.history
    assert np.isfinite(h1.history["loss"][0]) and np.isfinite(h2.history["loss"][0])


# -------------------------------------------------- examples/vision/mnist_convnet.py

def test_mnist_convnet():
    num_classes = 10
    input_shape = (28, 28, 1)
    # keras.datasets.mnist.load_data(): 300 synthetic digits instead of 60000
    rng = np.random.default_rng(6)
    x_train = rng.integers(0, 256, (300, 28, 28)).astype("uint8")
    y_train = rng.integers(0, 10, 300).astype("uint8")
    x_train = x_train.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    assert x_train.shape == (300, 28, 28, 1)
    y_train = keras.utils.to_categorical(y_train, num_classes)

    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    assert model.count_params() == 34826  # the example's "Total params: 34,826"
    assert _summary(model).startswith('Model: "sequential"')
    batch_size = 128
    epochs = 2  # 15 in the example
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    h = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    score = model.evaluate(x_train[:50], y_train[:50], verbose=0)
    assert np.all(np.isfinite(h.history["loss"])) and h.history["loss"][1] < h.history["loss"][0]
    assert len(score) == 2


# ------------------------------------------------------- from_logits, exactly

@pytest.mark.parametrize("kind", ["binary", "categorical", "sparse"])
def test_from_logits_matches_torch(kind, tmp_path):
    """One SGD step on a linear output with Keras' from_logits=True: the loss
    and the updated weights are PyTorch's *_with_logits / cross_entropy."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, 5)).astype("float32")
    labels = rng.integers(0, 3, 64)
    D, y, loss = {"binary": (1, (labels[:, None] == 1).astype("float32"),
                             keras.losses.BinaryCrossentropy(from_logits=True)),
                  "categorical": (3, np.eye(3, dtype="float32")[labels],
                                  keras.losses.CategoricalCrossentropy(from_logits=True)),
                  "sparse": (3, labels, keras.losses.SparseCategoricalCrossentropy(from_logits=True))}[kind]
    i = keras.Input((5,))
    m = keras.Model(i, layers.Dense(D)(i))
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    W, b = m.get_weights()
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(x, dtype=torch.float64) @ Wt + bt
    if kind == "binary":
        ref = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y, dtype=torch.float64))
    else:
        ref = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    ref.backward()
    assert m.evaluate(x, y, verbose=0) == pytest.approx(ref.item(), rel=1e-6)
    np.testing.assert_allclose(m.predict(x), z.detach().numpy(), rtol=1e-5, atol=1e-6)  # predict: the logits
    m.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    W2, b2 = m.get_weights()
    np.testing.assert_allclose(W2, W - 0.1 * Wt.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(b2, b - 0.1 * bt.grad.numpy(), atol=1e-6)
    # kept by the model file
    m.save(str(tmp_path / "m.lf"))
    m2 = keras.models.load_model(str(tmp_path / "m.lf"))
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(m.evaluate(x, y, verbose=0), rel=1e-12)


def test_from_logits_needs_a_crossentropy():
    i = keras.Input((5,))
    m = keras.Model(i, layers.Dense(1)(i))
    with pytest.raises(ValueError, match="label_smoothing=0.1 is not supported"):
        keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    m.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
    assert keras.losses.MeanSquaredError().name == "mean_squared_error"
