"""
models.py — latefuse.Model and latefuse.load_model, Keras' functional API
over the C engine.

Why this shape: the graph is recorded in Python by the layer calls
(layers.py); Model(inputs, outputs) walks it from the output, orders the
nodes (the model's inputs first, in the order given, then every other layer
in the order it was called, which is a topological order) and creates the C
model through the builder.  Everything numeric — fit, evaluate, predict,
the weights — lives in the C model; Python only converts arrays and
arguments and turns failures into exceptions:
  - wrong shapes or arguments -> ValueError, raised before any C call;
  - failures reported by the library -> LatefuseError with its message.

Arrays: float32 or float64, C or Fortran order.  A C-contiguous float32
array is passed to the library as it is (no copy); anything else is
converted once to C-contiguous float32, the library's layout.

The GIL: the C calls go through ctypes.CDLL, which releases the GIL for the
length of each foreign call, so fit, evaluate and predict run while other
Python threads keep working.  One model must still be used by one thread at
a time, except predict, which may run on one model from several threads.

Weights use Keras' layout: a Dense kernel is (in, units) — the transpose
of the C library's (units, in) storage, transposed here — and a
WeightedAverage's W is (1, 1, n_inputs) as in the seed.
"""
import ctypes
import json
import os
import struct
import warnings
import weakref

import numpy as np

from . import _lib
from . import layers as L
from . import optimizers as _optimizers
from .callbacks import EarlyStopping
from ._lib import LatefuseError, lib

__all__ = ["Model", "History", "load_model"]

_LOSS_ALIASES = {
    "mse": "mse", "mean_squared_error": "mse", "MSE": "mse",
    "mae": "mae", "mean_absolute_error": "mae", "MAE": "mae",
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
}
_ACC_METRICS = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy",
                "sparse_categorical_accuracy")
_SPARSE = 4
_BINARY = 2


def _enc(s):
    return s.encode("utf-8")


