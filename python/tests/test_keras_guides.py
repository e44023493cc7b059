"""
test_keras_guides.py — more of Keras 3's guides and examples
(keras-team/keras-io, read with the search tools' read_file: the Keras 3
versions under guides/keras_core/ where the newest guides/ still imports
tensorflow) run with their imports changed (`import latefuse as keras`,
`from latefuse import layers`) and nothing else, except where a comment
says why: downloaded data sets become small synthetic arrays of the same
shapes and dtypes, sizes and epochs are cut to keep the test short, tf.ones
becomes np.ones, shape=(None,) gets its length (the engine needs it:
test_keras_ports.py::test_functional_variable_length_refused).

Ported: guides/sequential_model.py, guides/keras_core/writing_your_own_callbacks.py,
guides/keras_core/serialization_and_saving.py,
guides/keras_core/understanding_masking_and_padding.py, the model part of
examples/nlp/text_classification_from_scratch.py, examples/nlp/bidirectional_lstm_imdb.py.
What the engine cannot do (custom Layer.call, keras.ops, keras.saving's
custom objects, tf.strings standardizers, SeparableConv2D) is checked to be
refused with a message naming the alternative.
"""
import io
import os

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers


def _summary(model):
    buf = io.StringIO()
    model.summary(print_fn=lambda s, **kw: buf.write(s + "\n"))
    return buf.getvalue()


# ------------------------------------------------------ guides/sequential_model.py

def test_sequential_guide():
    # Define Sequential model with 3 layers
    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu", name="layer1"),
            layers.Dense(3, activation="relu", name="layer2"),
            layers.Dense(4, name="layer3"),
        ]
    )
    # Call model on a test input
    x = np.ones((3, 3))  # tf.ones((3, 3))
    y = model(x)
    assert y.shape == (3, 4)

    # Create 3 layers
    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")
    # Call layers on a test input
    x = np.ones((3, 3))
    y = layer3(layer2(layer1(x)))
    (k1, b1), (k2, b2), (k3, b3) = layer1.get_weights(), layer2.get_weights(), layer3.get_weights()
    np.testing.assert_allclose(y, np.maximum(np.maximum(x @ k1 + b1, 0) @ k2 + b2, 0) @ k3 + b3, rtol=1e-5, atol=1e-6)

    model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"), layers.Dense(4)])
    assert len(model.layers) == 3
    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    assert len(model.layers) == 2  # 2

    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))
    assert model.name == "my_sequential"

    layer = layers.Dense(3)
    assert layer.weights == []  # Empty
    x = np.ones((1, 4))
    y = layer(x)
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]  # Now it has weights, of shape (4, 3) and (3,)

    model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"), layers.Dense(4)])
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    x = np.ones((1, 4))
    y = model(x)
    assert len(model.weights) == 6  # Number of weights after calling the model: 6
    model.summary(print_fn=lambda *a, **k: None)

    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    assert "(None, 2)" in _summary(model)
    assert [type(ly).__name__ for ly in model.layers] == ["Dense"]

    model = keras.Sequential()
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    assert model.count_params() == 10

    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))  # 250x250 RGB images
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    assert "(None, 40, 40, 32)" in _summary(model)  # The answer was: (40, 40, 32)
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    assert "(None, 4, 4, 32)" in _summary(model)  # Now that we have 4x4 feature maps
    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    assert model.output_shape == (None, 10)

    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=[layer.output for layer in initial_model.layers],
    )
    x = np.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    assert [f.shape for f in features] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]

    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=initial_model.get_layer(name="my_intermediate_layer").output,
    )
    x = np.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    assert features.shape == (1, 121, 121, 32)


def test_sequential_guide_transfer_learning_blueprints():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 784)).astype("float32"), rng.integers(0, 10, 32)
    model = keras.Sequential([
        keras.Input(shape=(784,)),  # shape=(784) in the guide: a tuple here
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(10),
    ])
    # Freeze all layers except the last one.
    for layer in model.layers[:-1]:
        layer.trainable = False
    before = [ly.get_weights() for ly in model.layers]
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    same = [all(np.array_equal(a, b) for a, b in zip(w, ly.get_weights())) for w, ly in zip(before, model.layers)]
    assert same == [True, True, True, False]

    # keras.applications.Xception: a small convolutional base of our own
    base_model = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(8, 3), layers.GlobalAveragePooling2D()])
    base_model.trainable = False
    model = keras.Sequential([
        base_model,
        layers.Dense(1000),
    ])
    assert model.count_params() == (3 * 3 * 3 * 8 + 8) + (8 * 1000 + 1000)
    kept = base_model.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(rng.normal(size=(4, 16, 16, 3)), rng.normal(size=(4, 1000)), verbose=0)
    for a, b in zip(kept, base_model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------- guides/keras_core/writing_your_own_callbacks.py

def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


def _mnist(n=1000):
    # keras.datasets.mnist.load_data(): synthetic digits of the same shapes and dtypes
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (n, 28, 28)).astype("uint8")
    y = rng.integers(0, 10, n).astype("uint8")
    return x, y


