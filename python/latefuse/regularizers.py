"""
regularizers.py — Keras 3's L1, L2 and L1L2 regularizers
(keras/src/regularizers/regularizers.py and __init__.py: the classes, their
defaults, the aliases l1 / l2 / l1_l2, get / serialize / deserialize), for
a layer's kernel_regularizer (Embedding: embeddings_regularizer;
DepthwiseConv2D and SeparableConv2D: depthwise_regularizer, on both
separable kernels, so pointwise_regularizer must be the same),
bias_regularizer, recurrent_regularizer (LSTM, GRU, SimpleRNN) and
activity_regularizer (Dense, Conv1D, Conv2D, Embedding, LSTM, GRU,
SimpleRNN), all through lf_set_regularizer.

L1(l1=0.01) adds l1 * sum(|x|) to the training loss, L2(l2=0.01)
l2 * sum(x**2), L1L2(l1=0.0, l2=0.0) both (the string 'l1_l2' gives
L1L2() as Keras' get does).  An activity regularizer penalises the layer's
output, divided by the batch's rows as Keras 3's Layer.__call__.  Calling a
regularizer on an array gives its penalty (numpy), as Keras'.
OrthogonalRegularizer and regularizers of one's own are not available to
the C engine: a layer refuses them by name.
"""
import math

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def validate_float_arg(value, name):
    """Keras' check: a finite number >= 0, as a float"""
    if isinstance(value, bool) or not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value) \
            or value < 0:
        raise ValueError("Invalid value for argument %s: expected a non-negative float.Received: %s=%s"
                         % (name, name, value))
    return float(value)


class Regularizer:
    """Keras' base class: a regularizer of its own (subclass) is refused by
    the layers, whose penalties are computed in C."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError("%s does not implement get_config()" % self)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        import numpy as np
        x = np.asarray(x, dtype=np.float64)
        return self.l1 * float(np.abs(x).sum()) + self.l2 * float(np.square(x).sum())

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return "L1L2(l1=%r, l2=%r)" % (self.l1, self.l2)


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(0.01 if l1 is None else l1, 0.0)

    def get_config(self):
        return {"l1": self.l1}

    def __repr__(self):
        return "L1(l1=%r)" % self.l1


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(0.0, 0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return "L2(l2=%r)" % self.l2


# Keras exports the classes under the snake-case names too
l1, l2, l1_l2 = L1, L2, L1L2

_OBJECTS = {"L1": L1, "L2": L2, "L1L2": L1L2, "Regularizer": Regularizer,
            "l1": L1, "l2": L2, "l1_l2": L1L2, "regularizer": Regularizer}


def serialize(regularizer):
    """Keras' serialized form {'module', 'class_name', 'config', 'registered_name'}"""
    if regularizer is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A regularizer from serialize's dict (or {'class_name', 'config'})"""
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = (custom_objects or {}).get(name) or _OBJECTS.get(name)
    if cls is None:
        raise ValueError("Could not interpret regularizer identifier: %r" % (config,))
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """Keras' get: None stays None, a dict is deserialized, a name ('l1',
    'L2', 'l1_l2') gives that class with its defaults, an object is itself"""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _OBJECTS.get(identifier)
        if cls is None:
            raise ValueError("Could not interpret regularizer identifier: %s" % identifier)
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError("Could not interpret regularizer identifier: %s" % (identifier,))


def _from_factors(l1, l2):
    """The Keras class a model file's factors stand for (None when both are 0)"""
    l1, l2 = float(l1 or 0.0), float(l2 or 0.0)
    if l1 == 0.0 and l2 == 0.0:
        return None
    return L2(l2) if l1 == 0.0 else L1(l1) if l2 == 0.0 else L1L2(l1, l2)
