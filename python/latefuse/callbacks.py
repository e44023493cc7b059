"""
callbacks.py — Keras callbacks: EarlyStopping, run by the C fit loop
itself (patience, min_delta, restore_best_weights are fit options of the
library), ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler,
CSVLogger, TerminateOnNaN, LambdaCallback, and the Callback base class for
your own.

The epochs run inside lf_model_fit (without the GIL); at each epoch's
begin and end the library reports progress, and there Model.fit calls the
callbacks' on_epoch_begin(epoch, logs) and on_epoch_end(epoch, logs) (logs:
loss, accuracy and the compiled metrics, val_* with validation data; one
dict through the callbacks in order, then the history, as Keras), and
on_train_begin / on_train_end around the fit.  A callback with a
per-batch hook (on_train_batch_begin / on_train_batch_end, or Keras'
aliases on_batch_begin / on_batch_end) has the library report every step,
and fit calls them around each step (batch logs: the epoch's loss and
accuracy so far, not the other compiled metrics); likewise a callback
with on_test_batch_begin / on_test_batch_end has each validation batch
reported, the hooks called between on_test_begin and on_test_end (logs:
the validation loss and accuracy so far; model.stop_evaluating is not
read there).  A callback may read
the model (self.model.predict, evaluate, save, get_weights), set
self.model.optimizer.learning_rate (the next step uses it:
lf_model_set_learning_rate) and self.model.stop_training = True (fit
ends after the current step, as Keras 3's batch loop:
lf_model_stop_training), not change the weights while fit runs; an
exception in a callback ends the fit after that step and is raised when
fit returns.  evaluate(callbacks=) and predict(callbacks=) call
on_test_* / on_predict_* (models.py).
"""
import collections.abc
import csv
import math
import os
import sys
import warnings
from typing import Any, Callable, Dict, Optional

import numpy as np

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler",
           "CSVLogger", "TerminateOnNaN", "LambdaCallback"]


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

    def on_train_batch_begin(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self.on_batch_begin(batch, logs=logs)  # Keras' backwards-compatible alias

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    # Keras' evaluate / predict hooks: evaluate(callbacks=) and
    # predict(callbacks=) call them (the batch hooks batch by batch); fit
    # calls on_test_begin, on_test_batch_begin / on_test_batch_end per
    # validation batch (the library's VAL_STEP events) and on_test_end
    # around each validation, as Keras 3's fit through evaluate
    def on_test_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_test_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_predict_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_predict_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        pass


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
_TEST_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


def _has_hooks(cb: Any, hooks) -> bool:
    """Whether callback cb has one of these hooks of its own (a
    subclass's method, or a function set on the instance as
    LambdaCallback does)."""
    if not isinstance(cb, Callback):
        return any(callable(getattr(cb, h, None)) for h in hooks)
    return any(h in vars(cb) or getattr(type(cb), h) is not getattr(Callback, h) for h in hooks)


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
    baseline=None, restore_best_weights=False, start_from_epoch=0), Keras
    3's rules (in the C fit: lf_fit_options).  start_from_epoch: the epochs
    before it are not watched (no patience count, not the best, their
    weights not kept).  baseline: an improvement resets the patience count
    only when it also beats the baseline by more than min_delta; the fit
    then stops at the first epoch without improvement once the count has
    reached patience.  The library monitors val_loss when there
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
        if baseline is not None:
            baseline = float(baseline)
            if not math.isfinite(baseline):
                raise ValueError("EarlyStopping: baseline must be a finite number or None, got %r" % (baseline,))
        if isinstance(start_from_epoch, bool) or not isinstance(start_from_epoch, int) or start_from_epoch < 0:
            raise ValueError("EarlyStopping: start_from_epoch must be an integer >= 0, got %r" % (start_from_epoch,))
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError("EarlyStopping: patience must be an integer >= 0, got %r" % (patience,))
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline = baseline
        self.start_from_epoch = start_from_epoch
        self.verbose = verbose
        self.stopped_epoch = 0
        self.best_epoch = 0