def _callbacks_data():
    x_train, y_train = _mnist()
    x_test, y_test = x_train[:200], y_train[:200]  # 200 test rows here
    x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
    return x_train[:1000], y_train[:1000], x_test[:1000], y_test[:1000]


class CustomCallback(keras.callbacks.Callback):
    # the guide's prints, gathered in a list
    def __init__(self):
        super().__init__()
        self.lines = []

    def _log(self, what, logs):
        self.lines.append("{}; got log keys: {}".format(what, list(logs.keys())))

    def on_train_begin(self, logs=None): self._log("Starting training", logs)
    def on_train_end(self, logs=None): self._log("Stop training", logs)
    def on_epoch_begin(self, epoch, logs=None): self._log("Start epoch {} of training".format(epoch), logs)
    def on_epoch_end(self, epoch, logs=None): self._log("End epoch {} of training".format(epoch), logs)
    def on_test_begin(self, logs=None): self._log("Start testing", logs)
    def on_test_end(self, logs=None): self._log("Stop testing", logs)
    def on_predict_begin(self, logs=None): self._log("Start predicting", logs)
    def on_predict_end(self, logs=None): self._log("Stop predicting", logs)
    def on_train_batch_begin(self, batch, logs=None): self._log("...Training: start of batch {}".format(batch), logs)
    def on_train_batch_end(self, batch, logs=None): self._log("...Training: end of batch {}".format(batch), logs)
    def on_test_batch_begin(self, batch, logs=None): self._log("...Evaluating: start of batch {}".format(batch), logs)
    def on_test_batch_end(self, batch, logs=None): self._log("...Evaluating: end of batch {}".format(batch), logs)
    def on_predict_batch_begin(self, batch, logs=None): self._log("...Predicting: start of batch {}".format(batch), logs)
    def on_predict_batch_end(self, batch, logs=None): self._log("...Predicting: end of batch {}".format(batch), logs)


def test_callbacks_guide_hooks_and_log_keys():
    x_train, y_train, x_test, y_test = _callbacks_data()
    model = get_model()
    cb = CustomCallback()
    model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0, validation_split=0.5, callbacks=[cb])
    m = ["loss", "mean_absolute_error"]
    v = m + ["val_loss", "val_mean_absolute_error"]
    want = ["Starting training; got log keys: []", "Start epoch 0 of training; got log keys: []"]
    for b in range(4):  # 500 training rows in batches of 128
        # Keras' train batch logs also hold mean_absolute_error (the running
        # mean of each batch's value before its step); the library measures
        # mae in Python, at the epoch's end: here they hold the loss alone
        want += ["...Training: start of batch %d; got log keys: []" % b,
                 "...Training: end of batch %d; got log keys: ['loss']" % b]
    want += ["Start testing; got log keys: []"]
    for b in range(4):
        want += ["...Evaluating: start of batch %d; got log keys: []" % b,
                 "...Evaluating: end of batch %d; got log keys: %s" % (b, m)]
    want += ["Stop testing; got log keys: %s" % m, "End epoch 0 of training; got log keys: %s" % v,
             "Stop training; got log keys: %s" % v]
    assert cb.lines == want

    cb = CustomCallback()
    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[cb])
    assert cb.lines == (["Start testing; got log keys: []"]
                        + sum([["...Evaluating: start of batch %d; got log keys: []" % b,
                                "...Evaluating: end of batch %d; got log keys: %s" % (b, m)] for b in range(2)], [])
                        + ["Stop testing; got log keys: %s" % m])
    cb = CustomCallback()
    res = model.predict(x_test, batch_size=128, callbacks=[cb])
    assert cb.lines == (["Start predicting; got log keys: []"]
                        + sum([["...Predicting: start of batch %d; got log keys: []" % b,
                                "...Predicting: end of batch %d; got log keys: ['outputs']" % b] for b in range(2)], [])
                        + ["Stop predicting; got log keys: []"])


