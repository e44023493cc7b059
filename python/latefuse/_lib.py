"""
_lib.py — loads liblatefuse through ctypes and declares every C prototype.

Why ctypes: numpy is the package's one dependency, so there is nothing to
compile at install time; the shared library built by `make` is used as is.
ctypes' CDLL releases the GIL for the duration of every foreign call, so
fit, predict and the fusion calls run while other Python threads keep going.

Where the library comes from, first match wins:
  1. the environment variable LATEFUSE_LIB (a path to liblatefuse.so);
  2. latefuse/_lib/liblatefuse.so, copied into the package by setup.py;
  3. ../../build/liblatefuse.so relative to this file (running from the repo).

Also here: LatefuseError, and the small array helpers shared by the engine
and the fusion wrappers (C-contiguous float32 without copying when the array
already is one, pointer tables for `const float *const *` arguments).
"""
import ctypes
import os
import re

import numpy as np

__all__ = ["LatefuseError", "lib", "library_path"]


class LatefuseError(RuntimeError):
    """An error reported by the C library; the message is the library's own
    (lf_model_error / lf_fusion_error), `status` the lf_status code and
    `status_name` its English name."""

    def __init__(self, message, status=0, status_name=""):
        super().__init__(message)
        self.status = int(status)
        self.status_name = status_name


def _candidates():
    env = os.environ.get("LATEFUSE_LIB")
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, "_lib", "liblatefuse.so"),
            os.path.normpath(os.path.join(here, "..", "..", "build", "liblatefuse.so"))], False


def _load():
    paths, from_env = _candidates()
    for p in paths:
        if os.path.isfile(p):
            return ctypes.CDLL(p), p
    if from_env:
        raise ImportError("latefuse: LATEFUSE_LIB is set to '%s', which is not a file" % paths[0])
    raise ImportError("latefuse: liblatefuse.so not found (looked at %s); build it with `make` "
                      "or set LATEFUSE_LIB to its path" % ", ".join(paths))


lib, library_path = _load()

c_size = ctypes.c_size_t
c_float_p = ctypes.POINTER(ctypes.c_float)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_int_p = ctypes.POINTER(ctypes.c_int)
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int


LR_MAX_BOUNDARIES = 32  # LF_LR_MAX_BOUNDARIES


class LrSchedule(ctypes.Structure):
    """lf_lr_schedule: Keras' learning-rate schedules (see latefuse.h)."""
    _fields_ = [("kind", c_int), ("decay_steps", ctypes.c_double), ("decay_rate", ctypes.c_double),
                ("staircase", c_int), ("end_learning_rate", ctypes.c_double), ("power", ctypes.c_double),
                ("cycle", c_int), ("alpha", ctypes.c_double), ("has_warmup", c_int),
                ("warmup_target", ctypes.c_double), ("warmup_steps", ctypes.c_double),
                ("t_mul", ctypes.c_double), ("m_mul", ctypes.c_double), ("n_boundaries", c_size),
                ("boundaries", ctypes.c_double * LR_MAX_BOUNDARIES),
                ("values", ctypes.c_float * (LR_MAX_BOUNDARIES + 1))]


class Optimizer(ctypes.Structure):
    _fields_ = [("kind", c_int), ("learning_rate", ctypes.c_float), ("momentum", ctypes.c_float),
                ("nesterov", c_int), ("beta_1", ctypes.c_float), ("beta_2", ctypes.c_float),
                ("epsilon", ctypes.c_float), ("rho", ctypes.c_float), ("use_ema", c_int),
                ("ema_momentum", ctypes.c_float), ("weight_decay", ctypes.c_float),
                ("clipnorm", ctypes.c_float), ("clipvalue", ctypes.c_float),
                ("global_clipnorm", ctypes.c_float), ("amsgrad", c_int), ("centered", c_int),
                ("initial_accumulator_value", ctypes.c_float), ("schedule", LrSchedule)]


class Progress(ctypes.Structure):
    """lf_progress: one event of a fit or a compare (see latefuse.h)."""
    _fields_ = [("event", c_int), ("epoch", c_size), ("epochs", c_size), ("step", c_size),
                ("steps", c_size), ("seconds", ctypes.c_double), ("loss", ctypes.c_double),
                ("accuracy", ctypes.c_double), ("val_loss", ctypes.c_double),
                ("val_accuracy", ctypes.c_double), ("best_epoch", c_size), ("restored", c_int),
                ("item", c_size), ("items", c_size), ("method", c_char_p)]


PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, ctypes.POINTER(Progress))
# the events that redraw one line ('\r'): shown on a terminal only
_REDRAW = (1, 4, 5)  # LF_PROGRESS_STEP, LF_PROGRESS_METHOD, LF_PROGRESS_METHODS_DONE


class FitOptions(ctypes.Structure):
    _fields_ = [("batch_size", c_size), ("epochs", c_size), ("shuffle", c_int),
                ("validation_split", ctypes.c_double), ("val_x", c_void_p), ("val_y", c_void_p),
                ("val_n", c_size), ("patience", c_size), ("min_delta", ctypes.c_float),
                ("restore_best_weights", c_int), ("sample_weight", c_void_p),
                ("class_weight", c_void_p), ("n_class_weight", c_size),
                ("seed", ctypes.c_uint64), ("progress", PROGRESS_FN), ("progress_ctx", c_void_p),
                ("val_arrays", c_void_p), ("val_ys", c_void_p), ("mpi_comm", c_void_p),
                ("cancel", ctypes.POINTER(c_int)), ("threads", c_size), ("val_sample_weight", c_void_p),
                ("monitor_accuracy", c_int), ("start_from_epoch", c_size), ("has_baseline", c_int),
                ("baseline", ctypes.c_double), ("progress_every_step", c_int), ("initial_epoch", c_size),
                ("validation_freq", c_size), ("validation_epochs", c_void_p), ("n_validation_epochs", c_size),
                ("steps_per_epoch", c_size), ("validation_steps", c_size), ("validation_batch_size", c_size),
                ("progress_validation_steps", c_int)]


class History(ctypes.Structure):
    _fields_ = [("epochs", c_size), ("loss", c_double_p), ("val_loss", c_double_p),
                ("accuracy", c_double_p), ("val_accuracy", c_double_p),
                ("best_epoch", c_size), ("stopped_early", c_int),
                ("n_outputs", c_size), ("output_loss", c_double_p), ("val_output_loss", c_double_p),
                ("output_accuracy", c_double_p), ("val_output_accuracy", c_double_p)]


class TypedArray(ctypes.Structure):
    """lf_typed_array: an input array's element type (lf_dtype) and data."""
    _fields_ = [("dtype", c_int), ("data", c_void_p)]


DTYPE_FLOAT32, DTYPE_INT32, DTYPE_UINT8 = 0, 1, 2


class FusionOptions(ctypes.Structure):
    _fields_ = [("method", c_int), ("calibrate", c_int), ("logits", c_int), ("folds", c_size),
                ("seed", ctypes.c_uint64), ("epochs", c_size), ("modality_dropout", ctypes.c_float),
                ("progress", PROGRESS_FN), ("progress_ctx", c_void_p), ("metric", c_int), ("ensemble_size", c_size),
                ("bags", c_size), ("importance", c_int), ("k", c_size),
                ("mpi_comm", c_void_p), ("features", c_void_p), ("n_features", c_size),
                ("auto_single", c_int), ("cancel", ctypes.POINTER(c_int)), ("threads", c_size)]


class InputIssue(ctypes.Structure):
    """lf_input_issue: the first problem lf_check_outputs / lf_labels_from_matrix found."""
    _fields_ = [("kind", c_int), ("model", c_size), ("name", c_char_p), ("row", c_size),
                ("column", c_size), ("value", ctypes.c_double), ("sum", ctypes.c_double)]


# lf_input_problem
INPUT_PARTIAL_NAN, INPUT_INF, INPUT_NEGATIVE, INPUT_SUM = 1, 2, 3, 4
INPUT_LABEL_RANGE, INPUT_LABEL_NOT_INTEGER, INPUT_LABEL_NOT_ONE_HOT = 5, 6, 7

TEMP_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p, c_int)
WRITE_NO_FSYNC, READ_NO_MMAP, READ_MMAP = 1, 2, 4


class PredictFilesOptions(ctypes.Structure):
    _fields_ = [("classes_path", c_char_p), ("flags", ctypes.c_uint), ("temp", TEMP_FN), ("temp_ctx", c_void_p),
                ("file_flags", ctypes.POINTER(ctypes.c_uint)), ("mpi_comm", c_void_p),
                ("features", c_void_p), ("n_features", c_size), ("feature_rows", c_size),
                ("cancel", ctypes.POINTER(c_int)), ("threads", c_size)]


