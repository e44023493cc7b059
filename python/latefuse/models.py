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
converted once to C-contiguous float32, the library's layout, except
uint8 arrays (pixels) and integer arrays for an int32 Input (token ids),
which go to the library as uint8 / int32 (lf_typed_array).

Several outputs: Model(inputs, [out_1, out_2, ...]) with
compile(loss=..., loss_weights=[...]) (a list, or a dict by output layer
name); fit and evaluate take one target array per output (a list or a dict
by name), predict returns a list; the training loss is
sum_k loss_weight_k * loss_k, as Keras.

The GIL: the C calls go through ctypes.CDLL, which releases the GIL for the
length of each foreign call, so fit, evaluate and predict run while other
Python threads keep working.  One model must still be used by one thread at
a time, except predict, which may run on one model from several threads.

Weights use Keras' layout: a Dense kernel is (in, units) — the transpose
of the C library's (units, in) storage, transposed here — and a
WeightedAverage's W is (1, 1, n_inputs) as in the seed.
"""
import ctypes
import itertools
import json
import math
import numbers
import os
import re
import tempfile
import struct
import textwrap
import warnings

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._cancel import _Cancel
from . import layers as L
from . import optimizers as _optimizers
from . import schedules as _schedules
from .schedules import _rate as schedules_rate
from . import callbacks as _callbacks
from . import losses as _losses
from . import metrics as _metrics
from .callbacks import _ACC_NAMES, Callback, EarlyStopping
from ._lib import LatefuseError, lib

__all__ = ["Model", "Sequential", "History", "load_model", "save_model", "model_from_json", "clone_model"]

_lib._proto("lf_share_weights", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int)
_lib._proto("lf_initialize", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_int)
_lib._proto("lf_initializer_parse", ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_model_attach_textvec", ctypes.c_int, _lib._P, ctypes.c_int, _lib._P)
_lib._proto("lf_model_textvec", _lib._P, _lib._P, ctypes.c_int)
_lib._proto("lf_model_attach_lookup", ctypes.c_int, _lib._P, ctypes.c_int, _lib._P)
_lib._proto("lf_model_lookup", _lib._P, _lib._P, ctypes.c_int)

_LOSS_ALIASES = {
    "mse": "mse", "mean_squared_error": "mse", "MSE": "mse",
    "mae": "mae", "mean_absolute_error": "mae", "MAE": "mae",
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
}
# metrics measured in Python from the predictions (Keras' names)
_VALUE_METRICS = {"mae": "mae", "mean_absolute_error": "mae", "MAE": "mae",
                  "mse": "mse", "mean_squared_error": "mse", "MSE": "mse", "AUC": "auc", "auc": "auc"}
_SPARSE = 4
_NONE = 5  # LF_LOSS_NONE: Keras' loss=None for one output of several
_BINARY = 2
_LOSS_NAMES = ("mse", "mae", "binary_crossentropy", "categorical_crossentropy",  # lf_loss's order
               "sparse_categorical_crossentropy")


def _check_shape(h, node, t):
    """The engine's per-sample shape of the node just built for tensor t
    must be the one Python computed (the arrays predict and the eager calls
    allocate are sized by Python's): a disagreement is a bug, raised here
    instead of writing past a buffer."""
    dims = (ctypes.c_size_t * 8)()
    rank = lib.lf_node_shape(h, node, dims)
    got = tuple(dims[k] for k in range(rank))
    if got != tuple(t.sample_shape):
        raise LatefuseError("internal error: layer '%s' (%s): the engine's output shape %s differs from "
                            "Python's %s; please report it" % (t.layer.name, type(t.layer).__name__,
                                                                 (None,) + got, (None,) + tuple(t.sample_shape)), 5)


def _enc(s):
    return s.encode("utf-8")


# keras/src/trainers/epoch_iterator.py's _interrupted_warning, word for word
_RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
            "generate at least `steps_per_epoch * epochs` batches. You may need to use the `.repeat()` function "
            "when building your dataset.")


# the accuracies of one kind (Keras' BinaryAccuracy, CategoricalAccuracy,
# SparseCategoricalAccuracy: keras/src/metrics/accuracy_metrics.py) and the
# loss whose labels they read; 'accuracy' / 'acc' follow the loss
_ACC_KIND_LOSS = {"binary_accuracy": ("binary_crossentropy", _BINARY),
                  "categorical_accuracy": ("categorical_crossentropy", _BINARY + 1),
                  "sparse_categorical_accuracy": ("sparse_categorical_crossentropy", _SPARSE)}


def _check_accuracy_kind(mt, loss_id, what):
    """An accuracy of one kind on an output of another crossentropy is
    refused: the library counts the accuracy the loss's labels give, which
    is not the one asked (Keras' BinaryAccuracy on a softmax output
    thresholds each unit at 0.5)"""
    if not isinstance(mt, str):
        return
    kind = getattr(mt, "kind", None) or mt  # a latefuse.metrics accuracy's name carries its class's kind
    want = _ACC_KIND_LOSS.get(kind)
    if want is not None and loss_id >= _BINARY and loss_id != want[1]:
        label = repr(str(mt)) + (" (%s)" % kind if kind != mt else "")
        raise ValueError("compile: %s %s needs the loss %r; this output's loss is %r: use 'accuracy', which "
                         "follows the loss" % (what, label, want[0], _LOSS_NAMES[loss_id]))


def _as_given(metrics):
    """A copy of compile's metrics or weighted_metrics as given: a dict by
    output stays a dict (list() would keep its keys alone), else a list"""
    return dict(metrics) if isinstance(metrics, dict) else list(metrics or [])


def _metric_names(metrics):
    """compile's metrics with latefuse.metrics objects as their names
    (Keras' history keys), in the same structure (a list, nested lists or a
    dict by output)"""
    if isinstance(metrics, dict):
        return {k: _metric_names(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return type(metrics)(_metric_names(v) for v in metrics)
    return _metrics.get(metrics)


class History:
    """What fit returns: `history` maps 'loss', 'accuracy', 'val_loss',
    'val_accuracy' (only those measured) to per-epoch lists; `epoch` lists
    the epoch numbers run (from fit's initial_epoch), and a val_ list holds
    the validated epochs' values only (validation_freq), as Keras';
    `stopped_early` and `best_epoch` (0-based) come from the library."""

    def __init__(self, history, params, model, best_epoch, stopped_early, epoch=None, val_epochs=None):
        self.history = history
        self.epoch = list(range(len(history.get("loss", [])))) if epoch is None else list(epoch)
        self._val_epochs = list(self.epoch) if val_epochs is None else list(val_epochs)
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
        for k in keys:  # a val_ series (validation_freq): at the validated epochs
            at = self._val_epochs if k.startswith("val_") and len(self.history[k]) != len(self.epoch) else self.epoch
            ax.plot([e + 1 for e in at], self.history[k], label=k, linestyle="--" if k.startswith("val_") else "-")
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

    def __init__(self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None,
                 seed: Optional[int] = None, trainable: Optional[bool] = None) -> None:
        self._handle = None
        self._graph_init(inputs, outputs, name, seed)
        self._handle, self._ids = self._create_c(None)
        self._adopt()
        if trainable is not None:  # Keras' Functional(trainable=...): model.trainable = trainable
            self.trainable = trainable
        self._c_compiled = False   # the C model is compiled (maybe with placeholders)
        self._compiled = False     # compile() was called by the user
        self.loss = None
        self.optimizer = None
        self.stop_training = False  # a callback sets it to end fit after the epoch (Keras')
        self.metrics_names = []
        self._acc = []  # one output: the accuracy names compile's metrics gave ('accuracy', 'acc', ...)
        self._acc_out = []  # per output: the accuracy names asked of it (several outputs)
        self._metrics = []
        self._metric_args = []     # compile's metrics, as given (pickle and a Sequential's add compile again)
        self._wmetrics = []        # compile's weighted_metrics: [(history key, kind)]
        self._wmetric_args = []    # compile's weighted_metrics, as given
        self._loss_id = None
        self._loss_ids = None
        self.loss_weights = None

    # ------------------------------------------------------------ graph
    def _graph_init(self, inputs, outputs, name, seed):
        if inputs is None or outputs is None:
            raise ValueError("Model needs inputs and outputs: Model(inputs=[...], outputs=out)")
        if isinstance(outputs, dict):
            raise ValueError("Model: outputs given as a dict are not supported: give a list, "
                             "Model(inputs, [%s]), and name each output's layer; compile's loss and "
                             "loss_weights, fit's y and evaluate's y then take dicts by those layer names"
                             % ", ".join(map(str, outputs)))
        self._in_keys = None  # inputs given as a dict: its keys, in the order of self.inputs
        if isinstance(inputs, dict):  # as Keras 3: the tensors in the order of the sorted keys
            for k, v in inputs.items():
                if not isinstance(k, str):
                    raise ValueError("Model: the keys of an inputs dict must be strings, got %r" % (k,))
                if isinstance(v, L.KerasTensor) and k != v.layer.name:
                    warnings.warn("When providing `inputs` as a dict, all keys in the dict must match the names "
                                  "of the corresponding tensors. Received key '%s' mapping to an Input named %r: "
                                  "x is read by the key" % (k, v.layer.name))
            self._in_keys = sorted(inputs)
            self._in_keys_given = list(inputs)
            inputs = [inputs[k] for k in self._in_keys]
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if not outs:
            raise ValueError("Model: give at least one output")
        for i, t in enumerate(ins):
            if not isinstance(t, L.KerasTensor) or not isinstance(t.layer, L.InputLayer):
                raise ValueError("Model: inputs[%d] is not a tensor made by latefuse.layers.Input()" % i)
            if getattr(t.layer, "_vectorized", None) is not None:
                ins[i] = t.layer._vectorized  # the model's input is what its TextVectorization or lookup makes
            elif t.layer.dtype == "string":
                raise ValueError("Model: inputs[%d] is a string input that no TextVectorization or StringLookup "
                                 "is called on" % i)
        # inputs fed by a TextVectorization or a lookup: {position: the preprocessing object}
        self._tv = {i: t.layer._text[1] for i, t in enumerate(ins) if getattr(t.layer, "_text", None)}
        if len({id(t) for t in ins}) != len(ins):
            raise ValueError("Model: the same Input is listed twice in inputs")
        for out in outs:
            if not isinstance(out, L.KerasTensor):
                raise ValueError("Model: outputs must be a tensor made by a layer call, got %r"
                                 % type(out).__name__)
            if isinstance(out.layer, L.InputLayer):
                raise ValueError("Model: the output is an Input; add at least one layer")
        if len({id(t) for t in outs}) != len(outs):
            raise ValueError("Model: the same tensor is listed twice in outputs")
        # ancestors of the outputs
        seen, stack = {}, list(outs)
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
        # the layers, each once (a layer called again is shared), in the
        # order of their first node here
        first, layers = {}, []
        for t in nodes:
            if id(t.layer) not in first:
                first[id(t.layer)] = t
                layers.append(t.layer)
        # names: user names first, then names the layers got in earlier
        # models, then Keras-style defaults (dense, dense_1, ...)
        names, used = {}, set()
        for ly in layers:
            un = ly._user_name
            if un is not None:
                if un in used:
                    raise ValueError("Model: the layer name '%s' is used twice; layer names must be unique" % un)
                used.add(un)
                names[id(ly)] = un
        for ly in layers:
            if id(ly) not in names and ly._built_name is not None and ly._built_name not in used:
                used.add(ly._built_name)
                names[id(ly)] = ly._built_name
        for ly in layers:
            if id(ly) in names:
                continue
            base, k, nm = ly.prefix, 0, ly.prefix
            while nm in used:
                k += 1
                nm = "%s_%d" % (base, k)
            used.add(nm)
            names[id(ly)] = nm
        # a node that calls a layer again: "<layer>.<k>" (or its name in the
        # model file it was loaded from)
        node_names, calls = {}, {}
        for t in nodes:
            ly = t.layer
            if t._view is not None:  # output k of a call of several: "<its node>.out<k>" (lf_output_view)
                nm = getattr(t, "_node_name", None)
                base = node_names[id(t.inputs[0])]
                nm = nm or "%s.out%d" % (base, t._view)
                if nm in used or len(nm) > 63:
                    nm = next("output_view_%d" % i for i in itertools.count() if "output_view_%d" % i not in used)
                used.add(nm)
                node_names[id(t)] = nm
                continue
            if first[id(ly)] is t:
                node_names[id(t)] = names[id(ly)]
                continue
            nm = getattr(t, "_node_name", None)
            while nm is None or nm in used:
                calls[id(ly)] = calls.get(id(ly), 0) + 1
                suffix = ".%d" % calls[id(ly)]
                nm = names[id(ly)][:63 - len(suffix)] + suffix
            used.add(nm)
            node_names[id(t)] = nm
        for ly in layers:
            if ly._built_name is None:
                ly._built_name = names[id(ly)]
        self.inputs = ins
        self.outputs = outs
        self._nodes = nodes
        self._names = names
        self._node_names = node_names
        self._first = first
        self._layers = _keras_layer_order(ins, outs, layers)
        self.name = name or "functional"
        self._seed = 0 if seed is None else int(seed)
        self._have = {}

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
                if t._view is not None:  # output k of a node of several
                    i = lib.lf_output_view(h, ids[id(t.inputs[0])], t._view, _enc(self._node_names[id(t)]))
                    if i < 0:
                        _lib.raise_model(h, 5)
                    ids[id(t)] = i
                    continue
                i = t.layer._build(lib, h, t, ids, _enc(self._node_names[id(t)]))
                if i < 0:
                    _lib.raise_model(h, 5)
                _check_shape(h, i, t)
                owner = self._first[id(t.layer)]
                if owner is not t:  # the layer called again: its weights are the first node's
                    st = lib.lf_share_weights(h, i, ids[id(owner)])
                    if st:
                        _lib.raise_model(h, st)
                else:
                    for idx, init in t.layer._initializers():
                        st = lib.lf_initialize(h, i, idx, lib.lf_initializer_parse(_enc(init)))
                        if st:
                            _lib.raise_model(h, st)
                ids[id(t)] = i
                if not t.layer.trainable:
                    lib.lf_set_trainable(h, i, 0)
            self._attach_texts(h, ids)
            if compile_spec is not None:
                self._compile_c(h, ids, compile_spec)
        except BaseException:
            lib.lf_model_free(h)
            raise
        return h, ids

    def _attach_texts(self, h, ids):
        """Gives the C model h a copy of each input's TextVectorization or
        lookup (as it is now: save() attaches again, so the file has the
        current one)."""
        from .lookup import _IndexLookup
        for k, tv in self._tv.items():
            attach = lib.lf_model_attach_lookup if isinstance(tv, _IndexLookup) else lib.lf_model_attach_textvec
            st = attach(h, ids[id(self.inputs[k])], tv._h)
            if st:
                _lib.raise_model(h, st)

    def __del__(self):
        h = getattr(self, "_handle", None)
        if h is not None and lib is not None:
            lib.lf_model_free(h)
            self._handle = None

    def _compile_c(self, h, ids, spec):
        """Compiles the C model h with spec = (loss ids, loss weights,
        lf_optimizer struct[, from_logits flags]), one loss and weight (and
        flag) per output."""
        loss_ids, weights, opt = spec[:3]
        k = len(self.outputs)
        outs = (ctypes.c_int * k)(*[ids[id(t)] for t in self.outputs])
        ls = (ctypes.c_int * k)(*loss_ids)
        ws = (ctypes.c_float * k)(*weights)
        st = lib.lf_model_compile_outputs(h, k, outs, ls, ws, ctypes.byref(opt))
        for i, on in enumerate(spec[3] if len(spec) > 3 else []):
            if st == 0 and on:
                st = lib.lf_model_set_from_logits(h, i, 1)
        if st:
            _lib.raise_model(h, st)

    def _ensure_c_compiled(self):
        """predict needs a compiled C model; an uncompiled Model is compiled
        in C with placeholders (mse, adam), replaced by compile() later."""
        if not self._c_compiled:
            k = len(self.outputs)
            self._compile_c(self._handle, self._ids, ([0] * k, [1.0] * k, lib.lf_optimizer_default(1)))
            self._c_compiled = True

    def _apply_trainable(self, ly):
        """layer.trainable changed: the C model's flag follows."""
        if self._handle is not None and ly in self._layers:
            node = lib.lf_node_find(self._handle, _enc(self._names[id(ly)]))
            st = lib.lf_set_trainable(self._handle, node, 0 if not ly.trainable else 1)
            if st:
                _lib.raise_model(self._handle, st)

    @property
    def layers(self) -> List[Any]:
        """The model's layers, each once, in Keras 3's order (the order of
        get_weights()): deepest first, by the number of calls between a
        layer and the outputs, InputLayers included (_keras_layer_order).
        A TimeDistributed is one layer, as Keras' (its `.layer` the wrapped
        one): the layers run on its steps are not listed."""
        hidden = self._on_steps()[0]
        return [ly for ly in self._layers if id(ly) not in hidden]

    def _on_steps(self):
        """The layers the C graph runs on TimeDistributed steps (its
        TimeDistributedInput and the wrapped layers), which Keras keeps
        inside the wrapper: (their ids, {TimeDistributed call's id: the
        call's steps tensor and the tensors on its steps})."""
        calls, on = {}, set()
        for t in self._nodes:
            if t._view is not None or not isinstance(t.layer, L.TimeDistributed):
                continue
            steps, seen, stack = None, [], [t.inputs[0]]
            while stack:
                x = stack.pop()
                if any(x is v for v in seen):
                    continue
                seen.append(x)
                if isinstance(x.layer, L._TimeSteps):
                    steps = x
                    continue
                stack.extend(x.inputs)
                stack.extend(v for v in x.extra.values() if v is not None)
            calls[id(t)] = (steps, seen)
            on |= {id(x) for x in seen}
        hidden = {id(t.layer) for t in self._nodes if id(t) in on}
        hidden -= {id(t.layer) for t in self._nodes if id(t) not in on}  # a layer also called off the steps
        return hidden, calls

    def _trainable_layers(self):
        return self._layers

    @property
    def trainable(self):
        """False when every layer is frozen; setting it sets every layer's
        trainable (Keras' model.trainable)."""
        return any(ly.trainable for ly in self._trainable_layers())

    @trainable.setter
    def trainable(self, value):
        for ly in self._trainable_layers():
            ly.trainable = value

    def _output_names(self):
        return [self._names[id(t.layer)] for t in self.outputs]

    def _per_output(self, value, what, default=None):
        """A compile argument given once, as a list (one per output) or as a
        dict by output layer name, as a list of one value per output."""
        names, k = self._output_names(), len(self.outputs)
        if isinstance(value, dict):
            unknown = [n for n in value if n not in names]
            if unknown:
                raise ValueError("compile: %s names %s, which is not an output (the outputs are %s)"
                                 % (what, ", ".join(map(str, unknown)), ", ".join(names)))
            missing = [n for n in names if n not in value]
            if missing and default is None:
                raise ValueError("compile: %s gives nothing for output(s) %s" % (what, ", ".join(missing)))
            return [value.get(n, default) for n in names]
        if isinstance(value, (list, tuple)):
            if len(value) != k:
                raise ValueError("compile: %s has %d entries; the model has %d output(s) (%s)"
                                 % (what, len(value), k, ", ".join(names)))
            return list(value)
        return [value] * k

    # ------------------------------------------------------------ shared weights
    # A layer has one set of weights however many Models hold it.  The
    # layer's _holder is the Model whose C model has its current values and
    # _version counts their changes; self._have[id(layer)] is the version
    # this model's C model holds.  Reads (predict, evaluate, get_weights,
    # save) first copy the layers this model holds stale from their holder
    # (_sync); changes (fit, set_weights) then make this model the holder
    # (_touch).
    def _adopt(self):
        for ly in self._layers:
            if ly._holder is None:
                ly._holder = self
                self._have[id(ly)] = ly._version
        self._sync()

    def _sync(self, layers=None):
        for ly in (self._layers if layers is None else layers):
            v = ly._version
            if self._have.get(id(ly)) == v:
                continue
            src = ly._holder
            if src is not None and src is not self:
                self._copy_layer(src._handle, src._names[id(ly)], self._handle, self._names[id(ly)])
            self._have[id(ly)] = v

    def _touch(self, layers=None):
        for ly in (self._layers if layers is None else layers):
            ly._version += 1
            ly._holder = self
            self._have[id(ly)] = ly._version

    def _copy_layer(self, src, src_name, dst, dst_name):
        """Every weight array of one layer, from the C model src (where it
        is named src_name) into the C model dst (named dst_name there)."""
        sn, dn = _enc(src_name), _enc(dst_name)
        for idx in range(lib.lf_layer_num_weights(src, sn)):
            w = self._c_weight(src, sn, idx)
            st = lib.lf_set_weights(dst, dn, idx, w.ctypes.data, w.size)
            if st:
                _lib.raise_model(dst, st)

    def _copy_weights(self, src, dst):
        for ly in self._layers:
            self._copy_layer(src, self._names[id(ly)], dst, self._names[id(ly)])

    # ------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Optional[str] = None,
                metrics: Optional[Sequence[str]] = None, run_eagerly: Any = None, jit_compile: Any = None,
                steps_per_execution: Any = None, weighted_metrics: Optional[Sequence[str]] = None,
                **kwargs) -> None:
        """compile(optimizer, loss, metrics=None, weighted_metrics=None), as
        Keras.  optimizer: a name ('adam', 'sgd', 'rmsprop', 'adamw',
        'adagrad', 'adamax', 'nadam', 'adadelta', 'lion') or
        latefuse.optimizers.Adam/SGD/RMSprop/...(...); loss: 'mse', 'mae',
        'binary_crossentropy', 'categorical_crossentropy',
        'sparse_categorical_crossentropy'; metrics: a list of 'accuracy' (or
        'acc', 'binary_accuracy', 'categorical_accuracy',
        'sparse_categorical_accuracy'), 'mae' ('mean_absolute_error'), 'mse'
        ('mean_squared_error'), 'AUC'; history and evaluate use the names
        given (<output>_<name> with several outputs, whose metrics may be
        a dict by output or one entry per output, as Keras 3).  metrics
        count every row the same; weighted_metrics (the same names and
        forms; an accuracy needs a crossentropy loss) weigh the rows by sample_weight
        (in fit: the training rows by their sample and class weights, the
        validation_split rows by their sample weights, validation_data's
        by its third element, else 1), under the name given, or 'weighted_<name>' when
        metrics= has that name, as Keras; they come after the metrics in
        evaluate (several outputs: evaluate's list is loss, the
        <output>_loss keys, then the other keys sorted, as Keras 3).  loss and loss_weights: one per output, as Keras; an
        output's loss None (several outputs) leaves it untrained by a loss
        of its own, its targets not needed and no <output>_loss key (as
        Keras 3's CompileLoss)."""
        loss_weights = kwargs.pop("loss_weights", None)
        if kwargs:
            raise ValueError("compile: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        opt = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile: a loss is needed, e.g. loss='mse'")
        losses = self._per_output(loss, "loss")
        if all(ls is None for ls in losses):
            raise ValueError("compile: every output's loss is None: give at least one output a loss")
        # None for an output (Keras 3's CompileLoss skips it, keras/src/trainers/compile_utils.py): untrained
        # by a loss of its own, no target needed, no <output>_loss key
        losses, from_logits = [list(v) for v in zip(*((None, False) if ls is None else _losses.get(ls)
                                                      for ls in losses))]
        for ls in losses:
            if ls is not None and (not isinstance(ls, str) or ls not in _LOSS_ALIASES):
                raise ValueError("compile: unknown loss %r: use one of %s" %
                                 (ls, ", ".join(sorted(set(_LOSS_ALIASES.values())))))
        loss_ids = [_NONE if ls is None else lib.lf_loss_parse(_enc(_LOSS_ALIASES[ls])) for ls in losses]
        weights = self._per_output(1.0 if loss_weights is None else loss_weights, "loss_weights", 1.0)
        for w in weights:
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or \
                    not np.isfinite(w) or w < 0:
                raise ValueError("compile: loss weights must be finite numbers >= 0, got %r" % (w,))
        weights = [float(w) for w in weights]
        metrics, weighted_metrics = _metric_names(metrics), _metric_names(weighted_metrics)
        acc_out, extra = self._parse_metrics(metrics, loss_ids)
        if any(acc_out) and all(not _BINARY <= lid <= _SPARSE for lid in loss_ids):  # the library measures none: NaN, quietly
            raise ValueError("compile: metric 'accuracy' needs a crossentropy loss (binary, categorical or sparse "
                             "categorical) on an output: it counts the classes the output picks; the loss is %s"
                             % ", ".join(repr(x) for x in (loss if isinstance(loss, (list, tuple)) else [loss])))
        for names, lid, nm in zip(acc_out, loss_ids, self._output_names()):
            if names and not _BINARY <= lid <= _SPARSE:
                raise ValueError("compile: metric %r of output '%s' needs a crossentropy loss (binary, categorical "
                                 "or sparse categorical): it counts the classes the output picks" % (names[0], nm))
        acc = acc_out[0] if len(acc_out) == 1 else []
        wextra = self._parse_weighted_metrics(weighted_metrics, acc_out, extra, loss_ids)
        spec = (loss_ids, weights, opt._struct(), from_logits)
        if self._c_compiled:
            self._sync()
            h, ids = self._create_c(spec)
            try:
                self._copy_weights(self._handle, h)
            except BaseException:
                lib.lf_model_free(h)
                raise
            lib.lf_model_free(self._handle)
            self._handle, self._ids = h, ids
        else:
            self._compile_c(self._handle, self._ids, spec)
        self._c_compiled = self._compiled = True
        multi = len(self.outputs) > 1
        self.loss = [None if ls is None else _LOSS_ALIASES[ls] for ls in losses] if multi else _LOSS_ALIASES[losses[0]]
        self.loss_weights = weights
        self.optimizer, self._loss_ids, self._acc, self._acc_out = opt, loss_ids, acc, acc_out
        self._loss_id = loss_ids[0]
        self._metrics = extra
        self._metric_args = _as_given(metrics)
        self._wmetrics = wextra
        self._wmetric_args = _as_given(weighted_metrics)
        self.metrics_names = self._metric_keys()

    def _per_output_entries(self, metrics, loss_ids, what):
        """compile's metrics or weighted_metrics (what: 'metrics' or
        'weighted_metrics') as one list of entries per output.  With several
        outputs, as Keras 3's CompileMetrics._build_metrics_set
        (keras/src/trainers/compile_utils.py): a dict by output name, or a
        list of one entry (a name, a list of names or None) per output; a
        list of names of another length asks each of them of every output
        with a loss (the accuracies: of those with a crossentropy loss;
        Keras refuses it)."""
        k, names = len(self.outputs), self._output_names()
        if k > 1 and isinstance(metrics, dict):
            unknown = [n for n in metrics if n not in names]
            if unknown:
                raise ValueError("compile: %s name no output %s (the outputs: %s)"
                                 % (what, ", ".join(map(repr, unknown)), ", ".join(names)))
            per = [metrics.get(n) for n in names]
        elif k > 1 and metrics and len(metrics) == k and all(m is None or isinstance(m, (str, list, tuple))
                                                             for m in metrics):
            per = list(metrics)
        else:
            flat = list(metrics or [])
            per = [flat if _BINARY <= lid <= _SPARSE else [] if lid == _NONE else
                   [m for m in flat if not self._is_acc(m)] for lid in loss_ids] if k > 1 else [flat]
        return [[] if e is None else [e] if isinstance(e, str) else list(e) for e in per]

    def _metric_key(self, out, key):
        """A metric's history / evaluate key: its name, prefixed by its
        output's name with several outputs (Keras 3's CompileMetrics.result:
        f"{output_name}_{name}")"""
        return key if len(self.outputs) == 1 else "%s_%s" % (self._output_names()[out], key)

    def _parse_metrics(self, metrics, loss_ids):
        """compile's metrics: (per output, the accuracy names asked of it,
        in order, each once: Keras' history and evaluate keys, e.g. ['acc'],
        measured by the library; [(history key, kind, output)] of the
        metrics measured in Python (mae, mse, AUC), the key prefixed by the
        output's name with several outputs).  The entries per output: see
        _per_output_entries."""
        k = len(self.outputs)
        if isinstance(metrics, str) or (isinstance(metrics, dict) and k == 1):
            raise ValueError("compile: metrics must be a list, e.g. metrics=['accuracy']")
        acc_out, extra = [], []
        for j, (entry, lid) in enumerate(zip(self._per_output_entries(metrics, loss_ids, "metrics"), loss_ids)):
            asked = []
            for mt in entry:
                key, kind = self._metric_of(mt, "metric", j)
                _check_accuracy_kind(mt, lid, "metric")
                if kind == "acc":
                    if key not in asked:
                        asked.append(key)
                    continue
                self._check_targets(mt, lid, j, "metric")
                key = self._metric_key(j, key)
                if key not in [e[0] for e in extra]:
                    extra.append((key, kind, j))
            acc_out.append(asked)
        return acc_out, extra

    def _check_targets(self, mt, lid, out, what):
        """A metric measured in Python on an output whose loss is None: its
        targets are not given (fit and evaluate do not read them)"""
        if lid == _NONE:
            raise ValueError("compile: %s %r of output '%s' needs the output's targets: its loss is None (give "
                             "it a loss, or no metric)" % (what, mt, self._output_names()[out]))

    @staticmethod
    def _is_acc(mt):
        return isinstance(mt, str) and mt in _ACC_NAMES and getattr(mt, "value", None) is None

    def _metric_of(self, mt, what, out=0):
        """(history key, kind) of one entry of compile's metrics or
        weighted_metrics (what: 'metric' or 'weighted metric' in the
        messages) asked of output out: an accuracy name ('acc'; the key is
        the name given), mae, mse or AUC (the name given, 'AUC' or 'auc'; a
        MeanAbsoluteError / MeanSquaredError / AUC object's name; AUC of a
        one-unit output)."""
        if self._is_acc(mt):
            return mt, "acc"
        if isinstance(mt, str) and (mt in _VALUE_METRICS or getattr(mt, "value", None)):
            kind = getattr(mt, "value", None) or _VALUE_METRICS[mt]
            dim = self.outputs[out].dim
            if kind == "auc" and dim != 1:
                of = "" if len(self.outputs) == 1 else " of output '%s'" % self._output_names()[out]
                raise ValueError("compile: %s %r%s needs a binary output (one sigmoid unit); the output has %d "
                                 "units" % (what, mt, of, dim))
            # Keras' key: the string given ('AUC' stays 'AUC'), an object's name
            # (keras/src/trainers/compile_utils.py get_metric)
            return str(mt), kind
        raise ValueError("compile: unsupported %s %r: use 'accuracy', 'mae', 'mse' or 'AUC' (or their long names)"
                         % (what, mt))

    def _parse_weighted_metrics(self, weighted, acc_out, extra, loss_ids):
        """compile's weighted_metrics: [(history key, kind, output)],
        measured in Python with the rows' weights (with several outputs,
        every output's rows weigh the same, as Keras repeats one
        sample_weight for each output).  The key is the name given
        (prefixed by the output's name with several outputs), or
        'weighted_<name>' (<output>_weighted_<name>) when compile's metrics
        (acc_out, extra: what _parse_metrics made of them) have that key,
        as Keras 3's CompileMetrics.result; an accuracy ('acc' kind) is
        measured as the library measures metrics=['accuracy'], which the
        output's loss picks."""
        if weighted is None:
            return []
        if not isinstance(weighted, (list, tuple, dict)) or (isinstance(weighted, dict) and len(self.outputs) == 1):
            raise ValueError("compile: weighted_metrics must be a list, e.g. weighted_metrics=['mae']")
        taken = [self._metric_key(j, a) for j, asked in enumerate(acc_out) for a in asked] + [e[0] for e in extra]
        out, seen = [], set()
        for j, (entry, lid) in enumerate(zip(self._per_output_entries(weighted, loss_ids, "weighted_metrics"),
                                             loss_ids)):
            for mt in entry:
                key, kind = self._metric_of(mt, "weighted metric", j)
                _check_accuracy_kind(mt, lid, "weighted metric")
                if kind == "acc" and not _BINARY <= lid <= _SPARSE:
                    raise ValueError("compile: weighted metric %r needs a crossentropy loss (binary, categorical "
                                     "or sparse categorical): it counts the classes the output picks" % (mt,))
                self._check_targets(mt, lid, j, "weighted metric")
                full = self._metric_key(j, key)
                if full in seen:  # listed twice: measured once, as metrics= are
                    continue
                seen.add(full)
                out.append((self._metric_key(j, "weighted_" + key) if full in taken else full, kind, j))
        return out

    def _compile_kwargs(self):
        """The arguments of this model's last compile(), as compile takes
        them (one loss and loss weight per output)."""
        return {"optimizer": self.optimizer, "loss": self.loss, "metrics": _as_given(self._metric_args),
                "weighted_metrics": _as_given(getattr(self, "_wmetric_args", [])),
                "loss_weights": list(self.loss_weights)}

    def _c_keys(self):
        """The keys of what the library measures (lf_model_evaluate_arrays,
        lf_model_train_on_batch): loss, with several outputs the
        <output>_loss keys, then the accuracies (<output>_<name> with
        several outputs)."""
        if len(self.outputs) == 1:
            return ["loss"] + list(self._acc)
        return (["loss"] + self._output_loss_keys() +
                ["%s_%s" % (n, a) for n, asked in zip(self._output_names(), self._acc_out) for a in asked])

    def _metric_keys(self):
        """Keras' names of what evaluate returns, in the order of its list
        (metrics_names), as Keras 3's Trainer._flatten_metrics_in_order
        (keras/src/trainers/trainer.py): the names of self.metrics found in
        the logs (loss, then CompileMetrics.metrics: compile's metrics and
        then its weighted_metrics, in compile's order, each under its own
        name), then the other keys sorted.  One output: loss, the metrics in
        compile's order, the weighted metrics, those renamed
        weighted_<name> sorted at the end.  Several outputs (the names are
        not prefixed, the keys are): loss, the <output>_loss keys, then
        every <output>_<metric> key sorted by name."""
        logs = self._dict_keys()
        if len(self.outputs) == 1:
            names = ["loss"] + [self._metric_of(mt, what)[0]
                                for args, what in ((self._metric_args, "metric"),
                                                   (getattr(self, "_wmetric_args", []), "weighted metric"))
                                for mt in self._per_output_entries(args, self._loss_ids, what)[0]]
            seq = []
            for n in names:
                if n in logs and n not in seq:  # Keras lists a name twice when it is asked twice
                    seq.append(n)
            return seq + sorted(k for k in logs if k not in seq)
        losses = ["loss"] + self._output_loss_keys()
        return losses + sorted(k for k in logs if k not in losses)

    def _dict_keys(self):
        """The keys of evaluate's dict (return_dict=True) and of the logs,
        in Keras 3's order (Trainer.get_metrics_result: the loss tracker,
        CompileMetrics.result: every output's metrics in compile's order,
        then every output's weighted metrics, then CompileLoss' per-output
        losses): loss, the metrics, the weighted metrics, the
        <output>_loss keys (several outputs)."""
        seq = []
        for j, entry in enumerate(self._per_output_entries(self._metric_args, self._loss_ids, "metrics")):
            for mt in entry:
                key = self._metric_key(j, self._metric_of(mt, "metric", j)[0])
                if key not in seq:
                    seq.append(key)
        return ["loss"] + seq + [e[0] for e in self._wmetrics] + self._output_loss_keys()

    def _in_keras_order(self, logs):
        """logs (or a history) in Keras 3's order: the keys of _dict_keys,
        then their val_ keys, then any other key as it came (what a
        callback added, e.g. learning_rate)"""
        keys = self._dict_keys()
        order = [k for k in keys + ["val_" + k for k in keys] if k in logs]
        return dict([(k, logs[k]) for k in order] + [(k, v) for k, v in logs.items() if k not in order])

    def _output_loss_keys(self):
        """The <output>_loss keys, in output order (outputs of several with a
        loss: _loss_outputs)"""
        names = self._output_names()
        return ["%s_loss" % names[k] for k in self._loss_outputs()]

    def _loss_outputs(self):
        """The outputs with a <output>_loss key: those with a loss (not
        None), when there are two or more of them (Keras 3's CompileLoss
        tracks each loss only when it has several,
        keras/src/trainers/compile_utils.py CompileLoss.build)."""
        ks = [k for k, lid in enumerate(self._loss_ids or []) if lid != _NONE]
        return ks if len(ks) > 1 else []

    def _need_compiled(self, what):
        if not self._compiled:
            raise RuntimeError("You must compile your model before %s. Use `model.compile(optimizer, loss)`."
                               % what)

    # ------------------------------------------------------------ arrays
    def _xs(self, x, what):
        keys = getattr(self, "_in_keys", None)
        if keys is not None and isinstance(x, (list, tuple)) and len(x) == len(keys) > 1 and \
                self._in_keys_given != keys:
            raise ValueError("%s: the model's inputs are a dict whose keys (%s) are not in sorted order: give x "
                             "as a dict by those keys (a list would be read in the sorted order, %s)"
                             % (what, ", ".join(self._in_keys_given), ", ".join(keys)))
        if isinstance(x, dict):
            names = keys or [self._names[id(t.layer)] for t in self.inputs]
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError("%s: no array for input(s) %s" % (what, ", ".join(missing)))
            x = [x[n] for n in names]
        elif not isinstance(x, (list, tuple)) or (len(self.inputs) == 1 and (_is_rows(x) or
                                                                              (self._tv and _is_texts(x)))):
            x = [x]  # one input's array (a nested list of rows is one array, as Keras reads it)
        if len(x) != len(self.inputs):
            raise ValueError("%s: the model has %d input(s) (%s), got %d array(s)" %
                             (what, len(self.inputs),
                              ", ".join(self._names[id(t.layer)] for t in self.inputs), len(x)))
        arrs, n = [], None
        for i, (a, t) in enumerate(zip(x, self.inputs)):
            nm = self._names[id(t.layer)]
            if a is None:
                raise ValueError("%s: input %d ('%s') is None" % (what, i, nm))
            if i in self._tv and (_is_texts(a) or _is_lookup(self._tv[i])):
                a = self._tv[i](a)  # raw strings (or a lookup's raw ids) through the input's preprocessing
            a = _as_input(a, t, "%s: input %d ('%s')" % (what, i, nm))
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
        """The targets: one array per output (a list, or a dict by output
        layer name; a single array for a single output)."""
        if y is None:
            raise ValueError("%s: y (the targets) is missing" % what)
        k, names = len(self.outputs), self._output_names()
        if k == 1:
            if isinstance(y, dict) and list(y) == names:
                y = y[names[0]]
            return [self._y_one(y, n, 0, what)]
        if isinstance(y, dict):
            missing = [nm for i, nm in enumerate(names) if nm not in y and self._loss_ids[i] != _NONE]
            if missing:
                raise ValueError("%s: no targets for output(s) %s" % (what, ", ".join(missing)))
            y = [y.get(nm) for nm in names]
        has = [i for i in range(k) if self._loss_ids[i] != _NONE]
        if isinstance(y, (list, tuple)) and len(y) == len(has) < k:
            # as Keras' CompileLoss: the targets of the outputs with a loss only
            full = [None] * k
            for i, a in zip(has, y):
                full[i] = a
            y = full
        if not isinstance(y, (list, tuple)) or len(y) != k:
            raise ValueError("%s: the model has %d outputs (%s): give y as a list of %d arrays, one per "
                             "output, or a dict by output name" % (what, k, ", ".join(names), k))
        # an output without a loss: its targets are not read (None or any)
        return [None if self._loss_ids[i] == _NONE else self._y_one(a, n, i, what, names[i])
                for i, a in enumerate(y)]

    def _y_one(self, y, n, i, what, out_name=None):
        """Output i's targets as the library takes them, (n, columns): the
        output's own shape (n, *output_shape) (rows stay row-major) or its
        flat form (n, prod(output_shape)); class indices (n,) or (n, 1) for
        a sparse loss."""
        t = self.outputs[i]
        d = t.dim
        cols = 1 if self._loss_ids[i] == _SPARSE else d
        label = "%s: y" % what if out_name is None else "%s: y for output '%s'" % (what, out_name)
        a = _lib.as_f32(y, label)
        if a.ndim == 1 and cols == 1:
            a = a.reshape(-1, 1)
        if cols == d and a.ndim > 2 and tuple(a.shape) == (n,) + t.sample_shape:
            a = a.reshape(n, d)
        if a.ndim != 2 or a.shape != (n, cols):
            if cols == 1:
                want = "(%d,) or (%d, 1) class indices" % (n, n)
            elif len(t.sample_shape) > 1:
                want = "%s or (%d, %d)" % (str((n,) + t.sample_shape), n, d)
            else:
                want = "(%d, %d)" % (n, cols)
            raise ValueError("%s must have shape %s for this model and loss, got shape %s"
                             % (label, want, tuple(a.shape)))
        return a

    def _sw(self, sw, n, what):
        if sw is None:
            return None
        a = _lib.as_f32(sw, "%s: sample_weight" % what)
        if a.shape not in ((n,), (n, 1)):
            raise ValueError("%s: sample_weight must have shape (%d,), got shape %s" % (what, n, tuple(a.shape)))
        return a.reshape(n)

    # ------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, epochs: int = 1,
            verbose: Union[int, str] = "auto", callbacks: Optional[Sequence[Callback]] = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: Optional[Dict[int, float]] = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
            validation_batch_size: Optional[int] = None, validation_freq: Union[int, Sequence[int]] = 1,
            seed: int = 0) -> "History":
        """Trains the model in C (without the GIL); returns a History.

        As Keras: validation_split takes the last fraction of the rows
        before shuffling, validation_data=(x_val, y_val) or (x_val, y_val,
        sample_weight_val) overrides it,
        callbacks=[EarlyStopping(...)], class_weight={class: weight}.
        `seed` seeds shuffling and dropout: the same seed, data, initial
        weights and optimizer state give bit-identical results; fit called
        again (the optimizer's step count moved on) shuffles and drops anew,
        as Keras' seed generators go on from call to call.  verbose: 0 silent, 1 progress
        on stderr (a bar when it is a terminal), 2 one line per epoch.
        compile's metrics and weighted metrics are measured at each epoch's
        end on the training and validation rows (weighted_metrics and
        val_loss with the rows' weights: validation_split's rows keep
        theirs, validation_data's are its third element, else 1).
        initial_epoch, steps_per_epoch, validation_steps,
        validation_batch_size and validation_freq as Keras 3 (C:
        lf_fit_options): epochs initial_epoch..epochs-1 run and are so
        numbered; steps_per_epoch batches per epoch from one pass over the
        rows that goes on across epochs (an epoch that reaches its end
        stops there, with Keras' "ran out of data" warning); the first
        validation_steps validation batches only; validation only at the
        ends of the epochs whose 1-based number is a multiple of
        validation_freq (or in it, a list), the others' logs without val_
        keys and the history's val_ lists holding the validated epochs
        only, as Keras'."""
        self._need_compiled("training")
        xs, n = self._xs(x, "fit")
        if n == 0:
            raise ValueError("fit: no training rows")
        ys = self._ys(y, n, "fit")
        opts = lib.lf_fit_defaults()
        # the fit runs on a worker thread (Ctrl-C): OpenMP's count read here,
        # on the caller's thread, keeps an omp_set_num_threads / threadpoolctl
        # limit set there
        opts.threads = lib.lf_threads_default()
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError("fit: epochs must be an integer >= 1, got %r" % (epochs,))

        def count(v, what, low):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError("fit: %s must be an integer >= %d, got %r" % (what, low, v))
            return int(v)
        initial_epoch = count(initial_epoch, "initial_epoch", 0)
        spe = None if steps_per_epoch is None else count(steps_per_epoch, "steps_per_epoch", 1)
        vsteps = None if validation_steps is None else count(validation_steps, "validation_steps", 1)
        if validation_batch_size is not None:
            count(validation_batch_size, "validation_batch_size", 1)
        if isinstance(validation_freq, (list, tuple)):
            for v in validation_freq:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                    raise ValueError("fit: validation_freq's epochs must be integers, got %r" % (v,))
            vfreq_list = np.array([v for v in validation_freq if v >= 1], dtype=np.uintp)  # 1-based: < 1 never
        elif isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
            if validation_freq < 1:
                raise ValueError("fit: validation_freq must be an integer >= 1 or a list of epochs, got %r"
                                 % (validation_freq,))
            vfreq_list = None
        else:  # Keras' Trainer._should_eval
            raise ValueError("Expected `validation_freq` to be a list or int. Received: validation_freq=%r of the "
                             "type %s." % (validation_freq, type(validation_freq)))

        def validates(e):  # Keras' Trainer._should_eval, e 0-based
            return (e + 1) % int(validation_freq) == 0 if vfreq_list is None else (e + 1) in vfreq_list
        user_batch_size = batch_size
        if batch_size is None:  # Keras' array adapter: from steps_per_epoch when given (the rows split first)
            nt = n if validation_data is not None else int(math.floor(n * (1.0 - float(validation_split))))
            batch_size = int(math.ceil(nt / spe)) if spe and nt > 0 else 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError("fit: batch_size must be an integer >= 1, got %r" % (batch_size,))
        if verbose == "auto":
            verbose = 1
        if verbose not in (0, 1, 2):
            raise ValueError("fit: verbose must be 0, 1, 2 or 'auto'")
        vs = float(validation_split)
        if not 0.0 <= vs < 1.0:
            raise ValueError("fit: validation_split must be in [0, 1), got %r" % (validation_split,))
        opts.batch_size, opts.epochs, opts.shuffle = int(batch_size), int(epochs), int(bool(shuffle))
        opts.validation_split = vs
        opts.initial_epoch, opts.steps_per_epoch = initial_epoch, spe or 0
        if isinstance(validation_freq, (int, np.integer)):
            opts.validation_freq = int(validation_freq)
        else:
            vfc = np.zeros(max(1, len(vfreq_list)), dtype=np.uintp)  # never NULL: [] validates no epoch
            vfc[:len(vfreq_list)] = vfreq_list
            opts.validation_epochs, opts.n_validation_epochs = vfc.ctypes.data, len(vfreq_list)
        printer = None
        if verbose:  # 1: the bar on a terminal; 2 (or not a terminal): a line per epoch
            printer = _lib.progress_printer(verbose == 1 and _lib.stderr_tty(), plain=verbose == 2)
            opts.progress = printer
        opts.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        keep = [xs, ys, opts.validation_epochs and vfc]
        has_val = vs > 0.0
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                                 "sample_weight_val)")
            vx, nv = self._xs(validation_data[0], "fit (validation_data)")
            if nv == 0:
                raise ValueError("fit: validation_data has no rows")
            vy = self._ys(validation_data[1], nv, "fit (validation_data)")
            vsw = self._sw(validation_data[2] if len(validation_data) == 3 else None, nv, "fit (validation_data)")
            vtab, vytab = _lib.typed_table(vx), _lib.ptr_table(vy)
            keep += [vx, vy, vtab, vytab, vsw]
            opts.val_arrays, opts.val_ys, opts.val_n = (ctypes.cast(vtab, ctypes.c_void_p),
                                                         ctypes.cast(vytab, ctypes.c_void_p), nv)
            if vsw is not None:
                opts.val_sample_weight = vsw.ctypes.data
            has_val = True
        sw = self._sw(sample_weight, n, "fit")
        if sw is not None:
            keep.append(sw)
            opts.sample_weight = sw.ctypes.data
        # validation_steps: the first batches of validation_batch_size (else
        # fit's batch_size as given; None: Keras' array adapter's
        # ceil(rows / steps), every row) rows
        n_val_all = nv if validation_data is not None else (n - int(math.floor(n * (1.0 - vs))) if vs > 0 else 0)
        n_val_used = n_val_all
        if vsteps and n_val_all:
            vb = validation_batch_size or user_batch_size or int(math.ceil(n_val_all / vsteps))
            opts.validation_steps, opts.validation_batch_size = vsteps, int(vb)
            n_val_used = min(n_val_all, vsteps * int(vb))
            if vsteps > -(-n_val_all // int(vb)):
                warnings.warn(_RAN_OUT, UserWarning)
        if class_weight is not None:
            if len(self.outputs) > 1:
                raise ValueError("fit: class_weight needs a model with one output; with several outputs "
                                 "give sample_weight")
            d = self.outputs[0].dim
            need = 2 if (self._loss_id == _BINARY and d == 1) else d
            cw = np.ones(need, dtype=np.float32)
            for k, v in dict(class_weight).items():
                if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < need:
                    raise ValueError("fit: class_weight key %r is not a class index in 0..%d" % (k, need - 1))
                cw[int(k)] = v
            keep.append(cw)
            opts.class_weight, opts.n_class_weight = cw.ctypes.data, need
        stops, others = [], []
        for cb in (callbacks or []):
            if isinstance(cb, EarlyStopping):
                stops.append(cb)
            elif isinstance(cb, Callback):
                others.append(cb)
            else:
                raise ValueError("fit: callbacks must be latefuse.callbacks.Callback objects (EarlyStopping, "
                                 "ModelCheckpoint or a subclass), got %r" % type(cb).__name__)
        if len(stops) > 1:
            raise ValueError("fit: give at most one EarlyStopping callback")
        es_val_gaps = False  # EarlyStopping on val_ with epochs not validated: Keras warns at those
        if stops:
            es = stops[0]
            val = es.monitor.startswith("val_")
            base = es.monitor[4:] if val else es.monitor
            if not val and has_val:
                raise ValueError("fit: EarlyStopping(monitor=%r) with validation data is not supported: the "
                                 "library monitors val_%s whenever there is validation data" % (es.monitor, base))
            if base != "loss" and len(self.outputs) > 1:
                raise ValueError("fit: EarlyStopping(monitor=%r) needs a model with one output (with several, "
                                 "monitor the loss)" % (es.monitor,))
            if val and not has_val:
                warnings.warn("Early stopping conditioned on metric `%s` which is not available "
                              "(no validation data): early stopping is off" % es.monitor, RuntimeWarning)
            elif base != "loss" and base not in self._acc:
                warnings.warn("Early stopping conditioned on metric `%s` which is not available (compile's "
                              "metrics give %s): early stopping is off"
                              % (es.monitor, ", ".join(repr(a) for a in self._acc) or "no accuracy"),
                              RuntimeWarning)
            else:
                es_val_gaps = val and not all(validates(e) for e in range(initial_epoch, int(epochs)))
                opts.patience = max(1, es.patience)
                opts.min_delta = es.min_delta
                opts.restore_best_weights = int(es.restore_best_weights)
                opts.monitor_accuracy = int(base != "loss")
                opts.start_from_epoch = es.start_from_epoch
                if es.baseline is not None:
                    opts.has_baseline, opts.baseline = 1, es.baseline
        tab, ytab = _lib.typed_table(xs), _lib.ptr_table(ys)
        self._sync()
        for ly in self._layers:  # layer.trainable may have been set through another model
            self._apply_trainable(ly)
        self._push_learning_rate()
        self.stop_training = False
        self._touch()  # from here on the other models holding these layers are behind
        n_train = n  # lf_model_fit's split: the first floor(n (1 - split)) rows train, as Keras
        if validation_data is None and vs > 0.0:
            n_train = int(math.floor(n * (1.0 - vs)))
        params = {"verbose": verbose, "epochs": int(epochs), "steps": spe or -(-n_train // int(batch_size))}
        if initial_epoch >= int(epochs):  # Keras: no epoch to run
            self._attach_callbacks(others, params)
            for cb in others:
                cb.on_train_begin({})
            for cb in others:
                cb.on_train_end({})
            return History({}, params, self, 0, False, [])
        epoch_logs, errors, ran_out = [], [], [0]
        if others or self._metrics or self._wmetrics or es_val_gaps or spe:
            # the epochs' ends, in Python: the metrics measured from the
            # predictions and the callbacks (which may read the model:
            # predict, evaluate, save; not change it).  The training rows
            # weigh as in the loss, by their sample and class weights; the
            # validation_split rows by their sample weights (as Keras and the
            # library: class weights never count in validation)
            tw = None if sw is None else sw[:n_train]
            if class_weight is not None and self._wmetrics:
                cls = _class_rows(self._loss_id, ys[0][:n_train], self.outputs[0].dim)
                cls = np.clip(cls, 0, len(cw) - 1)  # a class out of range: the library refuses the fit
                tw = (np.ones(n_train, np.float32) if tw is None else tw) * cw[cls]
            train = ([a[:n_train] for a in xs], [None if t is None else t[:n_train] for t in ys], tw)
            val = None
            if validation_data is not None:
                val = (vx, vy, vsw)
            elif n_train < n:
                val = ([a[n_train:] for a in xs], [None if t is None else t[n_train:] for t in ys], None if sw is None else sw[n_train:])
            if val is not None and n_val_used < n_val_all:  # validation_steps' rows
                val = ([a[:n_val_used] for a in val[0]], [None if t is None else t[:n_val_used] for t in val[1]],
                       None if val[2] is None else val[2][:n_val_used])
            show = printer
            self._attach_callbacks(others, params)
            # the callbacks with per-batch hooks: the library then reports
            # every step (its STEP event), where they run
            batch_cbs = [cb for cb in others if _callbacks._has_hooks(cb, _callbacks._BATCH_HOOKS)]
            opts.progress_every_step = int(bool(batch_cbs))
            # those with on_test_batch_* hooks: the library measures the
            # validation rows in Keras' batches (validation_batch_size, else
            # fit's batch_size as given, else 32, as Keras' array adapter)
            # and reports each (its VAL_STEP event)
            test_cbs = [cb for cb in others if _callbacks._has_hooks(cb, _callbacks._TEST_HOOKS)]
            if test_cbs and val is not None:
                opts.progress_validation_steps = 1
                if not opts.validation_batch_size:
                    opts.validation_batch_size = int(validation_batch_size or user_batch_size or 32)
            tested = [False]  # this epoch's on_test_begin was called (at its first VAL_STEP)
            val_preds = []  # this validation's predictions so far (the test batch logs' metrics)

            def hook(ctx, p, show=show):
                if show:
                    show(ctx, p)
                if errors:
                    return
                try:
                    ev = p.contents.event
                    stop = None  # this event's stop: self.stop_training after its hooks
                    if ev == 0:
                        for cb in others:
                            cb.on_epoch_begin(p.contents.epoch - 1, {})
                        for cb in batch_cbs:  # Keras: the first batch begins
                            cb.on_train_batch_begin(0, {})
                        self._push_learning_rate()  # a schedule's rate: this epoch's steps use it
                    elif ev == 1 and batch_cbs:
                        # step s of steps done: Keras' on_train_batch_end(s - 1,
                        # logs) with the loss and accuracy so far (the running
                        # means of the epoch's steps, as Keras' batch logs), then
                        # the next batch begins unless fit stops here
                        s, logs = p.contents.step, {"loss": p.contents.loss}
                        for a in self._acc:
                            logs[a] = p.contents.accuracy
                        for cb in batch_cbs:
                            cb.on_train_batch_end(s - 1, logs)
                        # Keras' batch loop breaks after on_train_batch_end; a
                        # stop set in the next on_train_batch_begin still runs
                        # that batch (the library stops after it, at its event)
                        stop = self.stop_training
                        if s < p.contents.steps and not stop:
                            for cb in batch_cbs:
                                cb.on_train_batch_begin(s, {})
                        self._push_learning_rate()  # the next step's rate
                    elif ev == 6:
                        # a validation batch (Keras 3's fit validates through
                        # evaluate(callbacks=...): on_test_begin, then per batch
                        # on_test_batch_begin(step) / on_test_batch_end(step,
                        # logs), keras/src/backend/torch/trainer.py): step 0
                        # begins; step s ends batch s - 1 with the loss and
                        # accuracy so far, then batch s begins
                        s = p.contents.step
                        if s == 0:
                            tested[0] = True
                            val_preds.clear()
                            for cb in others:
                                cb.on_test_begin({})
                        else:
                            logs = {"loss": p.contents.val_loss}
                            for a in self._acc:
                                logs[a] = p.contents.val_accuracy
                            # the Python-measured metrics over the validation rows so far
                            vb, nv = opts.validation_batch_size, len(val[1][0])
                            logs.update(self._running_metrics(val[0], val[1], val[2], (s - 1) * vb,
                                                              min(nv, s * vb), val_preds))
                            for cb in test_cbs:
                                cb.on_test_batch_end(s - 1, logs)
                        if s < p.contents.steps:
                            for cb in test_cbs:
                                cb.on_test_batch_begin(s, {})
                    elif ev == 2:
                        self._pull_iterations()
                        if spe and p.contents.step < spe and not self.stop_training:
                            # the pass over the rows ended within the epoch (Keras'
                            # EpochIterator warns so)
                            ran_out[0] += 1
                            warnings.warn(_RAN_OUT, UserWarning)
                        logs = {"loss": p.contents.loss}
                        for a in self._acc:
                            logs[a] = p.contents.accuracy
                        logs = self._in_keras_order(dict(logs, **self._metric_values(*train)))
                        if es_val_gaps and not validates(p.contents.epoch - 1):
                            warnings.warn("Early stopping conditioned on metric `%s` which is not available. "
                                          "Available metrics are: %s" % (stops[0].monitor, ",".join(logs)),
                                          UserWarning)
                        if val is not None and validates(p.contents.epoch - 1):
                            # Keras' fit validates through evaluate(callbacks=...):
                            # on_test_begin (here unless a VAL_STEP called it) /
                            # on_test_end
                            if not tested[0]:
                                for cb in others:
                                    cb.on_test_begin({})
                            tested[0] = False
                            vlogs = {"loss": p.contents.val_loss}
                            for a in self._acc:
                                vlogs[a] = p.contents.val_accuracy
                            vlogs.update(self._metric_values(*val))
                            vlogs = self._in_keras_order(vlogs)
                            for cb in others:
                                cb.on_test_end(dict(vlogs))
                            logs.update({"val_" + k: v for k, v in vlogs.items()})
                        # one dict through the callbacks, as Keras' CallbackList: what one
                        # adds (ReduceLROnPlateau's learning_rate) the next and the
                        # history see
                        for cb in others:
                            cb.on_epoch_end(p.contents.epoch - 1, logs)
                        epoch_logs.append(dict(logs))
                        self._push_learning_rate()  # the next epoch's rate
                    if self.stop_training if stop is None else stop:  # Keras' model.stop_training:
                        lib.lf_model_stop_training(self._handle)  # fit ends after this step
                except BaseException as e:  # ctypes would print and drop it: raised after fit
                    errors.append(e)
                    lib.lf_model_stop_training(self._handle)  # no more steps: raised when fit returns

            opts.progress = _lib.PROGRESS_FN(hook)
            for cb in others:
                cb.on_train_begin({})
        # the training runs on a worker thread that Ctrl-C stops through the
        # library's cancel flag, before its next step: the weights are then
        # those of the steps done, as after Keras' fit interrupted
        stop = _Cancel()
        opts.cancel = stop.pointer()
        st = stop.run(lambda: lib.lf_model_fit_arrays(self._handle, tab, ytab, n, ctypes.byref(opts)),
                      "latefuse-model-fit")
        self._pull_iterations()  # the steps done, also when fit fails or is interrupted
        if stop.cancelled is not None:
            raise stop.cancelled
        self._raise_rate_error()
        if st:
            _lib.raise_model(self._handle, st)
        if errors:
            raise errors[0]
        hp = lib.lf_model_history(self._handle).contents
        ne = hp.epochs
        # Keras' History appends a key's value at the epochs whose logs hold
        # it: the val_ series only at the validated epochs
        run = range(initial_epoch, initial_epoch + ne)
        vrows = [i for i, e in enumerate(run) if validates(e)] if has_val else []
        series = {}
        for field in ("loss", "accuracy", "val_loss", "val_accuracy"):
            p = getattr(hp, field)
            vals = [float(p[i]) for i in (vrows if field.startswith("val_") else range(ne))] if p else []
            if not vals or all(np.isnan(vals)):
                continue
            if field.endswith("accuracy"):  # under the names compile's metrics gave (Keras: 'acc' stays 'acc')
                for a in self._acc:
                    series[field[:-len("accuracy")] + a] = list(vals)
            else:
                series[field] = vals
        if len(self.outputs) > 1:  # Keras' <output>_loss, <output>_accuracy and their val_
            E = int(opts.epochs) - initial_epoch  # the library's stride: the epochs asked for
            for field, suffix in (("output_loss", "loss"), ("output_accuracy", "accuracy"),
                                  ("val_output_loss", "val_loss"), ("val_output_accuracy", "val_accuracy")):
                p = getattr(hp, field)
                for k, nm in enumerate(self._output_names()):
                    if suffix.endswith("loss") and k not in self._loss_outputs():
                        continue  # Keras: no <output>_loss for a None loss, nor with one loss
                    vals = [float(p[k * E + i]) for i in (vrows if field.startswith("val_") else range(ne))]
                    if vals and not all(np.isnan(vals)):
                        for a in (self._acc_out[k] if suffix.endswith("accuracy") else ["loss"]):
                            key = "val_%s_%s" % (nm, a) if suffix.startswith("val_") else "%s_%s" % (nm, a)
                            series[key] = list(vals)
        for lg in epoch_logs[:ne]:  # learning_rate first comes in a later epoch when set then
            for k in lg:
                if k not in series:
                    series[k] = ([g[k] for g in epoch_logs[:ne] if k in g] if k.startswith("val_") else
                                 [g.get(k, float("nan")) for g in epoch_logs[:ne]])
        series = self._in_keras_order(series)  # Keras' History: the first epoch's logs' order
        if stops:
            stops[0].best_epoch = int(hp.best_epoch)
            stops[0].stopped_epoch = initial_epoch + ne - 1 if hp.stopped_early else 0
        last = dict(epoch_logs[ne - 1]) if 0 < ne <= len(epoch_logs) else {k: v[-1] for k, v in series.items()}
        for cb in others:  # Keras: the last epoch's logs
            cb.on_train_end(last)
        return History(series, params, self, int(hp.best_epoch), bool(hp.stopped_early), list(run),
                       [run[i] for i in vrows])

    def _push_learning_rate(self):
        """The optimizer's learning_rate (Keras' optimizer.learning_rate,
        which callbacks and the user may set) into the C model: before
        each fit and step, from fit's callbacks, before save."""
        if self._compiled and self._c_compiled and self.optimizer is not None:
            self._pull_iterations()
            sched = getattr(self.optimizer, "_schedule", None)
            if sched is not None and sched.kind is None:
                self._attach_rate_fn(sched)  # one of your own: called before each step
            if sched is not None:
                return  # the library follows the schedule
            st = lib.lf_model_set_learning_rate(self._handle, self.optimizer.learning_rate)
            if st:
                _lib.raise_model(self._handle, st)

    def _attach_rate_fn(self, sched):
        """A LearningRateSchedule of your own: the library asks it the rate
        of each step, schedule(iterations) (lf_model_set_rate_fn), as
        Keras' optimizer does.  An exception there or a rate that is not a
        finite number >= 0 stops the step (its error kept in
        self._rate_errors, raised when the call returns)."""
        key = (id(self._handle), id(sched))
        if getattr(self, "_rate_key", None) == key:
            return  # attached to this C model already
        errors = self._rate_errors = []

        def rate(ctx, step):
            try:
                return schedules_rate(sched, step)
            except BaseException as e:  # ctypes would print and drop it
                errors.append(e)
                return float("nan")
        fn = _lib.RATE_FN(rate)
        st = lib.lf_model_set_rate_fn(self._handle, fn, None)
        if st:
            _lib.raise_model(self._handle, st)
        self._rate_fn, self._rate_key = fn, key  # alive as long as the model uses it

    def _raise_rate_error(self):
        """The error of a schedule of your own during the last call, if any"""
        errors = getattr(self, "_rate_errors", None)
        if errors:
            e = errors[0]
            del errors[:]
            raise e

    def _attach_callbacks(self, cbs, params):
        """Keras' CallbackList: every callback's model and params, before
        any of its hooks runs."""
        for cb in cbs:
            cb.set_model(self)
            cb.set_params(params)

    def _pull_iterations(self):
        """Keras' optimizer.iterations (which a schedule's rate follows)
        from the library's count of the model's optimizer steps
        (lf_model_iterations)."""
        if self.optimizer is not None:
            self.optimizer.iterations = int(lib.lf_model_iterations(self._handle))

    def _metric_values(self, xs, ys, sample_weight=None, p=None):
        """The Python-measured metrics of the predictions on rows xs against
        ys (the targets, one array per output, or the one output's array),
        each on its output's predictions and targets (a sparse loss' class
        indices one-hot): compile's metrics (mae, mse, AUC) count every
        row the same, as Keras' metrics= (and the accuracy) ignore
        sample_weight; its weighted_metrics weigh row r by sample_weight[r]
        (None: 1; the same for every output, as Keras repeats one
        sample_weight), as Keras' weighted metrics: sum_r w_r v_r / sum_r
        w_r (0 when the weights sum to 0, Keras' divide_no_nan).  p: the
        predictions of xs when the caller has them (an array, or one per
        output)."""
        metrics, wmetrics = getattr(self, "_metrics", []), getattr(self, "_wmetrics", [])
        if not metrics and not wmetrics:
            return {}
        ps = self.predict(xs) if p is None else p
        ps = list(ps) if isinstance(ps, (list, tuple)) else [ps]
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        seen = {}

        def output(j):  # output j's flat predictions, targets, class indices (sparse) and shape
            if j not in seen:
                pj = ps[j].astype(np.float64)
                shape = pj.shape
                pj = pj.reshape(len(pj), -1)  # an output of several axes, as its targets: flat rows
                t, labels = ys[j].astype(np.float64), None
                if self._loss_ids[j] == _SPARSE:  # class indices against the class scores: one-hot targets
                    labels = t[:, 0].astype(np.int64)
                    t = np.eye(pj.shape[1])[labels]
                seen[j] = (pj, t, labels, shape)
            return seen[j]

        n = len(ps[0])
        ones = np.ones(n)
        w = ones if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
        out = {}
        for group, wr in ((metrics, ones), (wmetrics, w)):
            for name, kind, j in group:
                pj, t, labels, shape = output(j)
                if kind == "auc":
                    out[name] = _auc(pj[:, 0], t[:, 0] > 0.5, wr)
                    continue
                if kind == "acc":
                    v = _row_accuracy(self._loss_ids[j], pj, t, labels, shape)
                else:
                    e = np.abs(pj - t) if kind == "mae" else (pj - t) ** 2
                    v = e.mean(axis=1)
                if not n:
                    out[name] = float("nan")
                else:
                    total = np.sum(wr)
                    out[name] = float(np.sum(wr * v) / total) if total != 0 else 0.0
        return out

    def _has_py_metrics(self):
        return bool(getattr(self, "_metrics", []) or getattr(self, "_wmetrics", []))

    def _running_metrics(self, xs, ys, sw, r0, r1, preds):
        """Keras' batch logs of the Python-measured metrics: their values
        over the rows 0..r1 measured so far (a Keras metric's state after
        the batches up to r1), rows r0..r1 predicted now and appended to
        preds (the earlier batches' predictions, one array per output, the
        same weights)."""
        if not self._has_py_metrics():
            return {}
        p = self.predict([a[r0:r1] for a in xs])
        preds.append(list(p) if isinstance(p, (list, tuple)) else [p])
        return self._metric_values(None, [None if t is None else t[:r1] for t in ys], None if sw is None else sw[:r1],
                                   p=[np.concatenate([b[j] for b in preds]) for j in range(len(preds[0]))])

    # ------------------------------------------------------------ evaluate / predict
    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
                 verbose: Union[int, str] = "auto", sample_weight: Any = None, steps: Optional[int] = None,
                 callbacks: Optional[Sequence[Callback]] = None,
                 return_dict: bool = False) -> Union[float, List[float], Dict[str, float]]:
        """Loss (with any L2 penalty, dropout off), or [loss, accuracy] when
        compiled with metrics=['accuracy'], then the other metrics and the
        weighted metrics (weighted by sample_weight); a dict with
        return_dict=True (the keys: metrics_names).  steps, as Keras' array
        adapter: the first `steps` batches of batch_size rows (batch_size
        None: ceil(rows / steps), every row).  callbacks get
        on_test_begin, on_test_batch_begin / on_test_batch_end per batch
        (when one has them: the batch's logs hold the loss and accuracies
        so far, the running means of the batches weighted by their rows, as
        Keras' trackers) and on_test_end with the result's logs; a callback
        setting model.stop_evaluating ends it after that batch, the result
        then measured on the batches done."""
        self._need_compiled("evaluating")
        xs, n = self._xs(x, "evaluate")
        if n == 0:
            raise ValueError("evaluate: no rows")
        ys = self._ys(y, n, "evaluate")
        sw = self._sw(sample_weight, n, "evaluate")
        bs, nb = _batches(n, batch_size, steps, "evaluate")
        cbs = _callback_list(callbacks, "evaluate")
        rows = min(n, nb * bs)
        k = len(self.outputs)

        def measure(r0, r1):  # the library's evaluate of rows r0..r1: its values in _c_keys' order
            losses, accs = (ctypes.c_double * (1 + k))(), (ctypes.c_double * k)()
            bx, by = [a[r0:r1] for a in xs], [None if t is None else t[r0:r1] for t in ys]
            tab, ytab = _lib.typed_table(bx), _lib.ptr_table(by)
            st = lib.lf_model_evaluate_arrays(self._handle, tab, ytab, r1 - r0,
                                              _lib.ptr(None if sw is None else sw[r0:r1]), losses, accs)
            if st:
                _lib.raise_model(self._handle, st)
            if k == 1:
                return [losses[0]] + [accs[0]] * len(self._acc)
            return [losses[0]] + [losses[1 + i] for i in self._loss_outputs()] + \
                [accs[i] for i in range(k) for _ in self._acc_out[i]]

        self._sync()
        self.stop_evaluating = False
        params = {"verbose": verbose, "epochs": 1, "steps": nb}
        self._attach_callbacks(cbs, params)
        for cb in cbs:
            cb.on_test_begin({})
        hooks = [cb for cb in cbs if _callbacks._has_hooks(cb, _callbacks._TEST_HOOKS)]
        if hooks:  # batch by batch, each through the library
            keys, sums, done, preds = self._c_keys(), None, 0, []
            for b in range(nb):
                r0, r1 = b * bs, min(rows, (b + 1) * bs)
                for cb in hooks:
                    cb.on_test_batch_begin(b, {})
                v = np.array(measure(r0, r1)) * (r1 - r0)
                sums, done = (v if sums is None else sums + v), r1
                logs = {kk: float(vv) for kk, vv in zip(keys, sums / done)}
                # the compile metrics measured in Python (mae, mse, AUC): over the rows so far
                logs.update(self._running_metrics(xs, ys, sw, r0, r1, preds))
                logs = {kk: logs[kk] for kk in self._dict_keys()}  # Keras' order of the logs
                for cb in hooks:
                    cb.on_test_batch_end(b, logs)
                if self.stop_evaluating:
                    break
            rows = done
        got = dict(zip(self._c_keys(), measure(0, rows)))
        # metrics= unweighted, weighted_metrics by sw
        got.update(self._metric_values([a[:rows] for a in xs], [None if t is None else t[:rows] for t in ys],
                                       None if sw is None else sw[:rows]))
        values = [got[kk] for kk in self._metric_keys()]  # Keras' list order; its dict's order in logs
        logs = {kk: got[kk] for kk in self._dict_keys()}
        for cb in cbs:
            cb.on_test_end(dict(logs))
        if return_dict:
            return logs
        return values if len(values) > 1 else values[0]

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Optional[Dict[int, float]] = None,
                       return_dict: bool = False) -> Union[float, List[float], Dict[str, float]]:
        """Keras' train_on_batch: one optimizer step on these rows as one
        batch (lf_model_train_on_batch: training mode, a new dropout mask
        at each call); returns what evaluate would have returned just
        before the step, with the training pass' loss and accuracy (Keras
        measures them on the batch before its update): the loss, a list in
        metrics_names' order, or a dict with return_dict.  class_weight
        {class: weight} becomes sample weights as Keras turns it (a class
        not named weighs 1; one output; not with sample_weight).  The
        metrics measured in Python (mae, mse, AUC, weighted_metrics) come
        from predict before the step (dropout off)."""
        self._need_compiled("train_on_batch")
        xs, n = self._xs(x, "train_on_batch")
        if n == 0:
            raise ValueError("train_on_batch: no rows")
        ys = self._ys(y, n, "train_on_batch")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("train_on_batch: sample_weight and class_weight cannot be given at the same "
                                 "time (as Keras)")
            if len(self.outputs) > 1:
                raise ValueError("train_on_batch: class_weight needs a model with one output; with several "
                                 "outputs give sample_weight")
            t = ys[0]  # Keras' class of a row: the argmax of several columns, else the rounded value
            cls = np.argmax(t, axis=1) if t.shape[1] != 1 else np.round(t[:, 0])
            cw = {}
            for k, v in dict(class_weight).items():
                if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
                    raise ValueError("train_on_batch: class_weight key %r is not a class index" % (k,))
                cw[int(k)] = float(v)
            sample_weight = np.array([cw.get(int(c), 1.0) for c in cls], dtype=np.float32)
        sw = self._sw(sample_weight, n, "train_on_batch")
        extra = self._metric_values(xs, ys, sw)  # before the step
        k = len(self.outputs)
        losses, accs = (ctypes.c_double * (1 + k))(), (ctypes.c_double * k)()
        tab, ytab = _lib.typed_table(xs), _lib.ptr_table(ys)
        self._sync()
        for ly in self._layers:  # layer.trainable may have been set through another model
            self._apply_trainable(ly)
        self._push_learning_rate()
        st = lib.lf_model_train_on_batch(self._handle, tab, ytab, n, _lib.ptr(sw), losses, accs)
        self._pull_iterations()
        self._raise_rate_error()
        if st:
            _lib.raise_model(self._handle, st)
        self._touch()  # the other models holding these layers are behind
        if k == 1:
            values = [losses[0]] + [accs[0]] * len(self._acc)
        else:
            values = [losses[0]] + [losses[1 + i] for i in self._loss_outputs()] + \
                [accs[i] for i in range(k) for _ in self._acc_out[i]]
        got = dict(zip(self._c_keys(), values))
        got.update(extra)
        if return_dict:  # Keras' orders, as evaluate's
            return {kk: got[kk] for kk in self._dict_keys()}
        values = [got[kk] for kk in self._metric_keys()]
        return values if len(values) > 1 else values[0]

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Union[float, List[float], Dict[str, float]]:
        """Keras' test_on_batch: evaluate on these rows (dropout off, the
        weights unchanged)."""
        return self.evaluate(x, y, sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x: Any) -> Union[np.ndarray, List[np.ndarray]]:
        """Keras' predict_on_batch: predict on these rows."""
        return self.predict(x)

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Union[int, str] = 0,
                steps: Optional[int] = None,
                callbacks: Optional[Sequence[Callback]] = None) -> Union[np.ndarray, List[np.ndarray]]:
        """Outputs for every row, (N, *output_shape) float32 (a list of them,
        one per output, for a model with several outputs); dropout is off.
        Runs in C without the GIL and may be called from several threads.
        steps, as Keras' array adapter: the outputs of the first `steps`
        batches of batch_size rows (batch_size None: ceil(rows / steps),
        every row).  callbacks get on_predict_begin,
        on_predict_batch_begin / on_predict_batch_end(batch, {'outputs':
        the batch's outputs}) per batch when one has them (the batches then
        predicted one by one: the same values) and on_predict_end; a
        callback setting model.stop_predicting ends it after that batch,
        with the outputs of the batches done."""
        xs, n = self._xs(x, "predict")
        self._ensure_c_compiled()
        bs, nb = _batches(n, batch_size, steps, "predict") if n else (1, 0)
        cbs = _callback_list(callbacks, "predict")
        rows = min(n, nb * bs)

        def run(r0, r1):
            outs = [np.empty((r1 - r0,) + t.sample_shape, dtype=np.float32) for t in self.outputs]
            if r1 > r0:
                bx = [a[r0:r1] for a in xs]
                tab, ytab = _lib.typed_table(bx), _lib.ptr_table(outs)
                st = lib.lf_model_predict_arrays(self._handle, tab, r1 - r0, ytab)
                if st:
                    why = self._predict_issue(bx)
                    raise LatefuseError("predict: " + (why or _lib.status_string(st)), st, _lib.status_string(st))
            return outs

        self._sync()
        self.stop_predicting = False
        params = {"verbose": verbose, "epochs": 1, "steps": nb}
        self._attach_callbacks(cbs, params)
        for cb in cbs:
            cb.on_predict_begin({})
        hooks = [cb for cb in cbs if _callbacks._has_hooks(cb, _callbacks._PREDICT_HOOKS)]
        if hooks:
            parts = []
            for b in range(nb):
                for cb in hooks:
                    cb.on_predict_batch_begin(b, {})
                part = run(b * bs, min(rows, (b + 1) * bs))
                parts.append(part)
                for cb in hooks:
                    cb.on_predict_batch_end(b, {"outputs": part if len(part) > 1 else part[0]})
                if self.stop_predicting:
                    break
            outs = [np.concatenate([p[i] for p in parts]) if parts else
                    np.empty((0,) + t.sample_shape, dtype=np.float32) for i, t in enumerate(self.outputs)]
        else:
            outs = run(0, rows)
        for cb in cbs:
            cb.on_predict_end({})
        return outs if len(outs) > 1 else outs[0]

    def _predict_issue(self, xs):
        """Why lf_model_predict_arrays refused the input arrays xs: it keeps
        no message (it may run on several threads), so its checks are done
        again here, after a failure only, worded as fit's and evaluate's:
        int32 values beyond +-2^24, token ids an Embedding or a CategoryEncoding
        cannot take.
        None when neither explains it."""
        for a, t in zip(xs, self.inputs):
            if a.dtype == np.int32 and a.size:
                bad = np.flatnonzero(np.abs(a.reshape(-1).astype(np.int64)) > 2 ** 24)
                if bad.size:
                    r, c = divmod(int(bad[0]), t.dim)
                    return ("input '%s' holds %d at row %d, column %d, outside [-2^24, 2^24] (an int32 value "
                            "must be exact as a float32)" % (self._names[id(t.layer)], a.reshape(-1)[bad[0]], r, c))
        for node in self._nodes:
            if not isinstance(node.layer, (L.Embedding, L.CategoryEncoding)):
                continue
            kind, limit = ("Embedding", node.layer.input_dim) if isinstance(node.layer, L.Embedding) else \
                ("CategoryEncoding", node.layer.num_tokens)
            for a, t in zip(xs, self.inputs):
                if node.inputs[0] is not t or not a.size:
                    continue
                v = a.reshape(-1).astype(np.float32)
                ok = (v >= 0) & (v < np.float32(limit)) & (v == np.floor(v))
                bad = np.flatnonzero(~ok)
                if bad.size:
                    r, c = divmod(int(bad[0]), t.dim)
                    return ("%s '%s' got token id %s at row %d, position %d of input '%s'; ids must be "
                            "integers in [0, %d)" % (kind, self._node_names[id(node)], "%g" % v[bad[0]], r, c,
                                                     self._names[id(t.layer)], limit))
        return None

    def __call__(self, inputs, *args, **kwargs):
        """model(tensors) — the model used as a layer of a bigger graph
        (Keras' nested model): its layers are called again on the given
        tensors, so the bigger model uses the very same weights (training
        it changes this model's predictions, and the reverse).  The bigger
        model lists these layers among its own (they are inlined, not one
        layer).  model(arrays) is model.predict(arrays)."""
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(inputs, dict) and any(isinstance(x, L.KerasTensor) for x in inputs.values()):
            names = getattr(self, "_in_keys", None) or self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError("model '%s' called on a dict without the input(s) %s"
                                 % (self.name, ", ".join(missing)))
            xs = [inputs[n] for n in names]
        if any(isinstance(x, L.KerasTensor) for x in xs):
            kwargs.pop("training", None)
            if args or kwargs:
                raise ValueError("model '%s' called on tensors takes no other arguments, got %s"
                                 % (self.name, ", ".join(sorted(kwargs)) or "%d more" % len(args)))
            return self._call_symbolic(xs)
        if kwargs.pop("training", False):
            raise ValueError("model(x, training=True) is not supported: predict runs in inference mode")
        return self.predict(inputs, *args, **kwargs)

    def _call_symbolic(self, xs):
        if len(xs) != len(self.inputs):
            raise ValueError("model '%s' has %d input(s) (%s), called on %d tensor(s)" %
                             (self.name, len(self.inputs),
                              ", ".join(self._names[id(t.layer)] for t in self.inputs), len(xs)))
        mp = {}
        for i, (x, t) in enumerate(zip(xs, self.inputs)):
            if not isinstance(x, L.KerasTensor):
                raise ValueError("model '%s': input %d is not a tensor (got %r)" % (self.name, i, type(x).__name__))
            if i in self._tv and isinstance(x.layer, L.InputLayer) and getattr(x.layer, "_text", None) is None \
                    and (x.layer.dtype == "string" or _is_lookup(self._tv[i])):
                x = self._tv[i](x)  # a raw input: through this model's TextVectorization or lookup
            if x.sample_shape != t.sample_shape:
                raise ValueError("model '%s': input %d ('%s') has shape %s, called on a tensor of shape %s" %
                                 (self.name, i, self._names[id(t.layer)], L._shape_str(t.sample_shape),
                                  L._shape_str(x.sample_shape)))
            mp[id(t)] = x
        for t in self._nodes[len(self.inputs):]:
            if t._view is not None:  # output k of the new call
                mp[id(t)] = mp[id(t.inputs[0])]._views[t._view]
                continue
            extra = {k: mp[id(v)] for k, v in t.extra.items() if v is not None}
            extra.update(t.flags)
            ins = [mp[id(a)] for a in t.inputs]
            if isinstance(t.layer, L.MultiHeadAttention):  # called as layer(query, value, key)
                r = t.layer(*ins, **extra)
                mp[id(t)] = r[0].inputs[0] if isinstance(r, list) else r  # return_attention_scores: views
            else:
                r = t.layer(ins, **extra)
                mp[id(t)] = r[0].inputs[0] if isinstance(r, list) else r  # a list: views of one node
        outs = [mp[id(o)] for o in self.outputs]  # one tensor per output, as Keras
        return outs if len(outs) > 1 else outs[0]

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

    def _c_slot(self, nm, idx, slot):
        shape = (ctypes.c_size_t * 2)()
        count = ctypes.c_size_t()
        st = lib.lf_layer_weight_shape(self._handle, nm, idx, shape, ctypes.byref(count))
        if st:
            _lib.raise_model(self._handle, st)
        w = np.empty((shape[0], shape[1]), dtype=np.float32)
        st = lib.lf_get_optimizer_slot(self._handle, nm, idx, slot, w.ctypes.data, count.value)
        if st:
            _lib.raise_model(self._handle, st)
        return w

    def _trainable_indices(self, ly):
        """The indices (get_weights' order) of the layer's weights that
        Keras' model.trainable_variables lists (_split_weights' rule)"""
        if not ly.trainable:
            return []
        n = lib.lf_layer_num_weights(self._handle, _enc(self._names[id(ly)]))
        return [i for i in range(n) if i not in ly._fixed_weights]

    def _optimizer_slots(self):
        """[(layer, weight index, [slot arrays])] of every trainable weight in
        model.trainable_variables' order (get_weights' layout), the
        optimizer's lf_model_optimizer_slots state arrays"""
        self._sync()
        k = int(lib.lf_model_optimizer_slots(self._handle))
        out = []
        for ly in self._layers:
            idx = self._trainable_indices(ly)
            if idx:
                per = [self._layer_weights(ly, slot) for slot in range(k)]
                out += [(ly, i, [per[s][i] for s in range(k)]) for i in idx]
        return out

    def _set_optimizer_slot(self, ly, idx, slot, a, what):
        """Sets the optimizer's state `slot` of the layer's weight idx from
        a (get_weights' layout, its shape checked), lf_set_optimizer_slot"""
        ws = self._layer_weights(ly, slot)
        ws[idx] = a
        nm, i, c = self._prepare_layer(ly, ws, what)[idx]
        st = lib.lf_set_optimizer_slot(self._handle, nm, i, slot, c.ctypes.data, c.size)
        if st:
            _lib.raise_model(self._handle, st)

    def _set_iterations(self, n):
        """The optimizer's steps taken (lf_model_set_iterations), and
        optimizer.iterations"""
        st = lib.lf_model_set_iterations(self._handle, int(n))
        if st:
            _lib.raise_model(self._handle, st)
        self._pull_iterations()

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

    def _layer_weights(self, ly, slot=None):
        """The layer's weights in get_weights' layout; with slot, the
        optimizer's state array of that slot for each of them
        (lf_get_optimizer_slot), in the same layout."""
        self._sync([ly])
        nm = _enc(self._names[id(ly)])
        out = []
        for idx in range(lib.lf_layer_num_weights(self._handle, nm)):
            w = self._c_weight(self._handle, nm, idx) if slot is None else self._c_slot(nm, idx, slot)
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
        self._apply(self._prepare_layer(ly, weights, "set_weights"))
        self._touch([ly])

    def get_weights(self) -> List[np.ndarray]:
        """Every weight array in layer order, Keras' layout: Dense kernel
        (in, units) (the C library stores (units, in); transposed here),
        Dense bias (units,), WeightedAverage W (1, 1, n_inputs),
        ClassWeightedAverage W (1, features, n_inputs)."""
        return [w for ly in self._layers for w in self._layer_weights(ly)]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets every weight array, in the order and layout of get_weights().
        All shapes are checked before any weight changes."""
        weights = list(weights)
        counts = [lib.lf_layer_num_weights(self._handle, _enc(self._names[id(ly)])) for ly in self._layers]
        if len(weights) != sum(counts):
            raise ValueError("set_weights: the model has %d weight arrays, got %d" % (sum(counts), len(weights)))
        prepared, k = [], 0
        for ly, c in zip(self._layers, counts):
            prepared += self._prepare_layer(ly, weights[k:k + c], "set_weights")
            k += c
        self._apply(prepared)
        self._touch()

    @property
    def weights(self):
        """Keras' model.weights: get_weights() (numpy copies)."""
        return self.get_weights()

    def _split_model_weights(self):
        t, n = [], []
        for ly in self._layers:
            a, b = ly._split_weights(self._layer_weights(ly))
            t += a
            n += b
        return t, n

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        """Keras' model.trainable_weights: the weights fit trains, layer by
        layer in get_weights()' order, as numpy copies (the weights live in
        the C model, there are no variables: changing these arrays changes
        nothing; set_weights does).  A frozen layer's (trainable=False) are
        not among them, nor BatchNormalization's moving mean and variance,
        as in Keras."""
        return self._split_model_weights()[0]

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        """Keras' model.non_trainable_weights: the weights fit leaves as they
        are (the frozen layers', BatchNormalization's moving mean and
        variance), in get_weights()' order, as numpy copies (see
        trainable_weights)."""
        return self._split_model_weights()[1]

    @property
    def input_names(self) -> List[str]:
        """Keras' model.input_names: the names of the model's Input layers,
        in the order of Model(inputs=...) (the keys of an x given as a
        dict)."""
        return [self._names[id(t.layer)] for t in self.inputs]

    @property
    def output_names(self) -> List[str]:
        """Keras' model.output_names: the names of the layers making the
        model's outputs, in the order of Model(outputs=...) (the keys of a
        y, loss or loss_weights given as a dict)."""
        return self._output_names()

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> L.Layer:
        """The layer with this name (or at this index of model.layers), as
        Keras 3's: ValueError when both or neither are given, for an index
        past the end and for an unknown name."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: index=%s, name=%s."
                             % (index, name))
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError("Was asked to retrieve layer at index %s but model only has %d layers."
                                 % (index, len(self.layers)))
            return self.layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for ly in self.layers:
            if self._names[id(ly)] == name:
                return ly
        raise ValueError("No such layer: %s. Existing layers are: %s" %
                         (name, ", ".join(self._names[id(ly)] for ly in self.layers)))

    def count_params(self) -> int:
        return int(lib.lf_model_num_params(self._handle))

    @property
    def input_shape(self):
        s = [t.shape for t in self.inputs]
        return s[0] if len(s) == 1 else s

    @property
    def output_shape(self):
        s = [t.shape for t in self.outputs]
        return s[0] if len(s) == 1 else s

    # ------------------------------------------------------------ summary, save
    def summary(self, line_length: Optional[int] = None, positions: Any = None,
                print_fn: Optional[Callable[[str], Any]] = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Prints the C library's table (lf_model_summary): layer (type),
        output shape, parameters, inputs (Keras' "Connected to"), totals,
        through print_fn (default print), as Keras 3's Model.summary.  With
        line_length, positions (the columns' right ends as fractions of the
        line, default [0.3, 0.56, 0.74, 1.0]), show_trainable (a column
        "Trainable": Y, N, or - for a layer without weights) or layer_range
        (two names or regular expressions, re.match: the first layer
        matching the one to the last matching the other) the table is laid
        out again by Keras' rules, long cells folded within their column.
        expand_nested has nothing to expand: the table lists every layer."""
        text = self._td_rows(_summary_text(self._handle).rstrip("\n"))
        # Keras 3's first line names the model (keras/src/utils/summary_utils.py:
        # 'Model: "{model.name}"'); the C table has no name to print
        text = re.sub(r'^Model: "functional"', lambda _: 'Model: "%s"' % self.name, text, count=1)
        if line_length is not None or positions is not None or show_trainable or layer_range is not None:
            text = _summary_relayout(text, line_length, positions, show_trainable, layer_range,
                                     lambda name: self._trainable_mark(name))
        (print_fn or print)(text)

    def _td_rows(self, text):
        """The C table's rows of a TimeDistributed's steps (its
        TimeDistributedInput and the wrapped layers) folded into its own
        row, as Keras' summary: one row, the wrapped layers' parameters,
        connected to the tensor it was called on."""
        hidden, calls = self._on_steps()
        if not calls:
            return text
        row = re.compile(r"^(\S+ \(\w+\)) +(\(.*?\)) +(\d+)  (.*)$")
        drop, fold = {}, {}  # a dropped row's node name: its TimeDistributed's; that one's row: [params, conn]
        for tid, (steps, seen) in calls.items():
            tn, x = self._node_names[tid], steps.inputs[0]
            for v in seen:
                drop[self._node_names.get(id(v))] = tn
            # the C table's name of what it was called on: output k of a call of several is "<node>[0][k]"
            fold[tn] = [0, self._node_names[id(x)] if x._view is None
                        else "%s[0][%d]" % (self._node_names[id(x.inputs[0])], x._view)]
        lines, out, skip = text.split("\n"), [], False
        for ln in lines:
            if skip:  # the rule under a dropped row
                skip = False
                continue
            nm = ln.split(" (", 1)[0]
            mt = row.match(ln) if nm in drop or nm in fold else None
            if mt and nm in drop:
                fold[drop[nm]][0] += int(mt.group(3))
                skip = True
                continue
            out.append(ln)
        for i, ln in enumerate(out):
            nm = ln.split(" (", 1)[0]
            mt = row.match(ln) if nm in fold else None
            if mt:
                out[i] = "%-50s %-20s %10d  %s" % (mt.group(1), mt.group(2), int(mt.group(3)) + fold[nm][0],
                                                   fold[nm][1])
        return "\n".join(out)

    def _trainable_mark(self, name):
        """summary(show_trainable=True)'s cell: Y / N for a layer with
        weights, as its trainable flag, - for one without (as Keras)"""
        ly = self.get_layer(name)
        if isinstance(ly, L.TimeDistributed):  # the wrapped layers' weights
            if not ly.get_weights():
                return "-"
            return "Y" if all(x.trainable for x in ly._inner or []) else "N"
        if not lib.lf_layer_num_weights(self._handle, name.encode()):
            return "-"
        return "Y" if self.get_layer(name).trainable else "N"

    def save(self, filepath: Union[str, "os.PathLike[str]"], overwrite: bool = True,
             include_optimizer: bool = True) -> None:
        """Saves architecture and weights (and the optimizer state of a
        compiled model when include_optimizer) to one safetensors file,
        written atomically.  latefuse.load_model reads it back.  A name
        ending in .keras writes Keras 3's .keras zip instead (config.json,
        metadata.json, model.weights.h5; no optimizer state: keras_file.py),
        which Keras 3 and latefuse.load_model read."""
        if os.fspath(filepath).lower().endswith(".keras"):
            from . import keras_file
            keras_file.save(self, filepath, overwrite)
            return
        self._write(filepath, overwrite, "save", _lib.SAVE_OPTIMIZER if include_optimizer else 0)

    def save_weights(self, filepath: Union[str, "os.PathLike[str]"], overwrite: bool = True) -> None:
        """Keras' save_weights: the weights, in a model file (architecture
        and weights, no optimizer state) that load_weights, and
        load_model, read back; a name ending in .weights.h5 gets Keras 3's
        weights file (keras_file.save_weights), which Keras' load_weights
        reads."""
        self._write(filepath, overwrite, "save_weights", None)

    def _write(self, filepath, overwrite, what, flags):
        """save (flags: lf_model_save's, for a compiled model) and
        save_weights (flags None): the file, written atomically by C; an
        uncompiled copy of the model when it is not compiled or only the
        weights are asked (the file must not claim a loss)."""
        path = os.fspath(filepath)
        if what == "save_weights" and path.lower().endswith(".weights.h5"):
            from . import keras_file
            return keras_file.save_weights(self, path, overwrite)
        _check_save_name(path, what)
        if not overwrite and os.path.exists(path):
            raise FileExistsError("%s: '%s' exists and overwrite=False" % (what, path))
        self._sync()
        self._attach_texts(self._handle, self._ids)
        if self._compiled and flags is not None:
            self._push_learning_rate()  # optimizer.learning_rate as set last
            self._push_metrics()
            st = lib.lf_model_save(self._handle, os.fsencode(path), flags)
            if st:
                _lib.raise_model(self._handle, st)
            return
        h, ids = self._create_c(None)
        try:
            self._name_outputs(h, ids)
            self._copy_weights(self._handle, h)
            st = lib.lf_model_save(h, os.fsencode(path), 0)
            if st:
                _lib.raise_model(h, st)
        finally:
            lib.lf_model_free(h)

    def _name_outputs(self, h, ids):
        """an uncompiled model's outputs to its C copy h
        (lf_model_set_outputs; the file keeps them as "model_outputs"),
        where the file's default, its last layer alone, would be wrong"""
        outs = [ids[id(t)] for t in self.outputs]
        if len(outs) == 1 and outs[0] == lib.lf_model_num_nodes(h) - 1:
            return
        st = lib.lf_model_set_outputs(h, len(outs), (ctypes.c_int * len(outs))(*outs))
        if st:
            _lib.raise_model(h, st)

    def _push_metrics(self):
        """compile's metrics and weighted_metrics (names, as given) to the
        C model, which keeps them in the model file (lf_model_set_metrics)"""
        def text(v):
            return json.dumps(list(v) if isinstance(v, tuple) else v).encode() if v else None
        st = lib.lf_model_set_metrics(self._handle, text(self._metric_args), text(self._wmetric_args))
        if st:
            _lib.raise_model(self._handle, st)

    def _restore_metrics(self, metrics, weighted):
        """compile's metrics and weighted_metrics (a loaded model's), as
        compile sets them"""
        self._acc_out, self._metrics = self._parse_metrics(metrics, self._loss_ids)
        self._acc = self._acc_out[0] if len(self._acc_out) == 1 else []
        self._metric_args = _as_given(metrics)
        self._wmetrics = self._parse_weighted_metrics(weighted, self._acc_out, self._metrics, self._loss_ids)
        self._wmetric_args = _as_given(weighted)
        self.metrics_names = self._metric_keys()

    def load_weights(self, filepath: Union[str, "os.PathLike[str]"]) -> None:
        """Keras' load_weights: the weights of a file written by
        save_weights or save (or lf_model_save) whose model has the same
        weight arrays in the same order and shapes (as Keras matches them,
        by position); every shape is checked before any weight changes."""
        path = os.fspath(filepath)
        if path.lower().endswith(".weights.h5"):
            from . import keras_file
            return keras_file.load_weights(self, path)
        theirs = load_model(path, compile=False).get_weights()
        ours = self.get_weights()
        if len(theirs) != len(ours):
            raise ValueError("load_weights: '%s' holds %d weight arrays, this model has %d" % (path, len(theirs),
                                                                                                  len(ours)))
        for i, (a, b) in enumerate(zip(theirs, ours)):
            if a.shape != b.shape:
                raise ValueError("load_weights: weight array %d of '%s' has shape %s, this model's %s"
                                 % (i, path, a.shape, b.shape))
        self.set_weights(theirs)

    # ------------------------------------------------------------ pickle, copy
    def __reduce__(self):
        """pickle, copy.deepcopy and joblib: the model travels as the bytes of
        its model file (architecture, weights, optimizer settings and state,
        an attached TextVectorization) and comes back through load_model,
        predicting bit for bit as before (a new object: it shares no layer
        with this one); with them travel what the file does not hold: the
        class (Model, Sequential), the name, the seed and compile()'s
        metrics, loss and loss weights as given."""
        return (_model_from_pickle, (self._file_bytes(), self._pickle_info()))

    def _file_bytes(self):
        fd, path = tempfile.mkstemp(suffix=".lf")
        os.close(fd)
        try:
            self.save(path)
            with open(path, "rb") as fh:
                return fh.read()
        finally:
            os.unlink(path)

    def _pickle_info(self):
        info = {"class": type(self), "name": self.name, "seed": self._seed, "compiled": self._compiled}
        if getattr(self, "_in_keys", None) is not None:  # inputs given as a dict: x is read by its keys
            info["in_keys"] = (list(self._in_keys), list(self._in_keys_given))
        if self._compiled:
            info.update(self._compile_kwargs())
        # the file of an uncompiled model names no outputs (load_model takes
        # its last layer): Model(x, [y, h, c]) would come back with c alone
        info["outputs"] = [self._node_names[id(t)] for t in self.outputs]
        return info

    def _restore_info(self, info):
        """What _pickle_info kept, on the model load_model made from the
        pickled file."""
        self.name = info.get("name", self.name)
        self._seed = info.get("seed", self._seed)
        if info.get("in_keys"):
            self._in_keys, self._in_keys_given = (list(k) for k in info["in_keys"])
        if self._compiled and "metrics" in info:
            self.optimizer = info["optimizer"]
            self.loss, self.loss_weights = info["loss"], list(info["loss_weights"])
            self._restore_metrics(info["metrics"], info.get("weighted_metrics") or [])

    # ------------------------------------------------------------ config (Keras' JSON)
    def get_config(self) -> Dict[str, Any]:
        """The architecture as Keras' functional config: {"name", "layers":
        [{"class_name", "name", "config" (the layer's get_config()),
        "inbound_nodes": [one {"args": [[layer, node, 0], ...], "kwargs":
        {...}} per call]}], "input_layers", "output_layers"}; node k is a
        layer's k-th call in this model.  No weights."""
        index, per_layer = {}, {}
        for t in self._nodes:
            if t._view is None:
                index[id(t)] = per_layer.get(id(t.layer), 0)
                per_layer[id(t.layer)] = index[id(t)] + 1

        def ref(t):  # output k of a call of several: [layer, node, k], as Keras
            if t._view is not None:
                return [self._names[id(t.layer)], index[id(t.inputs[0])], t._view]
            return [self._names[id(t.layer)], index[id(t)], 0]

        def call_of(t):  # a recurrent call's inputs after x are Keras' initial_state
            if isinstance(t.layer, (L._Recurrent, L.Bidirectional)) and len(t.inputs) > 1:
                return {"args": [ref(t.inputs[0])], "kwargs": {"initial_state": [ref(a) for a in t.inputs[1:]]}}
            return {"args": [ref(a) for a in t.inputs],
                    "kwargs": dict({k: ref(v) for k, v in t.extra.items() if v is not None}, **t.flags)}

        layers = []
        for ly in self._layers:
            nm = self._names[id(ly)]
            if isinstance(ly, L.InputLayer):
                cfg = {"batch_shape": [None] + list(ly.sample_shape), "dtype": ly.dtype, "name": nm}
                calls = []
            else:
                cfg = dict(ly.get_config(), name=nm)
                calls = [call_of(t) for t in self._nodes if t.layer is ly and t._view is None]
            layers.append({"class_name": type(ly).__name__, "name": nm, "config": cfg, "inbound_nodes": calls})
        return {"name": self.name, "layers": layers, "input_layers": [ref(t) for t in self.inputs],
                "output_layers": [ref(t) for t in self.outputs]}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Model":
        """A new Model (new weights) from get_config()'s dict."""
        return _model_from_config(config)

    def to_json(self, **kwargs) -> str:
        """Keras' model.to_json(): {"class_name": "Functional", "config":
        get_config()} as a JSON string; latefuse.model_from_json reads it."""
        return json.dumps({"class_name": "Functional", "config": self.get_config()}, **kwargs)

    def __repr__(self):
        return "<latefuse.Model '%s': %d layers, %d params>" % (self.name, len(self.layers),
                                                             self.count_params())