def _auto_op(owner: str, monitor: str) -> str:
    """Keras' MonitorCallback mode 'auto': 'min' for loss (and a loss of an
    output), 'max' for the accuracies and AUC, 'min' for mae and mse;
    another name cannot be told (ValueError, as Keras)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name.startswith("weighted_"):
        name = name[len("weighted_"):]
    if name == "loss" or name.endswith("_loss"):
        return "min"
    low = name.lower()
    if low in _ACC_NAMES or low.endswith(_ACC_NAMES) or low == "auc":
        return "max"
    if low in ("mae", "mse", "mean_absolute_error", "mean_squared_error"):
        return "min"
    raise ValueError("%s callback received monitor=%s, but Keras isn't able to automatically determine whether "
                     "that metric should be maximized or minimized. Pass `mode='max'` in order to monitor based "
                     "on the highest metric value, or pass `mode='min'` in order to use the lowest value."
                     % (owner, monitor))


class ReduceLROnPlateau(Callback):
    """ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10,
    verbose=0, mode='auto', min_delta=1e-4, cooldown=0, min_lr=0.0), as
    Keras 3: at each epoch's end, after `patience` epochs without an
    improvement of `monitor` by more than min_delta (and outside the
    `cooldown` epochs after a reduction), the learning rate becomes
    max(lr * factor, min_lr) when lr > min_lr, for the next epoch; logs
    get 'learning_rate' (the rate of the epoch that ended).  mode 'auto':
    min for losses, max for accuracies and AUC."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn("ReduceLROnPlateau mode '%s' is unknown, fallback to auto mode." % (mode,),
                          RuntimeWarning)
            mode = "auto"
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. Received factor=%r" % (factor,))
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(min_delta)
        self.monitor_op = None
        self.best = None
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _set_monitor_op(self) -> None:
        op = self.mode if self.mode != "auto" else _auto_op("ReduceLROnPlateau", self.monitor)
        self.monitor_op = (lambda a, b: a < b) if op == "min" else (lambda a, b: a > b)
        if op == "min":
            self.min_delta *= -1

    def _is_improvement(self, value: float, reference: Optional[float]) -> bool:
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(np.float32(optimizer.learning_rate))  # the variable's float32, as Keras
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric `%s` which is not available. "
                          "Available metrics are: %s." % (self.monitor, ",".join(logs)), RuntimeWarning)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(np.float32(optimizer.learning_rate))
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        sys.stderr.write("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %s.\n"
                                         % (epoch + 1, new_lr))
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """LearningRateScheduler(schedule, verbose=0), as Keras 3: at each
    epoch's begin the optimizer's learning rate becomes schedule(epoch,
    lr) (epoch from 0; lr the current rate as the float32 the library
    uses; schedule(epoch) when the function takes one argument), which
    must be a float; logs get 'learning_rate' at the epoch's end."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        optimizer = self.model.optimizer
        try:  # Keras' new API, then its old one
            lr = self.schedule(epoch, float(np.float32(optimizer.learning_rate)))
        except TypeError:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError("The output of the `schedule` function should be a float. Got: %r" % (lr,))
        optimizer.learning_rate = lr
        if self.verbose > 0:
            sys.stderr.write("\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n" % (epoch + 1, lr))

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(np.float32(self.model.optimizer.learning_rate))


class CSVLogger(Callback):
    """CSVLogger(filename, separator=',', append=False), as Keras 3: one row
    per epoch, streamed (written and flushed at each epoch's end): the
    column 'epoch' (from 0), then the logs' keys sorted (and, when none
    starts with 'val_', their val_ names too, 'NA' in them: Keras' rule),
    in the csv module's excel dialect (lines end in CRLF).  append=True
    adds to an existing file, writing the header only when it is empty.
    The file is opened at the training's begin and closed at its end."""

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        if os.path.isdir(self.filename):
            raise IsADirectoryError("CSVLogger: '%s' is a directory, not a file name" % self.filename)
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        logs = logs or {}

        def handle_value(k):
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not (isinstance(k, np.ndarray) and k.ndim == 0):
                return '"[%s]"' % ", ".join(map(str, k))
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(["val_%s" % k for k in self.keys])
        if not self.writer:
            sep = self.sep

            class CustomDialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + (self.keys or []),
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """TerminateOnNaN(raise_error=False), as Keras 3: checked at each
    batch's end (on_batch_end, so fit has the library report every step):
    the first batch whose loss (the epoch's running mean, as Keras' batch
    logs) is NaN or infinite sets model.stop_training (fit ends after that
    step, the epoch's end still measured and logged, and returns its
    History, that epoch included, where without it the library refuses to
    go on with a LatefuseError), or with raise_error=True raises
    RuntimeError from fit."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError("NaN or Inf loss encountered at batch %d. Loss value: %s. Terminating "
                                   "training immediately." % (batch, loss))
            sys.stderr.write("Batch %d: Invalid loss, terminating training\n" % (batch,))
            self.model.stop_training = True


class LambdaCallback(Callback):
    """LambdaCallback(on_epoch_begin=None, on_epoch_end=None,
    on_train_begin=None, on_train_end=None, on_train_batch_begin=None,
    on_train_batch_end=None, **kwargs), as Keras 3: the functions given
    replace those hooks (epoch, logs) / (batch, logs) / (logs); kwargs
    (on_batch_end=..., any hook's name) are set on the instance."""

    def __init__(self, on_epoch_begin: Optional[Callable] = None, on_epoch_end: Optional[Callable] = None,
                 on_train_begin: Optional[Callable] = None, on_train_end: Optional[Callable] = None,
                 on_train_batch_begin: Optional[Callable] = None, on_train_batch_end: Optional[Callable] = None,
                 **kwargs: Any) -> None:
        super().__init__()
        self.__dict__.update(kwargs)
        if on_train_batch_begin is not None:
            self.on_train_batch_begin = on_train_batch_begin
        if on_train_batch_end is not None:
            self.on_train_batch_end = on_train_batch_end
        if on_epoch_begin is not None:
            self.on_epoch_begin = on_epoch_begin
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_train_begin is not None:
            self.on_train_begin = on_train_begin
        if on_train_end is not None:
            self.on_train_end = on_train_end