class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    # the guide's prints, with the values kept
    def __init__(self):
        super().__init__()
        self.batches, self.tests, self.epochs = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append("Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"]))

    def on_test_batch_end(self, batch, logs=None):
        self.tests.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append("The average loss for epoch {} is {:7.2f} "
                           "and mean absolute error is {:7.2f}.".format(epoch, logs["loss"], logs["mean_absolute_error"]))


def test_callbacks_guide_logs_values():
    x_train, y_train, x_test, y_test = _callbacks_data()
    model = get_model()
    cb = LossAndErrorPrintingCallback()
    h = model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, callbacks=[cb])
    assert len(cb.batches) == 16 and len(cb.epochs) == 2
    assert cb.epochs[1] == "The average loss for epoch 1 is {:7.2f} and mean absolute error is {:7.2f}.".format(
        h.history["loss"][1], h.history["mean_absolute_error"][1])

    cb = LossAndErrorPrintingCallback()
    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[cb])
    # each test batch's logs: the loss and mae over the rows so far (Keras'
    # metric state after those batches), here against numpy
    p = model.predict(x_test, verbose=0)[:, 0].astype(np.float64)
    for b, logs in enumerate(cb.tests):
        r = min(200, 128 * (b + 1))
        e = p[:r] - y_test[:r]
        assert logs["loss"] == pytest.approx(np.mean(e ** 2), rel=1e-5)
        assert logs["mean_absolute_error"] == pytest.approx(np.mean(np.abs(e)), rel=1e-9)
    assert cb.tests[-1]["mean_absolute_error"] == pytest.approx(res[1], rel=1e-12)

    # fit's validation batches too (validation_data in batches of 64)
    cb = LossAndErrorPrintingCallback()
    h = model.fit(x_train[:256], y_train[:256], batch_size=128, epochs=1, verbose=0,
                  validation_data=(x_test, y_test), validation_batch_size=64, callbacks=[cb])
    p = model.predict(x_test, verbose=0)[:, 0].astype(np.float64)
    assert len(cb.tests) == 4
    for b, logs in enumerate(cb.tests):
        r = min(200, 64 * (b + 1))
        # (predicted here in one pass, there batch by batch: float32 rounding apart)
        assert logs["mean_absolute_error"] == pytest.approx(np.mean(np.abs(p[:r] - y_test[:r])), rel=1e-6)
    assert cb.tests[-1]["mean_absolute_error"] == pytest.approx(h.history["val_mean_absolute_error"][0], rel=1e-6)


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stop training when the loss is at its min, i.e. the loss stops decreasing."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.Inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            self.message = f"Epoch {self.stopped_epoch + 1}: early stopping"


def test_callbacks_guide_early_stopping_at_min_loss():
    x_train, y_train, _, _ = _callbacks_data()
    model = get_model()
    es = EarlyStoppingAtMinLoss()
    h = model.fit(x_train, y_train, batch_size=64, epochs=30, verbose=0, callbacks=[es])
    n = len(h.history["loss"])
    assert n < 30 and es.stopped_epoch == n - 1 and es.message == "Epoch %d: early stopping" % n
    assert h.history["loss"][-1] >= h.history["loss"][-2]  # stopped when the loss rose
    for a, b in zip(es.best_weights, model.get_weights()):  # the best epoch's weights put back
        np.testing.assert_array_equal(a, b)


class CustomLearningRateScheduler(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        self.seen.append(float(np.array(scheduled_lr)))


LR_SCHEDULE = [(3, 0.05), (6, 0.01), (9, 0.005), (12, 0.001)]


def lr_schedule(epoch, lr):
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


def test_callbacks_guide_learning_rate_scheduling():
    x_train, y_train, _, _ = _callbacks_data()
    x_train, y_train = x_train[:256], y_train[:256]  # 256 rows: 15 short epochs
    model = get_model()
    sched = CustomLearningRateScheduler(lr_schedule)
    model.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0, callbacks=[sched])
    want = [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 3
    assert sched.seen == pytest.approx(want)
    assert model.optimizer.learning_rate == pytest.approx(0.001)
    # the rates took effect: the same fit at a constant 0.1 ends elsewhere
    other = get_model()
    other.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0)
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])


# ------------------------------------- guides/keras_core/serialization_and_saving.py

