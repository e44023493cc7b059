"""
webnews.py — examples/webnews.c with the Keras-style Python API: the
founding question's system on Web_News (news photos 64x64 with Chinese
captions, 10 classes; ../shared/data/webnews/README.md).

An image CNN branch and a text branch (TextVectorization tf_idf over
character 1..3-grams -> Dense(64, relu) -> Dropout), each ending in
Dense(10, softmax); each alone (the mean of its fold models: bagging,
over 4 draws of the five folds by default, --repeats R), the question's
Concatenate head and the answer's WeightedAverage / ClassWeightedAverage
trained end to end, the WeightedAverage with each
branch keeping a loss of its own (loss_weights 1, 0.5, 0.5; bagged over
draw 0's folds), the fusion layers over a fold's frozen branches
(trainable = False, draw 0's) trained on the fold's held-out items, and
two-stage late fusion (out-of-fold branch outputs on the training items,
each item's the mean over the draws -> latefuse.Fusion(method="auto")), also with a
second text model (text2: sublinear tf_idf over character 1..2-grams ->
Dense(10, softmax) with an L2 penalty), a third (text3: Dense(256, relu) over the text branch's
features), a fourth (text4: text2's model on each caption's first 100
characters), title (text2's model on each caption up to its first space)
and nbsvm (Wang & Manning's NB-SVM: per-class log-count ratios on
multi_hot character 1..3-grams, ten one-vs-rest logistic models with an L2
penalty, softmax over their logits) as members of late_fusion_all.  The same
settings as the C example (chosen there on a validation split of the
training items); prints the same table and, with --json, ends with one
JSON object of each model's test accuracy.

Run from the repository root after `make`:
    /usr/bin/python3 python/examples/webnews.py ../shared/data/webnews [--quick] [--json] [--seed S]
                                                [--repeats R] [--verbose]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import latefuse  # noqa: E402
from latefuse import Model, Fusion, fusion_metrics  # noqa: E402
from latefuse import regularizers  # noqa: E402
from latefuse.optimizers import Adam  # noqa: E402
from latefuse.layers import (Input, Dense, Dropout, Activation, Concatenate, Conv2D,  # noqa: E402
                             BatchNormalization, MaxPooling2D, AveragePooling2D,
                             GlobalAveragePooling2D, Rescaling, RandomFlip, RandomTranslation,
                             WeightedAverage, ClassWeightedAverage, TextVectorization)

C = 10
# --repeats: the fold draws by default and at most (examples/webnews.c's
# REPEATS and MAX_REPEATS)
REPEATS, MAX_REPEATS = 4, 20
FULL = dict(tokens=10000, text_scale=30.0, text_hidden=64, strided=False, img_pool=True, filters=(16, 32, 64, 128),
            bn_momentum=0.9, tta=False, ema=0.0, epochs=25, frozen_epochs=30, folds=5, n_train=0, tokens2=10000,
            ngrams2=(1, 2), text2_scale=100.0, text2_hidden=0, text2_epochs=30, text2_l2=0.4, text2_sublinear=True,
            text3_hidden=256, text3_epochs=25, text4_chars=100, repeats=REPEATS,
            nbsvm_tokens=20000, nbsvm_epochs=20, nbsvm_l2=1e-3, nbsvm_lr=0.001)
QUICK = dict(FULL, tokens=5000, epochs=8, frozen_epochs=4, folds=3, n_train=400, tokens2=5000, text2_epochs=8,
             text3_epochs=8, repeats=1, nbsvm_tokens=5000, nbsvm_epochs=8)
# the late fusions' members: the branches trained apart
MEMBERS = ["image", "text", "text2", "text3", "text4", "title", "nbsvm"]
# the model kinds in the order of examples/webnews.c's enum kind (the
# models' seeds are derived from it)
CODES = ["image", "text", "concat_head", "wavg", "wavg_class", "wavg_loss_weights", "wavg_frozen",
         "concat_head_frozen", "text2", "text3", "text4", "title", "nbsvm"]
# the layers with weights, copied by name from the branches trained apart
WEIGHTED = ["img_conv1", "img_bn1", "img_conv2", "img_bn2", "img_conv3", "img_bn3", "img_conv4", "img_bn4",
            "img_out", "txt_dense", "txt_out"]


def image_branch(inp, cfg):
    h = Rescaling(1.0 / 255, name="img_rescale")(inp)
    h = RandomFlip("horizontal", name="img_flip")(h)
    h = RandomTranslation(0.1, 0.1, fill_mode="constant", interpolation="nearest", name="img_shift")(h)
    if not cfg["strided"] and cfg["img_pool"]:
        h = AveragePooling2D(2, name="img_down")(h)
    for b, f in enumerate(cfg["filters"], 1):
        s = 2 if cfg["strided"] and b == 1 else 1
        h = Conv2D(f, 3, strides=s, padding="same", use_bias=False, name="img_conv%d" % b)(h)
        h = BatchNormalization(momentum=cfg["bn_momentum"], name="img_bn%d" % b)(h)
        h = Activation("relu", name="img_relu%d" % b)(h)
        h = MaxPooling2D(2, name="img_pool%d" % b)(h)
    h = GlobalAveragePooling2D(name="img_gap")(h)
    h = Dropout(0.3, name="img_drop")(h)
    return Dense(C, activation="softmax", name="img_out")(h)


def text_branch(inp, cfg):
    h = Rescaling(cfg["text_scale"], name="txt_scale")(inp)
    if cfg["text_hidden"]:
        h = Dense(cfg["text_hidden"], activation="relu", name="txt_dense")(h)
        h = Dropout(0.5, name="txt_drop")(h)
    return Dense(C, activation="softmax", name="txt_out")(h)


def text2_branch(inp, cfg, pre="txt2"):
    """The second text model, on the second view (txt2; pre "txt2"), or the
    same model on the captions' beginnings (txt4; pre "txt4")."""
    h = Rescaling(cfg["text2_scale"], name=pre + "_scale")(inp)
    if cfg["text2_hidden"]:
        h = Dense(cfg["text2_hidden"], activation="relu", name=pre + "_dense")(h)
        h = Dropout(0.5, name=pre + "_drop")(h)
    l2 = regularizers.L2(cfg["text2_l2"]) if cfg["text2_l2"] > 0 else None
    return Dense(C, activation="softmax", kernel_regularizer=l2, name=pre + "_out")(h)