def _keras_layer_order(ins, outs, layers):
    """The layers (each once) in Keras 3's order of model.layers, which is
    also the order of get_weights(): by depth, the number of calls between
    a layer and the outputs (its deepest call), deepest first; layers of one
    depth in the order a depth-first walk from the outputs (each call's
    inputs left to right) first meets them; an Input no output depends on
    last.  keras/src/ops/function.py map_graph and _build_map."""
    in_ids = {id(t) for t in ins}

    def parents(t):
        if id(t) in in_ids:
            return []
        return list(t.inputs) + [t.extra[k] for k in sorted(t.extra) if t.extra[k] is not None]

    index, finished, post = {}, set(), []
    for out in outs:  # _build_map: post-order of the calls, first-visit index of the layers
        if id(out) in finished:
            continue
        index.setdefault(id(out.layer), len(index))
        stack = [(out, iter(parents(out)))]
        while stack:
            t, it = stack[-1]
            p = next(it, None)
            if p is None:
                stack.pop()
                finished.add(id(t))
                post.append(t)
            elif id(p) not in finished and all(p is not s[0] for s in stack):
                index.setdefault(id(p.layer), len(index))
                stack.append((p, iter(parents(p))))
    node_depth, layer_depth = {}, {}
    for t in reversed(post):  # map_graph: a call's depth, a layer's (its calls' maximum so far)
        d = max(node_depth.setdefault(id(t), 0), layer_depth.get(id(t.layer), 0))
        layer_depth[id(t.layer)] = node_depth[id(t)] = d
        for p in parents(t):
            node_depth[id(p)] = max(d + 1, node_depth.get(id(p), 0))
    return sorted(layers, key=lambda ly: (-layer_depth.get(id(ly), 0), index.get(id(ly), -1)))