class History:
    """What fit returns: `history` maps 'loss', 'accuracy', 'val_loss',
    'val_accuracy' (only those measured) to per-epoch lists; `epoch` lists
    the epoch numbers run; `stopped_early` and `best_epoch` (0-based) come
    from the library."""

    def __init__(self, history, params, model, best_epoch, stopped_early):
        self.history = history
        self.epoch = list(range(len(history.get("loss", []))))
        self.params = params
        self.model = model
        self.best_epoch = best_epoch
        self.stopped_early = stopped_early

    def __repr__(self):
        return "History(%r)" % (self.history,)

    def plot(self, keys=None, ax=None):
        """Draws the curves of `keys` (default: every series, loss and
        val_loss first) against the epoch on `ax` (default: a new figure)
        with matplotlib, and returns the axes.  matplotlib is not a
        dependency: without it this raises ImportError saying so (the
        numbers are in self.history either way)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib (pip install matplotlib, or apt-get install "
                              "python3-matplotlib); the curves are in History.history") from exc
        keys = list(self.history) if keys is None else list(keys)
        for k in keys:
            if k not in self.history:
                raise KeyError("History.plot: no series %r (there are %s)" % (k, ", ".join(self.history)))
        if ax is None:
            ax = plt.figure().add_subplot(1, 1, 1)
        epochs = [e + 1 for e in self.epoch]
        for k in keys:
            ax.plot(epochs, self.history[k], label=k, linestyle="--" if k.startswith("val_") else "-")
        ax.set_xlabel("epoch")
        ax.set_ylabel(", ".join(keys))
        ax.legend()
        return ax


class Model:
    """Model(inputs, outputs, name=None, seed=None), as keras.Model.

    `seed` (default 0) seeds the C model's generator, which draws the initial
    weights: the same graph and seed give the same weights.  The C model is
    created here; compile() fixes loss and optimizer (compiling again
    rebuilds the C model and keeps the weights)."""

    def __init__(self, inputs=None, outputs=None, name=None, seed=None):
        self._handle = None
        self._graph_init(inputs, outputs, name, seed)
        self._handle, self._ids = self._create_c(None)
        self._c_compiled = False   # the C model is compiled (maybe with placeholders)
        self._compiled = False     # compile() was called by the user
        self.loss = None
        self.optimizer = None
        self.metrics_names = []
        self._acc = False
        self._loss_id = None

    # ------------------------------------------------------------ graph
    def _graph_init(self, inputs, outputs, name, seed):
        if inputs is None or outputs is None:
            raise ValueError("Model needs inputs and outputs: Model(inputs=[...], outputs=out)")
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(outs) != 1:
            raise ValueError("Model: latefuse models have exactly one output, got %d" % len(outs))
        for i, t in enumerate(ins):
            if not isinstance(t, L.KerasTensor) or not isinstance(t.layer, L.InputLayer):
                raise ValueError("Model: inputs[%d] is not a tensor made by latefuse.layers.Input()" % i)
        if len({id(t) for t in ins}) != len(ins):
            raise ValueError("Model: the same Input is listed twice in inputs")
        out = outs[0]
        if not isinstance(out, L.KerasTensor):
            raise ValueError("Model: outputs must be a tensor made by a layer call, got %r"
                             % type(out).__name__)
        if isinstance(out.layer, L.InputLayer):
            raise ValueError("Model: the output is an Input; add at least one layer")
        # ancestors of the output
        seen, stack = {}, [out]
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen[id(t)] = t
            stack.extend(t.inputs)
            stack.extend(v for v in t.extra.values() if v is not None)
        in_ids = {id(t) for t in ins}
        for t in seen.values():
            if isinstance(t.layer, L.InputLayer) and id(t) not in in_ids:
                raise ValueError("Model: graph disconnected: the output depends on input '%s', which "
                                 "is not in inputs" % (t.layer.name or "unnamed Input"))
        rest = sorted((t for t in seen.values() if id(t) not in in_ids), key=lambda t: t._order)
        nodes = ins + rest
        # names: user names first, then Keras-style defaults (dense, dense_1, ...)
        names, used = {}, set()
        for t in nodes:
            un = t.layer._user_name
            if un is not None:
                if un in used:
                    raise ValueError("Model: the layer name '%s' is used twice; layer names must be unique" % un)
                used.add(un)
                names[id(t.layer)] = un
        for t in nodes:
            if id(t.layer) in names:
                continue
            base, k, nm = t.layer.prefix, 0, t.layer.prefix
            while nm in used:
                k += 1
                nm = "%s_%d" % (base, k)
            used.add(nm)
            names[id(t.layer)] = nm
        ref = weakref.ref(self)
        for t in nodes:
            t.layer._model = ref
            t.layer._built_name = names[id(t.layer)]
        self.inputs = ins
        self.outputs = [out]
        self._nodes = nodes
        self._names = names
        self.layers = [t.layer for t in nodes]
        self.name = name or "functional"
        self._seed = 0 if seed is None else int(seed)

    def _create_c(self, compile_spec):
        """A new C model holding the graph; compiled when compile_spec =
        (loss id, lf_optimizer struct).  Returns (handle, {tensor id: node})."""
        h = ctypes.c_void_p()
        st = lib.lf_model_create(ctypes.byref(h), self._seed & 0xFFFFFFFFFFFFFFFF)
        if st:
            raise LatefuseError("could not create a model: " + _lib.status_string(st), st)
        try:
            ids = {}
            for t in self._nodes:
                i = t.layer._build(lib, h, t, ids, _enc(self._names[id(t.layer)]))
                if i < 0:
                    _lib.raise_model(h, 5)
                ids[id(t)] = i
            if compile_spec is not None:
                loss_id, opt = compile_spec
                st = lib.lf_model_compile(h, ids[id(self.outputs[0])], loss_id, ctypes.byref(opt))
                if st:
                    _lib.raise_model(h, st)
        except BaseException:
            lib.lf_model_free(h)
            raise
        return h, ids

    def __del__(self):
        h = getattr(self, "_handle", None)
        if h is not None and lib is not None:
            lib.lf_model_free(h)
            self._handle = None

    def _ensure_c_compiled(self):
        """predict needs a compiled C model; an uncompiled Model is compiled
        in C with placeholders (mse, adam), replaced by compile() later."""
        if not self._c_compiled:
            opt = lib.lf_optimizer_default(1)
            st = lib.lf_model_compile(self._handle, self._ids[id(self.outputs[0])], 0, ctypes.byref(opt))
            if st:
                _lib.raise_model(self._handle, st)
            self._c_compiled = True

    def _copy_weights(self, src, dst):
        for ly in self.layers:
            nm = _enc(self._names[id(ly)])
            for idx in range(lib.lf_layer_num_weights(src, nm)):
                w = self._c_weight(src, nm, idx)
                st = lib.lf_set_weights(dst, nm, idx, w.ctypes.data, w.size)
                if st:
                    _lib.raise_model(dst, st)

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, run_eagerly=None,
                jit_compile=None, steps_per_execution=None, **kwargs):
        """compile(optimizer, loss, metrics=None), as Keras.  optimizer: 'adam',
        'sgd', 'rmsprop' or latefuse.optimizers.Adam/SGD/RMSprop(...); loss:
        'mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy',
        'sparse_categorical_crossentropy'; metrics: ['accuracy'] or none."""
        if kwargs:
            raise ValueError("compile: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        opt = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile: a loss is needed, e.g. loss='mse'")
        if not isinstance(loss, str) or loss not in _LOSS_ALIASES:
            raise ValueError("compile: unknown loss %r: use one of %s" %
                             (loss, ", ".join(sorted(set(_LOSS_ALIASES.values())))))
        loss_id = lib.lf_loss_parse(_enc(_LOSS_ALIASES[loss]))
        acc = False
        for mt in (metrics or []):
            if mt in _ACC_METRICS:
                acc = True
            else:
                raise ValueError("compile: unsupported metric %r: only 'accuracy' is measured" % (mt,))
        spec = (loss_id, opt._struct())
        if self._c_compiled:
            h, ids = self._create_c(spec)
            try:
                self._copy_weights(self._handle, h)
            except BaseException:
                lib.lf_model_free(h)
                raise
            lib.lf_model_free(self._handle)
            self._handle, self._ids = h, ids
        else:
            st = lib.lf_model_compile(self._handle, self._ids[id(self.outputs[0])], loss_id,
                                      ctypes.byref(spec[1]))
            if st:
                _lib.raise_model(self._handle, st)
        self._c_compiled = self._compiled = True
        self.loss, self.optimizer, self._loss_id, self._acc = _LOSS_ALIASES[loss], opt, loss_id, acc
        self.metrics_names = ["loss", "accuracy"] if acc else ["loss"]

    def _need_compiled(self, what):
        if not self._compiled:
            raise RuntimeError("You must compile your model before %s. Use `model.compile(optimizer, loss)`."
                               % what)

    # ------------------------------------------------------------ arrays
    def _xs(self, x, what):
        if isinstance(x, dict):
            names = [self._names[id(t.layer)] for t in self.inputs]
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError("%s: no array for input(s) %s" % (what, ", ".join(missing)))
            x = [x[n] for n in names]
        elif not isinstance(x, (list, tuple)):
            x = [x]
        if len(x) != len(self.inputs):
            raise ValueError("%s: the model has %d input(s) (%s), got %d array(s)" %
                             (what, len(self.inputs),
                              ", ".join(self._names[id(t.layer)] for t in self.inputs), len(x)))
        arrs, n = [], None
        for i, (a, t) in enumerate(zip(x, self.inputs)):
            nm = self._names[id(t.layer)]
            if a is None:
                raise ValueError("%s: input %d ('%s') is None" % (what, i, nm))
            a = _lib.as_f32(a, "%s: input %d ('%s')" % (what, i, nm))
            if a.ndim == 1 and t.dim == 1:
                a = a.reshape(-1, 1)
            if a.ndim > 2 and tuple(a.shape[1:]) == t.sample_shape:  # (N, H, W, C): rows stay row-major
                a = a.reshape(a.shape[0], t.dim)
            if a.ndim != 2 or a.shape[1] != t.dim:
                raise ValueError("%s: input %d ('%s') must have shape (N, %d), got shape %s" %
                                 (what, i, nm, t.dim, tuple(a.shape)))
            if n is not None and a.shape[0] != n:
                raise ValueError("%s: the input arrays have different numbers of rows (%d and %d)"
                                 % (what, n, a.shape[0]))
            n = a.shape[0]
            arrs.append(a)
        return arrs, n

    def _ys(self, y, n, what):
        if y is None:
            raise ValueError("%s: y (the targets) is missing" % what)
        d = self.outputs[0].dim
        cols = 1 if self._loss_id == _SPARSE else d
        a = _lib.as_f32(y, "%s: y" % what)
        if a.ndim == 1 and cols == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape != (n, cols):
            want = "(%d,) or (%d, 1) class indices" % (n, n) if cols == 1 else "(%d, %d)" % (n, cols)
            raise ValueError("%s: y must have shape %s for this model and loss, got shape %s"
                             % (what, want, tuple(a.shape)))
        return a

    def _sw(self, sw, n, what):
        if sw is None:
            return None
        a = _lib.as_f32(sw, "%s: sample_weight" % what)
        if a.shape not in ((n,), (n, 1)):
            raise ValueError("%s: sample_weight must have shape (%d,), got shape %s" % (what, n, tuple(a.shape)))
        return a.reshape(n)

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, seed=0):
        """Trains the model in C (without the GIL); returns a History.

        As Keras: validation_split takes the last fraction of the rows
        before shuffling, validation_data=(x_val, y_val) overrides it,
        callbacks=[EarlyStopping(...)], class_weight={class: weight}.
        `seed` seeds shuffling and dropout: the same seed, data and initial
        weights give bit-identical results.  verbose: 0 silent, 1 progress
        on stderr (a bar when it is a terminal), 2 one line per epoch."""
        self._need_compiled("training")
        xs, n = self._xs(x, "fit")
        if n == 0:
            raise ValueError("fit: no training rows")
        ys = self._ys(y, n, "fit")
        opts = lib.lf_fit_defaults()
        if batch_size is None:
            batch_size = 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError("fit: batch_size must be an integer >= 1, got %r" % (batch_size,))
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError("fit: epochs must be an integer >= 1, got %r" % (epochs,))
        if initial_epoch:
            raise ValueError("fit: initial_epoch is not supported")
        if verbose == "auto":
            verbose = 1
        if verbose not in (0, 1, 2):
            raise ValueError("fit: verbose must be 0, 1, 2 or 'auto'")
        vs = float(validation_split)
        if not 0.0 <= vs < 1.0:
            raise ValueError("fit: validation_split must be in [0, 1), got %r" % (validation_split,))
        opts.batch_size, opts.epochs, opts.shuffle = int(batch_size), int(epochs), int(bool(shuffle))
        opts.validation_split = vs
        if verbose:  # 1: the bar on a terminal; 2 (or not a terminal): a line per epoch
            opts.progress = _lib.progress_printer(verbose == 1 and _lib.stderr_tty())
        opts.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        keep = [xs, ys]
        has_val = vs > 0.0
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            if len(validation_data) == 3 and validation_data[2] is not None:
                raise ValueError("fit: validation sample weights are not supported")
            vx, nv = self._xs(validation_data[0], "fit (validation_data)")
            if nv == 0:
                raise ValueError("fit: validation_data has no rows")
            vy = self._ys(validation_data[1], nv, "fit (validation_data)")
            vtab = _lib.ptr_table(vx)
            keep += [vx, vy, vtab]
            opts.val_x, opts.val_y, opts.val_n = ctypes.cast(vtab, ctypes.c_void_p), vy.ctypes.data, nv
            has_val = True
        sw = self._sw(sample_weight, n, "fit")
        if sw is not None:
            keep.append(sw)
            opts.sample_weight = sw.ctypes.data
        if class_weight is not None:
            d = self.outputs[0].dim
            need = 2 if (self._loss_id == _BINARY and d == 1) else d
            cw = np.ones(need, dtype=np.float32)
            for k, v in dict(class_weight).items():
                if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < need:
                    raise ValueError("fit: class_weight key %r is not a class index in 0..%d" % (k, need - 1))
                cw[int(k)] = v
            keep.append(cw)
            opts.class_weight, opts.n_class_weight = cw.ctypes.data, need
        stops = []
        for cb in (callbacks or []):
            if isinstance(cb, EarlyStopping):
                stops.append(cb)
            else:
                raise ValueError("fit: only latefuse.callbacks.EarlyStopping is supported as a callback "
                                 "(the epochs run inside the C library), got %r" % type(cb).__name__)
        if len(stops) > 1:
            raise ValueError("fit: give at most one EarlyStopping callback")
        if stops:
            es = stops[0]
            if es.monitor == "loss" and has_val:
                raise ValueError("fit: EarlyStopping(monitor='loss') with validation data is not "
                                 "supported: the library monitors val_loss whenever there is validation data")
            if es.monitor == "val_loss" and not has_val:
                warnings.warn("Early stopping conditioned on metric `val_loss` which is not available "
                              "(no validation data): early stopping is off", RuntimeWarning)
            else:
                opts.patience = max(1, es.patience)
                opts.min_delta = es.min_delta
                opts.restore_best_weights = int(es.restore_best_weights)
        tab = _lib.ptr_table(xs)
        st = lib.lf_model_fit(self._handle, tab, ys.ctypes.data, n, ctypes.byref(opts))
        if st:
            _lib.raise_model(self._handle, st)
        hp = lib.lf_model_history(self._handle).contents
        ne = hp.epochs
        series = {}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key.endswith("accuracy") and not self._acc:
                continue
            p = getattr(hp, key)
            vals = [float(p[i]) for i in range(ne)] if p else []
            if vals and not all(np.isnan(vals)):
                series[key] = vals
        if stops:
            stops[0].best_epoch = int(hp.best_epoch)
            stops[0].stopped_epoch = ne - 1 if hp.stopped_early else 0
        params = {"verbose": verbose, "epochs": int(epochs), "steps": -(-n // int(batch_size))}
        return History(series, params, self, int(hp.best_epoch), bool(hp.stopped_early))

    # ------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Loss (with any L2 penalty, dropout off), or [loss, accuracy] when
        compiled with metrics=['accuracy']; a dict with return_dict=True."""
        self._need_compiled("evaluating")
        xs, n = self._xs(x, "evaluate")
        if n == 0:
            raise ValueError("evaluate: no rows")
        ys = self._ys(y, n, "evaluate")
        sw = self._sw(sample_weight, n, "evaluate")
        loss, acc = ctypes.c_double(), ctypes.c_double()
        tab = _lib.ptr_table(xs)
        st = lib.lf_model_evaluate(self._handle, tab, ys.ctypes.data, n, _lib.ptr(sw),
                                   ctypes.byref(loss), ctypes.byref(acc))
        if st:
            _lib.raise_model(self._handle, st)
        if return_dict:
            d = {"loss": loss.value}
            if self._acc:
                d["accuracy"] = acc.value
            return d
        return [loss.value, acc.value] if self._acc else loss.value

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """Outputs for every row, (N, output_dim) float32; dropout is off.
        Runs in C without the GIL and may be called from several threads."""
        xs, n = self._xs(x, "predict")
        self._ensure_c_compiled()
        out = np.empty((n, self.outputs[0].dim), dtype=np.float32)
        if n == 0:
            return out
        tab = _lib.ptr_table(xs)
        st = lib.lf_model_predict(self._handle, tab, n, out.ctypes.data)
        if st:
            raise LatefuseError("predict: " + _lib.status_string(st), st, _lib.status_string(st))
        return out

    __call__ = predict

    # ------------------------------------------------------------ weights
    def _c_weight(self, h, nm, idx):
        shape = (ctypes.c_size_t * 2)()
        count = ctypes.c_size_t()
        st = lib.lf_layer_weight_shape(h, nm, idx, shape, ctypes.byref(count))
        if st:
            _lib.raise_model(h, st)
        w = np.empty((shape[0], shape[1]), dtype=np.float32)
        st = lib.lf_get_weights(h, nm, idx, w.ctypes.data, count.value)
        if st:
            _lib.raise_model(h, st)
        return w

    @staticmethod
    def _keras_shape(ly, idx, cshape):
        r, c = cshape
        if hasattr(ly, "_weight_shapes"):
            return ly._weight_shapes()[idx]
        if isinstance(ly, L.Dense):
            return (c, r) if idx == 0 else (r,)
        if isinstance(ly, L.ClassWeightedAverage):
            return (1, c, r)
        return (1, 1, r)

    def _layer_weights(self, ly):
        if ly._owner() is not self:
            return ly.get_weights()
        nm = _enc(self._names[id(ly)])
        out = []
        for idx in range(lib.lf_layer_num_weights(self._handle, nm)):
            w = self._c_weight(self._handle, nm, idx)
            if hasattr(ly, "_weight_shapes"):
                w = w.reshape(ly._weight_shapes()[idx])
            elif isinstance(ly, L.Dense):
                w = np.ascontiguousarray(w.T) if idx == 0 else w.reshape(-1)
            elif isinstance(ly, L.ClassWeightedAverage):
                w = np.ascontiguousarray(w.T).reshape(1, w.shape[1], w.shape[0])
            else:
                w = w.reshape(1, 1, -1)
            out.append(w)
        return out

    def _prepare_layer(self, ly, weights, what):
        nm = _enc(self._names[id(ly)])
        nw = lib.lf_layer_num_weights(self._handle, nm)
        weights = list(weights)
        if len(weights) != nw:
            raise ValueError("%s: layer '%s' has %d weight array(s), got %d" %
                             (what, self._names[id(ly)], nw, len(weights)))
        prepared = []
        for idx, w in enumerate(weights):
            shape = (ctypes.c_size_t * 2)()
            count = ctypes.c_size_t()
            st = lib.lf_layer_weight_shape(self._handle, nm, idx, shape, ctypes.byref(count))
            if st:
                _lib.raise_model(self._handle, st)
            ks = self._keras_shape(ly, idx, (shape[0], shape[1]))
            a = np.asarray(w)
            if tuple(a.shape) != ks:
                raise ValueError("%s: layer '%s' weight %d must have shape %s, got shape %s" %
                                 (what, self._names[id(ly)], idx, ks, tuple(a.shape)))
            a = _lib.as_f32(a, "%s: layer '%s' weight %d" % (what, self._names[id(ly)], idx))
            if isinstance(ly, L.Dense) and idx == 0:
                a = np.ascontiguousarray(a.T)
            elif isinstance(ly, L.ClassWeightedAverage):
                a = np.ascontiguousarray(a.reshape(ks[1], ks[2]).T)
            prepared.append((nm, idx, a))
        return prepared

    def _apply(self, prepared):
        for nm, idx, a in prepared:
            st = lib.lf_set_weights(self._handle, nm, idx, a.ctypes.data, a.size)
            if st:
                _lib.raise_model(self._handle, st)

    def _set_layer_weights(self, ly, weights):
        if ly._owner() is not self:
            return ly.set_weights(weights)
        self._apply(self._prepare_layer(ly, weights, "set_weights"))

    def get_weights(self):
        """Every weight array in layer order, Keras' layout: Dense kernel
        (in, units) (the C library stores (units, in); transposed here),
        Dense bias (units,), WeightedAverage W (1, 1, n_inputs),
        ClassWeightedAverage W (1, features, n_inputs)."""
        return [w for ly in self.layers for w in self._layer_weights(ly)]

    def set_weights(self, weights):
        """Sets every weight array, in the order and layout of get_weights().
        All shapes are checked before any weight changes."""
        weights = list(weights)
        counts = [lib.lf_layer_num_weights(self._handle, _enc(self._names[id(ly)])) for ly in self.layers]
        if len(weights) != sum(counts):
            raise ValueError("set_weights: the model has %d weight arrays, got %d" % (sum(counts), len(weights)))
        prepared, k = [], 0
        for ly, c in zip(self.layers, counts):
            prepared += self._prepare_layer(ly, weights[k:k + c], "set_weights")
            k += c
        self._apply(prepared)

    @property
    def weights(self):
        return self.get_weights()

    def get_layer(self, name=None, index=None):
        """The layer with this name (or at this index of model.layers)."""
        if index is not None:
            return self.layers[index]
        for ly in self.layers:
            if self._names[id(ly)] == name:
                return ly
        raise ValueError("No such layer: %s. Existing layers are: %s" %
                         (name, ", ".join(self._names[id(ly)] for ly in self.layers)))

    def count_params(self):
        return int(lib.lf_model_num_params(self._handle))

    @property
    def input_shape(self):
        s = [t.shape for t in self.inputs]
        return s[0] if len(s) == 1 else s

    @property
    def output_shape(self):
        return self.outputs[0].shape

    # ------------------------------------------------------------ summary, save
    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        """Prints the C library's table (lf_model_summary): layer (type),
        output shape, parameters, inputs, totals."""
        text = _summary_text(self._handle)
        (print_fn or print)(text.rstrip("\n"))

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Saves architecture and weights (and the optimizer state of a
        compiled model when include_optimizer) to one safetensors file,
        written atomically.  latefuse.load_model reads it back."""
        path = os.fspath(filepath)
        if not overwrite and os.path.exists(path):
            raise FileExistsError("save: '%s' exists and overwrite=False" % path)
        if self._compiled:
            st = lib.lf_model_save(self._handle, os.fsencode(path), _lib.SAVE_OPTIMIZER if include_optimizer else 0)
            if st:
                _lib.raise_model(self._handle, st)
            return
        h, _ = self._create_c(None)  # uncompiled copy: the file must not claim a loss
        try:
            self._copy_weights(self._handle, h)
            st = lib.lf_model_save(h, os.fsencode(path), 0)
            if st:
                _lib.raise_model(h, st)
        finally:
            lib.lf_model_free(h)

    def __repr__(self):
        return "<latefuse.Model '%s': %d layers, %d params>" % (self.name, len(self.layers),
                                                             self.count_params())


def _libc():
    c = ctypes.CDLL(None)
    c.open_memstream.restype = ctypes.c_void_p
    c.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
    c.fclose.argtypes = [ctypes.c_void_p]
    c.fclose.restype = ctypes.c_int
    c.free.argtypes = [ctypes.c_void_p]
    c.free.restype = None
    return c


_LIBC = None


def _summary_text(handle):
    """lf_model_summary into a memory stream (open_memstream), as text."""
    global _LIBC
    if _LIBC is None:
        _LIBC = _libc()
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    fp = _LIBC.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not fp:
        raise LatefuseError("summary: open_memstream failed")
    st = lib.lf_model_summary(handle, fp)
    _LIBC.fclose(fp)
    try:
        text = ctypes.string_at(buf.value, size.value).decode("utf-8", "replace") if buf.value else ""
    finally:
        _LIBC.free(buf)
    if st:
        _lib.raise_model(handle, st)
    return text


# ---------------------------------------------------------------- loading

def _read_architecture(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
    return json.loads(header["__metadata__"]["architecture"])


def _optimizer_from(d):
    name = d.get("name", "adam")
    ema = {"use_ema": d.get("use_ema", False), "ema_momentum": d.get("ema_momentum", 0.99)}
    if name == "sgd":
        return _optimizers.SGD(d["learning_rate"], d.get("momentum", 0.0), d.get("nesterov", False),
                               **ema)
    if name == "rmsprop":
        return _optimizers.RMSprop(d["learning_rate"], d.get("rho", 0.9), d.get("momentum", 0.0),
                                   d.get("epsilon", 1e-7), **ema)
    return _optimizers.Adam(d["learning_rate"], d.get("beta_1", 0.9), d.get("beta_2", 0.999),
                            d.get("epsilon", 1e-7), **ema)


def load_model(filepath, compile=True, seed=0):
    """Loads a model saved by Model.save (or the C library / CLI).  The file
    is validated completely by the library; a compiled model comes back
    compiled with its loss, optimizer and (if saved) optimizer state.  The
    metrics are not stored: pass compile=False and compile again to set
    them."""
    path = os.fspath(filepath)
    h = ctypes.c_void_p()
    st = lib.lf_model_create(ctypes.byref(h), int(seed) & 0xFFFFFFFFFFFFFFFF)
    if st:
        raise LatefuseError("could not create a model: " + _lib.status_string(st), st)
    owned = False
    try:
        st = lib.lf_model_load(h, os.fsencode(path))
        if st:
            _lib.raise_model(h, st)
        arch = _read_architecture(path)
        tensors, inputs = {}, []
        for spec in arch["layers"]:
            nm, kind = spec["name"], spec["type"]
            if kind == "InputLayer":
                t = L.Input(tuple(spec.get("shape") or (int(spec["dim"]),)), name=nm,
                            dtype=spec.get("dtype", "float32"))
                inputs.append(t)
            else:
                ins = [tensors[s] for s in spec.get("inbound", [])]
                cls = L.Layer._types.get(kind)
                if cls is None:  # pragma: no cover - the library rejects unknown types
                    raise LatefuseError("load_model: unknown layer type '%s'" % kind)
                t = cls._load(spec, ins, tensors)
            tensors[nm] = t
        out = tensors[arch["output"]] if "output" in arch else tensors[arch["layers"][-1]["name"]]
        m = Model.__new__(Model)
        m._handle = None
        m._graph_init(inputs, out, None, seed)
        m._handle, owned = h, True
        m._ids = {id(t): lib.lf_node_find(h, _enc(m._names[id(t.layer)])) for t in m._nodes}
        m._c_compiled = "output" in arch
        m._compiled = bool(compile) and m._c_compiled
        m.loss = arch.get("loss") if m._compiled else None
        m._loss_id = lib.lf_loss_parse(_enc(arch["loss"])) if m._c_compiled else None
        m.optimizer = _optimizer_from(arch.get("optimizer", {})) if m._compiled else None
        m._acc = False
        m.metrics_names = ["loss"] if m._compiled else []
        return m
    except BaseException:
        if not owned:
            lib.lf_model_free(h)
        raise
