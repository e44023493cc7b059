"""
lookup.py — StringLookup and IntegerLookup, Keras 3's lookup layers
(keras/src/layers/preprocessing/index_lookup.py, string_lookup.py,
integer_lookup.py), as preprocessing objects in numpy.  Exported from
latefuse.layers, so Keras code ports by changing the import:

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
Departures, said once: these run in numpy outside the model (as Keras'
layers in a tf.data pipeline): feed their int output to an Input, with
Embedding or CategoryEncoding after it.  They are not kept in the model
file; get_config() holds the vocabulary (JSON-serialisable) and
from_config() restores the layer, so json.dump(layer.get_config(), f)
saves it beside the model.  Not available: output_mode "tf_idf" (use
TextVectorization), sparse outputs, a vocabulary file path,
StringLookup with num_oov_indices > 1 (Keras hashes with FarmHash there),
oov_method "farmhash", salt, and encodings other than UTF-8.  "int"
outputs are int64 arrays, the others float32; inverted StringLookup
outputs are str arrays.
"""
import collections
import numbers

import numpy as np

__all__ = ["StringLookup", "IntegerLookup"]

_MODES = ("int", "one_hot", "multi_hot", "count")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class _IndexLookup:
    """What StringLookup and IntegerLookup share (Keras' IndexLookup)."""

    _string = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                 output_mode, sparse, pad_to_max_tokens, name, has_input_vocabulary=None, **kwargs):
        cls = type(self).__name__
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        kwargs.pop("vocabulary_size", None)  # Keras' get_config writes it; the vocabulary gives it here
        if kwargs:
            raise ValueError("Unrecognized keyword argument(s): %s" % kwargs)
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
            raise ValueError("If set, `max_tokens` must be greater than 1. Received: max_tokens=%r" % (max_tokens,))
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None")
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
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. Received: output_mode=%s"
                             % output_mode)
        if sparse:
            raise ValueError("%s: sparse outputs are not supported" % cls)
        if idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`, which %s does "
                             "not support" % cls)
        if self._string and num_oov_indices > 1:
            raise ValueError("StringLookup: num_oov_indices > 1 is not supported (Keras hashes OOV strings "
                             "with FarmHash); got num_oov_indices=%d" % num_oov_indices)
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
        self._tokens = []     # the learned or given tokens, without the reserved entries
        self._index = {}      # token -> its index
        self._has_input_vocabulary = (vocabulary is not None if has_input_vocabulary is None
                                      else bool(has_input_vocabulary))
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # --- Keras' index arithmetic (index_lookup.py _oov_start_index, _token_start_index)
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        """The vocabulary's size, the mask and OOV entries included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary: entry i is what index i stands for (the mask
        token, then the OOV entries as oov_token, then the tokens), or the
        tokens alone with include_special_tokens=False."""
        if not include_special_tokens:
            return list(self._tokens)
        return ([self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices +
                list(self._tokens))

    def set_vocabulary(self, vocabulary, idf_weights=None):
        cls = type(self).__name__
        if idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             "output_mode=%s and idf_weights=%r" % (self.output_mode, idf_weights))
        if isinstance(vocabulary, (str, bytes)):
            raise ValueError("%s: a vocabulary file is not supported; pass the terms as a list" % cls)
        terms = list(np.asarray(vocabulary, dtype=object).reshape(-1)) if not isinstance(vocabulary, list) \
            else list(vocabulary)
        if not terms:
            raise ValueError("Cannot set an empty vocabulary. Received: vocabulary=%r" % (vocabulary,))
        for i, t in enumerate(terms):
            if not self._token_ok(t):
                raise ValueError("%s: vocabulary entry %d is %r, not %s" % (cls, i, t, self._token_kind))
        terms = [self._token(t) for t in terms]
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        tokens = terms[start:] if terms[:start] == special else terms
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             "The repeated terms are: %r" % (repeated,))
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError("Found reserved mask token at unexpected location in `vocabulary`. Note that passed "
                             "`vocabulary` does not need to include the OOV and mask tokens. Either remove all mask "
                             "and OOV tokens, or include them only at the start of the vocabulary in precisely "
                             "this order: %r. Received: mask_token=%r at vocabulary index %d"
                             % (special, self.mask_token, len(terms) - 1 - terms[::-1].index(self.mask_token)))
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError("Found reserved OOV token at unexpected location in `vocabulary`. Note that passed "
                             "`vocabulary` does not need to include the OOV and mask tokens. Either remove all mask "
                             "and OOV tokens, or include them only at the start of the vocabulary in precisely "
                             "this order: %r. Received: oov_token=%r at vocabulary index %d"
                             % (special, self.oov_token, len(terms) - 1 - terms[::-1].index(self.oov_token)))
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. Received "
                             "vocabulary size is %d; `max_tokens` is %d." % (start + len(tokens), self.max_tokens))
        self._set_tokens(tokens)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

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
        counts = collections.Counter()
        for b in batches:
            counts.update(self._values(b, "adapt").tolist())
        if not counts:  # Keras' finalize_state: nothing counted, nothing changes
            return
        counts.pop(self.mask_token, None)
        counts.pop(self.oov_token, None)
        # str (code point order: UTF-8's byte order, which Keras sorts) or int64
        tokens = np.array(list(counts), dtype=str if self._string else np.int64)
        order = np.lexsort((tokens, np.array(list(counts.values()), dtype=np.int64)))[::-1]
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        self._set_tokens(self._token(t) for t in tokens[order].tolist())

    def __call__(self, inputs):
        self._values(inputs, "call")  # checks the type
        if self.invert:
            return self._invert(inputs)
        ids = self._lookup(inputs)
        if self.output_mode == "int":
            return ids
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if ids.ndim == 0:
            ids = ids.reshape(1)
        if self.output_mode == "one_hot" and ids.shape[-1] != 1:
            ids = ids[..., None]
        if ids.ndim > 2:
            raise ValueError("When output_mode is not `'int'`, maximum supported output rank is 2. Received "
                             "output_mode %s and input shape %s, which would result in output rank %d."
                             % (self.output_mode, np.shape(inputs), ids.ndim))
        from .layers import _encode_categorical
        # the mask token's index is -1 here: dropped, as Keras' bincount drops its max int
        return _encode_categorical(ids, "multi_hot" if self.output_mode == "one_hot" else self.output_mode, depth)

    def _lookup(self, inputs):
        arr = self._array(inputs)
        out = np.empty(arr.shape, dtype=np.int64)
        flat, o = arr.reshape(-1), out.reshape(-1)
        oov = []
        start = self._oov_start_index()
        for i, v in enumerate(flat.tolist()):
            v = self._token(v)
            if self.mask_token is not None and v == self.mask_token:
                o[i] = 0 if self.output_mode == "int" else -1
            elif v in self._index:
                o[i] = self._index[v]
            elif self.num_oov_indices == 1:
                o[i] = start
            elif self.num_oov_indices > 1:  # IntegerLookup only: Keras' floormod
                o[i] = start + v % self.num_oov_indices
            else:
                oov.append(v)
        if oov:
            raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values %r, "
                             "consider setting `num_oov_indices=1`." % (oov,))
        return out

    def _invert(self, inputs):
        arr = np.asarray(inputs)
        if arr.dtype.kind not in "iu":
            raise ValueError("%s(invert=True) maps integer indices back to tokens, got %s values"
                             % (type(self).__name__, arr.dtype))
        start = self._token_start_index()
        vals = []
        for v in arr.reshape(-1).tolist():
            if self.mask_token is not None and v == 0:
                vals.append(self.mask_token)
            elif start <= v < start + len(self._tokens):
                vals.append(self._tokens[v - start])
            else:
                vals.append(self.oov_token)
        return np.array(vals, dtype=self._np_dtype if self.oov_token is not None else object).reshape(arr.shape)

    def _array(self, inputs):
        return np.asarray(inputs, dtype=object)

    def _values(self, data, what):
        """The values of data, flat, refused with a message when they are
        not of the layer's type."""
        cls = type(self).__name__
        if what == "call" and self.invert:
            return np.zeros(0)
        arr = self._array(data).reshape(-1)
        for i, v in enumerate(arr.tolist()):
            if not self._token_ok(v):
                raise ValueError("%s.%s: value %d is %r, not %s" % (cls, what, i, v, self._token_kind))
        return np.array([self._token(v) for v in arr.tolist()], dtype=object)

    def get_config(self):
        """Keras' config, with the vocabulary the layer holds (learned or
        given) under "vocabulary" and "has_input_vocabulary" saying which:
        from_config(config) makes the same layer."""
        return {"name": self.name, "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self._vocabulary_dtype,
                "idf_weights": None, "vocabulary": list(self._tokens) or None,
                "vocabulary_size": self.vocabulary_size(),
                "has_input_vocabulary": self._has_input_vocabulary}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

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

    def _array(self, inputs):
        return np.asarray(inputs)

    def _values(self, data, what):
        cls = type(self).__name__
        if what == "call" and self.invert:
            return np.zeros(0)
        arr = np.asarray(data)
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError("%s.%s: the values must be integers, got %s values" % (cls, what, arr.dtype))
        return arr.reshape(-1).astype(np.int64)
