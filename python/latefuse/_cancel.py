"""
_cancel.py — a long C call that Ctrl-C can stop, through the library's
cancel flag (lf_fusion_options.cancel, lf_fit_options.cancel): the call
runs on a worker thread while the main thread, which alone receives
signals in Python, waits and turns a signal's exception into the flag.
Used by Fusion.fit, predict over more than one block, compare, report and
predict_files (fusion.py) and by Model.fit (models.py).
"""
import ctypes
import signal
import threading


class _Cancel:
    """A long C call that Ctrl-C can stop: it runs on a worker thread while
    the main thread waits, able to handle signals; a signal's exception
    (KeyboardInterrupt, or any exception a signal handler raises) sets the
    library's cancel flag (`flag`: the options' cancel points at it), so
    the call stops within a unit of its work, and is kept (`cancelled`) for
    the caller to raise once the call has returned.  Used by Fusion.fit,
    compare and report (lf_fusion_options.cancel), Fusion.predict and
    predict_proba (lf_fusion_predict_options.cancel), Model.fit
    (lf_fit_options.cancel) and, with its temporary files, predict_files
    (fusion.py's _TempFiles)."""

    def __init__(self):
        self.cancelled = None  # the exception that cancelled the call
        self.flag = ctypes.c_int(0)

    def pointer(self):
        """What the options' cancel field takes."""
        return ctypes.pointer(self.flag)

    def discard(self, exc):
        """A signal's exception while the call runs: the library is told to stop."""
        self.cancelled = exc
        self.flag.value = 1

    _handles_term = False  # _TempFiles: SIGTERM removes the temporary files first (its _on_term)

    def run(self, call, name="latefuse-call"):
        """call() on a worker thread while the main thread waits, able to
        handle signals; elsewhere (signals reach the main thread only)
        directly."""
        if threading.current_thread() is not threading.main_thread():
            return call()
        result, failed, done = [], [], threading.Event()

        def work():
            try:
                result.append(call())
            except BaseException as ex:  # told on the main thread
                failed.append(ex)
            finally:
                done.set()

        worker = threading.Thread(target=work, name=name, daemon=True)
        old_term = signal.getsignal(signal.SIGTERM) if self._handles_term else None
        if old_term is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self._on_term)
        try:
            pending = None  # a signal's exception not yet acted on
            try:
                worker.start()  # its wait for the thread to begin can take a signal too
            except RuntimeError:
                raise  # no thread: nothing runs
            except BaseException as ex:
                pending = ex
            # (not join: a join interrupted by a signal can take the worker for finished)
            while True:
                try:
                    if pending is not None:
                        ex, pending = pending, None
                        if self.cancelled is None:
                            self.discard(ex)
                    if done.wait(0.25):
                        break
                except BaseException as ex:  # KeyboardInterrupt, or a signal handler's exception
                    pending = ex
        finally:
            if old_term is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if failed:
            raise failed[0]
        return result[0]