class PredictOptions(ctypes.Structure):
    """lf_fusion_predict_options: an in-memory predict's features, thread
    count and cancel flag."""
    _fields_ = [("features", c_void_p), ("n_features", c_size), ("threads", c_size),
                ("cancel", ctypes.POINTER(c_int))]


class PredictFilesResult(ctypes.Structure):
    _fields_ = [("rows", c_size), ("cols", c_size), ("input", c_int), ("file", c_size),
                ("issue", InputIssue), ("message", ctypes.c_char * 512)]


ERR_CANCELLED = 8  # LF_ERR_CANCELLED: the options' cancel flag stopped the call
NUM_METRICS = 5
# flags of lf_model_save and lf_fusion_save (latefuse.h)
WRITE_NO_FSYNC = 1
SAVE_OPTIMIZER = 2
METRIC_NAMES = ("accuracy", "macro_f1", "log_loss", "brier", "ece")
# lf_row_kind: what a row of the compare table scores
ROW_METHOD, ROW_MODEL, ROW_ORACLE = 0, 1, 2
ROW_KIND_NAMES = {ROW_METHOD: "method", ROW_MODEL: "model", ROW_ORACLE: "oracle"}


class ScoreRow(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 80), ("kind", c_int), ("method", c_int),
                ("calibrated", c_int), ("mean", ctypes.c_double * NUM_METRICS),
                ("std", ctypes.c_double * NUM_METRICS), ("acc_without", c_double_p),
                ("ensemble_weight", ctypes.c_double)]


class CompareTable(ctypes.Structure):
    _fields_ = [("n_rows", c_size), ("rows", ctypes.POINTER(ScoreRow)), ("n_models", c_size)]


class ReportOptions(ctypes.Structure):
    """lf_report_options (latefuse.h)."""
    _fields_ = [("fusion", FusionOptions), ("methods", c_void_p), ("n_methods", c_size), ("fitted", c_void_p),
                ("class_names", c_void_p), ("title", c_char_p), ("command", c_char_p), ("temp", TEMP_FN),
                ("temp_ctx", c_void_p)]


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_S = c_int  # lf_status
_P = c_void_p  # opaque handles and pointer tables

_proto("lf_status_string", c_char_p, _S)
_proto("lf_progress_format", c_size, ctypes.POINTER(Progress), ctypes.c_char_p, c_size)
_proto("lf_model_create", _S, ctypes.POINTER(c_void_p), ctypes.c_uint64)
_proto("lf_model_free", None, _P)
_proto("lf_model_error", c_char_p, _P)
_proto("lf_activation_name", c_char_p, c_int)
_proto("lf_activation_parse", c_int, c_char_p)
_proto("lf_input", c_int, _P, c_size, c_char_p)
_proto("lf_dense", c_int, _P, c_int, c_size, c_int, c_int, c_char_p)
_proto("lf_activation_layer", c_int, _P, c_int, c_int, c_char_p)
_proto("lf_dropout", c_int, _P, c_int, ctypes.c_float, c_char_p)
for _n in ("lf_add", "lf_multiply", "lf_average", "lf_maximum", "lf_minimum", "lf_concatenate"):
    _proto(_n, c_int, _P, c_size, c_int_p, c_char_p)
_proto("lf_subtract", c_int, _P, c_int, c_int, c_char_p)
_proto("lf_concatenate_axis", c_int, _P, c_size, c_int_p, c_int, c_char_p)
_proto("lf_dot", c_int, _P, c_int, c_int, c_int, c_char_p)
_proto("lf_weighted_average", c_int, _P, c_size, c_int_p, c_int, c_char_p)
_proto("lf_class_weighted_average", c_int, _P, c_size, c_int_p, c_int, c_char_p)
_proto("lf_gated_average", c_int, _P, c_size, c_int_p, c_int, c_int, c_char_p)
_proto("lf_set_l2", _S, _P, c_int, ctypes.c_float)
_proto("lf_set_bias_l2", _S, _P, c_int, ctypes.c_float)
_proto("lf_set_regularizer", _S, _P, c_int, c_int, ctypes.c_float, ctypes.c_float)
_proto("lf_get_regularizer", _S, _P, c_int, c_int, _P, _P)
_proto("lf_set_rnn_dropout", _S, _P, c_int, ctypes.c_float, ctypes.c_float)


