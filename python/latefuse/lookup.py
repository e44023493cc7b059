"""
lookup.py — StringLookup and IntegerLookup, Keras 3's lookup layers
(keras/src/layers/preprocessing/index_lookup.py, string_lookup.py,
integer_lookup.py), as preprocessing objects over the C library's
lf_lookup_* (src/text/lookup.c; include/latefuse.h documents the rules).
Exported from latefuse.layers, so Keras code ports by changing the import:

    from latefuse.layers import StringLookup
    lookup = StringLookup()
    lookup.adapt(["a", "c", "d", "d", "c", "d"])
    lookup([["a", "c"], ["d", "z"]])     # array([[3, 2], [1, 0]])

Keras' semantics, each from index_lookup.py:
  - the vocabulary is [mask_token] (only when it is set and output_mode is
    "int"), then num_oov_indices OOV entries, then the tokens
    (_oov_start_index, _token_start_index); vocabulary_size() counts them
    all and get_vocabulary() lists them (the OOV entries as oov_token);
  - adapt() counts every value of the data, drops mask_token and
    oov_token, orders by count, high to low, ties by the token itself,
    high to low (np.lexsort((tokens, counts))[::-1]), and keeps the first
    max_tokens - (reserved entries); adapting on data with no values keeps
    the vocabulary; a layer given vocabulary= is not adapted again;
  - vocabulary= (a list or array) may start with the reserved entries in
    that order, which are then skipped; repeated terms, the mask token
    elsewhere, the OOV token elsewhere with invert=True and more than
    max_tokens entries are refused;
  - a call maps mask_token to 0 in "int" mode (dropped from the other
    modes' counts), a token of the vocabulary to its index, an OOV one to
    the OOV index (num_oov_indices 1), to value mod num_oov_indices plus
    the first OOV index (IntegerLookup, num_oov_indices > 1: Keras'
    "floormod"), or refuses it (num_oov_indices 0);
  - "one_hot", "multi_hot" ("binary") and "count" encode those indices
    over vocabulary_size() (max_tokens with pad_to_max_tokens) as Keras'
    tf_encode_categorical_inputs: a rank-0 input is one sample, "one_hot"
    adds an axis unless the last is 1, and outputs above rank 2 are
    refused;
  - invert=True ("int" only) maps indices back: 0 to mask_token when set,
    token indices to their tokens, anything else to oov_token.
Called on a string or integer Input (Input(shape=(n,), dtype="string") or
an integer dtype) it returns the tensor of its output, a model input of
its own ("int": (None, n) ids; the other modes: (None, vocabulary size),
"one_hot" with n = 1), and a Model with that input keeps the lookup in its
C model (lf_model_attach_lookup): the model file stores vocabulary and
settings, load_model restores them, and fit, evaluate and predict take the
raw strings or ids for that input.  get_config() holds the vocabulary too
(JSON-serialisable) and from_config() restores the layer.
Departures, said once: not available: output_mode "tf_idf" (use
TextVectorization), sparse outputs, a vocabulary file path, StringLookup
with num_oov_indices > 1 (Keras hashes with FarmHash there), oov_method
"farmhash", salt, encodings other than UTF-8, strings holding a NUL
character.  "int" outputs are int64 arrays, the others float32; inverted
StringLookup outputs are str arrays.
"""
import ctypes
import numbers

import numpy as np

from . import _lib
from ._lib import LatefuseError

__all__ = ["StringLookup", "IntegerLookup"]

_MODES = ("int", "one_hot", "multi_hot", "count")

_c = _lib.lib
_P = ctypes.c_void_p
_S = ctypes.c_int
_size = ctypes.c_size_t
_i64p = ctypes.POINTER(ctypes.c_int64)


class _Options(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("max_tokens", _size), ("num_oov_indices", _size),
                ("mask_token", ctypes.c_char_p), ("oov_token", ctypes.c_char_p),
                ("has_int_mask_token", ctypes.c_int), ("int_mask_token", ctypes.c_int64),
                ("has_int_oov_token", ctypes.c_int), ("int_oov_token", ctypes.c_int64),
                ("invert", ctypes.c_int), ("output_mode", ctypes.c_int), ("pad_to_max_tokens", ctypes.c_int)]


