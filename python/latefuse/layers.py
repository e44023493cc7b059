"""
layers.py — the Keras layer classes, recorded in Python and built in C.

Why: users port Keras code line by line, so the spelling is Keras' own
(`x = Dense(32, activation='relu')(inp)`, merge layers take a list).  A
layer call only records a node of the graph (a KerasTensor knows its layer
and its inputs); `latefuse.Model(inputs, outputs)` then walks the graph and
creates the C model through the builder (lf_input, lf_dense, ...): each
class's `_build` calls its own builder function.  Shapes
are checked here at call time, with Keras-like messages, so mistakes show
where the layer is called rather than when the model is built.

A tensor is (batch, *shape), shape of rank 1 to 5, channels last like
Keras: sequences of volumes (T, D, H, W, C), videos (T, H, W, C), images (H, W, C), sequences (T, D), vectors (D,).  A layer object
called again is Keras' shared layer: each call is a node of the graph and
all of them use the layer's one set of weights (lf_share_weights; training
sums their gradients).  The weights live in the C model of a Model that
holds the layer; a layer in several Models (a nested model, a sub-model)
has one set of weights, copied to the Model that uses them next whenever
another one changed them (models.py, Model._sync).
"""
import ctypes
import dis
import functools
import inspect
import itertools
import math
import numbers
import sys
from typing import Any, Dict, List, Optional, Sequence

from . import _lib
from . import initializers as _init
from . import regularizers as _regularizers
from . import constraints as _constraints

__all__ = ["Input", "InputLayer", "Layer", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "BatchNormalization", "Rescaling", "Normalization", "RandomFlip", "RandomTranslation",
           "RandomZoom", "RandomRotation", "RandomContrast", "RandomBrightness", "Concatenate",
           "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot",
           "WeightedAverage", "ClassWeightedAverage", "GatedAverage", "KerasTensor", "TextVectorization",
           "Embedding", "PositionEmbedding", "Conv1D", "DepthwiseConv2D", "SeparableConv2D", "Masking", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "MaxPooling1D", "AveragePooling1D", "LayerNormalization",
           "MultiHeadAttention", "Attention", "AdditiveAttention", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "CategoryEncoding",
           "TimeDistributed", "GlobalMaxPooling3D", "GlobalAveragePooling3D", "Conv3D", "MaxPooling3D",
           "AveragePooling3D", "GroupNormalization", "UnitNormalization",
           "StringLookup", "IntegerLookup", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "GroupedQueryAttention"]

_counter = itertools.count()

def _activation_names():
    """The C library's activations in lf_activation's order (Keras 3's names)."""
    names, a = [], 0
    while True:
        n = _lib.lib.lf_activation_name(a)
        if n is None:
            return tuple(names)
        names.append(n.decode())
        a += 1


ACTIVATIONS = _activation_names()
# Keras' other names of the same functions (keras/src/activations/__init__.py)
ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _activation(a):
    """Keras' name of activation `a` (None: linear); an alias ("swish")
    becomes its function's name ("silu"), as Keras serialises it."""
    if a is None:
        return "linear"
    k = _lib.lib.lf_activation_parse(a.encode()) if isinstance(a, str) else -1
    if k < 0:
        raise ValueError("unknown activation %r: use one of %s (or %s)" % (
            a, ", ".join(ACTIVATIONS), ", ".join(sorted(ACTIVATION_ALIASES))))
    return ACTIVATIONS[k]


def _shape_str(shape):
    return "(None, %s)" % ", ".join(str(d) for d in shape)


class KerasTensor:
    """A symbolic (batch, *sample_shape) tensor: the output of one layer
    call.  `dim` is the number of values per sample.

    A call that returns a list (LSTM(return_state=True),
    Bidirectional(merge_mode=None)) records one node of all its outputs
    side by side (`_views`: the tensors it returns) and, per output, a view
    tensor (`_view` = k, its one input that node): the C library's
    OutputView (lf_output_view)."""

    _view = None   # output k of its input, a node of several outputs
    _views = None  # a node of several outputs: the tensors of its call

    def __init__(self, layer, inputs, shape, extra=None):
        self.layer = layer
        self.inputs = list(inputs)
        self.sample_shape = tuple(int(d) for d in shape) if isinstance(shape, (tuple, list)) else (int(shape),)
        self.dim = 1
        for d in self.sample_shape:
            self.dim *= d
        self.extra = dict(extra or {})  # mask / gate tensors of the averages, MultiHeadAttention's attention_mask
        self.flags = {}  # call arguments that are not tensors (MultiHeadAttention's use_causal_mask)
        self._order = next(_counter)

    @property
    def shape(self):
        return (None,) + self.sample_shape

    @property
    def dtype(self):
        """Keras' KerasTensor.dtype: an Input's dtype ('float32', 'int32' for
        token ids, 'string'); every layer's output is 'float32' (the library
        computes in float32)"""
        return self.layer.dtype if isinstance(self.layer, InputLayer) else "float32"

    def __repr__(self):
        return "<KerasTensor shape=%s, layer=%s>" % (_shape_str(self.sample_shape), self.layer.name or
                                                     type(self.layer).__name__)

    # x + y, x - y, x * y of two tensors, as Keras' functional code writes a
    # residual (x + attention(x)): Add, Subtract, Multiply layers, which
    # broadcast as Keras' (a constant is not a tensor here)
    def _merge(self, other, cls, op, left=True):
        if not isinstance(other, KerasTensor):
            raise TypeError("%s a KerasTensor and a value of type %s: only two tensors of one shape combine "
                            "(as layers.%s()([a, b])); constants are not supported"
                            % (op, type(other).__name__, cls.__name__))
        return cls()([self, other] if left else [other, self])

    def __add__(self, other):
        return self._merge(other, Add, "+:")

    def __sub__(self, other):
        return self._merge(other, Subtract, "-:")

    def __mul__(self, other):
        return self._merge(other, Multiply, "*:")

    def __radd__(self, other):
        return self._merge(other, Add, "+:", False)

    def __rsub__(self, other):
        return self._merge(other, Subtract, "-:", False)

    def __rmul__(self, other):
        return self._merge(other, Multiply, "*:", False)


_INPUT_SHAPE_WARNING = ("Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential "
                        "models, prefer using an `Input(shape)` object as the first layer in the model instead.")


def _base_arguments(init):
    """A layer's __init__ that also takes the arguments every Keras layer
    takes: trainable (False: frozen, as layer.trainable = False), dtype
    (a float type or policy name: the library computes in float32) and
    Keras' legacy input_shape / input_dim (keras/src/layers/layer.py: kept
    as _input_shape_arg, with Keras' warning; a Sequential whose first
    layer has one starts with Input(shape=input_shape), and a Functional
    call ignores it, as Keras)."""
    own = inspect.signature(init).parameters  # Embedding's input_dim is its own argument

    @functools.wraps(init)
    def __init__(self, *args, trainable=True, dtype=None, **kwargs):
        if dtype not in (None, "float32", "float64", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16"):
            raise ValueError("%s: dtype must be a float type (the library computes in float32), got %r"
                             % (type(self).__name__, dtype))
        input_dim = None if "input_dim" in own else kwargs.pop("input_dim", None)
        input_shape = kwargs.pop("input_shape", None)
        if input_dim is not None:
            input_shape = (input_dim,)
        init(self, *args, **kwargs)
        if input_shape is not None:
            import warnings
            warnings.warn(_INPUT_SHAPE_WARNING, UserWarning, stacklevel=2)
            self._input_shape_arg = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else (input_shape,)
        if not trainable:
            self._trainable = False
    return __init__


class Layer:
    """Base class.  `name` is the user's name or None (then the model gives
    a Keras-style default: dense, dense_1, ...)."""

    prefix = "layer"
    _types = {}  # Keras type name (the model file's "type") -> class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the package's own classes only: a user's subclass of the same name
        # (the seed's hand-written WeightedAverage) must not replace the class
        # that load_model / model_from_json build a file's layers with
        ours = cls.__module__.split(".")[0] == __name__.split(".")[0]
        if not cls.__name__.startswith("_") and ours:
            Layer._types[cls.__name__] = cls
        if ours and "__init__" in cls.__dict__:
            cls.__init__ = _base_arguments(cls.__dict__["__init__"])

    _fixed_input = False  # True: the input shapes are fixed by the weights (a shared call keeps them)

    def __init__(self, name: Optional[str] = None) -> None:
        if name is not None and not isinstance(name, str):
            raise ValueError("a layer name must be a string, got %r" % (name,))
        self._user_name = name
        self._built_name = None
        self._holder = None    # the Model whose C model holds the current weights
        self._version = 0      # bumped by every change of the weights (models.py)
        self._output = None
        self._in_shapes = None

    @property
    def name(self) -> Optional[str]:
        return self._user_name or self._built_name

    # --- weights, through the model that holds them
    def _owner(self):
        if self._holder is None:
            raise ValueError("layer %s is not part of a Model yet: its weights live in the C "
                             "model, created by latefuse.Model(inputs, outputs)" %
                             (self.name or type(self).__name__))
        return self._holder

    # --- configuration (Keras' get_config / from_config)
    def get_config(self) -> Dict[str, Any]:
        """The constructor's arguments (JSON-serialisable), as Keras'
        get_config: cls.from_config(layer.get_config()) makes a layer with
        the same settings (and new weights), trainable or frozen."""
        cfg = {"name": self.name, "trainable": self.trainable}
        sig = inspect.signature(type(self).__init__)
        for p in list(sig.parameters.values())[1:]:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name == "name":
                continue
            if not hasattr(self, p.name):
                raise NotImplementedError("%s.get_config: the argument '%s' is not kept by the layer"
                                          % (type(self).__name__, p.name))
            v = getattr(self, p.name)
            if hasattr(v, "get_config"):
                v = {"class_name": type(v).__name__, "config": v.get_config()}
            cfg[p.name] = list(v) if isinstance(v, tuple) else v
        return cfg

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Layer":
        """A new layer from get_config()'s dict."""
        return cls(**config)

    def _initializers(self):
        """(weight index, initializer name) for the weights whose Keras
        initializer is not the C builder's default (glorot_uniform kernel,
        zero bias); Model applies them with lf_initialize."""
        out = []
        k, b = getattr(self, "kernel_initializer", None), getattr(self, "bias_initializer", None)
        if k is not None and k != "glorot_uniform":
            out.append((0, k))
        if b is not None and b != "zeros" and getattr(self, "use_bias", False):
            out.append((1, b))
        return out

    def get_weights(self) -> List[Any]:
        """This layer's weights as numpy arrays, Keras' layout (a Dense
        kernel is (in, units): the transpose of the C library's storage)."""
        return self._owner()._layer_weights(self)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets this layer's weights (Keras' layout and shapes)."""
        self._owner()._set_layer_weights(self, weights)

    _fixed_weights = ()  # indices (in get_weights' order) of weights that never train

    def _split_weights(self, ws):
        """(trainable, non-trainable): the arrays ws of this layer's weights
        (get_weights' order) split as Keras splits its variables: a frozen
        layer's are all non-trainable; the _fixed_weights (BatchNormalization's
        moving statistics) always are."""
        if not self.trainable:
            return [], list(ws)
        return ([w for i, w in enumerate(ws) if i not in self._fixed_weights],
                [w for i, w in enumerate(ws) if i in self._fixed_weights])

    def _unbuilt(self):
        """True for a layer never called (Keras: no weights yet, so its
        weights lists are empty)."""
        return self._holder is None and self._output is None

    @property
    def weights(self) -> List[Any]:
        """Keras' layer.weights: every weight, trainable or not, in the order
        and layout of get_weights() (BatchNormalization: gamma, beta, moving
        mean, moving variance), as numpy copies (see trainable_weights).
        [] for a layer never called, as Keras."""
        return [] if self._unbuilt() else self.get_weights()

    @property
    def trainable_weights(self) -> List[Any]:
        """Keras' layer.trainable_weights: the weights fit trains, in the
        order and layout of get_weights().  They are numpy copies (the
        weights live in the C model, there are no variables): changing them
        changes nothing; set_weights does.  None when the layer is frozen
        (trainable=False); BatchNormalization's moving mean and variance
        never, as in Keras."""
        return [] if self._unbuilt() else self._split_weights(self.get_weights())[0]

    @property
    def non_trainable_weights(self) -> List[Any]:
        """Keras' layer.non_trainable_weights: the weights fit leaves as they
        are (all of a frozen layer's; BatchNormalization's moving mean and
        variance), in get_weights()' order, as numpy copies (see
        trainable_weights)."""
        return [] if self._unbuilt() else self._split_weights(self.get_weights())[1]

    def count_params(self) -> int:
        """Keras' layer.count_params(): the number of scalars in the layer's
        weights, trainable or not.  ValueError when the layer is not built:
        its weights are made when a Model holding it is built."""
        if self._holder is None:
            raise ValueError("You tried to call `count_params` on %s, but the layer isn't built: its weights are "
                             "made when a model holding it is built (latefuse.Model(inputs, outputs), or a "
                             "Sequential once built)" % ("layer '%s'" % self.name if self.name else
                                                        "a %s layer" % type(self).__name__))
        return int(sum(w.size for w in self.get_weights()))

    @property
    def trainable(self):
        """Keras' layer.trainable.  False freezes the layer: fit leaves its
        weights bit for bit as they are (no step, no optimizer moment, no
        moving average), summary() counts them as non-trainable, and a
        frozen BatchNormalization normalises by its moving statistics.  It
        takes effect from the next fit on, with or without compiling again
        (Keras' guide asks to compile again; that works too).  Saved in the
        model file."""
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        if self._holder is not None:  # the other models holding it apply it when they fit (models.py)
            self._holder._apply_trainable(self)

    # --- the symbolic tensors of the layer's first call (Keras 3's
    # Operation.input / output, keras/src/ops/operation.py: a layer called
    # several times gives its first call's; never called: AttributeError)
    def _first_call(self, what):
        if self._output is None:
            raise AttributeError("The layer %s has never been called and thus has no defined %s."
                                 % (self.name or type(self).__name__, what))
        return self._output

    @property
    def input(self):
        """The input tensor of the layer's first call (a list when it took
        several; an InputLayer's: [])."""
        ins = self._first_call("input").inputs
        return ins[0] if len(ins) == 1 else list(ins)

    @property
    def output(self):
        """The output tensor of the layer's first call."""
        return self._first_call("output")

    @property
    def built(self) -> bool:
        """Keras' layer.built: True once the layer has been called on a
        tensor (its weight shapes are then known)."""
        return self._output is not None

    # --- custom layers (Keras' subclassing) cannot run in the C graph
    def _custom_refused(self):
        return NotImplementedError(
            "%s: custom layers (a subclass of Layer with its own call() and add_weight()) are not supported: "
            "the network runs in the C library, built from latefuse.layers' classes only; the seed's "
            "WeightedAverage is built in: latefuse.layers.WeightedAverage(n_output=...)" % type(self).__name__)

    def add_weight(self, *args, **kwargs):
        """Keras' Layer.add_weight, for custom layers: refused (see __call__)."""
        raise self._custom_refused()

    # --- calling
    def __call__(self, inputs, **kwargs) -> "KerasTensor":
        if type(self)._call is Layer._call:  # a user's subclass with call(): nothing C could build
            raise self._custom_refused()
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if xs and not any(isinstance(x, KerasTensor) for x in xs) and all(_is_array(x) for x in xs):
            return self._call_eager(inputs, xs, kwargs)
        shapes = tuple(x.sample_shape for x in xs if isinstance(x, KerasTensor))
        if self._output is not None and self._fixed_input and shapes != self._in_shapes:
            raise ValueError("layer %s was built on input shape %s and is called on %s: a layer called "
                             "again shares its weights, so its input shapes must stay the same" %
                             (self.name or type(self).__name__, ", ".join(map(_shape_str, self._in_shapes)),
                              ", ".join(map(_shape_str, shapes))))
        out = self._call(inputs, **kwargs)
        if self._output is None:
            self._output, self._in_shapes = out, shapes
        return out

    def _call_eager(self, inputs, xs, kwargs):
        """layer(arrays): Keras' eager call, run as the predict of a Model
        made of this one layer on Inputs of the arrays' shapes (int arrays:
        int32 token ids), so the layer gets (or keeps, when already built)
        its weights as in Keras: a later call, eager or in a model, shares
        them.  Vectors (every array of rank 1) are one sample, their axis
        the features, as Keras' layers take a vector: Dense(4) of (3,) is
        (4,), Normalization(axis=None) of (5,) is (5,).  Returns numpy
        arrays (Keras: the backend's tensors); the layer runs in inference
        mode (Keras' default outside fit)."""
        import numpy as np
        from .models import Model
        if kwargs.pop("training", None):
            raise ValueError("layer %s(arrays, training=True) is not supported: an eager call runs in "
                             "inference mode (train the layer in a Model with fit)" % (self.name or type(self).__name__))
        arrs = [np.asarray(x) for x in xs]
        vectors = all(a.ndim == 1 for a in arrs)
        for a in arrs:
            if a.ndim < 2 and not vectors or a.ndim == 0 or a.dtype.kind not in "biuf":
                raise ValueError("layer %s called on an array of shape %s and dtype %s: an eager call takes "
                                 "numeric arrays of shape (batch, ...), or vectors (features,) only"
                                 % (self.name or type(self).__name__, a.shape, a.dtype))
        if vectors:
            arrs = [a[None] for a in arrs]
        ins = [Input(shape=a.shape[1:], dtype="int32" if a.dtype.kind in "iu" else "float32") for a in arrs]
        extra = []  # the tensor arguments given as arrays (attention_mask, initial_state): float inputs too

        def lift(v):
            if isinstance(v, (list, tuple)) and v and all(hasattr(e, "__array__") for e in v):
                return [lift(e) for e in v]
            if not hasattr(v, "__array__") or np.ndim(v) < 2:
                return v
            a = np.asarray(v)
            if a.dtype.kind not in "biuf":
                raise ValueError("layer %s called on an array argument of dtype %s: an eager call takes numeric "
                                 "arrays" % (self.name or type(self).__name__, a.dtype))
            extra.append((Input(shape=a.shape[1:]), a.astype(np.float32)))
            return extra[-1][0]
        kwargs = {k: lift(v) for k, v in kwargs.items()}
        out = Layer.__call__(self, ins if isinstance(inputs, (list, tuple)) else ins[0], **kwargs)
        ins, arrs = ins + [t for t, _ in extra], arrs + [a for _, a in extra]
        model = Model(ins, out, name="eager_" + (self.name or self.prefix))
        y = model.predict(arrs if len(arrs) > 1 else arrs[0], verbose=0)
        if vectors:  # the one sample's outputs
            return [o[0] for o in y] if isinstance(y, list) else y[0]
        return y

    def build(self, input_shape) -> None:
        """Keras' layer.build(input_shape) on a layer of its own (the batch
        axis first, None or a size; a list of shapes for a layer of several
        inputs): its weights are made for inputs of that shape, held as
        after an eager call (a one-layer Model), so get_weights /
        set_weights work.  A built layer is left as it is, as Keras."""
        if not self._unbuilt():
            return
        from .models import Model
        many = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(sh) for sh in input_shape] if many else [tuple(input_shape)]
        ins = [Input(shape=sh[1:]) for sh in shapes]
        Model(ins, Layer.__call__(self, ins if many else ins[0]), name="built_" + (self.name or self.prefix))

    def _call(self, inputs, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build(self, lib, h, t, ids, name):
        """Adds this layer's node, the output tensor t, to the C model h
        through its builder function; ids maps id(tensor) to node ids and
        name is the layer's name (bytes).  Returns the node id, -1 on error."""
        raise ValueError("Model: layer %r cannot be built" % (self,))

    @classmethod
    def _load(cls, spec, ins, tensors):
        """The layer of a model file's layer `spec` (the architecture JSON,
        already validated by the library), called on its inbound tensors
        ins; tensors maps earlier layer names to their tensors."""
        return cls(name=spec["name"])(ins)

    def __repr__(self):
        return "<%s name=%s>" % (type(self).__name__, self.name)


def _is_array(x):
    """An array-like a layer can be called on eagerly (numpy, a nested list
    of numbers, or an object with __array__ such as a torch tensor)."""
    return hasattr(x, "__array__") or (isinstance(x, list) and bool(x) and isinstance(x[0], (list, tuple)))


def _ids(t, ids):
    """The node ids of t's inputs, and the same as a C int array."""
    ii = [ids[id(x)] for x in t.inputs]
    return ii, (ctypes.c_int * max(1, len(ii)))(*ii)


def _extra_id(t, ids, key):
    x = t.extra.get(key)
    return ids[id(x)] if x is not None else -1


def _one(layer, x):
    if isinstance(x, (list, tuple)):
        if len(x) != 1:
            raise ValueError("layer %s expects one input tensor, got %d" % (type(layer).__name__, len(x)))
        x = x[0]
    if not isinstance(x, KerasTensor):
        raise ValueError("layer %s must be called on a tensor from Input() or another layer, got %r"
                         % (type(layer).__name__, type(x).__name__))
    return x


def _many(layer, xs, least=2):
    if isinstance(xs, KerasTensor) or not isinstance(xs, (list, tuple)):
        raise ValueError("a %s layer should be called on a list of inputs" % type(layer).__name__)
    xs = list(xs)
    for i, x in enumerate(xs):
        if not isinstance(x, KerasTensor):
            raise ValueError("%s: input %d is not a tensor (got %r)" % (type(layer).__name__, i,
                                                                      type(x).__name__))
    if len(xs) < least:
        raise ValueError("a %s layer should be called on a list of at least %d inputs, got %d"
                         % (type(layer).__name__, least, len(xs)))
    return xs


def _equal_dims(layer, xs):
    shapes = [x.sample_shape for x in xs]
    if len(set(shapes)) != 1:
        raise ValueError("%s needs inputs of the same shape, got shapes %s" %
                         (type(layer).__name__, ", ".join(_shape_str(s) for s in shapes)))
    return shapes[0]


def _flat(layer, x):
    if len(x.sample_shape) != 1:
        raise ValueError("%s: input of shape %s must be (batch, features): add a Flatten"
                         % (type(layer).__name__, _shape_str(x.sample_shape)))
    return x


_lib._proto("lf_input_shape", ctypes.c_int, _lib._P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
            ctypes.c_int, ctypes.c_char_p)


Layer.__init__ = _base_arguments(Layer.__init__)  # (the subclasses' own are wrapped by __init_subclass__)


class InputLayer(Layer):
    prefix = "input"

    def __init__(self, shape, name=None, dtype="float32"):
        super().__init__(name)
        self.sample_shape = tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),)
        self.dim = 1
        for d in self.sample_shape:
            self.dim *= d
        self.dtype = dtype
        self.shape = self.sample_shape

    def _call(self, inputs, **kwargs):  # pragma: no cover
        raise ValueError("an input layer is not called")

    def _build(self, lib, h, t, ids, name):
        dims = (ctypes.c_size_t * len(self.sample_shape))(*self.sample_shape)
        return lib.lf_input_shape(h, len(self.sample_shape), dims, 1 if self.dtype == "int32" else 0, name)


def Input(shape: Any = None, batch_size: Optional[int] = None, dtype: Optional[str] = None,
          name: Optional[str] = None, batch_shape: Any = None, **kwargs) -> KerasTensor:
    """Input(shape) -> a symbolic (batch, *shape) tensor, as keras.Input:
    shape of rank 1 to 5, channels last ((64, 64, 3) for images, (8, 64, 64, 3)
    for videos of 8 frames, (8, 16, 64, 64, 1) for 8 volumes).  dtype
    float32 (float16, bfloat16 and float64 too: the library computes in
    float32), or an integer type for token ids (int32; int64, the type of
    Keras' TextVectorization, and the other integer types as int32: ids
    given as arrays of integers, exact up to 2^24, computed as floats).
    Inputs are the `x` arrays of fit/predict in the order of
    Model(inputs=...): (N, *shape) or (N, prod(shape))."""
    if kwargs:
        raise ValueError("Input: unsupported arguments %s" % ", ".join(sorted(kwargs)))
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if isinstance(shape, int):
        shape = (shape,)
    if dtype in ("string", "str"):  # texts for a TextVectorization, or strings for a StringLookup
        if shape in (None, (), [], [1]):
            shape = (1,)
        if not (isinstance(shape, tuple) and len(shape) == 1 and isinstance(shape[0], int) and shape[0] >= 1):
            raise ValueError("Input: a string input holds n strings per row: shape=(n,) (one text per row, (1,), "
                             "for a TextVectorization), got %r" % (shape,))
        layer = InputLayer(tuple(shape), name, "string")
        t = KerasTensor(layer, [], tuple(shape))
        layer._output = t
        return t
    if shape is not None and any(d is None for d in tuple(shape)):
        raise ValueError("Input: a dimension of None (a variable length) is not supported, got %r: give the "
                         "length, and pad or cut the rows to it (TextVectorization(output_sequence_length=T) "
                         "does)" % (shape,))
    if (shape is None or not 1 <= len(tuple(shape)) <= 5 or
            any(isinstance(d, bool) or int(d) < 1 for d in tuple(shape))):
        raise ValueError("Input: shape must be 1 to 5 dims >= 1, channels last (features,), (steps, "
                         "features), (height, width, channels), (frames, height, width, channels) or (frames, "
                         "depth, height, width, channels), got %r"
                         % (shape,))
    ints = ("int32", "int64", "int16", "int8", "uint8", "uint16", "uint32")
    if dtype not in (None, "float32", "float64", "float16", "bfloat16") + ints:
        raise ValueError("Input: dtype must be a float or an integer type (token ids) or string, got %r (the "
                         "library computes in float32)" % (dtype,))
    layer = InputLayer(tuple(int(d) for d in shape), name, "int32" if dtype in ints else "float32")
    t = KerasTensor(layer, [], layer.sample_shape)
    layer._output = t
    return t


# Keras' regularizer arguments -> lf_reg_target, and the model file's target names
# (DepthwiseConv2D / SeparableConv2D: depthwise_regularizer, on both of the
# separable kernels, which SeparableConv2D checks equal to its pointwise_regularizer)
_REGULARIZER_TARGETS = (("kernel_regularizer", 0, "kernel"), ("embeddings_regularizer", 0, "kernel"),
                        ("depthwise_regularizer", 0, "kernel"),
                        ("bias_regularizer", 1, "bias"), ("recurrent_regularizer", 2, "recurrent_kernel"),
                        ("activity_regularizer", 3, "activity"))


def _set_regularizers(lib, h, i, layer):
    """lf_set_regularizer on node i for each regularizer the layer has (L1,
    L2, L1L2: their l1 and l2); i, or -1 when one fails"""
    for arg, target, _ in _REGULARIZER_TARGETS:
        r = getattr(layer, arg, None)
        if i >= 0 and r is not None and lib.lf_set_regularizer(h, i, target, r.l1, r.l2) != 0:
            return -1
    return i


def _set_penalties(lib, h, i, layer):
    """lf_set_regularizer on node i for the layer's regularizers, and its
    constraints; i, or -1 when one fails (the model's error says why)"""
    return _set_constraints(lib, h, _set_regularizers(lib, h, i, layer), layer)


# Keras' constraint arguments -> lf_weight_role, and the model file's role names
_CONSTRAINT_ROLES = (("kernel_constraint", 0, "kernel"), ("embeddings_constraint", 0, "kernel"),
                     ("recurrent_constraint", 1, "recurrent_kernel"), ("bias_constraint", 2, "bias"),
                     ("gamma_constraint", 3, "gamma"), ("beta_constraint", 4, "beta"))


def _take_constraints(layer, kn, **given):
    """Sets the layer's constraint arguments (latefuse.constraints, their
    names or Keras' configs), checked"""
    for arg, c in given.items():
        setattr(layer, arg, _constraints.get(c, "%s: %s" % (kn, arg)))