def test_serialization_guide(tmp_path):
    os.chdir(tmp_path)

    def get_model():
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
        return model

    model = get_model()
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target, verbose=0)
    model.save("my_model.keras")
    reconstructed_model = keras.models.load_model("my_model.keras")
    np.testing.assert_allclose(model.predict(test_input), reconstructed_model.predict(test_input))

    # custom objects: keras.saving and a Layer subclass with call() are refused by name
    with pytest.raises(AttributeError, match=r"latefuse has no saving \(Keras' keras.saving\): custom objects .* "
                                             r"model.save\('m.keras'\)"):
        keras.saving.get_custom_objects()

    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

    with pytest.raises(NotImplementedError, match="custom layers .* are not supported"):
        CustomLayer(0.5)(keras.Input(shape=(4,)))

    new_model = keras.models.clone_model(model)
    assert new_model.count_params() == 33

    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    assert layer_config["units"] == 3 and layer_config["activation"] == "relu"
    new_layer = keras.layers.Dense.from_config(layer_config)

    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    new_model = keras.Sequential.from_config(config)
    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    new_model = keras.models.model_from_json(json_config)
    assert new_model.count_params() == 33

    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    layer_2 = create_layer()
    layer_2.set_weights(layer_1.get_weights())
    for a, b in zip(layer_1.get_weights(), layer_2.get_weights()):
        np.testing.assert_array_equal(a, b)

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model_with_dropout = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
    functional_model_with_dropout.set_weights(functional_model.get_weights())
    xs = np.random.random((2, 784))
    np.testing.assert_array_equal(functional_model_with_dropout.predict(xs), functional_model.predict(xs))

    sequential_model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="digits"),
            keras.layers.Dense(64, activation="relu", name="dense_1"),
            keras.layers.Dense(64, activation="relu", name="dense_2"),
            keras.layers.Dense(10, name="predictions"),
        ]
    )
    sequential_model.save_weights("my_model.weights.h5")
    sequential_model.load_weights("my_model.weights.h5")

    def create_functional_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = keras.layers.Dense(10, name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    functional_model = create_functional_model()
    functional_model.save_weights("pretrained.weights.h5")
    pretrained_model = create_functional_model()
    pretrained_model.load_weights("pretrained.weights.h5")
    extracted_layers = pretrained_model.layers[:-1]
    extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
    model = keras.Sequential(extracted_layers)
    assert model.count_params() == 54725  # the guide's summary: 54,725


# ------------------------------- guides/keras_core/understanding_masking_and_padding.py

def test_masking_guide():
    raw_inputs = [
        [711, 632, 71],
        [73, 8, 3215, 55, 927],
        [83, 91, 1, 645, 1253, 927],
    ]
    padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
    np.testing.assert_array_equal(padded_inputs, [[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0],
                                                  [83, 91, 1, 645, 1253, 927]])  # the guide's print

    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded_inputs)
    assert masked_output.shape == (3, 6, 16)
    # masked_output._keras_mask: the mask is not kept on arrays; compute_mask gives it
    np.testing.assert_array_equal(embedding.compute_mask(padded_inputs), padded_inputs != 0)
    # the guide's Masking layer on an embedding-shaped array
    masking_layer = layers.Masking()
    unmasked_embedding = np.tile(np.expand_dims(padded_inputs, axis=-1), [1, 1, 10]).astype("float32")
    masked_embedding = masking_layer(unmasked_embedding)
    np.testing.assert_array_equal(masked_embedding, unmasked_embedding)  # the masked steps are 0 already
    np.testing.assert_array_equal(masking_layer.compute_mask(unmasked_embedding), padded_inputs != 0)

    model = keras.Sequential(
        [
            layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True),
            layers.LSTM(32),
        ]
    )
    # the LSTM skips the masked steps: pre- and post-padding give the same outputs
    post = model(padded_inputs)
    pre = model(keras.utils.pad_sequences(raw_inputs, padding="pre"))
    np.testing.assert_allclose(post, pre, rtol=1e-5, atol=1e-6)

    inputs = keras.Input(shape=(6,), dtype="int32")  # shape=(None,) in the guide
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)

    # MyLayer / TemporalSplit / CustomEmbedding / TemporalSoftmax: custom call() and keras.ops
    with pytest.raises(AttributeError, match=r"latefuse has no ops .* use numpy on the arrays predict returns"):
        keras.ops.relu

    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

    with pytest.raises(NotImplementedError, match="built from latefuse.layers' classes only"):
        MyActivation()(x)


# ----------------------------- examples/nlp/text_classification_from_scratch.py (model)

