"""
test_fusion_review.py — a reviewer's findings on Fusion, each pinned:
string labels survive save/load; a refit while other threads predict does
not crash (a lock per Fusion); predict_files interrupted by Ctrl-C or
SIGTERM leaves no output and no temporary file, and Ctrl-C returns within
a chunk of a long fusion (the library's cancel flag), as it does within a
unit of a long fit, compare or report (no page left), an interrupted fit
leaving its Fusion unfitted; errors in Python's terms
(not fitted yet, logits=True, auto in compare, the refused model name,
files given as a list, seeds outside uint64).

The crash and signal tests run in a child process: a segfault or a SIGTERM
there fails the test instead of ending pytest.
"""
import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import latefuse
from latefuse import LatefuseError
from conftest import REPO, make_task

PYDIR = os.path.join(REPO, "python")
TESTS = os.path.dirname(os.path.abspath(__file__))


def _child(code, tmp_path, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=timeout)


# ------------------------------------------------------------ 1. labels

def test_string_labels_survive_save_and_load(tmp_path):
    (a, b), y = make_task(n=200, c=4, seed=3)
    names = np.array(["cat", "dog", "eel", "fox"])
    ys = names[y]
    f = latefuse.Fusion(method="mean").fit([a, b], ys)
    before = f.predict([a, b])
    assert before.dtype.kind == "U" and set(before) <= set(names)
    f.save(str(tmp_path / "s.lf"))
    g = latefuse.Fusion.load(str(tmp_path / "s.lf"))
    np.testing.assert_array_equal(g.classes_, f.classes_)
    np.testing.assert_array_equal(g.predict([a, b]), before)
    assert g.class_names_ == list(names)
    assert g.score(np.stack([a, b], 1), ys) == f.score(np.stack([a, b], 1), ys) > 0.5
    # a pickle of the loaded model keeps them too
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(g)).predict([a, b]), before)


def test_index_labels_without_names_load_as_indices(tmp_path):
    (a, b), y = make_task(n=100, c=3, seed=4)
    f = latefuse.Fusion(method="mean").fit([a, b], y)
    f.save(str(tmp_path / "i.lf"))
    g = latefuse.Fusion.load(str(tmp_path / "i.lf"))
    np.testing.assert_array_equal(g.classes_, np.arange(3))
    np.testing.assert_array_equal(g.predict([a, b]), f.predict([a, b]))


# ------------------------------------------------------------ 2. refit race

def test_refit_while_other_threads_predict_does_not_crash(tmp_path):
    r = _child("""
        import threading, collections
        import numpy as np, latefuse
        from conftest import make_task
        (a, b), y = make_task(n=600, c=4, seed=1)
        g = latefuse.Fusion(method="knora-u").fit([a, b], y)
        ref = g.predict_proba([a, b])
        res = collections.Counter(); stop = []
        def p():
            while not stop:
                try:
                    r = g.predict_proba([a, b])
                    res["ok" if np.array_equal(r, ref) else "different"] += 1
                except Exception as ex:
                    res[type(ex).__name__ + ": " + str(ex)] += 1
        ts = [threading.Thread(target=p) for _ in range(2)]
        [t.start() for t in ts]
        for _ in range(15):
            g.fit([a, b], y)
        stop.append(1); [t.join() for t in ts]
        print(dict(res))
    """, tmp_path)
    assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:])
    res = eval(r.stdout.strip().splitlines()[-1])
    assert set(res) == {"ok"} and res["ok"] > 0, res


