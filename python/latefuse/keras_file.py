"""
keras_file.py — Keras 3's `.keras` model files, read by load_model and
written by Model.save / save_model.

The format (keras/src/saving/saving_lib.py, Keras 3.16, followed here): a zip
of three members, stored uncompressed, written in this order:
  metadata.json     {"keras_version", "date_saved"};
  config.json       serialize_keras_object(model): {"module", "class_name"
                    ("Functional" or "Sequential"), "config", "registered_name",
                    "build_config", "compile_config"}; a Functional's config
                    lists its layers in model.layers' order, each {"module",
                    "class_name", "config", "registered_name", "name",
                    "inbound_nodes": [{"args", "kwargs"}]} where a tensor is
                    {"class_name": "__keras_tensor__", "config": {"shape",
                    "dtype", "keras_history": [layer, node, k]}}, k the
                    output of a call that returned a list (return_state,
                    merge_mode=None), a recurrent call's states its kwarg
                    "initial_state" (keras/src/models/functional.py,
                    serialize_node);
  model.weights.h5  H5IOStore: _save_state walks the model; a Functional's or
                    Sequential's "layers" container names each layer by its
                    class in snake case made unique in order (dense, dense_1,
                    ...: _save_container_state), then the layer's public
                    sub-objects (sorted; "_"-names last): LSTM's "cell",
                    Bidirectional's "backward_layer"/"forward_layer",
                    MultiHeadAttention's "key_dense", "output_dense",
                    "query_dense", "value_dense"; GroupedQueryAttention's
                    private "_key_dense", "_output_dense", "_query_dense",
                    "_value_dense".  Each saveable's variables
                    are datasets "0", "1", ... of the group "<path>/vars"
                    (attribute "name"), in save_own_variables' order (Dense,
                    Conv, EinsumDense: kernel, bias; BatchNormalization:
                    gamma, beta, moving_mean, moving_variance; Embedding:
                    embeddings; LSTM/GRU/SimpleRNN cells: kernel,
                    recurrent_kernel, bias) — the order of get_weights().

Read: config.json becomes a latefuse model (Keras' layer classes are ours by
name; their Keras-only arguments that only set initial weights or that are
off are dropped; any other is an error naming it; constraints and
regularizers are {"module": "keras.constraints" / "keras.regularizers",
"class_name", "config", "registered_name": null}, latefuse's classes of
those names, anything else an error naming the argument), nested Functional and
Sequential models are inlined; weights come from model.weights.h5, every one
checked before any is set; compile_config compiles it (optimizer, loss,
loss_weights, metrics, weighted_metrics: names, Keras' serialized
functions, and latefuse.losses / latefuse.metrics' classes in Keras'
serialized form, so a crossentropy's from_logits).  The optimizer's variables ("optimizer/vars":
iterations, learning_rate, then the per-variable state in Keras' order, _keras_slot_groups)
are read and written, so a loaded model trains on as the saved one would have.
Write: the same layout, with the layers' latefuse configs (Keras' argument
names; initializers as Keras 3 serializes them, {"module":
"keras.initializers", "class_name", "config", "registered_name": null}: read
in that form or as a name, both dropped), the optimizer's variables of a compiled
model (none for Adamax, Nadam, Adadelta and use_ema).
A StringLookup / IntegerLookup / TextVectorization between the string (or
integer) Input and the rest: the model's attached preprocessing object, its
vocabulary in the config (given) or in the archive's assets/<layer path>/
vocabulary.txt (index_lookup.py save_assets / load_assets), tf_idf's idf
weights in model.weights.h5 <layer path>/vars/idf_weights; read and written.
TimeDistributed(layer or model): the wrapped one under the config's "layer"
(a model as its own Functional / Sequential config, its layers named as in
the saving model) and its weights under <layer path>/layer; read and written.
Not read or written: custom objects, Lambda layers.  A config.json of
another layout (a value of another type than Keras 3 writes, a tensor
argument without a layer's keras_history) is load_model's ValueError
naming the file and the layer.

h5py (Debian: python3-h5py) is imported on first use.
"""
import datetime
import io
import json
import os
import re
import tempfile
import zipfile

import numpy as np

from . import layers as L

# Keras' arguments latefuse does not take, dropped when at these values (their
# defaults in keras/src/layers: base_conv.py, pooling, rnn/lstm.py ...): the
# layer computes the same; any other value is an error naming it
_DEFAULTS = {"data_format": ["channels_last"], "dilation_rate": [1, [1], [1, 1]], "groups": [1],
             "use_cudnn": ["auto"], "keepdims": [False],
             "attention_axes": [[1]]}  # MultiHeadAttention, built on (batch, steps, features): the steps

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
KERAS_VERSION = "3.16.0"  # the saving_lib.py this file follows


def _h5py(what):
    try:
        import h5py
    except ImportError:
        raise ImportError("%s .keras files needs h5py: apt install python3-h5py" % what) from None
    return h5py


def _snake(name):
    """keras/src/utils/naming.py's to_snake_case"""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name, used):
    """saving_lib._get_unique_name"""
    if name in used:
        used[name] += 1
        return "%s_%d" % (name, used[name])
    used[name] = 0
    return name


