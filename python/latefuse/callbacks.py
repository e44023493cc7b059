"""
callbacks.py — EarlyStopping, the one Keras callback the C fit loop runs.

Why only this one: the epochs run inside lf_model_fit (without the GIL), so
arbitrary Python callbacks have no hook; early stopping is a fit option of
the library (patience, min_delta, restore_best_weights).
"""
__all__ = ["Callback", "EarlyStopping"]


class Callback:
    pass


class EarlyStopping(Callback):
    """EarlyStopping(monitor='val_loss', min_delta=0, patience=0,
    restore_best_weights=False).  The library monitors val_loss when there
    is validation data and loss otherwise, so monitor must name that one;
    monitor='val_loss' without validation data warns and does not stop (as
    Keras).  patience=0 behaves like patience=1 (stop after the first epoch
    without improvement)."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        if monitor not in ("loss", "val_loss"):
            raise ValueError("EarlyStopping: monitor must be 'loss' or 'val_loss', got %r" % (monitor,))
        if mode not in ("auto", "min"):
            raise ValueError("EarlyStopping: mode must be 'auto' or 'min' (a loss is monitored)")
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
