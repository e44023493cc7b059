"""
fusion.py — late fusion in scikit-learn's spelling: Fusion(...).fit(P, y),
predict_proba(P), predict(P), compare(P, y), over lf_fusion_*.

Why: the people fusing models hold each model's outputs as numpy arrays and
know scikit-learn's conventions; the work (every method, calibration,
cross-validation) runs in the C library.

P is a list with one entry per model: an (N, C) array of class
probabilities (raw scores with logits=True), float32 or float64, C or
Fortran order; a row of NaN marks a missing output for that sample, and
None a model missing for every sample.  Or, samples first as scikit-learn
expects (so that cross_val_score, GridSearchCV and Pipeline can index the
rows), one (N, M, C) array: row i holds the M models' outputs for sample
i.  y holds N labels: integers in 0..C-1, or any C distinct values
(strings, -1/+1, 1/5/9, ...) whose sorted unique values become the classes
(classes_), as scikit-learn's.
Shapes and labels are checked here (ValueError); the library validates the
values and its failures raise LatefuseError with its message.  The C calls
release the GIL (ctypes); a Fusion's lock lets its predicts run together
and keeps a refit (or a save) apart from them.
"""
import contextlib
import ctypes
import os
import re
import signal
import tempfile
import threading
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._cancel import _Cancel
from ._lib import LatefuseError, lib