def _slots(ly, n):
    """(sub-path, variable index) in model.weights.h5 of each of the layer's
    n weights, in get_weights' order."""
    if isinstance(ly, L.Bidirectional):
        return [("forward_layer/cell", i) for i in range(n // 2)] + [("backward_layer/cell", i)
                                                                     for i in range(n // 2)]
    if isinstance(ly, (L._Recurrent, L._ConvLSTM)):
        return [("cell", i) for i in range(n)]
    if isinstance(ly, L.GroupedQueryAttention):  # its EinsumDense layers are private attributes
        return [(s, j) for s in ("_query_dense", "_key_dense", "_value_dense", "_output_dense")
                for j in range(n // 4)]
    if isinstance(ly, L.MultiHeadAttention):
        return [(s, j) for s in ("query_dense", "key_dense", "value_dense", "output_dense") for j in range(n // 4)]
    return [("", i) for i in range(n)]


# ---------------------------------------------------------------- reading

class _Reader:
    def __init__(self, path):
        self.path = path
        self.paths = []  # (h5 path, layer)
        self.zf, self.members, self.h5 = None, set(), None  # the archive (a preprocessing layer's assets)
        self.where = None  # the layer being read, for the error of a malformed config

    def fail(self, msg):
        return ValueError("load_model: '%s': %s" % (self.path, msg))

    # --- a layer's Keras config -> latefuse's constructor arguments
    def _value(self, key, v):
        if isinstance(v, dict) and v.get("class_name") == "DTypePolicy":
            return (v.get("config") or {}).get("name")
        if isinstance(v, dict) and v.get("class_name") in L.Layer._types and isinstance(v.get("config"), dict):
            return {"class_name": v["class_name"], "config": self._args(v["class_name"], v["config"], v)}
        return v

    def _penalty(self, kind, cfg, entry, k, v):
        """a constraint or regularizer of Keras' serialized form {"module":
        "keras.constraints" / "keras.regularizers", "class_name", "config",
        "registered_name": null} (serialization_lib.serialize_keras_object):
        latefuse's object of that class, or an error naming the argument"""
        from . import constraints as C, regularizers as R
        name = v.get("class_name") if isinstance(v, dict) else None
        ours = (C._BY_NAME.get(name) if k.endswith("_constraint") else getattr(R, str(name), None))
        if v.get("registered_name") is None and isinstance(ours, type) and name[:1].isupper() \
                and isinstance(v.get("config", {}), dict):
            try:
                return ours(**(v.get("config") or {}))
            except (TypeError, ValueError) as e:
                raise self.fail("layer '%s' (%s): %s=%s: %s" % (cfg.get("name", entry.get("name")), kind, k,
                                                               json.dumps(v), e)) from None
        raise self.fail("layer '%s' (%s): the Keras argument %s=%s is not supported by latefuse"
                        % (cfg.get("name", entry.get("name")), kind, k, json.dumps(v)))

    def _args(self, kind, cfg, entry):
        import inspect
        klass = L.Layer._types[kind]
        sig = inspect.signature(klass.__init__)
        takes = {p.name for p in sig.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        takes |= {"trainable", "dtype", "name"}
        out = {}
        for k, v in cfg.items():
            # GroupNormalization's groups is its own argument (Keras' 32 by default), not Conv's groups
            if k.endswith("_initializer") or (k in _DEFAULTS and v in _DEFAULTS[k]
                                               and not (k == "groups" and kind == "GroupNormalization")):
                continue  # only the initial weights (the file's replace them), or a default
            if k in takes and isinstance(v, dict) and k.endswith(("_constraint", "_regularizer")):
                out[k] = self._penalty(kind, cfg, entry, k, v)
            elif k in takes:
                out[k] = self._value(k, v)
            elif v is None or v is False or k in ("unit_forget_bias", "seed"):
                continue  # off, or only the initial weights (the file's replace them)
            else:
                raise self.fail("layer '%s' (%s): the Keras argument %s=%s is not supported by latefuse"
                                % (cfg.get("name", entry.get("name")), kind, k, json.dumps(v)))
        return out

    def preprocessing(self, e, sub):
        """a StringLookup / IntegerLookup / TextVectorization of Keras'
        config: the vocabulary from the config (given) or the archive's
        assets/<sub>/vocabulary.txt (index_lookup.py save_assets: every entry,
        the reserved ones first, one a line), tf_idf's idf weights from
        model.weights.h5 <sub>/vars/idf_weights (save_own_variables)"""
        from .lookup import StringLookup, IntegerLookup
        from .text import TextVectorization
        kind, cfg = e.get("class_name"), dict(e.get("config") or {})
        name = cfg.get("name") or e.get("name")
        for k in ("trainable", "dtype", "vocabulary_size", "sparse", "ragged"):
            if cfg.get(k) not in (None, False) and k in ("sparse", "ragged"):
                raise self.fail("layer '%s' (%s): the Keras argument %s=%s is not supported by latefuse"
                                % (name, kind, k, json.dumps(cfg[k])))
            cfg.pop(k, None)
        if cfg.pop("oov_method", "floormod") != "floormod" or cfg.pop("salt", None) is not None:
            raise self.fail("layer '%s' (%s): only oov_method='floormod' without salt is supported" % (name, kind))
        vocab, idf = cfg.pop("vocabulary", None), cfg.pop("idf_weights", None)
        mode = cfg.get("output_mode")
        given = vocab is not None  # Keras' input_vocabulary: kept in the config, else in assets/
        if vocab is None:
            member = "assets/%s/vocabulary.txt" % sub
            if member not in self.members:
                raise self.fail("layer '%s' (%s): no vocabulary: the config has none and the archive has no %s"
                                % (name, kind, member))
            lines = self.zf.read(member).decode("utf-8").split("\n")  # Keras: splitlines, trailing "" dropped
            while lines and lines[-1] == "":
                lines.pop()
            vocab = [int(v) for v in lines] if kind == "IntegerLookup" else lines
        if mode in ("tf_idf", "tf-idf") and idf is None:
            ds = self.h5.get("%s/vars/idf_weights" % sub) if self.h5 is not None else None
            if ds is None:
                raise self.fail("layer '%s' (%s): model.weights.h5 has no %s/vars/idf_weights" % (name, kind, sub))
            idf = np.asarray(ds[()], dtype=np.float32)[:len(vocab)]  # pad_to_max_tokens pads it with zeros
        try:
            if kind == "TextVectorization":
                # latefuse's own options: beside the config (_latefuse_options), or in it (files written
                # before that); none: Keras' whitespace split, which keeps CJK runs whole
                own = e.get("latefuse") if isinstance(e.get("latefuse"), dict) else {}
                unknown = sorted(set(own) - {"split_cjk", "char_ngrams"})
                if unknown:
                    raise ValueError("unknown latefuse option %s" % ", ".join(unknown))
                cfg.update(own)
                cfg.setdefault("split_cjk", False)
                if isinstance(cfg.get("ngrams"), list):
                    cfg["ngrams"] = tuple(cfg["ngrams"])
                obj = TextVectorization(**cfg)
                obj.set_vocabulary(vocab, idf)
                obj._given = given
                return obj
            cls = StringLookup if kind == "StringLookup" else IntegerLookup
            return cls(vocabulary=vocab, has_input_vocabulary=given, **cfg)
        except (TypeError, ValueError) as err:
            raise self.fail("layer '%s' (%s): %s" % (name, kind, err)) from None

    def time_distributed(self, e, sub):
        """Keras' TimeDistributed {"config": {"layer": <a serialized layer or
        model>, ...}}: the wrapped layer's weights are model.weights.h5's
        <sub>/layer/vars (the wrapper's attribute `layer`, _save_state)"""
        cfg = dict(e.get("config") or {})
        inner = cfg.pop("layer", None)
        if not isinstance(inner, dict):
            raise self.fail("layer '%s' (TimeDistributed): no serialized 'layer' in its config" % cfg.get("name"))
        wrapped = self.nested(inner, sub + "/layer")
        if wrapped is None:
            wrapped = self.layer(inner)
            self.paths.append((sub + "/layer", wrapped))
        for k in ("trainable", "dtype"):
            cfg.pop(k, None)
        try:
            return L.TimeDistributed(wrapped, **cfg)
        except (TypeError, ValueError) as err:
            raise self.fail("layer '%s' (TimeDistributed): %s" % (cfg.get("name"), err)) from None

    def layer(self, e):
        kind = e.get("class_name")
        if kind not in L.Layer._types or kind.startswith("_") or kind == "InputLayer":
            raise self.fail("layer '%s': the layer class '%s' (module %s) is not available in latefuse"
                            % (e.get("name") or (e.get("config") or {}).get("name"), kind, e.get("module")))
        args = self._args(kind, dict(e.get("config") or {}), e)
        try:
            return L.Layer._types[kind].from_config(args)
        except (TypeError, ValueError) as err:  # the layer's own check of an argument, or one missing
            raise self.fail("layer '%s' (%s): %s" % (args.get("name", e.get("name")), kind, err)) from None

    def input(self, e):
        c = e.get("config") or {}
        shape = c.get("batch_shape") or c.get("batch_input_shape")
        if isinstance(shape, list) and len(shape) == 1:
            raise self.fail("InputLayer '%s' has shape () (one value per sample); latefuse's inputs have an axis: "
                            "Input(shape=(1,)%s)" % (c.get("name"), ", dtype='string'" if c.get("dtype") == "string"
                                                      else ""))
        if not isinstance(shape, list) or len(shape) < 2:
            raise self.fail("InputLayer '%s' has no batch_shape" % c.get("name"))
        dt = self._value("dtype", c.get("dtype")) or "float32"
        return L.Input(shape=tuple(shape[1:]), dtype=dt, name=c.get("name") or e.get("name"))

    # --- models
    def model(self, top, path):
        kind, cfg = top.get("class_name"), top.get("config")
        if kind in ("Functional", "Model") and isinstance(cfg, dict) and "layers" in cfg:
            return self.functional(cfg, path)
        if kind == "Sequential" and isinstance(cfg, dict):
            return self.sequential(cfg, path)
        raise self.fail("config.json holds a %s, not a Functional or Sequential model (subclassed models and "
                        "custom objects are not read)" % (kind,))

    def sequential(self, cfg, path):
        from .models import Sequential
        used, stack, given = {}, [], None
        for e in cfg.get("layers") or []:
            self.where = None
            if e.get("class_name") == "InputLayer":
                given = self.input(e)
                continue
            self.where = (e.get("config") or {}).get("name") or e.get("name")
            sub = path + "layers/" + _unique(_snake(e.get("class_name") or ""), used)
            ly = self.nested(e, sub)
            if ly is None and e.get("class_name") in _PREPROCESSING:
                ly = self.preprocessing(e, sub)
            elif ly is None and e.get("class_name") == "TimeDistributed":
                ly = self.time_distributed(e, sub)
            elif ly is None:
                ly = self.layer(e)
                self.paths.append((sub, ly))
            stack.append(ly)
        if given is None:
            shape = cfg.get("build_input_shape")
            if not shape:
                raise self.fail("the Sequential model '%s' was saved unbuilt (no input shape)" % cfg.get("name"))
            given = L.Input(shape=tuple(shape[1:]))
        return Sequential([given] + stack, name=cfg.get("name"))

    def nested(self, e, sub):
        if e.get("class_name") in ("Functional", "Model", "Sequential"):
            return self.model(e, sub + "/")
        return None

    def functional(self, cfg, path):
        from .models import Model
        used, tensors, pending = {}, {}, []
        for e in cfg["layers"]:
            self.where = None
            kind = e.get("class_name") or ""
            name = e.get("name") or (e.get("config") or {}).get("name")
            self.where = name
            sub = path + "layers/" + _unique(_snake(kind), used)
            if kind == "InputLayer":
                tensors[(name, 0)] = self.input(e)
                continue
            obj = self.nested(e, sub)
            if kind in _PREPROCESSING:
                obj = self.preprocessing(e, sub)
            elif kind == "TimeDistributed":
                obj = self.time_distributed(e, sub)
            # a nested Functional's node 0 is its own graph, so its calls count from 1
            # (functional.py: get_config's kept_nodes, get_tensor); a Sequential's from 0
            base = 1 if kind in ("Functional", "Model") else 0
            if obj is None:
                obj = self.layer(e)
                self.paths.append((sub, obj))
            for k, call in enumerate(e.get("inbound_nodes") or []):
                pending.append((name, base + k, base, obj, call))
        while pending:
            done = []
            for item in pending:
                name, k, base, obj, call = item
                self.where = name
                refs = []
                args, kwargs = _node(call, refs, lambda msg, n=name: self.fail("layer '%s': %s" % (n, msg)))
                if (k == base or (name, k - 1) in tensors) and all(r in tensors for r in refs):
                    a = _subst(args, tensors)
                    kw = {key: v for key, v in _subst(kwargs, tensors).items()
                          if v is not None and key not in ("training", "mask")}
                    tensors[(name, k)] = obj(a[0], **kw) if len(a) == 1 else obj(*a, **kw)
                    done.append(item)
            if not done:
                raise self.fail("the inputs of layer '%s' are never made (a missing layer or a cycle)"
                                % pending[0][0])
            pending = [p for p in pending if p not in done]

        def outs(v):
            if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str):
                return [_pick(tensors, v[0], v[1], v[2])]
            if not isinstance(v, list):
                raise TypeError(v)
            return [t for x in v for t in outs(x)]
        try:
            ins, out = outs(cfg["input_layers"]), outs(cfg["output_layers"])
        except (KeyError, IndexError, TypeError):
            raise self.fail("'input_layers' and 'output_layers' must name layers' outputs") from None
        return Model(ins, out if len(out) > 1 else out[0], name=cfg.get("name"))

    # --- weights
    def weights(self, model, f, h5py):
        prepared = []
        for path, ly in self.paths:
            if isinstance(ly, L.Discretization):
                continue  # Keras' has no variables: its boundaries are in the config
            ours = model._layer_weights(ly)
            slots = _slots(ly, len(ours))
            got = []
            for (sub, i), w in zip(slots, ours):
                grp = path + ("/" + sub if sub else "") + "/vars"
                g = f.get(grp)
                ds = g.get(str(i)) if isinstance(g, h5py.Group) else None
                if not isinstance(ds, h5py.Dataset):
                    raise self.fail("model.weights.h5 has no %s/%d for layer '%s' (%s)"
                                    % (grp, i, ly.name, type(ly).__name__))
                a = np.asarray(ds[()])
                if isinstance(ly, L.Normalization) and a.size == w.size:
                    a = a.reshape(w.shape)  # Keras keeps the kept axes only
                if a.shape != w.shape:
                    raise self.fail("%s/%d (layer '%s') has shape %s, latefuse's %s weight %d has shape %s"
                                    % (grp, i, ly.name, a.shape, type(ly).__name__, slots.index((sub, i)),
                                       w.shape))
                got.append(a)
            for sub in sorted(set(s for s, _ in slots)):  # no variable the layer does not have
                grp = path + ("/" + sub if sub else "") + "/vars"
                n = len([1 for s, _ in slots if s == sub])
                have = len(f[grp].keys())
                extra = 1 if isinstance(ly, L.Normalization) else 0  # Keras' count
                if have > n + extra:
                    raise self.fail("%s holds %d variables, latefuse's %s '%s' has %d"
                                    % (grp, have, type(ly).__name__, ly.name, n))
            prepared += model._prepare_layer(ly, got, "load_model")
        model._apply(prepared)
        model._touch()

    def compile(self, model, cc):
        from . import optimizers as O
        opt = cc.get("optimizer", "rmsprop")
        if isinstance(opt, dict):
            klass = getattr(O, str(opt.get("class_name")), None)
            if not (isinstance(klass, type) and issubclass(klass, O.Optimizer)):
                raise self.fail("compile_config: the optimizer %s is not available in latefuse; load_model(..., "
                                "compile=False) loads the model uncompiled" % opt.get("class_name"))
            opt = klass.from_config(opt.get("config") or {})
        loss = _loss(cc.get("loss"), self)
        metrics, wmetrics = _metrics(cc.get("metrics"), self), _metrics(cc.get("weighted_metrics"), self)
        try:
            model.compile(optimizer=opt, loss=loss, loss_weights=cc.get("loss_weights"), metrics=metrics,
                          weighted_metrics=wmetrics)
        except ValueError as e:
            raise self.fail("compile_config: %s; load_model(..., compile=False) loads the model uncompiled"
                            % e) from None


def _fn_name(v, module):
    """Keras' serialized function (serialize_with_public_fn: {"module":
    "keras.losses" / "keras.metrics", "class_name": "function", "config":
    its name}): the name, which compile takes as a string; else None"""
    if isinstance(v, dict) and v.get("class_name") == "function" and v.get("module") == module and \
            isinstance(v.get("config"), str):
        return v["config"]
    return None


def _keras_object(v, rd, module, what):
    """latefuse's object of Keras' serialized loss or metric class
    {"module": "keras.losses" / "keras.metrics", "class_name", "config",
    "registered_name": null} (latefuse.losses / latefuse.metrics' classes,
    from_config), or the refusal naming it"""
    cls = getattr(module, str(v.get("class_name")), None)
    if v.get("registered_name") is None and isinstance(cls, type) and cls.__module__ == module.__name__ and \
            isinstance(v.get("config") or {}, dict) and v.get("class_name") not in ("Loss", "Metric"):
        try:
            return cls.from_config(dict(v.get("config") or {}))
        except (TypeError, ValueError) as e:
            raise rd.fail("compile_config: the %s %s: %s; load_model(..., compile=False) loads the model "
                          "uncompiled" % (what, json.dumps(v), e)) from None
    raise rd.fail("compile_config: the %s %s is not available in latefuse; load_model(..., compile=False) loads "
                  "the model uncompiled" % (what, json.dumps(v)))


def _compile_entry(v, rd, module, keras_module, what):
    """one entry of compile_config (loss, metrics, weighted_metrics), its
    structure kept (a list, per output lists or a dict by output): a name
    or None as it is, a serialized keras_module function by its name, else
    a class of latefuse's module (_keras_object)"""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, list):
        return [_compile_entry(x, rd, module, keras_module, what) for x in v]
    if isinstance(v, dict) and "class_name" not in v:
        return {k: _compile_entry(x, rd, module, keras_module, what) for k, x in v.items()}
    name = _fn_name(v, keras_module)
    return name if name is not None else _keras_object(v, rd, module, what)


def _loss(v, rd):
    """compile_config's loss: a name, a serialized loss function or loss class
    (latefuse.losses: from_logits is kept), a list or dict of them"""
    from . import losses
    return _compile_entry(v, rd, losses, "keras.losses", "loss")


def _metrics(v, rd):
    """compile_config's metrics / weighted_metrics, their structure kept
    (a list, per output lists or a dict by output): names, serialized
    metric functions, latefuse.metrics' classes"""
    from . import metrics
    return _compile_entry(v, rd, metrics, "keras.metrics", "metric")


def _history(v):
    """a __keras_tensor__'s keras_history [layer, node, k], checked; None
    when it names no layer's output (a tensor made outside the layers)"""
    h = (v.get("config") or {}).get("keras_history") if isinstance(v.get("config"), dict) else None
    if isinstance(h, list) and len(h) in (2, 3) and isinstance(h[0], str) and \
            all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in h[1:]):
        return h
    return None


def _node(call, refs, fail=None):
    """(args, kwargs) of an inbound node with tensor references as tuples;
    refs collects them.  Keras 3: {"args", "kwargs"}; older: [[layer,
    node, tensor, kwargs], ...].  fail(msg): the reader's error for a
    tensor without a layer's keras_history."""
    def walk(v):
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            h = _history(v)  # [layer, node, k]: output k of that call
            if h is None:
                raise (fail or ValueError)("a call argument is a tensor with keras_history %s, not [layer, node, "
                                           "index] of a layer in the model" % json.dumps(
                                               (v.get("config") or {}).get("keras_history")
                                               if isinstance(v.get("config"), dict) else None))
            refs.append((h[0], h[1]))
            return ("__ref__", h[0], h[1], h[2] if len(h) > 2 else 0)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    if isinstance(call, dict):
        return walk(list(call.get("args") or [])), walk(dict(call.get("kwargs") or {}))
    if not isinstance(call, list) or not all(
            isinstance(c, list) and len(c) >= 3 and _history({"config": {"keras_history": c[:3]}}) and
            (len(c) == 3 or isinstance(c[3], dict)) for c in call):
        raise (fail or ValueError)("an inbound node is %s, not {\"args\": [...], \"kwargs\": {...}} (Keras 3) or "
                                   "[[layer, node, index, kwargs], ...]" % json.dumps(call)[:200])
    ts = [("__ref__", c[0], c[1], c[2]) for c in call]
    refs += [(c[0], c[1]) for c in call]
    kw = call[0][3] if call and len(call[0]) > 3 else {}
    return ([ts] if len(ts) > 1 else ts), dict(kw)


def _pick(tensors, name, node, k):
    """output k of a layer's call: a call that returned a list (return_state,
    merge_mode=None) is kept as that list"""
    v = tensors[(name, node)]
    return v[k] if isinstance(v, list) else v


def _subst(v, tensors):
    if isinstance(v, tuple) and len(v) == 4 and v[0] == "__ref__":
        return _pick(tensors, *v[1:])
    if isinstance(v, list):
        return [_subst(x, tensors) for x in v]
    if isinstance(v, dict):
        return {k: _subst(x, tensors) for k, x in v.items()}
    return v


def load(path, compile=True, seed=0):
    """latefuse.load_model for a .keras file: a new Model (or Sequential)."""
    rd = _Reader(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise rd.fail("not a .keras file (not a zip archive)") from None
    with zf:
        names = zf.namelist()
        for member in (_CONFIG, _WEIGHTS):
            if member not in names:
                raise rd.fail("no %s in the archive: not a Keras 3 .keras file%s"
                              % (member, " (weights as .npz are not read)" if member == _WEIGHTS else ""))
        try:
            top = json.loads(zf.read(_CONFIG).decode("utf-8"))
        except ValueError as e:
            raise rd.fail("config.json is not JSON (%s)" % e) from None
        h5bytes = zf.read(_WEIGHTS)
        h5py = _h5py("reading")
        if not isinstance(top, dict):
            raise rd.fail("config.json is not a serialized model")
        try:
            f = h5py.File(io.BytesIO(h5bytes), "r")
        except OSError:
            raise rd.fail("model.weights.h5 is not an HDF5 file") from None
        with f:
            rd.zf, rd.members, rd.h5 = zf, set(names), f
            try:
                model = rd.model(top, "")
            except (TypeError, AttributeError, KeyError, IndexError, RecursionError) as e:
                # a config.json of another layout: a value of the wrong type where Keras 3 writes another
                raise rd.fail("config.json is not a Keras 3 model config (%s%s: %s)"
                              % ("at layer '%s': " % rd.where if isinstance(rd.where, str) else "",
                                 type(e).__name__, e)) from None
            rd.zf, rd.h5 = None, None
            if seed:
                model._seed = int(seed)
            rd.weights(model, f, h5py)
            og = f.get("optimizer/vars")  # Keras' optimizer variables (saving_lib: the model's "optimizer")
            opt_vars = {k: np.asarray(v[()]) for k, v in og.items() if isinstance(v, h5py.Dataset)} \
                if isinstance(og, h5py.Group) else None
    if compile and isinstance(top.get("compile_config"), dict):
        try:
            rd.compile(model, top["compile_config"])
        except (TypeError, AttributeError, KeyError, IndexError) as e:
            raise rd.fail("compile_config is not Keras 3's (%s: %s); load_model(..., compile=False) loads the model "
                          "uncompiled" % (type(e).__name__, e)) from None
        if opt_vars:  # none: a fresh optimizer
            _load_optimizer_vars(model, opt_vars, rd)
    return model


# ---------------------------------------------------------------- writing

def _tensor(shape, hist):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None] + list(shape), "dtype": "float32", "keras_history": list(hist)}}


# keras/src/constraints/constraints.py and regularizers/regularizers.py's
# exported classes: their serialized "module"
_PENALTIES = dict([(c, "keras.constraints") for c in ("MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm")] +
                  [(c, "keras.regularizers") for c in ("L1", "L2", "L1L2")])


# serialize_keras_object of the initializers latefuse draws (Keras 3.16,
# keras/src/initializers/random_initializers.py and constant_initializers.py
# get_config): the seed first (latefuse's come from the model's seed: None),
# the VarianceScaling family's input_axes / output_axes, the others' own
_VS = {"seed": None, "input_axes": None, "output_axes": None}
_INITIALIZERS = {"glorot_uniform": ("GlorotUniform", _VS), "glorot_normal": ("GlorotNormal", _VS),
                 "he_uniform": ("HeUniform", _VS), "he_normal": ("HeNormal", _VS),
                 "lecun_uniform": ("LecunUniform", _VS), "lecun_normal": ("LecunNormal", _VS),
                 "zeros": ("Zeros", {}), "ones": ("Ones", {}),
                 "orthogonal": ("Orthogonal", {"seed": None, "gain": 1.0}),
                 "random_normal": ("RandomNormal", {"seed": None, "mean": 0.0, "stddev": 0.05}),
                 "random_uniform": ("RandomUniform", {"seed": None, "minval": -0.05, "maxval": 0.05}),
                 "uniform": ("RandomUniform", {"seed": None, "minval": -0.05, "maxval": 0.05})}


def _initializer(v):
    """an initializer of ours (its Keras name) as Keras 3 writes it:
    {"module": "keras.initializers", "class_name", "config",
    "registered_name": null}"""
    if isinstance(v, str) and v in _INITIALIZERS:
        name, cfg = _INITIALIZERS[v]
        return {"module": "keras.initializers", "class_name": name, "config": dict(cfg), "registered_name": None}
    return v


# Keras' layers whose __init__ takes only its own arguments, name and dtype
# (spatial_dropout.py's BaseSpatialDropout, discretization.py): no
# "trainable" in their config
_NO_TRAINABLE = ("SpatialDropout1D", "SpatialDropout2D", "Discretization", "SpatialDropout3D")


def _serialized(kind, cfg):
    """serialize_keras_object's form of a layer of ours (Keras' public
    classes: module keras.layers; latefuse's own: module latefuse.layers,
    which Keras loads only as a custom object)."""
    def fix(v):
        if isinstance(v, dict) and v.get("class_name") in L.Layer._types and isinstance(v.get("config"), dict):
            return _serialized(v["class_name"], v["config"])
        if isinstance(v, dict) and v.get("class_name") in _PENALTIES and set(v) == {"class_name", "config"}:
            return {"module": _PENALTIES[v["class_name"]], "class_name": v["class_name"], "config": v["config"],
                    "registered_name": None}  # Keras' exported classes (serialize_with_public_class)
        return v
    own = kind in ("WeightedAverage", "ClassWeightedAverage", "GatedAverage")
    if kind in _NO_TRAINABLE:  # Keras' __init__ takes no trainable (and the layer has no weights)
        cfg = {k: v for k, v in cfg.items() if k != "trainable"}
    return {"module": "latefuse.layers" if own else "keras.layers", "class_name": kind,
            "config": {k: _initializer(v) if k.endswith("_initializer") else fix(v) for k, v in cfg.items()},
            "registered_name": "latefuse>" + kind if own else None}


def _input_entry(t, nm):
    return dict(_serialized("InputLayer", {"batch_shape": [None] + list(t.sample_shape), "dtype": t.layer.dtype,
                                           "sparse": False, "name": nm}), name=nm, inbound_nodes=[])


_PREPROCESSING = ("StringLookup", "IntegerLookup", "TextVectorization")


def _preprocessing_config(tv, name):
    """Keras' get_config of a lookup / TextVectorization (index_lookup.py,
    string_lookup.py, text_vectorization.py): the vocabulary in the config
    only when it was given (input_vocabulary), else None (it goes to
    assets/); tf_idf's weights go to model.weights.h5"""
    from .text import TextVectorization
    given = bool(tv._given if isinstance(tv, TextVectorization) else tv._has_input_vocabulary)
    if isinstance(tv, TextVectorization):
        c = tv.get_config()
        cfg = {"name": name, "trainable": True, "max_tokens": c["max_tokens"], "standardize": c["standardize"],
               "split": c["split"], "ngrams": list(c["ngrams"]) if isinstance(c["ngrams"], tuple) else c["ngrams"],
               "output_mode": c["output_mode"], "output_sequence_length": c["output_sequence_length"],
               "pad_to_max_tokens": c["pad_to_max_tokens"], "sparse": False, "ragged": False,
               "vocabulary": tv.get_vocabulary(include_special_tokens=False) if given else None,
               "idf_weights": None, "encoding": "utf-8", "vocabulary_size": tv.vocabulary_size()}
        if given and c["output_mode"] == "tf_idf":
            cfg["idf_weights"] = [float(w) for w in tv.idf_weights()[2 if c["output_mode"] == "int" else 1:]]
        return cfg
    c = tv.get_config()
    cfg = {"name": name, "trainable": True, "invert": c["invert"], "max_tokens": c["max_tokens"],
           "num_oov_indices": c["num_oov_indices"], "oov_token": c["oov_token"], "mask_token": c["mask_token"],
           "output_mode": c["output_mode"], "sparse": False, "pad_to_max_tokens": c["pad_to_max_tokens"]}
    if type(tv).__name__ == "IntegerLookup":
        cfg["vocabulary_dtype"] = "int64"
    cfg.update({"idf_weights": None, "vocabulary": c["vocabulary"] if given else None,
                "vocabulary_size": c["vocabulary_size"], "oov_method": "floormod", "salt": None})
    if type(tv).__name__ == "StringLookup":
        cfg["encoding"] = "utf-8"
    return cfg


def _latefuse_options(tv, name):
    """A TextVectorization's latefuse-only options that are on ({} when
    none), which the file keeps beside the layer's Keras config, under the
    layer entry's key "latefuse": Keras' TextVectorization takes no such
    argument (its from_config would refuse the whole file), while
    deserialize_keras_object (keras/src/saving/serialization_lib.py) reads
    only the entry's module, class_name, config, registered_name,
    build_config and compile_config, so Keras loads the file.  split_cjk
    changes the tokens of CJK text only (Keras' whitespace split keeps a
    CJK run whole); char_ngrams changes every token, so saving one warns
    that Keras would compute another model."""
    from .text import TextVectorization
    if not isinstance(tv, TextVectorization):
        return {}
    c, out = tv.get_config(), {}
    if c["split_cjk"]:
        out["split_cjk"] = True
    if c["char_ngrams"]:
        out["char_ngrams"] = list(c["char_ngrams"])
        import warnings
        warnings.warn("save: TextVectorization '%s' has char_ngrams=%s, which Keras does not have: the .keras file "
                      "keeps it where Keras ignores it, so Keras would load it splitting words only (latefuse's "
                      "load_model restores it)" % (name, tuple(c["char_ngrams"])), UserWarning)
    return out


def _preprocessing_names(model):
    """{input index: the Keras layer name of the preprocessing layer that
    feeds it}, unique among the model's names"""
    from .text import TextVectorization
    used = set(model._names.values())
    out = {}
    for k, tv in sorted(model._tv.items()):
        base = tv.name or ("text_vectorization" if isinstance(tv, TextVectorization) else _snake(type(tv).__name__))
        nm, i = base, 0
        while nm in used:
            i += 1
            nm = "%s_%d" % (base, i)
        used.add(nm)
        out[k] = nm
    return out


def _on_steps(model):
    """The layers a TimeDistributed runs (its TimeDistributedInput and the
    wrapped layers), which Keras' config keeps inside the wrapper: ids."""
    out = set()
    for ly in model._layers:
        if isinstance(ly, L.TimeDistributed):
            out |= {id(x) for x in ly._inner or []}
        elif isinstance(ly, L._TimeSteps):
            out.add(id(ly))
    return out


def _td_input(t):
    """the tensor a TimeDistributed call t was made on (before its steps)"""
    stack = [t.inputs[0]]
    while stack:
        x = stack.pop()
        if isinstance(x.layer, L._TimeSteps):
            return x.inputs[0]
        stack.extend(x.inputs)
    raise ValueError("TimeDistributed call without its steps")  # pragma: no cover


def _config(model, outer=None):
    """config.json's model entry; outer: the model a TimeDistributed of
    this (wrapped) model is saved in, whose layer names its layers take
    (the reader inlines them there, where names must be unique)."""
    from .models import Sequential
    names = dict(model._names)
    if outer is not None:
        names.update((k, v) for k, v in outer._names.items() if k in names)
    inside = _on_steps(model)
    plain = isinstance(model, Sequential) and getattr(model, "_stack", None) and not any(
        not isinstance(ly, L.Layer) for ly in model._stack) and not model._tv
    if plain:
        inp = model.inputs[0]
        layers = [_input_entry(inp, names[id(inp.layer)])]
        for ly in model._stack:
            layers.append(_serialized(type(ly).__name__, dict(ly.get_config(), name=names[id(ly)])))
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": model.name, "trainable": True, "layers": layers},
                "registered_name": None,
                "build_config": {"input_shape": [None] + list(inp.sample_shape)}}
    index, per_layer = {}, {}
    for t in model._nodes:  # a call's node index; the views of a call of several outputs are not calls
        if t._view is None:
            index[id(t)] = per_layer.get(id(t.layer), 0)
            per_layer[id(t.layer)] = index[id(t)] + 1

    def hist(t):  # output k of a call that returned a list: [layer, node, k] (functional.py serialize_node)
        if t._view is not None:
            return [names[id(t.layer)], index[id(t.inputs[0])], t._view]
        return [names[id(t.layer)], index[id(t)], 0]

    pre = _preprocessing_names(model)
    fed = {id(model.inputs[k]): nm for k, nm in pre.items()}  # a fed input's consumers read the layer's output

    def ref(t):
        if id(t) in fed:
            return _tensor(t.sample_shape, [fed[id(t)], 0, 0])
        return _tensor(t.sample_shape, hist(t))

    def call_of(t):  # a recurrent call's inputs after x are Keras' initial_state kwarg
        if isinstance(t.layer, L.TimeDistributed):  # Keras' call on the video, the steps inside it
            return {"args": [ref(_td_input(t))], "kwargs": {}}
        if isinstance(t.layer, (L._Recurrent, L.Bidirectional)) and len(t.inputs) > 1:
            return {"args": [ref(t.inputs[0])], "kwargs": {"initial_state": [ref(a) for a in t.inputs[1:]]}}
        ts = [ref(a) for a in t.inputs]
        args = ts if (len(ts) == 1 or isinstance(t.layer, L.MultiHeadAttention)) else [ts]
        kwargs = {k: ref(v) for k, v in t.extra.items() if v is not None}
        kwargs.update(t.flags)  # call arguments that are not tensors: MultiHeadAttention's use_causal_mask
        return {"args": args, "kwargs": kwargs}
    layers = []
    for ly in model._layers:
        nm = names[id(ly)]
        if id(ly) in inside:
            continue
        if isinstance(ly, L.InputLayer):
            t = next(t for t in model._nodes if t.layer is ly)
            k = next((k for k, x in enumerate(model.inputs) if x is t), None)
            if k in pre:  # Keras: the string / integer Input, then the preprocessing layer
                tv = model._tv[k]
                raw = t.layer._text[0]
                e = _input_entry(raw, nm)
                e["config"]["dtype"] = raw.layer.dtype if raw.layer.dtype == "string" else "int64"
                layers.append(e)
                src = _tensor(raw.sample_shape, [nm, 0, 0])
                src["config"]["dtype"] = e["config"]["dtype"]
                entry = dict(_serialized(type(tv).__name__, _preprocessing_config(tv, pre[k])), name=pre[k],
                             inbound_nodes=[{"args": [src], "kwargs": {}}])
                extra = _latefuse_options(tv, pre[k])
                if extra:
                    entry["latefuse"] = extra
                layers.append(entry)
                continue
            layers.append(_input_entry(t, nm))
            continue
        calls = [call_of(t) for t in model._nodes if t.layer is ly and t._view is None]
        if isinstance(ly, L.TimeDistributed) and not isinstance(ly.layer, L.Layer):
            # a wrapped model: Keras' serialize_keras_object of it, its own config (as a saved model's)
            cfg = {"name": nm, "trainable": ly.trainable, "layer": _config(ly.layer, model)}
        else:
            cfg = dict(ly.get_config(), name=nm)
        layers.append(dict(_serialized(type(ly).__name__, cfg), name=nm, inbound_nodes=calls))
    outs = [hist(t) for t in model.outputs]
    ins = [hist(t) for t in model.inputs]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": model.name, "trainable": True, "layers": layers,
                       "input_layers": ins if len(ins) > 1 else ins[0],
                       "output_layers": outs if len(outs) > 1 else outs[0]},
            "registered_name": "Functional", "build_config": {"input_shape": None}}