class Constraint(ctypes.Structure):
    """lf_constraint: Keras' weight constraints (latefuse.constraints)."""
    _fields_ = [("kind", c_int), ("max_value", ctypes.c_float), ("min_value", ctypes.c_float),
                ("rate", ctypes.c_float), ("axis", c_int * 4), ("n_axis", c_size)]


_proto("lf_set_constraint", _S, _P, c_int, c_int, ctypes.POINTER(Constraint))
_proto("lf_model_num_nodes", c_size, _P)
_proto("lf_node_dim", c_size, _P, c_int)
_proto("lf_node_shape", c_size, _P, c_int, ctypes.POINTER(c_size))
_proto("lf_node_find", c_int, _P, c_char_p)
_proto("lf_loss_name", c_char_p, c_int)
_proto("lf_loss_parse", c_int, c_char_p)
_proto("lf_optimizer_default", Optimizer, c_int)
_proto("lf_model_compile", _S, _P, c_int, c_int, ctypes.POINTER(Optimizer))
_proto("lf_model_num_inputs", c_size, _P)
_proto("lf_model_input_dim", c_size, _P, c_size)
_proto("lf_model_output_dim", c_size, _P)
_proto("lf_model_num_params", c_size, _P)
_proto("lf_model_summary", _S, _P, c_void_p)
_proto("lf_fit_defaults", FitOptions)
_proto("lf_threads_default", c_size)
_proto("lf_model_fit", _S, _P, _P, c_void_p, c_size, ctypes.POINTER(FitOptions))
_proto("lf_model_history", ctypes.POINTER(History), _P)
_proto("lf_model_evaluate", _S, _P, _P, c_void_p, c_size, c_void_p, c_double_p, c_double_p)
_proto("lf_model_predict", _S, _P, _P, c_size, c_void_p)
_proto("lf_layer_num_weights", c_size, _P, c_char_p)
_proto("lf_layer_weight_shape", _S, _P, c_char_p, c_size, ctypes.POINTER(c_size), ctypes.POINTER(c_size))
_proto("lf_get_weights", _S, _P, c_char_p, c_size, c_void_p, c_size)
_proto("lf_set_weights", _S, _P, c_char_p, c_size, c_void_p, c_size)
_proto("lf_model_save", _S, _P, c_char_p, ctypes.c_uint)
_proto("lf_model_compile_outputs", _S, _P, c_size, c_int_p, c_int_p, c_void_p, ctypes.POINTER(Optimizer))
_proto("lf_model_set_from_logits", _S, _P, c_size, ctypes.c_int)
_proto("lf_model_from_logits", ctypes.c_int, _P, c_size)
_proto("lf_model_set_metrics", _S, _P, c_char_p, c_char_p)
_proto("lf_model_metrics", c_char_p, _P, ctypes.c_int)
_proto("lf_model_num_outputs", c_size, _P)
_proto("lf_model_output_node", c_int, _P, c_size)
_proto("lf_model_set_outputs", _S, _P, c_size, c_int_p)
_proto("lf_model_fit_arrays", _S, _P, c_void_p, c_void_p, c_size, ctypes.POINTER(FitOptions))
_proto("lf_model_evaluate_arrays", _S, _P, c_void_p, c_void_p, c_size, c_void_p, c_double_p, c_double_p)
_proto("lf_model_predict_arrays", _S, _P, c_void_p, c_size, c_void_p)
_proto("lf_model_train_on_batch", _S, _P, c_void_p, c_void_p, c_size, c_void_p, c_double_p, c_double_p)
_proto("lf_model_set_learning_rate", _S, _P, ctypes.c_float)
_proto("lf_model_learning_rate", ctypes.c_float, _P)
_proto("lf_model_iterations", ctypes.c_uint64, _P)
_proto("lf_model_set_iterations", _S, _P, ctypes.c_uint64)
_proto("lf_model_optimizer_slots", c_int, _P)
_proto("lf_get_optimizer_slot", _S, _P, c_char_p, c_size, c_int, c_void_p, c_size)
_proto("lf_set_optimizer_slot", _S, _P, c_char_p, c_size, c_int, c_void_p, c_size)
# lf_rate_fn: a LearningRateSchedule of the user's own, each step's rate
RATE_FN = ctypes.CFUNCTYPE(ctypes.c_double, c_void_p, ctypes.c_uint64)
_proto("lf_model_set_rate_fn", _S, _P, RATE_FN, c_void_p)
_proto("lf_lr_schedule_default", LrSchedule, c_int)
_proto("lf_lr_schedule_rate", ctypes.c_float, ctypes.POINTER(LrSchedule), ctypes.c_float, ctypes.c_uint64)
_proto("lf_model_stop_training", _S, _P)
_proto("lf_set_trainable", _S, _P, c_int, c_int)
_proto("lf_node_trainable", c_int, _P, c_int)
_proto("lf_model_load", _S, _P, c_char_p)

