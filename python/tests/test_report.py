"""
test_report.py — the HTML report from Python (latefuse.report,
Fusion.report) is the page the CLI writes for the same data and command;
class names travel with a Fusion and its file; a learned Fusion keeps its
training history, in its file too; Model.fit's History draws with matplotlib where it is
installed and says what is missing where it is not.
"""
import os
import re
import subprocess

import numpy as np
import pytest

import latefuse
from conftest import cli_path, make_task


def _cli_env():
    """The CLI's environment: without the sanitizer runtime python_test.sh
    preloads into Python (a sanitizer build's latefuse links its own)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def test_report_matches_the_cli(tmp_path):
    (p1, p2), y = make_task(n=240, seed=3)
    p2 = p2.copy()
    p2[::11] = np.nan
    f = latefuse.Fusion(method="wavg-class", seed=1).fit([p1, p2], y, names=["image", "text"],
                                                         class_names=["cat", "dog", "<bird>"])
    assert f.class_names_ == ["cat", "dog", "<bird>"]
    assert f.history_ is not None and len(f.history_["loss"]) >= 3
    fpath = str(tmp_path / "f.lff")
    f.save(fpath)
    g = latefuse.Fusion.load(fpath)
    assert g.class_names_ == ["cat", "dog", "<bird>"] and g.history_ == f.history_  # kept in the file
    for k, p in (("image", p1), ("text", p2)):
        np.save(str(tmp_path / (k + ".npy")), p)
    np.save(str(tmp_path / "y.npy"), y.astype(np.int64))
    cmd = "latefuse report -f f.lff"
    a = g.report(str(tmp_path / "a.html"), [p1, p2], y, methods=["mean", "wavg"], folds=3, command=cmd)
    b = latefuse.report(str(tmp_path / "b.html"), [p1, p2], y, names=["image", "text"], methods="mean,wavg".split(","),
                        fusion=g, folds=3, command=cmd)
    ha, hb = open(a, encoding="utf-8").read(), open(b, encoding="utf-8").read()
    assert ha == hb
    assert len(re.findall(r'<figure class="reliability"', ha)) == 5
    assert "&lt;bird&gt;" in ha and "<bird>" not in ha
    cli = cli_path()
    if not cli or not os.path.exists(cli):
        pytest.fail("the latefuse CLI is not built: %r" % cli)
    out = subprocess.run([cli, "report", "-m", "image=image.npy", "-m", "text=text.npy", "-y", "y.npy", "-f", "f.lff",
                          "--methods", "mean,wavg", "--folds", "3", "-o", "c.html"], cwd=str(tmp_path),
                         capture_output=True, text=True, env=_cli_env())
    assert out.returncode == 0, out.stderr
    hc = open(str(tmp_path / "c.html"), encoding="utf-8").read()
    # the same page but for the command line, which the CLI writes as given
    strip = lambda h: re.sub(r'<pre class="command">.*?</pre>', "", h, flags=re.S)
    assert strip(hc) == strip(ha)
    assert "latefuse report -m image=image.npy -m text=text.npy -y y.npy -f f.lff" in hc


def test_unfitted_report_uses_the_settings(tmp_path):
    (p1, p2), y = make_task(n=150, seed=4)
    f = latefuse.Fusion(method="mean", folds=3, seed=2)
    path = f.report(str(tmp_path / "u.html"), [p1, p2], y, methods=["mean", "product"])
    h = open(path, encoding="utf-8").read()
    assert 'data-fused="true" data-stage="after"' in h
    same = latefuse.report(str(tmp_path / "v.html"), [p1, p2], y, methods=["mean", "product"], folds=3, seed=2)
    assert open(same, encoding="utf-8").read() == h
    with pytest.raises(ValueError, match=r"report: 2 class names given for 3 classes"):
        latefuse.report(str(tmp_path / "w.html"), [p1, p2], y, class_names=["a", "b"])
    with pytest.raises(latefuse.LatefuseError, match=r"class name 2 is empty"):
        latefuse.Fusion(method="mean").fit([p1, p2], y, class_names=["a", "", "c"])
    # a NUL character is refused, not cut there by C (the name or text
    # shown, or kept in the file, would be another); names given twice too
    with pytest.raises(ValueError, match=r"class name 1 holds a NUL character: 'a\\x00b'"):
        latefuse.Fusion(method="mean").fit([p1, p2], y, class_names=["a\0b", "c", "d"])
    with pytest.raises(ValueError, match=r"class name 3 holds a NUL character"):
        latefuse.Fusion(method="mean").fit([p1, p2], np.array(["a", "b", "c\0d"])[y])
    with pytest.raises(ValueError, match=r"model name 1 holds a NUL character"):
        latefuse.Fusion(method="mean").fit([p1, p2], y, names=["img\0x", "txt"])
    for kw, what in ((dict(class_names=["a", "b\0", "c"]), "class name 2 holds"),
                     (dict(names=["a", "b\0"]), "model name 2 holds"),
                     (dict(title="t\0x"), "report: the title holds"), (dict(command="c\0d"), "report: the command holds")):
        with pytest.raises(ValueError, match=what):
            latefuse.report(str(tmp_path / "w.html"), [p1, p2], y, methods=["mean"], folds=3, **kw)
    with pytest.raises(latefuse.LatefuseError, match=r"report: class names 1 and 3 are the same"):
        latefuse.report(str(tmp_path / "w.html"), [p1, p2], y, methods=["mean"], folds=3, class_names=["a", "b", "a"])
    assert not os.path.exists(str(tmp_path / "w.html"))


def test_report_of_a_fusion_fitted_with_features(tmp_path):
    # dynamic selection in a feature space: the page shows the model's own
    # output on these rows, which needs their features (as predict does)
    (p1, p2), y = make_task(n=120, seed=5)
    x = np.random.default_rng(5).standard_normal((120, 3)).astype(np.float32)
    f = latefuse.Fusion(method="knora-u", seed=1).fit([p1, p2], y, features=x)
    path = f.report(str(tmp_path / "k.html"), [p1, p2], y, methods=["knora-u", "mean"], folds=3, features=x)
    h = open(path, encoding="utf-8").read()
    acc = np.mean(f.predict([p1, p2], features=x) == y)
    lead = re.search(r'<p class="lead">.*?accuracy ([0-9.]+)', h).group(1)
    assert lead == "%.4f" % acc
    with pytest.raises(latefuse.LatefuseError, match=r"fitted with 3 features a row"):
        f.report(str(tmp_path / "n.html"), [p1, p2], y, methods=["mean"], folds=3)
    assert not os.path.exists(str(tmp_path / "n.html"))
    # without a fitted model, the features go to the table's dynamic selection only
    latefuse.report(str(tmp_path / "t.html"), [p1, p2], y, methods=["knora-e", "mean"], folds=3, features=x)


def test_history_plot():
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    t = (x[:, :1] > 0).astype(np.float32)
    inp = latefuse.layers.Input(shape=(4,))
    out = latefuse.layers.Dense(1, activation="sigmoid")(inp)
    m = latefuse.Model(inp, out)
    m.compile(optimizer="adam", loss="binary_crossentropy")
    h = m.fit(x, t, epochs=3, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["loss", "val_loss"] and len(h.history["loss"]) == 3
    try:
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        with pytest.raises(ImportError, match=r"History.plot needs matplotlib"):
            h.plot()
        return
    ax = h.plot()
    assert [ln.get_label() for ln in ax.get_lines()] == ["loss", "val_loss"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