def text3_branch(inp, cfg):
    """The third text model, on the text branch's features: a wider hidden
    layer (chosen out of fold by the C example's --tune=textcv)."""
    h = Rescaling(cfg["text_scale"], name="txt3_scale")(inp)
    h = Dense(cfg["text3_hidden"], activation="relu", name="txt3_dense")(h)
    h = Dropout(0.5, name="txt3_drop")(h)
    return Dense(C, activation="softmax", name="txt3_out")(h)


def build(kind, text_dim, cfg, seed):
    """Model `kind`, compiled (Adam, sparse categorical cross-entropy)."""
    if kind == "text2":
        txt2_in = Input((cfg["text2_dim"],), name="text2")
        m = Model([txt2_in], text2_branch(txt2_in, cfg), seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m
    if kind == "text4":
        txt4_in = Input((cfg["text4_dim"],), name="text4")
        m = Model([txt4_in], text2_branch(txt4_in, cfg, "txt4"), seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m
    if kind == "title":
        title_in = Input((cfg["title_dim"],), name="title")
        m = Model([title_in], text2_branch(title_in, cfg, "ttl"), seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m
    if kind == "text3":
        txt3_in = Input((text_dim,), name="text3")
        m = Model([txt3_in], text3_branch(txt3_in, cfg), seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m
    inputs, img_p, txt_p = [], None, None
    if kind != "text":
        img_in = Input((64, 64, 3), name="image")
        inputs.append(img_in)
        img_p = image_branch(img_in, cfg)
    if kind != "image":
        txt_in = Input((text_dim,), name="text")
        inputs.append(txt_in)
        txt_p = text_branch(txt_in, cfg)
    if kind == "image":
        out = img_p
    elif kind == "text":
        out = txt_p
    elif kind in ("concat_head", "concat_head_frozen"):
        h = Concatenate(name="concatenate")([img_p, txt_p])
        h = Dense(128, activation="relu", name="head_dense")(h)
        h = Dropout(0.2, name="head_dropout")(h)
        out = Dense(C, activation="softmax", name="head_out")(h)
    elif kind in ("wavg", "wavg_loss_weights", "wavg_frozen"):
        out = WeightedAverage(n_output=2, name="weighted_average")([img_p, txt_p])
    elif kind == "wavg_class":
        out = ClassWeightedAverage(n_output=2, name="class_weighted_average")([img_p, txt_p])
    else:
        raise ValueError(kind)
    # the models with an image input keep a moving average of their
    # weights when cfg["ema"] > 0 (Adam's use_ema) and end on it
    opt = Adam(use_ema=True, ema_momentum=cfg["ema"]) if cfg["ema"] > 0 and kind != "text" else "adam"
    if kind == "wavg_frozen":  # its two weights only: Adam at 0.01 (see examples/webnews.c)
        opt = Adam(learning_rate=0.01)
    if kind == "wavg_loss_weights":
        m = Model(inputs, [out, img_p, txt_p], seed=seed)
        m.compile(opt, "sparse_categorical_crossentropy", loss_weights=[1.0, 0.5, 0.5])
    else:
        m = Model(inputs, out, seed=seed)
        m.compile(opt, "sparse_categorical_crossentropy")
    return m


def transplant(dst, src):
    """The branch layers' weights of src into dst, frozen there."""
    names = {ly.name for ly in src.layers}
    for ly in dst.layers:
        if ly.name in WEIGHTED and ly.name in names:
            ly.set_weights(src.get_layer(ly.name).get_weights())
            ly.trainable = False


def inputs_of(kind, d):
    if kind == "text2":
        return d["txt2"]
    if kind == "text4":
        return d["txt4"]
    if kind == "title":
        return d["txtt"]
    if kind == "image":
        return d["img"]
    if kind in ("text", "text3"):
        return d["txt"]
    return [d["img"], d["txt"]]


def fit(kind, tr, text_dim, cfg, seed, img=None, txt=None, verbose=0):
    """Model `kind` trained on tr (the frozen kinds: the branches of img
    and txt copied in and frozen first)."""
    k = CODES.index(kind)
    m = build(kind, text_dim, cfg, seed + 1000 * k)
    frozen = kind.endswith("_frozen")
    if frozen:
        transplant(m, img)
        transplant(m, txt)
    y = tr["y"].astype(np.float32)
    ys = [y, y, y] if kind == "wavg_loss_weights" else y
    epochs = (cfg["frozen_epochs"] if frozen else cfg["text2_epochs"] if kind in ("text2", "text4", "title")
              else cfg["text3_epochs"] if kind == "text3" else cfg["epochs"])
    m.fit(inputs_of(kind, tr), ys, batch_size=32, epochs=epochs,
          seed=seed + 77 * k, verbose=2 if verbose else 0)
    return m


def predict(m, kind, d, tta):
    """m's probabilities on d (output 0's); with tta, a model with an image
    input also predicts on the mirror images and averages the two."""
    def first(p):
        return p[0] if isinstance(p, list) else p
    p = first(m.predict(inputs_of(kind, d)))
    if tta and kind not in ("text", "text2", "text3", "text4", "title"):
        flipped = dict(d, img=np.ascontiguousarray(d["img"][:, :, ::-1, :]))
        p = 0.5 * (p + first(m.predict(inputs_of(kind, flipped))))
    return p


def train(kind, tr, te, text_dim, cfg, seed, verbose=0):
    """Trains model `kind` on tr; returns (model, its test probabilities)."""
    m = fit(kind, tr, text_dim, cfg, seed, verbose=verbose)
    return m, predict(m, kind, te, cfg["tta"])


def weights_note(m, kind):
    if kind in ("wavg", "wavg_loss_weights", "wavg_frozen"):
        a = np.ravel(latefuse.softmax(m.get_layer("weighted_average").get_weights()[0]))
        return "softmax(W): image %.3f, text %.3f" % (a[0], a[1])
    if kind == "wavg_class":
        a = latefuse.softmax(m.get_layer("class_weighted_average").get_weights()[0])  # (1, C, 2)
        return "softmax(W) image share per class: " + " ".join("%.2f" % v for v in a[0, :, 0])
    return ""


def rows(d, idx):
    return {k: d[k][idx] for k in ("img", "txt", "txt2", "txt4", "txtt", "txtn", "y")}


def nbsvm(tr, outs, cfg, seed):
    """examples/webnews.c's nbsvm_fit_predict: Wang & Manning's NB-SVM with
    a logistic loss on tr's multi_hot rows x: per class c the log-count
    ratio r_c, a binary Input(V) -> Dense(1, sigmoid) with an L2 penalty
    trained on x * r_c (a float32 matrix), its logit b + sum_j x_j r_cj w_j
    on each split of outs (summed in float64 in column order, as the C
    example); returns the softmax over the ten logits for each."""
    x, y = tr["txtn"], tr["y"]
    k = CODES.index("nbsvm")
    cnt = np.zeros((C + 1, x.shape[1]))  # integer counts: exact in any order
    for c in range(C):
        cnt[c] = x[y == c].sum(0, dtype=np.float64)
    cnt[C] = cnt[:C].sum(0)
    logits = [np.zeros((len(o["y"]), C)) for o in outs]
    for c in range(C):
        p, q = 1 + cnt[c], 1 + cnt[C] - cnt[c]
        r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        inp = Input((x.shape[1],), name="nbsvm")
        l2 = regularizers.L2(cfg["nbsvm_l2"]) if cfg["nbsvm_l2"] > 0 else None
        m = Model([inp], Dense(1, activation="sigmoid", kernel_regularizer=l2, name="nb_out")(inp),
                  seed=seed + 1000 * k + c)
        m.compile(Adam(learning_rate=cfg["nbsvm_lr"]), "binary_crossentropy")
        m.fit(x * r, (y == c).astype(np.float32), batch_size=32, epochs=cfg["nbsvm_epochs"],
              seed=seed + 77 * k + c, verbose=0)
        w, b = m.get_layer("nb_out").get_weights()
        rw = r.astype(np.float64)
        for o, z in zip(outs, logits):
            terms = o["txtn"].astype(np.float64) * rw * np.ravel(w).astype(np.float64)
            z[:, c] = np.cumsum(np.concatenate([np.full((len(z), 1), float(np.ravel(b)[0])), terms], 1), 1)[:, -1]
    probs = []
    for z in logits:
        e = np.exp(z - z.max(1, keepdims=True))
        s = e[:, 0].copy()
        for c in range(1, C):
            s += e[:, c]
        probs.append((e / s[:, None]).astype(np.float32))
    return probs


BAGS = MEMBERS + ["wavg_loss_weights", "wavg_frozen", "concat_head_frozen"]


def draw_seed(seed, r):
    """The seed of fold draw r, as examples/webnews.c's draw_seed: draw 0
    is the seed itself, draw r adds r times 1000003."""
    return seed + 1000003 * r


def run_folds(tr, te, text_dim, cfg, seed):
    """cfg["repeats"] draws of stratified folds of the training items; in
    each, fold f's members trained on the other folds give its out-of-fold
    outputs and their test outputs; a member's out-of-fold output of an
    item is the mean over the draws, its test outputs the mean over every
    fold model of every draw (bagging).  In draw 0's folds only, the frozen
    models take fold f's image and text members, frozen, and train their
    fusion layer on fold f, and wavg_loss_weights is trained on the other
    folds, their test outputs bagged.  Returns (oof, bag, seconds,
    seconds0, alt, share): seconds0 draw 0's, alt the image's out-of-fold
    outputs with the other test-time flip setting, share the mean
    softmax(W) image weight of wavg_frozen and of wavg_loss_weights."""
    n, R, K = len(tr["y"]), cfg["repeats"], cfg["folds"]
    draws = {k: np.zeros((R, n, C), np.float32) for k in MEMBERS}
    alt = np.zeros((n, C), np.float32)
    bag = {k: np.zeros((len(te["y"]), C), np.float64) for k in BAGS}
    sec = {k: 0.0 for k in BAGS}
    sec0 = dict(sec)
    share = {"wavg_frozen": 0.0, "wavg_loss_weights": 0.0}
    for r in range(R):
        ds = draw_seed(seed, r)
        fold = latefuse.stratified_folds(tr["y"], K, ds, n_classes=C)  # the C example's folds
        for f in range(K):
            a, b = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            ta, tb = rows(tr, a), rows(tr, b)
            fs = ds + 10 * (f + 1)
            ms = {}
            for kind in BAGS:
                if r > 0 and kind not in MEMBERS:  # draw 0's folds only
                    continue
                t0 = time.time()
                if kind == "nbsvm":  # ten binary models, on tb and te at once
                    draws[kind][r, b], p_te = nbsvm(ta, [tb, te], cfg, fs)
                    bag[kind] += p_te / (K * R)
                    sec[kind] += time.time() - t0
                    if r == 0:
                        sec0[kind] += time.time() - t0
                    continue
                frozen = kind.endswith("_frozen")
                m = fit(kind, tb if frozen else ta, text_dim, cfg, fs, ms.get("image"), ms.get("text"))
                if kind in MEMBERS:
                    ms[kind] = m
                    draws[kind][r, b] = predict(m, kind, tb, cfg["tta"])
                if kind == "image":
                    alt[b] += predict(m, kind, tb, not cfg["tta"]) / np.float32(R)
                bag[kind] += predict(m, kind, te, cfg["tta"]) / (K * R if kind in MEMBERS else K)
                if kind in share:
                    share[kind] += np.ravel(latefuse.softmax(m.get_layer("weighted_average").get_weights()[0]))[0] / K
                dt = time.time() - t0
                sec[kind] += dt
                if r == 0:
                    sec0[kind] += dt
    oof = {}
    for k in MEMBERS:  # the mean over the draws, summed in draw order in float64 as the C example
        s = np.zeros((n, C), np.float64)
        for r in range(R):
            s += draws[k][r]
        oof[k] = (s / R).astype(np.float32)
    return oof, {k: v.astype(np.float32) for k, v in bag.items()}, sec, sec0, alt, share


def late_fusion(tr, oof, p_test, seed):
    """auto over the out-of-fold outputs of image and text and of all the
    members, applied to their bagged test outputs p_test; returns
    [(prob, note, seconds)] for both."""
    acc = [fusion_metrics(oof[k], tr["y"])["accuracy"] for k in MEMBERS]
    out = []
    for nm in (2, len(MEMBERS)):
        t0 = time.time()
        fu = Fusion(method="auto", seed=seed).fit([oof[k] for k in MEMBERS[:nm]], tr["y"], names=MEMBERS[:nm])
        prob = fu.predict_proba([p_test[k] for k in MEMBERS[:nm]])
        note = "auto chose %s%s (out-of-fold accuracy: %s)" % (
            fu.method_, " +calibrate" if fu.calibrated_ else "",
            ", ".join("%s %.3f" % (MEMBERS[j], acc[j]) for j in range(nm)))
        out.append((prob, note, time.time() - t0))
    return out


def load(data, cfg):
    vec = TextVectorization(max_tokens=cfg["tokens"], output_mode="tf_idf", char_ngrams=(1, 3))
    vec2 = TextVectorization(max_tokens=cfg["tokens2"], output_mode="tf_idf", char_ngrams=cfg["ngrams2"])
    vec4 = TextVectorization(max_tokens=cfg["tokens2"], output_mode="tf_idf", char_ngrams=cfg["ngrams2"])
    vect = TextVectorization(max_tokens=cfg["tokens2"], output_mode="tf_idf", char_ngrams=cfg["ngrams2"])
    vecn = TextVectorization(max_tokens=cfg["nbsvm_tokens"], output_mode="multi_hot", char_ngrams=(1, 3))
    parts = {}
    for part in ("train", "test"):
        y = np.load(os.path.join(data, part + "_labels.npy"))
        img = np.load(os.path.join(data, part + "_images.npy"))
        with open(os.path.join(data, part + "_texts.txt"), encoding="utf-8") as f:
            texts = f.read().split("\n")
        texts = texts[:len(y)]
        n = cfg["n_train"] if part == "train" and cfg["n_train"] else len(y)
        heads = [t[:cfg["text4_chars"]] for t in texts[:n]]  # the first characters (code points)
        titles = [t.split(" ", 1)[0] for t in texts[:n]]  # up to the first ASCII space
        if part == "train":
            vec.adapt(texts[:n])
            vec2.adapt(texts[:n])
            vec4.adapt(heads)
            vect.adapt(titles)
            vecn.adapt(texts[:n])
        views = []
        for v in (vec, vec2, vec4, vect):
            txt = np.asarray(v(heads if v is vec4 else titles if v is vect else texts[:n]), dtype=np.float32)
            if v is not vec and cfg["text2_sublinear"]:
                # sublinear tf as the C example: x = idf tf -> idf (1 + log(tf))
                idf = v.idf_weights()[None, :txt.shape[1]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    sub = idf * (np.float32(1) + np.log(txt / idf))
                txt = np.where((txt > 0) & (idf > 0), sub, txt).astype(np.float32)
            # rows scaled to unit L2 norm exactly as examples/webnews.c does:
            # the squares summed in double in column order (cumsum adds
            # sequentially), the division in double, then float32
            txt = txt.astype(np.float64)
            norm = np.array([[np.sqrt(np.cumsum(r * r)[-1])] for r in txt])
            views.append(np.ascontiguousarray((txt / np.where(norm > 0, norm, 1)).astype(np.float32)))
        parts[part] = {"img": np.ascontiguousarray(img[:n]), "txt": views[0], "txt2": views[1], "txt4": views[2],
                       "txtt": views[3], "txtn": np.ascontiguousarray(np.asarray(vecn(texts[:n]), dtype=np.float32)),
                       "y": y[:n]}
    return parts["train"], parts["test"]


def repeats_arg(s):
    """--repeats R: an integer in 1..MAX_REPEATS (argparse prefixes the
    option's name to the message: the C example's words)."""
    if not (s.isascii() and s.isdigit()) or not 1 <= int(s) <= MAX_REPEATS:
        raise argparse.ArgumentTypeError("must be an integer in 1..%d, got '%s'" % (MAX_REPEATS, s))
    return int(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=repeats_arg, default=None,
                    help="fold draws the members are trained over (default %d, with --quick 1)" % REPEATS)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.data, "train_texts.txt")):
        print("webnews.py: data folder '%s' not found" % args.data, file=sys.stderr)
        return 2
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats:
        cfg["repeats"] = args.repeats
    tr, te = load(args.data, cfg)
    text_dim = tr["txt"].shape[1]
    cfg = dict(cfg, text2_dim=tr["txt2"].shape[1], text4_dim=tr["txt4"].shape[1], title_dim=tr["txtt"].shape[1])
    print("webnews.py: %d training and %d test items, %d + %d + %d + %d + %d text features"
          % (len(tr["y"]), len(te["y"]), text_dim, cfg["text2_dim"], cfg["text4_dim"], cfg["title_dim"],
             tr["txtn"].shape[1]), file=sys.stderr)
    # the branches and the frozen models come from the folds (bagged); role
    # "trap": the joint-training trap, shown (end to end from scratch)
    kinds = MEMBERS + ["concat_head", "wavg", "wavg_class", "wavg_loss_weights", "wavg_frozen", "concat_head_frozen"]
    roles = dict({k: "branch" for k in MEMBERS}, concat_head="trap", wavg="trap", wavg_class="trap")
    res = []
    t_all = time.time()
    oof, bag, sec, sec0, alt, share = run_folds(tr, te, text_dim, cfg, args.seed)
    for kind in kinds:
        if kind in bag:  # from the folds
            prob, t = bag[kind], sec[kind]
            if kind.endswith("_frozen"):  # their branches: draw 0's image and text members
                t += sec0["image"] + sec0["text"]
            note = ""
            if kind in share:
                note = "softmax(W): image %.3f, text %.3f (mean of the folds)" % (share[kind], 1 - share[kind])
            if kind == "image":
                note = "out-of-fold accuracy %.3f %s test-time flips (%.3f %s)" % (
                    fusion_metrics(oof["image"], tr["y"])["accuracy"], "with" if cfg["tta"] else "without",
                    fusion_metrics(alt, tr["y"])["accuracy"], "without" if cfg["tta"] else "with them")
        else:
            t0 = time.time()
            m, prob = train(kind, tr, te, text_dim, cfg, args.seed, args.verbose)
            t, note = time.time() - t0, weights_note(m, kind)
        res.append((kind, fusion_metrics(prob, te["y"]), t, note))
        print("webnews.py: %-20s test accuracy %.3f (%.0f s) %s" % (kind, res[-1][1]["accuracy"], res[-1][2],
                                                                    res[-1][3]), file=sys.stderr)
    late = late_fusion(tr, oof, bag, args.seed)
    for j, name in enumerate(["late_fusion", "late_fusion_all"]):
        prob, note, t = late[j]
        t += sum(sec[k] for k in (MEMBERS if j else MEMBERS[:2]))
        res.append((name, fusion_metrics(prob, te["y"]), t, note))
        print("webnews.py: %-20s test accuracy %.3f (%.0f s) %s" % (name, res[-1][1]["accuracy"], t, note),
              file=sys.stderr)
    print("Web_News (%d training, %d test items; seed %d%s): test scores"
          % (len(tr["y"]), len(te["y"]), args.seed, "; quick: a subset, few epochs" if args.quick else ""))
    print("%-20s %-7s %9s %9s %9s %9s" % ("model", "role", "accuracy", "macro-F1", "log-loss", "time (s)"))
    for name, met, sec, nt in res:
        print("%-20s %-7s %8.1f%% %9.3f %9.3f %9.1f  %s" % (name, roles.get(name, "remedy"), 100 * met["accuracy"],
                                                            met["macro_f1"], met["log_loss"], sec, nt))
    acc = {name: met["accuracy"] for name, met, _, _ in res}
    two = max(acc["image"], acc["text"])
    allb = max(acc[k] for k in MEMBERS)
    nb = len(MEMBERS)
    best = max(res[nb:], key=lambda r: r[1]["accuracy"])
    below, fused = {"trap": 0, "remedy": 0}, {"trap": 0, "remedy": 0}
    for name, _, _, _ in res[nb:]:
        role = roles.get(name, "remedy")
        fused[role] += 1
        below[role] += acc[name] < (allb if name == "late_fusion_all" else two)
    print("best fused model %s %.1f %% (goal >= 83 %%: %s); best branch %.1f %%; fused models below their best "
          "branch: %d of %d remedies, %d of %d trap demonstrations (end to end from scratch)"
          % (best[0], 100 * best[1]["accuracy"], "reached" if best[1]["accuracy"] >= 0.83 else "not reached",
             100 * allb, below["remedy"], fused["remedy"], below["trap"], fused["trap"]))
    print("time %.0f s" % (time.time() - t_all))
    if args.json:
        print(json.dumps({name: round(met["accuracy"], 4) for name, met, _, _ in res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