def _kernel_and_bias(self, kn, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                     kernel_constraint, bias_constraint):
    """The kernel's and the bias' initializer, L2 regularizer and
    constraint arguments of a Dense or convolution layer kn, checked and
    kept on self"""
    _take_constraints(self, kn, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
    self.kernel_regularizer, self.l2 = _l2_of(kernel_regularizer, kn + ": kernel_regularizer")
    self.bias_regularizer, self.bias_l2 = _l2_of(bias_regularizer, kn + ": bias_regularizer")
    self.kernel_initializer = _init.get(kernel_initializer, kn + ": kernel_initializer")
    self.bias_initializer = _init.get(bias_initializer, kn + ": bias_initializer")


def _set_constraints(lib, h, i, layer):
    """lf_set_constraint on node i for each constraint the layer has; i, or -1"""
    for arg, role, _ in _CONSTRAINT_ROLES:
        c = getattr(layer, arg, None)
        if i >= 0 and c is not None and lib.lf_set_constraint(h, i, role, ctypes.byref(c._c_struct())) != 0:
            return -1
    return i


def _constraints_of(spec, args):
    """The constraint arguments (those of args the class takes) of a model
    file's layer (its optional "constraints")"""
    cs = spec.get("constraints") or {}
    return {arg: _constraints._from_file(cs[key]) for arg, _, key in _CONSTRAINT_ROLES
            if arg in args and key in cs}


_WEIGHTED_REGS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


def _penalties_of(spec, args=("kernel_regularizer", "bias_regularizer")):
    """the regularizer arguments (those of args the class takes) of a model
    file's layer: its optional "l2" and "bias_l2" (the kernel's and bias's
    l2) and "regularizers" (the l1 factors, the recurrent kernel's and the
    activity's), as the Keras class they stand for (L1, L2 or L1L2)"""
    rs = spec.get("regularizers") or {}
    out = {}
    for arg, _, key in _REGULARIZER_TARGETS:
        if arg not in args:
            continue
        r = rs.get(key) or {}
        l2 = spec.get("l2") if key == "kernel" else spec.get("bias_l2") if key == "bias" else r.get("l2")
        out[arg] = _regularizers._from_factors(r.get("l1"), l2)
    return out


def _l2_of(regularizer, what):
    """The regularizer (latefuse.regularizers L1, L2 or L1L2, their names or
    Keras configs) and its l2 factor (0 for None); others are refused"""
    regularizer = _regularizers.get(regularizer)
    if regularizer is None:
        return regularizer, 0.0
    if not isinstance(regularizer, _regularizers.L1L2):
        raise ValueError("%s must be latefuse.regularizers.L1, L2 or L1L2 (their penalties are computed in C), "
                         "got %r" % (what, regularizer))
    return regularizer, float(regularizer.l2)


def _reg_of(regularizer, what):
    return _l2_of(regularizer, what)[0]


class Dense(Layer):
    """Dense(units, activation=None, use_bias=True, kernel_initializer=
    'glorot_uniform', bias_initializer='zeros', kernel_regularizer=None,
    bias_regularizer=None, kernel_constraint=None, bias_constraint=None), as Keras
    (regularizers: l2(x); constraints: latefuse.constraints, axis over Keras'
    (in, units) kernel), on the last axis ((T, D) -> (T, units); initializers:
    latefuse.initializers).  get_weights() gives
    [kernel (in, units), bias (units,)] as Keras does; the C library stores
    the kernel as (units, in) like PyTorch and the transposition happens in
    Python."""

    prefix = "dense"
    _fixed_input = True

    def __init__(self, units: int, activation: Optional[str] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, name: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(name)
        if kwargs:
            raise ValueError("Dense: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        _kernel_and_bias(self, "Dense", kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError("Dense: units must be a positive integer, got %r" % (units,))
        self.units = units
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        self.activity_regularizer = _reg_of(activity_regularizer, "Dense: activity_regularizer")

    def _call(self, x):
        # on the last axis, as Keras: (T, D) -> (T, units)
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape[:-1] + (self.units,))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["units"]), spec["activation"], spec["use_bias"], name=spec["name"],
                   **_penalties_of(spec, _WEIGHTED_REGS), **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_dense(h, ii[0], self.units, lib.lf_activation_parse(self.activation.encode()),
                         int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


class Activation(Layer):
    prefix = "activation"

    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = _activation(activation)

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["activation"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_activation_layer(h, ii[0], lib.lf_activation_parse(self.activation.encode()), name)


class Dropout(Layer):
    """Dropout(rate): inverted dropout while training, identity in predict."""

    prefix = "dropout"

    def __init__(self, rate, noise_shape=None, seed=None, name=None):
        super().__init__(name)
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported")
        if not (isinstance(rate, (int, float)) and 0.0 <= rate < 1.0):
            raise ValueError("Dropout: rate must be in [0, 1), got %r" % (rate,))
        self.rate = float(rate)
        self.noise_shape, self.seed = None, seed

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(float(spec["rate"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_dropout(h, ii[0], self.rate, name)


_lib._proto("lf_flatten", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class Flatten(Layer):
    """Flatten(): (batch, d1, ..., dk) -> (batch, d1 * ... * dk)."""

    prefix = "flatten"

    def __init__(self, data_format=None, name=None):
        super().__init__(name)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("Flatten: data_format must be 'channels_last' or 'channels_first', got %r"
                             % (data_format,))
        self.data_format = data_format

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.dim)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_flatten(h, ii[0], name)


def _keras_tuple(shape):
    return "(%s)" % (", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))


def _broadcast_shape(layer, xs):
    """Keras' broadcast of the per-sample shapes, folded input by input
    (keras/src/layers/merging/base_merge.py _compute_elemwise_op_output_shape):
    aligned on the last axes, on each axis equal sizes or one of them 1"""
    out = xs[0].sample_shape
    for i, x in enumerate(xs[1:], 1):
        s1, s2 = (out, x.sample_shape) if len(out) >= len(x.sample_shape) else (x.sample_shape, out)
        res = list(s1[:len(s1) - len(s2)])
        for p, q in zip(s1[len(s1) - len(s2):], s2):
            if p != q and p != 1 and q != 1:
                raise ValueError("%s: Inputs have incompatible shapes. Received shapes %s and %s (at input %d%s)"
                                 % (type(layer).__name__, _keras_tuple(s1), _keras_tuple(s2), i,
                                    ", '%s'" % x.layer.name if x.layer.name else ""))
            res.append(q if p == 1 else p)
        out = tuple(res)
    return out


_lib._proto("lf_set_merge_mask_rule", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int)


class _Merge(Layer):
    """Keras' elementwise merges: inputs of broadcastable shapes, Keras 3's
    padding masks (the C library's; a layer loaded from a model file written
    before them keeps that file's rule, LF_MASK_RULE_KEEP)."""

    builder = None  # the C builder function: lf_add, ...
    _keep_masks = False  # the rule of model files without "keras_masks"

    def _call(self, xs):
        xs = _many(self, xs)
        return KerasTensor(self, xs, _broadcast_shape(self, xs))

    def _build(self, lib, h, t, ids, name):
        ii, arr = _ids(t, ids)
        i = getattr(lib, self.builder)(h, len(ii), arr, name)
        if i >= 0 and self._keep_masks and lib.lf_set_merge_mask_rule(h, i, 1) != 0:
            return -1
        return i

    @classmethod
    def _load(cls, spec, ins, tensors):
        layer = cls(name=spec["name"])
        layer._keep_masks = not spec.get("keras_masks", False)
        return layer(ins)

    def get_config(self):
        """Keras' config; a layer under the earlier files' rule adds
        "keras_masks": False (latefuse's own key), read by from_config"""
        cfg = super().get_config()
        if self._keep_masks:
            cfg["keras_masks"] = False
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        keep = config.pop("keras_masks", True) is False
        layer = cls(**config)
        layer._keep_masks = keep
        return layer


class Add(_Merge):
    prefix = "add"
    builder = "lf_add"


class Multiply(_Merge):
    prefix = "multiply"
    builder = "lf_multiply"


class Average(_Merge):
    prefix = "average"
    builder = "lf_average"


class Maximum(_Merge):
    prefix = "maximum"
    builder = "lf_maximum"


class Minimum(_Merge):
    prefix = "minimum"
    builder = "lf_minimum"


class Subtract(_Merge):
    prefix = "subtract"

    def _call(self, xs):
        xs = _many(self, xs)
        if len(xs) != 2:
            raise ValueError("a Subtract layer should be called on exactly 2 inputs, got %d" % len(xs))
        return KerasTensor(self, xs, _broadcast_shape(self, xs))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_subtract(h, ii[0], ii[1], name)
        if i >= 0 and self._keep_masks and lib.lf_set_merge_mask_rule(h, i, 1) != 0:
            return -1
        return i


class Concatenate(Layer):
    """Concatenate(axis=-1): joins inputs of one rank, whose shapes agree but
    on `axis`, along it (keras/src/layers/merging/concatenate.py): any
    non-batch axis, the last by default (the features; the channels of
    (H, W, C) feature maps)."""

    prefix = "concatenate"

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        if not _integer(axis):
            raise ValueError("Concatenate: axis must be an integer, got %r" % (axis,))
        self.axis = int(axis)

    def _call(self, xs):
        xs = _many(self, xs)
        shapes = [x.sample_shape for x in xs]
        r = len(shapes[0])
        if self.axis == 0 or not -r <= self.axis <= r:
            raise ValueError("Concatenate: axis %d is not an axis of inputs of shape %s: use 1..%d or -%d..-1 "
                             "(0 is the batch axis)" % (self.axis, _shape_str(shapes[0]), r, r))
        ax = self.axis - 1 if self.axis > 0 else r + self.axis
        for s in shapes[1:]:
            if len(s) != r or any(a != b for d, (a, b) in enumerate(zip(s, shapes[0])) if d != ax):
                raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the "
                                 "concatenation axis. Received: input_shape=[%s]"
                                 % ", ".join(_shape_str(t) for t in shapes))
        out = list(shapes[0])
        out[ax] = sum(s[ax] for s in shapes)
        return KerasTensor(self, xs, tuple(out) if r > 1 else out[0])

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(axis=int(spec.get("axis", -1)), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, arr = _ids(t, ids)
        return lib.lf_concatenate_axis(h, len(ii), arr, self.axis, name)


class Dot(Layer):
    """Dot(axes=1, normalize=False): Keras' Dot (keras/src/layers/merging/
    dot.py, batch_dot): the sum over axes[0] of the first input times
    axes[1] of the second for every pair of their other positions, so
    (batch, features) rows give (batch, 1) (normalize=True: the cosine
    similarity) and (T, D) . (S, D) on axes=2 gives (T, S)."""

    prefix = "dot"

    def __init__(self, axes=1, normalize=False, name=None):
        super().__init__(name)
        if not isinstance(axes, int) or isinstance(axes, bool):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an int. Received: "
                                "axes=%r" % (axes,))
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two elements. Received: "
                                 "axes=%r" % (axes,))
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be integers. "
                                 "Received: axes=%r" % (axes,))
        self.axes = list(axes) if isinstance(axes, (tuple, list)) else axes
        self.normalize = bool(normalize)

    def _call(self, xs):
        xs = _many(self, xs)
        if len(xs) != 2:
            raise ValueError("a Dot layer should be called on exactly 2 inputs, got %d" % len(xs))
        shapes = [x.sample_shape for x in xs]
        given = self.axes if isinstance(self.axes, list) else [self.axes] * 2
        ax = [a % (len(s) + 1) if a < 0 else a for a, s in zip(given, shapes)]
        for a, s in zip(ax, shapes):
            if a == 0 or a > len(s):
                raise ValueError("Dot: axes %r do not fit inputs of shapes %s (0 is the batch axis)"
                                 % (self.axes, ", ".join(_shape_str(t) for t in shapes)))
        if shapes[0][ax[0] - 1] != shapes[1][ax[1] - 1]:
            raise ValueError("Incompatible input shapes: axis values %d (at axis %d) != %d (at axis %d). Full "
                             "input shapes: %s, %s" % (shapes[0][ax[0] - 1], ax[0], shapes[1][ax[1] - 1], ax[1],
                                                       _shape_str(shapes[0]), _shape_str(shapes[1])))
        out = [d for i, d in enumerate(shapes[0]) if i != ax[0] - 1] + \
              [d for i, d in enumerate(shapes[1]) if i != ax[1] - 1]
        t = KerasTensor(self, xs, tuple(out) or (1,))
        t._dot_ax = ax  # this call's axes, resolved
        return t

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(axes=spec.get("axes", 1), normalize=bool(spec.get("normalize")), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        if all(len(x.sample_shape) == 1 for x in t.inputs):  # (batch, features) rows: the file's form of before
            return lib.lf_dot(h, ii[0], ii[1], int(self.normalize), name)
        ax = t._dot_ax
        return lib.lf_dot_axes(h, ii[0], ii[1], ax[0], ax[1], int(self.normalize), name)


_lib._proto("lf_dot_axes", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_char_p)


def _mask(layer, mask, n):
    if mask is None:
        return None
    if not isinstance(mask, KerasTensor) or mask.dim != n:
        raise ValueError("%s: mask must be a (batch, %d) tensor holding 1 where an input is present"
                         % (type(layer).__name__, n))
    return mask


class WeightedAverage(Layer):
    """The seed's layer: one trainable weight per input, init U(0,1),
    y = sum_k softmax(W)_k x_k.  n_output (the seed's argument) is the number
    of inputs; when given it is checked against the call.  get_weights()
    gives W with the seed's shape (1, 1, n_inputs), so
    latefuse.softmax(W) are the fusion weights.  Optional `mask` at call
    time: a (batch, n_inputs) tensor, 1 where input k is present."""

    prefix = "weighted_average"
    _fixed_input = True

    def __init__(self, n_output=None, name=None):
        super().__init__(name)
        if n_output is not None and (isinstance(n_output, bool) or not isinstance(n_output, int)
                                     or n_output < 2):
            raise ValueError("%s: n_output (the number of inputs) must be an integer >= 2, got %r"
                             % (type(self).__name__, n_output))
        self.n_output = n_output

    def _call(self, xs, mask=None):
        xs = _many(self, xs)
        if self.n_output is not None and self.n_output != len(xs):
            raise ValueError("%s(n_output=%d) called on %d inputs: n_output is the number of inputs"
                             % (type(self).__name__, self.n_output, len(xs)))
        d = _equal_dims(self, xs)
        return KerasTensor(self, xs, d, {"mask": _mask(self, mask, len(xs))})

    @classmethod
    def _load(cls, spec, ins, tensors):
        mask = tensors[spec["mask"]] if spec.get("mask") else None
        return cls(name=spec["name"])(ins, mask=mask)

    def _build(self, lib, h, t, ids, name):
        ii, arr = _ids(t, ids)
        return lib.lf_weighted_average(h, len(ii), arr, _extra_id(t, ids, "mask"), name)


class ClassWeightedAverage(WeightedAverage):
    """One weight per input per feature (class): for each feature c,
    y_c = sum_k softmax_k(W[k, c]) x_kc.  get_weights() gives W as
    (1, features, n_inputs) so that latefuse.softmax(W) (over the last axis,
    the inputs, as for WeightedAverage) gives the per-class weights; the C
    library stores it as (n_inputs, features)."""

    prefix = "class_weighted_average"

    def _build(self, lib, h, t, ids, name):
        ii, arr = _ids(t, ids)
        return lib.lf_class_weighted_average(h, len(ii), arr, _extra_id(t, ids, "mask"), name)


class GatedAverage(Layer):
    """Sample-dependent weights: called as GatedAverage()([x1, x2], gate=g)
    where g is a (batch, n_inputs) tensor of gate logits; y = sum_k
    softmax(g)_k x_k.  No weights of its own.  Optional `mask` as for
    WeightedAverage."""

    prefix = "gated_average"

    def _call(self, xs, gate=None, mask=None):
        xs = _many(self, xs)
        d = _equal_dims(self, xs)
        if not isinstance(gate, KerasTensor) or gate.dim != len(xs):
            raise ValueError("GatedAverage: gate must be a (batch, %d) tensor of logits" % len(xs))
        return KerasTensor(self, xs, d, {"gate": gate, "mask": _mask(self, mask, len(xs))})

    @classmethod
    def _load(cls, spec, ins, tensors):
        mask = tensors[spec["mask"]] if spec.get("mask") else None
        return cls(name=spec["name"])(ins, gate=tensors[spec["gate"]], mask=mask)

    def _build(self, lib, h, t, ids, name):
        ii, arr = _ids(t, ids)
        return lib.lf_gated_average(h, len(ii), arr, _extra_id(t, ids, "gate"), _extra_id(t, ids, "mask"),
                                    name)


# ---------------------------------------------------------------------------
# shapes and images (channels last)
# ---------------------------------------------------------------------------

def _integer(d):
    """a Python or numpy integer (not a bool), as Keras' int() check takes"""
    return isinstance(d, numbers.Integral) and not isinstance(d, bool) and type(d).__name__ != "bool_"


def _ints_of(v, n, least):
    """v (an integer or n of them) as a tuple of n Python ints >= least,
    or None"""
    if _integer(v):
        v = (v,) * n
    try:
        v = tuple(v)
    except TypeError:
        return None
    if len(v) != n or not all(_integer(d) and d >= least for d in v):
        return None
    return tuple(int(d) for d in v)


def _pairs_of(v, least):
    """v (an integer or a pair of them) as a pair of Python ints >= least,
    or None"""
    return _ints_of(v, 2, least)


def _pair(v, what, layer):
    out = _pairs_of(v, 1)
    if out is None:
        raise ValueError("%s: %s must be a positive integer or a pair of them, got %r" % (layer, what, v))
    return out


def _padding(p, layer):
    if p not in ("valid", "same"):
        raise ValueError("%s: padding must be 'valid' or 'same', got %r" % (layer, p))
    return p


def _image(layer, x):
    x = _one(layer, x)
    if len(x.sample_shape) != 3:
        raise ValueError("%s: input of shape %s must be (batch, height, width, channels)"
                         % (type(layer).__name__, _shape_str(x.sample_shape)))
    return x


def _out_size(n, k, s, padding, d=1):
    """Keras' compute_conv_output_shape (keras/src/ops/operation_utils.py):
    the window d (k - 1) + 1 long; 'same' and 'causal' keep ceil(n / s)"""
    k = d * (k - 1) + 1
    return -(-n // s) if padding in ("same", "causal") else (n - k) // s + 1 if n >= k else 0


def _pad_id(p):
    return {"valid": 0, "same": 1, "causal": 2}[p]


def _no_dilated_strides(strides, dilation_rate, layer):
    """Keras' base_conv.py refusal, word for word"""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError("%s: `strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                         "strides=%r and dilation_rate=%r" % (layer, tuple(strides), tuple(dilation_rate)))


_lib._proto("lf_reshape", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p)


class Reshape(Layer):
    """Reshape(target_shape): the same values in a new shape (1 to 5 dims);
    one of them may be -1, the size that keeps the number of values (as
    Keras)."""

    prefix = "reshape"

    def __init__(self, target_shape, name=None):
        super().__init__(name)
        self.target_shape = tuple(int(d) for d in target_shape)
        if not 1 <= len(self.target_shape) <= 5 or any(d < 1 and d != -1 for d in self.target_shape):
            raise ValueError("Reshape: target_shape must be 1 to 5 dims >= 1 (one may be -1), got %r"
                             % (target_shape,))
        if self.target_shape.count(-1) > 1:
            raise ValueError("Reshape: target_shape %r has more than one -1" % (target_shape,))

    def _call(self, x):
        x = _one(self, x)
        n = 1
        for d in self.target_shape:
            n *= d if d != -1 else 1
        shape = self.target_shape
        if -1 in shape:
            if x.dim % n:
                raise ValueError("Reshape: input of shape %s (%d values) cannot become %s: %d is not a "
                                 "multiple of %d" % (_shape_str(x.sample_shape), x.dim, _shape_str(shape), x.dim, n))
            shape = tuple(x.dim // n if d == -1 else d for d in shape)
            n = x.dim
        if n != x.dim:
            raise ValueError("Reshape: input of shape %s (%d values) cannot become %s (%d values)"
                             % (_shape_str(x.sample_shape), x.dim, _shape_str(self.target_shape), n))
        return KerasTensor(self, [x], shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["target_shape"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        dims = (ctypes.c_size_t * len(t.sample_shape))(*t.sample_shape)  # -1 resolved by _call
        return lib.lf_reshape(h, ii[0], len(t.sample_shape), dims, name)


_lib._proto("lf_conv2d_dilated", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


class Conv2D(Layer):
    """Conv2D(filters, kernel_size, strides=(1, 1), padding='valid',
    activation=None, use_bias=True, kernel_regularizer=None, bias_regularizer=None,
    activity_regularizer=None, dilation_rate=(1, 1)): Keras' convolution over
    channels-last
    images; kernel (kh, kw, in_channels, filters) glorot_uniform, zero bias;
    'same' padding puts the odd pixel at the bottom / right, as Keras;
    dilation_rate spreads the taps (not with strides above 1, as Keras)."""

    prefix = "conv2d"
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, dilation_rate=(1, 1), name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Conv2D: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        self.dilation_rate = _pair(dilation_rate, "dilation_rate", "Conv2D")
        _kernel_and_bias(self, "Conv2D", kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint)
        self.activity_regularizer = _reg_of(activity_regularizer, "Conv2D: activity_regularizer")
        self.filters = _positive(filters, "filters", "Conv2D")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = _pair(strides, "strides", "Conv2D")
        self.padding = _padding(padding, "Conv2D")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        _no_dilated_strides(self.strides, self.dilation_rate, "Conv2D")

    def _call(self, x):
        x = _image(self, x)
        (H, W, C), (kh, kw), (sh, sw), (dh, dw) = x.sample_shape, self.kernel_size, self.strides, self.dilation_rate
        ho, wo = _out_size(H, kh, sh, self.padding, dh), _out_size(W, kw, sw, self.padding, dw)
        if ho < 1 or wo < 1:
            raise ValueError("Conv2D: input of shape %s is smaller than the kernel %r with padding 'valid'"
                             % (_shape_str(x.sample_shape), self.kernel_size))
        self._in_channels = C
        return KerasTensor(self, [x], (ho, wo, self.filters))

    def _weight_shapes(self):
        k = (self.kernel_size[0], self.kernel_size[1], self._in_channels, self.filters)
        return [k, (self.filters,)] if self.use_bias else [k]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]), tuple(spec["strides"]), spec["padding"],
                   spec["activation"], spec["use_bias"], name=spec["name"], **_penalties_of(spec, _WEIGHTED_REGS),
                   dilation_rate=tuple(spec.get("dilation_rate", (1, 1))),
                   **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_conv2d_dilated(h, ii[0], self.filters, self.kernel_size[0], self.kernel_size[1], self.strides[0],
                                  self.strides[1], _pad_id(self.padding), self.dilation_rate[0],
                                  self.dilation_rate[1], lib.lf_activation_parse(self.activation.encode()),
                                  int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


_lib._proto("lf_conv2d_transpose", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t),
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


def _channels_last(data_format, layer):
    if data_format not in (None, "channels_last"):
        raise ValueError("%s: data_format must be 'channels_last' (images are (batch, height, width, channels) "
                         "here), got %r" % (layer, data_format))
    return "channels_last"


def _tconv_size(n, k, s, padding, op):
    """Keras' output size of one axis (keras/src/backend/common/backend_utils.py
    _get_output_shape_given_tf_padding, dilation 1)"""
    if padding == "valid":
        return (n - 1) * s + k + (max(k, s) - k if op is None else op)
    return n * s if op is None else (n - 1) * s + k % 2 + op


def _output_padding_of(kn, v, strides, noun):
    """A transposed convolution's output_padding over len(strides) axes:
    None (Keras' default), or an integer >= 0 or `noun`, as a tuple, each
    below its stride (else Keras' message, base_conv_transpose.py)"""
    if v is None:
        return None
    op = _ints_of(v, len(strides), 0)
    if op is None:
        raise ValueError("%s: output_padding must be None, an integer >= 0 or %s, got %r" % (kn, noun, v))
    for i, (o, st) in enumerate(zip(op, strides)):
        if o >= st:
            raise ValueError("`output_padding` must be strictly less than `strides` for all dimensions. "
                             "At dimension %d, `output_padding` is %d but `strides` is %d. Received: "
                             "output_padding=%r, strides=%r" % (i, o, st, op, strides))
    return op


def _transpose_settings(self, kn, ints, one, filters, kernel_size, strides, padding, data_format, dilation_rate,
                        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                        kernel_constraint, bias_constraint, kwargs):
    """The settings Conv2DTranspose and Conv1DTranspose share, checked and
    kept on self; ints reads a size argument (_pair or _one_int), one is
    dilation_rate's one allowed value as the message writes it"""
    if kwargs:
        raise ValueError("%s: unsupported arguments %s" % (kn, ", ".join(sorted(kwargs))))
    self.data_format = _channels_last(data_format, kn)
    unit = ints(1, "dilation_rate", kn)
    if ints(dilation_rate, "dilation_rate", kn) != unit:
        raise ValueError("%s: only dilation_rate=%s is supported, got %r" % (kn, one, dilation_rate))
    self.dilation_rate = unit
    _kernel_and_bias(self, kn, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                     kernel_constraint, bias_constraint)
    self.filters = _positive(filters, "filters", kn)
    self.kernel_size = ints(kernel_size, "kernel_size", kn)
    self.strides = ints(strides, "strides", kn)
    self.padding = _padding(padding, kn)


class Conv2DTranspose(Layer):
    """Conv2DTranspose(filters, kernel_size, strides=(1, 1), padding='valid',
    output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
    use_bias=True, ...): Keras' transposed convolution over channels-last
    images (keras/src/layers/convolutional/conv2d_transpose.py); kernel
    (kh, kw, filters, in_channels) glorot_uniform, zero bias; output sizes
    and 'same' padding as Keras' TensorFlow and JAX backends."""

    prefix = "conv2d_transpose"
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, name=None, **kwargs):
        super().__init__(name)
        kn = "Conv2DTranspose"
        _transpose_settings(self, kn, _pair, "(1, 1)", filters, kernel_size, strides, padding, data_format,
                            dilation_rate, kernel_initializer, bias_initializer, kernel_regularizer,
                            bias_regularizer, kernel_constraint, bias_constraint, kwargs)
        self.output_padding = _output_padding_of(kn, output_padding, self.strides, "a pair of them")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)

    def _call(self, x):
        x = _image(self, x)
        (H, W, C), (kh, kw), (sh, sw) = x.sample_shape, self.kernel_size, self.strides
        op = self.output_padding or (None, None)
        ho, wo = _tconv_size(H, kh, sh, self.padding, op[0]), _tconv_size(W, kw, sw, self.padding, op[1])
        if ho < 1 or wo < 1:
            raise ValueError("Conv2DTranspose: input of shape %s gives an output of %d x %d pixels"
                             % (_shape_str(x.sample_shape), ho, wo))
        self._in_channels = C
        return KerasTensor(self, [x], (ho, wo, self.filters))

    def _weight_shapes(self):
        k = (self.kernel_size[0], self.kernel_size[1], self.filters, self._in_channels)
        return [k, (self.filters,)] if self.use_bias else [k]

    @classmethod
    def _load(cls, spec, ins, tensors):
        op = spec.get("output_padding")
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]), tuple(spec["strides"]), spec["padding"],
                   None if op is None else tuple(op), activation=spec["activation"], use_bias=spec["use_bias"],
                   name=spec["name"], **_penalties_of(spec),
                   **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        op = None if self.output_padding is None else (ctypes.c_size_t * 2)(*self.output_padding)
        i = lib.lf_conv2d_transpose(h, ii[0], self.filters, self.kernel_size[0], self.kernel_size[1],
                                    self.strides[0], self.strides[1], _pad_id(self.padding), op,
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


_lib._proto("lf_upsampling2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_int, ctypes.c_char_p)


class UpSampling2D(Layer):
    """UpSampling2D(size=(2, 2), data_format=None, interpolation='nearest'):
    Keras' layer (keras/src/layers/reshaping/up_sampling2d.py): 'nearest'
    repeats rows and columns, 'bilinear' is Keras' half-pixel resize; the
    other interpolations are refused."""

    prefix = "up_sampling2d"

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", name=None):
        super().__init__(name)
        self.data_format = _channels_last(data_format, "UpSampling2D")
        self.size = _pair(size, "size", "UpSampling2D")
        interpolation = str(interpolation).lower()
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError("UpSampling2D: interpolation must be 'nearest' or 'bilinear' (Keras' bicubic, "
                             "lanczos3 and lanczos5 are not supported), got %r" % (interpolation,))
        self.interpolation = interpolation

    def _call(self, x):
        x = _image(self, x)
        H, W, C = x.sample_shape
        return KerasTensor(self, [x], (H * self.size[0], W * self.size[1], C))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["size"]), interpolation=spec["interpolation"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_upsampling2d(h, ii[0], self.size[0], self.size[1],
                                   1 if self.interpolation == "nearest" else 0, name)


_EDGE_ARGS = (ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
              ctypes.c_size_t, ctypes.c_char_p)
_lib._proto("lf_zero_padding2d", *_EDGE_ARGS)
_lib._proto("lf_cropping2d", *_EDGE_ARGS)


def _edges(v, what, kn):
    """Keras' int, (symmetric_height, symmetric_width) or ((top, bottom),
    (left, right)) -> ((top, bottom), (left, right))"""
    def ok(d):
        return isinstance(d, int) and not isinstance(d, bool) and d >= 0
    if ok(v):
        return ((v, v), (v, v))
    try:
        v = tuple(v)
    except TypeError:
        v = ()
    if len(v) == 2:
        out = []
        for e in v:
            e = (e, e) if ok(e) else tuple(e) if isinstance(e, (tuple, list)) else ()
            out.append(e)
        if all(len(e) == 2 and ok(e[0]) and ok(e[1]) for e in out):
            return (tuple(out[0]), tuple(out[1]))
    raise ValueError("%s: `%s` should be either an int, a tuple of 2 ints (symmetric_height_%s, "
                     "symmetric_width_%s), or a tuple of 2 tuples of 2 ints ((top_%s, bottom_%s), (left_%s, "
                     "right_%s)) of values >= 0. Received: %s=%r" % ((kn, what) + ("crop" if what == "cropping" else "pad",) * 6
                                                                      + (what, v)))


class _Edges2D(Layer):
    key = "padding"
    builder = None

    def __init__(self, arg, data_format=None, name=None):
        super().__init__(name)
        kn = type(self).__name__
        self.data_format = _channels_last(data_format, kn)
        setattr(self, self.key, _edges(arg, self.key, kn))

    def get_config(self):
        cfg = super().get_config()
        cfg[self.key] = [list(e) for e in getattr(self, self.key)]
        return cfg

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(tuple(e) for e in spec[cls.key]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        flat_sides = [n for e in getattr(self, self.key) for n in e]
        return getattr(lib, self.builder)(h, ii[0], *flat_sides, name)


class ZeroPadding2D(_Edges2D):
    """ZeroPadding2D(padding=(1, 1), data_format=None): zeros around the
    image (keras/src/layers/reshaping/zero_padding2d.py); padding an int,
    (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""

    prefix = "zero_padding2d"
    key = "padding"
    builder = "lf_zero_padding2d"

    def __init__(self, padding=(1, 1), data_format=None, name=None):
        super().__init__(padding, data_format, name)

    def _call(self, x):
        x = _image(self, x)
        (t, b), (l, r) = self.padding
        H, W, C = x.sample_shape
        return KerasTensor(self, [x], (H + t + b, W + l + r, C))


class Cropping2D(_Edges2D):
    """Cropping2D(cropping=((0, 0), (0, 0)), data_format=None): x[:, top:H -
    bottom, left:W - right, :] (keras/src/layers/reshaping/cropping2d.py),
    Keras' error when nothing would be left."""

    prefix = "cropping2d"
    key = "cropping"
    builder = "lf_cropping2d"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, name=None):
        super().__init__(cropping, data_format, name)

    def _call(self, x):
        x = _image(self, x)
        (t, b), (l, r) = self.cropping
        H, W, C = x.sample_shape
        if t + b >= H or l + r >= W:
            raise ValueError("Values in `cropping` argument should be smaller than the corresponding spatial "
                             "dimension of the input. Received: input_shape=%s, cropping=%r"
                             % (_shape_str(x.sample_shape), self.cropping))
        return KerasTensor(self, [x], (H - t - b, W - l - r, C))


__all__ += ["Resizing", "CenterCrop"]

_lib._proto("lf_resizing_pad", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_resizing", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_center_crop", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_char_p)


def _target(kn, height, width):
    """Resizing's / CenterCrop's height and width: positive integers"""
    for what, v in (("height", height), ("width", width)):
        if not _integer(v) or v < 1:
            raise ValueError("%s: `%s` must be a positive integer, got %r" % (kn, what, v))
    return int(height), int(width)


class _ImageTarget(Layer):
    """The layers that map images (batch, H, W, C) to (batch, height, width,
    C): Resizing, CenterCrop, RandomCrop; `builder` names the C builder of
    the kinds whose only arguments are height and width."""

    builder = None

    def _set_target(self, height, width, data_format):
        what = type(self).__name__
        self.height, self.width = _target(what, height, width)
        self.data_format = _channels_last(data_format, what)

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], (self.height, self.width, x.sample_shape[2]))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["height"], spec["width"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], self.height, self.width, name)


class Resizing(_ImageTarget):
    """Resizing(height, width, interpolation='bilinear',
    crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
    fill_mode='constant', fill_value=0.0, antialias=False, data_format=None):
    Keras 3's layer (keras/src/layers/preprocessing/image_preprocessing/
    resizing.py), images (batch, H, W, C) -> (batch, height, width, C) by
    Keras' half-pixel resize: 'bilinear' (PyTorch's bilinear,
    align_corners=False) or 'nearest' (PyTorch's nearest-exact);
    crop_to_aspect_ratio first keeps the largest centred window of the
    target's aspect ratio (lf_resizing in include/latefuse.h);
    pad_to_aspect_ratio first pads the image evenly with fill_value to the
    target's aspect ratio, as Keras' backends (lf_resizing_pad).  Not
    supported: the other interpolations, antialias=True.  Gradients flow to
    the input."""

    prefix = "resizing"

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, name=None):
        super().__init__(name)
        self._set_target(height, width, data_format)
        interpolation = str(interpolation)
        if interpolation in ("lanczos3", "lanczos5", "bicubic", "area"):
            raise ValueError("Resizing: interpolation must be 'bilinear' or 'nearest' (Keras' 'bicubic', 'lanczos3', "
                             "'lanczos5' and 'area' are not supported), got %r" % (interpolation,))
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError("Invalid value for argument `interpolation`. Expected of one ('bilinear', 'nearest', "
                             "'lanczos3', 'lanczos5', 'bicubic', 'area'). Received: interpolation=%s" % interpolation)
        if fill_mode != "constant":
            raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                             "fill_mode=%s" % (fill_mode,))
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        if not _number(fill_value) or not math.isfinite(fill_value):
            raise ValueError("Resizing: fill_value must be a finite number, got %r" % (fill_value,))
        if antialias:
            raise ValueError("Resizing: antialias=True is not supported")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), False

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["height"], spec["width"], interpolation=spec.get("interpolation", "bilinear"),
                   crop_to_aspect_ratio=spec.get("crop_to_aspect_ratio", False),
                   pad_to_aspect_ratio=spec.get("pad_to_aspect_ratio", False), fill_value=spec.get("fill_value", 0.0),
                   name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        interpolation = 1 if self.interpolation == "nearest" else 0
        if self.pad_to_aspect_ratio:
            return lib.lf_resizing_pad(h, ii[0], self.height, self.width, interpolation, self.fill_value, name)
        return lib.lf_resizing(h, ii[0], self.height, self.width, interpolation, int(self.crop_to_aspect_ratio),
                               name)


class CenterCrop(_ImageTarget):
    """CenterCrop(height, width, data_format=None): Keras 3's layer
    (keras/src/layers/preprocessing/image_preprocessing/center_crop.py):
    the centre (height, width) window, from ((H - height) // 2, (W - width)
    // 2); an image smaller than the target is resized as Keras'
    smart_resize (the largest centred window of the target's aspect ratio,
    bilinear).  Gradients flow to the input."""

    prefix = "center_crop"
    builder = "lf_center_crop"

    def __init__(self, height, width, data_format=None, name=None):
        super().__init__(name)
        self._set_target(height, width, data_format)


_lib._proto("lf_repeat_vector", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p)
_lib._proto("lf_permute", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p)
_lib._proto("lf_upsampling1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p)
_lib._proto("lf_zero_padding1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_char_p)
_lib._proto("lf_cropping1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_char_p)


def _keras_int(v, what):
    """Keras' check of RepeatVector's n / UpSampling1D's size (an int, not a
    bool; > 0): its TypeError and ValueError"""
    if not _integer(v):
        raise TypeError("Expected an integer value for `%s`, got %s." % (what, type(v)))
    if v <= 0:
        raise ValueError("Argument `%s` should be a positive integer. Received: %s=%d" % (what, what, v))
    return int(v)


def _standardize_pair(v, what):
    """keras/src/utils/argument_validation.py standardize_tuple(v, 2, what,
    allow_zero=True), its messages"""
    msg = "The `%s` argument must be a tuple of 2 integers. Received %s=%s" % (what, what, v)
    if _integer(v):
        t = (int(v),) * 2
    else:
        try:
            t = tuple(v)
        except TypeError:
            raise ValueError(msg) from None
        if len(t) != 2:
            raise ValueError(msg)
        for e in t:
            if not _integer(e):
                raise ValueError(msg + "including element %s of type %s" % (e, type(e)))
        t = tuple(int(e) for e in t)
    bad = {e for e in t if e < 0}
    if bad:
        raise ValueError(msg + ", including values %s that do not satisfy `value >= 0`" % (bad,))
    return t


class RepeatVector(Layer):
    """RepeatVector(n): (batch, features) -> (batch, n, features)
    (keras/src/layers/reshaping/repeat_vector.py); no padding mask."""

    prefix = "repeat_vector"

    def __init__(self, n, name=None):
        super().__init__(name)
        self.n = _keras_int(n, "n")

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) != 1:
            raise ValueError("RepeatVector: input of shape %s must be (batch, features)" % _shape_str(x.sample_shape))
        return KerasTensor(self, [x], (self.n, x.sample_shape[0]))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["n"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_repeat_vector(h, ii[0], self.n, name)


class Permute(Layer):
    """Permute(dims): the axes after the batch's reordered, output axis i the
    input's axis dims[i] (1-based; keras/src/layers/reshaping/permute.py);
    no padding mask."""

    prefix = "permute"

    def __init__(self, dims, name=None):
        super().__init__(name)
        self.dims = tuple(int(d) if _integer(d) else d for d in dims)
        if not all(_integer(d) for d in self.dims) or sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             "must be consecutive and start from 1. Received dims=%s" % (dims,))

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) != len(self.dims):
            raise ValueError("Permute: input of shape %s must have %d axes after the batch's (dims=%s)"
                             % (_shape_str(x.sample_shape), len(self.dims), self.dims))
        return KerasTensor(self, [x], tuple(x.sample_shape[d - 1] for d in self.dims))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["dims"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        dims = (ctypes.c_size_t * len(self.dims))(*self.dims)
        return lib.lf_permute(h, ii[0], len(self.dims), dims, name)


class UpSampling1D(Layer):
    """UpSampling1D(size=2): each step repeated size times
    (keras/src/layers/reshaping/up_sampling1d.py); no padding mask."""

    prefix = "up_sampling1d"

    def __init__(self, size=2, name=None):
        super().__init__(name)
        self.size = _keras_int(size, "size")

    def _call(self, x):
        x = _sequence(self, x)
        T, D = x.sample_shape
        return KerasTensor(self, [x], (T * self.size, D))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["size"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_upsampling1d(h, ii[0], self.size, name)


class ZeroPadding1D(Layer):
    """ZeroPadding1D(padding=1, data_format=None): zero steps before and after
    (keras/src/layers/reshaping/zero_padding1d.py); padding an int or
    (left_pad, right_pad); channels_last only; no padding mask."""

    prefix = "zero_padding1d"

    def __init__(self, padding=1, data_format=None, name=None):
        super().__init__(name)
        self.data_format = _channels_last(data_format, "ZeroPadding1D")
        self.padding = _standardize_pair(padding, "padding")

    def _call(self, x):
        x = _sequence(self, x)
        T, D = x.sample_shape
        return KerasTensor(self, [x], (T + self.padding[0] + self.padding[1], D))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["padding"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_zero_padding1d(h, ii[0], self.padding[0], self.padding[1], name)


class Cropping1D(Layer):
    """Cropping1D(cropping=(1, 1)): x[:, left:T - right, :]
    (keras/src/layers/reshaping/cropping1d.py), Keras' error when nothing
    would be left; no padding mask."""

    prefix = "cropping1d"

    def __init__(self, cropping=(1, 1), name=None):
        super().__init__(name)
        self.cropping = _standardize_pair(cropping, "cropping")

    def _call(self, x):
        x = _sequence(self, x)
        T, D = x.sample_shape
        if T - self.cropping[0] - self.cropping[1] <= 0:
            raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                             "Received: input_shape=%s, cropping=%s" % (_shape_str(x.sample_shape), self.cropping))
        return KerasTensor(self, [x], (T - self.cropping[0] - self.cropping[1], D))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["cropping"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_cropping1d(h, ii[0], self.cropping[0], self.cropping[1], name)


_POOL_ARGS = (ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
              ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_max_pooling2d", *_POOL_ARGS)
_lib._proto("lf_average_pooling2d", *_POOL_ARGS)


class _Pool2D(Layer):
    builder = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", name=None):
        super().__init__(name)
        kind = type(self).__name__
        self.pool_size = _pair(pool_size, "pool_size", kind)
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", kind)
        self.padding = _padding(padding, kind)

    def _call(self, x):
        x = _image(self, x)
        (H, W, C), (ph, pw), (sh, sw) = x.sample_shape, self.pool_size, self.strides
        ho, wo = _out_size(H, ph, sh, self.padding), _out_size(W, pw, sw, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError("%s: input of shape %s is smaller than the pool %r with padding 'valid'"
                             % (type(self).__name__, _shape_str(x.sample_shape), self.pool_size))
        return KerasTensor(self, [x], (ho, wo, C))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["pool_size"]), tuple(spec["strides"]), spec["padding"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], self.pool_size[0], self.pool_size[1], self.strides[0],
                                          self.strides[1], _pad_id(self.padding), name)


class MaxPooling2D(_Pool2D):
    """MaxPooling2D(pool_size=(2, 2), strides=None (= pool_size), padding='valid')."""
    prefix = "max_pooling2d"
    builder = "lf_max_pooling2d"


class AveragePooling2D(_Pool2D):
    """AveragePooling2D(pool_size=(2, 2), strides=None (= pool_size),
    padding='valid'); with 'same' the mean is over the real pixels."""
    prefix = "average_pooling2d"
    builder = "lf_average_pooling2d"


_lib._proto("lf_global_max_pooling2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_global_average_pooling2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class _GlobalPool2D(Layer):
    builder = None

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], (x.sample_shape[2],))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], name)


class GlobalMaxPooling2D(_GlobalPool2D):
    """GlobalMaxPooling2D(): (batch, H, W, C) -> (batch, C)."""
    prefix = "global_max_pooling2d"
    builder = "lf_global_max_pooling2d"


class GlobalAveragePooling2D(_GlobalPool2D):
    """GlobalAveragePooling2D(): (batch, H, W, C) -> (batch, C)."""
    prefix = "global_average_pooling2d"
    builder = "lf_global_average_pooling2d"


_lib._proto("lf_batch_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)
_lib._proto("lf_batch_normalization_opt", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


def _last_axis(layer, axis):
    """A normalisation layer's axis as Keras takes it: -1, or the last axis
    counted from the batch axis (axis=3 on (None, H, W, C), axis=1 on
    (None, features)), also as a one-element list; checked when the layer is
    called, once the rank is known.  Other axes are not available."""
    a = axis
    if isinstance(a, (list, tuple)) and len(a) == 1:
        a = a[0]
    if isinstance(a, bool) or not isinstance(a, numbers.Integral):
        raise ValueError("%s: axis must be -1 or the last axis, got %r" % (type(layer).__name__, axis))
    return int(a)


def _check_last_axis(layer, axis, x):
    rank = len(x.sample_shape) + 1  # with the batch axis
    if axis not in (-1, rank - 1):
        who = type(layer).__name__ + (" %r" % layer.name if layer.name else "")
        raise ValueError("%s: only the last axis (-1, or %d for an input of shape %s) is available, got axis=%d"
                         % (who, rank - 1, _shape_str(x.sample_shape), axis))


class BatchNormalization(Layer):
    """BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True,
    scale=True): weights [gamma (when scale), beta (when center),
    moving_mean, moving_variance], as Keras'; the moving statistics are
    not trained but updated by training passes (Keras 3's rule) and used
    by evaluate and predict."""

    prefix = "batch_normalization"
    _fixed_input = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_constraint=None,
                 gamma_constraint=None, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("BatchNormalization: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        _take_constraints(self, "BatchNormalization", beta_constraint=beta_constraint,
                          gamma_constraint=gamma_constraint)
        self.axis = _last_axis(self, axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    @property
    def _fixed_weights(self):
        """moving_mean, moving_variance: the last two weights, updated by
        training passes, never trained"""
        n = int(self.center) + int(self.scale)
        return (n, n + 1)

    def _call(self, x):
        x = _one(self, x)
        _check_last_axis(self, self.axis, x)
        self._channels = x.sample_shape[-1]
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        return [(self._channels,)] * (2 + int(self.center) + int(self.scale))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(-1, spec["momentum"], spec["epsilon"], spec.get("center", True), spec.get("scale", True),
                   name=spec["name"], **_constraints_of(spec, ("beta_constraint", "gamma_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return _set_constraints(lib, h, lib.lf_batch_normalization_opt(h, ii[0], self.momentum, self.epsilon,
                                                                       int(self.center), int(self.scale), name), self)


_lib._proto("lf_rescaling", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)


class Rescaling(Layer):
    """Rescaling(scale, offset=0.0): x * scale + offset."""

    prefix = "rescaling"

    def __init__(self, scale, offset=0.0, name=None):
        super().__init__(name)
        self.scale, self.offset = float(scale), float(offset)

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["scale"], spec["offset"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_rescaling(h, ii[0], self.scale, self.offset, name)


_lib._proto("lf_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_size_t,
            _lib.c_float_p, _lib.c_float_p, ctypes.c_int, ctypes.c_char_p)


class Normalization(Layer):
    """Normalization(axis=-1, mean=None, variance=None, invert=False), as
    Keras 3: each position of the kept axes (`axis`: an int, a tuple, or
    None for one mean and variance over everything; Keras' numbering, 0 the
    batch axis, which cannot be kept) has its own mean and variance, and
    the output is (x - mean) / max(sqrt(variance), 1e-7) (invert: mean +
    x * max(sqrt(variance), 1e-7)).  Pass mean and variance (scalars or
    arrays broadcast to the kept axes' shape, Keras' rule), or call
    adapt(data) before or after the model is built.  The weights [mean,
    variance] (the kept axes' shape) never train and are saved in the model
    file; Keras' adapted layer has a third, count, not kept here."""

    prefix = "normalization"
    _fixed_weights = (0, 1)

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Normalization: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        import numpy as np
        if axis is None:
            axes = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axes = (int(axis),)
        else:
            axes = tuple(axis)
        if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
            raise ValueError("Normalization: axis must be an int, a tuple of ints or None, got %r" % (axis,))
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             "Received: mean=%r and variance=%r" % (mean, variance))
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 "Received: mean shape %s and variance shape %s"
                                 % (np.shape(mean), np.shape(variance)))
            if len(np.shape(mean)) > len(axes):
                raise ValueError("The rank of `mean` must be less than or equal to the number of axes (%d). "
                                 "Received: mean shape %s for axis %r" % (len(axes), np.shape(mean), axes))
        self.axis = tuple(int(a) for a in axes)
        # as Keras' get_config: the values given (np.array(None).tolist() is None)
        self.mean = np.array(mean).tolist() if mean is not None else None
        self.variance = np.array(variance).tolist() if variance is not None else None
        self.invert = bool(invert)
        self._adapted = None  # (mean, variance) from adapt(), the kept axes' shape

    def _keep(self, sample_shape):
        """The kept axes (Keras' numbering, sorted) for inputs of this
        per-sample shape, and their sizes."""
        ndim = len(sample_shape) + 1
        for a in self.axis:
            if a < -ndim or a >= ndim:
                raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                                 "ndim=%d, while axis=%r" % (ndim, self.axis))
        keep = tuple(sorted(a if a >= 0 else a + ndim for a in self.axis))
        if 0 in keep:
            raise ValueError("Normalization: axis %r keeps the batch axis (0), whose size is not known; keep "
                             "the input's own axes (1..%d or negative)" % (self.axis, ndim - 1))
        if len(set(keep)) != len(keep):
            raise ValueError("Normalization: axis %r names an axis twice" % (self.axis,))
        return keep, tuple(sample_shape[d - 1] for d in keep)

    def _call(self, x):
        x = _one(self, x)
        keep, kshape = self._keep(x.sample_shape)
        if self._adapted is not None and self._adapted[0].shape != kshape:
            raise ValueError("Normalization: adapt() saw data whose kept axes have shape %s; the input %s has %s"
                             % (self._adapted[0].shape, _shape_str(x.sample_shape), kshape))
        if self.mean is not None:  # Keras' build: trailing axes aligned, then broadcast
            import numpy as np
            ms = np.shape(self.mean)
            if any(a not in (1, b) for a, b in zip(ms[::-1], kshape[::-1])):
                raise ValueError("Normalization: mean and variance of shape %s do not broadcast to the kept axes' "
                                 "shape %s (axis %r of the input %s)"
                                 % (ms, kshape, self.axis, _shape_str(x.sample_shape)))
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        kshape = self._keep(self._in_shapes[0])[1]
        return [kshape, kshape]

    def _values(self, kshape):
        """(mean, variance) as float32 arrays of the kept axes' shape, or
        (None, None): the C builder's zeros and ones."""
        import numpy as np
        if self._adapted is not None:
            return self._adapted
        if self.mean is None:
            return None, None
        out = []
        for v in (self.mean, self.variance):  # Keras' build: trailing axes aligned, then broadcast
            a = np.asarray(v, dtype=np.float64)
            a = a.reshape((1,) * (len(kshape) - a.ndim) + a.shape)
            out.append(np.ascontiguousarray(np.broadcast_to(a, kshape), dtype=np.float32))
        return tuple(out)

    def adapt(self, data):
        """Keras' adapt(data): the mean and (biased) variance of each kept
        position over all the other axes of data, a numpy array (batch
        first) or an iterable of such batches (combined as Keras combines
        them).  Computed in float64, kept as float32.  A layer in a model
        has its weights set at once."""
        import numpy as np
        if self.mean is not None:
            raise ValueError("Normalization: adapt() on a layer given mean and variance: those are its values")
        batches = [data] if hasattr(data, "shape") or isinstance(data, np.ndarray) else list(data)
        if not batches:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch.")
        total_mean = total_var = None
        total_count = 0
        keep = kshape = None
        for b in batches:
            b = np.asarray(b, dtype=np.float64)
            if b.ndim == 1:  # a vector: one sample (its axis the features), as the eager call takes it
                b = b[None]
            if b.ndim < 2:
                raise ValueError("Normalization.adapt: data must be batches (batch, ...) or vectors, got shape %s"
                                 % (b.shape,))
            k, ks = self._keep(b.shape[1:])
            if kshape is None:
                keep, kshape = k, ks
            elif ks != kshape:
                raise ValueError("adapt() yielded a batch with incompatible shape: kept axes %s, then %s"
                                 % (kshape, ks))
            reduce = tuple(d for d in range(b.ndim) if d not in keep)
            bm, bv = np.mean(b, axis=reduce), np.var(b, axis=reduce)
            count = int(np.prod([b.shape[d] for d in reduce])) if reduce else 1
            if total_mean is None:
                total_mean, total_var, total_count = bm, bv, count
                continue
            total_count += count
            bw = float(count) / total_count
            ew = 1.0 - bw
            new_mean = total_mean * ew + bm * bw
            total_var = (total_var + (total_mean - new_mean) ** 2) * ew + (bv + (bm - new_mean) ** 2) * bw
            total_mean = new_mean
        if self._in_shapes is not None and self._keep(self._in_shapes[0])[1] != kshape:
            raise ValueError("The layer was built with input_shape=%s, but adapt() is being called with data "
                             "with an incompatible shape, data.shape=%s"
                             % (_shape_str(self._in_shapes[0]), tuple(np.shape(batches[0]))))
        self._adapted = (np.ascontiguousarray(total_mean, dtype=np.float32).reshape(kshape),
                         np.ascontiguousarray(total_var, dtype=np.float32).reshape(kshape))
        if self._holder is not None:
            self.set_weights(list(self._adapted))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(None if not spec["axis"] else tuple(spec["axis"]), invert=spec.get("invert", False),
                   name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        keep, kshape = self._keep(t.inputs[0].sample_shape)
        ax = (ctypes.c_int * max(1, len(keep)))(*keep)
        mean, var = self._values(kshape)
        if mean is None:
            return lib.lf_normalization(h, ii[0], ax, len(keep), None, None, int(self.invert), name)
        return lib.lf_normalization(h, ii[0], ax, len(keep), mean.ctypes.data_as(_lib.c_float_p),
                                    var.ctypes.data_as(_lib.c_float_p), int(self.invert), name)


_lib._proto("lf_random_flip", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
_FLIPS = {"horizontal": 1, "vertical": 2, "horizontal_and_vertical": 3}


class RandomFlip(Layer):
    """RandomFlip(mode='horizontal_and_vertical'): train-only mirroring,
    drawn from the model's seed; the identity in evaluate and predict."""

    prefix = "random_flip"

    def __init__(self, mode="horizontal_and_vertical", seed=None, name=None):
        super().__init__(name)
        if mode not in _FLIPS:
            raise ValueError("RandomFlip: mode must be one of %s, got %r" % (", ".join(_FLIPS), mode))
        if seed is not None:
            raise ValueError("RandomFlip: draws come from the model's seed (seed=None)")
        self.mode, self.seed = mode, None

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["mode"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_flip(h, ii[0], _FLIPS[self.mode], name)


_lib._proto("lf_random_translation", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)


class _TranslationOptions(ctypes.Structure):
    """lf_translation_options (include/latefuse.h)."""
    _fields_ = [("height_lower", ctypes.c_float), ("height_upper", ctypes.c_float),
                ("width_lower", ctypes.c_float), ("width_upper", ctypes.c_float),
                ("fill_mode", ctypes.c_int), ("interpolation", ctypes.c_int), ("fill_value", ctypes.c_float)]


_lib._proto("lf_random_translation_opt", ctypes.c_int, _lib._P, ctypes.c_int,
            ctypes.POINTER(_TranslationOptions), ctypes.c_char_p)
_lib._proto("lf_translation_defaults", _TranslationOptions, ctypes.c_float, ctypes.c_float)
_FILL_MODES = ("reflect", "wrap", "nearest", "constant")  # lf_fill_mode's order
_INTERPOLATIONS = ("bilinear", "nearest")                 # lf_interpolation's


def _factor_range(factor, what):
    """Keras' RandomTranslation._set_factor: a number f is [-|f|, |f|], a
    pair (lower, upper) sorted; every number in [-1, 1]."""
    def number(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool)
    if isinstance(factor, (tuple, list)):
        vals = list(factor)
        ok = len(vals) == 2 and all(number(v) and -1.0 <= float(v) <= 1.0 for v in vals)
        lo, hi = sorted(float(v) for v in vals) if ok else (0.0, 0.0)
    else:
        ok = number(factor) and -1.0 <= float(factor) <= 1.0
        lo, hi = (-abs(float(factor)), abs(float(factor))) if ok else (0.0, 0.0)
    if not ok:
        raise ValueError("RandomTranslation: %s must be a number (or a list of two numbers) in [-1, 1], got %r"
                         % (what, factor))
    return lo, hi


def _resampling_args(layer, fill_mode, interpolation, seed, fill_value, data_format):
    """The resampling augmentations' shared arguments, checked as Keras
    does (NotImplementedError for an unknown fill_mode or interpolation);
    seed must be None (the draws come from the model's seed)."""
    if fill_mode not in _FILL_MODES:
        raise NotImplementedError("%s: unknown fill_mode %r; expected one of %s"
                                  % (layer, fill_mode, ", ".join(repr(f) for f in _FILL_MODES)))
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError("%s: unknown interpolation %r; expected one of %s"
                                  % (layer, interpolation, ", ".join(repr(f) for f in _INTERPOLATIONS)))
    if seed is not None:
        raise ValueError("%s: draws come from the model's seed (seed=None)" % layer)
    if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real) or not math.isfinite(fill_value):
        raise ValueError("%s: fill_value must be a finite number, got %r" % (layer, fill_value))
    if data_format not in (None, "channels_last"):
        raise ValueError("%s: data_format must be 'channels_last' (images (H, W, C)), got %r"
                         % (layer, data_format))


class RandomTranslation(Layer):
    """RandomTranslation(height_factor, width_factor, fill_mode='reflect',
    interpolation='bilinear', seed=None, fill_value=0.0): Keras 3's
    train-only translation (the identity in evaluate and predict).  Each
    image moves by u * height rows and v * width columns (down / right when
    positive; not rounded), u and v uniform in the factors' ranges: a number
    f is [-f, f], a pair (lower, upper) that range, all in [-1, 1].  Output
    pixel (i, j) is the input at (i - dy, j - dx), bilinear or nearest;
    outside the image by fill_mode: 'reflect' (d c b a | a b c d | d c b a),
    'wrap', 'nearest' (the edge pixel) or 'constant' (fill_value), as Keras'
    numpy backend computes them.  The draws come from the model's seed
    (seed=None)."""

    prefix = "random_translation"

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, name=None):
        super().__init__(name)
        self._height = _factor_range(height_factor, "height_factor")
        self._width = _factor_range(width_factor, "width_factor")
        _resampling_args("RandomTranslation", fill_mode, interpolation, seed, fill_value, data_format)
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor
        self.fill_mode, self.interpolation, self.seed = fill_mode, interpolation, None
        self.fill_value, self.data_format = float(fill_value), data_format
        # a file of lf_random_translation's form (single factors, no
        # fill_value): its whole-pixel shifts, as the C library reads it
        self._whole_pixels = False

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        if not isinstance(spec["height_factor"], list):  # lf_random_translation's form
            layer = cls(spec["height_factor"], spec["width_factor"], fill_mode="constant",
                        interpolation="nearest", name=spec["name"])
            layer._whole_pixels = True
            return layer(ins)
        return cls(spec["height_factor"], spec["width_factor"], fill_mode=spec["fill_mode"],
                   interpolation=spec["interpolation"], fill_value=spec["fill_value"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        if self._whole_pixels:
            return lib.lf_random_translation(h, ii[0], self._height[1], self._width[1], name)
        o = _TranslationOptions(self._height[0], self._height[1], self._width[0], self._width[1],
                                _FILL_MODES.index(self.fill_mode), _INTERPOLATIONS.index(self.interpolation),
                                self.fill_value)
        return lib.lf_random_translation_opt(h, ii[0], ctypes.byref(o), name)


_lib._proto("lf_random_zoom", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.POINTER(_TranslationOptions), ctypes.c_int,
            ctypes.c_char_p)


def _zoom_factor(factor, what):
    """Keras' RandomZoom._set_factor: a pair's numbers each in (-1, 1],
    sorted; a number f in (-1, 1] is [-|f|, |f|]."""
    def number(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and -1.0 < float(v) <= 1.0
    if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(number(v) for v in factor):
        lo, hi = sorted(float(v) for v in factor)
        return lo, hi
    if not isinstance(factor, (tuple, list)) and number(factor):
        return -abs(float(factor)), abs(float(factor))
    raise ValueError("RandomZoom: %s must be a number (or a list of two numbers) in the range (-1.0, 1.0], got %r"
                     % (what, factor))


class RandomZoom(Layer):
    """RandomZoom(height_factor, width_factor=None, fill_mode='reflect',
    interpolation='bilinear', seed=None, fill_value=0.0): Keras 3's
    train-only zoom (the identity in evaluate and predict).  Each image
    draws zy = 1 + u, u uniform in the height range, and zx = 1 + v, v in
    the width range (width_factor=None: zx = zy, the aspect kept): a
    number f is [-|f|, |f|], a pair (lower, upper) sorted, each number in
    (-1, 1].  Output pixel (i, j) is the input at (zy i + (H - 1) / 2 (1 -
    zy), zx j + (W - 1) / 2 (1 - zx)): about the centre, zooming out when
    the zoom is above 1; bilinear or nearest, outside the image by
    fill_mode as RandomTranslation's.  The draws come from the model's seed
    (seed=None)."""

    prefix = "random_zoom"

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, name=None):
        super().__init__(name)
        self._height = _zoom_factor(height_factor, "height_factor")
        self._width = self._height if width_factor is None else _zoom_factor(width_factor, "width_factor")
        _resampling_args("RandomZoom", fill_mode, interpolation, seed, fill_value, data_format)
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor
        self.fill_mode, self.interpolation, self.seed = fill_mode, interpolation, None
        self.fill_value, self.data_format = float(fill_value), data_format

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        # the file holds the resolved ranges (the C library checked them
        # when it read the file): kept as they are; the argument a pair,
        # or the number f of a range [-f, f] with -1 in it (Keras takes a
        # pair's numbers in (-1, 1] only)
        def arg(v):
            return float(v[1]) if v[0] <= -1.0 and v[0] == -v[1] else [float(v[0]), float(v[1])]
        w = spec["width_factor"]
        layer = cls(0.0, None if w is None else 0.0, fill_mode=spec["fill_mode"],
                    interpolation=spec["interpolation"], fill_value=spec["fill_value"], name=spec["name"])
        layer.height_factor, layer._height = arg(spec["height_factor"]), tuple(map(float, spec["height_factor"]))
        if w is None:
            layer._width = layer._height
        else:
            layer.width_factor, layer._width = arg(w), tuple(map(float, w))
        return layer(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        o = _TranslationOptions(self._height[0], self._height[1], self._width[0], self._width[1],
                                _FILL_MODES.index(self.fill_mode), _INTERPOLATIONS.index(self.interpolation),
                                self.fill_value)
        return lib.lf_random_zoom(h, ii[0], ctypes.byref(o), int(self.width_factor is None), name)


_lib._proto("lf_random_contrast", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_float, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_random_brightness", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_float, ctypes.c_float, ctypes.c_char_p)


def _finite_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _color_factor(cls, factor, bounds):
    """Keras' BaseImagePreprocessingLayer._set_factor: a number f in
    bounds is (max(-|f|, bounds[0]), |f|); a pair is taken when
    factor[0] <= bounds[1] and factor[1] >= bounds[0], then sorted."""
    msg = ("%s: factor must be a number (or a list of two numbers) in the range [%d, %d], got %r"
           % (cls, bounds[0], bounds[1], factor))
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_finite_number(v) for v in factor) \
                or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        lo, hi = sorted(float(v) for v in factor)
        return lo, hi
    if not _finite_number(factor) or factor < bounds[0] or factor > bounds[1]:
        raise ValueError(msg)
    f = abs(float(factor))
    return max(-f, float(bounds[0])), f


def _value_range(cls, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 \
            or not all(_finite_number(v) for v in value_range):
        raise ValueError("%s: value_range must be a list of two finite numbers, got %r" % (cls, value_range))
    return [float(v) for v in value_range]


_lib._proto("lf_random_rotation", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_int,
            ctypes.c_int, ctypes.c_float, ctypes.c_char_p)


class RandomRotation(Layer):
    """RandomRotation(factor, fill_mode='reflect', interpolation='bilinear',
    seed=None, fill_value=0.0): Keras 3's train-only rotation (the identity
    in evaluate and predict).  Each image turns by an angle uniform in
    [360 lower, 360 upper] degrees (positive: counter-clockwise) about its
    centre, (lower, upper) = self.factor as Keras' _set_factor makes it: a
    number f in [-1, 1] is (-|f|, |f|), a pair with factor[0] <= 1 and
    factor[1] >= -1 is sorted.  Bilinear or nearest, outside the image by
    fill_mode as RandomTranslation's.  The draws come from the model's seed
    (seed=None)."""

    prefix = "random_rotation"

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, name=None):
        super().__init__(name)
        self.factor = _color_factor("RandomRotation", factor, (-1, 1))
        _resampling_args("RandomRotation", fill_mode, interpolation, seed, fill_value, data_format)
        self.fill_mode, self.interpolation, self.seed = fill_mode, interpolation, None
        self.fill_value, self.data_format = float(fill_value), data_format

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["factor"], fill_mode=spec["fill_mode"], interpolation=spec["interpolation"],
                   fill_value=spec["fill_value"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_rotation(h, ii[0], self.factor[0], self.factor[1], _FILL_MODES.index(self.fill_mode),
                                      _INTERPOLATIONS.index(self.interpolation), self.fill_value, name)


class RandomContrast(Layer):
    """RandomContrast(factor, value_range=(0, 255), seed=None): Keras 3's
    train-only contrast (the identity in evaluate and predict).  Each image
    draws one factor k uniform in [1 - lower, 1 + upper], (lower, upper)
    = self.factor: a number f in [0, 1] is (0, f) as Keras' _set_factor
    makes it (so k is in [1, 1 + f]), a pair is sorted.  Each channel
    becomes (x - mean) * k + mean, mean its mean over the image, clipped to
    value_range (kept as given, as Keras: np.clip's order).  The draws come
    from the model's seed (seed=None)."""

    prefix = "random_contrast"

    def __init__(self, factor, value_range=(0, 255), seed=None, name=None):
        super().__init__(name)
        self.factor = _color_factor("RandomContrast", factor, (0, 1))
        vr = _value_range("RandomContrast", value_range)
        if seed is not None:
            raise ValueError("RandomContrast: draws come from the model's seed (seed=None)")
        self.value_range, self.seed, self._vr = value_range, None, vr

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["factor"], value_range=spec["value_range"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_contrast(h, ii[0], self.factor[0], self.factor[1], self._vr[0], self._vr[1], name)


class RandomBrightness(Layer):
    """RandomBrightness(factor, value_range=(0, 255), seed=None): Keras 3's
    train-only brightness (the identity in evaluate and predict).  Each
    image adds one delta uniform in [lower, upper] times (high - low), then
    is clipped to value_range (sorted, as Keras keeps it); (lower, upper)
    = self.factor: a number f in [-1, 1] is (-|f|, |f|), a pair is sorted.
    The draws come from the model's seed (seed=None)."""

    prefix = "random_brightness"

    def __init__(self, factor, value_range=(0, 255), seed=None, name=None):
        super().__init__(name)
        self.factor = _color_factor("RandomBrightness", factor or 0.0, (-1, 1))  # Keras' base layer: None is 0
        self.value_range = sorted(_value_range("RandomBrightness", value_range))
        if seed is not None:
            raise ValueError("RandomBrightness: draws come from the model's seed (seed=None)")
        self.seed = None

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["factor"], value_range=spec["value_range"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_brightness(h, ii[0], self.factor[0], self.factor[1], self.value_range[0],
                                        self.value_range[1], name)


# ---------------------------------------------------------------------------
# sequences (batch, T, D), channels last, and the padding mask
# ---------------------------------------------------------------------------
#
# Embedding(mask_zero=True) marks token id 0 as padding; the C library
# carries that mask through Dense, Dropout, Activation, Rescaling, the elementwise
# merges, LayerNormalization and BatchNormalization (its training
# statistics over the unmasked steps; as Keras' masks flow)
# and the 1-D global poolings pool over the unmasked steps only.

def _sequence(layer, x):
    x = _one(layer, x)
    if len(x.sample_shape) != 2:
        raise ValueError("%s: input of shape %s must be (batch, steps, features)"
                         % (type(layer).__name__, _shape_str(x.sample_shape)))
    return x


def _positive(v, what, layer):
    if not _integer(v) or v < 1:
        raise ValueError("%s: %s must be a positive integer, got %r" % (layer, what, v))
    return int(v)


_lib._proto("lf_embedding", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_char_p)


class Embedding(Layer):
    """Embedding(input_dim, output_dim, mask_zero=False,
    embeddings_regularizer=None): token ids (batch, T) -> (batch, T,
    output_dim), the table's rows; init uniform(-0.05, 0.05) as Keras.  Ids
    must be integers in [0, input_dim): fit, evaluate and predict refuse
    others.  mask_zero=True: id 0 is padding, masked downstream.
    embeddings_regularizer=l2(x) adds x * sum(embeddings**2) over the whole
    table to the loss, as Keras (lf_set_l2)."""

    prefix = "embedding"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, activity_regularizer=None, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Embedding: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        _take_constraints(self, "Embedding", embeddings_constraint=embeddings_constraint)
        if embeddings_initializer != "uniform":
            raise ValueError("Embedding: only embeddings_initializer='uniform' is available (set other "
                             "weights with set_weights)")
        self.input_dim = _positive(input_dim, "input_dim", "Embedding")
        self.output_dim = _positive(output_dim, "output_dim", "Embedding")
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer, self.l2 = _l2_of(embeddings_regularizer, "Embedding: embeddings_regularizer")
        self.activity_regularizer = _reg_of(activity_regularizer, "Embedding: activity_regularizer")
        self.mask_zero = bool(mask_zero)

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) > 2:
            raise ValueError("Embedding: input of shape %s must be token ids (batch, steps) or (batch, d1, d2)"
                             % _shape_str(x.sample_shape))
        return KerasTensor(self, [x], x.sample_shape + (self.output_dim,))

    def _weight_shapes(self):
        return [(self.input_dim, self.output_dim)]

    def compute_mask(self, inputs, mask=None):
        """Keras' Embedding.compute_mask (keras/src/layers/core/embedding.py):
        None without mask_zero, else inputs != 0 (bool, the ids' shape) for
        token ids given as an array.  On a symbolic tensor the mask is not a
        value: the graph carries it to the layers downstream."""
        if not self.mask_zero:
            return None
        if isinstance(inputs, KerasTensor):
            raise ValueError("Embedding.compute_mask: called on a symbolic tensor; its mask is carried by the "
                             "model to the layers downstream (call compute_mask on an array of token ids)")
        import numpy as np
        return np.not_equal(np.asarray(inputs), 0)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["input_dim"]), int(spec["output_dim"]), mask_zero=spec["mask_zero"], name=spec["name"],
                   **_penalties_of(spec, ("embeddings_regularizer", "activity_regularizer")),
                   **_constraints_of(spec, ("embeddings_constraint",)))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_embedding(h, ii[0], self.input_dim, self.output_dim, int(self.mask_zero), name)
        return _set_penalties(lib, h, i, self)


_lib._proto("lf_category_encoding", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_char_p)

_CATEGORY_MODES = {"multi_hot": 0, "one_hot": 1, "count": 2}  # lf_category_mode


def _encode_categorical(ids, output_mode, depth, count_weights=None):
    """Keras 3's numerical_utils.encode_categorical_inputs on integer ids
    (numpy): rank 0 is one sample; "one_hot" squeezes a last axis of 1
    and gives (..., n, depth) otherwise; "multi_hot" and "count" reduce
    the last axis of a rank-2 array, the only axis of a rank-1 one.  Ids
    outside [0, depth) add nothing (numpy's one_hot; the callers refuse or
    mean to drop them).  float32 (count_weights' values in "count")."""
    import numpy as np
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
        if count_weights is not None:
            count_weights = np.asarray(count_weights).reshape(1)
    if output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids.reshape(ids.shape[:-1])
    ok = (ids >= 0) & (ids < depth)
    one = (np.where(ok, ids, 0)[..., None] == np.arange(depth)) & ok[..., None]
    if output_mode == "one_hot":
        return one.astype(np.float32)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return one.any(axis=axis).astype(np.float32)
    if count_weights is not None:
        w = np.asarray(count_weights, dtype=np.float32)
        if w.shape != ids.shape:
            raise ValueError("count_weights of shape %s must have the inputs' shape %s" % (w.shape, ids.shape))
        return (one * w[..., None]).sum(axis=axis, dtype=np.float32)
    return one.sum(axis=axis).astype(np.float32)


class CategoryEncoding(Layer):
    """CategoryEncoding(num_tokens, output_mode="multi_hot"), as Keras 3:
    token ids (batch, n) to "multi_hot" (batch, num_tokens), 1 at each id
    of the row; "count" (batch, num_tokens), how often each id is in the
    row; "one_hot" (batch, num_tokens) when n is 1, else (batch, n,
    num_tokens).  Called on a tensor it is a layer of the model (no
    weights, no gradient to its input); called on an array or list it
    returns the encoding at once, as Keras' layer called eagerly (there
    count_weights= is taken in "count" mode).  Ids must be integers in
    [0, num_tokens): fit, evaluate and predict refuse others, as Keras
    says its layer does.  sparse=True is not available."""

    prefix = "category_encoding"

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("CategoryEncoding: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if output_mode == "binary":  # Keras' deprecated name
            output_mode = "multi_hot"
        if output_mode not in _CATEGORY_MODES:
            raise ValueError("Unknown arg for output_mode: %s" % (output_mode,))
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral):
            raise ValueError("CategoryEncoding: num_tokens must be an int, got %r" % (num_tokens,))
        if num_tokens < 1:
            raise ValueError("`num_tokens` must be >= 1. Received: num_tokens=%d." % num_tokens)
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def __call__(self, inputs, count_weights=None, **kwargs):
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(x, KerasTensor) for x in xs):
            if count_weights is not None:
                raise ValueError("CategoryEncoding: count_weights is only taken when the layer is called on "
                                 "arrays, not in a model")
            return super().__call__(inputs, **kwargs)
        if kwargs:
            raise ValueError("CategoryEncoding: unsupported call arguments %s" % ", ".join(sorted(kwargs)))
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. Received "
                             "`count_weights=%r`." % (count_weights,))
        import numpy as np
        a = np.asarray(inputs)
        if a.dtype.kind not in "iuf" or a.ndim > 2:
            raise ValueError("CategoryEncoding: inputs must be a 1D or 2D array of integers, got %s of shape %s"
                             % (a.dtype, a.shape))
        flat = a.reshape(-1)
        bad = np.flatnonzero(~((flat >= 0) & (flat < self.num_tokens) & (flat == np.floor(flat))))
        if bad.size:
            raise ValueError("CategoryEncoding: input value %s at flat position %d is not an integer in [0, %d) "
                             "(num_tokens)" % (flat[bad[0]], bad[0], self.num_tokens))
        return _encode_categorical(a.astype(np.int64), self.output_mode, self.num_tokens, count_weights)

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) != 1:
            raise ValueError("CategoryEncoding: input of shape %s must be token ids (batch, n)"
                             % _shape_str(x.sample_shape))
        n = x.sample_shape[0]
        if self.output_mode == "one_hot" and n != 1:
            return KerasTensor(self, [x], (n, self.num_tokens))
        return KerasTensor(self, [x], (self.num_tokens,))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["num_tokens"]), spec["output_mode"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_category_encoding(h, ii[0], self.num_tokens, _CATEGORY_MODES[self.output_mode], name)


_lib._proto("lf_position_embedding", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p)


class PositionEmbedding(Layer):
    """PositionEmbedding(sequence_length), keras_hub's: called on (batch, T,
    D), T <= sequence_length, it returns the first T rows of a trained
    (sequence_length, D) table (glorot_uniform), not the input plus them:
    add them, `x = Add()([x, PositionEmbedding(L)(x)])` (keeps x's mask)."""

    prefix = "position_embedding"

    def __init__(self, sequence_length, initializer="glorot_uniform", name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("PositionEmbedding: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if initializer != "glorot_uniform":
            raise ValueError("PositionEmbedding: only initializer='glorot_uniform' is available")
        self.sequence_length = _positive(sequence_length, "sequence_length", "PositionEmbedding")

    def _call(self, x):
        x = _sequence(self, x)
        if x.sample_shape[0] > self.sequence_length:
            raise ValueError("PositionEmbedding: input of shape %s is longer than sequence_length %d"
                             % (_shape_str(x.sample_shape), self.sequence_length))
        self._features = x.sample_shape[1]
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        return [(self.sequence_length, self._features)]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["sequence_length"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_position_embedding(h, ii[0], self.sequence_length, name)


_lib._proto("lf_conv1d_dilated", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_int, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


def _single(v, what):
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    return _positive(v, what, "Conv1D")


class Conv1D(Layer):
    """Conv1D(filters, kernel_size, strides=1, padding='valid',
    activation=None, use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros',
    kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None) over (batch, T, channels): kernel
    (kernel_size, channels, filters), glorot_uniform and zero bias unless told (latefuse.initializers); 'same' puts
    the odd padding step after, as Keras; 'causal' pads dilation_rate
    (kernel_size - 1) steps before (keras/src/layers/convolutional/conv1d.py).
    dilation_rate=1 spreads the taps (not with strides above 1, as Keras).
    It ends the padding mask (Keras' Conv1D does not support masking)."""

    prefix = "conv1d"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 dilation_rate=1, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Conv1D: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        self.dilation_rate = _single(dilation_rate, "dilation_rate")
        _kernel_and_bias(self, "Conv1D", kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint)
        self.activity_regularizer = _reg_of(activity_regularizer, "Conv1D: activity_regularizer")
        self.filters = _positive(filters, "filters", "Conv1D")
        self.kernel_size = _single(kernel_size, "kernel_size")
        self.strides = _single(strides, "strides")
        self.padding = padding if padding == "causal" else _padding(padding, "Conv1D")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        _no_dilated_strides((self.strides,), (self.dilation_rate,), "Conv1D")

    def _call(self, x):
        x = _sequence(self, x)
        T, C = x.sample_shape
        to = _out_size(T, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        if to < 1:
            raise ValueError("Conv1D: input of shape %s is shorter than the kernel %d with padding 'valid'"
                             % (_shape_str(x.sample_shape), self.kernel_size))
        self._in_channels = C
        return KerasTensor(self, [x], (to, self.filters))

    def _weight_shapes(self):
        k = (self.kernel_size, self._in_channels, self.filters)
        return [k, (self.filters,)] if self.use_bias else [k]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["filters"]), int(spec["kernel_size"][0]), int(spec["strides"][0]), spec["padding"],
                   spec["activation"], spec["use_bias"], name=spec["name"], **_penalties_of(spec, _WEIGHTED_REGS),
                   dilation_rate=int(spec.get("dilation_rate", [1])[0]),
                   **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_conv1d_dilated(h, ii[0], self.filters, self.kernel_size, self.strides, _pad_id(self.padding),
                                  self.dilation_rate, lib.lf_activation_parse(self.activation.encode()),
                                  int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


_lib._proto("lf_masking", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)


class Masking(Layer):
    """Masking(mask_value=0.0): Keras' layer (keras/src/layers/core/masking.py)
    over (batch, steps, ..., features): a step whose features all equal
    mask_value is zeroed and masked for the layers downstream that support
    masking (LSTM, GRU, SimpleRNN, Bidirectional, the 1-D global poolings,
    MultiHeadAttention, and those that pass the mask on), as
    Embedding(mask_zero=True)'s mask."""

    prefix = "masking"

    def __init__(self, mask_value=0.0, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Masking: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real) or not math.isfinite(mask_value):
            raise ValueError("Masking: mask_value must be a finite number, got %r" % (mask_value,))
        self.mask_value = int(mask_value) if _integer(mask_value) else float(mask_value)  # numpy's: to_json writes it

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) < 2:
            raise ValueError("Masking: input of shape %s must be (batch, steps, features)"
                             % _shape_str(x.sample_shape))
        return KerasTensor(self, [x], x.sample_shape)

    def compute_mask(self, inputs, mask=None):
        """Keras' Masking.compute_mask: any feature differs from mask_value
        (bool, the steps' shape) for an array"""
        import numpy as np
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(float(spec["mask_value"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_masking(h, ii[0], float(self.mask_value), name)


_lib._proto("lf_depthwise_conv2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_separable_conv2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


def _defaults_only(layer, **given):
    """the initializers and constraints these layers keep at Keras' defaults"""
    for arg, (v, default) in given.items():
        if v != default:
            raise ValueError("%s: only %s=%r is supported, got %r" % (layer, arg, default, v))


class DepthwiseConv2D(Layer):
    """DepthwiseConv2D(kernel_size, strides=(1, 1), padding='valid',
    depth_multiplier=1, data_format=None, dilation_rate=(1, 1), activation=None,
    use_bias=True, depthwise_regularizer=None, bias_regularizer=None): Keras'
    layer (keras/src/layers/convolutional/depthwise_conv2d.py): each input
    channel convolved by depth_multiplier filters of its own; kernel
    (kh, kw, in_channels, depth_multiplier) glorot_uniform, bias
    (in_channels depth_multiplier) zeros; output channel c M + j."""

    prefix = "depthwise_conv2d"
    _fixed_input = True

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, name=None, **kwargs):
        super().__init__(name)
        kn = type(self).__name__
        if kwargs:
            raise ValueError("%s: unsupported arguments %s" % (kn, ", ".join(sorted(kwargs))))
        _defaults_only(kn, depthwise_initializer=(depthwise_initializer, "glorot_uniform"),
                       bias_initializer=(bias_initializer, "zeros"),
                       depthwise_constraint=(depthwise_constraint, None), bias_constraint=(bias_constraint, None))
        self.depthwise_initializer, self.bias_initializer = depthwise_initializer, bias_initializer
        self.depthwise_constraint, self.bias_constraint = None, None
        self.depthwise_regularizer, self.l2 = _l2_of(depthwise_regularizer, kn + ": depthwise_regularizer")
        self.bias_regularizer, self.bias_l2 = _l2_of(bias_regularizer, kn + ": bias_regularizer")
        self.kernel_size = _pair(kernel_size, "kernel_size", kn)
        self.strides = _pair(strides, "strides", kn)
        self.padding = _padding(padding, kn)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier", kn)
        self.data_format = _channels_last(data_format, kn)
        self.dilation_rate = _pair(dilation_rate, "dilation_rate", kn)
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        _no_dilated_strides(self.strides, self.dilation_rate, kn)

    def _out_channels(self, C):
        return C * self.depth_multiplier

    def _call(self, x):
        x = _image(self, x)
        (H, W, C), (kh, kw), (sh, sw), (dh, dw) = x.sample_shape, self.kernel_size, self.strides, self.dilation_rate
        ho, wo = _out_size(H, kh, sh, self.padding, dh), _out_size(W, kw, sw, self.padding, dw)
        if ho < 1 or wo < 1:
            raise ValueError("%s: input of shape %s is smaller than the kernel %r dilated by %r with padding "
                             "'valid'" % (type(self).__name__, _shape_str(x.sample_shape), self.kernel_size,
                                          self.dilation_rate))
        self._in_channels = C
        return KerasTensor(self, [x], (ho, wo, self._out_channels(C)))

    def _weight_shapes(self):
        C, M = self._in_channels, self.depth_multiplier
        k = (self.kernel_size[0], self.kernel_size[1], C, M)
        return [k, (C * M,)] if self.use_bias else [k]

    @classmethod
    def _settings(cls, spec):
        pen = _penalties_of(spec)
        return dict(strides=tuple(spec["strides"]), padding=spec["padding"],
                    depth_multiplier=int(spec["depth_multiplier"]),
                    dilation_rate=tuple(spec.get("dilation_rate", (1, 1))), activation=spec["activation"],
                    use_bias=spec["use_bias"], depthwise_regularizer=pen["kernel_regularizer"],
                    bias_regularizer=pen["bias_regularizer"], name=spec["name"])

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["kernel_size"]), **cls._settings(spec))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_depthwise_conv2d(h, ii[0], self.kernel_size[0], self.kernel_size[1], self.strides[0],
                                    self.strides[1], _pad_id(self.padding), self.depth_multiplier,
                                    self.dilation_rate[0], self.dilation_rate[1],
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


class SeparableConv2D(DepthwiseConv2D):
    """SeparableConv2D(filters, kernel_size, strides=(1, 1), padding='valid',
    data_format=None, dilation_rate=(1, 1), depth_multiplier=1, activation=None,
    use_bias=True, depthwise_regularizer=None, pointwise_regularizer=None,
    bias_regularizer=None): Keras' layer (separable_conv2d.py): the
    depthwise convolution (no bias) then a 1x1 convolution to filters.
    Weights in Keras' order: depthwise_kernel (kh, kw, C, M),
    pointwise_kernel (1, 1, C M, filters), bias (filters).  The engine puts
    one L2 factor on both kernels: the two regularizers must agree."""

    prefix = "separable_conv2d"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 name=None, **kwargs):
        _defaults_only("SeparableConv2D", pointwise_initializer=(pointwise_initializer, "glorot_uniform"),
                       pointwise_constraint=(pointwise_constraint, None))
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                         bias_regularizer, depthwise_constraint, bias_constraint, name, **kwargs)
        self.filters = _positive(filters, "filters", "SeparableConv2D")
        self.pointwise_initializer, self.pointwise_constraint = pointwise_initializer, None
        self.pointwise_regularizer = _reg_of(pointwise_regularizer, "SeparableConv2D: pointwise_regularizer")
        factors = [(r.l1, r.l2) if r is not None else (0.0, 0.0)
                   for r in (self.depthwise_regularizer, self.pointwise_regularizer)]
        if factors[0] != factors[1]:
            raise ValueError("SeparableConv2D: depthwise_regularizer and pointwise_regularizer must be the same "
                             "(one l1 and one l2 factor on both kernels here), got %r and %r"
                             % (self.depthwise_regularizer, self.pointwise_regularizer))

    def _out_channels(self, C):
        return self.filters

    def _weight_shapes(self):
        C, M = self._in_channels, self.depth_multiplier
        k = [(self.kernel_size[0], self.kernel_size[1], C, M), (1, 1, C * M, self.filters)]
        return k + [(self.filters,)] if self.use_bias else k

    @classmethod
    def _load(cls, spec, ins, tensors):
        st = cls._settings(spec)
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]),
                   pointwise_regularizer=st["depthwise_regularizer"], **st)(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_separable_conv2d(h, ii[0], self.filters, self.kernel_size[0], self.kernel_size[1],
                                    self.strides[0], self.strides[1], _pad_id(self.padding), self.depth_multiplier,
                                    self.dilation_rate[0], self.dilation_rate[1],
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


_lib._proto("lf_global_max_pooling1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_global_average_pooling1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class _GlobalPool1D(Layer):
    builder = None

    def _call(self, x):
        x = _sequence(self, x)
        return KerasTensor(self, [x], (x.sample_shape[1],))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], name)


class GlobalMaxPooling1D(_GlobalPool1D):
    """GlobalMaxPooling1D(): (batch, T, D) -> (batch, D), the max over the
    unmasked steps (a row with none: 0); Keras 3's takes no mask and pools
    the padded steps too."""
    prefix = "global_max_pooling1d"
    builder = "lf_global_max_pooling1d"


class GlobalAveragePooling1D(_GlobalPool1D):
    """GlobalAveragePooling1D(): (batch, T, D) -> (batch, D), the mean over
    the unmasked steps (a row with none: 0)."""
    prefix = "global_average_pooling1d"
    builder = "lf_global_average_pooling1d"


_lib._proto("lf_max_pooling1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_char_p)
_lib._proto("lf_average_pooling1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_int, ctypes.c_char_p)


def _one_int(v, what, layer):
    """Keras' standardize_tuple for one dimension: an int or a one-element
    tuple/list -> (v,)"""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    return (_positive(v, what, layer),)


class _Pool1D(Layer):
    builder = None

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        kind = type(self).__name__
        self.pool_size = _one_int(pool_size, "pool_size", kind)
        self.strides = self.pool_size if strides is None else _one_int(strides, "strides", kind)
        self.padding = _padding(padding, kind)

    def _call(self, x):
        x = _sequence(self, x)
        (T, D), k, s = x.sample_shape, self.pool_size[0], self.strides[0]
        to = _out_size(T, k, s, self.padding)
        if to < 1:
            raise ValueError("%s: input of shape %s is shorter than the pool %d with padding 'valid'"
                             % (type(self).__name__, _shape_str(x.sample_shape), k))
        return KerasTensor(self, [x], (to, D))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["pool_size"]), tuple(spec["strides"]), spec["padding"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], self.pool_size[0], self.strides[0], _pad_id(self.padding),
                                          name)


class MaxPooling1D(_Pool1D):
    """MaxPooling1D(pool_size=2, strides=None (= pool_size), padding='valid')
    over (batch, T, D): the max of each feature over each window of steps
    (with 'same', over the window's real steps; a NaN is the max).  As
    Keras', it pools padding steps too and ends the padding mask."""
    prefix = "max_pooling1d"
    builder = "lf_max_pooling1d"


class AveragePooling1D(_Pool1D):
    """AveragePooling1D(pool_size=2, strides=None (= pool_size),
    padding='valid') over (batch, T, D); with 'same' the mean is over the
    window's real steps.  As Keras', it pools padding steps too and ends
    the padding mask."""
    prefix = "average_pooling1d"
    builder = "lf_average_pooling1d"


_lib._proto("lf_layer_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_int,
            ctypes.c_int, ctypes.c_char_p)


class LayerNormalization(Layer):
    """LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True):
    each position's last-axis features normalised by their own mean and
    biased variance; weights [gamma (ones), beta (zeros)] as enabled."""

    prefix = "layer_normalization"

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_constraint=None, gamma_constraint=None,
                 name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("LayerNormalization: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        _take_constraints(self, "LayerNormalization", beta_constraint=beta_constraint,
                          gamma_constraint=gamma_constraint)
        self.axis = _last_axis(self, axis)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0.0:
            raise ValueError("LayerNormalization: epsilon must be > 0, got %r" % (epsilon,))
        self.center, self.scale = bool(center), bool(scale)

    def _call(self, x):
        x = _one(self, x)
        _check_last_axis(self, self.axis, x)
        self._features = x.sample_shape[-1]
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        return [(self._features,)] * (int(self.center) + int(self.scale))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(-1, spec["epsilon"], spec["center"], spec["scale"], name=spec["name"],
                   **_constraints_of(spec, ("beta_constraint", "gamma_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return _set_constraints(lib, h, lib.lf_layer_normalization(h, ii[0], self.epsilon, int(self.center),
                                                                   int(self.scale), name), self)


_lib._proto("lf_group_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_float,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_unit_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class GroupNormalization(Layer):
    """GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True,
    scale=True, beta_initializer="zeros", gamma_initializer="ones"), Keras'
    layer: the last axis' C channels in `groups` runs of C / groups, each
    sample's group normalised by the mean and biased variance of all its
    values (every position, the group's channels); groups=-1 is C (instance
    normalization).  Weights [gamma (C), beta (C)] as enabled.  The C
    library checks groups against the channels (Keras' messages)."""

    prefix = "group_normalization"

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_constraint=None, gamma_constraint=None, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("GroupNormalization: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or (groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a positive integer (or "
                             "`-1` for instance normalization). Received: groups=%r" % (groups,))
        _take_constraints(self, "GroupNormalization", beta_constraint=beta_constraint,
                          gamma_constraint=gamma_constraint)
        self.groups = int(groups)
        self.axis = _last_axis(self, axis)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0.0:
            raise ValueError("GroupNormalization: epsilon must be > 0, got %r" % (epsilon,))
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _init.get(beta_initializer, "GroupNormalization: beta_initializer")
        self.gamma_initializer = _init.get(gamma_initializer, "GroupNormalization: gamma_initializer")

    def _call(self, x):
        x = _one(self, x)
        _check_last_axis(self, self.axis, x)
        self._features = x.sample_shape[-1]
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        return [(self._features,)] * (int(self.center) + int(self.scale))

    def _initializers(self):
        out = []
        if self.scale and self.gamma_initializer != "ones":
            out.append((0, self.gamma_initializer))
        if self.center and self.beta_initializer != "zeros":
            out.append((int(self.scale), self.beta_initializer))
        return out

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("groups", 32), -1, spec.get("epsilon", 1e-3), spec.get("center", True),
                   spec.get("scale", True), name=spec["name"],
                   **_constraints_of(spec, ("beta_constraint", "gamma_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return _set_constraints(lib, h, lib.lf_group_normalization(h, ii[0], self.groups, self.epsilon,
                                                                   int(self.center), int(self.scale), name), self)


class UnitNormalization(Layer):
    """UnitNormalization(axis=-1), Keras' layer: each position's last-axis
    features divided by their L2 norm, x / sqrt(max(sum x^2, 1e-24)) (Keras'
    ops.normalize, epsilon 1e-12).  No weights."""

    prefix = "unit_normalization"

    def __init__(self, axis=-1, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("UnitNormalization: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        self.axis = _last_axis(self, axis)

    def _call(self, x):
        x = _one(self, x)
        _check_last_axis(self, self.axis, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_unit_normalization(h, ii[0], name)


_lib._proto("lf_multi_head_attention", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_float, ctypes.c_int, ctypes.c_size_t,
            ctypes.c_char_p)


class MultiHeadAttention(Layer):
    """MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0,
    use_bias=True, output_shape=None, kernel_regularizer=None): Keras'
    attention layer over
    sequences, called as layer(query, value, key=None): self-attention is
    layer(x, x).  Weights in Keras' order and shapes: query/key/value
    kernels (features, num_heads, key_dim or value_dim) and biases
    (num_heads, dim), output kernel (num_heads, value_dim, output) and bias.
    The padding mask of an Embedding(mask_zero=True) upstream masks the
    padded keys (the value's mask) and rows (the query's); the output keeps
    the query's mask.  Keras' call arguments use_causal_mask=True (step t
    attends keys s <= t) and attention_mask= (a (batch, T, S) tensor,
    nonzero where step t may attend key s) are AND-ed with them, as
    keras/src/layers/attention/multi_head_attention.py; a query row left
    with no key has zero weights, so it outputs the output bias.
    return_attention_scores=True returns Keras' [output, scores], the
    scores (batch, num_heads, T, S) the softmax weights before dropout.
    Not available: attention_axes."""

    prefix = "multi_head_attention"

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("MultiHeadAttention: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        _take_constraints(self, "MultiHeadAttention", kernel_constraint=kernel_constraint,
                          bias_constraint=bias_constraint)
        if attention_axes is not None:
            raise ValueError("MultiHeadAttention: attention_axes is not available (attention runs over the "
                             "steps of (batch, steps, features) sequences)")
        if kernel_initializer != "glorot_uniform" or bias_initializer != "zeros":
            raise ValueError("MultiHeadAttention: only kernel_initializer='glorot_uniform' and "
                             "bias_initializer='zeros' are available")
        # kept for get_config (model.to_json, .keras files): the only values taken
        self.attention_axes, self.kernel_initializer, self.bias_initializer = None, "glorot_uniform", "zeros"
        self.num_heads = _positive(num_heads, "num_heads", "MultiHeadAttention")
        self.key_dim = _positive(key_dim, "key_dim", "MultiHeadAttention")
        self.value_dim = self.key_dim if value_dim is None else _positive(value_dim, "value_dim", "MultiHeadAttention")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError("MultiHeadAttention: dropout must be in [0, 1), got %r" % (dropout,))
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (tuple, list)):
            if len(output_shape) != 1:
                raise ValueError("MultiHeadAttention: output_shape must be one integer (the features), got %r"
                                 % (output_shape,))
            output_shape = output_shape[0]
        self.output_shape = None if output_shape is None else _positive(output_shape, "output_shape", "MultiHeadAttention")
        # on the four kernels, as Keras'
        self.kernel_regularizer, self.l2 = _l2_of(kernel_regularizer, "MultiHeadAttention: kernel_regularizer")
        self.bias_regularizer, self.bias_l2 = _l2_of(bias_regularizer, "MultiHeadAttention: bias_regularizer")

    def __call__(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False,
                 training=None, use_causal_mask=False, **kwargs):
        if kwargs:
            raise ValueError("MultiHeadAttention: unsupported call arguments %s" % ", ".join(sorted(kwargs)))
        if value is None:
            raise ValueError("MultiHeadAttention: call it as layer(query, value) (self-attention: layer(x, x))")
        eager = _is_array(query) and not isinstance(query, KerasTensor)  # layer(arrays): Layer._call_eager
        if attention_mask is not None and not isinstance(attention_mask, KerasTensor) and \
                not (eager and _is_array(attention_mask)):
            raise ValueError("MultiHeadAttention: attention_mask must be a tensor from Input() or another layer "
                             "(batch, query steps, key steps), got %r" % type(attention_mask).__name__)
        return super().__call__([query, value] + ([] if key is None else [key]), attention_mask=attention_mask,
                                use_causal_mask=bool(use_causal_mask),
                                return_attention_scores=bool(return_attention_scores))

    def _call(self, xs, attention_mask=None, use_causal_mask=False, return_attention_scores=False):
        what = ("query", "value", "key")
        for i, x in enumerate(xs):
            if not isinstance(x, KerasTensor):
                raise ValueError("MultiHeadAttention: the %s must be a tensor from Input() or another layer, "
                                 "got %r" % (what[i], type(x).__name__))
            if len(x.sample_shape) != 2:
                raise ValueError("MultiHeadAttention: the %s of shape %s must be (batch, steps, features)"
                                 % (what[i], _shape_str(x.sample_shape)))
        if len(xs) > 2 and xs[2].sample_shape[0] != xs[1].sample_shape[0]:
            raise ValueError("MultiHeadAttention: the key has %d steps and the value %d; they must be equal"
                             % (xs[2].sample_shape[0], xs[1].sample_shape[0]))
        self._dims = [x.sample_shape[1] for x in xs]
        if len(xs) == 2:
            self._dims.append(self._dims[1])
        out = self.output_shape or self._dims[0]
        self._out = out
        T, S = xs[0].sample_shape[0], xs[1].sample_shape[0]
        if attention_mask is not None and attention_mask.sample_shape != (T, S):
            raise ValueError("MultiHeadAttention: the attention_mask of shape %s must be (None, %d, %d) (batch, "
                             "query steps, key steps)" % (_shape_str(attention_mask.sample_shape), T, S))
        if not return_attention_scores:
            t = KerasTensor(self, xs, (T, out), {"attention_mask": attention_mask})
        else:  # Keras' (output, scores): views of one node (lf_set_return_attention_scores)
            t = KerasTensor(self, xs, (T * out + self.num_heads * T * S,), {"attention_mask": attention_mask})
            t.flags["return_attention_scores"] = True
            t._views = []
            for k, sh in enumerate([(T, out), (self.num_heads, T, S)]):
                v = KerasTensor(self, [t], sh)
                v._view = k
                t._views.append(v)
        if use_causal_mask:
            t.flags["use_causal_mask"] = True
        return list(t._views) if return_attention_scores else t

    def _weight_shapes(self):
        dq, dv, dk = self._dims
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        shapes = [(dq, h, kd), (h, kd), (dk, h, kd), (h, kd), (dv, h, vd), (h, vd), (h, vd, self._out),
                  (self._out,)]
        return shapes if self.use_bias else shapes[0::2]

    @classmethod
    def _load(cls, spec, ins, tensors):
        layer = cls(int(spec["num_heads"]), int(spec["key_dim"]), int(spec["value_dim"]), spec["dropout"],
                    spec["use_bias"], int(spec["output_shape"]), name=spec["name"],
                    **_penalties_of(spec), **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))
        am = tensors[spec["attention_mask"]] if spec.get("attention_mask") else None
        return layer(ins[0], ins[1], ins[2] if len(ins) > 2 else None, attention_mask=am,
                     use_causal_mask=bool(spec.get("use_causal_mask")),
                     return_attention_scores=bool(spec.get("return_attention_scores")))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_multi_head_attention(h, ii[0], ii[1], ii[2] if len(ii) > 2 else -1, self.num_heads,
                                        self.key_dim, self.value_dim, self.dropout, int(self.use_bias),
                                        self.output_shape or 0, name)
        return _set_penalties(lib, h, _attention_call_args(lib, h, t, ids, i), self)


def _attention_call_args(lib, h, t, ids, i):
    """the call arguments attention_mask, use_causal_mask and
    return_attention_scores of the attention node i (or -1): i, or -1"""
    am, causal = _extra_id(t, ids, "attention_mask"), t.flags.get("use_causal_mask", False)
    if i >= 0 and (am >= 0 or causal) and lib.lf_set_attention_mask(h, i, am, int(causal)) != 0:
        return -1
    if i >= 0 and t.flags.get("return_attention_scores") and lib.lf_set_return_attention_scores(h, i, 1) != 0:
        return -1
    return i


_lib._proto("lf_grouped_query_attention", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_float, ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p)


class GroupedQueryAttention(MultiHeadAttention):
    """GroupedQueryAttention(head_dim, num_query_heads, num_key_value_heads,
    dropout=0.0, use_bias=True): Keras' layer (keras/src/layers/attention/
    grouped_query_attention.py), called as layer(query, value, key=None,
    use_causal_mask=False): num_key_value_heads key/value heads, each shared
    by num_query_heads / num_key_value_heads consecutive query heads (1:
    multi-query attention; num_query_heads: MultiHeadAttention).  The query
    and the value have the same features, which the output keeps.  Weights in
    Keras' order and shapes: query kernel (features, num_query_heads,
    head_dim) and bias (num_query_heads, head_dim), key / value kernels
    (features, num_key_value_heads, head_dim) and biases, output kernel
    (num_query_heads, head_dim, features) and bias.  Padding masks and
    dropout as MultiHeadAttention, and its call arguments attention_mask=
    (batch, T, S) and return_attention_scores=True ([output, scores], the
    scores (batch, num_query_heads, T, S)).  Not available: sliding_window,
    use_gate, regularizers and constraints."""

    prefix = "grouped_query_attention"

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 flash_attention=None, kernel_initializer="glorot_uniform", bias_initializer="zeros", name=None,
                 **kwargs):
        Layer.__init__(self, name)
        if kwargs:
            raise ValueError("GroupedQueryAttention: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if kernel_initializer != "glorot_uniform" or bias_initializer != "zeros":
            raise ValueError("GroupedQueryAttention: only kernel_initializer='glorot_uniform' and "
                             "bias_initializer='zeros' are available")
        self.kernel_initializer, self.bias_initializer = "glorot_uniform", "zeros"
        self.head_dim = _positive(head_dim, "head_dim", "GroupedQueryAttention")
        self.num_query_heads = _positive(num_query_heads, "num_query_heads", "GroupedQueryAttention")
        self.num_key_value_heads = _positive(num_key_value_heads, "num_key_value_heads", "GroupedQueryAttention")
        if self.num_query_heads % self.num_key_value_heads != 0:  # Keras' words
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError("GroupedQueryAttention: dropout must be in [0, 1), got %r" % (dropout,))
        if flash_attention and float(dropout) > 0.0:  # Keras' check
            raise ValueError("Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 "
                             "to use flash attention.")
        self.flash_attention = flash_attention  # Keras' choice of kernel: the same values
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        # MultiHeadAttention's names, which its call and shape code read
        self.num_heads, self.key_dim, self.value_dim, self.output_shape = \
            self.num_query_heads, self.head_dim, self.head_dim, None
        self.l2 = self.bias_l2 = 0.0
        self.kernel_regularizer = self.bias_regularizer = None

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("flash_attention", None)  # not in Keras' get_config
        return cfg

    def __call__(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False,
                 training=None, use_causal_mask=False, **kwargs):
        if kwargs:
            raise ValueError("GroupedQueryAttention: unsupported call arguments %s" % ", ".join(sorted(kwargs)))
        try:
            return MultiHeadAttention.__call__(self, query, value, key, attention_mask=attention_mask,
                                               return_attention_scores=return_attention_scores,
                                               use_causal_mask=use_causal_mask)
        except ValueError as e:
            raise ValueError(str(e).replace("MultiHeadAttention", "GroupedQueryAttention")) from None

    def _call(self, xs, attention_mask=None, use_causal_mask=False, return_attention_scores=False):
        for i, x in enumerate(xs):
            if not isinstance(x, KerasTensor):
                raise ValueError("GroupedQueryAttention: the %s must be a tensor from Input() or another layer, "
                                 "got %r" % (("query", "value", "key")[i], type(x).__name__))
        if len(xs[0].sample_shape) == 2 and len(xs[1].sample_shape) == 2 and \
                xs[0].sample_shape[-1] != xs[1].sample_shape[-1]:  # Keras' compute_output_shape
            raise ValueError("GroupedQueryAttention: the last dimension of the query and the value must be "
                             "equal, but are %d, %d" % (xs[0].sample_shape[-1], xs[1].sample_shape[-1]))
        try:
            return MultiHeadAttention._call(self, xs, attention_mask=attention_mask, use_causal_mask=use_causal_mask,
                                            return_attention_scores=return_attention_scores)
        except ValueError as e:
            raise ValueError(str(e).replace("MultiHeadAttention", "GroupedQueryAttention")) from None

    def _weight_shapes(self):
        dq, dv, dk = self._dims
        hq, hk, hd = self.num_query_heads, self.num_key_value_heads, self.head_dim
        shapes = [(dq, hq, hd), (hq, hd), (dk, hk, hd), (hk, hd), (dv, hk, hd), (hk, hd), (hq, hd, dq), (dq,)]
        return shapes if self.use_bias else shapes[0::2]

    @classmethod
    def _load(cls, spec, ins, tensors):
        layer = cls(int(spec["head_dim"]), int(spec["num_query_heads"]), int(spec["num_key_value_heads"]),
                    float(spec.get("dropout", 0.0)), bool(spec.get("use_bias", True)), name=spec["name"])
        am = tensors[spec["attention_mask"]] if spec.get("attention_mask") else None
        return layer(ins[0], ins[1], ins[2] if len(ins) > 2 else None, attention_mask=am,
                     use_causal_mask=bool(spec.get("use_causal_mask")),
                     return_attention_scores=bool(spec.get("return_attention_scores")))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_grouped_query_attention(h, ii[0], ii[1], ii[2] if len(ii) > 2 else -1, self.head_dim,
                                           self.num_query_heads, self.num_key_value_heads, self.dropout,
                                           int(self.use_bias), 0, name)
        return _attention_call_args(lib, h, t, ids, i)


# score_mode: an lf_score_mode (_SCORE_MODES); Attention checks Keras' strings
_lib._proto("lf_attention", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_float, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
_SCORE_MODES = {"dot": 0, "concat": 1}  # LF_SCORE_DOT, LF_SCORE_CONCAT


class Attention(Layer):
    """Attention(use_scale=False, score_mode="dot", dropout=0.0, seed=None):
    Keras' dot-product (Luong) attention (keras/src/layers/attention/
    attention.py), called as layer([query, value]) or layer([query, value,
    key]) on (batch, T, D), (batch, S, Dv), (batch, S, D): output (batch,
    T, Dv).  score_mode "dot": the scores q . k (times the trainable scalar
    scale with use_scale); "concat": concat_score_weight * sum tanh(scale
    (q + k)).  The padding masks of the query and the value (mask_zero,
    Masking upstream) are Keras' mask=[query_mask, value_mask]: masked
    values' scores - 1e9 before the softmax, masked query steps output 0
    and the output keeps the query's mask.  Call arguments
    use_causal_mask=True and return_attention_scores=True ([output, the
    weights (batch, T, S) after dropout]) as Keras'.  seed is kept for
    get_config; the dropout draws follow the model's seed."""

    prefix = "attention"

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, name=None, **kwargs):
        super().__init__(name)
        kind = type(self).__name__
        if kwargs:
            raise ValueError("%s: unsupported arguments %s" % (kind, ", ".join(sorted(kwargs))))
        if score_mode not in ("dot", "concat"):  # keras/src/layers/attention/attention.py's text
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             "Received: score_mode=%s" % (score_mode,))
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError("%s: dropout must be in [0, 1), got %r" % (kind, dropout))
        self.use_scale, self.score_mode, self.dropout, self.seed = bool(use_scale), score_mode, float(dropout), seed

    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False,
                 **kwargs):
        kind = type(self).__name__
        if kwargs:
            raise ValueError("%s: unsupported call arguments %s" % (kind, ", ".join(sorted(kwargs))))
        if not isinstance(inputs, list):
            raise ValueError("%s layer must be called on a list of inputs, namely [query, value] or [query, value, "
                             "key]. Received: inputs=%r." % (kind, inputs))
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError("%s layer accepts inputs list of length 2 or 3, namely [query, value] or [query, "
                             "value, key]. Received length: %d." % (kind, len(inputs)))
        if mask is not None:
            raise ValueError("%s: mask= is taken from the inputs' padding masks (Embedding(mask_zero=True), "
                             "Masking upstream); an explicit mask list is not supported" % kind)
        return super().__call__(inputs, use_causal_mask=bool(use_causal_mask),
                                return_attention_scores=bool(return_attention_scores))

    def _call(self, xs, use_causal_mask=False, return_attention_scores=False):
        kind = type(self).__name__
        what = ("query", "value", "key")
        for i, x in enumerate(xs):
            if not isinstance(x, KerasTensor):
                raise ValueError("%s: the %s must be a tensor from Input() or another layer, got %r"
                                 % (kind, what[i], type(x).__name__))
            if len(x.sample_shape) != 2:
                raise ValueError("%s: the %s of shape %s must be (batch, steps, features)"
                                 % (kind, what[i], _shape_str(x.sample_shape)))
        q, v = xs[0].sample_shape, xs[1].sample_shape
        k = xs[2].sample_shape if len(xs) > 2 else v
        if k[0] != v[0]:
            raise ValueError("%s: the key has %d steps and the value %d; they must be equal" % (kind, k[0], v[0]))
        if k[1] != q[1]:
            raise ValueError("%s: the query has %d features and the %s %d; the scores need them equal"
                             % (kind, q[1], "key" if len(xs) > 2 else "value (the key)", k[1]))
        self._dim = q[1]
        T, S, Dv = q[0], v[0], v[1]
        if not return_attention_scores:
            t = KerasTensor(self, list(xs), (T, Dv))
        else:  # Keras' (output, scores): views of one node
            t = KerasTensor(self, list(xs), (T * Dv + T * S,))
            t.flags["return_attention_scores"] = True
            t._views = []
            for k_, sh in enumerate([(T, Dv), (T, S)]):
                o = KerasTensor(self, [t], sh)
                o._view = k_
                t._views.append(o)
        if use_causal_mask:
            t.flags["use_causal_mask"] = True
        return list(t._views) if return_attention_scores else t

    def _weight_shapes(self):
        return [()] * (int(self.use_scale) + int(self.score_mode == "concat"))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(bool(spec["use_scale"]), spec["score_mode"], spec["dropout"], name=spec["name"])(
            list(ins), use_causal_mask=bool(spec.get("use_causal_mask")),
            return_attention_scores=bool(spec.get("return_attention_scores")))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_attention(h, ii[0], ii[1], ii[2] if len(ii) > 2 else -1, int(self.use_scale),
                                _SCORE_MODES[self.score_mode], self.dropout, int(t.flags.get("use_causal_mask", False)),
                                int(t.flags.get("return_attention_scores", False)), name)


_lib._proto("lf_additive_attention", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_float, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


class AdditiveAttention(Attention):
    """AdditiveAttention(use_scale=True, dropout=0.0, seed=None): Keras'
    Bahdanau attention (keras/src/layers/attention/additive_attention.py):
    Attention's call, masks and outputs with the scores sum_d scale_d
    tanh(q_d + k_d), scale a trainable (D,) weight with use_scale
    (glorot_uniform), else 1."""

    prefix = "additive_attention"

    def __init__(self, use_scale=True, dropout=0.0, seed=None, name=None, **kwargs):
        super().__init__(use_scale, "dot", dropout, seed, name, **kwargs)

    def _weight_shapes(self):
        return [(self._dim,)] if self.use_scale else []

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(bool(spec["use_scale"]), spec["dropout"], name=spec["name"])(
            list(ins), use_causal_mask=bool(spec.get("use_causal_mask")),
            return_attention_scores=bool(spec.get("return_attention_scores")))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_additive_attention(h, ii[0], ii[1], ii[2] if len(ii) > 2 else -1, int(self.use_scale),
                                         self.dropout, int(t.flags.get("use_causal_mask", False)),
                                         int(t.flags.get("return_attention_scores", False)), name)


_lib._proto("lf_set_attention_mask", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_int)
_lib._proto("lf_set_return_attention_scores", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int)
_lib._proto("lf_lstm", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_gru", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p)
_lib._proto("lf_simple_rnn", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


_lib._proto("lf_set_rnn_state", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
            ctypes.c_size_t)
_lib._proto("lf_output_view", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p)


def _layer_label(layer):
    return "%s '%s'" % (type(layer).__name__, layer.name) if layer.name else type(layer).__name__


def _rnn_inputs(layer, x, initial_state, per_copy, copies=1):
    """x and Keras' initial_state of a recurrent call: given as the keyword
    or as layer([x, *states]) (Keras' list form); each state (batch, units),
    per_copy of them per copy of the cell"""
    if isinstance(x, (list, tuple)) and len(x) >= 1:
        if initial_state is not None and len(x) > 1:
            raise ValueError("%s: pass the initial states either in the list or as initial_state=, not both"
                             % _layer_label(layer))
        x, initial_state = x[0], (list(x[1:]) or initial_state)
    x = _sequence(layer, x)
    if initial_state is None:
        return x, []
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    want, units = per_copy * copies, getattr(layer, "units", None) or layer.layer.units
    what = ("h and c" if per_copy == 2 else "h") + (" of each direction" if copies == 2 else "")
    if len(states) != want:
        raise ValueError("%s: initial_state has %d tensors; it needs %d (%s)" % (_layer_label(layer), len(states),
                                                                                 want, what))
    for i, s0 in enumerate(states):
        if not isinstance(s0, KerasTensor):
            raise ValueError("%s: initial_state %d is not a tensor (got %s): the states must be outputs of layers"
                             % (_layer_label(layer), i, type(s0).__name__))
        if s0.sample_shape != (units,):
            raise ValueError("%s: initial_state %d has shape %s; it needs (None, %d)"
                             % (_layer_label(layer), i, _shape_str(s0.sample_shape), units))
    return x, states


def _rnn_outputs(layer, x, states, ys, n_states):
    """The call's tensor(s): one tensor when it has one output, else
    Keras' list, views of one node of all of them (KerasTensor): the
    outputs' shapes ys, then n_states states of (units,)"""
    units = getattr(layer, "units", None) or layer.layer.units
    shapes = list(ys) + [(units,)] * n_states
    if len(shapes) == 1:
        return KerasTensor(layer, [x] + states, shapes[0])
    total = 0
    for sh in shapes:
        n = 1
        for d in sh:
            n *= d
        total += n
    node = KerasTensor(layer, [x] + states, (total,))
    node._views = []
    for k, sh in enumerate(shapes):
        v = KerasTensor(layer, [node], sh)
        v._view = k
        node._views.append(v)
    return list(node._views)


class _Recurrent(Layer):
    """What LSTM and GRU share: the arguments Keras' take, the ones not
    available refused by name, the shapes and the l2 of the kernel."""

    _gates = 4

    def _setup(self, units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
               bias_initializer, kernel_regularizer, dropout, recurrent_dropout, return_sequences, return_state,
               go_backwards, stateful, unroll, kwargs):
        kn = type(self).__name__
        _take_constraints(self, kn, **{arg: kwargs.pop(arg, None) for arg in
                                       ("kernel_constraint", "recurrent_constraint", "bias_constraint")})
        self.bias_regularizer, self.bias_l2 = _l2_of(kwargs.pop("bias_regularizer", None), "%s: bias_regularizer" % kn)
        for arg in ("recurrent_regularizer", "activity_regularizer"):
            setattr(self, arg, _reg_of(kwargs.pop(arg, None), "%s: %s" % (kn, arg)))
        if kwargs:
            raise ValueError("%s: unsupported arguments %s" % (kn, ", ".join(sorted(kwargs))))
        self.units = _positive(units, "units", kn)
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError("%s: only activation='tanh' and recurrent_activation='sigmoid' are available, got %r "
                             "and %r" % (kn, activation, recurrent_activation))
        if (_init.get(kernel_initializer) != "glorot_uniform" or recurrent_initializer != "orthogonal"
                or _init.get(bias_initializer) != "zeros"):
            raise ValueError("%s: only kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal' and "
                             "bias_initializer='zeros' are available" % kn)
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
                raise ValueError("%s: %s must be a number in [0, 1), got %r (Keras clamps it into [0, 1])"
                                 % (kn, arg, rate))
        for flag in ("stateful", "unroll"):
            if locals()[flag]:
                raise ValueError("%s: %s=True is not available" % (kn, flag))
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer = "glorot_uniform", "orthogonal"
        self.bias_initializer = "zeros"
        self.kernel_regularizer, self.l2 = _l2_of(kernel_regularizer, "%s: kernel_regularizer" % kn)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.return_state = bool(return_state)
        self.stateful = self.unroll = False

    def _initializers(self):
        return []  # the C builder draws Keras' defaults (orthogonal recurrent kernel included)

    _states = 1  # state tensors of the cell: h (LSTM: h, c)

    def _call(self, x, initial_state=None, mask=None, training=None):
        x, states = _rnn_inputs(self, x, initial_state, self._states)
        self._features = x.sample_shape[1]
        y = (x.sample_shape[0], self.units) if self.return_sequences else (self.units,)
        return _rnn_outputs(self, x, states, [y], self._states if self.return_state else 0)

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _weight_shapes(self):
        G = self._gates * self.units
        shapes = [(self._features, G), (self.units, G)]
        return shapes + [self._bias_shape()] if self.use_bias else shapes

    @classmethod
    def _args(cls, spec):
        return dict(use_bias=spec["use_bias"], return_sequences=spec["return_sequences"],
                    go_backwards=spec["go_backwards"], name=spec.get("name"),
                    return_state=bool(spec.get("return_state", False)),
                    **_penalties_of(spec, ("kernel_regularizer", "bias_regularizer", "recurrent_regularizer",
                                           "activity_regularizer")),
                    dropout=float(spec.get("dropout") or 0.0),
                    recurrent_dropout=float(spec.get("recurrent_dropout") or 0.0),
                    **_constraints_of(spec, ("kernel_constraint", "recurrent_constraint", "bias_constraint")))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls._make(spec)(ins)

    def _finish(self, lib, h, i, t=None, ids=None, return_state=None):
        """the settings after the builder: l2, dropout, and (t: the call's
        tensor) Keras' return_state and the initial states, its inputs after x"""
        rs = self.return_state if return_state is None else return_state
        if i >= 0 and t is not None and (rs or len(t.inputs) > 1):
            st = [ids[id(a)] for a in t.inputs[1:]]
            if lib.lf_set_rnn_state(h, i, int(rs), (ctypes.c_int * max(1, len(st)))(*st), len(st)) != 0:
                i = -1
        i = _set_regularizers(lib, h, i, self)
        if i >= 0 and (self.dropout or self.recurrent_dropout) and lib.lf_set_rnn_dropout(
                h, i, self.dropout, self.recurrent_dropout) != 0:
            i = -1
        return _set_constraints(lib, h, i, self)


class LSTM(_Recurrent):
    """LSTM(units, activation='tanh', recurrent_activation='sigmoid',
    use_bias=True, unit_forget_bias=True, kernel_regularizer=None,
    return_sequences=False, go_backwards=False), Keras' layer over (batch,
    steps, features): weights kernel (features, 4 units), recurrent_kernel
    (units, 4 units), bias (4 units), gate blocks i, f, c, o; glorot_uniform,
    orthogonal, zeros (the forget block ones with unit_forget_bias).  A
    padding mask (Embedding(mask_zero=True)) makes a masked step keep the
    state and repeat the previous output; return_sequences passes the mask
    on.  dropout / recurrent_dropout (in [0, 1)) as Keras 3: in training
    one mask of the inputs and one of the state per sequence, reused at
    every step (with recurrent_dropout one per gate block, Keras'
    implementation 1), drawn from the model's seed (the layer's seed is
    kept for get_config only).  return_state=True returns [output, h, c]
    (keras/src/layers/rnn/rnn.py: with return_sequences=False the output
    is h; under a padding mask the states of each row's last real step);
    layer(x, initial_state=[h, c]) starts from those states (gradients
    flow into them), the encoder-decoder idiom.  Not available: other
    activations or initializers, stateful, unroll."""

    prefix = "lstm"
    _states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 name=None, **kwargs):
        super().__init__(name)
        self.seed = seed
        kwargs.update(kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint, bias_regularizer=bias_regularizer,
                      recurrent_regularizer=recurrent_regularizer, activity_regularizer=activity_regularizer)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, dropout, recurrent_dropout, return_sequences,
                    return_state, go_backwards, stateful, unroll, kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @classmethod
    def _make(cls, spec):
        return cls(int(spec["units"]), unit_forget_bias=spec["unit_forget_bias"], **cls._args(spec))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return self._finish(lib, h, lib.lf_lstm(h, ii[0], self.units, int(self.use_bias),
                                                int(self.unit_forget_bias), int(self.return_sequences),
                                                int(self.go_backwards), name), t, ids)


class GRU(_Recurrent):
    """GRU(units, activation='tanh', recurrent_activation='sigmoid',
    use_bias=True, kernel_regularizer=None, return_sequences=False,
    go_backwards=False, reset_after=True), Keras' layer (Keras 3's default
    reset_after: the reset gate multiplies h U_h + b_h): weights kernel
    (features, 3 units), recurrent_kernel (units, 3 units), bias (2, 3
    units) (input and recurrent biases), gate blocks z, r, h.  Masks,
    return_state ([output, h]) and initial_state ([h]) as LSTM.  Not
    available: reset_after=False and LSTM's other exclusions."""

    prefix = "gru"
    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, name=None, **kwargs):
        super().__init__(name)
        self.seed = seed
        kwargs.update(kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint, bias_regularizer=bias_regularizer,
                      recurrent_regularizer=recurrent_regularizer, activity_regularizer=activity_regularizer)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, dropout, recurrent_dropout, return_sequences,
                    return_state, go_backwards, stateful, unroll, kwargs)
        if not reset_after:
            raise ValueError("GRU: only reset_after=True (Keras 3's default) is available")
        self.reset_after = True

    def _bias_shape(self):
        return (2, 3 * self.units)

    @classmethod
    def _make(cls, spec):
        return cls(int(spec["units"]), **cls._args(spec))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return self._finish(lib, h, lib.lf_gru(h, ii[0], self.units, int(self.use_bias), int(self.return_sequences),
                                               int(self.go_backwards), name), t, ids)


class SimpleRNN(_Recurrent):
    """SimpleRNN(units, activation='tanh', use_bias=True,
    kernel_regularizer=None, return_sequences=False, go_backwards=False),
    Keras' layer (keras/src/layers/rnn/simple_rnn.py): h' = activation(x W +
    h U + b) from h = 0; weights kernel (features, units) glorot_uniform,
    recurrent_kernel (units, units) orthogonal, bias (units) zeros; any
    activation of Dense (None: linear).  Masks, dropout and
    recurrent_dropout as LSTM (one mask of each); return_state ([output,
    h]) and initial_state ([h]) as GRU.  Not available: other
    initializers, stateful, unroll."""

    prefix = "simple_rnn"
    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, name=None, **kwargs):
        super().__init__(name)
        self.seed = seed
        kwargs.update(kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint, bias_regularizer=bias_regularizer,
                      recurrent_regularizer=recurrent_regularizer, activity_regularizer=activity_regularizer)
        self._setup(units, "tanh", "sigmoid", use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                    kernel_regularizer, dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                    stateful, unroll, kwargs)
        del self.recurrent_activation
        self.activation = _activation(activation)

    @classmethod
    def _make(cls, spec):
        return cls(int(spec["units"]), activation=spec["activation"], **cls._args(spec))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return self._finish(lib, h, lib.lf_simple_rnn(h, ii[0], self.units, lib.lf_activation_parse(
            self.activation.encode()), int(self.use_bias), int(self.return_sequences), int(self.go_backwards), name),
            t, ids)


_lib._proto("lf_bidirectional", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)

_BIDI_MODES = {"concat": 1, "sum": 2, "mul": 3, "ave": 4, None: 5}


def _layer_of(cfg, what):
    """A layer from Keras' serialized form {"class_name": ..., "config": ...} (or a layer)."""
    if isinstance(cfg, Layer):
        return cfg
    if not isinstance(cfg, dict) or cfg.get("class_name") not in Layer._types or not isinstance(
            cfg.get("config"), dict):
        raise ValueError("Bidirectional.from_config: %s must be a serialized layer {'class_name': ..., "
                         "'config': ...}, got %r" % (what, cfg))
    return Layer._types[cfg["class_name"]].from_config(cfg["config"])


class Bidirectional(Layer):
    """Bidirectional(layer, merge_mode='concat', backward_layer=None), Keras'
    wrapper (keras/src/layers/rnn/bidirectional.py) around an LSTM, GRU or
    SimpleRNN: a forward copy (forward_layer, named 'forward_<name>') and a
    backward copy (backward_layer, go_backwards=True, 'backward_<name>'),
    each with its own weights, read the sequence; with return_sequences the
    backward output is flipped back to time order.  merge_mode 'concat'
    (2 units on the last axis), 'sum', 'mul' or 'ave'.  A padding mask makes
    masked steps output zeros in both copies with return_sequences (Keras
    forces zero_output_for_mask), and is passed on then; without
    return_sequences each copy gives its state after its last real step.
    get_weights(): the forward copy's weights, then the backward copy's.
    merge_mode=None returns [forward output, backward output]; with the
    wrapped layer's return_state=True the call returns the output(s), then
    the forward copy's states, then the backward copy's (bidirectional.py:
    `output + states` or `(output,) + states`); initial_state= takes the
    forward copy's states then the backward copy's.  Not available: a
    backward_layer other than the layer's own go_backwards copy, weights=,
    a wrapped layer with go_backwards=True (refused, as Keras)."""

    prefix = "bidirectional"

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Bidirectional: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                             "Received: %r" % (layer,))
        if not isinstance(layer, _Recurrent):
            raise ValueError("Bidirectional: only LSTM, GRU and SimpleRNN can be wrapped, got %s"
                             % type(layer).__name__)
        if getattr(layer, "activity_regularizer", None) is not None and merge_mode not in ("concat", None):
            raise ValueError("Bidirectional: the wrapped layer's activity_regularizer with merge_mode=%r is not "
                             "available (the engine penalises the merged output, Keras each copy's)" % (merge_mode,))
        if merge_mode not in _BIDI_MODES:
            raise ValueError('Invalid merge mode. Received: %r. Merge mode should be one of {"sum", "mul", "ave", '
                             '"concat", None}' % (merge_mode,))
        if weights is not None:
            raise ValueError("Bidirectional: weights= is not available: call set_weights once the model is built")
        if layer.go_backwards:
            raise ValueError("Forward layer and backward layer should have different `go_backwards` value. "
                             "Received: forward_layer.go_backwards True, backward_layer.go_backwards=True")
        base = layer.name or layer.prefix
        cfg = layer.get_config()
        fwd = dict(cfg, name="forward_" + (base[8:] if base.startswith("forward_") else base))
        bwd = dict(cfg, go_backwards=True,
                   name="backward_" + (base[9:] if base.startswith("backward_") else base))
        if backward_layer is not None:
            given = _layer_of(backward_layer, "backward_layer")
            gcfg = dict(given.get_config(), name=bwd["name"]) if isinstance(given, Layer) else None
            if type(given) is not type(layer) or gcfg != bwd:
                raise ValueError("Bidirectional: a backward_layer other than the layer's own copy with "
                                 "go_backwards=True is not available")
            bwd["name"] = given.name or bwd["name"]
        self.layer = layer
        self.forward_layer = type(layer).from_config(fwd)
        self.backward_layer = type(layer).from_config(bwd)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = False

    def get_config(self):
        """Keras' form: merge_mode, the forward copy as 'layer', the backward
        copy as 'backward_layer' (serialized {'class_name', 'config'})."""
        def ser(ly):
            return {"class_name": type(ly).__name__, "config": ly.get_config()}
        return {"name": self.name, "trainable": self.trainable, "merge_mode": self.merge_mode,
                "layer": ser(self.forward_layer), "backward_layer": ser(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = _layer_of(config["layer"], "layer")
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _layer_of(config["backward_layer"], "backward_layer")
        return cls(**config)

    def _call(self, x, initial_state=None, mask=None, training=None):
        per = self.layer._states
        x, states = _rnn_inputs(self, x, initial_state, per, 2)
        self._features = x.sample_shape[1]
        u = self.layer.units * (2 if self.merge_mode == "concat" else 1)
        y = (x.sample_shape[0], u) if self.return_sequences else (u,)
        return _rnn_outputs(self, x, states, [y] * (2 if self.merge_mode is None else 1),
                            2 * per if self.return_state else 0)

    def _weight_shapes(self):
        self.layer._features = self._features
        return self.layer._weight_shapes() * 2

    @classmethod
    def _load(cls, spec, ins, tensors):
        inner = dict(spec["layer"], constraints=spec.get("constraints"),  # the wrapper's, both copies'
                     regularizers=spec.get("regularizers"))
        return cls(Layer._types[inner["type"]]._make(inner), merge_mode=spec["merge_mode"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        ly = self.layer
        cell = {LSTM: 0, GRU: 1, SimpleRNN: 2}[type(ly)]
        act = lib.lf_activation_parse(ly.activation.encode()) if cell == 2 else 0
        i = lib.lf_bidirectional(h, ii[0], cell, ly.units, act, int(ly.use_bias),
                                 int(getattr(ly, "unit_forget_bias", False)), int(self.return_sequences),
                                 _BIDI_MODES[self.merge_mode], name)
        return ly._finish(lib, h, i, t, ids, self.return_state)


# TextVectorization is a preprocessing object, not a graph layer (text.py),
# and so are StringLookup and IntegerLookup (lookup.py).
from .text import TextVectorization  # noqa: E402
from .lookup import IntegerLookup, StringLookup  # noqa: E402


# Keras' functional forms of the merging layers (keras/src/layers/merging/
# add.py etc.: `def add(inputs, **kwargs): return Add(**kwargs)(inputs)`)
def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


# Keras 3 layers that the C engine has no kind for: asking for one names
# the alternative instead of a bare AttributeError
# ---- the 1-D depthwise, separable and transposed convolutions
# (keras/src/layers/convolutional/depthwise_conv1d.py, separable_conv1d.py,
# conv1d_transpose.py): the C library runs them as the 2-D forms on
# (steps, 1, channels); the weights have Keras' 1-D shapes.
__all__ += ["DepthwiseConv1D", "SeparableConv1D", "Conv1DTranspose"]

_lib._proto("lf_depthwise_conv1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_separable_conv1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p)
_lib._proto("lf_conv1d_transpose", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t), ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p)


class DepthwiseConv1D(DepthwiseConv2D):
    """DepthwiseConv1D(kernel_size, strides=1, padding='valid',
    depth_multiplier=1, data_format=None, dilation_rate=1, activation=None,
    use_bias=True, depthwise_regularizer=None, bias_regularizer=None): Keras'
    layer (keras/src/layers/convolutional/depthwise_conv1d.py) over (batch,
    steps, channels): each channel convolved by depth_multiplier filters of
    its own; kernel (kernel_size, in_channels, depth_multiplier)
    glorot_uniform, bias (in_channels depth_multiplier) zeros; output channel
    c M + j.  Padding 'valid' or 'same'; it ends the padding mask."""

    prefix = "depthwise_conv1d"

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, name=None, **kwargs):
        kn = type(self).__name__
        k, s, d = (_one_int(v, w, kn)[0] for v, w in ((kernel_size, "kernel_size"), (strides, "strides"),
                                                        (dilation_rate, "dilation_rate")))
        super().__init__((k, 1), (s, 1), padding, depth_multiplier, data_format, (d, 1), activation, use_bias,
                         depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint, name, **kwargs)
        self.kernel_size, self.strides, self.dilation_rate = (k,), (s,), (d,)

    def _call(self, x):
        x = _sequence(self, x)
        (T, C), k, s, d = x.sample_shape, self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        to = _out_size(T, k, s, self.padding, d)
        if to < 1:
            raise ValueError("%s: input of shape %s is shorter than the kernel %d dilated by %d with padding "
                             "'valid'" % (type(self).__name__, _shape_str(x.sample_shape), k, d))
        self._in_channels = C
        return KerasTensor(self, [x], (to, self._out_channels(C)))

    def _weight_shapes(self):
        C, M = self._in_channels, self.depth_multiplier
        k = (self.kernel_size[0], C, M)
        return [k, (C * M,)] if self.use_bias else [k]

    @classmethod
    def _settings(cls, spec):
        return dict(super()._settings(spec), dilation_rate=tuple(spec.get("dilation_rate", (1,))))

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_depthwise_conv1d(h, ii[0], self.kernel_size[0], self.strides[0], _pad_id(self.padding),
                                    self.depth_multiplier, self.dilation_rate[0],
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


class SeparableConv1D(DepthwiseConv1D):
    """SeparableConv1D(filters, kernel_size, strides=1, padding='valid',
    data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
    use_bias=True, depthwise_regularizer=None, pointwise_regularizer=None,
    bias_regularizer=None): Keras' layer (separable_conv1d.py): the
    depthwise convolution (no bias) then a pointwise convolution to filters.
    Weights in Keras' order: depthwise_kernel (kernel_size, C, M),
    pointwise_kernel (1, C M, filters), bias (filters).  One L2 factor on
    both kernels (as SeparableConv2D): the two regularizers must agree."""

    prefix = "separable_conv1d"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, name=None, **kwargs):
        kn = "SeparableConv1D"
        _defaults_only(kn, pointwise_initializer=(pointwise_initializer, "glorot_uniform"),
                       pointwise_constraint=(pointwise_constraint, None))
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                         bias_regularizer, depthwise_constraint, bias_constraint, name, **kwargs)
        self.filters = _positive(filters, "filters", kn)
        self.pointwise_initializer, self.pointwise_constraint = pointwise_initializer, None
        self.pointwise_regularizer = _reg_of(pointwise_regularizer, kn + ": pointwise_regularizer")
        factors = [(r.l1, r.l2) if r is not None else (0.0, 0.0)
                   for r in (self.depthwise_regularizer, self.pointwise_regularizer)]
        if factors[0] != factors[1]:
            raise ValueError("%s: depthwise_regularizer and pointwise_regularizer must be the same (one l1 and "
                             "one l2 factor on both kernels here), got %r and %r"
                             % (kn, self.depthwise_regularizer, self.pointwise_regularizer))

    _out_channels = SeparableConv2D._out_channels
    _load = classmethod(SeparableConv2D._load.__func__)  # its reader, cls this class

    def _weight_shapes(self):
        C, M = self._in_channels, self.depth_multiplier
        k = [(self.kernel_size[0], C, M), (1, C * M, self.filters)]
        return k + [(self.filters,)] if self.use_bias else k

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        i = lib.lf_separable_conv1d(h, ii[0], self.filters, self.kernel_size[0], self.strides[0],
                                    _pad_id(self.padding), self.depth_multiplier, self.dilation_rate[0],
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


class Conv1DTranspose(Conv2DTranspose):
    """Conv1DTranspose(filters, kernel_size, strides=1, padding='valid',
    output_padding=None, data_format=None, dilation_rate=1, activation=None,
    use_bias=True, ...): Keras' transposed convolution over (batch, steps,
    channels) (keras/src/layers/convolutional/conv1d_transpose.py); kernel
    (kernel_size, filters, in_channels) glorot_uniform, zero bias; output
    size and 'same' padding as Keras' TensorFlow and JAX backends, as
    Conv2DTranspose's.  dilation_rate 1 only."""

    prefix = "conv1d_transpose"
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, name=None, **kwargs):
        Layer.__init__(self, name)  # Conv2DTranspose's _load, its own settings
        kn = "Conv1DTranspose"
        _transpose_settings(self, kn, _one_int, "1", filters, kernel_size, strides, padding, data_format,
                            dilation_rate, kernel_initializer, bias_initializer, kernel_regularizer,
                            bias_regularizer, kernel_constraint, bias_constraint, kwargs)
        self.output_padding = _output_padding_of(kn, output_padding, self.strides, "a tuple of one")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)

    def _call(self, x):
        x = _sequence(self, x)
        T, C = x.sample_shape
        op = self.output_padding[0] if self.output_padding else None
        to = _tconv_size(T, self.kernel_size[0], self.strides[0], self.padding, op)
        if to < 1:
            raise ValueError("Conv1DTranspose: input of shape %s gives an output of %d steps"
                             % (_shape_str(x.sample_shape), to))
        self._in_channels = C
        return KerasTensor(self, [x], (to, self.filters))

    def _weight_shapes(self):
        k = (self.kernel_size[0], self.filters, self._in_channels)
        return [k, (self.filters,)] if self.use_bias else [k]

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        op = None if self.output_padding is None else (ctypes.c_size_t * 1)(self.output_padding[0])
        i = lib.lf_conv1d_transpose(h, ii[0], self.filters, self.kernel_size[0], self.strides[0],
                                    _pad_id(self.padding), op, lib.lf_activation_parse(self.activation.encode()),
                                    int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


# ---------------------------------------------------------------------------
# Keras 3's noise and regularization layers (src/layers/noise.c)
# ---------------------------------------------------------------------------
#
# Train-only (the identity in evaluate and predict, and in an eager call);
# their draws come from the model's seed, as Dropout's: Keras' `seed`
# argument is kept for get_config but does not choose the draws.

for _fn in ("lf_spatial_dropout1d", "lf_spatial_dropout2d", "lf_gaussian_noise", "lf_gaussian_dropout",
            "lf_alpha_dropout"):
    _lib._proto(_fn, ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)
del _fn
_lib._proto("lf_activity_regularization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)


def _noise_rate(layer, v, what="rate", closed=False):
    """a rate in [0, 1) (Dropout's; Keras accepts 1), or GaussianNoise's
    stddev in [0, 1] (Keras' range)"""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= v < 1.0 or (closed and v == 1.0)):
        raise ValueError("%s: %s must be in [0, 1%s, got %r" % (layer, what, "]" if closed else ")", v))
    return float(v)


class _Noise(Layer):
    """one input, its shape kept; `builder` the C builder, `rank` the
    input's per-sample rank it needs (0: any)"""
    builder, rank = None, 0

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        self.rate, self.seed = _noise_rate(type(self).__name__, rate), seed

    def _call(self, x):
        x = _one(self, x)
        if self.rank and len(x.sample_shape) != self.rank:
            raise ValueError("%s: input of shape %s must be %s" % (
                type(self).__name__, _shape_str(x.sample_shape),
                "(batch, steps, channels)" if self.rank == 2 else "(batch, height, width, channels)"))
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(float(spec["rate"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], self.rate, name)


class SpatialDropout1D(_Noise):
    """SpatialDropout1D(rate, seed=None): Keras 3's Dropout of whole channels
    of (batch, steps, channels) (noise shape (batch, 1, channels)): in each
    row a channel is 0 at every step with probability rate, else scaled by
    1 / (1 - rate) at every step."""
    prefix, builder, rank = "spatial_dropout1d", "lf_spatial_dropout1d", 2


class SpatialDropout2D(_Noise):
    """SpatialDropout2D(rate, data_format=None, seed=None): whole channels of
    (batch, height, width, channels) (noise shape (batch, 1, 1, channels));
    channels_last only."""
    prefix, builder, rank = "spatial_dropout2d", "lf_spatial_dropout2d", 3

    def __init__(self, rate, data_format=None, seed=None, name=None):
        super().__init__(rate, seed=seed, name=name)
        if data_format not in (None, "channels_last"):
            raise ValueError("SpatialDropout2D: data_format must be 'channels_last' (images are (height, width, "
                             "channels)), got %r" % (data_format,))
        self.data_format = "channels_last"


class GaussianNoise(_Noise):
    """GaussianNoise(stddev, seed=None): x + stddev z, z standard normal,
    while training; stddev in [0, 1] (Keras' range)."""
    prefix, builder = "gaussian_noise", "lf_gaussian_noise"

    def __init__(self, stddev, seed=None, name=None):
        Layer.__init__(self, name)
        self.stddev, self.seed = _noise_rate("GaussianNoise", stddev, "stddev", closed=True), seed
        self.rate = self.stddev

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(float(spec["stddev"]), name=spec["name"])(ins)


class GaussianDropout(_Noise):
    """GaussianDropout(rate, seed=None): x (1 + sqrt(rate / (1 - rate)) z)
    while training."""
    prefix, builder = "gaussian_dropout", "lf_gaussian_dropout"


class AlphaDropout(_Noise):
    """AlphaDropout(rate, noise_shape=None, seed=None): SELU's alpha dropout
    while training: a value dropped with probability rate to alpha' =
    -1.6733 * 1.0507, then a x + b with a = ((1 - rate)(1 + rate alpha'^2))
    ^-1/2, b = -a alpha' rate.  noise_shape None only."""
    prefix, builder = "alpha_dropout", "lf_alpha_dropout"

    def __init__(self, rate, noise_shape=None, seed=None, name=None):
        super().__init__(rate, seed=seed, name=name)
        if noise_shape is not None:
            raise ValueError("AlphaDropout: noise_shape is not supported (a draw per value)")
        self.noise_shape = None


class ActivityRegularization(Layer):
    """ActivityRegularization(l1=0.0, l2=0.0): the identity, with the activity
    regularizer L1L2(l1, l2) on its output (the batch's l1 sum |y| + l2
    sum y^2 divided by its rows, added to the training loss, as Keras 3)."""

    prefix = "activity_regularization"

    def __init__(self, l1=0.0, l2=0.0, name=None):
        super().__init__(name)
        for what, v in (("l1", l1), ("l2", l2)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= v < float("inf")):
                raise ValueError("ActivityRegularization: %s must be a finite number >= 0, got %r" % (what, v))
        self.l1, self.l2 = float(l1), float(l2)

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        r = (spec.get("regularizers") or {}).get("activity") or {}
        return cls(float(r.get("l1", 0.0)), float(r.get("l2", 0.0)), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_activity_regularization(h, ii[0], self.l1, self.l2, name)


# ---------------------------------------------------------------------------
# Keras 3's Discretization (src/layers/discretize.c)
# ---------------------------------------------------------------------------

_lib._proto("lf_discretization", ctypes.c_int, _lib._P, ctypes.c_int, _lib.c_float_p, ctypes.c_size_t,
            ctypes.c_char_p)


class _DiscretizationOptions(ctypes.Structure):  # lf_discretization_options
    _fields_ = [("output_mode", ctypes.c_int), ("num_bins", ctypes.c_size_t), ("epsilon", ctypes.c_double)]


_DISC_UNADAPTED = ("You need to either pass the `bin_boundaries` argument at construction time or call "
                   "`adapt(dataset)` before you can start using the `Discretization` layer.")
_DISCRETIZATION_MODES = {"int": 0, "one_hot": 1, "multi_hot": 2, "count": 3}  # lf_discretization_mode
_lib._proto("lf_discretization_opt", ctypes.c_int, _lib._P, ctypes.c_int, _lib.c_float_p, ctypes.c_size_t,
            ctypes.POINTER(_DiscretizationOptions), ctypes.c_char_p)
_lib._proto("lf_discretization_adapt", ctypes.c_int, _lib.c_float_p, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_double, _lib.c_float_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t)


class Discretization(Layer):
    """Discretization(bin_boundaries=None, num_bins=None, epsilon=0.01,
    output_mode='int', sparse=False): Keras 3's bucketing of values, numpy's
    digitize: the index of each value's bin, (-inf, b0) -> 0, [b0, b1) ->
    1, ..., [b_last, inf) -> len(bin_boundaries), NaN the last.  The indices
    come out as float32 (Keras': int64).  output_mode 'one_hot',
    'multi_hot', 'count' encode them as Keras' encode_categorical_inputs
    at depth len(bin_boundaries) + 1 (float32, computed in C): one_hot of
    (batch, ..., d) is (batch, ..., d, depth), of (batch, ..., 1) (batch,
    ..., depth); multi_hot and count of (batch, d) are (batch, depth), and
    are refused for inputs of higher rank (Keras 3 reduces those over axis
    1, not the last).  sparse=True is refused.  adapt(data) with num_bins: the
    boundaries of Keras' quantile summary of data as one array (its
    summarize / compress_summary, computed in C: lf_discretization_adapt),
    not exact quantiles.  The boundaries are the layer's one weight in the
    C model (get_weights() gives them; Keras' layer has no weights).
    Called on an array of rank 0 or 1 it encodes as Keras' does for that
    rank (see __call__).  Model files keep output_mode, num_bins and
    epsilon."""

    prefix = "discretization"
    _fixed_weights = (0,)

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 name=None):
        super().__init__(name)
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot', "
                             "'multi_hot', 'count'}. Received: output_mode=%s" % (output_mode,))
        if sparse:
            raise ValueError("Discretization: sparse=True is not supported: the outputs are dense float32 arrays")
        if num_bins is not None and (isinstance(num_bins, bool) or not _integer(num_bins) or num_bins < 0):
            raise ValueError("`num_bins` must be greater than or equal to 0. Received: `num_bins=%s`" % (num_bins,))
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: `num_bins=%s` and "
                             "`bin_boundaries=%s`" % (num_bins, bin_boundaries))
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if not (isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and 0 < epsilon <= 1):
            raise ValueError("Discretization: epsilon must be in (0, 1], got %r" % (epsilon,))
        self.bin_boundaries = None if bin_boundaries is None else self._checked(bin_boundaries)
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon, self.output_mode, self.sparse = float(epsilon), output_mode, False

    @staticmethod
    def _checked(b):
        import numpy as np
        a = np.asarray(b, dtype=np.float64).reshape(-1)
        if a.size == 0:
            raise ValueError("Discretization: bin_boundaries is empty; it needs at least one boundary")
        if np.isnan(a).any() or (np.diff(a) < 0).any():
            raise ValueError("Discretization: bin_boundaries must be sorted numbers, got %r" % (list(b),))
        return [float(v) for v in np.asarray(a, dtype=np.float32)]

    def adapt(self, data, steps=None):
        """Keras' adapt(data): the boundaries of num_bins bins from data (an
        array, or an iterable of batches, joined into one array)."""
        import numpy as np
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        if steps is not None:
            raise ValueError("Discretization.adapt: `steps` is only for datasets; pass an array")
        if not hasattr(data, "shape") and not isinstance(data, np.ndarray):
            data = np.concatenate([np.asarray(b, dtype=np.float32).reshape(-1) for b in data])
        a = np.ascontiguousarray(np.asarray(data, dtype=np.float32).reshape(-1))
        out = np.zeros(max(self.num_bins, 1), dtype=np.float32)
        n = ctypes.c_size_t(0)
        err = ctypes.create_string_buffer(256)
        st = _lib.lib.lf_discretization_adapt(a.ctypes.data_as(_lib.c_float_p), a.size, self.num_bins,
                                              self.epsilon, out.ctypes.data_as(_lib.c_float_p), ctypes.byref(n),
                                              err, 256)
        if st != 0:
            raise ValueError(err.value.decode())
        self.bin_boundaries = [float(v) for v in out[:n.value]]
        if self._holder is not None:
            if len(self.bin_boundaries) != len(self.get_weights()[0]):
                raise ValueError("Discretization.adapt: the layer in a model has %d boundaries; adapt gave %d"
                                 % (len(self.get_weights()[0]), len(self.bin_boundaries)))
            self.set_weights([out[:n.value]])

    def _weight_shapes(self):
        return [(len(self.bin_boundaries),)]

    def __call__(self, inputs, **kwargs):
        """Keras' call; an array of rank 0 or 1 (Keras takes those) is
        digitized as a batch of single values, through the C layer in "int"
        mode, then encoded as Keras' encode_categorical_inputs does for
        that rank: "int" keeps the shape, "one_hot" gives (n, depth),
        "multi_hot" and "count" one (depth,) over all the values."""
        import numpy as np
        if isinstance(inputs, KerasTensor) or not _is_array(inputs) and not isinstance(inputs, (int, float, list)):
            return super().__call__(inputs, **kwargs)
        a = np.asarray(inputs)
        if a.ndim > 1 or a.dtype.kind not in "biuf":
            return super().__call__(inputs, **kwargs)
        if self._holder is not None:  # the C model's boundaries, as get_config
            self.bin_boundaries = [float(v) for v in self.get_weights()[0]]
        if self.bin_boundaries is None:
            raise ValueError(_DISC_UNADAPTED)
        one = Discretization(bin_boundaries=self.bin_boundaries, name=self.name)
        idx = one(a.reshape(-1, 1).astype(np.float32), **kwargs).reshape(a.shape)
        if self.output_mode == "int":
            return idx
        return _encode_categorical(idx.astype(np.int64), self.output_mode, len(self.bin_boundaries) + 1)

    def get_config(self):
        if self._holder is not None:  # the C model's boundaries (lf_set_weights, a loaded file)
            self.bin_boundaries = [float(v) for v in self.get_weights()[0]]
        return super().get_config()

    @classmethod
    def from_config(cls, config):
        """Keras' from_config: an adapted layer's config has both
        bin_boundaries and num_bins"""
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            b = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = cls._checked(b)
            return layer
        return cls(**config)

    def _call(self, x):
        x = _one(self, x)
        if self.bin_boundaries is None:
            raise ValueError(_DISC_UNADAPTED)
        s, depth = x.sample_shape, len(self.bin_boundaries) + 1
        if self.output_mode == "int":
            return KerasTensor(self, [x], s)
        if self.output_mode == "one_hot":  # Keras squeezes a last axis of 1
            return KerasTensor(self, [x], (s[:-1] if s[-1] == 1 else s) + (depth,))
        if len(s) != 1:
            raise ValueError("Discretization: output_mode \"%s\" takes inputs of shape (batch, d); got shape %s "
                             "(Keras 3 reduces such an input over its axis 1, not its last axis)"
                             % (self.output_mode, _shape_str(s)))
        return KerasTensor(self, [x], (depth,))

    @classmethod
    def _load(cls, spec, ins, tensors):  # the boundaries: the file's tensor, read by get_config
        layer = cls(bin_boundaries=[0.0] * int(spec["num_boundaries"]), output_mode=spec.get("output_mode", "int"),
                    epsilon=spec.get("epsilon", 0.01), name=spec["name"])
        layer.num_bins = int(spec["num_bins"]) if "num_bins" in spec else None
        return layer(ins)

    def _build(self, lib, h, t, ids, name):
        import numpy as np
        ii, _ = _ids(t, ids)
        b = np.ascontiguousarray(self.bin_boundaries, dtype=np.float32)
        opt = _DiscretizationOptions(_DISCRETIZATION_MODES[self.output_mode], self.num_bins or 0, self.epsilon)
        return lib.lf_discretization_opt(h, ii[0], b.ctypes.data_as(_lib.c_float_p), b.size, ctypes.byref(opt),
                                         name)


# ---- TimeDistributed (the C library's lf_time_distributed / _end)

_lib._proto("lf_time_distributed", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_time_distributed_end", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class _TimeSteps(Layer):
    """The steps of one TimeDistributed call (lf_time_distributed): its
    input without the steps axis, on which the wrapped layer is called.  Not
    a Keras layer: the model file's "TimeDistributedInput"."""

    prefix = "time_distributed_input"

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape[1:])

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_time_distributed(h, ii[0], name)


Layer._types["TimeDistributedInput"] = _TimeSteps


def _layers_between(steps, y):
    """The layers of the calls from the steps tensor to y, in call order."""
    seen, order, stack = set(), [], [y]
    while stack:
        t = stack.pop()
        if t is steps or id(t) in seen:
            continue
        seen.add(id(t))
        order.append(t)
        stack.extend(t.inputs)
        stack.extend(v for v in t.extra.values() if v is not None)
    out = []
    for t in sorted(order, key=lambda t: t._order):
        if t._view is None and t.layer not in out:
            out.append(t.layer)
    return out


class TimeDistributed(Layer):
    """TimeDistributed(layer), Keras 3's wrapper
    (keras/src/layers/rnn/time_distributed.py): the layer applied to every
    step of x (batch, T, ...) with one set of weights, its output (batch, T,
    ...).  `layer` is a layer or a model (TimeDistributed(cnn_model)(frames):
    the model's layers run on each frame).  The library runs the steps as a
    batch of batch x T rows (BatchNormalization's statistics over them, as
    Keras').  model.layers, get_layer and summary() show it as one layer,
    as Keras' (the C graph's TimeDistributedInput and wrapped layers are
    not listed); get_weights() gives the wrapped layer's.  A padding mask
    of x reaches the wrapped layer per step (Keras' mask[i]) and ends here
    (Keras 3's TimeDistributed does not support masking).  Not available:
    a layer returning several tensors, nesting."""

    prefix = "time_distributed"

    def __init__(self, layer, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("TimeDistributed: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        if isinstance(layer, dict):
            layer = _layer_of(layer, "layer")
        if not isinstance(layer, Layer) and not hasattr(layer, "_call_symbolic"):
            raise ValueError("Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             "Received: %r" % (layer,))
        self.layer = layer
        self._inner = None  # the layers run on the steps (the first call's)

    def _call(self, x, mask=None, training=None):
        x = _one(self, x)
        if len(x.sample_shape) < 2:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             "received: %s" % _shape_str(x.sample_shape))
        steps = _TimeSteps()(x)
        y = self.layer(steps)
        if isinstance(y, (list, tuple)):
            raise ValueError("TimeDistributed: the wrapped %s returns %d tensors; it must return one"
                             % (type(self.layer).__name__, len(y)))
        if len(y.sample_shape) + 1 > 5:
            raise ValueError("TimeDistributed: the wrapped %s's output %s with the steps axis has rank %d; at most "
                             "6 (batch included)" % (type(self.layer).__name__, _shape_str((None,) + y.sample_shape),
                                                   len(y.sample_shape) + 2))
        if self._inner is None:
            self._inner = _layers_between(steps, y)
        return KerasTensor(self, [y], (x.sample_shape[0],) + y.sample_shape)

    def get_config(self):
        if not isinstance(self.layer, Layer):
            raise NotImplementedError("TimeDistributed.get_config: the wrapped model has no layer config here")
        return {"name": self.name, "trainable": self.trainable,
                "layer": {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}}

    def get_weights(self):
        """The wrapped layer's weights (Keras: the wrapper's are its layer's)."""
        return [w for ly in (self._inner or []) for w in ly.get_weights()]

    def set_weights(self, weights):
        weights, k = list(weights), 0
        for ly in self._inner or []:
            n = len(ly.get_weights())
            ly.set_weights(weights[k:k + n])
            k += n

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_time_distributed_end(h, ii[0], name)

    @classmethod
    def _load(cls, spec, ins, tensors):
        """A model file's TimeDistributed: its inbound layer is the last of
        the layers on the steps, which the file lists before it (after their
        TimeDistributedInput): the wrapped layer when it is one."""
        y = ins[0]
        steps, stack = None, [y]
        while stack and steps is None:
            t = stack.pop()
            if isinstance(t.layer, _TimeSteps):
                steps = t
            stack.extend(t.inputs)
        inner = _layers_between(steps, y)
        td = cls.__new__(cls)
        Layer.__init__(td, spec["name"])
        td.layer = inner[0] if len(inner) == 1 else _WrappedLayers(inner)
        td._inner = inner
        t = KerasTensor(td, [y], (steps.inputs[0].sample_shape[0],) + y.sample_shape)
        td._output, td._in_shapes = t, (steps.inputs[0].sample_shape,)
        return t


_lib._proto("lf_global_max_pooling3d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_global_average_pooling3d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


class _GlobalPool3D(_GlobalPool2D):
    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) != 4:
            raise ValueError("%s: input of shape %s must be (batch, frames, height, width, channels)"
                             % (type(self).__name__, _shape_str(x.sample_shape)))
        return KerasTensor(self, [x], (x.sample_shape[3],))


class GlobalMaxPooling3D(_GlobalPool3D):
    """GlobalMaxPooling3D(): (batch, T, H, W, C) -> (batch, C)."""
    prefix = "global_max_pooling3d"
    builder = "lf_global_max_pooling3d"


class GlobalAveragePooling3D(_GlobalPool3D):
    """GlobalAveragePooling3D(): (batch, T, H, W, C) -> (batch, C)."""
    prefix = "global_average_pooling3d"
    builder = "lf_global_average_pooling3d"


def _triple(v, what, layer):
    """v (an integer or three of them) as a triple of Python ints >= 1"""
    out = _ints_of(v, 3, 1)
    if out is None:
        raise ValueError("%s: %s must be a positive integer or a tuple of 3 of them, got %r" % (layer, what, v))
    return out


def _video(layer, x):
    x = _one(layer, x)
    if len(x.sample_shape) != 4:
        raise ValueError("%s: input of shape %s must be (batch, frames, height, width, channels)"
                         % (type(layer).__name__, _shape_str(x.sample_shape)))
    return x


_lib._proto("lf_conv3d_dilated", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


class Conv3D(Layer):
    """Conv3D(filters, kernel_size, strides=(1, 1, 1), padding='valid',
    data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
    kernel/bias initializer, regularizer, constraint, activity_regularizer):
    Keras' convolution over channels-last volumes (batch, D, H, W, C); kernel
    (kd, kh, kw, in_channels, filters); 'same' puts the odd voxel after, as
    Keras; dilation_rate spreads the taps (not with strides above 1, as
    Keras).  channels_last only."""

    prefix = "conv3d"
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None, **kwargs):
        super().__init__(name)
        if kwargs:
            raise ValueError("Conv3D: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        self.data_format = _channels_last(data_format, "Conv3D")
        self.dilation_rate = _triple(dilation_rate, "dilation_rate", "Conv3D")
        _kernel_and_bias(self, "Conv3D", kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint)
        self.activity_regularizer = _reg_of(activity_regularizer, "Conv3D: activity_regularizer")
        self.filters = _positive(filters, "filters", "Conv3D")
        self.kernel_size = _triple(kernel_size, "kernel_size", "Conv3D")
        self.strides = _triple(strides, "strides", "Conv3D")
        self.padding = _padding(padding, "Conv3D")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        _no_dilated_strides(self.strides, self.dilation_rate, "Conv3D")

    def _call(self, x):
        x = _video(self, x)
        D, H, W, C = x.sample_shape
        out = tuple(_out_size(n, k, s, self.padding, d)
                    for n, k, s, d in zip((D, H, W), self.kernel_size, self.strides, self.dilation_rate))
        if min(out) < 1:
            raise ValueError("Conv3D: input of shape %s is smaller than the kernel %r with padding 'valid'"
                             % (_shape_str(x.sample_shape), self.kernel_size))
        self._in_channels = C
        return KerasTensor(self, [x], out + (self.filters,))

    def _weight_shapes(self):
        k = self.kernel_size + (self._in_channels, self.filters)
        return [k, (self.filters,)] if self.use_bias else [k]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]), tuple(spec["strides"]), spec["padding"],
                   activation=spec["activation"], use_bias=spec["use_bias"], name=spec["name"],
                   dilation_rate=tuple(spec.get("dilation_rate", (1, 1, 1))), **_penalties_of(spec, _WEIGHTED_REGS),
                   **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        (kd, kh, kw), (sd, sh, sw), (dd, dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        i = lib.lf_conv3d_dilated(h, ii[0], self.filters, kd, kh, kw, sd, sh, sw, _pad_id(self.padding), dd, dh, dw,
                                  lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


__all__ += ["Conv3DTranspose"]

_lib._proto("lf_conv3d_transpose", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
            ctypes.POINTER(ctypes.c_size_t), ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


class Conv3DTranspose(Layer):
    """Conv3DTranspose(filters, kernel_size, strides=(1, 1, 1), padding='valid',
    data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
    activation=None, use_bias=True, kernel/bias initializer, regularizer,
    constraint, activity_regularizer): Keras' transposed convolution over
    channels-last volumes (keras/src/layers/convolutional/
    conv3d_transpose.py; data_format before output_padding, as Keras);
    kernel (kd, kh, kw, filters, in_channels) glorot_uniform, zero bias;
    output sizes and 'same' padding per axis as Conv2DTranspose's (Keras'
    TensorFlow and JAX backends).  dilation_rate 1 only."""

    prefix = "conv3d_transpose"
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name=None, **kwargs):
        super().__init__(name)
        kn = "Conv3DTranspose"
        _transpose_settings(self, kn, _triple, "(1, 1, 1)", filters, kernel_size, strides, padding, data_format,
                            dilation_rate, kernel_initializer, bias_initializer, kernel_regularizer,
                            bias_regularizer, kernel_constraint, bias_constraint, kwargs)
        self.activity_regularizer = _reg_of(activity_regularizer, kn + ": activity_regularizer")
        self.output_padding = _output_padding_of(kn, output_padding, self.strides, "a tuple of 3 of them")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)

    def _call(self, x):
        x = _video(self, x)
        D, H, W, C = x.sample_shape
        op = self.output_padding or (None, None, None)
        out = tuple(_tconv_size(n, k, s, self.padding, o)
                    for n, k, s, o in zip((D, H, W), self.kernel_size, self.strides, op))
        if min(out) < 1:
            raise ValueError("Conv3DTranspose: input of shape %s gives an output of %d x %d x %d voxels"
                             % ((_shape_str(x.sample_shape),) + out))
        self._in_channels = C
        return KerasTensor(self, [x], out + (self.filters,))

    def _weight_shapes(self):
        k = self.kernel_size + (self.filters, self._in_channels)
        return [k, (self.filters,)] if self.use_bias else [k]

    @classmethod
    def _load(cls, spec, ins, tensors):
        op = spec.get("output_padding")
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]), tuple(spec["strides"]), spec["padding"],
                   output_padding=None if op is None else tuple(op), activation=spec["activation"],
                   use_bias=spec["use_bias"], name=spec["name"], **_penalties_of(spec, _WEIGHTED_REGS),
                   **_constraints_of(spec, ("kernel_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        (kd, kh, kw), (sd, sh, sw) = self.kernel_size, self.strides
        op = None if self.output_padding is None else (ctypes.c_size_t * 3)(*self.output_padding)
        i = lib.lf_conv3d_transpose(h, ii[0], self.filters, kd, kh, kw, sd, sh, sw, _pad_id(self.padding), op,
                                    lib.lf_activation_parse(self.activation.encode()), int(self.use_bias), name)
        return _set_penalties(lib, h, i, self)


_POOL3_ARGS = (ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
               ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p)
_lib._proto("lf_max_pooling3d", *_POOL3_ARGS)
_lib._proto("lf_average_pooling3d", *_POOL3_ARGS)


class _Pool3D(Layer):
    builder = None

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None):
        super().__init__(name)
        kind = type(self).__name__
        self.pool_size = _triple(pool_size, "pool_size", kind)
        self.strides = self.pool_size if strides is None else _triple(strides, "strides", kind)
        self.padding = _padding(padding, kind)
        self.data_format = _channels_last(data_format, kind)

    def _call(self, x):
        x = _video(self, x)
        D, H, W, C = x.sample_shape
        out = tuple(_out_size(n, k, s, self.padding) for n, k, s in zip((D, H, W), self.pool_size, self.strides))
        if min(out) < 1:
            raise ValueError("%s: input of shape %s is smaller than the pool %r with padding 'valid'"
                             % (type(self).__name__, _shape_str(x.sample_shape), self.pool_size))
        return KerasTensor(self, [x], out + (C,))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["pool_size"]), tuple(spec["strides"]), spec["padding"], name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], *self.pool_size, *self.strides, _pad_id(self.padding), name)


class MaxPooling3D(_Pool3D):
    """MaxPooling3D(pool_size=(2, 2, 2), strides=None (= pool_size), padding='valid')."""
    prefix = "max_pooling3d"
    builder = "lf_max_pooling3d"


class AveragePooling3D(_Pool3D):
    """AveragePooling3D(pool_size=(2, 2, 2), strides=None (= pool_size),
    padding='valid'); with 'same' the mean is over the real voxels."""
    prefix = "average_pooling3d"
    builder = "lf_average_pooling3d"


class _WrappedLayers:
    """The layers a model file's TimeDistributed wraps when they are several
    (the file keeps no nested model): callable on a steps tensor again."""

    def __init__(self, layers):
        self.layers = list(layers)

    def _call_symbolic(self, xs):  # pragma: no cover - a loaded model's TimeDistributed is not called again
        raise ValueError("TimeDistributed: a wrapper of several layers read from a model file cannot be called "
                         "again")

    def __call__(self, x):
        return self._call_symbolic([x])


_NOT_HERE = {
    "Lambda": "a Lambda runs Python code inside the graph, and the graph runs in C: compute it on the arrays "
              "before fit / predict, or use a built-in layer (Activation, Rescaling, Reshape, the merging layers)",
    "Hashing": "hash the values before the model (StringLookup / IntegerLookup map them)",
}


def __getattr__(name):
    if name in _NOT_HERE:
        msg = "latefuse.layers has no %s (Keras' keras.layers.%s): %s" % (name, name, _NOT_HERE[name])
        # `from latefuse.layers import Lambda` (the port by changing the
        # import) turns an AttributeError into a bare "cannot import name":
        # there the reason goes as the ImportError itself
        caller = sys._getframe(1)
        if caller.f_lasti >= 0 and caller.f_code.co_code[caller.f_lasti] == _IMPORT_FROM:
            raise ImportError(msg, name=__name__)
        raise AttributeError(msg)
    raise AttributeError("module 'latefuse.layers' has no attribute %r" % (name,))


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


# ---------------------------------------------------------------------------
# Keras 3's activation layer classes (keras/src/layers/activations/*.py;
# src/layers/activation_layers.c)
# ---------------------------------------------------------------------------

__all__ += ["ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax"]

_lib._proto("lf_relu_layer", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)
_lib._proto("lf_leaky_relu", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_elu_layer", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_prelu", ctypes.c_int, _lib._P, ctypes.c_int, _lib.c_int_p, ctypes.c_size_t, ctypes.c_char_p)
_lib._proto("lf_softmax_layer", ctypes.c_int, _lib._P, ctypes.c_int, _lib.c_int_p, ctypes.c_size_t,
            ctypes.c_char_p)


def _number(v):
    return not isinstance(v, bool) and isinstance(v, numbers.Real)


def _axes_list(v, what, layer):
    """an int or a list / tuple of ints, as a list (Keras' axis /
    shared_axes); their range is the C builder's to check"""
    axes = list(v) if isinstance(v, (list, tuple)) else [v]
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
        raise ValueError("%s: %s must be an integer or a list of integers, got %r" % (layer, what, v))
    return [int(a) for a in axes]


class _Pointwise(Layer):
    """a layer that maps x to the same shape"""

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)


class ReLU(_Pointwise):
    """ReLU(max_value=None, negative_slope=0.0, threshold=0.0): Keras'
    layer: max_value from max_value on, x for threshold < x < max_value,
    negative_slope * (x - threshold) at or below threshold; the three >= 0."""

    prefix = "re_lu"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None):
        super().__init__(name)
        # keras/src/layers/activations/relu.py's checks and messages
        if max_value is not None and (not _number(max_value) or not max_value >= 0.0):
            raise ValueError("max_value of a ReLU layer cannot be a negative value. Received: max_value=%s"
                             % (max_value,))
        if negative_slope is None or not _number(negative_slope) or not 0.0 <= negative_slope < math.inf:
            raise ValueError("negative_slope of a ReLU layer cannot be a negative value. Received: "
                             "negative_slope=%s" % (negative_slope,))
        if threshold is None or not _number(threshold) or not 0.0 <= threshold < math.inf:
            raise ValueError("threshold of a ReLU layer cannot be a negative value. Received: threshold=%s"
                             % (threshold,))
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("max_value"), spec.get("negative_slope", 0.0), spec.get("threshold", 0.0),
                   name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        top = math.inf if self.max_value is None else self.max_value
        return lib.lf_relu_layer(h, ii[0], top, self.negative_slope, self.threshold, name)


class LeakyReLU(_Pointwise):
    """LeakyReLU(negative_slope=0.3): x for x >= 0, negative_slope * x
    below (Keras 3's deprecated `alpha` is taken for it, with its warning)."""

    prefix = "leaky_re_lu"

    def __init__(self, negative_slope=0.3, name=None, **kwargs):
        if "alpha" in kwargs:
            import warnings
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        if kwargs:
            raise ValueError("LeakyReLU: unsupported arguments %s" % ", ".join(sorted(kwargs)))
        super().__init__(name)
        if negative_slope is None or not _number(negative_slope) or not 0.0 <= negative_slope < math.inf:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             "Expected a float. Received: negative_slope=%s" % (negative_slope,))
        self.negative_slope = float(negative_slope)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("negative_slope", 0.3), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_leaky_relu(h, ii[0], self.negative_slope, name)


class ELU(_Pointwise):
    """ELU(alpha=1.0): x for x > 0, alpha * (exp(x) - 1) otherwise."""

    prefix = "elu"

    def __init__(self, alpha=1.0, name=None):
        super().__init__(name)
        if not _number(alpha) or not math.isfinite(alpha):
            raise ValueError("ELU: alpha must be a finite number, got %r" % (alpha,))
        self.alpha = float(alpha)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("alpha", 1.0), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_elu_layer(h, ii[0], self.alpha, name)


class PReLU(_Pointwise):
    """PReLU(alpha_initializer="Zeros", alpha_regularizer=None,
    alpha_constraint=None, shared_axes=None): x for x > 0, alpha * x
    otherwise, alpha a trainable weight shaped as the input without its
    batch axis, each shared axis (1 the first after the batch) 1.  Regularizer
    and constraint: None only."""

    prefix = "p_re_lu"

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 name=None):
        super().__init__(name)
        self.alpha_initializer = _init.get(alpha_initializer, "PReLU: alpha_initializer")
        for what, v in (("alpha_regularizer", alpha_regularizer), ("alpha_constraint", alpha_constraint)):
            if v is not None:
                raise ValueError("PReLU: %s is not supported (only None), got %r" % (what, v))
        self.alpha_regularizer = self.alpha_constraint = None
        self.shared_axes = None if shared_axes is None else _axes_list(shared_axes, "shared_axes", "PReLU")

    def _call(self, x):
        y = super()._call(x)
        shape = list(y.sample_shape)
        for a in self.shared_axes or []:
            if 1 <= a <= len(shape):  # others: the builder's error
                shape[a - 1] = 1
        self._alpha_shape = tuple(shape)
        return y

    def _weight_shapes(self):
        return [self._alpha_shape]

    def _initializers(self):
        return [] if self.alpha_initializer == "zeros" else [(0, self.alpha_initializer)]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(shared_axes=spec.get("shared_axes"), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        axes = self.shared_axes or []
        return lib.lf_prelu(h, ii[0], (ctypes.c_int * max(1, len(axes)))(*axes), len(axes), name)


class Softmax(_Pointwise):
    """Softmax(axis=-1): exp(x - max) / sum(exp(x - max)) over the axis, or
    jointly over a list of axes (1 the first after the batch, negative from
    the end).  An input carrying a padding mask (Embedding(mask_zero=True),
    Masking) is refused: Keras adds that mask to the values."""

    prefix = "softmax"

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        _axes_list(axis, "axis", "Softmax")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("axis", -1), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        axes = _axes_list(self.axis, "axis", "Softmax")
        return lib.lf_softmax_layer(h, ii[0], (ctypes.c_int * len(axes))(*axes), len(axes), name)


# --- the 3-D decoder layers (src/layers/spatial3d.c) and Identity (identity.c)

__all__ += ["UpSampling3D", "ZeroPadding3D", "Cropping3D", "Identity"]

_lib._proto("lf_upsampling3d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_char_p)
_EDGE3_ARGS = (ctypes.c_int, _lib._P, ctypes.c_int) + (ctypes.c_size_t,) * 6 + (ctypes.c_char_p,)
_lib._proto("lf_zero_padding3d", *_EDGE3_ARGS)
_lib._proto("lf_cropping3d", *_EDGE3_ARGS)
_lib._proto("lf_identity", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_char_p)


def _keras_tuple_of(value, n, name, least):
    """Keras' argument_validation.standardize_tuple (keras/src/utils/
    argument_validation.py): an int, or n ints, each >= least, with its
    messages"""
    msg = "The `%s` argument must be a tuple of %d integers. Received %s=%s" % (name, n, name, value)
    if _integer(value):
        t = (int(value),) * n
    else:
        try:
            t = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(t) != n:
            raise ValueError(msg)
        for v in t:
            if not _integer(v):
                raise ValueError(msg + "including element %s of type %s" % (v, type(v)))
        t = tuple(int(v) for v in t)
    bad = {v for v in t if v < least}
    if bad:
        raise ValueError(msg + ", including values %s that do not satisfy `value %s`"
                         % (bad, "> 0" if least > 0 else ">= 0"))
    return t


def _edges3(v, key):
    """Keras' ZeroPadding3D padding / Cropping3D cropping: an int, 3 ints
    (symmetric) or 3 pairs -> ((d0, d1), (h0, h1), (w0, w1))
    (zero_padding3d.py, cropping3d.py __init__, their messages)"""
    if _integer(v):
        if v < 0:  # Keras' Cropping3D message (its ZeroPadding3D leaves a negative int to ops.pad)
            raise ValueError("`%s` cannot be negative. Received: %s=%s." % (key, key, v))
        return ((int(v),) * 2,) * 3
    if hasattr(v, "__len__") and not isinstance(v, (str, bytes, dict)):
        if len(v) != 3:
            raise ValueError("`%s` should have 3 elements. Received: %s." % (key, v))
        return tuple(_keras_tuple_of(e, 2, "%s entry of %s" % (nth, key), 0)
                     for e, nth in zip(v, ("1st", "2nd", "3rd")))
    what = "crop" if key == "cropping" else "pad"
    raise ValueError("`%s` should be either an int, a tuple of 3 ints (symmetric_dim1_%s, symmetric_dim2_%s, "
                     "symmetric_dim3_%s), or a tuple of 3 tuples of 2 ints ((left_dim1_%s, right_dim1_%s), "
                     "(left_dim2_%s, right_dim2_%s), (left_dim3_%s, right_dim2_%s)). Received: %s=%r."
                     % ((key,) + (what,) * 9 + (key, v)))


class UpSampling3D(Layer):
    """UpSampling3D(size=(2, 2, 2), data_format=None): (batch, D, H, W, C)
    -> (batch, D sd, H sh, W sw, C), each frame, row and column repeated
    (keras/src/layers/reshaping/up_sampling3d.py; nearest, as Keras)."""

    prefix = "up_sampling3d"

    def __init__(self, size=(2, 2, 2), data_format=None, name=None):
        super().__init__(name)
        self.data_format = _channels_last(data_format, "UpSampling3D")
        self.size = _keras_tuple_of(size, 3, "size", 1)

    def _call(self, x):
        x = _video(self, x)
        D, H, W, C = x.sample_shape
        return KerasTensor(self, [x], (D * self.size[0], H * self.size[1], W * self.size[2], C))

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec["size"]), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_upsampling3d(h, ii[0], *self.size, name)


class _Edges3D(_Edges2D):
    """_Edges2D with three pairs of sides: its config, loader and builder
    call serve both"""

    def __init__(self, arg, data_format=None, name=None):
        Layer.__init__(self, name)
        self.data_format = _channels_last(data_format, type(self).__name__)
        setattr(self, self.key, _edges3(arg, self.key))


class ZeroPadding3D(_Edges3D):
    """ZeroPadding3D(padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    zeros around the volume (keras/src/layers/reshaping/zero_padding3d.py);
    padding an int, 3 ints or ((d0, d1), (h0, h1), (w0, w1))."""

    prefix = "zero_padding3d"
    key = "padding"
    builder = "lf_zero_padding3d"

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, name=None):
        super().__init__(padding, data_format, name)

    def _call(self, x):
        x = _video(self, x)
        out = tuple(n + a + b for n, (a, b) in zip(x.sample_shape[:3], self.padding))
        return KerasTensor(self, [x], out + (x.sample_shape[3],))


class Cropping3D(_Edges3D):
    """Cropping3D(cropping=((1, 1), (1, 1), (1, 1)), data_format=None):
    x[:, d0:D - d1, h0:H - h1, w0:W - w1, :] (keras/src/layers/reshaping/
    cropping3d.py), Keras' error when nothing would be left on an axis."""

    prefix = "cropping3d"
    key = "cropping"
    builder = "lf_cropping3d"

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, name=None):
        super().__init__(cropping, data_format, name)

    def _call(self, x):
        x = _video(self, x)
        out = tuple(n - a - b for n, (a, b) in zip(x.sample_shape[:3], self.cropping))
        if min(out) <= 0:
            raise ValueError("Values in `cropping` argument should be smaller than the corresponding spatial "
                             "dimension of the input. Received: input_shape=%s, cropping=%r"
                             % (_shape_str(x.sample_shape), self.cropping))
        return KerasTensor(self, [x], out + (x.sample_shape[3],))


class Identity(Layer):
    """Identity(): y = x, any shape (keras/src/layers/core/identity.py); it
    keeps a padding mask, as Keras' (supports_masking)."""

    prefix = "identity"

    def __init__(self, name=None):
        super().__init__(name)

    def _call(self, x):
        x = _one(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_identity(h, ii[0], name)


# ---------------------------------------------------------------------------
# RandomCrop, SpatialDropout3D, RMSNormalization (Keras 3; src/layers/
# random_crop.c, noise.c, layernorm.c)
# ---------------------------------------------------------------------------

__all__ += ["RandomCrop", "SpatialDropout3D", "RMSNormalization"]

_lib._proto("lf_random_crop", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_char_p)
_lib._proto("lf_spatial_dropout3d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_rms_normalization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)


class RandomCrop(_ImageTarget):
    """RandomCrop(height, width, seed=None, data_format=None): Keras 3's
    augmentation layer (keras/src/layers/preprocessing/image_preprocessing/
    random_crop.py), (batch, H, W, C) -> (batch, height, width, C).  In
    training, when H > height and W > width, one random (height, width)
    window for the whole batch (Keras' rule), drawn from the model's seed;
    otherwise Keras' fallback (a slice from the centred aspect-ratio window,
    resized bilinearly when smaller).  In evaluate, predict and an eager
    call: Resizing(height, width, crop_to_aspect_ratio=True), the docstring's
    inference (Keras 3's code returns the input unchanged there; see
    lf_random_crop in include/latefuse.h).  `seed` is kept for get_config
    but does not choose the draws.  Gradients flow to the input."""

    prefix = "random_crop"
    builder = "lf_random_crop"

    def __init__(self, height, width, seed=None, data_format=None, name=None):
        super().__init__(name)
        self._set_target(height, width, data_format)
        self.seed = seed


class SpatialDropout3D(_Noise):
    """SpatialDropout3D(rate, data_format=None, seed=None): whole channels of
    (batch, depth, height, width, channels) (noise shape (batch, 1, 1, 1,
    channels)) dropped while training, the kept scaled by 1 / (1 - rate);
    channels_last only."""
    prefix, builder, rank = "spatial_dropout3d", "lf_spatial_dropout3d", 4

    def __init__(self, rate, data_format=None, seed=None, name=None):
        super().__init__(rate, seed=seed, name=name)
        if data_format not in (None, "channels_last"):
            raise ValueError("SpatialDropout3D: data_format must be 'channels_last' (volumes are (depth, height, "
                             "width, channels)), got %r" % (data_format,))
        self.data_format = "channels_last"

    def _call(self, x):
        x = _one(self, x)
        if len(x.sample_shape) != 4:
            raise ValueError("SpatialDropout3D: input of shape %s must be (batch, depth, height, width, channels)"
                             % _shape_str(x.sample_shape))
        return KerasTensor(self, [x], x.sample_shape)


class RMSNormalization(Layer):
    """RMSNormalization(axis=-1, epsilon=1e-6): Keras 3.9's layer
    (keras/src/layers/normalization/rms_normalization.py): y = x /
    sqrt(mean(x^2) + epsilon) * scale over the last axis; one weight
    "scale" (ones).  Keras' other axes are not available."""

    prefix = "rms_normalization"

    def __init__(self, axis=-1, epsilon=1e-6, name=None):
        super().__init__(name)
        self.axis = _last_axis(self, axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (
                math.isfinite(epsilon) and epsilon >= 0):
            raise ValueError("RMSNormalization: epsilon must be finite and >= 0, got %r" % (epsilon,))
        self.epsilon = float(epsilon)

    def _call(self, x):
        x = _one(self, x)
        _check_last_axis(self, self.axis, x)
        self._features = x.sample_shape[-1]
        return KerasTensor(self, [x], x.sample_shape)

    def _weight_shapes(self):
        return [(self._features,)]

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(-1, spec.get("epsilon", 1e-6), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_rms_normalization(h, ii[0], self.epsilon, name)


__all__ += ["ConvLSTM2D", "ConvLSTM1D", "ConvLSTM3D"]


class _ConvLSTMOptions(ctypes.Structure):  # lf_conv_lstm_options
    _fields_ = [("strides", ctypes.c_size_t * 3), ("dilation_rate", ctypes.c_size_t * 3), ("padding", ctypes.c_int),
                ("use_bias", ctypes.c_int), ("unit_forget_bias", ctypes.c_int), ("return_sequences", ctypes.c_int),
                ("go_backwards", ctypes.c_int)]


_lib._proto("lf_conv_lstm2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.POINTER(_ConvLSTMOptions), ctypes.c_char_p)
_lib._proto("lf_conv_lstm1d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.POINTER(_ConvLSTMOptions), ctypes.c_char_p)
_lib._proto("lf_conv_lstm3d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.POINTER(_ConvLSTMOptions), ctypes.c_char_p)

_CONV_LSTM_REGS = ("kernel_regularizer", "bias_regularizer", "recurrent_regularizer", "activity_regularizer")


class _ConvLSTM(Layer):
    """What ConvLSTM2D, ConvLSTM1D and ConvLSTM3D share (keras/src/layers/rnn/
    conv_lstm.py): Keras' arguments, those not available refused by name,
    the shapes; the C builder runs the cell (src/layers/conv_lstm.c)."""

    _rank = 2
    _fixed_input = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, name=None, **kwargs):
        super().__init__(name)
        kn, r = type(self).__name__, self._rank
        if kwargs:
            raise ValueError("%s: unsupported arguments %s" % (kn, ", ".join(sorted(kwargs))))
        self.filters = _positive(filters, "filters", kn)
        ints = _pair if r == 2 else _triple if r == 3 else (lambda v, what, layer: _one_tuple(v, what, layer))
        self.kernel_size = ints(kernel_size, "kernel_size", kn)
        self.strides = ints(strides, "strides", kn)
        self.dilation_rate = ints(dilation_rate, "dilation_rate", kn)
        self.padding = _padding(padding, kn)
        self.data_format = _channels_last(data_format, kn)
        _no_dilated_strides(self.strides, self.dilation_rate, kn)
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError("%s: only activation='tanh' and recurrent_activation='sigmoid' are available, got %r "
                             "and %r" % (kn, activation, recurrent_activation))
        if (_init.get(kernel_initializer) != "glorot_uniform" or recurrent_initializer != "orthogonal"
                or _init.get(bias_initializer) != "zeros"):
            raise ValueError("%s: only kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal' and "
                             "bias_initializer='zeros' are available" % kn)
        if dropout or recurrent_dropout:
            raise ValueError("%s: dropout and recurrent_dropout are not available (only 0), got %r and %r"
                             % (kn, dropout, recurrent_dropout))
        for flag, v in (("return_state", return_state), ("stateful", stateful)):
            if v:
                raise ValueError("%s: %s=True is not available" % (kn, flag))
        _take_constraints(self, kn, kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint)
        self.kernel_regularizer, self.l2 = _l2_of(kernel_regularizer, "%s: kernel_regularizer" % kn)
        self.bias_regularizer, self.bias_l2 = _l2_of(bias_regularizer, "%s: bias_regularizer" % kn)
        for arg, v in (("recurrent_regularizer", recurrent_regularizer), ("activity_regularizer",
                                                                           activity_regularizer)):
            setattr(self, arg, _reg_of(v, "%s: %s" % (kn, arg)))
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.kernel_initializer, self.recurrent_initializer = "glorot_uniform", "orthogonal"
        self.bias_initializer = "zeros"
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.dropout = self.recurrent_dropout = 0.0
        self.seed = seed
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.return_state = self.stateful = False

    def _initializers(self):
        return []  # the C builder draws Keras' defaults (orthogonal recurrent kernel included)

    def _call(self, x):
        kn, r = type(self).__name__, self._rank
        x = _one(self, x)
        if len(x.sample_shape) != r + 2:
            raise ValueError("%s: input of shape %s must be %s" % (
                kn, _shape_str(x.sample_shape),
                "(batch, time, rows, cols, channels)" if r == 2 else
                "(batch, time, depth, rows, cols, channels)" if r == 3 else "(batch, time, steps, channels)"))
        T, sp, C = x.sample_shape[0], x.sample_shape[1:-1], x.sample_shape[-1]
        out = tuple(_out_size(n, k, s, self.padding, d)
                    for n, k, s, d in zip(sp, self.kernel_size, self.strides, self.dilation_rate))
        if min(out) < 1:
            raise ValueError("%s: input of shape %s is smaller than the kernel %r with padding 'valid'"
                             % (kn, _shape_str(x.sample_shape), self.kernel_size))
        self._in_channels = C
        return KerasTensor(self, [x], ((T,) if self.return_sequences else ()) + out + (self.filters,))

    def _weight_shapes(self):
        G = 4 * self.filters
        shapes = [self.kernel_size + (self._in_channels, G), self.kernel_size + (self.filters, G)]
        return shapes + [(G,)] if self.use_bias else shapes

    @classmethod
    def _load(cls, spec, ins, tensors):
        one = (1,) * cls._rank
        return cls(int(spec["filters"]), tuple(spec["kernel_size"]), strides=tuple(spec.get("strides", one)),
                   padding=spec.get("padding", "valid"), dilation_rate=tuple(spec.get("dilation_rate", one)),
                   use_bias=spec.get("use_bias", True), unit_forget_bias=spec.get("unit_forget_bias", True),
                   return_sequences=spec.get("return_sequences", False), go_backwards=spec.get("go_backwards", False),
                   name=spec["name"], **_penalties_of(spec, _CONV_LSTM_REGS),
                   **_constraints_of(spec, ("kernel_constraint", "recurrent_constraint", "bias_constraint")))(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        o = _ConvLSTMOptions()
        for a in range(self._rank):
            o.strides[a], o.dilation_rate[a] = self.strides[a], self.dilation_rate[a]
        for a in range(self._rank, 3):
            o.strides[a] = o.dilation_rate[a] = 1
        o.padding, o.use_bias, o.unit_forget_bias = _pad_id(self.padding), int(self.use_bias), int(self.unit_forget_bias)
        o.return_sequences, o.go_backwards = int(self.return_sequences), int(self.go_backwards)
        if self._rank == 3:
            i = lib.lf_conv_lstm3d(h, ii[0], self.filters, self.kernel_size[0], self.kernel_size[1],
                                   self.kernel_size[2], ctypes.byref(o), name)
        elif self._rank == 2:
            i = lib.lf_conv_lstm2d(h, ii[0], self.filters, self.kernel_size[0], self.kernel_size[1], ctypes.byref(o),
                                   name)
        else:
            i = lib.lf_conv_lstm1d(h, ii[0], self.filters, self.kernel_size[0], ctypes.byref(o), name)
        return _set_penalties(lib, h, i, self)


def _one_tuple(v, what, layer):
    out = _ints_of(v, 1, 1)
    if out is None:
        raise ValueError("%s: %s must be a positive integer or a tuple of one, got %r" % (layer, what, v))
    return out


class ConvLSTM2D(_ConvLSTM):
    """ConvLSTM2D(filters, kernel_size, strides=1, padding='valid',
    data_format=None, dilation_rate=1, activation='tanh',
    recurrent_activation='sigmoid', use_bias=True, unit_forget_bias=True,
    kernel/recurrent/bias regularizer and constraint, activity_regularizer,
    return_sequences=False, go_backwards=False), Keras 3's layer
    (keras/src/layers/rnn/conv_lstm2d.py) over videos (batch, time, rows,
    cols, channels): an LSTM whose input and recurrent products are
    convolutions (the input's with strides / padding / dilation_rate, the
    state's stride 1 'same'); output (batch, time, rows', cols', filters)
    with return_sequences (in the order the steps ran), else the last
    step's.  Weights kernel (kh, kw, channels, 4 filters), recurrent_kernel
    (kh, kw, filters, 4 filters), bias (4 filters), gate blocks i, f, c, o.
    Not available: dropout, recurrent_dropout, return_state, stateful,
    other activations or initializers, channels_first, a padding mask."""

    prefix = "conv_lstm2d"
    _rank = 2


class ConvLSTM1D(_ConvLSTM):
    """ConvLSTM1D(filters, kernel_size, ...): ConvLSTM2D's cell over
    (batch, time, steps, channels) with 1-D convolutions (keras/src/layers/
    rnn/conv_lstm1d.py); kernel (k, channels, 4 filters), recurrent_kernel
    (k, filters, 4 filters); the same arguments and exclusions."""

    prefix = "conv_lstm1d"
    _rank = 1


class ConvLSTM3D(_ConvLSTM):
    """ConvLSTM3D(filters, kernel_size, ...): ConvLSTM2D's cell over
    sequences of volumes (batch, time, depth, rows, cols, channels) with
    3-D convolutions (keras/src/layers/rnn/conv_lstm3d.py); kernel_size,
    strides and dilation_rate an int or 3 ints; kernel (kd, kh, kw,
    channels, 4 filters), recurrent_kernel (kd, kh, kw, filters,
    4 filters); the same arguments and exclusions."""

    prefix = "conv_lstm3d"
    _rank = 3


# ---------------------------------------------------------------------------
# RandomGrayscale, RandomInvert, Solarization, AutoContrast (Keras 3;
# src/layers/color_ops.c)
# ---------------------------------------------------------------------------

__all__ += ["RandomGrayscale", "RandomInvert", "Solarization", "AutoContrast"]

_lib._proto("lf_random_grayscale", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_random_invert", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_float,
            ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_solarization", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_float,
            ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_char_p)
_lib._proto("lf_auto_contrast", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.c_char_p)


def _sorted_range(cls, value_range):
    """Keras' _set_value_range (solarization.py, auto_contrast.py): sorted;
    equal ends are refused here (Keras' NaN / identity)"""
    vr = sorted(_value_range(cls, value_range))
    if not vr[0] < vr[1]:
        raise ValueError("%s: value_range must be two different numbers, got %r" % (cls, value_range))
    return vr


def _unit_factor(cls, arg, factor):
    """Solarization's _set_factor: a number f in [0, 1] is (0, f), a pair of
    numbers in [0, 1] is sorted"""
    msg = "%s: %s must be a number (or a list of two numbers) in the range [0, 1], got %r" % (cls, arg, factor)
    vals = list(factor) if isinstance(factor, (tuple, list)) else [factor]
    if len(vals) not in (1, 2) or (isinstance(factor, (tuple, list)) and len(vals) != 2) \
            or not all(_finite_number(v) and 0 <= v <= 1 for v in vals):
        raise ValueError(msg)
    return (0.0, float(vals[0])) if len(vals) == 1 else tuple(sorted(float(v) for v in vals))


class _ColorOp(Layer):
    """the shape of the four: an image (batch, H, W, C) to its own shape"""

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)


class RandomGrayscale(_ColorOp):
    """RandomGrayscale(factor=0.5, data_format=None, seed=None): Keras 3's
    train-only layer (keras/src/layers/preprocessing/image_preprocessing/
    random_grayscale.py; the identity in evaluate, predict and an eager
    call): each image drawing u < factor becomes 0.2989 r + 0.5870 g +
    0.1140 b in each of its 3 channels (Keras' rgb_to_grayscale); images of
    1 channel are kept, other channel counts refused.  The draws come from
    the model's seed; `seed` is kept for get_config only."""

    prefix = "random_grayscale"

    def __init__(self, factor=0.5, data_format=None, seed=None, name=None):
        super().__init__(name)
        if not _finite_number(factor) or not 0 <= factor <= 1:
            raise ValueError("RandomGrayscale: `factor` should be between 0 and 1, got %r" % (factor,))
        self.factor, self.seed = float(factor), seed
        self.data_format = _channels_last(data_format, "RandomGrayscale")

    def _call(self, x):
        y = super()._call(x)
        if y.sample_shape[2] not in (1, 3):
            raise ValueError("RandomGrayscale: images need 3 channels (RGB) or 1 (grayscale), got %d"
                             % y.sample_shape[2])
        return y

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("factor", 0.5), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_grayscale(h, ii[0], self.factor, name)


class RandomInvert(_ColorOp):
    """RandomInvert(factor=1.0, value_range=(0, 255), seed=None,
    data_format=None): Keras 3's train-only layer (random_invert.py; the
    identity in evaluate, predict and an eager call).  factor as Keras'
    _set_factor with bounds (0, 1) (a number f is (0, f), a pair with
    factor[0] <= 1 and factor[1] >= 0 sorted); each image draws p uniform in
    that range and t uniform in [0, 1) and, when t < p, becomes
    value_range[1] - x (Keras' formula; value_range kept as given).  The
    draws come from the model's seed; `seed` is kept for get_config only."""

    prefix = "random_invert"

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, name=None):
        super().__init__(name)
        self.factor = _color_factor("RandomInvert", factor, (0, 1))
        self._vr = _value_range("RandomInvert", value_range)
        self.value_range, self.seed = value_range, seed
        self.data_format = _channels_last(data_format, "RandomInvert")

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("factor", (0.0, 1.0)), value_range=spec.get("value_range", (0, 255)),
                   name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_random_invert(h, ii[0], self.factor[0], self.factor[1], self._vr[0], self._vr[1], name)


class Solarization(_ColorOp):
    """Solarization(addition_factor=0.0, threshold_factor=0.0,
    value_range=(0, 255), seed=None): Keras 3's train-only layer
    (solarization.py; the identity in evaluate, predict and an eager call).
    Each factor a number f in [0, 1] ((0, f)) or a pair in [0, 1], sorted;
    value_range sorted.  Each image draws addition = uniform(a0, 255 a1)
    and threshold = uniform(t0, 255 t1) (Keras' bounds), its values go to
    (0, 255), r = clip(z + addition, 0, 255), r where r < threshold else
    255 - r, and back to value_range.  The gradient is the piecewise one.
    The draws come from the model's seed; `seed` is kept for get_config."""

    prefix = "solarization"

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, data_format=None,
                 name=None):
        super().__init__(name)
        self.addition_factor = _unit_factor("Solarization", "addition_factor", addition_factor)
        self.threshold_factor = _unit_factor("Solarization", "threshold_factor", threshold_factor)
        self.value_range, self.seed = _sorted_range("Solarization", value_range), seed
        self.data_format = _channels_last(data_format, "Solarization")

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(tuple(spec.get("addition_factor", (0.0, 0.0))), tuple(spec.get("threshold_factor", (0.0, 0.0))),
                   value_range=spec.get("value_range", (0, 255)), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        a, th, vr = self.addition_factor, self.threshold_factor, self.value_range
        return lib.lf_solarization(h, ii[0], a[0], a[1], th[0], th[1], vr[0], vr[1], name)


class AutoContrast(_ColorOp):
    """AutoContrast(value_range=(0, 255)): Keras 3's layer (auto_contrast.py),
    active in training and inference alike, as Keras: per image and
    channel the values stretched from their (min, max) to value_range
    (sorted), through (0, 255) as Keras computes it; a constant channel
    keeps its values (Keras' NaN guard).  Gradients flow through the min
    and max too."""

    prefix = "auto_contrast"

    def __init__(self, value_range=(0, 255), data_format=None, name=None):
        super().__init__(name)
        self.value_range = _sorted_range("AutoContrast", value_range)
        self.data_format = _channels_last(data_format, "AutoContrast")

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(value_range=spec.get("value_range", (0, 255)), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return lib.lf_auto_contrast(h, ii[0], self.value_range[0], self.value_range[1], name)


# ---------------------------------------------------------------------------
# RandomSaturation, RandomHue, RandomColorDegeneration (Keras 3;
# src/layers/hsv.c)
# ---------------------------------------------------------------------------

__all__ += ["RandomSaturation", "RandomHue", "RandomColorDegeneration"]

for _f in ("lf_random_saturation", "lf_random_hue", "lf_random_color_degeneration"):
    _lib._proto(_f, ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_float,
                ctypes.c_float, ctypes.c_char_p)


class _HsvLayer(Layer):
    """What the three share: Keras' _set_factor over the class's bounds,
    value_range (sorted unless the class keeps it), channels_last, the
    draws from the model's seed (seed is kept for get_config only, as
    RandomCrop's)."""
    bounds, builder, sort_range = (-1, 1), None, True

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, name=None):
        super().__init__(name)
        cls = type(self).__name__
        self.factor = _color_factor(cls, factor, self.bounds)
        vr = _value_range(cls, value_range)
        self.value_range = sorted(vr) if self.sort_range else vr
        self.data_format = _channels_last(data_format, cls)
        self.seed = seed

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec["factor"], value_range=spec.get("value_range", (0, 255)), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        return getattr(lib, self.builder)(h, ii[0], self.factor[0], self.factor[1], self.value_range[0],
                                          self.value_range[1], name)


class RandomSaturation(_HsvLayer):
    """RandomSaturation(factor, value_range=(0, 255), data_format=None,
    seed=None): Keras 3's train-only saturation change of RGB images (the
    identity in evaluate and predict).  Each image draws f uniform in
    (lower, upper) = self.factor (a number f in [-1, 1] is (-|f|, |f|), a
    pair sorted: Keras' _set_factor), k = f / (1 - f + 1e-7), and each
    pixel's HSV saturation becomes clip(S k, *value_range): f = 0.5 keeps
    the image, 0 makes it grey, 1 fully saturated."""
    prefix, builder = "random_saturation", "lf_random_saturation"


class RandomHue(_HsvLayer):
    """RandomHue(factor, value_range=(0, 255), data_format=None, seed=None):
    Keras 3's train-only hue shift of RGB images (the identity in evaluate
    and predict).  Each image draws a sign and f uniform in (lower, upper) =
    self.factor (a number f in [0, 1] is (0, f)); its pixels, taken from
    value_range (kept as given, as Keras) to [0, 1], have their hue moved by
    +-f / 2 (wrapped), are clipped to [0, 1] and taken back."""
    prefix, builder, bounds, sort_range = "random_hue", "lf_random_hue", (0, 1), False


class RandomColorDegeneration(_HsvLayer):
    """RandomColorDegeneration(factor, value_range=(0, 255), data_format=None,
    seed=None): Keras 3's train-only blend with the grey image (the identity
    in evaluate and predict): x + f (gray - x) clipped to value_range, f
    uniform in (lower, upper) = self.factor (a number f in [-1, 1] is
    (-|f|, |f|)), gray = 0.2989 r + 0.5870 g + 0.1140 b (the image itself
    for one channel)."""
    prefix, builder = "random_color_degeneration", "lf_random_color_degeneration"


__all__ += ["RandomColorJitter"]

_lib._proto("lf_random_color_jitter", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_float, ctypes.c_float,
            ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float),
            ctypes.POINTER(ctypes.c_float), ctypes.c_char_p)


class RandomColorJitter(Layer):
    """RandomColorJitter(value_range=(0, 255), brightness_factor=None,
    contrast_factor=None, saturation_factor=None, hue_factor=None,
    seed=None, data_format=None): Keras 3's train-only colour jitter (the
    identity in evaluate and predict): RandomBrightness, RandomContrast,
    RandomSaturation and RandomHue with value_range, in that order, each
    with its own draw; a factor None leaves its sub-layer out.  Each factor
    is kept as given (get_config) and resolved by its sub-layer's
    _set_factor (brightness and saturation bounds [-1, 1], contrast and
    hue [0, 1])."""

    prefix = "random_color_jitter"
    _subs = (("brightness_factor", "RandomBrightness", (-1, 1)), ("contrast_factor", "RandomContrast", (0, 1)),
             ("saturation_factor", "RandomSaturation", (-1, 1)), ("hue_factor", "RandomHue", (0, 1)))

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, name=None):
        super().__init__(name)
        self._vr = _value_range("RandomColorJitter", value_range)
        self.value_range = list(value_range)
        given = (brightness_factor, contrast_factor, saturation_factor, hue_factor)
        self._ranges = []
        for (key, sub, bounds), f in zip(self._subs, given):
            setattr(self, key, list(f) if isinstance(f, tuple) else f)
            self._ranges.append(None if f is None else _color_factor("RandomColorJitter: %s (%s)" % (key, sub),
                                                                     f, bounds))
        self.data_format = _channels_last(data_format, "RandomColorJitter")
        self.seed = seed

    def _call(self, x):
        x = _image(self, x)
        return KerasTensor(self, [x], x.sample_shape)

    @classmethod
    def _load(cls, spec, ins, tensors):
        return cls(spec.get("value_range", (0, 255)), *(spec.get(k) for k, _, _ in cls._subs), name=spec["name"])(ins)

    def _build(self, lib, h, t, ids, name):
        ii, _ = _ids(t, ids)
        fs = [None if r is None else (ctypes.c_float * 2)(*r) for r in self._ranges]
        return lib.lf_random_color_jitter(h, ii[0], self._vr[0], self._vr[1], *fs, name)
