"""
latefuse — Python interface to liblatefuse (multimodal late fusion and a
small Keras-style network engine), over ctypes; numpy is the one dependency.

Networks, as Keras:
    from latefuse.layers import Input, Dense, WeightedAverage
    inp1, inp2 = Input((100,)), Input((100,))
    x1 = Dense(32, activation='relu')(inp1); x2 = Dense(32, activation='relu')(inp2)
    out = Dense(1)(WeightedAverage(n_output=2)([x1, x2]))
    m = latefuse.Model([inp1, inp2], out); m.compile('adam', 'mse')
    m.fit([X1, X2], y, epochs=10)
    latefuse.softmax(m.get_weights()[-3])

Fusion, as scikit-learn:
    f = latefuse.Fusion(method="wavg").fit([p_image, p_text], y)
    f.predict_proba([q_image, q_text]); latefuse.compare([p_image, p_text], y)

The C calls release the GIL (ctypes.CDLL).  Library failures raise
latefuse.LatefuseError (a RuntimeError) with the library's message; wrong
shapes and arguments raise ValueError before any call.
"""
import numpy as _np

from ._lib import LatefuseError, library_path
from . import layers, optimizers, regularizers, constraints, callbacks, initializers, utils, losses, metrics
from . import preprocessing
from .layers import Input
from .models import Model, Sequential, History, load_model, save_model, model_from_json, clone_model
from .fusion import Fusion, compare, load_fusion, fusion_metrics, report, stratified_folds, METHODS, NotFittedError
from .arrays import read_npy

__version__ = "0.1.0"

__all__ = ["LatefuseError", "Input", "Model", "Sequential", "History", "load_model", "save_model", "model_from_json", "clone_model", "initializers", "Fusion", "compare", "load_fusion",
           "fusion_metrics", "report", "stratified_folds", "METHODS", "softmax", "layers", "optimizers", "regularizers", "constraints",
           "callbacks", "utils", "preprocessing", "losses", "metrics", "models", "nn", "library_path", "read_npy", "NotFittedError"]


def softmax(x, axis=-1):
    """Numerically stable softmax of a numpy array along `axis` (the seed's
    tf.nn.softmax(m.get_weights()[-3]) becomes latefuse.softmax(...))."""
    a = _np.asarray(x)
    if not _np.issubdtype(a.dtype, _np.floating):
        a = a.astype(_np.float64)
    e = _np.exp(a - _np.max(a, axis=axis, keepdims=True))
    return e / _np.sum(e, axis=axis, keepdims=True)


class _Tensorish(_np.ndarray):
    """An ndarray with TensorFlow's .numpy(), so the seed's last line
    `tf.nn.softmax(...).numpy()` ports as `latefuse.nn.softmax(...).numpy()`."""

    def numpy(self):
        return _np.asarray(self)


class nn:
    """tf.nn look-alike: nn.softmax(x, axis=-1) returns an array with .numpy()."""

    @staticmethod
    def softmax(x, axis=-1):
        return softmax(x, axis).view(_Tensorish)


# Keras modules a ported script may reach that have no counterpart here: the
# error names why and what to use instead
_NOT_HERE = {
    "saving": "custom objects (register_keras_serializable, custom_object_scope, serialize_keras_object) "
              "cannot run in the C library's graph; save and load with model.save('m.keras') / "
              "latefuse.load_model, configs with get_config / from_config, model.to_json / "
              "latefuse.model_from_json, and get_config / from_config of layers, optimizers, losses and "
              "regularizers (latefuse.constraints.serialize / deserialize)",
    "ops": "the network runs in the C library, built from latefuse.layers' classes: there are no tensor ops "
           "to write call() or a train_step with; use numpy on the arrays predict returns",
    "backend": "there is no backend to reach: the weights live in the C model (get_weights / set_weights, "
               "model.optimizer.learning_rate)",
}


def __getattr__(name):
    if name in _NOT_HERE:
        raise AttributeError("latefuse has no %s (Keras' keras.%s): %s" % (name, name, _NOT_HERE[name]))
    raise AttributeError("module 'latefuse' has no attribute %r" % (name,))