def _compile_config(model):
    """Keras' compile_config (keras/src/trainers/trainer.py compile's
    SerializableDict): a loss name, or where the output's crossentropy takes
    logits (lf_model_from_logits) the loss class {"module": "keras.losses",
    "class_name", "config" with from_logits true, "registered_name": null};
    compile's metrics as given (names, in their structure)"""
    from . import losses
    from ._lib import lib
    opt = model.optimizer
    names = model.loss if isinstance(model.loss, list) else [model.loss]
    by_lf = {c._lf: c for c in vars(losses).values() if isinstance(c, type) and getattr(c, "_lf", None)}
    loss = []
    for i, nm in enumerate(names):
        if lib.lf_model_from_logits(model._handle, i) == 1:
            cls = by_lf[nm]
            nm = {"module": "keras.losses", "class_name": cls.__name__,
                  "config": cls(from_logits=True).get_config(), "registered_name": None}
        loss.append(nm)
    return {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                          "config": dict(opt.get_config(), name=type(opt).__name__.lower()),
                          "registered_name": None},
            "loss": loss if isinstance(model.loss, list) else loss[0],
            "loss_weights": list(model.loss_weights) if len(model.outputs) > 1 else None,
            "metrics": _metric_entries(model._metric_args) or None,
            "weighted_metrics": _metric_entries(model._wmetric_args) or None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _metric_entries(v):
    """compile's metrics as compile_config holds them, their structure
    kept: names as names; a MeanAbsoluteError / MeanSquaredError / AUC
    object under a name its string form does not give (AUC(name='x')) as
    Keras serializes a metric object (serialize_keras_object: {"module":
    "keras.metrics", "class_name", "config": its get_config,
    "registered_name": null}), so that its key stays its name"""
    if isinstance(v, dict):
        return {k: _metric_entries(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_metric_entries(x) for x in v]
    obj = getattr(v, "obj", None)
    if obj is not None and str(v) not in type(obj)._names:
        return {"module": "keras.metrics", "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}
    return v


def _preprocessing_state(model, f, used, ly, assets):
    """a preprocessing layer's part of the stores (saving_lib._save_state):
    its vars group (named; tf_idf: the dataset idf_weights, padded with zeros
    to max_tokens with pad_to_max_tokens), and unless its vocabulary was
    given, assets/<path>/vocabulary.txt (index_lookup.py save_assets: every
    entry, the reserved ones first, joined by newlines); a TextVectorization
    saves its StringLookup's again under <path>/_lookup_layer"""
    from .text import TextVectorization
    k = next((k for k, x in enumerate(model.inputs) if x.layer is ly), None)
    if k is None or k not in model._tv:
        return
    tv, name = model._tv[k], _preprocessing_names(model)[k]
    path = "layers/" + _unique(_snake(type(tv).__name__), used)
    is_tv = isinstance(tv, TextVectorization)
    given = bool(tv._given if is_tv else tv._has_input_vocabulary)
    idf = tv.idf_weights() if is_tv else None
    if idf is not None:
        mt = tv._opt.max_tokens
        if tv._opt.pad_to_max_tokens and mt > idf.size:
            idf = np.concatenate([idf, np.zeros(mt - idf.size, np.float32)])
    vocab = "\n".join(str(v) for v in tv.get_vocabulary(include_special_tokens=True))
    for sub, nm in [(path, name)] + ([(path + "/_lookup_layer", "string_lookup")] if is_tv else []):
        g = f.create_group(sub + "/vars")
        g.attrs["name"] = nm
        if idf is not None:
            g.create_dataset("idf_weights", data=idf)
        if not given:
            assets.append(("assets/%s/vocabulary.txt" % sub, vocab))


def _keras_slot_groups(opt):
    """The optimizer's variables after iterations and learning_rate, in
    Keras 3's order: build adds them by add_optimizer_variables
    (keras/src/optimizers/base_optimizer.py), one call per name list, each
    interleaving its names per trainable variable (Adam: momentum, velocity
    of variable 0, of variable 1, ...; then amsgrad's velocity_hat); as a
    list of calls, each the latefuse slots (lf_model_optimizer_slots: 0 the
    first moment, 1 the second, 2 the third) it adds per variable.  SGD:
    momentum when momentum != 0 (sgd.py); Adam / AdamW (adam.py); RMSprop:
    velocity, momentum when momentum > 0, average_gradient when centered
    (rmsprop.py); Adagrad: accumulator (adagrad.py); Lion: momentum
    (lion.py).  None: an optimizer whose variables latefuse does not map
    (Adamax, Nadam, Adadelta; use_ema's averages, which only fit keeps)."""
    from . import optimizers as O
    if getattr(opt, "use_ema", False):
        return None
    if isinstance(opt, O.Adam):
        return [[0, 1]] + ([[2]] if opt.amsgrad else [])
    if isinstance(opt, O.RMSprop):
        return [[1]] + ([[0]] if opt.momentum > 0 else []) + ([[2]] if opt.centered else [])
    if isinstance(opt, O.SGD):
        return [[0]] if opt.momentum != 0 else []
    if isinstance(opt, O.Adagrad):
        return [[1]]
    if isinstance(opt, O.Lion):
        return [[0]]
    return None


def _optimizer_vars(model):
    """Keras 3's optimizer variables of a compiled model, in
    base_optimizer.py save_own_variables' order (self.variables: iterations
    (int64), learning_rate (float32; none under a LearningRateSchedule),
    then _keras_slot_groups' per-variable state over
    model.trainable_variables), or None (_keras_slot_groups)"""
    opt = model.optimizer
    groups = _keras_slot_groups(opt)
    if groups is None:
        return None
    model._pull_iterations()
    out = [np.array(int(opt.iterations), dtype=np.int64)]
    if getattr(opt, "_schedule", None) is None:
        out.append(np.array(opt.learning_rate, dtype=np.float32))
    slots = model._optimizer_slots()
    for g in groups:
        for _, _, arrs in slots:
            out += [arrs[k] for k in g]
    return out


def _load_optimizer_vars(model, got, rd):
    """Sets a loaded, compiled model's optimizer state from the file's
    optimizer/vars datasets got ({"0": array, ...}), as Keras'
    load_own_variables: another count of variables than this optimizer
    has warns (Keras' words) and leaves it fresh; every shape and value is
    checked before any is set (a ValueError naming the file)."""
    import warnings
    opt = model.optimizer
    groups = _keras_slot_groups(opt)
    slots = model._optimizer_slots()
    has_lr = getattr(opt, "_schedule", None) is None
    want = None if groups is None else 1 + has_lr + len(slots) * sum(len(g) for g in groups)
    name = type(opt).__name__.lower()
    if want is None:
        warnings.warn("Skipping variable loading for optimizer '%s': latefuse does not read the variables of %s%s; "
                      "training goes on from fresh moments" % (name, type(opt).__name__,
                                                                " with use_ema" if opt.use_ema else ""), UserWarning)
        return
    if want != len(got):
        warnings.warn("Skipping variable loading for optimizer '%s', because it has %d variables whereas the saved "
                      "optimizer has %d variables. " % (name, want, len(got)), UserWarning)
        return
    if sorted(got) != sorted(str(i) for i in range(want)):
        raise rd.fail("model.weights.h5 optimizer/vars holds %s, not the datasets 0..%d"
                      % (", ".join(sorted(got)), want - 1))
    vals = [got[str(i)] for i in range(want)]
    it = vals[0]
    if it.shape != () or it.dtype.kind not in "iu" or int(it) < 0:
        raise rd.fail("model.weights.h5 optimizer/vars/0 (iterations) is %s %s, not an integer >= 0"
                      % (it.dtype, it.shape))
    lr, pos = None, 1
    if has_lr:
        lr = vals[1]
        if lr.shape != () or lr.dtype.kind != "f" or not (np.isfinite(lr) and lr > 0):
            raise rd.fail("model.weights.h5 optimizer/vars/1 (learning_rate) is %r, not a finite number > 0"
                          % (lr.tolist(),))
        pos = 2
    plan = []
    for g in groups:
        for ly, i, arrs in slots:
            for k in g:
                a, what = vals[pos], "model.weights.h5 optimizer/vars/%d (layer '%s' weight %d)" % (
                    pos, model._names[id(ly)], i)
                if a.shape != arrs[k].shape:
                    raise rd.fail("%s has shape %s, latefuse's %s state for it %s"
                                  % (what, a.shape, type(opt).__name__, arrs[k].shape))
                if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
                    raise rd.fail("%s holds a value that is not a finite number" % what)
                if _nonneg(opt, k) and np.any(a < 0):
                    raise rd.fail("%s holds a negative value (%s keeps it >= 0)" % (what, type(opt).__name__))
                plan.append((ly, i, k, a))
                pos += 1
    for ly, i, k, a in plan:
        model._set_optimizer_slot(ly, i, k, a, "load_model")
    if lr is not None and np.float32(opt.learning_rate) != lr:  # the rate then (a callback's), else the config's
        opt.learning_rate = float(lr)
    model._set_iterations(int(it))


def _nonneg(opt, slot):
    """Whether the optimizer keeps its state slot >= 0 (optim.c's
    lf_optim_nonneg for the kinds _keras_slot_groups maps)"""
    from . import optimizers as O
    if slot == 1:
        return not isinstance(opt, (O.SGD, O.Lion))
    return slot == 2 and isinstance(opt, O.Adam) and opt.amsgrad


def _weights_h5(model, h5py, assets=None, optimizer=None):
    """model.weights.h5's bytes: the layers' variables, and with
    optimizer (_optimizer_vars' arrays) the group optimizer/vars (Keras 3
    saves the model's optimizer under "optimizer", saving_lib._save_state)"""
    from .models import Sequential
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        if optimizer is not None:
            g = f.create_group("optimizer/vars")
            g.attrs["name"] = type(model.optimizer).__name__.lower()
            for i, a in enumerate(optimizer):
                g.create_dataset(str(i), data=a)
        f.create_group("vars").attrs["name"] = model.name
        used, inside = {}, _on_steps(model)
        for ly in model._layers:
            if id(ly) in inside:
                continue
            if isinstance(ly, L.TimeDistributed):  # the wrapped layer's weights: <path>/layer/vars
                path = "layers/" + _unique(_snake(type(ly).__name__), used)
                f.create_group(path + "/vars").attrs["name"] = model._names[id(ly)]
                inner = ly.layer
                if not isinstance(inner, L.Layer):
                    _wrapped_model_h5(f, model, inner, path + "/layer")
                    continue
                f.create_group(path + "/layer/vars").attrs["name"] = model._names[id(inner)]
                ws = model._layer_weights(inner)
                for (sub, i), w in zip(_slots(inner, len(ws)), ws):
                    g = f.require_group(path + "/layer" + ("/" + sub if sub else "") + "/vars")
                    g.create_dataset(str(i), data=np.array(w, dtype=np.float32, order="C"))
                continue
            if isinstance(ly, L.InputLayer) and assets is not None:
                _preprocessing_state(model, f, used, ly, assets)
            if isinstance(model, Sequential) and isinstance(ly, L.InputLayer):
                continue  # Sequential.layers leaves its InputLayer out
            path = "layers/" + _unique(_snake(type(ly).__name__), used)
            f.create_group(path + "/vars").attrs["name"] = model._names[id(ly)]
            ws = [] if isinstance(ly, L.Discretization) else model._layer_weights(ly)  # Keras': no variables
            for (sub, i), w in zip(_slots(ly, len(ws)), ws):
                grp = path + ("/" + sub if sub else "") + "/vars"
                g = f.require_group(grp)
                if "name" not in g.attrs:
                    g.attrs["name"] = sub.split("/")[-1].replace("_dense", "")
                g.create_dataset(str(i), data=np.array(w, dtype=np.float32, order="C"))  # 0-d stays 0-d (Attention's scale)
    return bio.getvalue()


def _wrapped_model_h5(f, model, inner, path):
    """TimeDistributed(inner)'s wrapped model under path: its layers as a
    nested model's (<path>/layers/<class in snake case>, made unique in its
    model.layers' order, the InputLayer included but in a Sequential, as
    the reader's functional / sequential walk them), their values the outer
    model's, which trains them."""
    from .models import Sequential
    f.create_group(path + "/vars").attrs["name"] = inner.name
    used = {}
    for ly in inner._layers:
        if isinstance(ly, L.InputLayer) and isinstance(inner, Sequential):
            continue
        p = path + "/layers/" + _unique(_snake(type(ly).__name__), used)
        f.create_group(p + "/vars").attrs["name"] = model._names.get(id(ly), inner._names[id(ly)])
        ws = [] if isinstance(ly, (L.InputLayer, L.Discretization)) else model._layer_weights(ly)
        for (sub, i), w in zip(_slots(ly, len(ws)), ws):
            g = f.require_group(p + ("/" + sub if sub else "") + "/vars")
            if "name" not in g.attrs:
                g.attrs["name"] = sub.split("/")[-1].replace("_dense", "")
            g.create_dataset(str(i), data=np.array(w, dtype=np.float32, order="C"))


def save(model, filepath, overwrite=True):
    """Model.save for a name ending in .keras: the zip, written to a
    temporary file beside it and renamed over it."""
    h5py = _h5py("writing")
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError("save: '%s' exists and overwrite=False" % path)
    model._sync()
    top = _config(model)
    if model._compiled:
        top["compile_config"] = _compile_config(model)
    assets = []
    weights = _weights_h5(model, h5py, assets, _optimizer_vars(model) if model._compiled else None)
    meta = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}

    def write(fh):
        with zipfile.ZipFile(fh, "w") as zf:
            zf.writestr(_METADATA, json.dumps(meta))
            zf.writestr(_CONFIG, json.dumps(top))
            zf.writestr(_WEIGHTS, weights)
            for member, text in assets:
                zf.writestr(member, text)
    _write_beside(path, ".keras-", write)


def _write_beside(path, prefix, write):
    """path's new bytes, write(fh)'s, through a temporary file beside it
    renamed over it (mode 0666 less the umask); nothing is left behind when
    write fails"""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---------------------------------------------------------------- .weights.h5

def save_weights(model, filepath, overwrite=True):
    """Model.save_weights for a name ending in .weights.h5: Keras 3's
    weights file (keras/src/saving/saving_lib.py save_weights_only): the
    H5 store a .keras file holds as model.weights.h5, written to a
    temporary file beside it and renamed over it."""
    h5py = _h5py("writing")
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError("save_weights: '%s' exists and overwrite=False" % path)
    model._sync()
    data = _weights_h5(model, h5py)
    _write_beside(path, ".weights-", lambda fh: fh.write(data))


def load_weights(model, filepath):
    """Model.load_weights for a .weights.h5 file (Keras 3's
    load_weights_only): each layer's variables from the group Keras names
    it by (its class in snake case, made unique in model.layers' order),
    every shape checked before any weight is set."""
    h5py = _h5py("reading")
    from .models import Sequential
    path = os.fspath(filepath)
    rd = _Reader(path)
    rd.fail = lambda msg: ValueError("load_weights: '%s': %s" % (path, msg))
    used = {}
    for ly in model._layers:
        if isinstance(model, Sequential) and isinstance(ly, L.InputLayer):
            continue
        rd.paths.append(("layers/" + _unique(_snake(type(ly).__name__), used), ly))
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError("load_weights: '%s' is not a readable HDF5 file (%s)" % (path, e)) from None
    with f:
        rd.weights(model, f, h5py)