def test_text_classification_from_scratch_model():
    # raw_train_ds (IMDB reviews): a few synthetic reviews with <br /> tags
    rng = np.random.default_rng(7)
    words = np.array(["good", "bad", "movie", "film", "great", "awful", "plot", "<br />", "acting", "fun!"])
    reviews = np.array([" ".join(rng.choice(words, 40)) for _ in range(64)])
    labels = rng.integers(0, 2, 64).astype("int32")

    def custom_standardization(input_data):  # tf.strings.lower / regex_replace in the example
        return input_data

    max_features = 20000
    embedding_dim = 128
    sequence_length = 500
    with pytest.raises(ValueError, match="TextVectorization: standardize must be one of 'lower_and_strip_punctuation'"):
        keras.layers.TextVectorization(standardize=custom_standardization, max_tokens=max_features,
                                       output_mode="int", output_sequence_length=sequence_length)
    # the built-in standardizer (it keeps "<br />"'s letters as the token "br")
    vectorize_layer = keras.layers.TextVectorization(
        max_tokens=max_features,
        output_mode="int",
        output_sequence_length=sequence_length,
    )
    vectorize_layer.adapt(reviews)
    x_train = vectorize_layer(np.expand_dims(reviews, -1))
    assert x_train.shape == (64, 500)

    inputs = keras.Input(shape=(sequence_length,), dtype="int64")  # shape=(None,) in the example
    x = layers.Embedding(max_features, embedding_dim)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    model = keras.Model(inputs, predictions)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    assert model.count_params() == 2806273  # 2,560,000 + 2 x 114,816 + 16,512 + 129

    epochs = 1  # 3 in the example
    h = model.fit(x_train, labels, validation_data=(x_train, labels), epochs=epochs, verbose=0)
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    ev = model.evaluate(x_train, labels, verbose=0)

    inputs = keras.Input(shape=(1,), dtype="string")
    indices = vectorize_layer(inputs)
    outputs = model(indices)
    end_to_end_model = keras.Model(inputs, outputs)
    end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    e2e = end_to_end_model.evaluate(reviews[:, None], labels, verbose=0)
    assert e2e == pytest.approx(ev, rel=1e-6)


# ------------------------------------------------- examples/nlp/bidirectional_lstm_imdb.py

def test_bidirectional_lstm_imdb():
    max_features = 20000
    maxlen = 200
    inputs = keras.Input(shape=(maxlen,), dtype="int32")  # shape=(None,): the padded length
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    text = _summary(model)
    assert model.count_params() == 2757761  # the example's summary: 2,757,761
    assert "(None, 200, 128)" in text and "(None, 128)" in text

    # keras.datasets.imdb.load_data(num_words=max_features): 32 synthetic reviews of 5..300 ids
    rng = np.random.default_rng(11)
    x_train = [list(rng.integers(1, max_features, rng.integers(5, 300))) for _ in range(32)]
    y_train = rng.integers(0, 2, 32)
    x_val, y_val = x_train[:16], y_train[:16]
    x_train = keras.preprocessing.sequence.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.preprocessing.sequence.pad_sequences(x_val, maxlen=maxlen)
    assert x_train.shape == (32, 200) and x_train.dtype == np.int32

    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x_train, y_train, batch_size=32, epochs=1, validation_data=(x_val, y_val), verbose=0)
    assert np.isfinite(h.history["loss"][0]) and 0 <= h.history["val_accuracy"][0] <= 1


# ------------------------------ examples/vision/image_classification_from_scratch.py

def test_image_classification_from_scratch_make_model():
    """the guide's make_model (a small Xception: SeparableConv2D blocks with
    residual Conv2D shortcuts) at a smaller image size, as written"""
    def make_model(input_shape, num_classes):
        inputs = keras.Input(shape=input_shape)
        x = layers.Rescaling(1.0 / 255)(inputs)
        x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        previous_block_activation = x  # Set aside residual
        for size in [256, 512, 728]:
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
            # Project residual
            residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
            x = layers.add([x, residual])  # Add back residual
            previous_block_activation = x  # Set aside next residual
        x = layers.SeparableConv2D(1024, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.GlobalAveragePooling2D()(x)
        units = 1 if num_classes == 2 else num_classes
        x = layers.Dropout(0.25)(x)
        outputs = layers.Dense(units, activation=None)(x)
        return keras.Model(inputs, outputs)

    model = make_model(input_shape=(16, 16, 3), num_classes=2)
    assert model.output_shape == (None, 1)
    seps = [ly for ly in model.layers if isinstance(ly, layers.SeparableConv2D)]
    assert [ly.count_params() for ly in seps[:2]] == [3 * 3 * 128 + 128 * 256 + 256, 3 * 3 * 256 + 256 * 256 + 256]
    y = model.predict(np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32"), verbose=0)
    assert y.shape == (2, 1) and np.all(np.isfinite(y))