_proto("lf_method_name", c_char_p, c_int)
_proto("lf_method_parse", c_int, c_char_p)
_proto("lf_method_list", c_size, c_int_p, c_size)
_proto("lf_method_family", c_int, c_int)
_proto("lf_fusion_defaults", FusionOptions)
_proto("lf_fusion_create", _S, ctypes.POINTER(c_void_p))
_proto("lf_fusion_free", None, _P)
_proto("lf_fusion_error", c_char_p, _P)
_proto("lf_fusion_fit", _S, _P, _P, _P, c_size, c_size, c_size, c_void_p, ctypes.POINTER(FusionOptions))
_proto("lf_fusion_predict", _S, _P, _P, c_size, c_void_p)
_proto("lf_fusion_predict_features", _S, _P, _P, c_size, c_void_p, c_size, c_void_p, c_char_p, c_size)
_proto("lf_fusion_predict_defaults", PredictOptions)
_proto("lf_fusion_predict_with", _S, _P, _P, c_size, ctypes.POINTER(PredictOptions), c_void_p, c_char_p, c_size)
_proto("lf_fusion_n_features", c_size, _P)
_proto("lf_fusion_neighbors", c_size, _P)
_proto("lf_fusion_penalty", c_char_p, _P, c_float_p)
_proto("lf_fusion_save", _S, _P, c_char_p, ctypes.c_uint)
_proto("lf_fusion_load", _S, _P, c_char_p)
_proto("lf_fusion_method", c_int, _P)
_proto("lf_fusion_calibrated", c_int, _P)
_proto("lf_fusion_logits", c_int, _P)
_proto("lf_fusion_num_models", c_size, _P)
_proto("lf_fusion_num_classes", c_size, _P)
_proto("lf_fusion_model_name", c_char_p, _P, c_size)
_proto("lf_fusion_temperature", ctypes.c_float, _P, c_size)
_proto("lf_fusion_weights", c_size, _P, c_void_p, c_size, ctypes.POINTER(c_size), ctypes.POINTER(c_size))
_proto("lf_fusion_compare", _S, _P, _P, _P, c_size, c_size, c_size, c_void_p, c_void_p, c_size,
       ctypes.POINTER(FusionOptions), ctypes.POINTER(ctypes.POINTER(CompareTable)))
_proto("lf_compare_table_free", None, ctypes.POINTER(CompareTable))
_proto("lf_fusion_importance", c_size, _P, c_void_p, c_void_p, c_size)
_proto("lf_fusion_auto_note", c_char_p, _P)
_proto("lf_fusion_ensemble_member", c_size, _P, c_size, ctypes.POINTER(c_int), ctypes.POINTER(c_int),
       ctypes.POINTER(ctypes.c_double), ctypes.POINTER(c_int))
_proto("lf_check_outputs", _S, _P, _P, c_size, c_size, c_size, c_int, c_size, ctypes.POINTER(InputIssue))
_proto("lf_labels_from_matrix", _S, c_void_p, c_size, c_size, c_size, c_void_p, ctypes.POINTER(InputIssue))
_proto("lf_fusion_predict_files", _S, _P, _P, _P, c_size, c_char_p, ctypes.POINTER(PredictFilesOptions),
       ctypes.POINTER(PredictFilesResult))
_proto("lf_fusion_metrics", _S, c_void_p, c_void_p, c_size, c_size, ctypes.c_double * NUM_METRICS)
_proto("lf_folds_stratified", _S, c_void_p, c_size, c_size, c_size, ctypes.c_uint64, c_void_p, c_char_p, c_size)
_proto("lf_fusion_set_class_names", _S, _P, _P, c_size)
_proto("lf_fusion_class_name", c_char_p, _P, c_size)
_proto("lf_fusion_history", ctypes.POINTER(History), _P)
_proto("lf_report_defaults", ReportOptions)
_proto("lf_fusion_report", _S, _P, _P, _P, c_size, c_size, c_size, c_void_p, ctypes.POINTER(ReportOptions),
       c_char_p, ctypes.c_uint)