def test_concurrent_predicts_are_identical_and_the_lock_does_not_travel():
    (a, b), y = make_task(n=400, c=3, seed=2)
    f = latefuse.Fusion(method="knora-u").fit([a, b], y)
    ref = f.predict_proba([a, b])
    out = [None] * 4

    def p(i):
        out[i] = f.predict_proba([a, b])

    ts = [threading.Thread(target=p, args=(i,)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    for o in out:
        assert o.tobytes() == ref.tobytes()
    assert "_rwlock" in f.__dict__  # made by the predicts
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert g.__dict__.get("_rwlock") is not f.__dict__["_rwlock"]
        assert g.predict_proba([a, b]).tobytes() == ref.tobytes()
        g.fit([a, b], y)  # its own lock
    sk = pytest.importorskip("sklearn.base")
    assert sk.clone(f).fit([a, b], y).predict_proba([a, b]).tobytes() == ref.tobytes()


# ------------------------------------------------------------ 3. predict_files and signals

_SIGNAL_CHILD = """
    import os, signal, sys, time
    import numpy as np, latefuse
    from latefuse import fusion
    from conftest import make_task
    # Python's Ctrl-C even where the shell started us with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    (a, b), y = make_task(n=3000, c=3, seed=5)
    np.save("a.npy", a); np.save("b.npy", b)
    f = latefuse.Fusion(method="mean").fit([a, b], y, names=["a", "b"])
    os.mkdir("out")
    real = fusion._TempFiles.event
    seen = []
    def event(self, ctx, ev, path, ok):
        real(self, ctx, ev, path, ok)
        if ev == 1:  # CREATED
            seen.append(os.fsdecode(path))
            if len(seen) == 2:  # both temporary files exist: the signal comes now
                assert all(os.path.exists(p) for p in seen), seen
                os.kill(os.getpid(), getattr(signal, sys.argv[1]))
                t = time.time()
                while self.cancelled is None and time.time() - t < 10:
                    time.sleep(0.01)
    fusion._TempFiles.event = event
    if sys.argv[2] == "slow-start":  # the signal comes while the main thread still starts the worker
        import threading
        real_start = threading.Thread.start
        def start(self):
            real_start(self)
            if self.name == "latefuse-predict-files":
                time.sleep(2)
        threading.Thread.start = start
    try:
        f.predict_files({"a": "a.npy", "b": "b.npy"}, "out/p.npy", classes_out="out/c.npy")
        print("finished")
    except KeyboardInterrupt:
        print("interrupted")
    print("left:", sorted(os.listdir("out")))
    f.predict_files({"a": "a.npy", "b": "b.npy"}, "out/p.npy", classes_out="out/c.npy")
    fusion._TempFiles.event = real
    f.predict_files({"a": "a.npy", "b": "b.npy"}, "out/p2.npy")
    print("after:", sorted(os.listdir("out")))
"""


def _signal_child(sig, tmp_path, when="fusing"):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(_SIGNAL_CHILD), sig, when], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=120)


@pytest.mark.parametrize("when", ["fusing", "slow-start"])
def test_ctrl_c_during_predict_files_leaves_nothing(tmp_path, when):
    r = _signal_child("SIGINT", tmp_path, when)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "interrupted" and lines[1] == "left: []", r.stdout
    assert lines[2] == "after: ['c.npy', 'p.npy', 'p2.npy']", r.stdout  # the next calls work


def test_sigterm_during_predict_files_removes_the_temporary_files(tmp_path):
    r = _signal_child("SIGTERM", tmp_path)
    assert r.returncode == -signal.SIGTERM, (r.returncode, r.stdout, r.stderr[-2000:])
    assert os.listdir(str(tmp_path / "out")) == []


_LONG_CHILD = """
    import os, signal, sys, threading, time
    import numpy as np, latefuse
    from latefuse import fusion
    signal.signal(signal.SIGINT, signal.default_int_handler)
    N, C = 2000000, 3  # knora-u: about 3 s a million rows on one thread (2026-12-04)
    rng = np.random.default_rng(0)
    for name in "ab":
        x = rng.random((N, C), dtype=np.float32)
        np.save(name + ".npy", x / x.sum(1, keepdims=True))
    a, b = np.load("a.npy", mmap_mode="r")[:1000], np.load("b.npy", mmap_mode="r")[:1000]
    f = latefuse.Fusion(method="knora-u").fit([np.array(a), np.array(b)], np.arange(1000) % C, names=["a", "b"])
    os.mkdir("out")
    real = fusion._TempFiles.event
    sent = []
    def fire():
        time.sleep(0.2)  # well inside the fusing
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    def event(self, ctx, ev, path, ok):
        real(self, ctx, ev, path, ok)
        if ev == 1 and len(self.paths) == 2:  # both temporary files exist
            threading.Thread(target=fire).start()
    fusion._TempFiles.event = event
    try:
        f.predict_files({"a": "a.npy", "b": "b.npy"}, "out/p.npy", classes_out="out/c.npy")
        print("finished")
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.monotonic() - sent[0]))
    print("left:", sorted(os.listdir("out")))
"""


def test_ctrl_c_stops_a_long_predict_files_promptly(tmp_path):
    # the library's cancel flag: the call returns within a chunk, not at the
    # end of the 2 million rows (about 6 s here without the flag)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS])
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_LONG_CHILD)], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("interrupted ") and lines[1] == "left: []", r.stdout
    assert float(lines[0].split()[1]) < 1.5, "Ctrl-C took %s s to return" % lines[0].split()[1]