def _proto(name, restype, *argtypes):
    fn = getattr(_c, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_proto("lf_lookup_defaults", _Options, ctypes.c_int)
_proto("lf_lookup_create", _S, ctypes.POINTER(_P), ctypes.POINTER(_Options), ctypes.c_char_p, _size)
_proto("lf_lookup_free", None, _P)
_proto("lf_lookup_error", ctypes.c_char_p, _P)
_proto("lf_lookup_get_options", _Options, _P)
_proto("lf_lookup_adapt", _S, _P, _P, _P, _size)
_proto("lf_lookup_set_vocabulary", _S, _P, _P, _P, _size, ctypes.c_int)
_proto("lf_lookup_vocabulary_given", ctypes.c_int, _P)
_proto("lf_lookup_vocabulary_size", _size, _P)
_proto("lf_lookup_token_start", _size, _P)
_proto("lf_lookup_string", ctypes.c_char_p, _P, _size)
_proto("lf_lookup_int", ctypes.c_int, _P, _size, _i64p)
_proto("lf_lookup_output_dim", _size, _P)
_proto("lf_lookup_transform_int", _S, _P, _P, _P, _size, _P)
_proto("lf_lookup_transform", _S, _P, _P, _P, _size, _size, _P)
_proto("lf_lookup_invert", _S, _P, _P, _size, _P, _P, _P)
_proto("lf_lookup_copy", _S, ctypes.POINTER(_P), _P)


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class _IndexLookup:
    """What StringLookup and IntegerLookup share (Keras' IndexLookup): the
    arguments Python alone knows are checked here, the rest by
    lf_lookup_create, and the C object does the work."""

    _string = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                 output_mode, sparse, pad_to_max_tokens, name, has_input_vocabulary=None, **kwargs):
        self._h = None
        cls = type(self).__name__
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        kwargs.pop("vocabulary_size", None)  # Keras' get_config writes it; the vocabulary gives it here
        if kwargs:
            raise ValueError("Unrecognized keyword argument(s): %s" % kwargs)
        # None is 0 in C: 0 and 1 are refused here with the C message's words
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
            raise ValueError("If set, `max_tokens` must be greater than 1. Received: max_tokens=%r" % (max_tokens,))
        if not _is_int(num_oov_indices) or num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. Received: num_oov_indices=%r"
                             % (num_oov_indices,))
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode in ("tf_idf", "tf-idf"):
            raise ValueError("%s: output_mode 'tf_idf' is not supported (TextVectorization has it)" % cls)
        if output_mode not in _MODES:
            raise ValueError("%s: output_mode must be one of 'int', 'one_hot', 'multi_hot', 'count'; received: "
                             "output_mode=%r" % (cls, output_mode))
        if sparse:
            raise ValueError("%s: sparse outputs are not supported" % cls)
        if idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`, which %s does "
                             "not support" % cls)
        for what, v in (("mask_token", mask_token), ("oov_token", oov_token)):
            if v is not None and not self._token_ok(v):
                raise ValueError("%s: %s must be %s or None, got %r" % (cls, what, self._token_kind, v))
        self.name = name
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = self._token(mask_token) if mask_token is not None else None
        self.oov_token = self._token(oov_token) if oov_token is not None else None
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        o = _c.lf_lookup_defaults(0 if self._string else 1)
        o.max_tokens = max_tokens or 0
        o.num_oov_indices = self.num_oov_indices
        if self._string:
            o.mask_token = self._c_str(self.mask_token, "mask_token") if self.mask_token is not None else None
            o.oov_token = self._c_str(self.oov_token, "oov_token") if self.oov_token is not None else None
        else:
            o.has_int_mask_token, o.int_mask_token = self.mask_token is not None, self.mask_token or 0
            o.has_int_oov_token, o.int_oov_token = self.oov_token is not None, self.oov_token or 0
        o.invert, o.output_mode, o.pad_to_max_tokens = self.invert, _MODES.index(output_mode), self.pad_to_max_tokens
        h, msg = _P(), ctypes.create_string_buffer(512)
        st = _c.lf_lookup_create(ctypes.byref(h), ctypes.byref(o), msg, 512)
        if st != 0:
            raise ValueError(msg.value.decode("utf-8", "replace"))
        self._h = h
        if vocabulary is not None:  # given (Keras' vocabulary=), or an adapted layer's config
            self.set_vocabulary(vocabulary, _given=True if has_input_vocabulary is None else has_input_vocabulary)

    def __del__(self):
        if getattr(self, "_h", None) and _c is not None:
            _c.lf_lookup_free(self._h)
            self._h = None

    def _raise(self, st):
        msg = _c.lf_lookup_error(self._h).decode("utf-8", "replace")
        if st in (3, 4, 5, 6):  # LF_ERR_FORMAT, _SHAPE, _ARG, _STATE: Keras raises ValueError
            raise ValueError(msg)
        raise LatefuseError(msg, st, _lib.lib.lf_status_string(st).decode())

    @classmethod
    def _from_handle(cls, h):
        """A StringLookup or IntegerLookup owning a copy of the C object h
        (a loaded model's)."""
        c = _P()
        st = _c.lf_lookup_copy(ctypes.byref(c), h)
        if st != 0:
            raise LatefuseError("could not copy a lookup", st, _lib.lib.lf_status_string(st).decode())
        o = _c.lf_lookup_get_options(c)
        lk = (StringLookup if o.kind == 0 else IntegerLookup).__new__(StringLookup if o.kind == 0 else IntegerLookup)
        lk._h = c
        lk.name = None
        lk.max_tokens = o.max_tokens or None
        lk.num_oov_indices = int(o.num_oov_indices)
        if o.kind == 0:
            lk.mask_token = o.mask_token.decode("utf-8") if o.mask_token is not None else None
            lk.oov_token = o.oov_token.decode("utf-8") if o.oov_token is not None else None
            lk.encoding = "utf-8"
        else:
            lk.mask_token = int(o.int_mask_token) if o.has_int_mask_token else None
            lk.oov_token = int(o.int_oov_token) if o.has_int_oov_token else None
        lk.invert, lk.output_mode = bool(o.invert), _MODES[o.output_mode]
        lk.sparse, lk.pad_to_max_tokens = False, bool(o.pad_to_max_tokens)
        return lk

    @staticmethod
    def _c_str(v, what):
        if "\0" in v:
            raise ValueError("StringLookup: %s holds a NUL character" % what)
        return v.encode("utf-8")

    def _c_values(self, flat, what):
        """The values as the C calls take them: (strs, ids, n, the array to
        keep alive during the call).  bytes go as they are (C checks their
        UTF-8)."""
        n = len(flat)
        if self._string:
            bs = []
            for i, v in enumerate(flat):
                b = v if isinstance(v, bytes) else str(v).encode("utf-8")
                if b"\0" in b:
                    raise ValueError("%s.%s: value %d holds a NUL character" % (type(self).__name__, what, i))
                bs.append(b)
            arr = (ctypes.c_char_p * max(n, 1))(*bs)
            return ctypes.cast(arr, _P), None, n, arr
        arr = np.ascontiguousarray(flat, dtype=np.int64)
        return None, arr.ctypes.data_as(_P), n, arr

    def _vocab_values(self, vocabulary):
        cls = type(self).__name__
        if isinstance(vocabulary, (str, bytes)):
            raise ValueError("%s: a vocabulary file is not supported; pass the terms as a list" % cls)
        terms = list(np.asarray(vocabulary, dtype=object).reshape(-1)) if not isinstance(vocabulary, list) \
            else list(vocabulary)
        for i, t in enumerate(terms):
            if not self._token_ok(t):
                raise ValueError("%s: vocabulary entry %d is %r, not %s" % (cls, i, t, self._token_kind))
        return [t if isinstance(t, bytes) else self._token(t) for t in terms]

    @property
    def _has_input_vocabulary(self):
        return bool(_c.lf_lookup_vocabulary_given(self._h))

    def vocabulary_size(self):
        """The vocabulary's size, the mask and OOV entries included."""
        return int(_c.lf_lookup_vocabulary_size(self._h))

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary: entry i is what index i stands for (the mask
        token, then the OOV entries as oov_token, then the tokens), or the
        tokens alone with include_special_tokens=False."""
        n = self.vocabulary_size()
        start = 0 if include_special_tokens else int(_c.lf_lookup_token_start(self._h))
        out = []
        v = ctypes.c_int64()
        for i in range(start, n):
            if self._string:
                s = _c.lf_lookup_string(self._h, i)
                out.append(s.decode("utf-8") if s is not None else None)
            else:
                out.append(int(v.value) if _c.lf_lookup_int(self._h, i, ctypes.byref(v)) else None)
        return out

    def set_vocabulary(self, vocabulary, idf_weights=None, _given=True):
        if idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             "output_mode=%s and idf_weights=%r" % (self.output_mode, idf_weights))
        terms = self._vocab_values(vocabulary)
        if not terms:
            raise ValueError("Cannot set an empty vocabulary. Received: vocabulary=%r" % (vocabulary,))
        strs, ids, n, keep = self._c_values(terms, "set_vocabulary")
        st = _c.lf_lookup_set_vocabulary(self._h, strs, ids, n, int(bool(_given)))
        if st != 0:
            self._raise(st)

    def adapt(self, data, steps=None):
        """Learns the vocabulary from data (an array or list of any shape,
        or an iterable of such batches): every value counted, ordered by
        count then by the token, both high to low (Keras' rule)."""
        if self._has_input_vocabulary:
            raise ValueError("Cannot adapt layer '%s' after setting a static vocabulary via `vocabulary` argument "
                             "or `set_vocabulary()` method." % (self.name or type(self).__name__))
        if isinstance(data, (list, tuple, np.ndarray)) or not hasattr(data, "__iter__"):
            batches = [data]
        else:
            batches = data if steps is None else (b for i, b in zip(range(steps), data))
        flat = []
        for b in batches:
            flat.extend(self._values(b, "adapt").tolist())
        strs, ids, n, keep = self._c_values(flat, "adapt")
        st = _c.lf_lookup_adapt(self._h, strs, ids, n)
        if st != 0:
            self._raise(st)

    def __call__(self, inputs):
        from . import layers as L
        if isinstance(inputs, L.KerasTensor):
            return self._symbolic(inputs, L)
        vals = self._values(inputs, "call")  # checks the type
        if self.invert:
            return self._invert(inputs)
        shape = np.asarray(inputs, dtype=object).shape if self._string else np.shape(inputs)
        strs, ids, n, keep = self._c_values(vals.tolist(), "call")
        if self.output_mode == "int":
            out = np.zeros(shape, dtype=np.int64)
            st = _c.lf_lookup_transform_int(self._h, strs, ids, n, out.ctypes.data_as(_P))
            if st != 0:
                self._raise(st)
            return out
        # Keras' tf_encode_categorical_inputs: rank 0 is one sample, one_hot
        # adds an axis unless the last is 1, an output above rank 2 refused
        rank = len(shape)
        if rank == 0:
            shape, rank = (1,), 1
        if self.output_mode == "one_hot" and shape[-1] != 1:
            shape, rank = tuple(shape) + (1,), rank + 1
        if rank > 2:
            raise ValueError("When output_mode is not `'int'`, maximum supported output rank is 2. Received "
                             "output_mode %s and input shape %s, which would result in output rank %d."
                             % (self.output_mode, np.shape(inputs), rank))
        depth = int(_c.lf_lookup_output_dim(self._h))
        rows, cols = (1, shape[0]) if rank == 1 else (shape[0], shape[1])
        if self.output_mode == "one_hot":  # one row per value
            rows, cols = rows * cols, 1
        out = np.zeros((rows, depth), dtype=np.float32)
        st = _c.lf_lookup_transform(self._h, strs, ids, rows, cols, out.ctypes.data_as(_P))
        if st != 0:
            self._raise(st)
        return out[0] if rank == 1 and self.output_mode != "one_hot" else out

    def _invert(self, inputs):
        arr = np.asarray(inputs)
        if arr.dtype.kind not in "iu":
            raise ValueError("%s(invert=True) maps integer indices back to tokens, got %s values"
                             % (type(self).__name__, arr.dtype))
        idx = np.ascontiguousarray(arr.reshape(-1), dtype=np.int64)
        n = idx.size
        if self._string:
            out = (ctypes.c_char_p * max(n, 1))()
            st = _c.lf_lookup_invert(self._h, idx.ctypes.data_as(_P), n, ctypes.cast(out, _P), None, None)
            if st != 0:
                self._raise(st)
            vals = [out[i].decode("utf-8") if out[i] is not None else None for i in range(n)]
        else:
            ids, none = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.uint8)
            st = _c.lf_lookup_invert(self._h, idx.ctypes.data_as(_P), n, None, ids.ctypes.data_as(_P),
                                     none.ctypes.data_as(_P))
            if st != 0:
                self._raise(st)
            vals = [None if z else int(v) for v, z in zip(ids.tolist(), none.tolist())]
        return np.array(vals, dtype=self._np_dtype if self.oov_token is not None else object).reshape(arr.shape)

    def _symbolic(self, x, L):
        """The tensor of this lookup's output for a string or integer Input
        x of shape (n,): a model input of its own (the C model's), linked
        to x."""
        cls = type(self).__name__
        if not isinstance(x.layer, L.InputLayer) or len(x.sample_shape) != 1 or \
                x.layer.dtype != ("string" if self._string else "int32"):
            raise ValueError("%s: call it on a%s Input of shape (n,) (Input(shape=(n,), dtype=%r)), or on an "
                             "array" % (cls, " string" if self._string else "n integer",
                                        "string" if self._string else "int64"))
        if self.invert:
            raise ValueError("%s(invert=True) gives tokens: it cannot feed a model input" % cls)
        n = x.sample_shape[0]
        if self.output_mode == "int":
            shape, dtype = (n,), "int32"
        else:
            if self.output_mode == "one_hot" and n != 1:
                raise ValueError("%s: 'one_hot' on an input of %d values would give a (None, %d, depth) input; "
                                 "use shape (1,)" % (cls, n, n))
            shape, dtype = (int(_c.lf_lookup_output_dim(self._h)),), "float32"
        prev = getattr(x.layer, "_vectorized", None)
        if prev is not None:
            if prev.layer._text[1] is self:
                return prev
            raise ValueError("%s: this input feeds another preprocessing layer already" % cls)
        vt = L.Input(shape, dtype=dtype, name=x.layer._user_name)
        x.layer._user_name = None  # the name goes to the model input the lookup feeds
        vt.layer._text = (x, self)
        x.layer._vectorized = vt
        return vt

    def _values(self, data, what):
        """The values of data, flat, refused with a message when they are
        not of the layer's type."""
        cls = type(self).__name__
        if what == "call" and self.invert:
            return np.zeros(0)
        arr = np.asarray(data, dtype=object).reshape(-1)
        for i, v in enumerate(arr.tolist()):
            if not self._token_ok(v):
                raise ValueError("%s.%s: value %d is %r, not %s" % (cls, what, i, v, self._token_kind))
        return np.array([v if isinstance(v, bytes) else self._token(v) for v in arr.tolist()], dtype=object)

    def get_config(self):
        """Keras' config, with the vocabulary the layer holds (learned or
        given) under "vocabulary" and "has_input_vocabulary" saying which:
        from_config(config) makes the same layer."""
        return {"name": self.name, "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self._vocabulary_dtype,
                "idf_weights": None, "vocabulary": self.get_vocabulary(include_special_tokens=False) or None,
                "vocabulary_size": self.vocabulary_size(),
                "has_input_vocabulary": self._has_input_vocabulary}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __reduce__(self):
        """pickle and copy.deepcopy, as Keras' layers (and this layer when it
        was pure Python): it travels as its config, vocabulary included;
        the C object cannot travel"""
        return (_from_config, (type(self), self.get_config()))

    def __repr__(self):
        return "<%s name=%s vocabulary_size=%d>" % (type(self).__name__, self.name, self.vocabulary_size())


class StringLookup(_IndexLookup):
    """keras.layers.StringLookup: strings to integer indices (see the
    module docstring for the semantics and what is not available)."""

    _string = True
    _token_kind = "a string"
    _np_dtype = object
    _vocabulary_dtype = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, **kwargs):
        if str(encoding).lower().replace("-", "") != "utf8":
            raise ValueError("StringLookup: only the utf-8 encoding is supported, got %r" % (encoding,))
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = "utf-8"
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, sparse, pad_to_max_tokens, name, **kwargs)

    @staticmethod
    def _token_ok(v):
        return isinstance(v, (str, bytes, np.str_, np.bytes_))

    @staticmethod
    def _token(v):
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)

    def get_config(self):
        cfg = super().get_config()
        cfg["encoding"] = self.encoding
        return cfg


class IntegerLookup(_IndexLookup):
    """keras.layers.IntegerLookup: integers to integer indices (see the
    module docstring for the semantics and what is not available)."""

    _string = False
    _token_kind = "an integer"
    _np_dtype = np.int64
    _vocabulary_dtype = "int64"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError("Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             "vocabulary_dtype=%s" % (vocabulary_dtype,))
        if oov_method != "floormod" or salt is not None:
            raise ValueError("IntegerLookup: only oov_method='floormod' without salt is supported, got "
                             "oov_method=%r, salt=%r" % (oov_method, salt))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, sparse, pad_to_max_tokens, name, **kwargs)

    @staticmethod
    def _token_ok(v):
        return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))

    @staticmethod
    def _token(v):
        return int(v)

    def _values(self, data, what):
        cls = type(self).__name__
        if what == "call" and self.invert:
            return np.zeros(0)
        arr = np.asarray(data)
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError("%s.%s: the values must be integers, got %s values" % (cls, what, arr.dtype))
        return arr.reshape(-1).astype(np.int64)


def _from_config(cls, config):
    """_IndexLookup.__reduce__'s rebuild"""
    if not (isinstance(cls, type) and issubclass(cls, _IndexLookup)):
        raise ValueError("pickled lookup: %r is not StringLookup or IntegerLookup" % (cls,))
    return cls.from_config(config)