__all__ = ["Fusion", "compare", "load_fusion", "fusion_metrics", "METHODS", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """A Fusion used before fit or load (the bases of scikit-learn's
    NotFittedError: except ValueError and except AttributeError catch it)."""


class _RWLock:
    """Many readers (the library's const calls: predict, predict_files,
    report, which the header calls thread-safe on one fitted model) or one
    writer (fit, save: they change the handle or store a message in it).
    A waiting writer holds off new readers, so a refit is not starved by a
    stream of predicts.  Not reentrant."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self):
        self.acquire_shared()
        try:
            yield
        finally:
            self.release_shared()

    def acquire_shared(self):
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1

    def release_shared(self):
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

# the methods to fit (auto's ensemble, named "ensemble", is made by auto, not fitted by name)
METHODS = tuple(lib.lf_method_name(i).decode() for i in range(64)
                if lib.lf_method_name(i) and lib.lf_method_parse(lib.lf_method_name(i)) == i)


def _prep(P, what, n_models=None, n_classes=None):
    if isinstance(P, np.ndarray) and P.ndim == 3:  # (N, M, C), samples first
        P = [P[:, m, :] for m in range(P.shape[1])]
    if not isinstance(P, (list, tuple)):
        raise ValueError("%s: pass a list with one (N, C) array per model (or None for a missing model), "
                         "or one (N, M, C) array" % what)
    if n_models is not None and len(P) != n_models:
        raise ValueError("%s: the fusion model was fitted on %d models, got %d arrays" % (what, n_models, len(P)))
    if len(P) == 0:
        raise ValueError("%s: no model outputs given" % what)
    arrs, N, C = [], None, None
    for i, p in enumerate(P):
        if p is None:
            arrs.append(None)
            continue
        a = _lib.as_f32(p, "%s: model %d" % (what, i))
        if a.ndim != 2:
            raise ValueError("%s: model %d must be an (N, C) array, got shape %s" % (what, i, tuple(a.shape)))
        if N is None:
            N, C = a.shape
        elif a.shape != (N, C):
            raise ValueError("%s: model %d has shape %s but model %d has (%d, %d): every model needs "
                             "the same N samples and C classes" % (what, i, tuple(a.shape),
                                                                   _first(arrs), N, C))
        arrs.append(a)
    if N is None:
        raise ValueError("%s: every model is None; at least one model's outputs are needed" % what)
    if n_classes is not None and C != n_classes:
        raise ValueError("%s: the fusion model has %d classes, the arrays have %d columns" % (what, n_classes, C))
    if C < 2:
        raise ValueError("%s: at least 2 classes (columns) are needed, got %d" % (what, C))
    return arrs, N, C


def _first(arrs):
    return next(i for i, a in enumerate(arrs) if a is not None)


def _labels(y, N, C, what):
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.ndim != 1 or a.shape[0] != N:
        raise ValueError("%s: y must hold %d labels (one per row), got shape %s" % (what, N, tuple(a.shape)))
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError("%s: labels must be integers in 0..%d" % (what, C - 1))
    # the library's label check (lf_labels_from_matrix), on float32 values:
    # an integer beyond 2^24 rounds, but stays out of range
    v = np.ascontiguousarray(a, dtype=np.float32)
    out = np.empty(N, dtype=np.intc)
    issue = _lib.InputIssue()
    if N and lib.lf_labels_from_matrix(v.ctypes.data, N, 1, C, out.ctypes.data, ctypes.byref(issue)):
        why = "is not an integer" if issue.kind == _lib.INPUT_LABEL_NOT_INTEGER else "is out of range 0..%d" % (C - 1)
        raise ValueError("%s: label %g at row %d %s" % (what, issue.value, issue.row, why))
    return out


def _names(names, M, what):
    if names is None:
        return ["model%d" % i for i in range(M)]
    if isinstance(names, (str, bytes)):
        raise TypeError("%s: names must be a list of %d model names, got a single string %r" % (what, M, names))
    names = [str(n) for n in names]
    if len(names) != M:
        raise ValueError("%s: %d names for %d models" % (what, len(names), M))
    return names


def _seed(seed, what):
    """seed as the library's uint64, refusing what it cannot hold (no wrapping)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2 ** 64:
        raise ValueError("%s: seed must be an integer in 0..2**64-1, got %r" % (what, seed))
    return int(seed)


def _python_words(msg, names=None):
    """A library message in Python's terms: the options' logits said as the
    logits=True argument, and a refused model name quoted (the library
    numbers it)."""
    msg = msg.replace("raw scores need the logits option", "raw scores need logits=True")
    m = re.match(r"model name (\d+) must", msg)
    if m and names is not None and int(m.group(1)) < len(names):
        k = int(m.group(1))
        msg = "model name %r (names[%d]) must%s" % (names[k], k, msg[m.end():])
    return msg


def _raise_fusion(h, st, what, names=None):
    """_lib.raise_fusion, the message in Python's terms (_python_words)."""
    msg = lib.lf_fusion_error(h) if h else b""
    msg = msg.decode("utf-8", "replace") if msg else "%s: %s" % (what, _lib.status_string(st))
    raise LatefuseError(_python_words(msg, names), st, _lib.status_string(st))


def _issue_text(arrs, logits):
    """Why the library refused these outputs (predict keeps no message): the
    library's own check (lf_check_outputs), worded with 0-based model and
    row numbers; '' when it finds nothing."""
    issue = _lib.InputIssue()
    tab = _lib.ptr_table(arrs)
    N, C = next(a.shape for a in arrs if a is not None)
    if not lib.lf_check_outputs(tab, None, len(arrs), N, C, int(bool(logits)), 0, ctypes.byref(issue)):
        return ""
    where = "model %d, row %d: " % (issue.model, issue.row)
    if issue.kind == _lib.INPUT_PARTIAL_NAN:
        return where + "NaN in some columns only (a missing output is a whole row of NaN)"
    if issue.kind == _lib.INPUT_INF:
        return where + "a non-finite value"
    if issue.kind == _lib.INPUT_NEGATIVE:
        return where + "a negative probability"
    return where + "probabilities sum to %g, not 1 (use logits=True for raw scores)" % issue.sum


_METRICS = {"log-loss": 2, "log_loss": 2, "accuracy": 0, "macro-f1": 1, "macro_f1": 1}


_PREDICT_BLOCK = 65536  # LF_FUSION_PREDICT_BLOCK: the rows fused between two looks at the cancel flag


def _threads(n_jobs, what):
    """scikit-learn's n_jobs as the library's thread count: None -> OpenMP's
    count on the calling thread (omp_set_num_threads, as threadpoolctl's
    limits set it, else OMP_NUM_THREADS, else one per core), read here
    because the C call may run on a worker thread, where OpenMP's count is
    its own; n >= 1 -> n, n < 0 -> cores + 1 + n (-1: every core this
    process may use, -2: all but one)"""
    if n_jobs is None:
        return lib.lf_threads_default()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError("%s: n_jobs must be None, a positive integer or a negative one (-1: every core), "
                         "got %r" % (what, n_jobs))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = int(n_jobs) if n_jobs > 0 else cores + 1 + int(n_jobs)
    if not 1 <= n <= 1024:
        raise ValueError("%s: n_jobs=%r gives %d threads; it must give 1..1024 (this process may use %d cores)"
                         % (what, n_jobs, n, cores))
    return n


def _options(method, calibrate, folds, seed, logits, epochs, modality_dropout, verbose, what,
             metric="log-loss", ensemble_size=50, bags=1, neighbors=7, n_jobs=None):
    o = lib.lf_fusion_defaults()
    o.threads = _threads(n_jobs, what)
    if method is not None:
        mid = lib.lf_method_parse(str(method).encode())
        if mid < 0:
            raise ValueError("%s: unknown method %r: use one of %s" % (what, method, ", ".join(METHODS)))
        o.method = mid
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError("%s: folds must be an integer >= 2, got %r" % (what, folds))
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError("%s: epochs must be an integer >= 0 (0: the method's default), got %r" % (what, epochs))
    md = float(modality_dropout)
    if not 0.0 <= md <= 1.0:
        raise ValueError("%s: modality_dropout must be in [0, 1], got %r" % (what, modality_dropout))
    o.calibrate, o.logits, o.folds = int(bool(calibrate)), int(bool(logits)), int(folds)
    o.seed, o.epochs, o.modality_dropout = _seed(seed, what), int(epochs), md
    if verbose:  # compare's progress and the learned methods' epochs on stderr
        o.progress = _lib.progress_printer(_lib.stderr_tty())
    if metric not in _METRICS:
        raise ValueError("%s: metric must be 'log-loss', 'accuracy' or 'macro-f1', got %r" % (what, metric))
    for nm, v, hi in (("ensemble_size", ensemble_size, 100000), ("bags", bags, 10000), ("neighbors", neighbors, 1000)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= hi:
            raise ValueError("%s: %s must be an integer in 1..%d, got %r" % (what, nm, hi, v))
    o.metric, o.ensemble_size, o.bags, o.k = _METRICS[metric], int(ensemble_size), int(bags), int(neighbors)
    return o


def _features(F, N, what):
    """features as a C-contiguous (N, F) float32 array (a 1-D array is one
    feature per row), or None."""
    if F is None:
        return None
    x = np.asarray(F)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[0] != N or x.shape[1] == 0:
        raise ValueError("%s: features must be (N, F) with N = %d rows (those of the outputs), got shape %s"
                         % (what, N, tuple(x.shape)))
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError("%s: features must be real numbers, got dtype %s" % (what, x.dtype))
    return np.ascontiguousarray(x, dtype=np.float32)


def _encode_labels(y, what):
    """Labels that are not integer class indices (strings, or integers that
    are not 0..C-1): their sorted unique values and the indices into them."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError("%s: y must be one label per row, got shape %s" % (what, tuple(a.shape)))
    classes, idx = np.unique(a, return_inverse=True)
    return classes, idx


def _is_index_labels(y, C=None):
    """Labels that index the C columns: numbers (not bool, not complex);
    with C given, also not a set of exactly C distinct finite values other
    than indices 0..C-1 (such as -1/+1 or 1, 5, 9), which, as scikit-learn
    does, name the columns in sorted order instead."""
    a = np.asarray(y)
    if not (a.dtype != bool and np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.complexfloating)):
        return False
    if C is None or a.size == 0 or not np.isfinite(a).all():
        return True
    if np.all(a == np.floor(a)) and a.min() >= 0 and a.max() <= C - 1:
        return True
    return len(np.unique(a)) != C  # not C distinct values: the range check says what is wrong


class _TempFiles(_Cancel):
    """predict_files' and report's temporary outputs (the library's `temp`
    callback: it runs on the thread that calls the library), and what to do
    when a signal comes: set the library's cancel flag (the call stops
    before its next chunk, or unit, and removes its temporary files), and
    remove the files already named too, so that the renames fail and
    nothing is left even if the library is past its last look at the flag;
    SIGTERM, while its handler is the default, removes them and then ends
    the process as SIGTERM does."""

    _handles_term = True

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()  # held from CREATING to CREATED and from RENAMING to RENAMED
        self.paths = []

    def event(self, ctx, ev, path, ok):
        if ev in (0, 2):  # CREATING, RENAMING
            self.lock.acquire()
            if ev == 2 and self.cancelled is not None:
                self._remove()  # the renames fail: nothing is left
            return
        if ev == 1:  # CREATED
            if path is not None:
                self.paths.append(os.fsdecode(path))
                if self.cancelled is not None:
                    self._remove()
            self.lock.release()
        elif ev == 3:  # RENAMED
            self.paths = []
            self.lock.release()
        else:  # DISCARDED
            self.paths = []

    def _remove(self):
        for p in self.paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        self.paths = []

    def discard(self, exc):
        """A signal's exception while the call runs: no output may appear,
        and the library is told to stop (before taking the lock, which the
        worker holds around creating and renaming)."""
        self.flag.value = 1
        with self.lock:
            self.cancelled = exc
            self._remove()

    def _on_term(self, signum, frame):
        with self.lock:
            self._remove()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)


# what compare tries (auto, which chooses among them, is not one)
_COMPARED = tuple(m for m in METHODS if m != "auto")

ArrayList = Union[np.ndarray, Sequence[Optional[np.ndarray]]]


class Fusion:
    """Fusion(method="auto", calibrate=False, folds=5, seed=0, logits=False,
    epochs=0, modality_dropout=0.5, verbose=0, metric="log-loss",
    ensemble_size=50, bags=1, neighbors=7, auto_single=False, n_jobs=None).

    method: one of latefuse.METHODS (mean, product, max, min, median, vote,
    borda, acc-weighted, decision-template, stack-lr, wavg, wavg-class,
    loglinear, mlp, gate, ges, ges-log, knora-e, knora-u, ola, lca,
    dempster-shafer, bks, auto); auto (the default) chooses by
    cross-validation on `metric`, and keeps an ensemble of its best
    candidates unless that scores worse than the best single candidate by
    a standard error (never with auto_single=True, the
    C API's auto_single and the CLI's fit --single).  ensemble_size, bags:
    ges and auto's ensemble; n_jobs: the threads of fit, report, predict
    and predict_files (None: OpenMP's count, OMP_NUM_THREADS, else every core;
    -1 every core, -2 all but one; the results do not depend on it);
    neighbors: the
    dynamic-selection methods, whose region of competence is searched among
    the models' outputs, or among fit(..., features=F) (N, F) features
    (standardised; predict then needs the new rows' features).  After fit:
    n_features_ (that width, 0 for none), n_neighbors_ (the k of dynamic
    selection, alone or in auto's ensemble; 0 for none), method_ (the fitted method; for
    auto the one chosen, or "ensemble" for auto's ensemble of its best
    candidates, whose members ensemble_ lists as (method, calibrated,
    weight); ensemble_ is None otherwise), calibrated_, names_, n_models_, n_classes_,
    classes_, weights_ (softmax of the learned weights: (M,) or (M, C) for
    wavg-class; None for methods without such weights), temperatures_ (M,),
    importance_ (dict: log_loss and accuracy on the fitting rows with every
    model, and with each model missing), auto_note_ (auto's reason, or None),
    penalty_ (stack-lr, wavg, wavg-class, gate: the L2 penalty chosen at fit
    towards the fixed rule, as {"l2": value, "chosen_by": how}; None for
    other methods and for files written before it was stored).

    A scikit-learn classifier: __init__ only stores its parameters,
    get_params/set_params, clone, cross_val_score, GridSearchCV and Pipeline
    work (give X as one (N, M, C) array), classes_ holds y's classes (any
    labels: strings map through their sorted unique values), score is the
    accuracy.  A Fusion pickles, deep-copies and joblib-dumps: a fitted one
    travels as the bytes of its fusion file and predicts identically after."""

    _estimator_type = "classifier"  # scikit-learn's is_classifier
    auto_single = False  # the default for a Fusion pickled before it had auto_single
    n_jobs = None  # and before it had n_jobs

    def __init__(self, method: str = "auto", calibrate: bool = False, folds: int = 5, seed: int = 0,
                 logits: bool = False, epochs: int = 0, modality_dropout: float = 0.5, verbose: int = 0,
                 metric: str = "log-loss", ensemble_size: int = 50, bags: int = 1, neighbors: int = 7,
                 auto_single: bool = False, n_jobs: Optional[int] = None):
        self.method = method
        self.calibrate = calibrate
        self.folds = folds
        self.seed = seed
        self.logits = logits
        self.epochs = epochs
        self.modality_dropout = modality_dropout
        self.verbose = verbose
        self.metric = metric
        self.ensemble_size = ensemble_size
        self.bags = bags
        self.neighbors = neighbors
        self.auto_single = auto_single
        self.n_jobs = n_jobs

    # scikit-learn's parameter protocol
    _PARAMS = ("method", "calibrate", "folds", "seed", "logits", "epochs", "modality_dropout", "verbose",
               "metric", "ensemble_size", "bags", "neighbors", "auto_single", "n_jobs")
    _DEFAULTS = dict(method="auto", calibrate=False, folds=5, seed=0, logits=False, epochs=0,
                     modality_dropout=0.5, verbose=0, metric="log-loss", ensemble_size=50, bags=1, neighbors=7,
                     auto_single=False, n_jobs=None)

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> "Fusion":
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError("Fusion: unknown parameter %r" % k)
            setattr(self, k, v)
        return self

    @property
    def _fitted(self):
        return self.__dict__.get("_is_fitted", False)

    @property
    def _lock(self):
        # one per object, made on first use (dict.setdefault is atomic):
        # fit and save take it exclusively, the predicts share it
        lk = self.__dict__.get("_rwlock")
        return lk if lk is not None else self.__dict__.setdefault("_rwlock", _RWLock())

    def _h(self):
        if self.__dict__.get("_handle") is None:
            h = ctypes.c_void_p()
            st = lib.lf_fusion_create(ctypes.byref(h))
            if st:
                raise LatefuseError("could not create a fusion model: " + _lib.status_string(st), st)
            self._handle = h
        return self._handle

    def __del__(self):
        h = self.__dict__.get("_handle")
        if h is not None and lib is not None:
            lib.lf_fusion_free(h)
            self.__dict__["_handle"] = None

    def fit(self, P: ArrayList, y: Any, names: Optional[Sequence[str]] = None,
            class_names: Optional[Sequence[str]] = None, features: Optional[np.ndarray] = None) -> "Fusion":
        """Fits the fusion on the models' outputs P (list of (N, C) arrays,
        NaN rows / None for missing, or one (N, M, C) array) and labels y;
        returns self.  class_names: C names, kept with the model
        (class_names_, the file, inspect, eval and the report); labels given
        as strings are the class names when class_names is not given.
        features: (N, F) values per row (e.g. the samples' inputs) in which
        knora-e, knora-u, ola and lca (and auto, for those) find the region
        of competence instead of the models' outputs; other methods refuse
        them.  Ctrl-C (KeyboardInterrupt, or any exception a signal handler
        raises) sets the library's cancel flag: the fit stops within a unit
        of its work (a candidate on a fold, a training step), this Fusion is
        left unfitted and the exception is raised."""
        arrs, N, C = _prep(P, "fit")
        fx = _features(features, N, "fit")
        labels = None
        if not _is_index_labels(y, C):
            labels, y = _encode_labels(y, "fit")
            if len(labels) != C:
                raise ValueError("fit: y holds %d distinct labels but the outputs have %d columns (classes)"
                                 % (len(labels), C))
        yy = _labels(y, N, C, "fit")
        nm = _names(names, len(arrs), "fit")
        o = _options(self.method, self.calibrate, self.folds, self.seed, self.logits, self.epochs,
                     self.modality_dropout, self.verbose, "fit", self.metric, self.ensemble_size, self.bags,
                     self.neighbors, self.n_jobs)
        o.auto_single = int(bool(self.auto_single))
        if fx is not None:
            o.features, o.n_features = fx.ctypes.data, fx.shape[1]
        tab = _lib.ptr_table(arrs)
        ntab, keep = _lib.name_table(nm, "model name")
        if class_names is None and labels is not None and labels.dtype.kind in "USO":
            class_names = labels  # labels given as names name the classes (and come back from load)
        ckeep = None
        if class_names is not None:
            cn = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in class_names]
            ctab, ckeep = _lib.name_table(cn, "class name")
        # fit runs on a worker thread that Ctrl-C stops through the
        # library's cancel flag (within a unit of its work)
        stop = _Cancel()
        o.cancel = stop.pointer()

        def call():
            # fit changes the handle: no predict may run on it meanwhile
            with self._lock.exclusive():
                h = self._h()
                st = lib.lf_fusion_fit(h, tab, ntab, len(arrs), N, C, yy.ctypes.data, ctypes.byref(o))
                if st:
                    self._unfit()
                    if st == _lib.ERR_CANCELLED:  # the signal's exception is raised below
                        return
                    _raise_fusion(h, st, "fit", nm)
                if ckeep is not None:
                    st = lib.lf_fusion_set_class_names(h, ctab, len(cn))
                    if st:
                        self._unfit()
                        _lib.raise_fusion(h, st, "fit")
                self._read_fitted()
                if labels is not None:
                    self.classes_ = labels

        stop.run(call, "latefuse-fit")
        if stop.cancelled is not None:  # say why now, the fusion unfitted
            with self._lock.exclusive():  # (also when the signal came after the library's last look)
                self._unfit()
            raise stop.cancelled
        return self

    def _unfit(self):
        """A fit that failed in the library (or was cancelled) leaves no
        fitted model: the attributes of an earlier fit (classes_, method_,
        ...) go too, so that scikit-learn's check_is_fitted agrees with
        predict (NotFittedError).  A fit refused by the checks before the
        library is called leaves an earlier fit as it was, as scikit-learn's
        estimators do."""
        self._is_fitted = False
        for k in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("_")]:
            del self.__dict__[k]

    def __sklearn_is_fitted__(self):
        return self._fitted

    def _read_fitted(self):
        h = self._handle
        self._is_fitted = True
        M, C = lib.lf_fusion_num_models(h), lib.lf_fusion_num_classes(h)
        self.method_ = lib.lf_method_name(lib.lf_fusion_method(h)).decode()
        self.calibrated_ = bool(lib.lf_fusion_calibrated(h))
        self.logits_ = bool(lib.lf_fusion_logits(h))
        self.n_models_, self.n_classes_ = int(M), int(C)
        self.n_features_ = int(lib.lf_fusion_n_features(h))
        self.n_neighbors_ = int(lib.lf_fusion_neighbors(h))
        self.classes_ = np.arange(C)
        self.names_ = [lib.lf_fusion_model_name(h, i).decode() for i in range(M)]
        self.temperatures_ = np.array([lib.lf_fusion_temperature(h, i) for i in range(M)], dtype=np.float32)
        rows, cols = ctypes.c_size_t(), ctypes.c_size_t()
        n = lib.lf_fusion_weights(h, None, 0, ctypes.byref(rows), ctypes.byref(cols))
        if n:
            w = np.empty(n, dtype=np.float32)
            lib.lf_fusion_weights(h, w.ctypes.data, n, ctypes.byref(rows), ctypes.byref(cols))
            self.weights_ = w if cols.value <= 1 else w.reshape(rows.value, cols.value)
        else:
            self.weights_ = None
        ll, acc = np.empty(M + 1), np.empty(M + 1)
        if lib.lf_fusion_importance(h, ll.ctypes.data, acc.ctypes.data, M + 1) == M + 1:
            self.importance_ = {"log_loss": float(ll[0]), "accuracy": float(acc[0]),
                                "without": {n: {"log_loss": float(ll[i + 1]), "accuracy": float(acc[i + 1])}
                                            for i, n in enumerate(self.names_)}}
        else:
            self.importance_ = None
        note = lib.lf_fusion_auto_note(h)
        self.auto_note_ = note.decode() if note else None
        l2 = ctypes.c_float()
        how = lib.lf_fusion_penalty(h, ctypes.byref(l2))
        self.penalty_ = {"l2": float(l2.value), "chosen_by": how.decode()} if how else None
        # auto's ensemble: [(method, calibrated, weight)] of its members, else None
        m, cal, w, ll = ctypes.c_int(), ctypes.c_int(), ctypes.c_double(), ctypes.c_int()
        n_members = lib.lf_fusion_ensemble_member(h, 0, None, None, None, None)
        self.ensemble_ = None
        if n_members:
            self.ensemble_ = []
            for i in range(n_members):
                lib.lf_fusion_ensemble_member(h, i, ctypes.byref(m), ctypes.byref(cal), ctypes.byref(w), ctypes.byref(ll))
                self.ensemble_.append((lib.lf_method_name(m.value).decode(), bool(cal.value), float(w.value)))
        names = [lib.lf_fusion_class_name(h, c) for c in range(C)]
        self.class_names_ = [n.decode("utf-8") for n in names] if names and names[0] is not None else None
        hp = lib.lf_fusion_history(h)
        self.history_ = None
        if hp:  # a learned method fitted here: its engine history
            hp = hp.contents
            self.history_ = {}
            for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
                ptr = getattr(hp, key)
                vals = [float(ptr[i]) for i in range(hp.epochs)] if ptr else []
                if vals and not all(np.isnan(vals)):
                    self.history_[key] = vals

    def _need_fitted(self, what):
        if not self._fitted:
            raise NotFittedError("%s: this Fusion is not fitted yet; call fit(P, y) or Fusion.load(path)" % what)

    def predict_proba(self, P, features=None):
        """Fused class probabilities, (N, C) float32.  Rows where no model is
        present get the uniform distribution.  features: the rows' (N, F)
        features, exactly when fit was given features.  n_jobs sets the
        threads (the same numbers for any count).  Over more than 65536 rows
        Ctrl-C stops it between blocks of that many rows (the call runs on a
        worker thread meanwhile) and raises KeyboardInterrupt."""
        with self._lock.shared():
            return self._proba(P, features, "predict_proba")

    def _proba(self, P, features, what):
        # the caller holds self._lock (shared): lf_fusion_predict_with is
        # thread-safe on one fitted model, but not during a refit
        self._need_fitted(what)
        arrs, N, C = _prep(P, what, self.n_models_, self.n_classes_)
        fx = _features(features, N, what)
        out = np.empty((N, C), dtype=np.float32)
        tab = _lib.ptr_table(arrs)
        err = ctypes.create_string_buffer(512)
        o = lib.lf_fusion_predict_defaults()
        o.threads = _threads(self.n_jobs, what)
        if fx is not None:
            o.features, o.n_features = fx.ctypes.data, fx.shape[1]
        def call():
            return lib.lf_fusion_predict_with(self._handle, tab, N, ctypes.byref(o), out.ctypes.data, err, 512)

        if N > _PREDICT_BLOCK:  # fused in blocks, between which Ctrl-C stops it
            stop = _Cancel()
            o.cancel = stop.pointer()
            st = stop.run(call, "latefuse-predict")
            if stop.cancelled is not None:
                raise stop.cancelled
        else:
            st = call()
        if st:
            why = _issue_text(arrs, self.logits_) or err.value.decode("utf-8", "replace")
            msg = what + ": " + _lib.status_string(st) + (": " + why if why else "")
            raise LatefuseError(msg, st, _lib.status_string(st))
        return out

    def predict(self, P: ArrayList, features: Optional[np.ndarray] = None) -> np.ndarray:
        """The fused class of every row (argmax of predict_proba), as
        classes_ names it."""
        with self._lock.shared():  # classes_ of the same fit as the probabilities
            prob = self._proba(P, features, "predict")
            return self.classes_[np.argmax(prob, axis=1)]

    def score(self, P: ArrayList, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of predict(P) against y (scikit-learn's score); with
        sample_weight (N weights, finite, >= 0, not all 0) the weighted
        accuracy, as scikit-learn's accuracy_score."""
        p = self.predict(P)
        y = np.asarray(y).reshape(-1)
        if y.shape[0] != p.shape[0]:
            raise ValueError("score: y must hold %d labels (one per row), got %d" % (p.shape[0], y.shape[0]))
        if sample_weight is None:
            return float(np.mean(p == y))
        try:
            w = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError("score: sample_weight must be numbers (%s)" % exc) from None
        if w.shape != (p.shape[0],):
            raise ValueError("score: sample_weight must have shape (%d,) (one weight per row), got shape %s"
                             % (p.shape[0], w.shape))
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("score: sample_weight must be finite and >= 0")
        if not w.sum() > 0:
            raise ValueError("score: sample_weight sums to 0: no row counts")
        return float(np.sum(w * (p == y)) / np.sum(w))

    # pickle, copy.deepcopy, joblib: the parameters, and a fitted model's
    # fusion file as bytes (the ctypes handle cannot travel)
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_handle", "_rwlock")}
        if self._fitted:
            fd, path = tempfile.mkstemp(suffix=".lf")
            os.close(fd)
            try:
                self.save(path)
                with open(path, "rb") as fh:
                    state["_file_bytes"] = fh.read()
            finally:
                os.unlink(path)
            for k in [k for k in state if k.endswith("_") and not k.startswith("_")]:
                if k != "classes_":
                    del state[k]
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_file_bytes", None)
        classes = state.get("classes_")
        self.__dict__.update(state)
        self.__dict__["_handle"] = None
        self.__dict__.pop("_rwlock", None)
        if data is not None:
            fd, path = tempfile.mkstemp(suffix=".lf")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                h = self._h()
                st = lib.lf_fusion_load(h, os.fsencode(path))
                if st:
                    _lib.raise_fusion(h, st)
            finally:
                os.unlink(path)
            self._read_fitted()
            if classes is not None:
                self.classes_ = classes

    def metrics(self, P, y, features=None):
        """accuracy, macro_f1, log_loss, brier, ece of the fused outputs."""
        prob = self.predict_proba(P, features)
        return fusion_metrics(prob, y)

    def predict_files(self, files, out, classes_out=None, mmap=False, fsync=True, features=None):
        """Fuses model outputs stored in files (lf_fusion_predict_files):
        files maps each model's name to a .npy (C or Fortran order, any
        numeric dtype) or .csv file (a dict, or (name, path) pairs); a model
        not named is absent.  Writes
        the (N, C) float32 probabilities to `out` and, with classes_out, the
        int64 classes, streamed in chunks (memory does not grow with N),
        each through a temporary file renamed into place when both are
        complete.  Returns (N, C).  A bad value raises LatefuseError naming
        the file and its 1-based row.  features: the rows' (N, F) features
        in memory, exactly when fit was given features.  mmap=True maps
        float32 .npy inputs instead of read()ing them (LF_READ_MMAP: an
        input truncated while mapped raises SIGBUS).

        Interrupted, it leaves no output and no temporary file: Ctrl-C
        (KeyboardInterrupt, or any exception raised by a signal handler)
        sets the library's cancel flag, so the fusing stops before its next
        chunk of rows (a few milliseconds to a few tens, by the method),
        discards both outputs and raises that exception; SIGTERM, when its
        handler is the default, removes the temporary files and then ends
        the process as SIGTERM does.  Called from the main thread the library runs on a
        worker thread so that the signals are handled meanwhile."""
        self._need_fitted("predict_files")
        if isinstance(files, dict):
            items = list(files.items())
        elif isinstance(files, (str, bytes, os.PathLike)):
            raise TypeError("predict_files: files must map each model's name to its file, e.g. {%s}, got a "
                            "single path %r" % (", ".join("%r: path" % n for n in self.names_), files))
        else:
            items = list(files)
            for it in items:
                if isinstance(it, (str, bytes, os.PathLike)) or not isinstance(it, (tuple, list)) or len(it) != 2:
                    raise TypeError("predict_files: files must map each model's name to its file, e.g. {%s} "
                                    "(or a list of (name, path) pairs), got %r in a %s"
                                    % (", ".join("%r: path" % n for n in self.names_), it, type(files).__name__))
        names = [str(n) for n, _ in items]
        paths = [os.fsencode(os.fspath(p)) for _, p in items]
        ntab, keep = _lib.name_table(names, "model name")
        ptab = (ctypes.c_char_p * max(1, len(paths)))(*paths)
        o = _lib.PredictFilesOptions()
        o.threads = _threads(self.n_jobs, "predict_files")
        o.classes_path = os.fsencode(os.fspath(classes_out)) if classes_out is not None else None
        o.flags = (_lib.READ_MMAP if mmap else _lib.READ_NO_MMAP) | (0 if fsync else _lib.WRITE_NO_FSYNC)
        fx = None
        if features is not None:
            fx = _features(features, np.asarray(features).shape[0], "predict_files")
            o.features, o.n_features, o.feature_rows = fx.ctypes.data, fx.shape[1], fx.shape[0]
        temps = _TempFiles()
        o.temp = _lib.TEMP_FN(temps.event)
        o.cancel = temps.pointer()
        res = _lib.PredictFilesResult()
        outb = os.fsencode(os.fspath(out))

        def call():
            with self._lock.shared():
                return lib.lf_fusion_predict_files(self._handle, ntab, ptab, len(paths), outb, ctypes.byref(o),
                                                   ctypes.byref(res))

        st = temps.run(call, "latefuse-predict-files")
        if temps.cancelled is not None:  # the outputs were discarded: say why now
            raise temps.cancelled
        if st:
            msg = res.message.decode("utf-8", "replace") or _lib.status_string(st)
            raise LatefuseError("predict_files: " + msg, st, _lib.status_string(st))
        return int(res.rows), int(res.cols)

    def report(self, path, P, y, **kwargs):
        """Writes the HTML report (latefuse.report) of this fitted model's
        output on (P, y): the same page as latefuse.report(path, P, y,
        fusion=self, ...) and `latefuse report -f FILE`.  Unfitted, the page
        of latefuse.report with this Fusion's settings (calibrate, folds,
        seed, logits, ...)."""
        if not self._fitted:
            for k in ("calibrate", "folds", "seed", "logits", "epochs", "modality_dropout", "verbose", "metric",
                      "ensemble_size", "bags", "neighbors", "n_jobs"):
                kwargs.setdefault(k, getattr(self, k))
            return report(path, P, y, **kwargs)
        kwargs.setdefault("names", self.names_)
        kwargs.setdefault("logits", self.logits_)
        kwargs.setdefault("n_jobs", self.n_jobs)
        return report(path, P, y, fusion=self, **kwargs)

    def save(self, path):
        """Saves the fitted fusion (atomic write; the CLI reads it too)."""
        with self._lock.exclusive():  # the save stores its message in the handle
            self._need_fitted("save")
            st = lib.lf_fusion_save(self._handle, os.fsencode(os.fspath(path)), 0)
            if st:
                _lib.raise_fusion(self._handle, st)

    @classmethod
    def load(cls, path):
        """A fitted Fusion from a file written by save() or `latefuse fit`.

        classes_: the file's class names when it stores some (a fit on
        string labels stores them as the class names, so its classes_ and
        predictions come back as they were: ['cat', 'dog', ...]), else
        0..C-1.  A fit on integer labels 0..C-1 that was given class_names=
        comes back with the names as classes_ (the file does not say which
        the labels were); pickling keeps classes_ exactly in every case."""
        f = cls()
        h = f._h()
        st = lib.lf_fusion_load(h, os.fsencode(os.fspath(path)))
        if st:
            _lib.raise_fusion(h, st)
        f._read_fitted()
        if f.class_names_ is not None:
            f.classes_ = np.array(f.class_names_)
        f.method, f.calibrate, f.logits = f.method_, f.calibrated_, f.logits_
        if f.method_ == "ensemble":  # made by auto: a refit chooses again
            f.method = "auto"
        return f

    def __repr__(self):
        args = ", ".join("%s=%r" % (k, getattr(self, k)) for k in self._PARAMS
                         if getattr(self, k) != self._DEFAULTS[k])
        return "Fusion(%s)%s" % (args, " fitted" if self._fitted else "")


def load_fusion(path):
    """Same as Fusion.load(path)."""
    return Fusion.load(path)


def fusion_metrics(prob, y):
    """Metrics of (N, C) probabilities against labels: a dict with accuracy,
    macro_f1, log_loss, brier, ece (lf_fusion_metrics)."""
    p = _lib.as_f32(prob, "fusion_metrics: prob")
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError("fusion_metrics: prob must be (N, C) with C >= 2, got shape %s" % (tuple(p.shape),))
    N, C = p.shape
    yy = _labels(y, N, C, "fusion_metrics")
    out = (ctypes.c_double * _lib.NUM_METRICS)()
    st = lib.lf_fusion_metrics(p.ctypes.data, yy.ctypes.data, N, C, out)
    if st:
        raise LatefuseError("fusion_metrics: " + _lib.status_string(st), st, _lib.status_string(st))
    return dict(zip(_lib.METRIC_NAMES, list(out)))


def stratified_folds(y, n_splits=5, seed=0, n_classes=None):
    """The stratified K-fold split that compare and auto use
    (lf_folds_stratified): an int64 array, fold[i] in 0..n_splits-1 for
    each label, the same for the same labels, n_splits and seed; fold sizes,
    and the per-class counts of any two folds, differ by at most one.
    n_classes: the labels' range 0..n_classes-1 (default: the largest label + 1, at least 2)."""
    a = np.asarray(y)
    N = int(a.reshape(-1).shape[0]) if a.ndim else 0
    if n_classes is None:  # 1 would read the one column as one-hot labels
        top = a.max() if N and a.dtype.kind in "iuf" else 0
        n_classes = max(int(top) + 1, 2) if np.isfinite(top) else 2
    yy = _labels(y, N, int(n_classes), "stratified_folds")
    fold = np.empty(N, dtype=np.uintp)
    err = ctypes.create_string_buffer(512)
    st = lib.lf_folds_stratified(yy.ctypes.data, N, int(n_classes), int(n_splits), _seed(seed, "stratified_folds"),
                                 fold.ctypes.data, err, len(err))
    if st:
        msg = err.value.decode("utf-8", "replace") or _lib.status_string(st)
        raise ValueError("stratified_folds: " + msg)
    return fold.astype(np.int64)


def compare(P, y, methods="all", calibrate=False, folds=5, seed=0, names=None, logits=False,
            epochs=0, modality_dropout=0.5, verbose=0, as_frame=None, metric="log-loss", ensemble_size=50,
            bags=1, neighbors=7, features=None, n_jobs=None):
    """Stratified K-fold comparison of fusion methods, every single model and
    the oracle (lf_fusion_compare).  Returns one dict per row, sorted by
    mean log-loss (the oracle last): method (the row's name: a method,
    "model:<name>" or "oracle"), kind ("method", "model", "oracle"),
    calibrated, accuracy, accuracy_std, macro_f1(_std), log_loss(_std),
    brier(_std), ece(_std), and acc_without_<name> per model (NaN for rows
    that are not methods).  A pandas DataFrame instead when pandas is
    importable (as_frame=None) or as_frame=True.  features: (N, F) values
    per row in which knora-e, knora-u, ola and lca search the region of
    competence (each fold's own rows; other methods ignore them).  n_jobs:
    threads, as Fusion's (None: OpenMP's count; the table does not depend
    on it).  Ctrl-C stops the library within a unit of its work (a method on a fold) and
    raises KeyboardInterrupt."""
    arrs, N, C = _prep(P, "compare")
    fx = _features(features, N, "compare")
    yy = _labels(y, N, C, "compare")
    nm = _names(names, len(arrs), "compare")
    o = _options(None, calibrate, folds, seed, logits, epochs, modality_dropout, verbose, "compare", metric,
                 ensemble_size, bags, neighbors, n_jobs)
    if fx is not None:
        o.features, o.n_features = fx.ctypes.data, fx.shape[1]
    if methods is None or (isinstance(methods, str) and methods == "all"):
        mids = None
    else:
        ms = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
        if not ms:
            raise ValueError("compare: methods is empty")
        mids = []
        for m in ms:
            i = lib.lf_method_parse(str(m).encode())
            if i < 0:
                raise ValueError("compare: unknown method %r: use one of %s" % (m, ", ".join(METHODS)))
            if lib.lf_method_name(i).decode() not in _COMPARED:
                raise ValueError("compare: %r is not compared: auto chooses among the methods by this same "
                                 "cross-validation (Fusion(method='auto').fit(P, y) fits its choice); compare "
                                 "one or more of %s" % (m, ", ".join(_COMPARED)))
            mids.append(i)
    marr = (ctypes.c_int * len(mids))(*mids) if mids else None
    h = ctypes.c_void_p()
    st = lib.lf_fusion_create(ctypes.byref(h))
    if st:
        raise LatefuseError("could not create a fusion context: " + _lib.status_string(st), st)
    tp = ctypes.POINTER(_lib.CompareTable)()
    stop = _Cancel()  # Ctrl-C stops the library within a unit of its work
    o.cancel = stop.pointer()
    try:
        tab = _lib.ptr_table(arrs)
        ntab, keep = _lib.name_table(nm, "model name")
        st = stop.run(lambda: lib.lf_fusion_compare(h, tab, ntab, len(arrs), N, C, yy.ctypes.data, marr,
                                                    len(mids) if mids else 0, ctypes.byref(o), ctypes.byref(tp)),
                      "latefuse-compare")
        if stop.cancelled is not None:
            raise stop.cancelled
        if st:
            _raise_fusion(h, st, "compare", nm)
        t = tp.contents
        rows = []
        for r in range(t.n_rows):
            row = t.rows[r]
            d = {"method": row.name.decode("utf-8", "replace"),
                 "kind": _lib.ROW_KIND_NAMES.get(row.kind, str(row.kind)),
                 "calibrated": bool(row.calibrated)}
            for k, mname in enumerate(_lib.METRIC_NAMES):
                d[mname] = float(row.mean[k])
                d[mname + "_std"] = float(row.std[k])
            for i, n in enumerate(nm):
                d["acc_without_" + n] = float(row.acc_without[i]) if row.acc_without else float("nan")
            rows.append(d)
    finally:
        lib.lf_compare_table_free(tp)
        lib.lf_fusion_free(h)
    if as_frame is None or as_frame:
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
            return rows
        return pd.DataFrame(rows)
    return rows


def report(path, P, y, names=None, methods="all", fusion=None, class_names=None, title=None, command=None,
           calibrate=False, folds=5, seed=0, logits=False, epochs=0, modality_dropout=0.5, verbose=0,
           metric="log-loss", ensemble_size=50, bags=1, neighbors=7, features=None, n_jobs=None):
    """Writes one self-contained HTML page (lf_fusion_report; inline SVG and
    CSS, no script) about fusing the outputs P (list of (N, C) arrays) with
    labels y: the compare table of `methods`, reliability diagrams before
    and after calibration, confusion matrices, per-class scores, weights,
    training curves, each model's worth, the data and `command`.  With
    `fusion` (a fitted Fusion, its models in the order of P) the page shows
    its output; without, the table's best method, cross-validated.
    class_names: C names (default: the fusion model's, else 0..C-1).
    features: (N, F) values per row for knora-e, knora-u, ola and lca (as
    in compare), and for a `fusion` fitted with features (required then).
    n_jobs: threads, as compare's.  Returns path.  Ctrl-C stops the library within a unit of its work and
    raises KeyboardInterrupt, leaving no page and no temporary file."""
    arrs, N, C = _prep(P, "report")
    fx = _features(features, N, "report")
    yy = _labels(y, N, C, "report")
    nm = _names(names, len(arrs), "report")
    ro = lib.lf_report_defaults()
    ro.fusion = _options(None, calibrate, folds, seed, logits, epochs, modality_dropout, verbose, "report", metric,
                         ensemble_size, bags, neighbors, n_jobs)
    if fx is not None:
        ro.fusion.features, ro.fusion.n_features = fx.ctypes.data, fx.shape[1]
    mids = None
    if not (methods is None or (isinstance(methods, str) and methods == "all")):
        ms = [methods] if isinstance(methods, str) else list(methods)
        if not ms:
            raise ValueError("report: methods is empty")
        mids = []
        for m in ms:
            i = lib.lf_method_parse(str(m).encode())
            if i < 0:
                raise ValueError("report: unknown method %r: use one of %s" % (m, ", ".join(METHODS)))
            if lib.lf_method_name(i).decode() not in _COMPARED:
                raise ValueError("report: %r is not compared: auto chooses among the methods (pass fusion=, a "
                                 "fitted Fusion(method='auto'), to show its choice); compare one or more of %s"
                                 % (m, ", ".join(_COMPARED)))
            mids.append(i)
    marr = (ctypes.c_int * len(mids))(*mids) if mids else None
    ro.methods = ctypes.cast(marr, ctypes.c_void_p) if marr else None
    ro.n_methods = len(mids) if mids else 0
    if fusion is not None:
        if not isinstance(fusion, Fusion):
            raise TypeError("report: fusion must be a fitted latefuse.Fusion, got %s" % type(fusion).__name__)
        fusion._need_fitted("report")
    ckeep = None
    if class_names is not None:
        cn = [str(c) for c in class_names]
        if len(cn) != C:
            raise ValueError("report: %d class names given for %d classes" % (len(cn), C))
        ctab, ckeep = _lib.name_table(cn, "class name")
        ro.class_names = ctypes.cast(ctab, ctypes.c_void_p)
    for what, text in (("title", title), ("command", command)):
        if text is not None and "\0" in text:  # C would show it cut there
            raise ValueError("report: the %s holds a NUL character: %r" % (what, text))
    ro.title = title.encode("utf-8") if title is not None else None
    ro.command = command.encode("utf-8") if command is not None else None
    h = ctypes.c_void_p()
    st = lib.lf_fusion_create(ctypes.byref(h))
    if st:
        raise LatefuseError("could not create a fusion context: " + _lib.status_string(st), st)
    # Ctrl-C stops the library within a unit of its work, and no page
    # (nor temporary file) is left, as with predict_files
    temps = _TempFiles()
    temp_cb = _lib.TEMP_FN(temps.event)
    ro.temp, ro.fusion.cancel = temp_cb, temps.pointer()
    if fusion is not None:  # the fitted model is read during the call: no refit meanwhile
        fusion._lock.acquire_shared()
        ro.fitted = fusion._handle
    try:
        tab = _lib.ptr_table(arrs)
        ntab, keep = _lib.name_table(nm, "model name")
        pathb = os.fsencode(os.fspath(path))
        st = temps.run(lambda: lib.lf_fusion_report(h, tab, ntab, len(arrs), N, C, yy.ctypes.data, ctypes.byref(ro),
                                                    pathb, 0), "latefuse-report")
        if temps.cancelled is not None:
            raise temps.cancelled
        if st:
            _raise_fusion(h, st, "report", nm)
    finally:
        lib.lf_fusion_free(h)
        if fusion is not None:
            fusion._lock.release_shared()
    del ckeep, marr, fx, temp_cb
    return path