_BAR = re.compile(r"^\r?(\d+/\d+) \[[=>.]*\]")


def progress_printer(bar, plain=False):
    """A progress callback (PROGRESS_FN) that writes the library's Keras-style
    text (lf_progress_format) to sys.stderr; the redrawn lines (a step's bar,
    compare's method) only when `bar`; `plain` (fit's verbose=2, as Keras):
    an epoch's line without its bar ("2/2 - 0s 6us/step - loss: ...").
    Assigning it to an options struct's `progress` field keeps it alive as
    long as the struct."""
    import sys
    import time
    buf = ctypes.create_string_buffer(512)
    last = [0.0]

    def show(ctx, p):
        if p.contents.event in _REDRAW and not bar:
            return
        if p.contents.event == 1 and p.contents.step < p.contents.steps:
            # a fit reporting every step (per-batch callbacks): the bar is
            # redrawn at most every 0.1 s, as the library's own reports
            t = time.monotonic()
            if t - last[0] <= 0.1:
                return
            last[0] = t
        lib.lf_progress_format(p, buf, len(buf))
        text = buf.value.decode("utf-8", "replace")
        sys.stderr.write(_BAR.sub(r"\1", text) if plain else text)
        sys.stderr.flush()

    return PROGRESS_FN(show)


def stderr_tty():
    import sys
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def status_string(st):
    s = lib.lf_status_string(st)
    return s.decode() if s else "status %d" % st


def raise_model(handle, st, what=None):
    """Raises LatefuseError for status st with the model's message."""
    msg = lib.lf_model_error(handle) if handle else b""
    msg = msg.decode("utf-8", "replace") if msg else ""
    if not msg:
        msg = status_string(st) if what is None else "%s: %s" % (what, status_string(st))
    raise LatefuseError(msg, st, status_string(st))


def raise_fusion(handle, st, what=None):
    msg = lib.lf_fusion_error(handle) if handle else b""
    msg = msg.decode("utf-8", "replace") if msg else ""
    if not msg:
        msg = status_string(st) if what is None else "%s: %s" % (what, status_string(st))
    raise LatefuseError(msg, st, status_string(st))


# ------------------------------------------------------------------ arrays

def as_f32(a, what):
    """`a` as a C-contiguous float32 ndarray.  No copy when it already is one
    (np.ascontiguousarray is then the identity); float64 or Fortran-ordered
    input is converted once, since the library reads row-major float32."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # pragma: no cover - numpy's own message
        raise ValueError("%s: cannot be read as an array (%s)" % (what, exc))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError("%s: expected a numeric array, got dtype %s" % (what, arr.dtype))
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("%s: complex values are not supported" % what)
    return np.ascontiguousarray(arr, dtype=np.float32)


def ptr(a):
    """Address of an ndarray's data (None for None)."""
    return None if a is None else a.ctypes.data


def ptr_table(arrays):
    """A `const float *const *` table for a list of ndarrays (None -> NULL).
    The caller keeps `arrays` alive during the call."""
    tab = (c_void_p * max(1, len(arrays)))(*[ptr(a) for a in arrays])
    return tab


def typed_table(arrays):
    """An `lf_typed_array` table for a list of C-contiguous float32, int32
    or uint8 ndarrays.  The caller keeps `arrays` alive during the call."""
    kinds = {np.dtype(np.float32): DTYPE_FLOAT32, np.dtype(np.int32): DTYPE_INT32,
             np.dtype(np.uint8): DTYPE_UINT8}
    tab = (TypedArray * max(1, len(arrays)))()
    for i, a in enumerate(arrays):
        tab[i].dtype, tab[i].data = kinds[a.dtype], a.ctypes.data
    return tab


def name_table(names, what):
    """A `const char *const *` table of the names (UTF-8) and the bytes it
    points into (keep them alive).  A name holding a NUL character is
    refused (ValueError, the `what` 1-based): C would read it cut there, as
    another name."""
    enc = [n.encode("utf-8") for n in names]
    for i, b in enumerate(enc):
        if b"\0" in b:
            raise ValueError("%s %d holds a NUL character: %r" % (what, i + 1, names[i]))
    return (c_char_p * max(1, len(enc)))(*enc), enc