_PREDICT_CHILD = """
    import os, signal, sys, threading, time
    import numpy as np, latefuse
    signal.signal(signal.SIGINT, signal.default_int_handler)
    N, C = 2000000, 3  # knora-u: about 3 s a million rows on one thread (2026-12-04)
    rng = np.random.default_rng(0)
    P = []
    for _ in range(2):
        x = rng.random((N, C), dtype=np.float32)
        P.append(x / x.sum(1, keepdims=True))
    f = latefuse.Fusion(method="knora-u").fit([p[:1000] for p in P], np.arange(1000) % C)
    sent = []
    def fire():
        time.sleep(0.3)  # well inside the fusing
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=fire).start()
    try:
        f.predict_proba(P)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.monotonic() - sent[0]))
    print(f.predict_proba([p[:5] for p in P]).shape)  # the next call works
"""


def test_ctrl_c_stops_a_long_predict_in_memory_promptly(tmp_path):
    # lf_fusion_predict_with's cancel flag: the call returns within a block
    # of 65536 rows, not at the end of the 2 million (about 6 s here)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS])
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_PREDICT_CHILD)], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("interrupted ") and lines[1] == "(5, 3)", r.stdout
    assert float(lines[0].split()[1]) < 1.5, "Ctrl-C took %s s to return" % lines[0].split()[1]


_FIT_CHILD = """
    import os, signal, sys, threading, time
    import numpy as np, latefuse
    from latefuse import fusion
    signal.signal(signal.SIGINT, signal.default_int_handler)
    what, N, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "no-flag":  # the C call without the flag (to measure the difference)
        fusion._Cancel.pointer = lambda self: None
    C, M = 5, 3
    rng = np.random.default_rng(0)
    y = rng.integers(0, C, N)
    P = []
    for m in range(M):
        z = rng.normal(size=(N, C)); z[np.arange(N), y] += 1.0 + 0.3 * m
        e = np.exp(z); P.append((e / e.sum(1, keepdims=True)).astype(np.float32))
    sent = []
    def fire():
        time.sleep(delay)  # well inside the call
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    f = latefuse.Fusion(method="mean").fit(P, y)  # fitted before: the interrupted fit leaves it unfitted
    os.mkdir("out")
    t0 = time.monotonic()
    threading.Thread(target=fire).start()
    try:
        if what == "fit":
            f.set_params(method="auto").fit(P, y)
        elif what == "compare":
            latefuse.compare(P, y, as_frame=False)
        else:
            latefuse.report("out/r.html", P, y)
        print("finished %.3f" % (time.monotonic() - t0))
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.monotonic() - sent[0]))
    print("left:", sorted(os.listdir("out")))
    try:
        f.predict(P)
        print("fitted")
    except latefuse.NotFittedError:
        print("unfitted")
    f.set_params(method="mean").fit(P, y)  # the next call works
    print("refit", f.method_)
"""


@pytest.mark.parametrize("what", ["fit", "compare", "report"])
def test_ctrl_c_stops_a_long_fit_compare_or_report_promptly(tmp_path, what):
    # the library's cancel flag (lf_fusion_options.cancel): Ctrl-C 1 s into
    # an auto fit of 100000 rows (about 80 s to its end on one thread),
    # compare or report returns within a unit of their work
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS])
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_FIT_CHILD), what, "100000", "1.0"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("interrupted ") and lines[1] == "left: []", r.stdout
    assert float(lines[0].split()[1]) < 1.5, "Ctrl-C took %s s to return" % lines[0].split()[1]
    assert lines[2] == ("unfitted" if what == "fit" else "fitted") and lines[3] == "refit mean", r.stdout


def test_predict_files_outside_the_main_thread(tmp_path):
    (a, b), y = make_task(n=50, c=3, seed=6)
    np.save(str(tmp_path / "a.npy"), a)
    np.save(str(tmp_path / "b.npy"), b)
    f = latefuse.Fusion(method="mean").fit([a, b], y, names=["a", "b"])
    got = []
    t = threading.Thread(target=lambda: got.append(f.predict_files(
        [("a", str(tmp_path / "a.npy")), ("b", str(tmp_path / "b.npy"))], str(tmp_path / "p.npy"))))
    t.start()
    t.join()
    assert got == [(50, 3)]
    np.testing.assert_array_equal(np.load(str(tmp_path / "p.npy")), f.predict_proba([a, b]))
    assert sorted(os.listdir(str(tmp_path))) == ["a.npy", "b.npy", "p.npy"]


