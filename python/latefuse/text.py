"""
text.py — TextVectorization, Keras' preprocessing layer, over the C
library's lf_textvec_* (src/text/; include/latefuse.h documents every
step).  Exported from latefuse.layers, so Keras code ports by changing the
import:

    from latefuse.layers import TextVectorization
    vec = TextVectorization(max_tokens=5000, output_sequence_length=4)
    vec.adapt(["foo bar", "bar baz", "baz bada boom"])
    vec([["foo qux bar"], ["qux baz"]])   # array([[4, 1, 3, 0], [1, 2, 0, 0]])

Keras' arguments and defaults, with what differs said here once:
  - standardize: "lower_and_strip_punctuation", "lower", "strip_punctuation"
    or None (no callables); lower-casing also covers Latin-1, Latin
    Extended-A, Greek and Cyrillic, punctuation also CJK and fullwidth marks;
  - split: "whitespace" (any Unicode white space; Keras: ASCII only) or None;
    split_cjk=True (an addition) makes every CJK ideograph, kana and Hangul
    syllable a token of its own;
  - ngrams: None, n, or the tuple (1, ..., n); char_ngrams=(min, max) (an
    addition) uses the character n-grams of each word instead;
  - output_mode: "int", "multi_hot" ("binary"), "count", "tf_idf" ("tf-idf");
  - vocabulary= / idf_weights= and set_vocabulary() as Keras' (a list of
    terms, not a file path); not supported: sparse, ragged, output_mode
    "one_hot", encodings other than UTF-8.
"int" outputs are int64 arrays (batch, length) like Keras' (padded to the
longest text of the call when output_sequence_length is None); the others
float32 (batch, vocabulary_size or max_tokens with pad_to_max_tokens).
Called on texts it returns the array; called on a string Input
(Input(shape=(1,), dtype="string"), as in Keras) it returns the tensor of
its output (int: (None, output_sequence_length) token ids; the dense
modes: (None, vocabulary size)), and a Model with that string input keeps
the vectorizer in its C model (lf_model_attach_textvec): the model file
stores vocabulary and settings, load_model restores them, and fit,
evaluate and predict take the raw strings for that input.
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import LatefuseError

__all__ = ["TextVectorization"]

_c = _lib.lib
_P = ctypes.c_void_p
_S = ctypes.c_int
_size = ctypes.c_size_t


class _Options(ctypes.Structure):
    _fields_ = [("max_tokens", _size), ("standardize", ctypes.c_int), ("split", ctypes.c_int),
                ("split_cjk", ctypes.c_int), ("ngrams", _size), ("char_ngram_min", _size),
                ("char_ngram_max", _size), ("output_mode", ctypes.c_int),
                ("output_sequence_length", _size), ("pad_to_max_tokens", ctypes.c_int)]


def _proto(name, restype, *argtypes):
    fn = getattr(_c, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_proto("lf_textvec_defaults", _Options)
_proto("lf_textvec_create", _S, ctypes.POINTER(_P), ctypes.POINTER(_Options), ctypes.c_char_p, _size)
_proto("lf_textvec_free", None, _P)
_proto("lf_textvec_error", ctypes.c_char_p, _P)
_proto("lf_textvec_get_options", _Options, _P)
_proto("lf_textvec_adapt", _S, _P, ctypes.c_void_p, _size)
_proto("lf_textvec_adapted", ctypes.c_int, _P)
_proto("lf_textvec_set_vocabulary", _S, _P, ctypes.c_void_p, _size, ctypes.POINTER(ctypes.c_float))
_proto("lf_textvec_vocabulary_size", _size, _P)
_proto("lf_textvec_vocabulary", ctypes.c_char_p, _P, _size)
_proto("lf_textvec_idf_weights", ctypes.POINTER(ctypes.c_float), _P)
_proto("lf_textvec_output_dim", _size, _P)
_proto("lf_textvec_transform", _S, _P, ctypes.c_void_p, _size, ctypes.c_void_p)
_proto("lf_textvec_transform_int", _S, _P, ctypes.c_void_p, _size, _size, ctypes.c_void_p)
_proto("lf_textvec_max_length", _S, _P, ctypes.c_void_p, _size, ctypes.POINTER(_size))
_proto("lf_textvec_save", _S, _P, ctypes.c_char_p)
_proto("lf_textvec_load", _S, _P, ctypes.c_char_p)
_proto("lf_textvec_copy", _S, ctypes.POINTER(_P), _P)

_STANDARDIZE = {"lower_and_strip_punctuation": 0, "lower": 1, "strip_punctuation": 2, None: 3}
_SPLIT = {"whitespace": 0, None: 1}
_MODES = {"int": 0, "multi_hot": 1, "count": 2, "tf_idf": 3}
_MODE_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}


def _status_name(st):
    return _lib.lib.lf_status_string(st).decode()


def _texts(data):
    """A list of UTF-8 byte strings from a list/tuple/array of str or bytes
    (rank 1, or rank 2 with one column as Keras' [["text"], ...])."""
    if isinstance(data, (str, bytes)):
        raise ValueError("TextVectorization expects a list of strings, got a single string")
    arr = np.asarray(data, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError("TextVectorization expects a list of strings (or a (batch, 1) array), got shape %s"
                         % (arr.shape,))
    out = []
    for i, t in enumerate(arr):
        if isinstance(t, str):
            b = t.encode("utf-8", "surrogatepass")  # lone surrogates: the library names the text
        elif isinstance(t, (bytes, np.bytes_)):
            b = bytes(t)
        else:
            raise ValueError("text %d is a %s, not a string" % (i + 1, type(t).__name__))
        if b"\0" in b:
            raise ValueError("text %d holds a NUL character" % (i + 1))
        out.append(b)
    return out


class TextVectorization:
    """keras.layers.TextVectorization over the C library (see the module
    docstring for the arguments)."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, pad_to_max_tokens=False,
                 vocabulary=None, idf_weights=None, sparse=False, ragged=False, encoding="utf-8",
                 name=None, split_cjk=True, char_ngrams=None, **kwargs):
        if kwargs:
            raise TypeError("TextVectorization: unexpected arguments %s" % ", ".join(sorted(kwargs)))
        if sparse or ragged:
            raise ValueError("TextVectorization: sparse and ragged outputs are not supported")
        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError("TextVectorization: only the utf-8 encoding is supported, got %r" % encoding)
        if callable(standardize) or standardize not in _STANDARDIZE:
            raise ValueError("TextVectorization: standardize must be one of %s or None, got %r"
                             % (", ".join(repr(k) for k in _STANDARDIZE if k), standardize))
        if callable(split) or split not in _SPLIT:
            raise ValueError("TextVectorization: split must be 'whitespace' or None, got %r" % (split,))
        mode = _MODE_ALIASES.get(output_mode, output_mode)
        if mode not in _MODES:
            raise ValueError("TextVectorization: output_mode must be one of 'int', 'multi_hot', 'count', "
                             "'tf_idf', got %r" % (output_mode,))
        if isinstance(ngrams, tuple):
            if ngrams != tuple(range(1, len(ngrams) + 1)):
                raise ValueError("TextVectorization: ngrams as a tuple must be (1, 2, ..., n), got %r" % (ngrams,))
            n_ngrams = len(ngrams)
        elif ngrams is None:
            n_ngrams = 0
        elif isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams >= 1:
            n_ngrams = ngrams
        else:
            raise ValueError("TextVectorization: ngrams must be None, a positive int or (1, ..., n), got %r"
                             % (ngrams,))
        cmin = cmax = 0
        if char_ngrams is not None:
            if isinstance(char_ngrams, int) and not isinstance(char_ngrams, bool):
                cmin, cmax = 1, char_ngrams
            else:
                try:
                    cmin, cmax = (int(v) for v in char_ngrams)
                except (TypeError, ValueError):
                    raise ValueError("TextVectorization: char_ngrams must be n or (min, max), got %r"
                                     % (char_ngrams,)) from None
        for arg, v in (("max_tokens", max_tokens), ("output_sequence_length", output_sequence_length)):
            if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1):
                raise ValueError("TextVectorization: %s must be None or a positive int, got %r" % (arg, v))
        opt = _Options(max_tokens or 0, _STANDARDIZE[standardize], _SPLIT[split], 1 if split_cjk else 0,
                       n_ngrams, cmin, cmax, _MODES[mode], output_sequence_length or 0,
                       1 if pad_to_max_tokens else 0)
        self.name = name or "text_vectorization"
        self._ngrams_arg = ngrams
        self._h = None
        h = _P()
        msg = ctypes.create_string_buffer(512)
        st = _c.lf_textvec_create(ctypes.byref(h), ctypes.byref(opt), msg, 512)
        if st != 0:
            raise ValueError("TextVectorization: " + msg.value.decode())
        self._h = h
        self._given = False  # Keras' has_input_vocabulary: a vocabulary= / set_vocabulary one
        if vocabulary is not None or idf_weights is not None:
            self.set_vocabulary(vocabulary if vocabulary is not None else [], idf_weights)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Keras' set_vocabulary (lf_textvec_set_vocabulary): the terms, which
        may start with the reserved entries ('' and '[UNK]' in int mode,
        '[UNK]' in the others), and in tf_idf mode (only) one idf weight
        per term given.  A vocabulary file path is not supported."""
        if isinstance(vocabulary, (str, bytes)):
            raise ValueError("TextVectorization: a vocabulary file is not supported; pass the terms as a list")
        terms = _texts(list(vocabulary))
        arr = (ctypes.c_char_p * max(len(terms), 1))(*terms)
        w = None
        if idf_weights is not None:
            w = np.ascontiguousarray(np.asarray(idf_weights, dtype=np.float32).reshape(-1))
            if w.size != len(terms):
                raise ValueError("`idf_weights` must be the same length as vocabulary. len(idf_weights) is %d; "
                                 "len(vocabulary) is %d" % (w.size, len(terms)))
        st = _c.lf_textvec_set_vocabulary(self._h, arr, len(terms),
                                          w.ctypes.data_as(ctypes.POINTER(ctypes.c_float)) if w is not None else None)
        if st != 0:
            raise ValueError(_c.lf_textvec_error(self._h).decode("utf-8", "replace"))
        self._given = True

    def __del__(self):
        if getattr(self, "_h", None):
            _c.lf_textvec_free(self._h)
            self._h = None

    def _raise(self, st):
        raise LatefuseError(_c.lf_textvec_error(self._h).decode("utf-8", "replace"), st, _status_name(st))

    @property
    def _opt(self):
        return _c.lf_textvec_get_options(self._h)

    @property
    def output_mode(self):
        return {v: k for k, v in _MODES.items()}[self._opt.output_mode]

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and idf weights) from a list of strings,
        replacing any earlier one."""
        texts = _texts(data)
        arr = (ctypes.c_char_p * max(len(texts), 1))(*texts)
        st = _c.lf_textvec_adapt(self._h, arr, len(texts))
        if st != 0:
            self._raise(st)

    def __call__(self, data):
        from . import layers as L
        if isinstance(data, L.KerasTensor):
            return self._symbolic(data, L)
        texts = _texts(data)
        n = len(texts)
        arr = (ctypes.c_char_p * max(n, 1))(*texts)
        o = self._opt
        if o.output_mode == 0:
            length = o.output_sequence_length
            if not length:
                ln = _size(0)
                st = _c.lf_textvec_max_length(self._h, arr, n, ctypes.byref(ln))
                if st != 0:
                    self._raise(st)
                length = ln.value
            out = np.zeros((n, length), dtype=np.int32)
            st = _c.lf_textvec_transform_int(self._h, arr, n, length, out.ctypes.data_as(ctypes.c_void_p))
            if st != 0:
                self._raise(st)
            return out.astype(np.int64)
        if not _c.lf_textvec_adapted(self._h):
            st = _c.lf_textvec_transform(self._h, arr, n, None)
            self._raise(st)
        out = np.zeros((n, _c.lf_textvec_output_dim(self._h)), dtype=np.float32)
        st = _c.lf_textvec_transform(self._h, arr, n, out.ctypes.data_as(ctypes.c_void_p))
        if st != 0:
            self._raise(st)
        return out

    def _symbolic(self, x, L):
        """The tensor of this vectorizer's output for a string Input x: a
        model input of its own (the C model's), linked to x."""
        if not isinstance(x.layer, L.InputLayer) or x.layer.dtype != "string" or x.sample_shape != (1,):
            raise ValueError("TextVectorization: call it on a string input, Input(shape=(1,), dtype='string'), "
                             "or on a list of texts")
        o = self._opt
        if o.output_mode == 0:
            if not o.output_sequence_length:
                raise ValueError("TextVectorization: a model input needs a fixed output_sequence_length in "
                                 "'int' mode")
            shape, dtype = (o.output_sequence_length,), "int32"
        else:
            dim = _c.lf_textvec_output_dim(self._h)
            if not dim:
                raise ValueError("TextVectorization: adapt it before calling it on a tensor: the output size "
                                 "in '%s' mode is the vocabulary's" % self.output_mode)
            shape, dtype = (dim,), "float32"
        prev = getattr(x.layer, "_vectorized", None)
        if prev is not None:
            if prev.layer._text[1] is self:
                return prev
            raise ValueError("TextVectorization: this string input is vectorized by another TextVectorization "
                             "already")
        vt = L.Input(shape, dtype=dtype, name=x.layer._user_name)
        x.layer._user_name = None  # the name goes to the model input the vectorizer feeds
        vt.layer._text = (x, self)
        x.layer._vectorized = vt
        return vt

    @classmethod
    def _from_handle(cls, h):
        """A TextVectorization owning a copy of the C object h."""
        tv = cls.__new__(cls)
        tv._h = None
        c = _P()
        st = _c.lf_textvec_copy(ctypes.byref(c), h)
        if st != 0:
            raise LatefuseError("could not copy a text vectorizer: " + _status_name(st), st, _status_name(st))
        tv._h = c
        tv.name = "text_vectorization"
        tv._ngrams_arg = tv._opt.ngrams or None
        tv._given = False
        return tv

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, index i = token id i (reserved entries first:
        '' and '[UNK]' in int mode, '[UNK]' in the others)."""
        n = _c.lf_textvec_vocabulary_size(self._h)
        v = [_c.lf_textvec_vocabulary(self._h, i).decode("utf-8") for i in range(n)]
        if not include_special_tokens:
            v = v[2 if self._opt.output_mode == 0 else 1:] if v else v
        return v

    def vocabulary_size(self):
        return int(_c.lf_textvec_vocabulary_size(self._h))

    def idf_weights(self):
        """tf_idf: the idf weight of every vocabulary entry (None otherwise)."""
        p = _c.lf_textvec_idf_weights(self._h)
        if not p:
            return None
        return np.ctypeslib.as_array(p, shape=(self.vocabulary_size(),)).copy()

    def get_config(self):
        o = self._opt
        inv = {v: k for k, v in _STANDARDIZE.items()}
        return {"name": self.name, "max_tokens": o.max_tokens or None, "standardize": inv[o.standardize],
                "split": "whitespace" if o.split == 0 else None, "ngrams": self._ngrams_arg,
                "output_mode": self.output_mode, "output_sequence_length": o.output_sequence_length or None,
                "pad_to_max_tokens": bool(o.pad_to_max_tokens), "split_cjk": bool(o.split_cjk),
                "char_ngrams": (o.char_ngram_min, o.char_ngram_max) if o.char_ngram_min else None}

    def save(self, path):
        """Saves options, vocabulary and idf weights to one file (atomic)."""
        st = _c.lf_textvec_save(self._h, str(path).encode())
        if st != 0:
            self._raise(st)

    @classmethod
    def load(cls, path):
        """A TextVectorization read from a file written by save()."""
        tv = cls()
        st = _c.lf_textvec_load(tv._h, str(path).encode())
        if st != 0:
            tv._raise(st)
        o = tv._opt
        tv._ngrams_arg = o.ngrams or None
        return tv