_INT_KINDS = (np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.uint64)


def _as_input(a, t, what):
    """An input array as the library takes it: uint8 as it is (pixels),
    integers for an int32 input as int32 (token ids: no float copy; values
    beyond int32 refused here, beyond +-2^24 by the library), anything else
    as float32 (_lib.as_f32)."""
    arr = np.asarray(a)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if getattr(t.layer, "dtype", "float32") == "int32" and arr.dtype.type in _INT_KINDS:
        if arr.size and arr.dtype != np.int32 and (arr.min() < -2 ** 31 or arr.max() > 2 ** 31 - 1):
            raise ValueError("%s: values outside the int32 range" % what)
        return np.ascontiguousarray(arr, dtype=np.int32)
    return _lib.as_f32(arr, what)


def _batches(n, batch_size, steps, what):
    """evaluate's and predict's batches of n rows as Keras 3's array data
    adapter and EpochIterator cut them (keras/src/trainers/data_adapters/
    array_data_adapter.py, epoch_iterator.py): batch_size (None: 32, or
    ceil(n / steps) with steps), and the batches run: every one, or the
    first `steps` (more than there are: all, with Keras' warning)."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1):
        raise ValueError("%s: steps must be an integer >= 1 or None, got %r" % (what, steps))
    if batch_size is None:
        batch_size = int(math.ceil(n / steps)) if steps else 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError("%s: batch_size must be an integer >= 1, got %r" % (what, batch_size))
    size = -(-n // int(batch_size))
    if steps and steps > size:
        warnings.warn(_RAN_OUT, UserWarning)
    return int(batch_size), min(size, int(steps)) if steps else size


def _callback_list(callbacks, what):
    cbs = list(callbacks or [])
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise ValueError("%s: callbacks must be latefuse.callbacks.Callback objects, got %r"
                             % (what, type(cb).__name__))
    return cbs


def _row_accuracy(loss_id, p, t, labels, shape):
    """Each row's accuracy, as the library counts metrics=['accuracy'] for
    the loss: binary crossentropy, the share of the row's values on the
    right side of 0.5; categorical, the argmax of the scores against the
    targets' over the last axis of the output's shape (its mean over the
    positions); sparse, the argmax of the row against its class index.  p
    and t are the flat rows of the predictions (shape: their own) and
    targets (one-hot for a sparse loss, whose labels are the indices)."""
    if loss_id == _BINARY:
        return ((p > 0.5) == (t > 0.5)).mean(axis=1)
    if labels is not None:
        return (p.argmax(axis=1) == labels).astype(np.float64)
    c = shape[-1] if len(shape) > 1 else 1
    pc, tc = p.reshape(len(p), -1, c), t.reshape(len(t), -1, c)
    return (pc.argmax(axis=2) == tc.argmax(axis=2)).mean(axis=1)


def _class_rows(loss_id, t, dim):
    """The class of each row of targets t (n, columns) as the library picks
    it to apply class_weight: the index for a sparse loss, t > 0.5 for a
    binary output of one unit, else the argmax."""
    if loss_id == _SPARSE:
        return t[:, 0].astype(np.int64)
    if loss_id == _BINARY and dim == 1:
        return (t[:, 0] > 0.5).astype(np.int64)
    return t.argmax(axis=1)


def _auc(score, positive, w):
    """The exact ROC AUC of scores against boolean labels, rows weighted by
    w: the weighted share of (positive, negative) pairs ranked right, ties
    counting one half (Keras' AUC approximates it with 200 thresholds);
    0.0 without both classes, as Keras."""
    _, group = np.unique(score, return_inverse=True)
    pos = np.bincount(group, weights=w * positive)
    neg = np.bincount(group, weights=w * ~positive)
    if pos.sum() <= 0 or neg.sum() <= 0:
        return 0.0
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (pos.sum() * neg.sum()))


def _is_rows(x):
    """Whether the list x of a single-input model's x is one array given as
    nested Python lists (rows of lists, tuples or numbers, as
    X.tolist()), which Keras reads as one array, rather than a list of
    arrays, one per input (numpy arrays, texts)."""
    return (isinstance(x, (list, tuple)) and len(x) > 0 and
            all(isinstance(v, (list, tuple, numbers.Number, np.bool_)) for v in x))


def _is_lookup(p):
    from .lookup import _IndexLookup
    return isinstance(p, _IndexLookup)


def _is_texts(a):
    if isinstance(a, (list, tuple)):
        return len(a) > 0 and all(isinstance(v, (str, bytes)) or (isinstance(v, (list, tuple)) and len(v) == 1
                                                                  and isinstance(v[0], (str, bytes))) for v in a)
    return isinstance(a, np.ndarray) and a.dtype.kind in "USO"


_KERAS_FORMATS = {".keras": "Keras' .keras format (a zip of config.json and model.weights.h5)",
                  ".h5": "Keras' HDF5 format (.h5)", ".hdf5": "Keras' HDF5 format (.hdf5)"}


def _check_save_name(path, what):
    """Refuses the names of Keras' own file formats: latefuse writes one
    safetensors file and must not put it under a name that promises another
    format (save and ModelCheckpoint write .keras: keras_file.py)."""
    low = path.lower()
    for ext, fmt in _KERAS_FORMATS.items():
        if ext == ".keras" and what in ("save", "ModelCheckpoint"):
            continue
        if low.endswith(ext):
            raise ValueError("%s: '%s' asks for %s, which latefuse does not write; latefuse saves one "
                             "safetensors file: use a name ending in .lf or .safetensors" % (what, path, fmt))


def _model_from_config(cfg):
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ValueError("model config: not a dict with a 'layers' list")
    tensors, pending = {}, []
    for e in cfg["layers"]:
        kind = e.get("class_name")
        if kind == "InputLayer":
            c = e["config"]
            tensors[(e["name"], 0)] = L.Input(shape=tuple(c["batch_shape"][1:]), dtype=c.get("dtype"), name=c["name"])
            continue
        klass = L.Layer._types.get(kind)
        if klass is None or kind.startswith("_"):
            raise ValueError("model config: unknown layer class '%s'" % (kind,))
        layer = klass.from_config(dict(e["config"]))
        for k, call in enumerate(e.get("inbound_nodes", [])):
            pending.append((e["name"], k, layer, call))
    def is_ref(r):
        return isinstance(r, list) and len(r) == 3 and isinstance(r[0], str)

    def get(r):  # [layer, node, k]: output k of a call that returned a list
        v = tensors[(r[0], r[1])]
        return v[r[2]] if isinstance(v, list) else v

    while pending:  # calls whose inputs exist, a layer's calls in order
        done = []
        for item in pending:
            nm, k, layer, call = item
            refs = list(call["args"])
            for v in call.get("kwargs", {}).values():  # a ref, a list of them (initial_state), or a flag
                refs += [] if isinstance(v, bool) else [v] if is_ref(v) else list(v)
            if (k == 0 or (nm, k - 1) in tensors) and all((r[0], r[1]) in tensors for r in refs):
                kw = {key: r if isinstance(r, bool) else get(r) if is_ref(r) else [get(q) for q in r]
                      for key, r in call.get("kwargs", {}).items()}
                args = [get(r) for r in call["args"]]
                # MultiHeadAttention is called as layer(query, value[, key])
                mha = isinstance(layer, L.MultiHeadAttention)
                tensors[(nm, k)] = layer(*args, **kw) if mha else layer(args, **kw)
                done.append(item)
        if not done:
            raise ValueError("model config: the inputs of layer '%s' are never made (a missing layer or a cycle)"
                             % pending[0][0])
        pending = [p for p in pending if p not in done]
    def refs(v):  # Keras writes one tensor as [layer, node, 0], several as a list of them
        return [v] if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) else list(v)

    try:
        ins = [get(r) for r in refs(cfg["input_layers"])]
        outs = [get(r) for r in refs(cfg["output_layers"])]
    except (KeyError, IndexError, TypeError):
        raise ValueError("model config: 'input_layers' and 'output_layers' must name layers' outputs") from None
    return Model(ins, outs if len(outs) > 1 else outs[0], name=cfg.get("name"))


def model_from_json(json_string: str, custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """keras.models.model_from_json: a new Model (new weights) from
    Model.to_json()'s string."""
    if custom_objects:
        raise ValueError("model_from_json: custom_objects are not supported")
    d = json.loads(json_string)
    if not isinstance(d, dict) or d.get("class_name") not in ("Functional", "Model", "Sequential"):
        raise ValueError("model_from_json: not a model's JSON (class_name 'Functional' expected)")
    if d["class_name"] == "Sequential":
        return Sequential.from_config(d["config"])
    return _model_from_config(d["config"])


def clone_model(model: "Model", input_tensors: Any = None, clone_function: Any = None, call_function: Any = None,
                recursive: bool = False, **kwargs) -> "Model":
    """keras.models.clone_model(model): a new model of the same architecture
    (Model or Sequential, rebuilt from get_config()) with new layers, so new
    weights (drawn from the seed) that it shares with no model, uncompiled,
    as Keras'.  input_tensors, clone_function and call_function are not
    supported."""
    if kwargs:
        raise ValueError("Unexpected keyword argument(s): %s" % (tuple(kwargs),))
    if not isinstance(model, Model):
        raise ValueError("clone_model: expected a latefuse Model or Sequential, got %r" % type(model).__name__)
    for arg, v in (("input_tensors", input_tensors), ("clone_function", clone_function),
                   ("call_function", call_function)):
        if v is not None:
            raise NotImplementedError("clone_model: the argument %s is not supported; the clone is rebuilt from "
                                      "the model's get_config() with new weights" % arg)
    if isinstance(model, Sequential):
        return Sequential.from_config(model.get_config())
    return Model.from_config(model.get_config())


def _once_built(name):
    """A Sequential's view of Model's property `name`: the model's, once
    built (an Input first builds it), else the "not yet built" error."""
    def get(self):
        self._unbuilt(name)
        return getattr(Model, name).fget(self)
    return property(get, doc="Model.%s, once built (an Input first builds it)." % name)


class Sequential(Model):
    """Sequential(layers=None, name=None, seed=None), as keras.Sequential: a
    stack of layers, each called on the previous one's output.  The first
    entry may be an Input(shape): then, as Keras, the model is built as soon
    as it holds a layer (at construction, or at the add() of its first
    layer) and built again after each add(), the layers keeping their
    weights (a compiled model is compiled again with the same arguments; its
    optimizer starts afresh).  Without an Input the model is built by
    build(input_shape) or at its first fit / predict / evaluate / call from
    the data's shape (compile may come before), which gives it its Input:
    an add() after is built again in the same way, as Keras 3.  `layers` lists the stacked layers, without the InputLayer (as
    Keras).  Used as a layer of a bigger model (seq(x)) it is inlined like a
    nested Model."""

    def __init__(self, layers: Optional[List[Any]] = None, name: Optional[str] = None,
                 seed: Optional[int] = None) -> None:
        self._handle = None
        self._stack, self._seq_input, self._deferred = [], None, None
        self._input_given = False   # the Input came from the user (not from build(shape) or data)
        self._pending_weights = {}  # stack position -> weights to set when built (an unpickled unbuilt copy)
        self.name = name or "sequential"
        self._seed = 0 if seed is None else int(seed)
        self._c_compiled = self._compiled = False
        self.loss = self.optimizer = self._loss_id = None
        self.metrics_names, self._acc, self._metrics, self._metric_args = [], [], [], []
        self._acc_out = []
        self._wmetrics, self._wmetric_args = [], []
        self.inputs = None
        for ly in layers or []:
            self._append(ly)
        self._maybe_build()

    @property
    def built(self) -> bool:
        return self._handle is not None

    @property
    def layers(self) -> List[Any]:
        """The stacked layers (a nested model as one entry), without the
        InputLayer: Keras' Sequential.layers."""
        if self._stack is None:  # unpickled with a nested model inlined: the graph's layers
            return [ly for ly in self._layers if not isinstance(ly, L.InputLayer)]
        return list(self._stack)

    def _trainable_layers(self):
        if self.built:
            return self._layers
        return [x for ly in self._stack for x in (ly._trainable_layers() if isinstance(ly, Model) else [ly])]

    def _append(self, layer):
        if isinstance(layer, L.KerasTensor) and isinstance(layer.layer, L.InputLayer):
            if self._stack or self._seq_input is not None:
                raise ValueError("Sequential.add: an Input can only come first")
            self._seq_input, self._input_given = layer, True
            return
        if isinstance(layer, L.InputLayer):  # another model's (its .layers[0]): a new Input like it, as Keras
            if self._stack or self._seq_input is not None:
                raise ValueError("Sequential.add: an Input can only come first")
            self._seq_input = L.Input(shape=layer.sample_shape, dtype=layer.dtype, name=layer._user_name)
            self._input_given = True
            return
        if not isinstance(layer, (L.Layer, Model)):
            raise ValueError("Sequential.add: expected a layer, got %r" % type(layer).__name__)
        if self._stack is None:
            raise ValueError("Sequential.add: this model came back from pickle with a nested model inlined; "
                             "its layers cannot be stacked again")
        if not self._stack and self._seq_input is None:
            # Keras' Sequential.add / _maybe_rebuild (keras/src/models/sequential.py):
            # a first layer given input_shape / input_dim stacks an InputLayer of
            # that shape; a first model of one known input builds on its shape
            if getattr(layer, "_input_shape_arg", None) is not None:
                self._seq_input, self._input_given = L.Input(shape=layer._input_shape_arg), True
            elif isinstance(layer, Model) and layer.inputs is not None and len(layer.inputs) == 1:
                t = layer.inputs[0]
                self._seq_input = L.Input(shape=t.sample_shape, dtype=t.layer.dtype)
                self._input_given = True
        self._stack.append(layer)

    def add(self, layer) -> None:
        """Appends a layer (or an Input first).  With an Input first the
        model is built (again) at once, as Keras."""
        self._append(layer)
        if isinstance(layer, (L.KerasTensor, L.InputLayer)):
            return
        try:
            self._maybe_build()
        except BaseException:
            self._stack.pop()
            raise

    def _maybe_build(self):
        """Keras' _maybe_rebuild: a Sequential that has an Input (given
        first, or made by build() or its first data, which Keras 3 stacks
        as an InputLayer) is built once it holds a layer, and built again
        when it gets another."""
        if self._seq_input is None or not self._stack:
            return
        if self.built:
            self._rebuild()
        else:
            self.build()

    def _make_graph(self):
        x = self._seq_input
        for ly in self._stack:
            x = ly(x)
        self._graph_init(self._seq_input, x, self.name, self._seed)
        self._handle, self._ids = self._create_c(None)

    def build(self, input_shape=None) -> None:
        """Builds the model for inputs of input_shape ((None, ...) or the
        sample shape); without it, from the Input given first."""
        if self.built:
            return
        if input_shape is not None and self._seq_input is None:
            shape = tuple(input_shape)
            self._seq_input = L.Input(shape[1:] if shape and shape[0] is None else shape)
        if self._seq_input is None:
            raise ValueError("Sequential.build: no input shape: give an Input first or build(input_shape)")
        if not self._stack:
            raise ValueError("Sequential: the model has no layers")
        self._make_graph()
        self._adopt()
        for i, ws in sorted(self._pending_weights.items()):
            self._set_layer_weights(self._stack[i], ws)
        self._pending_weights = {}
        if self._deferred is not None:
            args, kwargs = self._deferred
            self._deferred = None
            Model.compile(self, *args, **kwargs)

    def _rebuild(self):
        """add() on a built model: a new graph and C model holding every
        layer; the layers it had keep their weights (copied from the old C
        model), a compiled model is compiled again with its arguments.  On
        failure the model is left as it was."""
        self._sync()
        saved = dict(self.__dict__)
        old_h, old_names, fresh = self._handle, self._names, []
        try:
            self._handle = None
            self._make_graph()
            fresh = [ly for ly in self._layers if ly._holder is None]
            for ly in self._layers:
                if id(ly) not in old_names:
                    continue
                self._copy_layer(old_h, old_names[id(ly)], self._handle, self._names[id(ly)])
                self._have[id(ly)] = ly._version
            self._adopt()
            self._c_compiled = False
            if self._compiled:
                Model.compile(self, **self._compile_kwargs())
        except BaseException:
            if self._handle is not None and self._handle is not old_h:
                lib.lf_model_free(self._handle)
            for ly in fresh:
                ly._holder = None
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        self._release(saved, [ly for ly in saved["_layers"] if id(ly) not in self._names])

    def _release(self, state, gone):
        """After a rebuild or unbuild: the C model of `state` (this model's
        __dict__ before) is freed, unless some of the layers `gone` from the
        model have their only current weights there (pop): then a Model
        kept by those layers holds it (they keep their weights, as a popped
        Keras layer keeps its variables, and a model they join later copies
        them from it).  The others gone that it held hold nothing again."""
        keep = [ly for ly in gone if ly._holder is self and
                lib.lf_layer_num_weights(state["_handle"], _enc(state["_names"][id(ly)])) > 0]
        for ly in gone:
            if ly._holder is self and ly not in keep:
                ly._holder = None
        if not keep:
            lib.lf_model_free(state["_handle"])
            return
        k = Model.__new__(Model)
        k.__dict__.update({key: state[key] for key in ("_handle", "_ids", "_names", "_node_names", "_first",
                                                          "_nodes", "inputs", "outputs", "_have", "_tv", "_seed",
                                                          "name", "_c_compiled", "_compiled")})
        k._layers = keep
        for ly in keep:
            ly._holder = k

    def pop(self) -> Any:
        """Removes the last layer (or nested model) and returns it, as Keras
        3's Sequential.pop(); TypeError("There are no layers in the model.")
        when there is none.  An unbuilt model just drops it.  A built one is
        built again without it, from its Input (given, or made by build()
        or the first data), as add() does: the other layers keep their
        weights, a compiled model is compiled again with the same arguments
        (its optimizer starts afresh); the popped layer keeps its weights.
        Popping the last layer leaves the model unbuilt, holding its Input
        (a compiled model is compiled again when it is built again)."""
        if self._stack is None:
            raise ValueError("Sequential.pop: this model came back from pickle with a nested model inlined; "
                             "its layers cannot be removed")
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        if not self.built:
            self._pending_weights.pop(len(self._stack) - 1, None)
            return self._stack.pop()
        layer = self._stack.pop()
        try:
            if self._stack:
                self._rebuild()
            else:
                self._unbuild()
        except BaseException:
            self._stack.append(layer)
            raise
        return layer

    def _unbuild(self):
        """pop() of the only layer: the model is unbuilt again, holding its
        Input and, if compiled, compile()'s arguments for its next build."""
        self._sync()
        saved = dict(self.__dict__)
        if self._compiled:
            self._deferred = ((), self._compile_kwargs())
        self._handle = None
        self._c_compiled = False
        self.inputs = self.outputs = None
        self._layers, self._nodes, self._names, self._have = [], [], {}, {}
        self._release(saved, saved["_layers"])

    def _built_from(self, x):
        if not self.built and self._seq_input is not None:
            self.build()
        if not self.built:
            a = x[0] if isinstance(x, (list, tuple)) and len(x) == 1 and not _is_rows(x) else x
            if isinstance(a, L.KerasTensor):
                self.build((None,) + a.sample_shape)
            else:
                shape = np.shape(a)
                if len(shape) < 2:
                    raise ValueError("Sequential: cannot build from data of shape %s: give an Input first" % (shape,))
                self.build((None,) + tuple(shape[1:]))

    def _unbuilt(self, what):
        if not self.built and self._seq_input is not None:
            self.build()
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by calling `build()` "
                             "or by calling the model on a batch of data (%s)." % what)

    @property
    def input_shape(self):
        if not self.built and self._seq_input is not None:
            return self._seq_input.shape
        self._unbuilt("input_shape")
        return Model.input_shape.fget(self)

    @property
    def output_shape(self):
        self._unbuilt("output_shape")
        return Model.output_shape.fget(self)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Any:
        """The layer with this name (or at this index of model.layers, which
        has no InputLayer); a nested model by its name."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: index=%s, name=%s."
                             % (index, name))
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError("Was asked to retrieve layer at index %s but model only has %d layers."
                                 % (index, len(self.layers)))
            return self.layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for ly in self.layers:
            nm = ly.name if isinstance(ly, Model) or not self.built else self._names[id(ly)]
            if nm == name:
                return ly
        if self.built:
            return Model.get_layer(self, name)  # also a nested model's layers, by their names here
        raise ValueError("No such layer: %s. Existing layers are: %s" %
                         (name, ", ".join(str(ly.name) for ly in self.layers)))

    def compile(self, *args, **kwargs):
        if not self.built:
            _optimizers.get(args[0] if args else kwargs.get("optimizer", "rmsprop"))  # checked now
            self._deferred = (args, kwargs)
            self._compiled = True
            return
        Model.compile(self, *args, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        self._built_from(x)
        return Model.fit(self, x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._built_from(x)
        return Model.predict(self, x, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._built_from(x)
        return Model.evaluate(self, x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._built_from(x)
        return Model.train_on_batch(self, x, y, *args, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        self._built_from(inputs)
        return Model.__call__(self, inputs, *args, **kwargs)

    def summary(self, *args, **kwargs):
        self._unbuilt("summary")
        return Model.summary(self, *args, **kwargs)

    def get_weights(self):
        self._unbuilt("get_weights")
        return Model.get_weights(self)

    trainable_weights = _once_built("trainable_weights")
    non_trainable_weights = _once_built("non_trainable_weights")
    input_names = _once_built("input_names")
    output_names = _once_built("output_names")

    def count_params(self):
        self._unbuilt("count_params")
        return Model.count_params(self)

    def set_weights(self, weights):
        self._unbuilt("set_weights")
        return Model.set_weights(self, weights)

    def save(self, *args, **kwargs):
        self._unbuilt("save")
        return Model.save(self, *args, **kwargs)

    def save_weights(self, *args, **kwargs):
        self._unbuilt("save_weights")
        return Model.save_weights(self, *args, **kwargs)

    def load_weights(self, *args, **kwargs):
        self._unbuilt("load_weights")
        return Model.load_weights(self, *args, **kwargs)

    def get_config(self) -> Dict[str, Any]:
        """Keras' Sequential config: {"name", "layers": [InputLayer config,
        then {"class_name", "config"} per layer]} (plain layers only)."""
        self._unbuilt("get_config")
        out = [{"class_name": "InputLayer", "config": {"batch_shape": [None] + list(self.inputs[0].sample_shape),
                                                        "dtype": self.inputs[0].layer.dtype,
                                                        "name": self._names[id(self.inputs[0].layer)]}}]
        for ly in self._stack if self._stack is not None else [self]:
            if isinstance(ly, Model):
                raise NotImplementedError("Sequential.get_config: a nested model inside a Sequential has no config here")
            out.append({"class_name": type(ly).__name__, "config": dict(ly.get_config(), name=self._names[id(ly)])})
        return {"name": self.name, "layers": out}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Sequential":
        seq = cls(name=config.get("name"))
        for e in config["layers"]:
            if e["class_name"] == "InputLayer":
                c = e["config"]
                seq._append(L.Input(shape=tuple(c["batch_shape"][1:]), dtype=c.get("dtype"), name=c.get("name")))
            else:
                klass = L.Layer._types.get(e["class_name"])
                if klass is None:
                    raise ValueError("model config: unknown layer class '%s'" % (e["class_name"],))
                seq._append(klass.from_config(dict(e["config"])))
        if seq._seq_input is not None:
            seq.build()
        return seq

    # ------------------------------------------------------------ pickle, copy
    def __reduce__(self):
        """A built Sequential travels as a Model does (its file's bytes, with
        its class, name and compile arguments); an unbuilt one as its
        layers' configurations (and the weights of those that have some),
        its Input and its pending compile(), and comes back unbuilt."""
        if self.built:
            info = self._pickle_info()
            info["input_given"] = self._input_given
            return (_model_from_pickle, (self._file_bytes(), info))
        stack = []
        for ly in self._stack:
            if isinstance(ly, Model):
                stack.append(("model", ly))
                continue
            cfg = dict(ly.get_config(), name=ly._user_name)
            ws = ly._holder._layer_weights(ly) if ly._holder is not None else None
            stack.append(("layer", type(ly), cfg, ly._built_name, ly.trainable, ws))
        t = self._seq_input
        info = {"class": type(self), "name": self.name, "seed": self._seed, "compiled": self._compiled,
                "deferred": self._deferred, "input_given": self._input_given, "stack": stack,
                "input": None if t is None else (t.sample_shape, t.layer.dtype, t.layer._user_name),
                "pending_weights": dict(self._pending_weights)}
        return (_model_from_pickle, (None, info))

    @classmethod
    def _from_unbuilt_state(cls, info):
        seq = cls.__new__(cls)
        Sequential.__init__(seq, name=info["name"], seed=info["seed"])
        if info["input"] is not None:
            shape, dtype, name = info["input"]
            seq._append(L.Input(shape=shape, dtype=dtype, name=name))
            seq._input_given = info["input_given"]
        for i, e in enumerate(info["stack"]):
            if e[0] == "model":
                ly = e[1]
            else:
                _, klass, cfg, built_name, trainable, ws = e
                ly = klass.from_config(dict(cfg))
                ly._built_name = built_name
                ly.trainable = trainable
                if ws is not None:
                    seq._pending_weights[i] = ws
            seq._append(ly)
        seq._pending_weights.update(info.get("pending_weights", {}))
        seq._deferred, seq._compiled = info["deferred"], info["compiled"]
        return seq

    @staticmethod
    def _from_loaded(m, cls, info):
        """The Model load_model made from a pickled Sequential's file, made a
        Sequential again: its stack is the graph's chain of layers (None
        when a nested model made it other than a chain)."""
        m.__class__ = cls
        m._seq_input, m._deferred, m._pending_weights = m.inputs[0], None, {}
        m._input_given = info.get("input_given", True)
        m._stack, prev = [], m.inputs[0]
        for t in m._nodes[1:]:
            if len(m.inputs) != 1 or t.inputs != [prev] or any(v is not None for v in t.extra.values()):
                m._stack = None
                break
            m._stack.append(t.layer)
            prev = t
        if m._stack is not None and (len(m.outputs) != 1 or prev is not m.outputs[0]):
            m._stack = None

    def to_json(self, **kwargs) -> str:
        return json.dumps({"class_name": "Sequential", "config": self.get_config()}, **kwargs)

    def __repr__(self):
        if not self.built:
            return "<latefuse.Sequential '%s': %d layers, not built>" % (self.name, len(self._stack))
        return Model.__repr__(self)


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


_SUMMARY_ROW = re.compile(r"^(?P<lt>.+?) +(?P<shape>\(None[^)]*\)) +(?P<params>\d+)  (?P<conn>.*)$")


def _summary_relayout(text, line_length, positions, show_trainable, layer_range, trainable_mark):
    """The C summary's rows laid out by Keras 3's print_summary rules
    (keras/src/utils/summary_utils.py): column widths int(p * line_length)
    - the ones before (ValueError below 4), show_trainable scaling the
    positions by 0.9 and adding a column; layer_range by
    get_layer_index_bound_by_layer_name's rules."""
    lines = text.split("\n")
    rows = [m.groupdict() for m in map(_SUMMARY_ROW.match, lines) if m]
    last_rule = max(i for i, ln in enumerate(lines) if ln.startswith("="))
    totals = lines[last_rule + 1:]
    header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    align = ["left", "left", "right", "left"]
    line_length = (110 + (12 if show_trainable else 0)) if line_length is None else int(line_length)
    positions = [0.3, 0.56, 0.74, 1.0] if positions is None else [float(p) for p in positions]
    if len(positions) != len(header):
        raise ValueError("summary: positions must give the right ends of the %d columns (%s), got %r"
                         % (len(header), ", ".join(header), positions))
    names = [r["lt"].rsplit(" (", 1)[0] for r in rows]
    if layer_range is not None:
        if len(layer_range) != 2:
            raise ValueError("layer_range must be a list or tuple of length 2. Received: layer_range = %s of "
                             "length %d" % (layer_range, len(layer_range)))
        if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
            raise ValueError("layer_range should contain string type only. Received: %s" % (layer_range,))
        lower = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
        upper = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
        if not lower or not upper:
            raise ValueError("Passed layer_names do not match the layer names in the model. Received: %s"
                             % (layer_range,))
        lo, hi = (min(upper), max(lower) + 1) if min(lower) > max(upper) else (min(lower), max(upper) + 1)
        rows, names = rows[lo:hi], names[lo:hi]
    cells = [[r["lt"], r["shape"], r["params"], r["conn"]] for r in rows]
    if show_trainable:
        positions = [p * 0.90 for p in positions] + [1.0]
        header, align = header + ["Trainable"], align + ["center"]
        for c, n in zip(cells, names):
            c.append(trainable_mark(n))
    widths, current = [], 0
    for pos in positions:
        w = int(pos * line_length) - current
        if w < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(w)
        current += w

    def render(row):
        # each cell folded to its column less one space of gap
        parts = [textwrap.wrap(c, w - 1, break_long_words=True, break_on_hyphens=False) or [""]
                 for c, w in zip(row, widths)]
        out = []
        for k in range(max(len(p) for p in parts)):
            ln = ""
            for p, w, a in zip(parts, widths, align):
                t = p[k] if k < len(p) else ""
                t = t.rjust(w - 1) if a == "right" else t.center(w - 1) if a == "center" else t.ljust(w - 1)
                ln += t + " "
            out.append(ln.rstrip())
        return out

    rule, dbl = "_" * line_length, "=" * line_length
    out = [lines[0], rule] + render(header) + [dbl]
    for i, c in enumerate(cells):
        out += render(c) + [rule if i + 1 < len(cells) else dbl]
    if not cells:
        out.append(dbl)
    return "\n".join(out + totals)


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
    """The Optimizer of a model file's "optimizer" object (C validated it):
    its kind's own arguments, and the others that are set"""
    names = ["sgd", "adam", "rmsprop", "adagrad", "adamax", "nadam", "adadelta", "lion"]
    if "schedule" in d:  # the optimizer's learning_rate is the schedule's initial rate
        d = dict(d, learning_rate=_schedules._from_file(d["schedule"], d["learning_rate"]))
    name = d.get("name", "adam")
    cls = _optimizers._BY_KIND[names.index(name)] if name in names else _optimizers.Adam
    kw = {"use_ema": d.get("use_ema", False), "ema_momentum": d.get("ema_momentum", 0.99)}
    # weight decay and clips, amsgrad, centered: written only when set (absent = off)
    kw.update({k: d[k] for k in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm") if k in d})
    kw.update({k: d[k] for k in cls._keys if k in d})
    return cls(d["learning_rate"], **kw)


def _model_from_pickle(data: Optional[bytes], info: Dict[str, Any]) -> Model:
    """A model from Model.__reduce__'s file bytes and info (an unbuilt
    Sequential: no bytes, its layers in info)."""
    cls = info.get("class", Model)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ValueError("pickled model: %r is not a latefuse Model class" % (cls,))
    if data is None:
        return cls._from_unbuilt_state(info)
    m = _model_from_bytes(data, info.get("compiled", True), info.get("outputs"))
    m._restore_info(info)
    if issubclass(cls, Sequential):
        Sequential._from_loaded(m, cls, info)
    elif cls is not Model:
        m.__class__ = cls
    return m


def _model_from_bytes(data: bytes, compile: bool = True, outputs: Optional[List[str]] = None) -> Model:
    """A model from the bytes of its model file (Model.__reduce__ before it
    kept the class, name and metrics: such pickles still load)."""
    fd, path = tempfile.mkstemp(suffix=".lf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _load_lf(path, compile, 0, outputs)
    finally:
        os.unlink(path)


def save_model(model: Model, filepath: Union[str, "os.PathLike[str]"], overwrite: bool = True, **kwargs) -> None:
    """keras.models.save_model(model, filepath): model.save(filepath) (a
    .keras name: Keras 3's zip; otherwise latefuse's model file)."""
    if not isinstance(model, Model):
        raise ValueError("save_model: expected a latefuse Model or Sequential, got %r" % type(model).__name__)
    model.save(filepath, overwrite=overwrite, **kwargs)


def _is_zip(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def load_model(filepath: Union[str, "os.PathLike[str]"], compile: bool = True, seed: int = 0) -> Model:
    """Loads a model saved by Model.save (or the C library / CLI).  The file
    is validated completely by the library; a compiled model comes back
    compiled with its loss, optimizer, metrics and weighted_metrics (files
    written before they were kept: none) and (if saved) optimizer state.  A Keras 3 .keras file (a zip: its name ends in .keras, or it
    starts as a zip does) is read by keras_file.load: the model of its
    config.json with the weights of its model.weights.h5, compiled from its
    compile_config."""
    path = os.fspath(filepath)
    if path.lower().endswith(".keras") or _is_zip(path):
        from . import keras_file
        return keras_file.load(path, compile=compile, seed=seed)
    return _load_lf(path, compile, seed)


def _load_lf(path, compile, seed, outputs=None):
    """load_model of a latefuse model file; outputs: the names of the
    model's outputs when the caller knows them (a pickled model: the file
    of an uncompiled model names none, and its last layer is the output)"""
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
            elif kind == "OutputView":  # output k of a call that returned a list
                src = tensors[spec["inbound"][0]]
                if not src._views:  # pragma: no cover - the library reads no such file
                    raise LatefuseError("load_model: layer '%s' views a layer of one output" % nm)
                t = src._views[int(spec["index"])]
                t._node_name = nm
                tensors[nm] = t
                continue
            elif spec.get("shares"):  # a layer called again: the owner's layer object
                ins = [tensors[s] for s in spec.get("inbound", [])]
                owner = tensors[spec["shares"]].layer
                if isinstance(owner, L.MultiHeadAttention):  # layer(query, value, key) and its call arguments
                    am = tensors[spec["attention_mask"]] if spec.get("attention_mask") else None
                    t = owner(*ins, attention_mask=am, use_causal_mask=bool(spec.get("use_causal_mask")),
                              return_attention_scores=bool(spec.get("return_attention_scores")))
                else:
                    extra = {k: tensors[spec[k]] for k in ("gate", "mask") if spec.get(k)}
                    t = owner(ins, **extra)
                t = t[0].inputs[0] if isinstance(t, list) else t  # a list: views of one node
                t._node_name = nm
            else:
                ins = [tensors[s] for s in spec.get("inbound", [])]
                cls = L.Layer._types.get(kind)
                if cls is None:  # pragma: no cover - the library rejects unknown types
                    raise LatefuseError("load_model: unknown layer type '%s'" % kind)
                t = cls._load(spec, ins, tensors)
                t = t[0].inputs[0] if isinstance(t, list) else t
            if spec.get("trainable", True) is False:
                t.layer._trainable = False
            tensors[nm] = t
        if outputs is None and "model_outputs" in arch:  # an uncompiled model's (lf_model_set_outputs)
            outputs = arch["model_outputs"]
        if outputs is not None and not ("output" in arch or "outputs" in arch):
            out = [tensors[o] for o in outputs]
            out = out if len(out) > 1 else out[0]
        elif "outputs" in arch:
            out = [tensors[o] for o in arch["outputs"]]
        else:
            out = tensors[arch["output"]] if "output" in arch else tensors[arch["layers"][-1]["name"]]
        m = Model.__new__(Model)
        m._handle = None
        m._graph_init(inputs, out, None, seed)
        m._handle, owned = h, True
        m._ids = {id(t): lib.lf_node_find(h, _enc(m._node_names[id(t)])) for t in m._nodes}
        for k, t in enumerate(m.inputs):  # inputs fed by a TextVectorization or a lookup kept in the file
            p, q = lib.lf_model_textvec(h, m._ids[id(t)]), lib.lf_model_lookup(h, m._ids[id(t)])
            if p or q:
                if p:
                    from .text import TextVectorization
                    tv = TextVectorization._from_handle(p)
                    s = L.Input(shape=(1,), dtype="string")
                else:
                    from .lookup import _IndexLookup
                    tv = _IndexLookup._from_handle(q)
                    # "int": one index per value; the other modes: the raw width is not kept (1 here)
                    width = t.sample_shape[0] if tv.output_mode == "int" else 1
                    s = L.Input(shape=(width,), dtype="string" if tv._string else "int64")
                s.layer._vectorized, t.layer._text = t, (s, tv)
                m._tv[k] = tv
        m._adopt()
        m._c_compiled = "output" in arch or "outputs" in arch
        m._compiled = bool(compile) and m._c_compiled
        loss_names = arch.get("losses") or ([arch["loss"]] if "loss" in arch else [])
        m.loss = ([None if ls == "none" else ls for ls in loss_names] if len(loss_names) > 1 else
                  arch.get("loss")) if m._compiled else None
        m.loss_weights = arch.get("loss_weights", [1.0] * len(m.outputs))
        m._loss_ids = [lib.lf_loss_parse(_enc(ls)) for ls in loss_names] if m._c_compiled else None
        m._loss_id = m._loss_ids[0] if m._c_compiled else None
        m.optimizer = _optimizer_from(arch.get("optimizer", {})) if m._compiled else None
        m._pull_iterations()
        m._acc, m._acc_out = [], [[] for _ in m.outputs]
        m._metrics = []
        m._metric_args = []
        m._wmetrics = []
        m._wmetric_args = []
        m.metrics_names = m._metric_keys() if m._compiled else []
        if m._compiled:  # compile's metrics, kept in the file (lf_model_set_metrics; older files: none)
            mt, wm = (lib.lf_model_metrics(h, k) for k in (0, 1))
            if mt or wm:
                m._restore_metrics(json.loads(mt) if mt else [], json.loads(wm) if wm else [])
        return m
    except BaseException:
        if not owned:
            lib.lf_model_free(h)
        raise