# ------------------------------------------------------------ 4. messages

def test_messages_in_python_terms(tmp_path):
    (a, b), y = make_task(n=100, c=3, seed=7)
    for call in (lambda: latefuse.Fusion(method="mean").predict([a, b]),
                 lambda: latefuse.Fusion(method="mean").predict_proba([a, b])):
        with pytest.raises(latefuse.NotFittedError, match="not fitted yet") as ei:
            call()
        assert isinstance(ei.value, ValueError) and isinstance(ei.value, AttributeError)
    with pytest.raises(LatefuseError, match=r"raw scores need logits=True") as ei:
        latefuse.Fusion(method="mean").fit([a * 2, b], y)
    assert "--logits" not in str(ei.value)
    with pytest.raises(ValueError, match=r"'auto' is not compared: auto chooses among the methods"):
        latefuse.compare([a, b], y, methods="auto")
    with pytest.raises(ValueError, match=r"'auto' is not compared"):
        latefuse.compare([a, b], y, methods=["mean", "auto"])
    with pytest.raises(LatefuseError, match=r"model name 'x y' \(names\[1\]\) must have 1 to 63 characters"):
        latefuse.Fusion(method="mean").fit([a, b], y, names=["ok", "x y"])
    with pytest.raises(LatefuseError, match=r"model name 'x y' \(names\[1\]\)"):
        latefuse.compare([a, b], y, methods="mean", names=["ok", "x y"])
    f = latefuse.Fusion(method="mean").fit([a, b], y)
    with pytest.raises(TypeError, match=r"files must map each model's name to its file, e.g. \{'model0': path"):
        f.predict_files([str(tmp_path / "a.npy"), str(tmp_path / "b.npy")], str(tmp_path / "o.npy"))
    with pytest.raises(TypeError, match="a single path"):
        f.predict_files(str(tmp_path / "a.npy"), str(tmp_path / "o.npy"))
    for bad in (-1, 2 ** 64, 1.5, "3"):
        with pytest.raises(ValueError, match=r"seed must be an integer in 0..2\*\*64-1"):
            latefuse.Fusion(method="wavg", seed=bad).fit([a, b], y)
        with pytest.raises(ValueError, match=r"seed must be an integer in 0..2\*\*64-1"):
            latefuse.stratified_folds(y, seed=bad)
    top = latefuse.Fusion(method="wavg", seed=2 ** 64 - 1).fit([a, b], y)
    assert top.get_params()["seed"] == 2 ** 64 - 1
    assert os.listdir(str(tmp_path)) == []


def test_a_refused_report_does_not_keep_the_lock(tmp_path):
    (a, b), y = make_task(n=100, c=3, seed=8)
    f = latefuse.Fusion(method="mean").fit([a, b], y)
    with pytest.raises(ValueError, match="2 class names given for 3 classes"):
        f.report(str(tmp_path / "r.html"), [a, b], y, class_names=["x", "y"])
    t = threading.Thread(target=lambda: f.fit([a, b], y), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "fit waits for a lock that a failed report kept"


# ------------------------------------------------ outputs that are inputs

def test_predict_files_refuses_an_output_that_is_an_input(tmp_path):
    (a, b), y = make_task(n=100, c=3, seed=5)
    f = latefuse.Fusion(method="mean").fit([a, b], y, names=["a", "b"])
    pa, pb = str(tmp_path / "a.npy"), str(tmp_path / "b.npy")
    np.save(pa, a), np.save(pb, b)
    before = open(pb, "rb").read()
    with pytest.raises(LatefuseError, match=r"is the same file as input 2 .*nothing was read or written"):
        f.predict_files({"a": pa, "b": pb}, pb)
    with pytest.raises(LatefuseError, match=r"the classes output .* is the same file as input 1"):
        f.predict_files({"a": pa, "b": pb}, str(tmp_path / "out.npy"), classes_out=pa)
    with pytest.raises(LatefuseError, match=r"are the same file"):
        f.predict_files({"a": pa, "b": pb}, str(tmp_path / "out.npy"), classes_out=str(tmp_path / "out.npy"))
    assert open(pb, "rb").read() == before and not os.path.exists(str(tmp_path / "out.npy"))
