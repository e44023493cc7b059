"""
callbacks.py — Keras callbacks: EarlyStopping, run by the C fit loop
itself (patience, min_delta, restore_best_weights are fit options of the
library), ModelCheckpoint, and the Callback base class for your own.

The epochs run inside lf_model_fit (without the GIL); at each epoch's
begin and end the library reports progress, and there Model.fit calls the
callbacks' on_epoch_begin(epoch, logs) and on_epoch_end(epoch, logs) (logs:
loss, accuracy and the compiled metrics, val_* with validation data), and
on_train_begin / on_train_end around the fit.  There are no per-batch
hooks.  A callback may read the model (self.model.predict, evaluate, save,
get_weights) but not change it while fit runs; an exception in a callback
is raised when fit returns (the epochs are not interrupted).
"""
import os
import sys
import warnings
from typing import Any, Dict, Optional

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint"]


class Callback:
    """keras.callbacks.Callback: subclass and override the hooks."""

    def __init__(self) -> None:
        self.model = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: Dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass


class ModelCheckpoint(Callback):
    """ModelCheckpoint(filepath, monitor='val_loss', verbose=0,
    save_best_only=False, save_weights_only=False, mode='auto',
    save_freq='epoch'), as Keras: saves the model (Model.save: one
    safetensors file, so `filepath` must not end in .keras or .h5) at the
    end of every epoch, or with save_best_only only when `monitor` improved
    (mode 'min', 'max', or 'auto': max for accuracies, min otherwise).
    filepath may hold Keras' fields, e.g. 'w.{epoch:02d}-{val_loss:.2f}.lf'.
    `best` is the best value seen."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: Any = "epoch", initial_value_threshold: Optional[float] = None) -> None:
        super().__init__()
        from .models import _check_save_name
        self.filepath = os.fspath(filepath)
        _check_save_name(self.filepath, "ModelCheckpoint")
        if save_weights_only:
            raise ValueError("ModelCheckpoint: save_weights_only=True is not supported: latefuse saves "
                             "whole models (architecture and weights in one file, Model.save)")
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: only save_freq='epoch' is supported (the epochs run inside "
                             "the C library), got %r" % (save_freq,))
        if mode not in ("auto", "min", "max"):
            raise ValueError("ModelCheckpoint: mode must be 'auto', 'min' or 'max', got %r" % (mode,))
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
        self.monitor, self.verbose, self.save_best_only, self.mode = monitor, verbose, bool(save_best_only), mode
        self.save_weights_only, self.save_freq = False, "epoch"
        inf = float("inf")
        self.best = initial_value_threshold if initial_value_threshold is not None else (
            inf if mode == "min" else -inf)

    def _better(self, v: float) -> bool:
        return v < self.best if self.mode == "min" else v > self.best

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if not self.save_best_only:
            if self.verbose:
                sys.stderr.write("\nEpoch %d: saving model to %s\n" % (epoch + 1, path))
            self.model.save(path)
            return
        cur = logs.get(self.monitor)
        if cur is None:
            warnings.warn("Can save best model only with %s available, skipping (available: %s)"
                          % (self.monitor, ", ".join(sorted(logs))), RuntimeWarning)
            return
        if self._better(cur):
            if self.verbose:
                sys.stderr.write("\nEpoch %d: %s improved from %.5f to %.5f, saving model to %s\n"
                                 % (epoch + 1, self.monitor, self.best, cur, path))
            self.best = cur
            self.model.save(path)
        elif self.verbose:
            sys.stderr.write("\nEpoch %d: %s did not improve from %.5f\n" % (epoch + 1, self.monitor, self.best))


# the accuracy names compile's metrics take (models.py reads them here too)
_ACC_NAMES = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


class EarlyStopping(Callback):
    """EarlyStopping(monitor='val_loss', min_delta=0, patience=0,
    restore_best_weights=False).  The library monitors val_loss when there
    is validation data and loss otherwise, or the accuracy
    (monitor='val_accuracy' or 'accuracy', under the name compile's metrics
    gave it, e.g. 'val_acc'; higher is better), so monitor must name that
    one; a monitor that the fit does not measure (val_ without validation
    data, an accuracy compile did not ask for) warns and does not stop (as
    Keras).  patience=0 behaves like patience=1 (stop after the first epoch
    without improvement)."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        base = monitor[4:] if isinstance(monitor, str) and monitor.startswith("val_") else monitor
        if base not in ("loss",) + _ACC_NAMES:
            raise ValueError("EarlyStopping: monitor must be 'loss', 'val_loss', an accuracy ('accuracy', "
                             "'val_accuracy', or the name compile's metrics gave it), got %r" % (monitor,))
        best = "min" if base == "loss" else "max"
        if mode not in ("auto", best):
            raise ValueError("EarlyStopping: mode must be 'auto' or '%s' (monitor %r: %s is better)"
                             % (best, monitor, "lower" if best == "min" else "higher"))
        if baseline is not None or start_from_epoch:
            raise ValueError("EarlyStopping: baseline and start_from_epoch are not supported")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError("EarlyStopping: patience must be an integer >= 0, got %r" % (patience,))
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.stopped_epoch = 0
        self.best_epoch = 0
