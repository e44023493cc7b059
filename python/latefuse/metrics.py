"""
metrics.py — Keras 3's metric classes for compile(metrics=[...])
(keras/src/metrics/accuracy_metrics.py, regression_metrics.py,
confusion_metrics.py): each stands for the metric of the same name that
compile takes as a string, measured as that string's (models.py), and
keyed in the history and evaluate by its name, as Keras.

Only these classes; the accuracies with their default names (or another
name the string form knows: SparseCategoricalAccuracy(name='acc')),
MeanAbsoluteError, MeanSquaredError and AUC under any name (AUC(name='x'):
the key 'x', as Keras 3's compile_utils.py get_metric); a Metric subclass of
your own (update_state / result) is refused by compile: the metrics are
measured from the library's counts and predictions, not by Python code.
"""
from typing import Any, Dict, Optional

__all__ = ["Metric", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "MeanAbsoluteError",
           "MeanSquaredError", "AUC", "get"]


class Metric:
    """Keras' base class; only the subclasses below compile."""
    _kind = None  # the accuracies: the kind of accuracy measured
    _value = None  # the value metrics (mae, mse, AUC): what is measured; any name is their key
    _names = ()

    def __init__(self, name: Optional[str] = None, dtype: Any = None):
        self.name = name
        self.dtype = dtype

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self):
        return "<%s name=%s>" % (type(self).__name__, self.name)


_ACC = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


class BinaryAccuracy(Metric):
    _names = _ACC
    _kind = "binary_accuracy"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        if threshold != 0.5:
            raise ValueError("BinaryAccuracy: threshold=%r is not supported (only 0.5)" % (threshold,))
        super().__init__(name, dtype)
        self.threshold = 0.5


class CategoricalAccuracy(Metric):
    _names = _ACC
    _kind = "categorical_accuracy"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(Metric):
    _names = _ACC
    _kind = "sparse_categorical_accuracy"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(name, dtype)


class MeanAbsoluteError(Metric):
    _names = ("mae", "mean_absolute_error", "MAE")
    _value = "mae"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(name, dtype)


class MeanSquaredError(Metric):
    _names = ("mse", "mean_squared_error", "MSE")
    _value = "mse"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(name, dtype)


class AUC(Metric):
    _names = ("auc", "AUC")
    _value = "auc"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: Optional[str] = None, dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: Optional[int] = None, label_weights: Any = None, from_logits: bool = False):
        if curve != "ROC" or thresholds is not None or multi_label or label_weights is not None or from_logits:
            raise ValueError("AUC: only the ROC curve of one sigmoid output is supported (curve='ROC', no "
                             "thresholds, multi_label, label_weights or from_logits)")
        super().__init__(name or "auc", dtype)
        self.num_thresholds = num_thresholds
        self.summation_method, self.num_labels = summation_method, num_labels

    def get_config(self) -> Dict[str, Any]:
        """keras/src/metrics/confusion_metrics.py AUC.get_config's keys"""
        return {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds, "curve": "ROC",
                "summation_method": self.summation_method, "multi_label": False, "num_labels": self.num_labels,
                "label_weights": None, "from_logits": False}


class _Name(str):
    """A metric object's name (its history key) that remembers the
    accuracy its class measures (kind: 'binary_accuracy', ...), which
    compile checks against the output's loss (BinaryAccuracy(name='acc')
    on a softmax output is refused, as binary_accuracy is), or the value
    a MeanAbsoluteError / MeanSquaredError / AUC measures (value: 'mae',
    'mse', 'auc') under any name, and the object (obj: its get_config
    goes to a .keras file's compile_config)"""
    kind = None
    value = None
    obj = None

    def __reduce__(self):
        return (_name, (str(self), self.kind, self.value, self.obj))


def _name(name, kind, value=None, obj=None):
    n = _Name(name)
    n.kind, n.value, n.obj = kind, value, obj
    return n


def get(identifier: Any):
    """compile's metric entry as the string compile knows: a string stays;
    one of the classes above (or the class itself, made with its defaults,
    as keras.metrics.get does) becomes its name; anything else raises."""
    if identifier is None or isinstance(identifier, str):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric) and identifier.__module__ == __name__ \
            and identifier._names:
        identifier = identifier()
    if isinstance(identifier, Metric) and type(identifier).__module__ == __name__ and type(identifier)._value:
        # Keras 3 keys a metric object by its name (keras/src/trainers/compile_utils.py get_metric:
        # get_object_name): AUC() 'auc', AUC(name='x') 'x'
        return _name(str(identifier.name), None, type(identifier)._value, identifier)
    if isinstance(identifier, Metric) and type(identifier).__module__ == __name__ and type(identifier)._names:
        if identifier.name not in type(identifier)._names:
            raise ValueError("compile: metric %s(name=%r): the name must be one of %s"
                             % (type(identifier).__name__, identifier.name, ", ".join(type(identifier)._names)))
        return _name(identifier.name, type(identifier)._kind)
    what = ("a Metric subclass of your own (%s)" % type(identifier).__name__ if isinstance(identifier, Metric)
            else "a metric function" if callable(identifier) else "%r" % (identifier,))
    raise ValueError("compile: %s is not supported: the metrics are measured by the library; use 'accuracy', "
                     "'mae', 'mse', 'AUC' or latefuse.metrics.BinaryAccuracy(), CategoricalAccuracy(), "
                     "SparseCategoricalAccuracy(), MeanAbsoluteError(), MeanSquaredError(), AUC()" % what)
