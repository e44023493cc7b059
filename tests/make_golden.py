#!/usr/bin/env python3
"""make_golden.py - regenerate the PyTorch golden files for the C network engine.

Why: the C engine (Dense, merge layers, losses, backprop, Adam) must agree with
an independent implementation.  This script builds three small networks with
PyTorch autograd, computes forward values, loss, gradients and (for two of
them) a few Keras-3-style Adam steps, and stores everything as float32 tensors
in hand-written safetensors files that the C tests load.

Usage:  /usr/bin/python3 tests/make_golden.py tests/golden      (or: make golden)

Determinism and precision: torch.manual_seed(0) once; every network input and
initial weight is drawn in float32 (so the C side, which computes in float32,
starts from exactly the same numbers), then all computation is done in float64
from those exact values and the results are rounded to float32 when saved.

Checks done before anything is written (the script fails with an assertion
otherwise): autograd gradients against central finite differences (float64)
on several entries of every parameter and input; no ReLU-type kink within a
margin of zero and no Maximum/Minimum tie in the data (data are re-drawn if
so); and the whole pipeline re-run in float32 (as the C engine computes) stays
close to the float64 reference, so the golden numbers are well conditioned.

Conventions (must match the C engine): Dense y = act(x @ W.T + b), W (units,
in); WeightedAverage a = softmax(W) over k inputs; ClassWeightedAverage
a = softmax(W, dim=0) with W (k, C); losses are the batch mean of the per-sample
loss (mse: mean over features; categorical crossentropy fused with the final
softmax Dense and computed from its logits); Adam as in Keras 3 (see adam_step).
"""

import json
import math
import os
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError:  # `python3` on PATH may lack numpy/torch; the system one has them
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

F64 = torch.float64
F32 = torch.float32

ADAM_LR = 1e-3
ADAM_B1 = 0.9
ADAM_B2 = 0.999
ADAM_EPS = 1e-7

# Smallest allowed |pre-activation| at a ReLU-type kink (and, in the zoo, the
# smallest gap between the two largest / two smallest Maximum/Minimum inputs),
# checked at the initial weights and after every Adam step.  Float32 rounding of
# a pre-activation is ~1e-7 here, so these keep every kink side unambiguous.
SEED_HEAD_MARGIN = 2e-5
ZOO_MARGIN = 1e-3


# ---------------------------------------------------------------------------
# safetensors writer (by hand: 8-byte LE header length, JSON header padded with
# spaces to a multiple of 8, then raw little-endian float32 data in order)
# ---------------------------------------------------------------------------

def write_safetensors(path, tensors, description):
    """tensors: list of (name, torch tensor); all stored as F32, in list order."""
    header = {}
    blobs = []
    offset = 0
    seen = set()
    for name, t in tensors:
        assert name not in seen, "duplicate tensor name " + name
        seen.add(name)
        arr = t.detach().to(F32).cpu().numpy()
        shape = list(arr.shape)
        if len(shape) == 0:
            shape = [1]
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        assert len(raw) == 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"description": description}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return 8 + len(hjson) + offset


def read_safetensors(path):
    """Reader used only to self-check the writer."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out = {}
    expect = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        assert b == expect, "offsets not contiguous"
        expect = e
        out[name] = np.frombuffer(body[b:e], dtype="<f4").reshape(info["shape"])
    assert expect == len(body)
    return header, out


# ---------------------------------------------------------------------------
# random draws (always float32 first)
# ---------------------------------------------------------------------------

def u32(shape, lo, hi):
    return (torch.rand(shape, dtype=F32) * (hi - lo) + lo).to(F32)


def n32(shape, std=1.0):
    return (torch.randn(shape, dtype=F32) * std).to(F32)


def glorot32(units, fan_in):
    lim = math.sqrt(6.0 / (fan_in + units))
    return u32((units, fan_in), -lim, lim)


def bias32(units):
    return u32((units,), -0.1, 0.1)


# ---------------------------------------------------------------------------
# building blocks (work in whatever dtype the tensors have)
# ---------------------------------------------------------------------------

def dense(x, W, b):
    return x @ W.t() + b


def mse(y, t):
    return ((y - t) ** 2).mean(dim=1).mean()


def cce_from_logits(z, t):
    return (-(t * torch.log_softmax(z, dim=1)).sum(dim=1)).mean()


def l2norm_rows(x):
    s = (x * x).sum(dim=1, keepdim=True)
    return x / torch.sqrt(torch.clamp(s, min=1e-12))


def gelu_exact(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def elu(x):
    return torch.where(x > 0, x, torch.expm1(torch.clamp(x, max=0.0)))


def leaky_relu(x, slope=0.2):
    return torch.where(x > 0, x, slope * x)


# ---------------------------------------------------------------------------
# generic machinery: forward -> loss -> grads; Adam; finite differences
# ---------------------------------------------------------------------------

def forward_and_grads(model, params, inputs):
    """Returns (nodes, loss, param grads dict, input grads dict), all detached."""
    p = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    x = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    nodes, loss, _ = model(p, x)
    keys_p = list(p.keys())
    keys_x = list(x.keys())
    grads = torch.autograd.grad(loss, [p[k] for k in keys_p] + [x[k] for k in keys_x])
    gp = {k: g.detach() for k, g in zip(keys_p, grads[:len(keys_p)])}
    gx = {k: g.detach() for k, g in zip(keys_x, grads[len(keys_p):])}
    return ({k: v.detach() for k, v in nodes.items()}, loss.detach(), gp, gx)


def adam_step(params, grads, state, t):
    """Keras 3 Adam, step t (1-based); returns new params, updates state."""
    out = {}
    alpha = ADAM_LR * math.sqrt(1.0 - ADAM_B2 ** t) / (1.0 - ADAM_B1 ** t)
    for k, w in params.items():
        g = grads[k]
        m, v = state.setdefault(k, (torch.zeros_like(w), torch.zeros_like(w)))
        m = m + (g - m) * (1.0 - ADAM_B1)
        v = v + (g * g - v) * (1.0 - ADAM_B2)
        state[k] = (m, v)
        out[k] = w - alpha * m / (torch.sqrt(v) + ADAM_EPS)
    return out


def train(model, params, inputs, steps):
    """Runs `steps` Adam steps on the full batch; returns list of param dicts
    [p0, p1, ..., p_steps] and the per-step forward kink margins."""
    hist = [params]
    state = {}
    margins = []
    for t in range(1, steps + 1):
        p = {k: v.detach().clone().requires_grad_(True) for k, v in hist[-1].items()}
        _, loss, margin = model(p, inputs)
        margins.append(margin)
        names = list(p.keys())
        grads = torch.autograd.grad(loss, [p[k] for k in names])
        hist.append(adam_step({k: hist[-1][k] for k in names},
                              {k: g.detach() for k, g in zip(names, grads)}, state, t))
    _, _, margin = model(hist[-1], inputs)
    margins.append(margin)
    return hist, min(margins)


def fd_check(model, params, inputs, gp, gx, label):
    """Central finite differences (float64) on a few entries of every tensor."""
    h = 1e-6
    worst = 0.0
    for kind, src, grads in (("param", params, gp), ("input", inputs, gx)):
        for name, val in src.items():
            n = val.numel()
            for idx in sorted({0, n // 2, n - 1, (7 * n) // 11}):
                def loss_with(delta):
                    p2 = {k: v.clone() for k, v in params.items()}
                    x2 = {k: v.clone() for k, v in inputs.items()}
                    tgt = p2 if kind == "param" else x2
                    tgt[name].view(-1)[idx] += delta
                    return model(p2, x2)[1].item()
                fd = (loss_with(h) - loss_with(-h)) / (2 * h)
                ag = grads[name].reshape(-1)[idx].item()
                err = abs(fd - ag)
                tol = 1e-7 + 1e-5 * abs(ag)
                assert err <= tol, "%s: finite-difference check failed for %s %s[%d]: autograd %.12g, fd %.12g" % (
                    label, kind, name, idx, ag, fd)
                worst = max(worst, err)
    return worst


def float32_agreement(model, params64, inputs64, steps, ref_nodes, ref_loss, ref_gp, ref_gx, ref_hist):
    """Re-runs the pipeline in float32 from the same (float32-exact) values and
    returns the largest abs difference per category against the float64 reference."""
    p32 = {k: v.to(F32) for k, v in params64.items()}
    x32 = {k: v.to(F32) for k, v in inputs64.items()}
    nodes, loss, gp, gx = forward_and_grads(model, p32, x32)
    diffs = {
        "fwd": max((nodes[k].double() - ref_nodes[k]).abs().max().item() for k in ref_nodes),
        "loss": abs(loss.item() - ref_loss.item()),
        "grad": max([(gp[k].double() - ref_gp[k]).abs().max().item() for k in ref_gp] +
                    [(gx[k].double() - ref_gx[k]).abs().max().item() for k in ref_gx]),
    }
    if steps:
        hist, _ = train(model, p32, x32, steps)
        # a parameter whose gradient is 0 (an attention key bias: the
        # softmax ignores it) gets Adam steps on float32 rounding noise here;
        # the engine computes its 0 exactly, like the float64 reference
        live = [k for k in params64 if ref_gp[k].abs().max().item() > 1e-12]
        diffs["adam"] = max((hist[s][k].double() - ref_hist[s][k]).abs().max().item()
                            for s in (1, steps) for k in live)
    return diffs


# ---------------------------------------------------------------------------
# network 1: the founding network (two Dense branches, WeightedAverage, Dense)
# ---------------------------------------------------------------------------

SEED_B = 8


def seed_model(p, x):
    pre1 = dense(x["in1"], p["d1.kernel"], p["d1.bias"])
    pre2 = dense(x["in2"], p["d2.kernel"], p["d2.bias"])
    d1 = torch.relu(pre1)
    d2 = torch.relu(pre2)
    a = torch.softmax(p["wavg.W"], dim=0)
    wavg = a[0] * d1 + a[1] * d2
    out = dense(wavg, p["out.kernel"], p["out.bias"])
    loss = mse(out, x["y"])
    margin = min(pre1.abs().min().item(), pre2.abs().min().item())
    return {"d1": d1, "d2": d2, "wavg": wavg, "out": out}, loss, margin


def draw_seed():
    B = SEED_B
    inputs = {"in1": u32((B, 100), 0.0, 1.0), "in2": u32((B, 100), 0.0, 1.0),
              "y": u32((B, 1), 0.0, 1.0)}
    params = {
        "d1.kernel": glorot32(32, 100), "d1.bias": bias32(32),
        "d2.kernel": glorot32(32, 100), "d2.bias": bias32(32),
        "wavg.W": u32((2,), 0.0, 1.0),
        "out.kernel": glorot32(1, 32), "out.bias": bias32(1),
    }
    return params, inputs


# ---------------------------------------------------------------------------
# network 2: concatenation head on two models' class probabilities
# ---------------------------------------------------------------------------

HEAD_B = 16
HEAD_C = 5


def head_model(p, x):
    cat = torch.cat([x["image"], x["text"]], dim=1)
    pre = dense(cat, p["hidden.kernel"], p["hidden.bias"])
    hidden = torch.relu(pre)
    drop = hidden  # Dropout(0.2) is the identity in inference mode
    z = dense(drop, p["out.kernel"], p["out.bias"])
    out = torch.softmax(z, dim=1)
    loss = cce_from_logits(z, x["y"])
    return {"cat": cat, "hidden": hidden, "out": out}, loss, pre.abs().min().item()


def draw_head():
    B, C = HEAD_B, HEAD_C

    def probs():
        logits = n32((B, C), 2.0).double()
        return torch.softmax(logits, dim=1).to(F32)

    image = probs()
    text = probs()
    labels = torch.randint(0, C, (B,))
    y = torch.zeros((B, C), dtype=F32)
    y[torch.arange(B), labels] = 1.0
    inputs = {"image": image, "text": text, "y": y}
    params = {
        "hidden.kernel": glorot32(128, 2 * C), "hidden.bias": bias32(128),
        "out.kernel": glorot32(C, 128), "out.bias": bias32(C),
    }
    return params, inputs


# ---------------------------------------------------------------------------
# network 3: the layer/activation zoo
# ---------------------------------------------------------------------------

ZOO_B = 6
ZOO_DENSES = [("dense_lrelu", "a"), ("dense_elu", "b"), ("dense_gelu", "c"),
              ("dense_tanh", "a"), ("dense_sig", "b")]
ZOO_NODES = ["dense_lrelu", "dense_elu", "dense_gelu", "dense_tanh", "dense_sig",
             "add", "sub", "mul", "avg", "max", "min", "cwavg", "cat", "dot",
             "dotraw", "cat2", "out"]


def _tie_gap(stack):
    """Smallest gap between the largest and second-largest / smallest and
    second-smallest of stacked inputs (k, B, D)."""
    s, _ = torch.sort(stack, dim=0)
    return min((s[-1] - s[-2]).min().item(), (s[1] - s[0]).min().item())


def zoo_model(p, x):
    pre = {}
    for name, src in ZOO_DENSES:
        pre[name] = dense(x[src], p[name + ".kernel"], p[name + ".bias"])
    n = {}
    n["dense_lrelu"] = leaky_relu(pre["dense_lrelu"], 0.2)
    n["dense_elu"] = elu(pre["dense_elu"])
    n["dense_gelu"] = gelu_exact(pre["dense_gelu"])
    n["dense_tanh"] = torch.tanh(pre["dense_tanh"])
    n["dense_sig"] = torch.sigmoid(pre["dense_sig"])
    n["add"] = n["dense_lrelu"] + n["dense_elu"] + n["dense_gelu"]
    n["sub"] = n["dense_tanh"] - n["dense_sig"]
    n["mul"] = n["add"] * n["sub"]
    n["avg"] = (n["dense_lrelu"] + n["dense_tanh"]) / 2.0
    mx = torch.stack([n["dense_elu"], n["dense_sig"], n["dense_gelu"]])
    mn = torch.stack([n["dense_gelu"], n["dense_tanh"]])
    n["max"] = mx.max(dim=0).values
    n["min"] = mn.min(dim=0).values
    a = torch.softmax(p["cwavg.W"], dim=0)  # (3, 4), softmax over the inputs
    n["cwavg"] = a[0] * n["mul"] + a[1] * n["avg"] + a[2] * n["max"]
    n["cat"] = torch.cat([n["cwavg"], n["min"]], dim=1)
    n["dot"] = (l2norm_rows(n["dense_lrelu"]) * l2norm_rows(n["dense_elu"])).sum(dim=1, keepdim=True)
    n["dotraw"] = (n["add"] * n["avg"]).sum(dim=1, keepdim=True)
    n["cat2"] = torch.cat([n["cat"], n["dot"], n["dotraw"]], dim=1)
    n["out"] = dense(n["cat2"], p["out.kernel"], p["out.bias"])
    loss = mse(n["out"], x["y"])
    margin = min(pre["dense_lrelu"].abs().min().item(), pre["dense_elu"].abs().min().item(),
                 _tie_gap(mx.detach()), _tie_gap(mn.detach()))
    return n, loss, margin


def draw_zoo():
    B = ZOO_B
    inputs = {"a": n32((B, 4)), "b": n32((B, 4)), "c": n32((B, 4)), "y": n32((B, 3))}
    params = {}
    for name, _ in ZOO_DENSES:
        params[name + ".kernel"] = glorot32(4, 4)
        params[name + ".bias"] = bias32(4)
    params["cwavg.W"] = u32((3, 4), 0.0, 1.0)
    params["out.kernel"] = glorot32(3, 10)
    params["out.bias"] = bias32(3)
    return params, inputs


# ---------------------------------------------------------------------------
# image layers (Keras channels-last NHWC here; PyTorch's conv and pooling
# work in NCHW, so every call transposes in and out)
# ---------------------------------------------------------------------------

def same_pads(n, k, s):
    """Keras 'same': output ceil(n/s); the odd padding pixel goes after."""
    o = -(-n // s)
    total = max((o - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv2d(x, K, b, strides, padding):
    """x (B,H,W,C), K Keras (kh,kw,C,F), b (F) or None -> (B,Ho,Wo,F)."""
    kh, kw = K.shape[0], K.shape[1]
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        pt, pb = same_pads(x.shape[1], kh, strides[0])
        pl, pr = same_pads(x.shape[2], kw, strides[1])
        xc = torch.nn.functional.pad(xc, (pl, pr, pt, pb))
    y = torch.nn.functional.conv2d(xc, K.permute(3, 2, 0, 1), b, stride=strides)
    return y.permute(0, 2, 3, 1)


def pool2d(x, kind, k, strides, padding):
    """Max / average pooling; with 'same' the padded pixels take no part
    (max over real pixels, mean divided by their count), as Keras."""
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        pt, pb = same_pads(x.shape[1], k[0], strides[0])
        pl, pr = same_pads(x.shape[2], k[1], strides[1])
        pads = (pl, pr, pt, pb)
    else:
        pads = (0, 0, 0, 0)
    if kind == "max":
        xp = torch.nn.functional.pad(xc, pads, value=-math.inf)
        y = torch.nn.functional.max_pool2d(xp, k, strides)
    else:
        xp = torch.nn.functional.pad(xc, pads)
        ones = torch.nn.functional.pad(torch.ones_like(xc), pads)
        y = (torch.nn.functional.avg_pool2d(xp, k, strides, divisor_override=1) /
             torch.nn.functional.avg_pool2d(ones, k, strides, divisor_override=1))
    return y.permute(0, 2, 3, 1)


BN_EPS = 1e-3
BN_MOMENTUM = 0.99


def batchnorm_train(x, gamma, beta):
    """Training mode over the last axis: batch mean and biased variance."""
    axes = tuple(range(x.dim() - 1))
    mean = x.mean(dim=axes)
    var = ((x - mean) ** 2).mean(dim=axes)
    return gamma * (x - mean) / torch.sqrt(var + BN_EPS) + beta, mean, var


def conv_kernel32(kh, kw, C, F):
    lim = math.sqrt(6.0 / (kh * kw * C + kh * kw * F))
    return u32((kh, kw, C, F), -lim, lim)


def flat(x):
    return x.reshape(x.shape[0], -1)


# network 4: a small CNN, trained with batch statistics
CNN_B = 4


def cnn_model(p, x):
    n = {}
    n["conv1"] = conv2d(x["img"], p["conv1.kernel"], None, (1, 1), "same")
    n["bn"], mean, var = batchnorm_train(n["conv1"], p["bn.gamma"], p["bn.beta"])
    n["relu"] = torch.relu(n["bn"])
    n["pool"] = pool2d(n["relu"], "max", (2, 2), (2, 2), "valid")
    pre2 = conv2d(n["pool"], p["conv2.kernel"], p["conv2.bias"], (2, 2), "same")
    n["conv2"] = torch.relu(pre2)
    n["gap"] = n["conv2"].mean(dim=(1, 2))
    z = dense(n["gap"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    loss = cce_from_logits(z, x["y"])
    win = n["relu"].permute(0, 3, 1, 2).unfold(2, 2, 2).unfold(3, 2, 2).reshape(
        CNN_B, 4, 4, 4, 4).permute(4, 0, 1, 2, 3)
    top, _ = torch.sort(win.detach(), dim=0)
    # a tie among zeros (all of a window below the relu's kink) passes no gradient either way
    gap = torch.where(top[-1] > 0, top[-1] - top[-2], torch.full_like(top[-1], math.inf)).min().item()
    margin = min(n["bn"].abs().min().item(), pre2.abs().min().item(), gap)
    return n, loss, margin


def cnn_bn_stats(p, x):
    conv1 = conv2d(x["img"], p["conv1.kernel"], None, (1, 1), "same")
    _, mean, var = batchnorm_train(conv1, p["bn.gamma"], p["bn.beta"])
    return mean, var


def draw_cnn():
    B = CNN_B
    inputs = {"img": u32((B, 8, 8, 3), 0.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.randint(0, 3, (B,))] = 1.0
    params = {
        # no bias before BatchNormalization (its gradient is 0: Adam would
        # take full steps on rounding noise)
        "conv1.kernel": conv_kernel32(3, 3, 3, 4),
        "bn.gamma": u32((4,), 0.5, 1.5), "bn.beta": bias32(4),
        "bn.moving_mean": torch.zeros(4, dtype=F32), "bn.moving_variance": torch.ones(4, dtype=F32),
        "conv2.kernel": conv_kernel32(3, 3, 4, 5), "conv2.bias": bias32(5),
        "out.kernel": glorot32(3, 5), "out.bias": bias32(3),
    }
    return params, inputs


# network 5: every image layer once, side by side, in inference mode
IMZOO_B = 3


def imzoo_model(p, x):
    img = x["img"]
    n = {}
    n["resc"] = img * 0.5 - 0.25
    n["conv_v"] = elu(conv2d(n["resc"], p["conv_v.kernel"], p["conv_v.bias"], (2, 1), "valid"))
    n["conv_s"] = torch.tanh(conv2d(img, p["conv_s.kernel"], None, (2, 3), "same"))
    n["max_v"] = pool2d(img, "max", (2, 2), (2, 2), "valid")
    n["max_s"] = pool2d(img, "max", (3, 2), (2, 3), "same")
    n["avg_v"] = pool2d(img, "avg", (2, 3), (1, 2), "valid")
    n["avg_s"] = pool2d(img, "avg", (3, 3), (2, 2), "same")
    n["gmax"] = img.amax(dim=(1, 2))
    n["gavg"] = img.mean(dim=(1, 2))
    mm, mv = p["bn.moving_mean"], p["bn.moving_variance"]
    n["bn"] = p["bn.gamma"] * (img - mm) / torch.sqrt(mv + BN_EPS) + p["bn.beta"]
    parts = [flat(n[k]) for k in ("conv_v", "conv_s", "max_v", "max_s", "avg_v", "avg_s", "gmax", "gavg", "bn")]
    n["cat"] = torch.cat(parts, dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    loss = mse(n["out"], x["y"])
    gaps = []
    for k, s in (("max_v", ((2, 2), (2, 2), "valid")), ("max_s", ((3, 2), (2, 3), "same"))):
        (kh, kw), (sh, sw), pad = s
        xc = img.permute(0, 3, 1, 2)
        if pad == "same":
            pt, pb = same_pads(img.shape[1], kh, sh)
            pl, pr = same_pads(img.shape[2], kw, sw)
            xc = torch.nn.functional.pad(xc, (pl, pr, pt, pb), value=-1e9)
        w = xc.unfold(2, kh, sh).unfold(3, kw, sw)
        w = w.reshape(*w.shape[:4], kh * kw).permute(4, 0, 1, 2, 3)
        top, _ = torch.sort(w.detach(), dim=0)
        gaps.append((top[-1] - top[-2]).min().item())
    top, _ = torch.sort(img.reshape(IMZOO_B, -1, 2).permute(1, 0, 2).detach(), dim=0)
    gaps.append((top[-1] - top[-2]).min().item())
    return n, loss, min(gaps)


def draw_imzoo():
    B = IMZOO_B
    inputs = {"img": n32((B, 7, 6, 2)), "y": n32((B, 3))}
    params = {
        "conv_v.kernel": conv_kernel32(3, 2, 2, 3), "conv_v.bias": bias32(3),
        "conv_s.kernel": conv_kernel32(3, 3, 2, 2),
        "bn.gamma": u32((2,), 0.5, 1.5), "bn.beta": bias32(2),
        "bn.moving_mean": bias32(2), "bn.moving_variance": u32((2,), 0.5, 2.0),
        "out.kernel": glorot32(3, 0), "out.bias": bias32(3),
    }
    return params, inputs


def imzoo_sizes():
    def o(n, k, s, pad):
        return -(-n // s) if pad == "same" else (n - k) // s + 1
    H, W = 7, 6
    return (o(H, 3, 2, "v") * o(W, 2, 1, "v") * 3 + o(H, 3, 2, "same") * o(W, 3, 3, "same") * 2 +
            o(H, 2, 2, "v") * o(W, 2, 2, "v") * 2 + o(H, 3, 2, "same") * o(W, 2, 3, "same") * 2 +
            o(H, 2, 1, "v") * o(W, 3, 2, "v") * 2 + o(H, 3, 2, "same") * o(W, 3, 2, "same") * 2 +
            2 + 2 + H * W * 2)


# network 5b: the decoder layers (Conv2DTranspose, UpSampling2D, ZeroPadding2D,
# Cropping2D) side by side

def keras_tconv_axis(n, k, s, padding, op):
    """One axis of Keras' conv_transpose: the output size and the pixels
    cropped before the first, from keras/src/backend/common/backend_utils.py
    _convert_conv_transpose_padding_args_from_keras_to_jax (dilation 1):
    JAX dilates the input by s, pads left_pad / right_pad and correlates
    with the flipped kernel, the full transposed convolution cropped by
    k - 1 - left_pad (right_pad past k - 1 adds zeros)."""
    if padding == "valid":
        op = max(k, s) - k if op is None else op
        left, right = k - 1, k - 1 + op
    else:
        pad_len = s + k - 2 if op is None else k + k % 2 - 2 + op
        left = min(pad_len // 2 + pad_len % 2, k - 1)
        right = pad_len - left
    size = (n - 1) * s + 1 + left + right - k + 1
    return size, k - 1 - left


def conv2d_transpose(x, K, b, strides, padding, output_padding=None):
    """x (B,H,W,C), K Keras (kh,kw,F,C), b (F) or None -> (B,Ho,Wo,F):
    PyTorch's conv_transpose2d (weight (C, F, kh, kw), no padding: the full
    (n - 1) s + k pixels) cropped / zero-extended to Keras' output"""
    kh, kw = K.shape[0], K.shape[1]
    full = torch.nn.functional.conv_transpose2d(x.permute(0, 3, 1, 2), K.permute(3, 2, 0, 1), None,
                                                stride=strides)
    ops = output_padding if output_padding is not None else (None, None)
    Ho, ph = keras_tconv_axis(x.shape[1], kh, strides[0], padding, ops[0])
    Wo, pw = keras_tconv_axis(x.shape[2], kw, strides[1], padding, ops[1])
    full = torch.nn.functional.pad(full, (0, max(pw + Wo - full.shape[3], 0), 0, max(ph + Ho - full.shape[2], 0)))
    y = full[:, :, ph:ph + Ho, pw:pw + Wo].permute(0, 2, 3, 1)
    return y if b is None else y + b


def upsample(x, size, mode):
    """nn.Upsample: 'nearest' (Keras' repeat) or 'bilinear' with
    align_corners=False (Keras' half-pixel resize)"""
    up = torch.nn.Upsample(scale_factor=size, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    return up(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


DECODER_B = 3
DECODER_TCONV = {  # name: filters, kernel, strides, padding, output_padding, activation, bias
    "tconv_v": (3, (3, 2), (2, 1), "valid", None, "tanh", True),
    "tconv_s": (2, (3, 3), (2, 2), "same", None, "linear", False),
    "tconv_e": (2, (4, 2), (2, 2), "same", None, "elu", True),
    "tconv_op": (2, (3, 3), (2, 3), "valid", (1, 2), "linear", True),
    "tconv_sop": (2, (3, 4), (2, 2), "same", (1, 0), "tanh", True),
    "tconv_gap": (2, (2, 1), (3, 3), "valid", None, "linear", True),
}
DECODER_NODES = ["tconv_v", "tconv_s", "tconv_e", "tconv_op", "tconv_sop", "tconv_gap", "up_n", "up_b", "up_b3",
                 "zpad", "crop", "cat", "out"]


def decoder_model(p, x):
    img = x["img"]
    n = {}
    act = {"tanh": torch.tanh, "linear": lambda v: v, "elu": elu}
    for k, (F, ks, st, pad, op, a, bias) in DECODER_TCONV.items():
        n[k] = act[a](conv2d_transpose(img, p[k + ".kernel"], p[k + ".bias"] if bias else None, st, pad, op))
    n["up_n"] = upsample(img, (2, 3), "nearest")
    n["up_b"] = upsample(img, (2, 2), "bilinear")
    n["up_b3"] = upsample(n["tconv_s"], (3, 2), "bilinear")
    n["zpad"] = torch.nn.functional.pad(n["tconv_s"], (0, 0, 0, 1, 1, 2))  # (C), W (0, 1), H (1, 2)
    n["crop"] = n["tconv_v"][:, 1:, 2:-1, :]
    n["cat"] = torch.cat([flat(n[k]) for k in DECODER_NODES[:-2]], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), 1.0


def draw_decoder():
    B = DECODER_B
    inputs = {"img": n32((B, 3, 4, 2)), "y": n32((B, 3))}
    params = {}
    for k, (F, (kh, kw), st, pad, op, a, bias) in DECODER_TCONV.items():
        lim = math.sqrt(6.0 / (kh * kw * (F + 2)))
        params[k + ".kernel"] = u32((kh, kw, F, 2), -lim, lim)
        if bias:
            params[k + ".bias"] = bias32(F)
    probe = {k: v.double() for k, v in params.items()}
    probe["out.kernel"], probe["out.bias"] = torch.zeros((3, 1), dtype=F64), torch.zeros(3, dtype=F64)
    parts = [flat(v) for k, v in decoder_sizes(probe, inputs).items()]
    params["out.kernel"] = glorot32(3, sum(t.shape[1] for t in parts))
    params["out.bias"] = bias32(3)
    return params, inputs


def decoder_sizes(p, inputs):
    """every flattened part's values, by running the parts at p"""
    x = {k: v.double() for k, v in inputs.items()}
    img = x["img"]
    n = {}
    for k, (F, ks, st, pad, op, a, bias) in DECODER_TCONV.items():
        n[k] = conv2d_transpose(img, p[k + ".kernel"], None, st, pad, op)
    n["up_n"], n["up_b"] = upsample(img, (2, 3), "nearest"), upsample(img, (2, 2), "bilinear")
    n["up_b3"] = upsample(n["tconv_s"], (3, 2), "bilinear")
    n["zpad"] = torch.nn.functional.pad(n["tconv_s"], (0, 0, 0, 1, 1, 2))
    n["crop"] = n["tconv_v"][:, 1:, 2:-1, :]
    return n


# ---------------------------------------------------------------------------
# network 11: dilation, causal padding, DepthwiseConv2D, SeparableConv2D,
# Masking (keras/src/layers/convolutional/base_conv.py, conv1d.py,
# base_depthwise_conv.py, base_separable_conv.py; keras/src/layers/core/
# masking.py).  PyTorch's conv2d / conv1d with dilation=, groups=C for the
# depthwise kernel (Keras' (kh,kw,C,M) is torch's (C M, 1, kh, kw): output
# channel c M + j), F.pad for 'same' (over the dilated window d (k - 1) + 1)
# and 'causal' (d (k - 1) steps before).
# ---------------------------------------------------------------------------

def conv2d_ext(x, K, b, strides, padding, dilation=(1, 1), groups=1):
    """x (B,H,W,C), K torch (O, C/groups, kh, kw) -> (B,Ho,Wo,O)"""
    kh, kw = K.shape[2], K.shape[3]
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        pt, pb = same_pads(x.shape[1], dilation[0] * (kh - 1) + 1, strides[0])
        pl, pr = same_pads(x.shape[2], dilation[1] * (kw - 1) + 1, strides[1])
        xc = torch.nn.functional.pad(xc, (pl, pr, pt, pb))
    y = torch.nn.functional.conv2d(xc, K, b, stride=strides, dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1)


def keras_conv2d(x, K, b, strides, padding, dilation=(1, 1)):
    """Keras' Conv2D kernel (kh,kw,C,F)"""
    return conv2d_ext(x, K.permute(3, 2, 0, 1), b, strides, padding, dilation)


def keras_depthwise(x, K, b, strides, padding, dilation=(1, 1)):
    """Keras' depthwise kernel (kh,kw,C,M) -> torch's (C M, 1, kh, kw), groups C"""
    kh, kw, C, M = K.shape
    return conv2d_ext(x, K.reshape(kh, kw, C * M).permute(2, 0, 1).unsqueeze(1), b, strides, padding, dilation,
                      groups=C)


def keras_separable(x, Kd, Kp, b, strides, padding, dilation=(1, 1)):
    """depthwise without bias, then the pointwise kernel (1,1,C M,F)"""
    t = keras_depthwise(x, Kd, None, strides, padding, dilation)
    y = t @ Kp[0, 0]
    return y if b is None else y + b


def conv1d_ext(x, K, b, stride, padding, dilation=1):
    """x (B,T,C), K Keras (k,C,F) -> (B,To,F); 'causal' pads d (k - 1) before"""
    k = K.shape[0]
    xc = x.permute(0, 2, 1)
    ek = dilation * (k - 1) + 1
    if padding == "same":
        xc = torch.nn.functional.pad(xc, same_pads(x.shape[1], ek, stride))
    elif padding == "causal":
        xc = torch.nn.functional.pad(xc, (ek - 1, 0))
    return torch.nn.functional.conv1d(xc, K.permute(2, 1, 0), b, stride=stride, dilation=dilation).permute(0, 2, 1)


SEPCONV_B = 3
# name: kind, filters (None: depthwise), kernel, strides, padding, depth_multiplier, dilation, activation, bias
SEPCONV_LAYERS = {
    "conv_d": ("conv", 3, (3, 3), (1, 1), "valid", 1, (2, 1), "tanh", True),
    "conv_ds": ("conv", 2, (2, 3), (1, 1), "same", 1, (2, 2), "linear", False),  # odd padding after
    "dw_v": ("dw", None, (3, 3), (1, 1), "valid", 1, (1, 1), "tanh", True),
    "dw_s": ("dw", None, (3, 2), (1, 1), "same", 2, (1, 2), "linear", True),
    "dw_st": ("dw", None, (2, 2), (2, 3), "same", 1, (1, 1), "elu", False),
    "sep": ("sep", 4, (3, 3), (1, 1), "same", 2, (1, 1), "tanh", True),
    "sep_d": ("sep", 3, (2, 2), (1, 1), "valid", 1, (2, 2), "linear", False),
    "sep_st": ("sep", 2, (3, 3), (2, 2), "same", 3, (1, 1), "elu", True),
}
SEPCONV_NODES = list(SEPCONV_LAYERS) + ["pre", "wide_d", "cat", "out"]


def sepconv_parts(p, img, with_bias=True):
    act = {"tanh": torch.tanh, "linear": lambda v: v, "elu": elu}
    n = {}
    for k, (kind, F, ks, st, pad, M, dil, a, bias) in SEPCONV_LAYERS.items():
        b = p[k + ".bias"] if bias and with_bias else None
        if kind == "conv":
            v = keras_conv2d(img, p[k + ".kernel"], b, st, pad, dil)
        elif kind == "dw":
            v = keras_depthwise(img, p[k + ".kernel"], b, st, pad, dil)
        else:
            v = keras_separable(img, p[k + ".depthwise_kernel"], p[k + ".pointwise_kernel"], b, st, pad, dil)
        n[k] = act[a](v) if with_bias else v
    # 16 channels into a 3x3 stride-1 Conv2D of 16 filters, dilated: the
    # shape that takes Winograd's path undilated
    n["pre"] = keras_conv2d(img, p["pre.kernel"], p["pre.bias"], (1, 1), "valid")
    n["wide_d"] = torch.tanh(keras_conv2d(n["pre"], p["wide_d.kernel"], p["wide_d.bias"], (1, 1), "same", (2, 2)))
    return n


def sepconv_model(p, x):
    n = sepconv_parts(p, x["img"])
    n["cat"] = torch.cat([flat(n[k]) for k in SEPCONV_NODES[:-2] if k != "pre"], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), 1.0


def draw_sepconv():
    B, C = SEPCONV_B, 2
    inputs = {"img": n32((B, 6, 7, C)), "y": n32((B, 3))}
    params = {}
    for k, (kind, F, (kh, kw), st, pad, M, dil, a, bias) in SEPCONV_LAYERS.items():
        if kind == "conv":
            params[k + ".kernel"] = conv_kernel32(kh, kw, C, F)
        elif kind == "dw":
            params[k + ".kernel"] = conv_kernel32(kh, kw, C, M)
        else:
            params[k + ".depthwise_kernel"] = conv_kernel32(kh, kw, C, M)
            params[k + ".pointwise_kernel"] = conv_kernel32(1, 1, C * M, F)
        if bias:
            params[k + ".bias"] = bias32(F if F is not None else C * M)
    params["pre.kernel"], params["pre.bias"] = conv_kernel32(1, 1, C, 16), bias32(16)
    params["wide_d.kernel"], params["wide_d.bias"] = conv_kernel32(3, 3, 16, 16), bias32(16)
    probe = {k: v.double() for k, v in params.items()}
    sizes = sepconv_parts(probe, inputs["img"].double())
    params["out.kernel"] = glorot32(3, sum(flat(v).shape[1] for k, v in sizes.items() if k != "pre"))
    params["out.bias"] = bias32(3)
    return params, inputs


# Conv1D dilated and causal, and Masking before a GlobalAveragePooling1D
# and an LSTM: x (4,6,3) has steps whose three features all equal the mask
# value 0.5 (masked: row 1's last two, row 2 all, row 3's step 2) and one
# where only two do (row 3's step 4: kept).  The mask is fixed from the
# drawn x, so that the finite differences of a masked value see what the
# analytic gradient does (0: a step stays masked).
CONV1X_LAYERS = {  # name: filters, kernel, strides, padding, dilation, activation, bias
    "c_causal": (4, 3, 1, "causal", 1, "tanh", True),
    "c_dil": (3, 2, 1, "valid", 3, "linear", True),
    "c_cd": (2, 3, 1, "causal", 2, "linear", False),
    "c_ds": (2, 3, 1, "same", 2, "elu", True),
    "c_cs": (2, 2, 2, "causal", 1, "linear", True),
}
MASK_VALUE = 0.5
MASKED = [(1, 4), (1, 5), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (3, 2)]
CONV1X_NODES = list(CONV1X_LAYERS) + ["masking", "gap", "lstm", "cat", "out"]


def conv1x_model_for(mask):
    def model(p, x):
        act = {"tanh": torch.tanh, "linear": lambda v: v, "elu": elu}
        n = {}
        for k, (F, ks, st, pad, dil, a, bias) in CONV1X_LAYERS.items():
            n[k] = act[a](conv1d_ext(x["x"], p[k + ".kernel"], p[k + ".bias"] if bias else None, st, pad, dil))
        n["masking"] = torch.where(mask.unsqueeze(-1), x["x"], torch.zeros_like(x["x"]))
        n["gap"] = masked_avg(n["masking"], mask)
        n["lstm"] = keras_rnn("lstm", n["masking"], mask, p["lstm.kernel"], p["lstm.recurrent_kernel"],
                              p["lstm.bias"], False, False)
        n["cat"] = torch.cat([flat(n[k]) for k in CONV1X_LAYERS] + [n["gap"], n["lstm"]], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        return n, mse(n["out"], x["y"]), 1.0
    return model


def draw_conv1x():
    B, T, C = 4, 6, 3
    x = n32((B, T, C))
    for r, t in MASKED:
        x[r, t, :] = MASK_VALUE
    x[3, 4, :2] = MASK_VALUE
    inputs = {"x": x, "y": n32((B, 3))}
    params = {}
    width = 0
    for k, (F, ks, st, pad, dil, a, bias) in CONV1X_LAYERS.items():
        params[k + ".kernel"] = u32((ks, C, F), -0.6, 0.6)
        if bias:
            params[k + ".bias"] = bias32(F)
        To = (T - 1) // st + 1 if pad != "valid" else (T - dil * (ks - 1) - 1) // st + 1
        width += To * F
    params["lstm.kernel"] = u32((C, 12), -0.6, 0.6)
    params["lstm.recurrent_kernel"] = u32((3, 12), -0.6, 0.6)
    params["lstm.bias"] = u32((12,), -0.3, 0.3)
    params["out.kernel"] = glorot32(3, width + C + 3)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_conv1x(label, steps):
    params32, inputs32 = draw_conv1x()
    mask = (inputs32["x"] != MASK_VALUE).any(dim=-1)
    return build(label, lambda: (params32, inputs32), conv1x_model_for(mask), CONV1X_NODES, ["x", "y"], steps, 0.0,
                 max_tries=1)


def build_image(label, drawer, model, node_order, steps, margin_min, fixed=(), bn_stats=None,
                max_tries=200):
    """build() for the image networks.  `fixed`: parameters not trained
    (moving statistics: their gradient is 0).  bn_stats(p, x) -> the batch
    mean and biased variance a training pass at parameters p normalises
    with; the moving statistics after s steps follow Keras 3's rule over
    the forward passes at the parameters before each step."""
    for attempt in range(1, max_tries + 1):
        params32, inputs32 = drawer()
        if "out.kernel" in params32 and params32["out.kernel"].shape[1] == 0:
            params32["out.kernel"] = glorot32(3, imzoo_sizes())
        params = {k: v.double() for k, v in params32.items()}
        inputs = {k: v.double() for k, v in inputs32.items()}
        trained = {k: v for k, v in params.items() if k not in fixed}
        const = {k: v for k, v in params.items() if k in fixed}

        def m2(p, x):
            return model({**p, **{k: v.to(x["img"].dtype) for k, v in const.items()}}, x)
        if steps:
            hist, margin = train(m2, trained, inputs, steps)
        else:
            hist, margin = [trained], m2(trained, inputs)[2]
        if margin < margin_min:
            continue
        nodes, loss, gp, gx = forward_and_grads(m2, trained, inputs)
        fd_worst = fd_check(m2, trained, inputs, gp, gx, label)
        diffs = float32_agreement(m2, trained, inputs, steps, nodes, loss, gp, gx, hist)
        assert diffs["fwd"] < 1e-5 and diffs["loss"] < 1e-5 and diffs["grad"] < 1e-5, \
            "%s: float32 re-run disagrees with float64 reference: %r" % (label, diffs)
        if steps:
            assert diffs["adam"] < 2e-5, "%s: float32 Adam disagrees: %r" % (label, diffs)  # test_golden's absolute tolerance
        print("%s: draw %d, kink/tie margin %.3g, fd max err %.2g, float32 max diffs %s" % (
            label, attempt, margin, fd_worst, ", ".join("%s %.2g" % (k, v) for k, v in diffs.items())))
        out = [("x.img", inputs["img"]), ("y", inputs["y"])]
        for k in params:
            out.append((k, params[k]))
        for k in node_order:
            out.append(("fwd." + k, nodes[k]))
        out.append(("loss", loss.reshape(1)))
        for k in params:
            out.append(("grad." + k, gp[k] if k in gp else torch.zeros_like(params[k])))
        out.append(("grad.x.img", gx["img"]))
        if steps:
            moving = {}
            if bn_stats is not None:
                mm, mv = torch.zeros(4, dtype=F64), torch.ones(4, dtype=F64)
                for s in range(steps):
                    mean, var = bn_stats(hist[s], inputs)
                    mm = mm * BN_MOMENTUM + mean.detach() * (1 - BN_MOMENTUM)
                    mv = mv * BN_MOMENTUM + var.detach() * (1 - BN_MOMENTUM)
                    moving[s + 1] = (mm, mv)
            for s in (1, steps):
                for k in params:
                    if k in fixed:
                        v = moving[s][0 if k.endswith("moving_mean") else 1]
                    else:
                        v = hist[s][k]
                    out.append(("step%d.%s" % (s, k), v))
            _, loss_end, _ = m2(hist[steps], inputs)
            out.append(("loss.step%d" % steps, loss_end.reshape(1)))
        return out
    raise AssertionError("%s: no draw without kinks/ties in %d tries" % (label, max_tries))


# ---------------------------------------------------------------------------
# network 6: two branches, three outputs, Keras' loss_weights [1, .5, .5]
# ---------------------------------------------------------------------------

MULTI_B = 8
MULTI_C = 4
MULTI_WEIGHTS = (1.0, 0.5, 0.5)


def keras_cce(p, t):
    """Keras' categorical crossentropy of probabilities (not logits): the
    outputs divided by their sum (no clipping happens at these values)."""
    return (-(t * torch.log(p / p.sum(dim=1, keepdim=True))).sum(dim=1)).mean()


def multi_model(p, x):
    pre_a = dense(x["a"], p["ha.kernel"], p["ha.bias"])
    ha = torch.relu(pre_a)
    hb = torch.tanh(dense(x["b"], p["hb.kernel"], p["hb.bias"]))
    out_a = torch.softmax(dense(ha, p["out_a.kernel"], p["out_a.bias"]), dim=1)
    out_b = torch.softmax(dense(hb, p["out_b.kernel"], p["out_b.bias"]), dim=1)
    a = torch.softmax(p["fused.W"], dim=0)
    fused = a[0] * out_a + a[1] * out_b
    B = MULTI_B
    y = x["y"]  # the three outputs' one-hot targets, stacked: fused, out_a, out_b
    loss = (MULTI_WEIGHTS[0] * keras_cce(fused, y[:B]) + MULTI_WEIGHTS[1] * keras_cce(out_a, y[B:2 * B]) +
            MULTI_WEIGHTS[2] * keras_cce(out_b, y[2 * B:]))
    nodes = {"ha": ha, "hb": hb, "out_a": out_a, "out_b": out_b, "fused": fused}
    return nodes, loss, pre_a.abs().min().item()


def draw_multi():
    B, C = MULTI_B, MULTI_C
    labels = torch.randint(0, C, (3 * B,))
    y = torch.zeros((3 * B, C), dtype=F32)
    y[torch.arange(3 * B), labels] = 1.0
    inputs = {"a": u32((B, 6), -1.0, 1.0), "b": u32((B, 5), -1.0, 1.0), "y": y}
    params = {
        "ha.kernel": glorot32(8, 6), "ha.bias": bias32(8),
        "hb.kernel": glorot32(8, 5), "hb.bias": bias32(8),
        "out_a.kernel": glorot32(C, 8), "out_a.bias": bias32(C),
        "out_b.kernel": glorot32(C, 8), "out_b.bias": bias32(C),
        "fused.W": u32((2,), 0.0, 1.0),
    }
    return params, inputs


# ---------------------------------------------------------------------------
# sequence layers (Keras channels-last (B, T, D); PyTorch's conv1d works in
# (B, C, T), so it transposes in and out)
# ---------------------------------------------------------------------------

LN_EPS = 1e-3


def conv1d(x, K, b, stride, padding):
    """x (B,T,C), K Keras (k,C,F), b (F) or None -> (B,To,F); 'same' puts the
    odd padding step after, as Keras."""
    xc = x.permute(0, 2, 1)
    if padding == "same":
        xc = torch.nn.functional.pad(xc, same_pads(x.shape[1], K.shape[0], stride))
    return torch.nn.functional.conv1d(xc, K.permute(2, 1, 0), b, stride=stride).permute(0, 2, 1)


def layernorm(x, gamma, beta):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + LN_EPS) + beta


def masked_avg(x, mask):
    """mean over the unmasked steps; a row with none gives 0"""
    m = mask.to(x.dtype).unsqueeze(-1)
    count = m.sum(dim=1)
    return (x * m).sum(dim=1) / torch.clamp(count, min=1.0)


def masked_max(x, mask):
    """max over the unmasked steps; a row with none gives 0"""
    m = mask.unsqueeze(-1)
    big = torch.where(m, x, torch.full_like(x, -1e30)).amax(dim=1)
    return torch.where(mask.any(dim=1, keepdim=True), big, torch.zeros_like(big))


# network 6: every sequence layer on a padded batch of token ids
SEQ_B, SEQ_T, SEQ_V, SEQ_D = 4, 6, 11, 4
# row 0 no padding, row 1 two padded steps, row 2 all padding, row 3 a 0 inside
SEQ_PAD = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 0, 1, 1, 0]]


def seq_model_ids(ids):
    mask = ids != 0

    def model(p, x):
        n = {}
        n["emb"] = p["emb.embeddings"][ids]
        n["pos"] = p["pos.embeddings"][:SEQ_T].unsqueeze(0).expand(ids.shape[0], -1, -1)
        n["sum"] = n["emb"] + n["pos"] + x["x"]
        n["ln"] = layernorm(n["sum"], p["ln.gamma"], p["ln.beta"])
        n["dense"] = gelu_exact(n["ln"] @ p["dense.kernel"].t() + p["dense.bias"])
        n["conv_v"] = torch.tanh(conv1d(n["dense"], p["conv_v.kernel"], p["conv_v.bias"], 2, "valid"))
        n["conv_s"] = conv1d(n["dense"], p["conv_s.kernel"], None, 1, "same")
        n["gap"] = masked_avg(n["dense"], mask)
        n["gmp"] = masked_max(n["dense"], mask)
        n["gap2"] = n["conv_s"].mean(dim=1)
        n["cat"] = torch.cat([n["gap"], n["gmp"], flat(n["conv_v"]), n["gap2"]], dim=1)
        z = dense(n["cat"], p["out.kernel"], p["out.bias"])
        n["out"] = torch.softmax(z, dim=1)
        loss = cce_from_logits(z, x["y"])
        # the max's tie margin over the unmasked steps of each row and feature
        d = n["dense"].detach()
        gap = math.inf
        for r in range(ids.shape[0]):
            steps = d[r][mask[r]]
            if steps.shape[0] >= 2:
                top, _ = torch.sort(steps, dim=0)
                gap = min(gap, (top[-1] - top[-2]).min().item())
        return n, loss, gap
    return model


def draw_seq_ids():
    ids = torch.randint(1, SEQ_V, (SEQ_B, SEQ_T)) * torch.tensor(SEQ_PAD)
    return ids


def draw_seq():
    B, T, D = SEQ_B, SEQ_T, SEQ_D
    inputs = {"x": n32((B, T, D), 0.5), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.randint(0, 3, (B,))] = 1.0
    params = {
        "emb.embeddings": u32((SEQ_V, D), -1.0, 1.0),
        "pos.embeddings": u32((8, D), -0.5, 0.5),
        "ln.gamma": u32((D,), 0.5, 1.5), "ln.beta": bias32(D),
        "dense.kernel": glorot32(5, D), "dense.bias": bias32(5),
        "conv_v.kernel": u32((3, 5, 4), -0.5, 0.5), "conv_v.bias": bias32(4),
        "conv_s.kernel": u32((4, 5, 3), -0.5, 0.5),
        "out.kernel": glorot32(3, 21), "out.bias": bias32(3),
    }
    return params, inputs


def build_seq(label, steps, margin_min, max_tries=200):
    """build() with the token ids held out of the differentiated inputs:
    they are stored as "x.ids" (floats holding the ids) with a zero
    gradient, "grad.x.ids"."""
    for attempt in range(1, max_tries + 1):
        ids = draw_seq_ids()
        model = seq_model_ids(ids)
        out = None
        try:
            out = build(label, draw_seq, model, SEQ_NODES, ["x", "y"], steps, margin_min, max_tries=1)
        except AssertionError as e:
            if "no draw" not in str(e):
                raise
            continue
        idsf = ids.to(F64)
        return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]
    raise AssertionError("%s: no draw without ties in %d tries" % (label, max_tries))


SEQ_NODES = ["emb", "pos", "sum", "ln", "dense", "conv_v", "conv_s", "gap", "gmp", "gap2", "cat", "out"]


# ---------------------------------------------------------------------------
# attention (Keras' MultiHeadAttention: EinsumDense kernels (D, H, kd),
# the query scaled by 1/sqrt(kd), softmax over the keys; a padding mask
# sets absent keys to -inf and a row without keys to all-zero weights)
# ---------------------------------------------------------------------------

def mha(p, name, xq, xv, xk=None, qmask=None, kmask=None):
    """(B, T, Dq), (B, S, Dv), (B, S, Dk) -> (B, T, Do); masks (B, T) / (B, S) of 0/1."""
    xk = xv if xk is None else xk
    kd = p[name + ".query.kernel"].shape[2]
    q = torch.einsum("btd,dhk->bthk", xq, p[name + ".query.kernel"]) + p[name + ".query.bias"]
    k = torch.einsum("bsd,dhk->bshk", xk, p[name + ".key.kernel"]) + p[name + ".key.bias"]
    v = torch.einsum("bsd,dhk->bshk", xv, p[name + ".value.kernel"]) + p[name + ".value.bias"]
    s = torch.einsum("bthk,bshk->bhts", q * (1.0 / math.sqrt(kd)), k)
    if qmask is not None or kmask is not None:
        B, T, S = xq.shape[0], xq.shape[1], xv.shape[1]
        qm = qmask if qmask is not None else torch.ones(B, T, dtype=s.dtype)
        km = kmask if kmask is not None else torch.ones(B, S, dtype=s.dtype)
        allowed = (qm[:, None, :, None] * km[:, None, None, :]) > 0.5
        s = torch.where(allowed, s, torch.full_like(s, -math.inf))
        a = torch.softmax(torch.where(allowed.any(dim=-1, keepdim=True), s, torch.zeros_like(s)), dim=-1)
        a = torch.where(allowed, a, torch.zeros_like(a))
    else:
        a = torch.softmax(s, dim=-1)
    o = torch.einsum("bhts,bshk->bthk", a, v)
    return torch.einsum("bthk,hko->bto", o, p[name + ".attention_output.kernel"]) + \
        p[name + ".attention_output.bias"]


def mha_kernel32(a, b, c):
    """glorot_uniform with Keras' fans for a rank-3 kernel: a b in, a c out."""
    lim = math.sqrt(6.0 / (a * b + a * c))
    return u32((a, b, c), -lim, lim)


def mha_params32(name, dq, dv, dk, heads, kd, vd, do):
    return {
        name + ".query.kernel": mha_kernel32(dq, heads, kd), name + ".query.bias": u32((heads, kd), -0.1, 0.1),
        name + ".key.kernel": mha_kernel32(dk, heads, kd), name + ".key.bias": u32((heads, kd), -0.1, 0.1),
        name + ".value.kernel": mha_kernel32(dv, heads, vd), name + ".value.bias": u32((heads, vd), -0.1, 0.1),
        name + ".attention_output.kernel": mha_kernel32(heads, vd, do),
        name + ".attention_output.bias": bias32(do),
    }


# network 6: MultiHeadAttention alone: self-attention and cross-attention
# (query x, value v, separate key k), each flattened, concatenated, Dense(3)
ATT_B = 3


def att_model(p, x):
    n = {}
    n["self_att"] = mha(p, "self_att", x["x"], x["x"])
    n["cross_att"] = mha(p, "cross_att", x["x"], x["v"], x["k"])
    n["cat"] = torch.cat([flat(n["self_att"]), flat(n["cross_att"])], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), math.inf


def draw_att():
    B = ATT_B
    inputs = {"x": n32((B, 5, 8)), "v": n32((B, 4, 6)), "k": n32((B, 4, 3)), "y": n32((B, 3))}
    params = {}
    params.update(mha_params32("self_att", 8, 8, 8, 2, 4, 4, 8))
    params.update(mha_params32("cross_att", 8, 6, 3, 3, 2, 5, 7))
    params["out.kernel"] = glorot32(3, 5 * 8 + 5 * 7)
    params["out.bias"] = bias32(3)
    return params, inputs


# network 8: a one-block transformer encoder on padded token ids (row 0 no
# padding, row 1 two padded steps, row 2 all padding, row 3 a 0 inside):
# Embedding(mask_zero) + PositionEmbedding -> MultiHeadAttention (the
# padding mask on keys and rows) -> Add -> LayerNormalization ->
# Dense(relu) -> Dense -> Add -> LayerNormalization -> masked
# GlobalAveragePooling1D -> Dense(softmax)
ENC_B, ENC_T, ENC_V, ENC_D, ENC_FF = 4, 6, 11, 8, 16
ENC_NODES = ["emb", "pos", "sum", "att", "add1", "ln1", "ff1", "ff2", "add2", "ln2", "gap", "out"]


def encoder_model_ids(ids):
    mask = ids != 0
    fmask = mask.to(F64)

    def model(p, x):
        n = {}
        m = fmask.to(p["emb.embeddings"].dtype)
        n["emb"] = p["emb.embeddings"][ids]
        n["pos"] = p["pos.embeddings"][:ENC_T].unsqueeze(0).expand(ids.shape[0], -1, -1)
        n["sum"] = n["emb"] + n["pos"]
        n["att"] = mha(p, "att", n["sum"], n["sum"], qmask=m, kmask=m)
        n["add1"] = n["sum"] + n["att"]
        n["ln1"] = layernorm(n["add1"], p["ln1.gamma"], p["ln1.beta"])
        pre = n["ln1"] @ p["ff1.kernel"].t() + p["ff1.bias"]
        n["ff1"] = torch.relu(pre)
        n["ff2"] = n["ff1"] @ p["ff2.kernel"].t() + p["ff2.bias"]
        n["add2"] = n["ln1"] + n["ff2"]
        n["ln2"] = layernorm(n["add2"], p["ln2.gamma"], p["ln2.beta"])
        n["gap"] = masked_avg(n["ln2"], mask)
        z = dense(n["gap"], p["out.kernel"], p["out.bias"])
        n["out"] = torch.softmax(z, dim=1)
        # the relu's kinks matter at the unmasked steps only
        margin = pre.detach().abs()[mask].min().item()
        return n, cce_from_logits(z, x["y"]), margin
    return model


def draw_encoder():
    B, D = ENC_B, ENC_D
    inputs = {"y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.randint(0, 3, (B,))] = 1.0
    params = {"emb.embeddings": u32((ENC_V, D), -1.0, 1.0), "pos.embeddings": u32((8, D), -0.5, 0.5)}
    params.update(mha_params32("att", D, D, D, 2, 4, 4, D))
    params.update({
        "ln1.gamma": u32((D,), 0.5, 1.5), "ln1.beta": bias32(D),
        "ff1.kernel": glorot32(ENC_FF, D), "ff1.bias": bias32(ENC_FF),
        "ff2.kernel": glorot32(D, ENC_FF), "ff2.bias": bias32(D),
        "ln2.gamma": u32((D,), 0.5, 1.5), "ln2.beta": bias32(D),
        "out.kernel": glorot32(3, D), "out.bias": bias32(3),
    })
    return params, inputs


def build_encoder(label, steps, margin_min, max_tries=200):
    """build() on fresh ids each try; the ids are stored as "x.ids" with a
    zero "grad.x.ids", as build_seq does"""
    for attempt in range(1, max_tries + 1):
        ids = torch.randint(1, ENC_V, (ENC_B, ENC_T)) * torch.tensor(SEQ_PAD)
        try:
            out = build(label, draw_encoder, encoder_model_ids(ids), ENC_NODES, ["y"], steps, margin_min,
                        max_tries=1)
        except AssertionError as e:
            if "no draw" not in str(e):
                raise
            continue
        idsf = ids.to(F64)
        return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]
    raise AssertionError("%s: no draw without kinks in %d tries" % (label, max_tries))


# ---------------------------------------------------------------------------
# network 9: the 1-D poolings (Keras' MaxPooling1D / AveragePooling1D on
# channels-last (B, T, D); PyTorch's nn.MaxPool1d / nn.AvgPool1d on (B, D, T))
# ---------------------------------------------------------------------------

def pool1d(x, kind, k, stride, padding):
    """x (B,T,D) -> (B,To,D); 'same' as Keras: output ceil(T/stride), the
    odd padding step after, padded steps take no part (max over the real
    steps, mean divided by their count: AvgPool1d(count_include_pad=False)
    where the padding is even; the sum over the count where it is not)"""
    xc = x.permute(0, 2, 1)
    l, r = same_pads(x.shape[1], k, stride) if padding == "same" else (0, 0)
    if kind == "max":
        y = torch.nn.MaxPool1d(k, stride)(torch.nn.functional.pad(xc, (l, r), value=-math.inf))
    elif l == r:
        y = torch.nn.AvgPool1d(k, stride, padding=l, count_include_pad=False)(xc)
    else:
        xp, ones = torch.nn.functional.pad(xc, (l, r)), torch.nn.functional.pad(torch.ones_like(xc), (l, r))
        y = torch.nn.AvgPool1d(k, stride)(xp) / torch.nn.AvgPool1d(k, stride)(ones)
    return y.permute(0, 2, 1)


def pool1d_gap(x, k, stride, padding):
    """the smallest gap between the two largest values of a max window"""
    xc = x.detach().permute(0, 2, 1)
    l, r = same_pads(x.shape[1], k, stride) if padding == "same" else (0, 0)
    w = torch.nn.functional.pad(xc, (l, r), value=-1e9).unfold(2, k, stride)
    if k < 2:
        return math.inf
    top, _ = torch.sort(w, dim=-1)
    return (top[..., -1] - top[..., -2]).min().item()


POOL1D_B = 3
# name: (input, kind, pool_size, strides, padding); "x" (3,7,3), "conv" (3,7,4)
POOL1D_LAYERS = {
    "max_v": ("conv", "max", 2, 2, "valid"),
    "max_s": ("conv", "max", 3, 2, "same"),   # padding 1 + 1
    "avg_v": ("conv", "avg", 2, 1, "valid"),
    "avg_s": ("conv", "avg", 2, 2, "same"),   # padding 0 + 1: the odd step after
    "max_x": ("x", "max", 2, 3, "same"),      # padding 0 + 1, strides above the pool
    "avg_x": ("x", "avg", 3, 1, "same"),      # padding 1 + 1
}
POOL1D_NODES = ["conv"] + list(POOL1D_LAYERS) + ["cat", "out"]


def pool1d_model(p, x):
    n = {"x": x["x"]}
    n["conv"] = torch.tanh(conv1d(x["x"], p["conv.kernel"], p["conv.bias"], 1, "same"))
    gaps = []
    for name, (src, kind, k, s, pad) in POOL1D_LAYERS.items():
        n[name] = pool1d(n[src], kind, k, s, pad)
        if kind == "max":
            gaps.append(pool1d_gap(n[src], k, s, pad))
    n["cat"] = torch.cat([flat(n[k]) for k in POOL1D_LAYERS], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    del n["x"]
    return n, mse(n["out"], x["y"]), min(gaps)


def draw_pool1d():
    B = POOL1D_B
    inputs = {"x": n32((B, 7, 3)), "y": n32((B, 3))}
    params = {"conv.kernel": u32((2, 3, 4), -0.8, 0.8), "conv.bias": bias32(4),
              "out.kernel": glorot32(3, 3 * 4 + 4 * 4 + 6 * 4 + 4 * 4 + 3 * 3 + 7 * 3), "out.bias": bias32(3)}
    return params, inputs


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------

def build(label, drawer, model, node_order, input_order, steps, margin_min, max_tries=200):
    for attempt in range(1, max_tries + 1):
        params32, inputs32 = drawer()
        params = {k: v.double() for k, v in params32.items()}
        inputs = {k: v.double() for k, v in inputs32.items()}
        for k in params:  # the float64 start values are exactly the float32 ones
            assert torch.equal(params[k].to(F32), params32[k])
        if steps:
            hist, margin = train(model, params, inputs, steps)
        else:
            hist, margin = [params], model(params, inputs)[2]
        if margin < margin_min:
            continue
        nodes, loss, gp, gx = forward_and_grads(model, params, inputs)
        fd_worst = fd_check(model, params, inputs, gp, gx, label)
        diffs = float32_agreement(model, params, inputs, steps, nodes, loss, gp, gx, hist)
        assert diffs["fwd"] < 1e-5 and diffs["loss"] < 1e-5 and diffs["grad"] < 1e-5, \
            "%s: float32 re-run disagrees with float64 reference: %r" % (label, diffs)
        if steps:
            assert diffs["adam"] < 2e-5, "%s: float32 Adam disagrees: %r" % (label, diffs)  # test_golden's absolute tolerance
        print("%s: draw %d, kink/tie margin %.3g, fd max err %.2g, float32 max diffs %s" % (
            label, attempt, margin, fd_worst,
            ", ".join("%s %.2g" % (k, v) for k, v in diffs.items())))
        out = []
        for k in input_order:
            out.append(("y" if k == "y" else "x." + k, inputs[k]))
        for k in params:
            out.append((k, params[k]))
        for k in node_order:
            out.append(("fwd." + k, nodes[k]))
        out.append(("loss", loss.reshape(1)))
        for k in params:
            out.append(("grad." + k, gp[k]))
        for k in input_order:
            if k != "y":
                out.append(("grad.x." + k, gx[k]))
        if steps:
            for k in params:
                out.append(("step1." + k, hist[1][k]))
            for k in params:
                out.append(("step%d.%s" % (steps, k), hist[steps][k]))
            _, loss_end, _ = model(hist[steps], inputs)
            out.append(("loss.step%d" % steps, loss_end.reshape(1)))
        return out
    raise AssertionError("%s: no draw without kinks/ties in %d tries" % (label, max_tries))


# ---------------------------------------------------------------------------
# recurrent layers: Keras' LSTM / GRU (reset_after) run by PyTorch's own
# cells (torch._VF.lstm_cell / gru_cell, what nn.LSTMCell / nn.GRUCell
# call) with the weights mapped from Keras' layout: LSTM gate blocks i, f,
# c, o are torch's i, f, g, o (w_ih = kernel^T, w_hh = recurrent_kernel^T,
# b_ih = bias, b_hh = 0); GRU's z, r, h are reordered to torch's r, z, n
# (b_ih = bias[0], b_hh = bias[1]).  The padding mask as Keras' backend
# rnn (zero_output_for_mask False): a masked step keeps the states and
# repeats the previous output (zeros before the first); go_backwards runs
# the steps from the end and returns the outputs in that order.
# ---------------------------------------------------------------------------

RNN_U = 3


def _gru_torch_order(w, u):
    """Keras blocks z, r, h along the last axis -> torch's r, z, n"""
    return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)


def keras_rnn(kind, x, mask, kernel, rec, bias, return_sequences, go_backwards, h0=None, c0=None, states=False):
    """states: also the final states (Keras' return_state: h, c after the
    last real step); h0, c0: Keras' initial_state (None: zeros)"""
    B, T, _ = x.shape
    u = rec.shape[0]
    if kind == "lstm":
        w_ih, w_hh = kernel.t(), rec.t()
        b_ih = bias if bias is not None else None
        b_hh = torch.zeros_like(bias) if bias is not None else None
    else:
        w_ih, w_hh = _gru_torch_order(kernel, u).t(), _gru_torch_order(rec, u).t()
        b_ih = _gru_torch_order(bias[0], u) if bias is not None else None
        b_hh = _gru_torch_order(bias[1], u) if bias is not None else None
    h = torch.zeros((B, u), dtype=x.dtype) if h0 is None else h0
    c = torch.zeros((B, u), dtype=x.dtype) if c0 is None else c0
    outs = []
    for s in range(T):
        t = T - 1 - s if go_backwards else s
        if kind == "lstm":
            hn, cn = torch._VF.lstm_cell(x[:, t], (h, c), w_ih, w_hh, b_ih, b_hh)
        else:
            hn = torch._VF.gru_cell(x[:, t], h, w_ih, w_hh, b_ih, b_hh)
            cn = c
        keep = mask[:, t].unsqueeze(-1)
        h = torch.where(keep, hn, h)
        c = torch.where(keep, cn, c)
        outs.append(h)
    y = torch.stack(outs, dim=1) if return_sequences else h
    return (y, h, c) if states else y


RNN_NODES = ["emb", "sum", "lstm_s", "lstm_b", "gru_s", "gru_n", "gap", "cat", "out"]


def rnn_model_ids(ids):
    mask = ids != 0
    ones = torch.ones_like(mask)

    def model(p, x):
        n = {}
        n["emb"] = p["emb.embeddings"][ids]
        n["sum"] = n["emb"] + x["x"]
        n["lstm_s"] = keras_rnn("lstm", n["sum"], mask, p["lstm_s.kernel"], p["lstm_s.recurrent_kernel"],
                                p["lstm_s.bias"], True, False)
        n["lstm_b"] = keras_rnn("lstm", n["sum"], mask, p["lstm_b.kernel"], p["lstm_b.recurrent_kernel"],
                                p["lstm_b.bias"], False, True)
        n["gru_s"] = keras_rnn("gru", n["sum"], mask, p["gru_s.kernel"], p["gru_s.recurrent_kernel"],
                               p["gru_s.bias"], True, True)
        # no mask: a GRU on x alone, without bias
        n["gru_n"] = keras_rnn("gru", x["x"], ones, p["gru_n.kernel"], p["gru_n.recurrent_kernel"], None,
                               False, False)
        n["gap"] = masked_avg(n["gru_s"], mask)  # the output keeps the (unreversed) mask
        n["cat"] = torch.cat([flat(n["lstm_s"]), n["lstm_b"], n["gap"], n["gru_n"]], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        loss = mse(n["out"], x["y"])
        return n, loss, math.inf
    return model


def draw_rnn():
    B, T, D, u = SEQ_B, SEQ_T, SEQ_D, RNN_U
    inputs = {"x": n32((B, T, D), 0.5), "y": n32((B, 3), 1.0)}
    params = {"emb.embeddings": u32((SEQ_V, D), -1.0, 1.0)}
    for name, G, b in (("lstm_s", 4 * u, (4 * u,)), ("lstm_b", 4 * u, (4 * u,)), ("gru_s", 3 * u, (2, 3 * u)),
                       ("gru_n", 3 * 2, None)):
        units = G // (4 if name.startswith("lstm") else 3)
        params[name + ".kernel"] = u32((D, G), -0.6, 0.6)
        params[name + ".recurrent_kernel"] = u32((units, G), -0.6, 0.6)
        if b is not None:
            params[name + ".bias"] = u32(b, -0.3, 0.3)
    params["out.kernel"] = glorot32(3, SEQ_T * u + u + u + 2)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_rnn(label, steps):
    ids = draw_seq_ids()
    out = build(label, draw_rnn, rnn_model_ids(ids), RNN_NODES, ["x", "y"], steps, 0.0)
    idsf = ids.to(F64)
    return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]


# SimpleRNN: Keras' h' = activation(x W + h U + b), tanh steps run by
# PyTorch's own cell (torch._VF.rnn_tanh_cell, what nn.RNNCell calls, w_ih =
# kernel^T, w_hh = recurrent_kernel^T, b_ih = bias, b_hh = 0), other
# activations written out; masks and go_backwards as keras_rnn above.
def keras_simple_rnn(x, mask, kernel, rec, bias, activation, return_sequences, go_backwards, states=False):
    B, T, _ = x.shape
    u = rec.shape[0]
    h = torch.zeros((B, u), dtype=x.dtype)
    outs = []
    for s in range(T):
        t = T - 1 - s if go_backwards else s
        if activation == "tanh":
            b_hh = torch.zeros_like(bias) if bias is not None else None
            hn = torch._VF.rnn_tanh_cell(x[:, t], h, kernel.t(), rec.t(), bias, b_hh)
        else:
            z = x[:, t] @ kernel + h @ rec + (bias if bias is not None else 0.0)
            hn = torch.sigmoid(z) if activation == "sigmoid" else z
        h = torch.where(mask[:, t].unsqueeze(-1), hn, h)
        outs.append(h)
    y = torch.stack(outs, dim=1) if return_sequences else h
    return (y, h) if states else y


SRNN_NODES = ["emb", "sum", "srnn_s", "srnn_b", "srnn_g", "srnn_n", "gap", "cat", "out"]


def simple_rnn_model_ids(ids):
    mask = ids != 0
    ones = torch.ones_like(mask)

    def model(p, x):
        n = {}
        n["emb"] = p["emb.embeddings"][ids]
        n["sum"] = n["emb"] + x["x"]

        def run(name, inp, m, act, seqs, back):
            return keras_simple_rnn(inp, m, p[name + ".kernel"], p[name + ".recurrent_kernel"],
                                    p.get(name + ".bias"), act, seqs, back)
        n["srnn_s"] = run("srnn_s", n["sum"], mask, "tanh", True, False)
        n["srnn_b"] = run("srnn_b", n["sum"], mask, "sigmoid", False, True)
        n["srnn_g"] = run("srnn_g", n["sum"], mask, "tanh", True, True)
        n["srnn_n"] = run("srnn_n", x["x"], ones, "linear", False, False)  # no mask, no bias
        n["gap"] = masked_avg(n["srnn_g"], mask)  # the output keeps the (unreversed) mask
        n["cat"] = torch.cat([flat(n["srnn_s"]), n["srnn_b"], n["gap"], n["srnn_n"]], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        return n, mse(n["out"], x["y"]), math.inf
    return model


def draw_simple_rnn():
    B, T, D, u = SEQ_B, SEQ_T, SEQ_D, RNN_U
    inputs = {"x": n32((B, T, D), 0.5), "y": n32((B, 3), 1.0)}
    params = {"emb.embeddings": u32((SEQ_V, D), -1.0, 1.0)}
    for name, units, bias in (("srnn_s", u, True), ("srnn_b", u, True), ("srnn_g", u, True), ("srnn_n", 2, False)):
        params[name + ".kernel"] = u32((D, units), -0.6, 0.6)
        params[name + ".recurrent_kernel"] = u32((units, units), -0.6, 0.6)
        if bias:
            params[name + ".bias"] = u32((units,), -0.3, 0.3)
    params["out.kernel"] = glorot32(3, SEQ_T * u + u + u + 2)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_simple_rnn(label, steps):
    ids = draw_seq_ids()
    out = build(label, draw_simple_rnn, simple_rnn_model_ids(ids), SRNN_NODES, ["x", "y"], steps, 0.0)
    idsf = ids.to(F64)
    return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]


# Bidirectional (keras/src/layers/rnn/bidirectional.py): a forward copy and
# a go_backwards copy of the layer, each with its own weights, run as
# keras_rnn / keras_simple_rnn above (torch's cells), but with
# zero_output_for_mask = return_sequences (Keras forces it): a masked
# step's output is zeros in both copies; the backward copy's sequence is
# flipped back to time order (ops.flip(y_rev, axis=1)); merges concat
# [y, y_rev], sum, mul, ave (y + y_rev) / 2.
def keras_bidirectional(kind, x, mask, p, name, return_sequences, merge_mode, activation="tanh"):
    ys = []
    for d, back in (("forward", False), ("backward", True)):
        k, r, b = p[name + "." + d + ".kernel"], p[name + "." + d + ".recurrent_kernel"], p.get(name + "." + d + ".bias")
        if kind == "simple":
            y = keras_simple_rnn(x, mask, k, r, b, activation, return_sequences, back)
        else:
            y = keras_rnn(kind, x, mask, k, r, b, return_sequences, back)
        if return_sequences:
            if back:
                y = torch.flip(y, dims=[1])
            y = y * mask.to(y.dtype).unsqueeze(-1)  # zero_output_for_mask
        ys.append(y)
    y, y_rev = ys
    if merge_mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if merge_mode == "sum":
        return y + y_rev
    if merge_mode == "mul":
        return y * y_rev
    return (y + y_rev) / 2


BIDI_NODES = ["emb", "sum", "bi_l", "bi_g", "bi_s", "bi_a", "gap", "cat", "out"]


def bidirectional_model_ids(ids):
    mask = ids != 0
    ones = torch.ones_like(mask)

    def model(p, x):
        n = {}
        n["emb"] = p["emb.embeddings"][ids]
        n["sum"] = n["emb"] + x["x"]
        n["bi_l"] = keras_bidirectional("lstm", n["sum"], mask, p, "bi_l", True, "concat")
        n["bi_g"] = keras_bidirectional("gru", n["sum"], mask, p, "bi_g", False, "sum")
        n["bi_s"] = keras_bidirectional("simple", n["sum"], mask, p, "bi_s", True, "mul")
        n["bi_a"] = keras_bidirectional("gru", x["x"], ones, p, "bi_a", True, "ave")  # no mask, no bias
        n["gap"] = masked_avg(n["bi_s"], mask)  # the output keeps the mask
        n["cat"] = torch.cat([flat(n["bi_l"]), n["bi_g"], n["gap"], flat(n["bi_a"])], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        return n, mse(n["out"], x["y"]), math.inf
    return model


def draw_bidirectional():
    B, T, D, u = SEQ_B, SEQ_T, SEQ_D, RNN_U
    inputs = {"x": n32((B, T, D), 0.5), "y": n32((B, 3), 1.0)}
    params = {"emb.embeddings": u32((SEQ_V, D), -1.0, 1.0)}
    for name, gates, units, bias in (("bi_l", 4, u, (4 * u,)), ("bi_g", 3, u, (2, 3 * u)), ("bi_s", 1, u, (u,)),
                                     ("bi_a", 3, 2, None)):
        for d in ("forward", "backward"):
            params["%s.%s.kernel" % (name, d)] = u32((D, gates * units), -0.6, 0.6)
            params["%s.%s.recurrent_kernel" % (name, d)] = u32((units, gates * units), -0.6, 0.6)
            if bias is not None:
                params["%s.%s.bias" % (name, d)] = u32(bias, -0.3, 0.3)
    params["out.kernel"] = glorot32(3, SEQ_T * 2 * u + u + u + SEQ_T * 2)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_bidirectional(label, steps):
    ids = draw_seq_ids()
    out = build(label, draw_bidirectional, bidirectional_model_ids(ids), BIDI_NODES, ["x", "y"], steps, 0.0)
    idsf = ids.to(F64)
    return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]


# return_state and initial_state (keras/src/layers/rnn/rnn.py, bidirectional.py):
# the masked ones by the cells above (the states of the last real step; a
# fully padded row keeps the initial states), the unmasked decoders by
# PyTorch's own modules, nn.LSTM / nn.GRU / nn.RNN, which return (output,
# (h_n, c_n)) / (output, h_n) and take (h0, c0) / h0, with Keras' weights
# mapped as above (their kernels torch._VF.lstm / gru / rnn_tanh called
# directly, so that the gradients reach the Keras-layout weights).  Each node of several outputs
# is their concatenation, the engine's buffer; its views, "<node>.out<k>".
RNN_STATE_NODES = ["emb", "sum", "enc", "enc.out0", "enc.out1", "enc.out2", "dec", "ldec", "gru", "gru.out0",
                   "gru.out1", "gdec", "bi", "bi.out0", "bi.out1", "bi.out2", "bi.out3", "sdec", "cat", "out"]


def torch_module_rnn(kind, x, p, name, h0, c0=None):
    """PyTorch's own multi-step kernels, torch._VF.lstm / gru / rnn_tanh
    (what nn.LSTM / nn.GRU / nn.RNN's forward calls, batch_first, one
    layer; called directly so that the gradients reach Keras' weights),
    over x with Keras' weights of layer `name` from h0 (and c0); checked
    against the nn module itself with the same weights copied in.  Returns
    the output sequence."""
    k, r, b = p[name + ".kernel"], p[name + ".recurrent_kernel"], p[name + ".bias"]
    u = r.shape[0]
    if kind == "gru":
        w = [_gru_torch_order(k, u).t(), _gru_torch_order(r, u).t(), _gru_torch_order(b[0], u),
             _gru_torch_order(b[1], u)]
    else:
        w = [k.t(), r.t(), b, torch.zeros_like(b)]
    hx = (h0.unsqueeze(0), c0.unsqueeze(0)) if kind == "lstm" else h0.unsqueeze(0)
    fn = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "simple": torch._VF.rnn_tanh}[kind]
    res = fn(x, hx, w, True, 1, 0.0, False, False, True)
    out, hn = res[0], res[1]
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple": torch.nn.RNN}[kind]
    mod = cls(k.shape[0], u, batch_first=True).to(x.dtype)
    with torch.no_grad():
        for prm, v in zip((mod.weight_ih_l0, mod.weight_hh_l0, mod.bias_ih_l0, mod.bias_hh_l0), w):
            prm.copy_(v)
        ref = mod(x.detach(), tuple(t.detach() for t in hx) if kind == "lstm" else hx.detach())
    assert torch.allclose(ref[0], out.detach(), rtol=0, atol=1e-12 if x.dtype == torch.float64 else 1e-6), name
    assert torch.equal(out[:, -1], hn[0])
    return out


def rnn_state_model_ids(ids):
    mask = ids != 0

    def model(p, x):
        n = {}
        n["emb"] = p["emb.embeddings"][ids]
        n["sum"] = n["emb"] + x["x"]
        # LSTM(3, return_sequences, return_state) -> y, h, c
        y, h, c = keras_rnn("lstm", n["sum"], mask, p["enc.kernel"], p["enc.recurrent_kernel"], p["enc.bias"],
                            True, False, states=True)
        n["enc.out0"], n["enc.out1"], n["enc.out2"] = y, h, c
        n["enc"] = torch.cat([flat(y), h, c], dim=1)
        # LSTM(3, go_backwards)(sum, initial_state=[h, c]): the padded row keeps h
        n["dec"] = keras_rnn("lstm", n["sum"], mask, p["dec.kernel"], p["dec.recurrent_kernel"], p["dec.bias"],
                             False, True, h0=h, c0=c)
        # LSTM(3, return_sequences)(x, initial_state=[h, c]): nn.LSTM
        n["ldec"] = torch_module_rnn("lstm", x["x"], p, "ldec", h, c)
        # GRU(3, go_backwards, return_state) -> out, h (out == h)
        go, gh, _ = keras_rnn("gru", n["sum"], mask, p["gru.kernel"], p["gru.recurrent_kernel"], p["gru.bias"],
                              False, True, states=True)
        n["gru.out0"], n["gru.out1"] = go, gh
        n["gru"] = torch.cat([go, gh], dim=1)
        # GRU(3, return_sequences)(x, initial_state=[h]): nn.GRU
        n["gdec"] = torch_module_rnn("gru", x["x"], p, "gdec", gh)
        # Bidirectional(SimpleRNN(3, return_state), merge_mode=None) -> y, y_rev, h_forward, h_backward
        outs = []
        for d, back in (("forward", False), ("backward", True)):
            outs.append(keras_simple_rnn(n["sum"], mask, p["bi.%s.kernel" % d], p["bi.%s.recurrent_kernel" % d],
                                         p["bi.%s.bias" % d], "tanh", False, back, states=True))
        (yf, hf), (yb, hb) = outs
        n["bi.out0"], n["bi.out1"], n["bi.out2"], n["bi.out3"] = yf, yb, hf, hb
        n["bi"] = torch.cat([yf, yb, hf, hb], dim=1)
        # SimpleRNN(3)(x, initial_state=[h_backward]): nn.RNN
        n["sdec"] = torch_module_rnn("simple", x["x"], p, "sdec", hb)[:, -1]
        n["cat"] = torch.cat([flat(y), h, c, n["dec"], flat(n["ldec"]), go, gh, flat(n["gdec"]), yf, yb, hf, hb,
                              n["sdec"]], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        loss = mse(n["out"], x["y"])
        return n, loss, math.inf
    return model


def draw_rnn_state():
    B, T, D, u = SEQ_B, SEQ_T, SEQ_D, RNN_U
    inputs = {"x": n32((B, T, D), 0.5), "y": n32((B, 3), 1.0)}
    params = {"emb.embeddings": u32((SEQ_V, D), -1.0, 1.0)}
    for name, g, gru in (("enc", 4, 0), ("dec", 4, 0), ("ldec", 4, 0), ("gru", 3, 1), ("gdec", 3, 1),
                         ("bi.forward", 1, 0), ("bi.backward", 1, 0), ("sdec", 1, 0)):
        params[name + ".kernel"] = u32((D, g * u), -0.6, 0.6)
        params[name + ".recurrent_kernel"] = u32((u, g * u), -0.6, 0.6)
        params[name + ".bias"] = u32((2, g * u) if gru else (g * u,), -0.3, 0.3)
    params["out.kernel"] = glorot32(3, 84)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_rnn_state(label, steps):
    ids = draw_seq_ids()
    out = build(label, draw_rnn_state, rnn_state_model_ids(ids), RNN_STATE_NODES, ["x", "y"], steps, 0.0)
    idsf = ids.to(F64)
    return [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))]


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in SEEDED_FILES):
        sys.stderr.write("usage: make_golden.py OUTDIR [%s]\n" % " | ".join(sorted(SEEDED_FILES)))
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if len(argv) == 3:  # one file that seeds itself, alone: the others keep their bytes
        write_files(outdir, [SEEDED_FILES[argv[2]]()])
        return 0
    torch.manual_seed(0)

    files = [
        ("seed.safetensors",
         "Founding network: in1,in2 (8,100) -> Dense(32,relu) each -> WeightedAverage(softmax(W)) "
         "-> Dense(1,linear); mse loss; forward, grads, Keras-3 Adam (lr 1e-3, eps 1e-7) steps 1 and 5.",
         build("seed", draw_seed, seed_model, ["d1", "d2", "wavg", "out"], ["in1", "in2", "y"], 5, SEED_HEAD_MARGIN)),
        ("head.safetensors",
         "Concatenation head: image,text (16,5) class probabilities -> Concatenate -> Dense(128,relu) "
         "-> Dropout(0.2, identity) -> Dense(5,softmax); categorical crossentropy from logits; "
         "forward, grads, Keras-3 Adam steps 1 and 5.",
         build("head", draw_head, head_model, ["cat", "hidden", "out"], ["image", "text", "y"], 5, SEED_HEAD_MARGIN)),
        ("zoo.safetensors",
         "Layer zoo: leaky_relu(0.2)/elu/gelu(erf)/tanh/sigmoid Dense, Add, Subtract, Multiply, Average, "
         "Maximum, Minimum, ClassWeightedAverage(softmax over inputs), Concatenate, Dot(normalize) and "
         "Dot, Dense(3,linear); mse loss; forward and grads.",
         build("zoo", draw_zoo, zoo_model, ZOO_NODES, ["a", "b", "c", "y"], 0, ZOO_MARGIN)),
    ]
    files += [
        ("cnn.safetensors",
         "Small CNN: img (4,8,8,3) -> Conv2D(4,3x3,same,no bias) -> BatchNormalization (training: batch mean, biased "
         "variance, eps 1e-3) -> ReLU -> MaxPooling2D(2) -> Conv2D(5,3x3,strides 2,same: the odd pad after, "
         "relu) -> GlobalAveragePooling2D -> Dense(3,softmax); categorical crossentropy from logits; "
         "forward, grads, Keras-3 Adam steps 1 and 5, and the moving statistics (Keras 3: momentum 0.99, "
         "biased variance) after 1 and 5 training passes.",
         build_image("cnn", draw_cnn, cnn_model, ["conv1", "bn", "relu", "pool", "conv2", "gap", "out"], 5,
                     SEED_HEAD_MARGIN, fixed=("bn.moving_mean", "bn.moving_variance"), bn_stats=cnn_bn_stats)),
        ("image_zoo.safetensors",
         "Image layer zoo: img (3,7,6,2) -> Rescaling(0.5,-0.25) -> Conv2D(3,(3,2),strides (2,1),valid,elu); "
         "Conv2D(2,3x3,strides (2,3),same,tanh,no bias); MaxPooling2D (2,2) valid and (3,2)/(2,3) same; "
         "AveragePooling2D (2,3)/(1,2) valid and 3x3/2 same (mean over the real pixels); GlobalMax/"
         "GlobalAveragePooling2D; BatchNormalization in inference (moving statistics); each flattened, "
         "Concatenate, Dense(3,linear); mse; forward and grads.",
         build_image("image_zoo", draw_imzoo, imzoo_model, ["resc", "conv_v", "conv_s", "max_v", "max_s",
                                                              "avg_v", "avg_s", "gmax", "gavg", "bn", "cat",
                                                              "out"], 0, ZOO_MARGIN,
                     fixed=("bn.moving_mean", "bn.moving_variance"))),
    ]
    files += [
        ("multi.safetensors",
         "Several outputs: a (8,6) -> Dense(8,relu) -> Dense(4,softmax) 'out_a'; b (8,5) -> Dense(8,tanh) -> "
         "Dense(4,softmax) 'out_b'; WeightedAverage(out_a, out_b) 'fused'; outputs fused, out_a, out_b with "
         "categorical crossentropy (Keras': of the probabilities divided by their sum) and loss_weights "
         "1, .5, .5 (y stacks the three outputs' one-hot targets); forward, loss, grads, Keras-3 Adam steps "
         "1 and 5.",
         build("multi", draw_multi, multi_model, ["ha", "hb", "out_a", "out_b", "fused"], ["a", "b", "y"], 5,
               SEED_HEAD_MARGIN)),
        ("seq.safetensors",
         "Sequence layers: ids (4,6) token ids with padding (a fully padded row, a 0 inside a row) -> "
         "Embedding(11,4,mask_zero) + PositionEmbedding(8) + x (4,6,4) -> LayerNormalization(eps 1e-3) -> "
         "Dense(5,gelu) on the last axis -> GlobalAverage/GlobalMaxPooling1D over the unmasked steps (0 for "
         "the padded row), Conv1D(4,3,strides 2,valid,tanh) flattened, Conv1D(3,4,same: the odd pad after, "
         "no bias) -> GlobalAveragePooling1D (no mask: the conv ends it); Concatenate, Dense(3,softmax); "
         "categorical crossentropy from logits; forward, grads, Keras-3 Adam steps 1 and 5.",
         build_seq("seq", 5, ZOO_MARGIN)),
        ("attention.safetensors",
         "MultiHeadAttention alone: x (3,5,8), v (3,4,6), k (3,4,3) -> MHA(x, x; 2 heads, key_dim 4) and "
         "MHA(x, v, key=k; 3 heads, key_dim 2, value_dim 5, output 7), Keras' weights (EinsumDense kernels "
         "(D, H, dim), query scaled by 1/sqrt(key_dim)); each flattened, Concatenate, Dense(3,linear); mse; "
         "forward, grads, Keras-3 Adam steps 1 and 5.",
         build("attention", draw_att, att_model, ["self_att", "cross_att", "cat", "out"], ["x", "v", "k", "y"], 5,
               0.0)),
        ("encoder.safetensors",
         "One-block transformer encoder: ids (4,6) token ids with padding (a fully padded row, a 0 inside a "
         "row) -> Embedding(11,8,mask_zero) + PositionEmbedding(8) -> MultiHeadAttention(2 heads, key_dim 4; "
         "padded keys -inf, padded rows all-zero weights) -> Add -> LayerNormalization -> Dense(16,relu) -> "
         "Dense(8) -> Add -> LayerNormalization -> GlobalAveragePooling1D over the unmasked steps -> "
         "Dense(3,softmax); categorical crossentropy from logits; forward, grads, Keras-3 Adam steps 1 and 5.",
         build_encoder("encoder", 5, SEED_HEAD_MARGIN)),
    ]
    files += [
        ("pool1d.safetensors",
         "1-D poolings: x (3,7,3) -> Conv1D(4,2,same,tanh) -> MaxPooling1D(2) valid, MaxPooling1D(3,strides 2,"
         "same), AveragePooling1D(2,strides 1) valid, AveragePooling1D(2,strides 2,same: the odd pad after); "
         "on x: MaxPooling1D(2,strides 3,same), AveragePooling1D(3,strides 1,same); 'same' as Keras: padded "
         "steps take no part (PyTorch nn.MaxPool1d on -inf padding, nn.AvgPool1d(count_include_pad=False)); "
         "each flattened, Concatenate, Dense(3,linear); mse; forward and grads.",
         build("pool1d", draw_pool1d, pool1d_model, POOL1D_NODES, ["x", "y"], 0, ZOO_MARGIN)),
    ]
    files += [
        ("rnn.safetensors",
         "Recurrent layers: ids (4,6) token ids with padding (a fully padded row, a 0 inside a row) -> "
         "Embedding(11,4,mask_zero) + x (4,6,4) -> LSTM(3,return_sequences) flattened, LSTM(3,go_backwards), "
         "GRU(3,return_sequences,go_backwards) -> GlobalAveragePooling1D over the unmasked steps; x -> "
         "GRU(2,use_bias=False) (no mask); Concatenate, Dense(3,linear); mse; Keras' weights (LSTM gates i,f,c,o; "
         "GRU z,r,h with reset_after, bias (2,3u)) run by torch._VF.lstm_cell / gru_cell (nn.LSTMCell / "
         "nn.GRUCell) with a masked step keeping the states (Keras' backend rnn); forward, grads, Keras-3 Adam "
         "steps 1 and 5.",
         build_rnn("rnn", 5)),
    ]
    files += [
        ("simple_rnn.safetensors",
         "SimpleRNN: ids (4,6) token ids with padding (a fully padded row, a 0 inside a row) -> "
         "Embedding(11,4,mask_zero) + x (4,6,4) -> SimpleRNN(3,return_sequences) flattened, "
         "SimpleRNN(3,sigmoid,go_backwards), SimpleRNN(3,return_sequences,go_backwards) -> GlobalAveragePooling1D "
         "over the unmasked steps; x -> SimpleRNN(2,linear,use_bias=False) (no mask); Concatenate, Dense(3,linear); "
         "mse; Keras' weights, tanh steps run by torch._VF.rnn_tanh_cell (nn.RNNCell), a masked step keeping the "
         "state (Keras' backend rnn); forward, grads, Keras-3 Adam steps 1 and 5.",
         build_simple_rnn("simple_rnn", 5)),
    ]
    files += [
        ("bidirectional.safetensors",
         "Bidirectional: ids (4,6) token ids with padding (a fully padded row, a 0 inside a row) -> "
         "Embedding(11,4,mask_zero) + x (4,6,4) -> Bidirectional(LSTM(3,return_sequences)) concat flattened, "
         "Bidirectional(GRU(3),merge_mode='sum'), Bidirectional(SimpleRNN(3,return_sequences),'mul') -> "
         "GlobalAveragePooling1D over the unmasked steps; x -> Bidirectional(GRU(2,use_bias=False,"
         "return_sequences),'ave') (no mask) flattened; Concatenate, Dense(3,linear); mse; each copy's Keras "
         "weights run by torch._VF.lstm_cell / gru_cell / rnn_tanh_cell, the backward copy from the end and "
         "flipped back, masked steps keeping the states and (return_sequences) giving zeros (Keras forces "
         "zero_output_for_mask); forward, grads, Keras-3 Adam steps 1 and 5.",
         build_bidirectional("bidirectional", 5)),
    ]
    files += [
        ("rnn_state.safetensors",
         "return_state and initial_state: ids (4,6) token ids with padding (a fully padded row, a 0 inside a "
         "row) -> Embedding(11,4,mask_zero) + x (4,6,4) -> LSTM(3,return_sequences,return_state) -> y, h, c; "
         "LSTM(3,go_backwards)(sum, initial_state=[h,c]) (the padded row keeps h); LSTM(3,return_sequences)(x, "
         "initial_state=[h,c]) by nn.LSTM's kernel; GRU(3,go_backwards,return_state) -> out, h; GRU(3,return_sequences)"
         "(x, initial_state=[h]) by nn.GRU's; Bidirectional(SimpleRNN(3,return_state),merge_mode=None) -> y, "
         "y_rev, h_forward, h_backward; SimpleRNN(3)(x, initial_state=[h_backward]) by nn.RNN's; every output "
         "flattened, Concatenate, Dense(3,linear); mse; Keras' weights; a node of several outputs stored as "
         "their concatenation (the engine's buffer), its views as '<node>.out<k>'; forward, grads, Keras-3 "
         "Adam steps 1 and 5.",
         build_rnn_state("rnn_state", 5)),
    ]
    files += [
        ("decoder.safetensors",
         "Decoder layers: img (3,3,4,2) -> Conv2DTranspose (Keras' kernel (kh,kw,filters,C); PyTorch's "
         "conv_transpose2d cropped to Keras' TF/JAX padding): (3,(3,2),strides (2,1),valid,tanh), (2,3x3,"
         "strides 2,same,no bias), (2,(4,2),strides 2,same,elu), (2,3x3,strides (2,3),valid,output_padding "
         "(1,2)), (2,(3,4),strides 2,same,output_padding (1,0),tanh), (2,(2,1),strides 3,valid: gaps); "
         "UpSampling2D (2,3) nearest and (2,2) bilinear (nn.Upsample, align_corners False) of img, (3,2) "
         "bilinear of the same-padded one; ZeroPadding2D((1,2),(0,1)) of it (F.pad); Cropping2D((1,0),(2,1)) "
         "of the valid one (slicing); each flattened, Concatenate, Dense(3,linear); mse; forward, grads, "
         "Keras-3 Adam steps 1 and 5.",
         build_image("decoder", draw_decoder, decoder_model, DECODER_NODES, 5, 0.0)),
    ]
    files += [
        ("sepconv.safetensors",
         "Dilation, DepthwiseConv2D, SeparableConv2D: img (3,6,7,2) -> Conv2D(3,3x3,dilation (2,1),valid,tanh), "
         "Conv2D(2,(2,3),dilation 2,same: the odd pad after,no bias); DepthwiseConv2D (Keras' kernel (kh,kw,C,M), "
         "torch's conv2d groups=C) (3x3,valid,tanh), ((3,2),same,depth_multiplier 2,dilation (1,2)), (2x2,strides "
         "(2,3),same,elu,no bias); SeparableConv2D (depthwise_kernel, pointwise_kernel (1,1,C M,F), bias) "
         "(4,3x3,same,M 2,tanh), (3,2x2,dilation 2,valid,no bias), (2,3x3,strides 2,same,M 3,elu); Conv2D(16,1x1) "
         "-> Conv2D(16,3x3,dilation 2,same,tanh) (Winograd's shape, dilated); each flattened, Concatenate, "
         "Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 and 5.",
         build_image("sepconv", draw_sepconv, sepconv_model, SEPCONV_NODES, 5, 0.0)),
        ("conv1d_masking.safetensors",
         "Conv1D dilation and causal padding, Masking: x (4,6,3) -> Conv1D(4,3,causal,tanh), (3,2,dilation 3,"
         "valid), (2,3,causal,dilation 2,no bias), (2,3,same,dilation 2,elu), (2,2,strides 2,causal) (F.pad, "
         "conv1d dilation=); Masking(0.5) (steps whose 3 features all equal 0.5 zeroed and masked: row 1's last "
         "two, row 2 all, row 3's step 2; row 3's step 4 has two features at 0.5: kept) -> GlobalAveragePooling1D "
         "over the unmasked steps, LSTM(3) (torch._VF.lstm_cell, a masked step keeping the states); each "
         "flattened, Concatenate, Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 and 5.",
         build_conv1x("conv1d_masking", 5)),
    ]
    files += [
        ("late_layers.safetensors",
         "Late layers: vec (3,4) -> Dense(3,tanh) -> RepeatVector(3); seq (3,5,3) -> Dense(4,tanh) -> Permute((2,1)), "
         "Reshape((5,2,2)) -> Permute((3,1,2)), UpSampling1D(2), ZeroPadding1D((1,2)), Cropping1D((1,2)); q (3,4,3) "
         "-> Dense(4,tanh) 'dq'; kv (3,6,3) -> Masking(0.5) -> Dense(4,tanh) 'dv', Dense(4) 'dk'; Attention("
         "use_scale,use_causal_mask)([dq,dv,dk]); Attention(use_scale,score_mode='concat',use_causal_mask)([dv,dv]) "
         "(the query masked too); AdditiveAttention(use_scale)([dq,dv]); masked keys' scores - 1e9 (Keras' "
         "_apply_scores), explicit matmul/softmax; each flattened, Concatenate, Dense(3,linear); mse; forward, "
         "grads, Keras-3 Adam steps 1 and 5.",
         build_late("late_layers", 5)),
    ]
    files += [  # the 1-D depthwise, separable and transposed convolutions
        ("conv1d_kinds.safetensors",
         "1-D depthwise, separable and transposed convolutions: x (3,7,3) -> DepthwiseConv1D (Keras' kernel "
         "(k,C,M), torch's conv1d groups=C) (3,valid,M 2,tanh), (2,strides 2,same,elu,no bias), (2,same,dilation 2); "
         "SeparableConv1D (depthwise_kernel (k,C,M), pointwise_kernel (1,C M,F), bias) (4,3,same,M 2,tanh), "
         "(3,2,strides 2,valid,no bias), (2,3,dilation 2,valid,elu); Conv1DTranspose (kernel (k,F,C), torch's "
         "conv_transpose1d cropped to Keras' size) (3,3,strides 2,valid,tanh), (2,4,strides 2,same), (2,3,strides 3,"
         "same,output_padding 1,no bias); each flattened, Concatenate, Dense(3,linear); mse; forward, grads, "
         "Keras-3 Adam steps 1 and 5.  Drawn after torch.manual_seed(35), whatever ran before.",
         build_conv1d_kinds("conv1d_kinds", 5)),
    ]
    # files that seed torch themselves (so that they can be written alone),
    # after the others, whose draws follow manual_seed(0) in order
    files += [SEEDED_FILES[k]() for k in sorted(SEEDED_FILES)]
    write_files(outdir, files)
    return 0


def write_files(outdir, files):
    for fname, desc, tensors in files:
        path = os.path.join(outdir, fname)
        size = write_safetensors(path, tensors, desc)
        assert size < 200 * 1024, "%s is too large (%d bytes)" % (path, size)
        _, back = read_safetensors(path)
        for name, t in tensors:
            ref = t.to(F32).numpy().reshape(back[name].shape)
            assert np.array_equal(back[name], ref), "read-back mismatch for " + name
        print("wrote %s (%d tensors, %d bytes)" % (path, len(tensors), size))


# ---------------------------------------------------------------------------
# video: TimeDistributed (Keras 3, keras/src/layers/rnn/time_distributed.py:
# (B, T, ...) reshaped to (B T, ...), the layer applied, reshaped back) over
# Conv2D -> BatchNormalization (training: statistics over the B T frames'
# pixels) -> ReLU -> MaxPooling2D -> Flatten -> Dense, then
# GlobalAveragePooling1D over the steps -> Dense(softmax).  torch here folds
# the frames into the batch as Keras does; its own manual_seed(35).
# ---------------------------------------------------------------------------
VIDEO_B, VIDEO_T, VIDEO_H, VIDEO_W, VIDEO_C = 3, 3, 6, 6, 2
VIDEO_NODES = ["steps", "conv1", "bn", "relu", "pool", "per_step", "td", "gap", "gmax3", "gavg3", "cat", "out"]


def video_frames_conv(p, x):
    v = x["img"]
    f = v.reshape(VIDEO_B * VIDEO_T, VIDEO_H, VIDEO_W, VIDEO_C)
    return conv2d(f, p["conv1.kernel"], None, (1, 1), "same")


def video_model(p, x):
    n = {}
    n["steps"] = x["img"]
    n["conv1"] = video_frames_conv(p, x)                                  # (B T, 6, 6, 4)
    n["bn"], _, _ = batchnorm_train(n["conv1"], p["bn.gamma"], p["bn.beta"])
    n["relu"] = torch.relu(n["bn"])
    n["pool"] = pool2d(n["relu"], "max", (2, 2), (2, 2), "valid")         # (B T, 3, 3, 4)
    n["per_step"] = torch.tanh(dense(flat(n["pool"]), p["per_step.kernel"], p["per_step.bias"]))
    n["td"] = n["per_step"].reshape(VIDEO_B, VIDEO_T, -1)                 # (B, T, 4)
    n["gap"] = n["td"].mean(dim=1)
    n["gmax3"] = x["img"].amax(dim=(1, 2, 3))                           # GlobalMaxPooling3D (B, 2)
    n["gavg3"] = x["img"].mean(dim=(1, 2, 3))                           # GlobalAveragePooling3D
    n["cat"] = torch.cat([n["gap"], n["gmax3"], n["gavg3"]], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    loss = cce_from_logits(z, x["y"])
    BT = VIDEO_B * VIDEO_T
    win = n["relu"].permute(0, 3, 1, 2).unfold(2, 2, 2).unfold(3, 2, 2).reshape(BT, 4, 3, 3, 4).permute(
        4, 0, 1, 2, 3)
    top, _ = torch.sort(win.detach(), dim=0)
    gap = torch.where(top[-1] > 0, top[-1] - top[-2], torch.full_like(top[-1], math.inf)).min().item()
    vox, _ = torch.sort(x["img"].detach().reshape(VIDEO_B, -1, VIDEO_C), dim=1)
    gap3 = (vox[:, -1] - vox[:, -2]).min().item()
    return n, loss, min(n["bn"].abs().min().item(), gap, gap3)


def video_bn_stats(p, x):
    _, mean, var = batchnorm_train(video_frames_conv(p, x), p["bn.gamma"], p["bn.beta"])
    return mean, var


def draw_video():
    B = VIDEO_B
    inputs = {"img": u32((B, VIDEO_T, VIDEO_H, VIDEO_W, VIDEO_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([0, 2, 1])] = 1.0
    params = {
        "conv1.kernel": conv_kernel32(3, 3, VIDEO_C, 4),
        "bn.gamma": u32((4,), 0.5, 1.5), "bn.beta": bias32(4),
        "bn.moving_mean": torch.zeros(4, dtype=F32), "bn.moving_variance": torch.ones(4, dtype=F32),
        "per_step.kernel": glorot32(4, 36), "per_step.bias": bias32(4),
        "out.kernel": glorot32(3, 4 + 2 * VIDEO_C), "out.bias": bias32(3),
    }
    return params, inputs


def video_file():
    torch.manual_seed(35)
    return ("video.safetensors",
            "TimeDistributed: img (3,3,6,6,2) video of 3 frames -> TimeDistributed(Conv2D(4,3x3,same,no bias) -> "
            "BatchNormalization (training: statistics over the 9 frames' pixels, eps 1e-3) -> ReLU -> "
            "MaxPooling2D(2) -> Flatten -> Dense(4,tanh)) (torch: frames folded into the batch) -> "
            "GlobalAveragePooling1D over the steps, concatenated with GlobalMaxPooling3D and GlobalAveragePooling3D "
            "of img -> Dense(3,softmax); categorical crossentropy from logits; "
            "forward, grads, Keras-3 Adam steps 1 and 5, the moving statistics after 1 and 5 training passes.",
            build_image("video", draw_video, video_model, VIDEO_NODES, 5, SEED_HEAD_MARGIN,
                        fixed=("bn.moving_mean", "bn.moving_variance"), bn_stats=video_bn_stats))


# ---------------------------------------------------------------------------
# conv3d: Conv3D, MaxPooling3D, AveragePooling3D (Keras 3,
# keras/src/layers/convolutional/conv3d.py, keras/src/layers/pooling/
# {max,average}_pooling3d.py; channels_last).  Keras' "same" pads each axis
# total = max((o - 1) s + k - n, 0), total // 2 before and the rest after
# (same_pads), which torch's symmetric padding argument cannot say: the
# input is padded explicitly (zeros for the convolution, -inf for the max).
# The "same" average divides by the count of the window's real voxels
# (TensorFlow's rule, torch's count_include_pad=False): the zero-padded sum
# over the zero-padded count of ones.  img (3, 4, 5, 6, 2) ->
# conv1 Conv3D(3, (2,3,3), strides (1,2,2), same, tanh) -> conv2 Conv3D(2,
# (2,2,2), strides (2,1,1), valid, no bias); pmax MaxPooling3D((2,2,2),
# strides (1,2,2), same) of conv1; pavg AveragePooling3D((3,2,3), strides 2,
# same) of img; pavg2 AveragePooling3D(2) (valid) of conv1; flattened,
# concatenated -> Dense(3, softmax).  Its own manual_seed(36).
# ---------------------------------------------------------------------------
C3_B, C3_D, C3_H, C3_W, C3_C = 3, 4, 5, 6, 2
C3_NODES = ["conv1", "conv2", "pmax", "pavg", "pavg2", "cat", "out"]


def pad3(xc, n3, k, s, padding, value=0.0):
    """xc (B, C, D, H, W) padded as Keras' padding for windows k, strides s"""
    if padding != "same":
        return xc
    pads = []
    for a in (2, 1, 0):  # torch's pad lists the last axis first
        lo, hi = same_pads(n3[a], k[a], s[a])
        pads += [lo, hi]
    return torch.nn.functional.pad(xc, pads, value=value)


def conv3d(x, K, b, strides, padding, dilation=(1, 1, 1)):
    """x (B,D,H,W,C), K Keras (kd,kh,kw,C,F), b (F) or None -> (B,Do,Ho,Wo,F);
    "same" pads for the dilated window d (k - 1) + 1 (TensorFlow's rule)"""
    window = [d * (k - 1) + 1 for k, d in zip(K.shape[0:3], dilation)]
    xc = pad3(x.permute(0, 4, 1, 2, 3), x.shape[1:4], window, strides, padding)
    y = torch.nn.functional.conv3d(xc, K.permute(4, 3, 0, 1, 2), b, stride=strides, dilation=dilation)
    return y.permute(0, 2, 3, 4, 1)


def pool3d(x, kind, k, strides, padding):
    xc = x.permute(0, 4, 1, 2, 3)
    if kind == "max":
        y = torch.nn.functional.max_pool3d(pad3(xc, x.shape[1:4], k, strides, padding, -math.inf), k, strides)
    else:
        total = torch.nn.functional.avg_pool3d(pad3(xc, x.shape[1:4], k, strides, padding), k, strides)
        ones = torch.ones_like(xc[:, :1])
        count = torch.nn.functional.avg_pool3d(pad3(ones, x.shape[1:4], k, strides, padding), k, strides)
        y = total / count
    return y.permute(0, 2, 3, 4, 1)


def max3d_margin(x, k, strides, padding):
    """the smallest gap between a max window's two largest real voxels"""
    xp = pad3(x.detach().permute(0, 4, 1, 2, 3), x.shape[1:4], k, strides, padding, -math.inf)
    win = xp.unfold(2, k[0], strides[0]).unfold(3, k[1], strides[1]).unfold(4, k[2], strides[2])
    top, _ = torch.sort(win.reshape(*win.shape[:5], -1), dim=-1)
    gap = top[..., -1] - top[..., -2]
    return torch.where(torch.isfinite(gap), gap, torch.full_like(gap, math.inf)).min().item()


def conv3d_model(p, x):
    n = {}
    n["conv1"] = torch.tanh(conv3d(x["img"], p["conv1.kernel"], p["conv1.bias"], (1, 2, 2), "same"))  # (4,3,3,3)
    n["conv2"] = conv3d(n["conv1"], p["conv2.kernel"], None, (2, 1, 1), "valid")                     # (2,2,2,2)
    n["pmax"] = pool3d(n["conv1"], "max", (2, 2, 2), (1, 2, 2), "same")                             # (4,2,2,3)
    n["pavg"] = pool3d(x["img"], "avg", (3, 2, 3), (2, 2, 2), "same")                               # (2,3,3,2)
    n["pavg2"] = pool3d(n["conv1"], "avg", (2, 2, 2), (2, 2, 2), "valid")                           # (2,1,1,3)
    n["cat"] = torch.cat([flat(n[k]) for k in ("conv2", "pmax", "pavg", "pavg2")], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    loss = cce_from_logits(z, x["y"])
    return n, loss, max3d_margin(n["conv1"], (2, 2, 2), (1, 2, 2), "same")


def draw_conv3d():
    B = C3_B
    inputs = {"img": u32((B, C3_D, C3_H, C3_W, C3_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([1, 0, 2])] = 1.0
    lim1 = math.sqrt(6.0 / (18 * C3_C + 18 * 3))
    lim2 = math.sqrt(6.0 / (8 * 3 + 8 * 2))
    params = {
        "conv1.kernel": u32((2, 3, 3, C3_C, 3), -2 * lim1, 2 * lim1), "conv1.bias": bias32(3),
        "conv2.kernel": u32((2, 2, 2, 3, 2), -lim2, lim2),
        "out.kernel": glorot32(3, 16 + 48 + 36 + 6), "out.bias": bias32(3),
    }
    return params, inputs


def conv3d_file():
    torch.manual_seed(36)
    return ("conv3d.safetensors",
            "Conv3D / MaxPooling3D / AveragePooling3D: img (3,4,5,6,2) -> conv1 Conv3D(3,(2,3,3),strides (1,2,2),"
            "same (asymmetric: padded explicitly),tanh) -> conv2 Conv3D(2,(2,2,2),strides (2,1,1),valid,no bias); "
            "pmax MaxPooling3D((2,2,2),strides (1,2,2),same) of conv1; pavg AveragePooling3D((3,2,3),strides 2,same: "
            "divided by the real voxels) of img; pavg2 AveragePooling3D(2) of conv1; flattened, concatenated -> "
            "Dense(3,softmax); categorical crossentropy from logits; forward, grads, Keras-3 Adam steps 1 and 5.",
            build_image("conv3d", draw_conv3d, conv3d_model, C3_NODES, 5, SEED_HEAD_MARGIN))


# ---------------------------------------------------------------------------
# conv3d_dilated: Conv3D's dilation_rate (Keras 3 base_conv.py; the output
# size of keras/src/ops/operation_utils.py compute_conv_output_shape with
# the window d (k - 1) + 1), against torch.nn.functional.conv3d(dilation=).
# img (3, 5, 6, 7, 2) -> conv1 Conv3D(3, (2,2,2), dilation (1,2,3), same,
# tanh): windows (2,3,4), "same" totals 1, 2, 3 (the odd voxel after) ->
# conv2 Conv3D(2, (2,2,2), dilation (2,2,1), valid, no bias): (3,4,6,2) ->
# flattened -> Dense(3, softmax).  Its own manual_seed(37).
# ---------------------------------------------------------------------------
C3D_B, C3D_D, C3D_H, C3D_W, C3D_C = 3, 5, 6, 7, 2
C3D_NODES = ["conv1", "conv2", "out"]


def conv3d_dilated_model(p, x):
    n = {}
    n["conv1"] = torch.tanh(conv3d(x["img"], p["conv1.kernel"], p["conv1.bias"], (1, 1, 1), "same", (1, 2, 3)))
    n["conv2"] = conv3d(n["conv1"], p["conv2.kernel"], None, (1, 1, 1), "valid", (2, 2, 1))  # (3,4,6,2)
    z = dense(flat(n["conv2"]), p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    return n, cce_from_logits(z, x["y"]), math.inf


def draw_conv3d_dilated():
    B = C3D_B
    inputs = {"img": u32((B, C3D_D, C3D_H, C3D_W, C3D_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([2, 0, 1])] = 1.0
    lim1 = math.sqrt(6.0 / (8 * C3D_C + 8 * 3))
    lim2 = math.sqrt(6.0 / (8 * 3 + 8 * 2))
    params = {
        "conv1.kernel": u32((2, 2, 2, C3D_C, 3), -2 * lim1, 2 * lim1), "conv1.bias": bias32(3),
        "conv2.kernel": u32((2, 2, 2, 3, 2), -lim2, lim2),
        "out.kernel": glorot32(3, 3 * 4 * 6 * 2), "out.bias": bias32(3),
    }
    return params, inputs


def conv3d_dilated_file():
    torch.manual_seed(37)
    return ("conv3d_dilated.safetensors",
            "Conv3D dilation_rate: img (3,5,6,7,2) -> conv1 Conv3D(3,(2,2,2),dilation (1,2,3),same (windows "
            "(2,3,4): asymmetric, padded explicitly),tanh) -> conv2 Conv3D(2,(2,2,2),dilation (2,2,1),valid,no "
            "bias) -> flattened -> Dense(3,softmax); categorical crossentropy from logits; torch's "
            "conv3d(dilation=); forward, grads, Keras-3 Adam steps 1 and 5.",
            build_image("conv3d_dilated", draw_conv3d_dilated, conv3d_dilated_model, C3D_NODES, 5,
                        SEED_HEAD_MARGIN))


# ---------------------------------------------------------------------------
# conv3d_transpose: Conv3DTranspose (Keras 3, keras/src/layers/convolutional/
# conv3d_transpose.py, base_conv_transpose.py): Keras' kernel (kd,kh,kw,F,C)
# is torch's conv_transpose3d weight (C, F, kd, kh, kw); torch's full
# transposed convolution ((n - 1) s + k voxels an axis) cropped / zero-
# extended per axis to Keras' output (keras_tconv_axis, as the 2-D decoder
# case).  img (3, 2,2,3, 2) -> t1 Conv3DTranspose(3, (3,3,2), strides 2,
# same, tanh): (4,4,6,3); t2 Conv3DTranspose(2, (2,3,2), strides (2,2,1),
# valid, output_padding (1,1,0), no bias): (5,6,4,2); t3
# Conv3DTranspose(2, (2,2,3), strides (2,1,2), same, output_padding
# (1,0,1)): (3,1,6,2); flattened, concatenated -> Dense(3, softmax).
# Its own manual_seed(38); Keras-3 Adam steps 1 and 2.
# ---------------------------------------------------------------------------
C3T_B, C3T_D, C3T_H, C3T_W, C3T_C = 3, 2, 2, 3, 2
C3T = {  # name: filters, kernel, strides, padding, output_padding, activation, bias
    "t1": (3, (3, 3, 2), (2, 2, 2), "same", None, "tanh", True),
    "t2": (2, (2, 3, 2), (2, 2, 1), "valid", (1, 1, 0), "linear", False),
    "t3": (2, (2, 2, 3), (2, 1, 2), "same", (1, 0, 1), "linear", True),
}
C3T_NODES = ["t1", "t2", "t3", "cat", "out"]


def conv3d_transpose(x, K, b, strides, padding, output_padding=None):
    """x (B,D,H,W,C), K Keras (kd,kh,kw,F,C), b (F) or None -> (B,Do,Ho,Wo,F):
    torch's conv_transpose3d without padding, cropped / zero-extended to
    Keras' output per axis"""
    full = torch.nn.functional.conv_transpose3d(x.permute(0, 4, 1, 2, 3), K.permute(4, 3, 0, 1, 2), None,
                                                stride=strides)
    ops = output_padding if output_padding is not None else (None, None, None)
    sizes = [keras_tconv_axis(x.shape[1 + a], K.shape[a], strides[a], padding, ops[a]) for a in range(3)]
    pads = []
    for a in (2, 1, 0):  # torch's pad lists the last axis first
        size, crop = sizes[a]
        pads += [0, max(crop + size - full.shape[2 + a], 0)]
    full = torch.nn.functional.pad(full, pads)
    (d, pd), (h, ph), (w, pw) = sizes
    y = full[:, :, pd:pd + d, ph:ph + h, pw:pw + w].permute(0, 2, 3, 4, 1)
    return y if b is None else y + b


def conv3d_transpose_model(p, x):
    n = {}
    act = {"tanh": torch.tanh, "linear": lambda v: v}
    for k, (F, ks, st, pad, op, a, bias) in C3T.items():
        n[k] = act[a](conv3d_transpose(x["img"], p[k + ".kernel"], p[k + ".bias"] if bias else None, st, pad, op))
    n["cat"] = torch.cat([flat(n[k]) for k in C3T], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    return n, cce_from_logits(z, x["y"]), math.inf


def draw_conv3d_transpose():
    B = C3T_B
    inputs = {"img": u32((B, C3T_D, C3T_H, C3T_W, C3T_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([0, 2, 1])] = 1.0
    params = {}
    for k, (F, ks, st, pad, op, a, bias) in C3T.items():
        rf = ks[0] * ks[1] * ks[2]
        lim = math.sqrt(6.0 / (rf * (F + C3T_C)))
        params[k + ".kernel"] = u32(ks + (F, C3T_C), -2 * lim, 2 * lim)
        if bias:
            params[k + ".bias"] = bias32(F)
    params["out.kernel"] = glorot32(3, 4 * 4 * 6 * 3 + 5 * 6 * 4 * 2 + 3 * 1 * 6 * 2)
    params["out.bias"] = bias32(3)
    return params, inputs


def conv3d_transpose_file():
    torch.manual_seed(38)
    return ("conv3d_transpose.safetensors",
            "Conv3DTranspose (Keras' kernel (kd,kh,kw,filters,C); torch's conv_transpose3d cropped / zero-extended "
            "per axis to Keras' output): img (3,2,2,3,2) -> t1 (3,(3,3,2),strides 2,same,tanh) (4,4,6,3); t2 "
            "(2,(2,3,2),strides (2,2,1),valid,output_padding (1,1,0),no bias) (5,6,4,2); t3 (2,(2,2,3),strides "
            "(2,1,2),same,output_padding (1,0,1)) (3,1,6,2); flattened, concatenated -> Dense(3,softmax); "
            "categorical crossentropy from logits; forward, grads, Keras-3 Adam steps 1 and 2.",
            build_image("conv3d_transpose", draw_conv3d_transpose, conv3d_transpose_model, C3T_NODES, 2,
                        SEED_HEAD_MARGIN))


SEEDED_FILES = {"video.safetensors": video_file, "conv3d.safetensors": conv3d_file,
                "conv3d_dilated.safetensors": conv3d_dilated_file,
                "conv3d_transpose.safetensors": conv3d_transpose_file}


# ---------------------------------------------------------------------------
# late_layers: RepeatVector, Permute, UpSampling1D, ZeroPadding1D,
# Cropping1D, Attention (dot with use_scale and causal mask; concat) and
# AdditiveAttention, each behind a Dense (B = 3).  Keras 3 sources followed:
# keras/src/layers/reshaping/{repeat_vector,permute,up_sampling1d,
# zero_padding1d,cropping1d}.py and keras/src/layers/attention/
# {attention,additive_attention}.py (_calculate_scores, _apply_scores: masked
# keys' scores - 1e9 before the softmax, the causal mask s <= t AND-ed with
# the value's padding mask, the query's masked rows times 0).  The value's
# padding mask comes from a Masking(0.5) layer on kv (steps whose 3 features
# all equal 0.5: row 1's last two, row 2's step 2), fixed from the drawn kv
# as in conv1d_masking; step 0 is never masked, so every query row keeps a key.
# ---------------------------------------------------------------------------
LATE_MASKED = [(1, 4), (1, 5), (2, 2)]
LATE_NODES = ["d_vec", "rep", "d_seq", "perm", "resh", "perm3", "up", "zpad", "crop", "dq", "masking", "dv",
              "dk", "att", "att_c", "add_att", "cat", "out"]


def late_scores_apply(scores, vmask, causal):
    """Keras' _apply_scores: masked keys -1e9, softmax over the keys."""
    T, S = scores.shape[1], scores.shape[2]
    keep = vmask.unsqueeze(1).expand(-1, T, -1)  # (B, T, S)
    if causal:
        tri = torch.ones((T, S), dtype=torch.bool).tril()
        keep = keep & tri.unsqueeze(0)
    scores = scores - 1.0e9 * (~keep).to(scores.dtype)
    return torch.softmax(scores, dim=-1)


def late_model_for(vmask):
    def model(p, x):
        n = {}
        n["d_vec"] = torch.tanh(dense(x["vec"], p["d_vec.kernel"], p["d_vec.bias"]))           # (B, 3)
        n["rep"] = n["d_vec"].unsqueeze(1).expand(-1, 3, -1)                                  # (B, 3, 3)
        n["d_seq"] = torch.tanh(dense(x["seq"], p["d_seq.kernel"], p["d_seq.bias"]))           # (B, 5, 4)
        n["perm"] = n["d_seq"].permute(0, 2, 1)                                               # (B, 4, 5)
        n["resh"] = n["d_seq"].reshape(-1, 5, 2, 2)
        n["perm3"] = n["resh"].permute(0, 3, 1, 2)                                            # (B, 2, 5, 2)
        n["up"] = n["d_seq"].repeat_interleave(2, dim=1)                                      # (B, 10, 4)
        n["zpad"] = torch.nn.functional.pad(n["d_seq"], (0, 0, 1, 2))                         # (B, 8, 4)
        n["crop"] = n["d_seq"][:, 1:5 - 2, :]                                                 # (B, 2, 4)
        n["dq"] = torch.tanh(dense(x["q"], p["dq.kernel"], p["dq.bias"]))                      # (B, 4, 4)
        n["masking"] = torch.where(vmask.unsqueeze(-1), x["kv"], torch.zeros_like(x["kv"]))   # (B, 6, 3)
        n["dv"] = torch.tanh(dense(n["masking"], p["dv.kernel"], p["dv.bias"]))                # (B, 6, 4)
        n["dk"] = dense(n["masking"], p["dk.kernel"], p["dk.bias"])                           # (B, 6, 4)
        # Attention(use_scale, causal)([dq, dv, dk]): scale * q k^T
        sc = p["att.scale"][0] * torch.matmul(n["dq"], n["dk"].transpose(1, 2))              # (B, 4, 6)
        n["att"] = torch.matmul(late_scores_apply(sc, vmask, True), n["dv"])                  # (B, 4, 4)
        # Attention(use_scale, score_mode concat, causal)([dv, dv]): the query masked too
        pre = p["att_c.scale"][0] * (n["dv"].unsqueeze(2) + n["dv"].unsqueeze(1))           # (B, 6, 6, 4)
        sc = p["att_c.concat_score_weight"][0] * torch.tanh(pre).sum(dim=-1)
        n["att_c"] = torch.matmul(late_scores_apply(sc, vmask, True), n["dv"]) * vmask.unsqueeze(-1).to(sc.dtype)
        # AdditiveAttention(use_scale)([dq, dv]): sum_d scale_d tanh(q_d + k_d)
        sc = (p["add_att.scale"] * torch.tanh(n["dq"].unsqueeze(2) + n["dv"].unsqueeze(1))).sum(dim=-1)
        n["add_att"] = torch.matmul(late_scores_apply(sc, vmask, False), n["dv"])             # (B, 4, 4)
        n["cat"] = torch.cat([flat(n[k]) for k in ("rep", "perm", "perm3", "up", "zpad", "crop", "att", "att_c",
                                                   "add_att")], dim=1)
        n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
        return n, mse(n["out"], x["y"]), 1.0
    return model


def draw_late():
    B = 3
    kv = n32((B, 6, 3))
    for r, t in LATE_MASKED:
        kv[r, t, :] = MASK_VALUE
    inputs = {"vec": n32((B, 4)), "seq": n32((B, 5, 3)), "q": n32((B, 4, 3)), "kv": kv, "y": n32((B, 3))}
    params = {}
    for k, units, fan_in in (("d_vec", 3, 4), ("d_seq", 4, 3), ("dq", 4, 3), ("dv", 4, 3), ("dk", 4, 3)):
        params[k + ".kernel"] = glorot32(units, fan_in)
        params[k + ".bias"] = bias32(units)
    params["att.scale"] = u32((1,), 0.5, 1.5)
    params["att_c.scale"] = u32((1,), 0.5, 1.5)
    params["att_c.concat_score_weight"] = u32((1,), 0.5, 1.5)
    lim = math.sqrt(6.0 / 8.0)
    params["add_att.scale"] = u32((4,), -lim, lim)
    params["out.kernel"] = glorot32(3, 9 + 20 + 20 + 40 + 32 + 8 + 16 + 24 + 16)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_late(label, steps):
    params32, inputs32 = draw_late()
    vmask = (inputs32["kv"] != MASK_VALUE).any(dim=-1)
    return build(label, lambda: (params32, inputs32), late_model_for(vmask), LATE_NODES,
                 ["vec", "seq", "q", "kv", "y"], steps, 0.0, max_tries=1)



# ---------------------------------------------------------------------------
# DepthwiseConv1D, SeparableConv1D, Conv1DTranspose (B = 3), Keras 3's
# keras/src/layers/convolutional/{depthwise_conv1d,separable_conv1d,
# conv1d_transpose}.py.  Depthwise: torch's conv1d with groups = C, Keras'
# kernel (k, C, M) as torch's (C M, 1, k) (output channel c M + j), F.pad
# for 'same' over the dilated window.  Transposed: torch's conv_transpose1d
# (weight (C, F, k)), the full (n - 1) s + k steps cropped / zero-extended
# to Keras' size (keras_tconv_axis above).
# ---------------------------------------------------------------------------
CONV1DK_LAYERS = {  # name: kind, filters (None: depthwise), kernel, strides, padding, M, dilation, op, act, bias
    "dw_v": ("dw", None, 3, 1, "valid", 2, 1, None, "tanh", True),
    "dw_st": ("dw", None, 2, 2, "same", 1, 1, None, "elu", False),
    "dw_d": ("dw", None, 2, 1, "same", 1, 2, None, "linear", True),
    "sep": ("sep", 4, 3, 1, "same", 2, 1, None, "tanh", True),
    "sep_st": ("sep", 3, 2, 2, "valid", 1, 1, None, "linear", False),
    "sep_d": ("sep", 2, 3, 1, "valid", 1, 2, None, "elu", True),
    "tc_v": ("tc", 3, 3, 2, "valid", None, 1, None, "tanh", True),
    "tc_s": ("tc", 2, 4, 2, "same", None, 1, None, "linear", True),
    "tc_op": ("tc", 2, 3, 3, "same", None, 1, 1, "linear", False),
}
CONV1DK_NODES = list(CONV1DK_LAYERS) + ["cat", "out"]


def keras_depthwise1d(x, K, b, stride, padding, dilation=1):
    """x (B,T,C), Keras' depthwise kernel (k,C,M) -> (B,To,C M)"""
    k, C, M = K.shape
    xc = x.permute(0, 2, 1)
    if padding == "same":
        xc = torch.nn.functional.pad(xc, same_pads(x.shape[1], dilation * (k - 1) + 1, stride))
    W = K.reshape(k, C * M).permute(1, 0).unsqueeze(1)
    return torch.nn.functional.conv1d(xc, W, b, stride=stride, dilation=dilation, groups=C).permute(0, 2, 1)


def keras_conv1d_transpose(x, K, b, stride, padding, output_padding=None):
    """x (B,T,C), Keras' kernel (k,F,C) -> (B,To,F)"""
    k = K.shape[0]
    full = torch.nn.functional.conv_transpose1d(x.permute(0, 2, 1), K.permute(2, 1, 0), None, stride=stride)
    To, pt = keras_tconv_axis(x.shape[1], k, stride, padding, output_padding)
    full = torch.nn.functional.pad(full, (0, max(pt + To - full.shape[2], 0)))
    y = full[:, :, pt:pt + To].permute(0, 2, 1)
    return y if b is None else y + b


def conv1d_kinds_model(p, x):
    act = {"tanh": torch.tanh, "linear": lambda v: v, "elu": elu}
    n = {}
    for k, (kind, F, ks, st, pad, M, dil, op, a, bias) in CONV1DK_LAYERS.items():
        b = p[k + ".bias"] if bias else None
        if kind == "dw":
            v = keras_depthwise1d(x["x"], p[k + ".kernel"], b, st, pad, dil)
        elif kind == "sep":
            v = keras_depthwise1d(x["x"], p[k + ".depthwise_kernel"], None, st, pad, dil) @ p[k + ".pointwise_kernel"][0]
            v = v if b is None else v + b
        else:
            v = keras_conv1d_transpose(x["x"], p[k + ".kernel"], b, st, pad, op)
        n[k] = act[a](v)
    n["cat"] = torch.cat([flat(n[k]) for k in CONV1DK_LAYERS], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), 1.0


def draw_conv1d_kinds():
    B, T, C = 3, 7, 3
    inputs = {"x": n32((B, T, C)), "y": n32((B, 3))}
    params = {}
    for k, (kind, F, ks, st, pad, M, dil, op, a, bias) in CONV1DK_LAYERS.items():
        if kind == "dw":
            params[k + ".kernel"] = conv_kernel32(ks, 1, C, M).reshape(ks, C, M)
        elif kind == "sep":
            params[k + ".depthwise_kernel"] = conv_kernel32(ks, 1, C, M).reshape(ks, C, M)
            params[k + ".pointwise_kernel"] = conv_kernel32(1, 1, C * M, F).reshape(1, C * M, F)
        else:
            params[k + ".kernel"] = conv_kernel32(ks, 1, F, C).reshape(ks, F, C)
        if bias:
            params[k + ".bias"] = bias32(F if F is not None else C * M)
    probe = {k: v.double() for k, v in params.items()}
    probe["out.kernel"], probe["out.bias"] = torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    width = 0
    for k, (kind, F, ks, st, pad, M, dil, op, a, bias) in CONV1DK_LAYERS.items():
        b = probe.get(k + ".bias")
        xd = inputs["x"].double()
        if kind == "dw":
            v = keras_depthwise1d(xd, probe[k + ".kernel"], b, st, pad, dil)
        elif kind == "sep":
            v = keras_depthwise1d(xd, probe[k + ".depthwise_kernel"], None, st, pad, dil)
            v = v @ probe[k + ".pointwise_kernel"][0]
        else:
            v = keras_conv1d_transpose(xd, probe[k + ".kernel"], b, st, pad, op)
        width += flat(v).shape[1]
    params["out.kernel"] = glorot32(3, width)
    params["out.bias"] = bias32(3)
    return params, inputs


def build_conv1d_kinds(label, steps):
    torch.manual_seed(35)  # the same draws whether the files before it ran or not
    return build(label, draw_conv1d_kinds, conv1d_kinds_model, CONV1DK_NODES, ["x", "y"], steps, 0.0, max_tries=1)


# ---------------------------------------------------------------------------
# activation_layers: Keras 3's ReLU, LeakyReLU, ELU, PReLU and Softmax layer
# classes (keras/src/layers/activations/): ReLU as torch's F.threshold
# (x > threshold ? x : 0), clamped to max_value, less negative_slope
# relu(threshold - x) (activations.py ReLU.static_call's order); nn.PReLU's
# F.prelu with one alpha per channel for Keras' alpha (1, C) of
# shared_axes=[1] on (T, C) (the channels moved to torch's axis 1); Keras'
# alpha of no shared axis (T, C) as relu(x) - alpha relu(-x); Softmax over
# axis -1, axis 1 (the steps) and axes [1, 2] (Keras' exp(x - logsumexp)).
# Its own manual_seed(37); forward, gradients, 2 Keras-3 Adam steps.
# ---------------------------------------------------------------------------
TF = torch.nn.functional
ACT_B, ACT_T, ACT_C = 3, 4, 3
ACT_RELU = (1.2, 0.1, 0.3)  # relu_t: max_value, negative_slope, threshold
ACT_NODES = ["pre", "relu_t", "relu_max", "leaky", "elu", "prelu_c", "prelu_all", "soft_last", "soft_steps",
             "soft_all", "cat", "out"]


def act_relu(x, max_value, slope, threshold):
    y = torch.clamp(TF.threshold(x, threshold, 0.0), max=max_value)
    return y - slope * TF.relu(threshold - x) if slope else y


def act_model(p, x):
    v = x["x"]
    n = {"pre": dense(v, p["pre.kernel"], p["pre.bias"])}
    n["relu_t"] = act_relu(v, *ACT_RELU)
    n["relu_max"] = act_relu(n["pre"], 0.8, 0.0, 0.0)
    n["leaky"] = TF.leaky_relu(v, 0.2)
    n["elu"] = TF.elu(n["pre"], 0.7)
    n["prelu_c"] = TF.prelu(n["pre"].permute(0, 2, 1), p["prelu_c.alpha"].reshape(ACT_C)).permute(0, 2, 1)
    n["prelu_all"] = TF.relu(v) - p["prelu_all.alpha"] * TF.relu(-v)
    n["soft_last"] = TF.softmax(n["pre"], dim=-1)
    n["soft_steps"] = TF.softmax(v, dim=1)
    n["soft_all"] = torch.exp(v - torch.logsumexp(v, dim=(1, 2), keepdim=True))
    n["cat"] = torch.cat([flat(n[k]) for k in ACT_NODES[1:-2]], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    # the distance of every value from a kink of the layer it enters
    kinks = [(v, 0.0), (v, ACT_RELU[0]), (v, ACT_RELU[2]), (n["pre"], 0.0), (n["pre"], 0.8)]
    margin = min(float((a.detach() - k).abs().min()) for a, k in kinks)
    return n, mse(n["out"], x["y"]), margin


def draw_act():
    inputs = {"x": n32((ACT_B, ACT_T, ACT_C)), "y": n32((ACT_B, 3))}
    params = {"pre.kernel": glorot32(ACT_C, ACT_C), "pre.bias": bias32(ACT_C),
              "prelu_c.alpha": u32((1, ACT_C), 0.1, 0.4), "prelu_all.alpha": u32((ACT_T, ACT_C), -0.3, 0.5),
              "out.kernel": glorot32(3, 9 * ACT_T * ACT_C), "out.bias": bias32(3)}
    return params, inputs


def activation_layers_file():
    torch.manual_seed(37)
    return ("activation_layers.safetensors",
            "Keras' activation layers: x (3,4,3) -> pre Dense(3); relu_t ReLU(max_value 1.2, negative_slope 0.1, "
            "threshold 0.3) of x (F.threshold, clamp, less 0.1 relu(0.3 - x)); relu_max ReLU(max_value 0.8) of pre "
            "(clamp of F.relu); leaky LeakyReLU(0.2) of x (F.leaky_relu); elu ELU(0.7) of pre (F.elu); prelu_c "
            "PReLU(shared_axes [1]) of pre (F.prelu, alpha (1,3) as nn.PReLU(3)'s per channel); prelu_all PReLU() "
            "of x (alpha (4,3)); soft_last Softmax() of pre, soft_steps Softmax(axis 1) of x, soft_all "
            "Softmax(axis [1,2]) of x (exp(x - logsumexp)); each flattened, Concatenate, Dense(3,linear); mse; "
            "forward, grads, Keras-3 Adam steps 1 and 2.",
            build("activation_layers", draw_act, act_model, ACT_NODES, ["x", "y"], 2, 0.02))


SEEDED_FILES["activation_layers.safetensors"] = activation_layers_file


# ---------------------------------------------------------------------------
# group_norm: Keras 3's GroupNormalization (keras/src/layers/normalization/
# group_normalization.py: each sample's group of channels normalised over
# its positions and channels, the biased variance) as F.group_norm on the
# channels-first permutation, and UnitNormalization (unit_normalization.py:
# ops.normalize, x rsqrt(max(sum x^2, 1e-12^2))) as that formula in float64.
# x (3, 4, 6) -> pre Dense(6); gn_seq GroupNormalization(3) of pre; gn_one
# GroupNormalization(1, scale=False) of x; gn_img GroupNormalization(2,
# epsilon 1e-5, center=False) of img (3, 3, 2, 4); gn_inst
# GroupNormalization(-1: 4) of img; un_seq UnitNormalization of pre; un_img
# of img; flattened, Concatenate, Dense(3); mse.  Its own manual_seed(38);
# forward, input gradients, 2 Keras-3 Adam steps.
# ---------------------------------------------------------------------------
GN_B, GN_T, GN_C, GN_H, GN_W, GN_IC = 3, 4, 6, 3, 2, 4
GN_NODES = ["pre", "gn_seq", "gn_one", "gn_img", "gn_inst", "un_seq", "un_img", "cat", "out"]


def gn_channels_last(x, groups, gamma, beta, eps):
    """F.group_norm over x (B, ..., C) moved to (B, C, ...) and back; a gamma or
    beta of None as constant ones / zeros (this torch's group_norm backward
    fails with one None and the other given)"""
    C = x.shape[-1]
    gamma = torch.ones(C, dtype=x.dtype) if gamma is None else gamma
    beta = torch.zeros(C, dtype=x.dtype) if beta is None else beta
    perm = [0, x.dim() - 1] + list(range(1, x.dim() - 1))
    back = [0] + list(range(2, x.dim())) + [1]
    return TF.group_norm(x.permute(*perm), groups, gamma, beta, eps).permute(*back)


def unit_norm(x):
    ss = (x * x).sum(dim=-1, keepdim=True)
    return x * torch.rsqrt(torch.clamp(ss, min=1e-12 * 1e-12))


def gn_model(p, x):
    v, img = x["x"], x["img"]
    n = {"pre": dense(v, p["pre.kernel"], p["pre.bias"])}
    n["gn_seq"] = gn_channels_last(n["pre"], 3, p["gn_seq.gamma"], p["gn_seq.beta"], 1e-3)
    n["gn_one"] = gn_channels_last(v, 1, None, p["gn_one.beta"], 1e-3)
    n["gn_img"] = gn_channels_last(img, 2, p["gn_img.gamma"], None, 1e-5)
    n["gn_inst"] = gn_channels_last(img, GN_IC, p["gn_inst.gamma"], p["gn_inst.beta"], 1e-3)
    n["un_seq"] = unit_norm(n["pre"])
    n["un_img"] = unit_norm(img)
    n["cat"] = torch.cat([flat(n[k]) for k in GN_NODES[1:-2]], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), math.inf


def draw_gn():
    inputs = {"x": n32((GN_B, GN_T, GN_C)), "img": u32((GN_B, GN_H, GN_W, GN_IC), -1.5, 2.0), "y": n32((GN_B, 3))}
    width = 3 * GN_T * GN_C + 3 * GN_H * GN_W * GN_IC
    params = {"pre.kernel": glorot32(GN_C, GN_C), "pre.bias": bias32(GN_C),
              "gn_seq.gamma": u32((GN_C,), 0.5, 1.5), "gn_seq.beta": u32((GN_C,), -0.5, 0.5),
              "gn_one.beta": u32((GN_C,), -0.5, 0.5),
              "gn_img.gamma": u32((GN_IC,), 0.5, 1.5),
              "gn_inst.gamma": u32((GN_IC,), 0.5, 1.5), "gn_inst.beta": u32((GN_IC,), -0.5, 0.5),
              "out.kernel": glorot32(3, width), "out.bias": bias32(3)}
    return params, inputs


def group_norm_file():
    torch.manual_seed(38)
    return ("group_norm.safetensors",
            "GroupNormalization / UnitNormalization: x (3,4,6) -> pre Dense(6); gn_seq GroupNormalization(3) of "
            "pre; gn_one GroupNormalization(1,scale=False) of x; img (3,3,2,4) -> gn_img GroupNormalization(2,"
            "epsilon 1e-5,center=False); gn_inst GroupNormalization(-1) (F.group_norm on the channels-first "
            "permutation); un_seq UnitNormalization of pre, un_img of img (x rsqrt(max(sum x^2, 1e-24)), float64); "
            "each flattened, Concatenate, Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 and 2.",
            build("group_norm", draw_gn, gn_model, GN_NODES, ["x", "img", "y"], 2, 0.02))


SEEDED_FILES["group_norm.safetensors"] = group_norm_file


# ---------------------------------------------------------------------------
# activations: Keras 3's activations after softmax (keras/src/activations/
# activations.py, formulas of keras/src/backend/numpy/nn.py), forward and
# input gradient on a fixed (6, 8) tensor with large |x| (+-30, +-15) and no
# value at a kink, by PyTorch's functions where it has one (each checked
# against Keras' formula written out below, in float64) and by the formula
# otherwise; then a Dense of each smooth one in a small network trained
# 5 Keras-Adam steps.
# ---------------------------------------------------------------------------
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _keras_softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))


def _keras_hard_sigmoid(x):  # numpy backend: clip(x / 6 + 0.5, 0, 1); jax: relu6(x + 3) / 6
    return torch.clamp(x / 6.0 + 0.5, 0.0, 1.0)


def _keras_sparsemax(x):
    """Keras 3's sparsemax over the last axis (keras/src/backend/*/nn.py) after
    its fix (keras-team/keras PR 23469, Aug 2026: the threshold sums the
    sorted values over the support, not their cumulative sums); autograd
    differentiates through the sort."""
    s = torch.sort(x, dim=-1, descending=True).values
    cs = torch.cumsum(s, dim=-1)
    r = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    support = s - (cs - 1) / r > 0
    k = support.sum(dim=-1, keepdim=True)
    tau = (torch.where(support, s, torch.zeros_like(s)).sum(dim=-1, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0.0), tau


KERAS_ACTS = {  # name: (PyTorch's function or None, Keras' formula)
    "selu": (TF.selu, lambda x: SELU_SCALE * torch.where(x >= 0, x, SELU_ALPHA * torch.expm1(x))),
    "softplus": (TF.softplus, _keras_softplus),
    "softsign": (TF.softsign, lambda x: x / (1.0 + x.abs())),
    "silu": (TF.silu, lambda x: x * torch.sigmoid(x)),
    "relu6": (TF.relu6, lambda x: torch.minimum(torch.maximum(x, torch.zeros_like(x)), torch.full_like(x, 6.0))),
    "hard_sigmoid": (TF.hardsigmoid, _keras_hard_sigmoid),
    "hard_silu": (TF.hardswish, lambda x: x * _keras_hard_sigmoid(x)),
    "mish": (TF.mish, lambda x: x * torch.tanh(_keras_softplus(x))),
    "exponential": (None, torch.exp),
    "celu": (lambda x: TF.celu(x, alpha=1.0),
             lambda x: torch.clamp(x, min=0.0) + 1.0 * torch.expm1(torch.clamp(x, max=0.0) / 1.0)),
    "log_sigmoid": (TF.logsigmoid, lambda x: -_keras_softplus(-x)),
    "hard_tanh": (TF.hardtanh, lambda x: torch.clamp(x, -1.0, 1.0)),
    "tanh_shrink": (TF.tanhshrink, lambda x: x - torch.tanh(x)),
    "squareplus": (None, lambda x: (x + torch.sqrt(x * x + 4.0)) / 2.0),
    "soft_shrink": (lambda x: TF.softshrink(x, 0.5),
                    lambda x: torch.where(x > 0.5, x - 0.5, torch.where(x < -0.5, x + 0.5, torch.zeros_like(x)))),
    "hard_shrink": (lambda x: TF.hardshrink(x, 0.5), lambda x: torch.where(x.abs() > 0.5, x, torch.zeros_like(x))),
    "sparse_plus": (None, lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                                torch.where(x < 1, 0.25 * (x + 1) ** 2, x))),
    "sparse_sigmoid": (None, lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                                   torch.where(x >= 1, torch.ones_like(x), 0.5 * (x + 1)))),
    "log_softmax": (lambda x: TF.log_softmax(x, dim=-1),
                    lambda x: x - x.max(dim=-1, keepdim=True).values - torch.log(
                        torch.exp(x - x.max(dim=-1, keepdim=True).values).sum(dim=-1, keepdim=True))),
    "sparsemax": (None, lambda x: _keras_sparsemax(x)[0]),
}
ACT_KINKS = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0]
ACT_X = [[-30.0, -15.0, -7.5, -4.2, -2.7, -1.6, -0.8, -0.3],
         [-0.07, 0.09, 0.3, 0.8, 1.3, 2.2, 3.6, 5.1],
         [6.4, 9.0, 15.0, 30.0, -0.62, 0.71, -1.9, 2.9],
         [30.0, 29.5, -30.0, 0.2, -0.2, 4.4, -5.3, 1.1],
         [-2.05, -3.4, 2.6, 0.44, -0.37, 0.93, -0.91, 5.9],
         [0.015, -0.035, 1.7, -1.2, 12.0, -12.0, 7.3, -6.1]]
ACT_NET = ["silu", "mish", "softplus", "softsign", "tanh_shrink", "log_sigmoid", "squareplus", "log_softmax"]
ACTS_B = 6


def act_fn(name):
    f, keras = KERAS_ACTS[name]
    return f if f is not None else keras


def act_net_model(p, x):
    n = {}
    for a in ACT_NET:
        n["d_" + a] = act_fn(a)(dense(x["x"], p["d_%s.kernel" % a], p["d_%s.bias" % a]))
    n["cat"] = torch.cat([n["d_" + a] for a in ACT_NET], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), 1.0  # smooth activations only: no kink


def draw_act_net():
    inputs = {"x": n32((ACTS_B, 4), 1.5), "y": n32((ACTS_B, 3))}
    params = {}
    for a in ACT_NET:
        params["d_%s.kernel" % a] = glorot32(4, 4) * 2.0  # pre-activations over about (-6, 6)
        params["d_%s.bias" % a] = bias32(4)
    params["out.kernel"] = glorot32(3, 4 * len(ACT_NET))
    params["out.bias"] = bias32(3)
    return params, inputs


def activations_file():
    torch.manual_seed(37)
    x32 = torch.tensor(ACT_X, dtype=F32)
    assert min(abs(v - k) for row in ACT_X for v in row for k in ACT_KINKS) >= 0.015
    x = x32.double()
    sp, tau = _keras_sparsemax(x)  # sparsemax's kinks: each row's threshold
    assert torch.allclose(sp.sum(dim=-1), torch.ones(x.shape[0], dtype=F64), rtol=0, atol=1e-12)
    assert (x - tau).abs().min() >= 0.015 and ((sp > 0).sum(dim=-1) >= 2).sum() >= 2
    dy = n32(x.shape).double()
    out = [("x", x), ("dy", dy)]
    for name, (f, keras) in KERAS_ACTS.items():
        xr = x.clone().requires_grad_(True)
        y = act_fn(name)(xr)
        (g,) = torch.autograd.grad((y * dy).sum(), [xr])
        if f is not None:  # PyTorch's function is Keras' formula
            yk = keras(x)
            assert torch.allclose(y.detach(), yk, rtol=1e-12, atol=1e-12), name
        out += [("act." + name, y.detach()), ("dact." + name, g.detach())]
    tensors = build("activations", draw_act_net, act_net_model, ["d_" + a for a in ACT_NET] + ["cat", "out"],
                    ["x", "y"], 5, 0.0, max_tries=1)
    return ("activations.safetensors",
            "Keras 3's activations after softmax: x (6,8) with +-30 and +-15, no value at a kink; act.NAME = NAME(x) "
            "and dact.NAME = dy * NAME'(x) (PyTorch's selu, softplus, softsign, silu, relu6, hardsigmoid, hardswish, "
            "mish, celu, logsigmoid, hardtanh, tanhshrink, softshrink(0.5), hardshrink(0.5), log_softmax(-1), each "
            "equal to Keras' formula in float64; exponential, squareplus(b=4), sparse_plus, sparse_sigmoid, sparsemax "
            "(Keras' after its fix of Aug 2026, through torch.sort) by their "
            "formulas), float64 from float32 x; then x (6,4) -> Dense(4, NAME) for " + ", ".join(ACT_NET) +
            " (kernels glorot x 2) -> Concatenate -> Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 "
            "and 5.",
            out + tensors)


SEEDED_FILES["activations.safetensors"] = activations_file



# ---------------------------------------------------------------------------
# resizing: Keras 3's Resizing and CenterCrop
# (keras/src/layers/preprocessing/image_preprocessing/resizing.py,
# center_crop.py) by PyTorch's F.interpolate on the channels-first
# permutation: "bilinear" with align_corners=False, antialias=False (Keras'
# half-pixel resize without antialias), "nearest" as mode="nearest-exact"
# (TF2's half-pixel nearest; Keras' torch backend maps "nearest" to it);
# crop_to_aspect_ratio's window and CenterCrop's offsets / smart_resize
# written from Keras' formulas below.  img (3,5,7,2): odd sizes, so that no
# nearest source (o + 0.5) H / h falls on a whole number (float32 and
# float64 scales pick the same pixel).  Its own manual_seed(38).
# ---------------------------------------------------------------------------
RESIZE_B, RESIZE_H, RESIZE_W = 3, 5, 7
RESIZE_NODES = ["rs_up", "rs_down", "rs_n_up", "rs_n_down", "rs_crop", "cc", "cc_small", "rs_in", "conv_a", "cat",
                "out"]


def keras_resize(x, size, mode="bilinear"):
    """x (B,H,W,C) -> (B,h,w,C): F.interpolate of the (B,C,H,W) permutation"""
    kw = {"align_corners": False, "antialias": False} if mode == "bilinear" else {}
    return TF.interpolate(x.permute(0, 3, 1, 2), size=size, mode=mode, **kw).permute(0, 2, 3, 1)


def keras_aspect_crop(x, size):
    """Keras' crop_to_aspect_ratio / smart_resize window (backend/tensorflow/
    image.py resize, utils/image_utils.py smart_resize)"""
    height, width = x.shape[1], x.shape[2]
    th, tw = size
    ch = max(min(height, int(float(width * th) / tw)), 1)
    cw = max(min(width, int(float(height * tw) / th)), 1)
    h0, w0 = int(float(height - ch) / 2), int(float(width - cw) / 2)
    return x[:, h0:h0 + ch, w0:w0 + cw, :]


def keras_center_crop(x, size):
    """center_crop.py _center_crop: a slice from (H - h) // 2, (W - w) // 2
    when the image is large enough, else smart_resize (bilinear)"""
    hd, wd = x.shape[1] - size[0], x.shape[2] - size[1]
    if hd >= 0 and wd >= 0:
        return x[:, hd // 2:hd // 2 + size[0], wd // 2:wd // 2 + size[1], :]
    return keras_resize(keras_aspect_crop(x, size), size)


def resize_model(p, x):
    img = x["img"]
    n = {}
    n["rs_up"] = keras_resize(img, (8, 9))                           # 5x7 -> 8x9 bilinear
    n["rs_down"] = keras_resize(img, (3, 4))                         # 5x7 -> 3x4
    n["rs_n_up"] = keras_resize(img, (8, 10), "nearest-exact")       # nearest
    n["rs_n_down"] = keras_resize(img, (3, 4), "nearest-exact")
    n["rs_crop"] = keras_resize(keras_aspect_crop(img, (3, 5)), (3, 5))  # crop_to_aspect_ratio: 4x7 from row 0
    n["cc"] = keras_center_crop(img, (3, 4))                          # rows 1..3, columns 1..4
    n["cc_small"] = keras_center_crop(img, (6, 6))                    # smart_resize of 5x5 from column 1
    n["rs_in"] = keras_resize(img, (6, 6))
    n["conv_a"] = torch.tanh(conv2d(n["rs_in"], p["conv_a.kernel"], p["conv_a.bias"], (1, 1), "valid"))
    n["cat"] = torch.cat([flat(n[k]) for k in RESIZE_NODES[:-2] if k != "rs_in"], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), 1.0


def draw_resize():
    inputs = {"img": n32((RESIZE_B, RESIZE_H, RESIZE_W, 2)), "y": n32((RESIZE_B, 3))}
    sizes = (8 * 9 + 3 * 4 + 8 * 10 + 3 * 4 + 3 * 5 + 3 * 4 + 6 * 6) * 2 + 4 * 4 * 3
    params = {"conv_a.kernel": conv_kernel32(3, 3, 2, 3), "conv_a.bias": bias32(3),
              "out.kernel": glorot32(3, sizes), "out.bias": bias32(3)}
    return params, inputs


def resizing_file():
    torch.manual_seed(38)
    x = n32((2, 5, 7, 3)).double()
    assert torch.equal(keras_resize(x, (4, 6), "nearest-exact"),
                       x[:, [0, 1, 3, 4]][:, :, [0, 1, 2, 4, 5, 6]]), "nearest-exact: floor((o + 0.5) scale)"
    return ("resizing.safetensors",
            "Resizing and CenterCrop (Keras 3): img (3,5,7,2) -> Resizing(8,9) and (3,4) bilinear (F.interpolate, "
            "align_corners False, antialias False, on the channels-first permutation), Resizing(8,10) and (3,4) "
            "nearest (mode nearest-exact), Resizing(3,5,crop_to_aspect_ratio) (the 4x7 window from row int(1 / 2) = "
            "0, then bilinear), CenterCrop(3,4) (rows 1..3, columns 1..4), CenterCrop(6,6) (smart_resize: the 5x5 window, "
            "bilinear), Resizing(6,6) -> Conv2D(3,3x3,valid,tanh) as conv_a; each flattened (but rs_in), "
            "Concatenate, Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 and 2.",
            build_image("resizing", draw_resize, resize_model, RESIZE_NODES, 2, 0.0, max_tries=1))


SEEDED_FILES["resizing.safetensors"] = resizing_file


# spatial3d: UpSampling3D, ZeroPadding3D, Cropping3D and Identity (Keras 3,
# keras/src/layers/reshaping/{up_sampling3d,zero_padding3d,cropping3d}.py,
# keras/src/layers/core/identity.py; channels_last), on the channels-first
# permutation: F.pad (the last axis first), slicing, F.interpolate(mode=
# "nearest", scale_factor) and repeat_interleave.  img (3, 2, 3, 3, 2) ->
# pad ZeroPadding3D(((1,0),(0,2),(1,1))) (3,5,5,2) -> conv Conv3D(3, (2,2,2),
# valid, tanh) (2,4,4,3) -> crop Cropping3D(((1,0),(1,2),(0,1))) (1,1,3,3)
# -> up UpSampling3D((2,1,3)) (2,1,9,3) -> ident Identity -> gap
# GlobalAveragePooling3D (3); crop2 Cropping3D(((0,1),(1,1),(0,1))) of img
# (1,1,2,2) and up2 UpSampling3D((1,2,2)) of img (2,6,6,2), flattened, so
# that img's gradient goes through them voxel by voxel; concatenated ->
# Dense(3, softmax).  Forward, grads, Keras-3 Adam steps 1 and 2.  Its own
# manual_seed(38).
# ---------------------------------------------------------------------------
S3_B, S3_D, S3_H, S3_W, S3_C = 3, 2, 3, 3, 2
S3_NODES = ["pad", "conv", "crop", "up", "ident", "gap", "crop2", "up2", "cat", "out"]


def zero_pad3(x, p):
    """x (B,D,H,W,C) padded by p ((d0,d1),(h0,h1),(w0,w1)) with zeros"""
    (d0, d1), (h0, h1), (w0, w1) = p
    return torch.nn.functional.pad(x.permute(0, 4, 1, 2, 3), [w0, w1, h0, h1, d0, d1]).permute(0, 2, 3, 4, 1)


def crop3(x, p):
    (d0, d1), (h0, h1), (w0, w1) = p
    xc = x.permute(0, 4, 1, 2, 3)
    D, H, W = xc.shape[2:]
    return xc[:, :, d0:D - d1, h0:H - h1, w0:W - w1].permute(0, 2, 3, 4, 1)


def spatial3d_model(p, x):
    n = {}
    n["pad"] = zero_pad3(x["img"], ((1, 0), (0, 2), (1, 1)))
    n["conv"] = torch.tanh(conv3d(n["pad"], p["conv.kernel"], p["conv.bias"], (1, 1, 1), "valid"))
    n["crop"] = crop3(n["conv"], ((1, 0), (1, 2), (0, 1)))
    n["up"] = torch.nn.functional.interpolate(n["crop"].permute(0, 4, 1, 2, 3), scale_factor=(2, 1, 3),
                                              mode="nearest").permute(0, 2, 3, 4, 1)
    n["ident"] = n["up"]
    n["gap"] = n["ident"].mean(dim=(1, 2, 3))
    n["crop2"] = crop3(x["img"], ((0, 1), (1, 1), (0, 1)))
    n["up2"] = x["img"].repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    n["cat"] = torch.cat([n["gap"], flat(n["crop2"]), flat(n["up2"])], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    return n, cce_from_logits(z, x["y"]), math.inf


def draw_spatial3d():
    B = S3_B
    inputs = {"img": u32((B, S3_D, S3_H, S3_W, S3_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([2, 1, 0])] = 1.0
    lim = math.sqrt(6.0 / (8 * S3_C + 8 * 3))
    params = {
        "conv.kernel": u32((2, 2, 2, S3_C, 3), -2 * lim, 2 * lim), "conv.bias": bias32(3),
        "out.kernel": glorot32(3, 3 + 4 + 144), "out.bias": bias32(3),
    }
    return params, inputs


def spatial3d_file():
    torch.manual_seed(38)
    return ("spatial3d.safetensors",
            "UpSampling3D / ZeroPadding3D / Cropping3D / Identity: img (3,2,3,3,2) -> pad ZeroPadding3D(((1,0),(0,2),"
            "(1,1))) -> conv Conv3D(3,(2,2,2),valid,tanh) -> crop Cropping3D(((1,0),(1,2),(0,1))) -> up "
            "UpSampling3D((2,1,3)) (F.interpolate nearest) -> ident Identity -> gap GlobalAveragePooling3D; crop2 "
            "Cropping3D(((0,1),(1,1),(0,1))) and up2 UpSampling3D((1,2,2)) (repeat_interleave) of img, flattened; "
            "concatenated -> Dense(3,softmax); categorical crossentropy from logits; forward, grads (img's through "
            "every layer), Keras-3 Adam steps 1 and 2.",
            build_image("spatial3d", draw_spatial3d, spatial3d_model, S3_NODES, 2, SEED_HEAD_MARGIN))


SEEDED_FILES["spatial3d.safetensors"] = spatial3d_file


# gqa: Keras 3's GroupedQueryAttention (keras/src/layers/attention/
# grouped_query_attention.py: EinsumDense kernels query (D, Hq, hd), key /
# value (D, Hk, hd), attention_output (Hq, hd, D); the key and value heads
# repeated Hq / Hk times (ops.repeat on the heads axis: repeat_interleave),
# the query scaled by 1/sqrt(hd)).  This torch has no
# scaled_dot_product_attention(enable_gqa), so the attention is written with
# torch ops.  ids (4, 6) (SEQ_PAD: a row without padding, two trailing
# pads, all padding, a 0 inside) -> emb Embedding(11, 8, mask_zero) -> enc
# GroupedQueryAttention(2, 4, 2) (self; the padding mask on keys and rows)
# -> gap GlobalAveragePooling1D (masked); x (4, 5, 6) -> mq
# GroupedQueryAttention(3, 4, 1, use_causal_mask) (self, multi-query); x,
# v (4, 4, 6), k (4, 4, 3) -> cross GroupedQueryAttention(2, 6, 3,
# use_bias=False) (value v, key k); gap, mq and cross flattened,
# Concatenate, Dense(3, softmax) as out; categorical crossentropy from
# logits.  Forward, grads, 2 Keras-3 Adam steps.  Its own manual_seed(38).
# ---------------------------------------------------------------------------
GQA_B, GQA_T = 4, 6
GQA_NODES = ["emb", "enc", "gap", "mq", "cross", "cat", "out"]


def gqa(p, name, xq, xv, xk=None, qmask=None, kmask=None, causal=False):
    """(B, T, D), (B, S, D), (B, S, Dk) -> (B, T, D); masks (B, T) / (B, S) of
    0/1; biases when the parameters hold them"""
    xk = xv if xk is None else xk
    hq, hd = p[name + ".query.kernel"].shape[1:]
    hk = p[name + ".key.kernel"].shape[1]

    def proj(x, part):
        y = torch.einsum("bsd,dhk->bshk", x, p[name + "." + part + ".kernel"])
        return y + p[name + "." + part + ".bias"] if name + "." + part + ".bias" in p else y
    q, k, v = proj(xq, "query"), proj(xk, "key"), proj(xv, "value")
    k, v = k.repeat_interleave(hq // hk, dim=2), v.repeat_interleave(hq // hk, dim=2)
    s = torch.einsum("bthk,bshk->bhts", q * (1.0 / math.sqrt(hd)), k)
    B, T, S = xq.shape[0], xq.shape[1], xv.shape[1]
    allowed = torch.ones(B, T, S, dtype=torch.bool)
    if qmask is not None:
        allowed = allowed & (qmask[:, :, None] > 0.5)
    if kmask is not None:
        allowed = allowed & (kmask[:, None, :] > 0.5)
    if causal:
        allowed = allowed & torch.ones(T, S, dtype=torch.bool).tril()[None]
    allowed = allowed[:, None]
    s = torch.where(allowed, s, torch.full_like(s, -math.inf))
    a = torch.softmax(torch.where(allowed.any(dim=-1, keepdim=True), s, torch.zeros_like(s)), dim=-1)
    a = torch.where(allowed, a, torch.zeros_like(a))
    o = torch.einsum("bhts,bshk->bthk", a, v)
    y = torch.einsum("bthk,hko->bto", o, p[name + ".attention_output.kernel"])
    return y + p[name + ".attention_output.bias"] if name + ".attention_output.bias" in p else y


def gqa_params32(name, d, dk, hq, hk, hd, bias=True):
    out = {name + ".query.kernel": mha_kernel32(d, hq, hd), name + ".query.bias": u32((hq, hd), -0.1, 0.1),
           name + ".key.kernel": mha_kernel32(dk, hk, hd), name + ".key.bias": u32((hk, hd), -0.1, 0.1),
           name + ".value.kernel": mha_kernel32(d, hk, hd), name + ".value.bias": u32((hk, hd), -0.1, 0.1),
           name + ".attention_output.kernel": mha_kernel32(hq, hd, d),
           name + ".attention_output.bias": u32((d,), -0.1, 0.1)}
    return {k: v for k, v in out.items() if bias or not k.endswith(".bias")}


def gqa_model_ids(ids):
    mask = ids != 0

    def model(p, x):
        n = {}
        m = mask.to(p["emb.embeddings"].dtype)
        n["emb"] = p["emb.embeddings"][ids]
        n["enc"] = gqa(p, "enc", n["emb"], n["emb"], qmask=m, kmask=m)
        n["gap"] = masked_avg(n["enc"], mask)
        n["mq"] = gqa(p, "mq", x["x"], x["x"], causal=True)
        n["cross"] = gqa(p, "cross", x["x"], x["v"], x["k"])
        n["cat"] = torch.cat([n["gap"], flat(n["mq"]), flat(n["cross"])], dim=1)
        z = dense(n["cat"], p["out.kernel"], p["out.bias"])
        n["out"] = torch.softmax(z, dim=1)
        return n, cce_from_logits(z, x["y"]), math.inf
    return model


def draw_gqa():
    B = GQA_B
    inputs = {"x": n32((B, 5, 6)), "v": n32((B, 4, 6)), "k": n32((B, 4, 3)), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([2, 0, 1, 0])] = 1.0
    params = {"emb.embeddings": u32((11, 8), -1.0, 1.0)}
    params.update(gqa_params32("enc", 8, 8, 4, 2, 2))
    params.update(gqa_params32("mq", 6, 6, 4, 1, 3))
    params.update(gqa_params32("cross", 6, 3, 6, 3, 2, bias=False))
    params["out.kernel"] = glorot32(3, 8 + 2 * 5 * 6)
    params["out.bias"] = bias32(3)
    return params, inputs


def gqa_file():
    torch.manual_seed(38)
    ids = torch.randint(1, 11, (GQA_B, GQA_T)) * torch.tensor(SEQ_PAD)
    out = build("gqa", draw_gqa, gqa_model_ids(ids), GQA_NODES, ["x", "v", "k", "y"], 2, 0.0, max_tries=1)
    idsf = ids.to(F64)
    return ("gqa.safetensors",
            "GroupedQueryAttention (Keras 3; torch ops, the key/value heads repeat_interleave'd): ids (4,6) -> emb "
            "Embedding(11,8,mask_zero) -> enc GroupedQueryAttention(head_dim 2, 4 query heads, 2 key/value heads; "
            "self, padding masks) -> gap GlobalAveragePooling1D (masked); x (4,5,6) -> mq "
            "GroupedQueryAttention(3,4,1,use_causal_mask) (self); x, v (4,4,6), k (4,4,3) -> cross "
            "GroupedQueryAttention(2,6,3,use_bias=False) (query x, value v, key k); gap, mq, cross flattened, "
            "Concatenate, Dense(3,softmax); categorical crossentropy from logits; forward, grads, Keras-3 Adam "
            "steps 1 and 2.",
            [("x.ids", idsf)] + out + [("grad.x.ids", torch.zeros_like(idsf))])


SEEDED_FILES["gqa.safetensors"] = gqa_file


# ---------------------------------------------------------------------------
# rms_norm: Keras 3.9's RMSNormalization (keras/src/layers/normalization/
# rms_normalization.py, ops.rms_normalization: x rsqrt(mean(x^2, axis=-1) +
# epsilon) scale) as that formula in float64 (this torch has no
# F.rms_norm, which computes the same).  x (3, 4, 6) -> pre Dense(5) ->
# rms_seq RMSNormalization (epsilon 1e-6) of pre; rms_x RMSNormalization
# (epsilon 0.1) of x; each flattened, Concatenate, Dense(3); mse.  Its own
# manual_seed(39); forward, input and scale gradients, 2 Keras-3 Adam steps.
# ---------------------------------------------------------------------------
RMS_B, RMS_T, RMS_C, RMS_U = 3, 4, 6, 5
RMS_NODES = ["pre", "rms_seq", "rms_x", "cat", "out"]


def rms_norm(x, scale, eps):
    return x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + eps) * scale


def rms_model(p, x):
    v = x["x"]
    n = {"pre": dense(v, p["pre.kernel"], p["pre.bias"])}
    n["rms_seq"] = rms_norm(n["pre"], p["rms_seq.scale"], 1e-6)
    n["rms_x"] = rms_norm(v, p["rms_x.scale"], 0.1)
    n["cat"] = torch.cat([flat(n["rms_seq"]), flat(n["rms_x"])], dim=1)
    n["out"] = dense(n["cat"], p["out.kernel"], p["out.bias"])
    return n, mse(n["out"], x["y"]), math.inf


def draw_rms():
    inputs = {"x": n32((RMS_B, RMS_T, RMS_C)), "y": n32((RMS_B, 3))}
    width = RMS_T * RMS_U + RMS_T * RMS_C
    params = {"pre.kernel": glorot32(RMS_U, RMS_C), "pre.bias": bias32(RMS_U),
              "rms_seq.scale": u32((RMS_U,), 0.5, 1.5), "rms_x.scale": u32((RMS_C,), -1.5, 1.5),
              "out.kernel": glorot32(3, width), "out.bias": bias32(3)}
    return params, inputs


def rms_norm_file():
    torch.manual_seed(39)
    return ("rms_norm.safetensors",
            "RMSNormalization: x (3,4,6) -> pre Dense(5); rms_seq RMSNormalization(epsilon 1e-6) of pre; rms_x "
            "RMSNormalization(epsilon 0.1) of x (x rsqrt(mean(x^2, -1) + epsilon) scale, float64); each flattened, "
            "Concatenate, Dense(3,linear); mse; forward, grads, Keras-3 Adam steps 1 and 2.",
            build("rms_norm", draw_rms, rms_model, RMS_NODES, ["x", "y"], 2, 0.02))


SEEDED_FILES["rms_norm.safetensors"] = rms_norm_file


# ---------------------------------------------------------------------------
# conv_lstm: ConvLSTM2D (Keras 3, keras/src/layers/rnn/conv_lstm.py): the
# cell written out with torch.nn.functional.conv2d (keras_conv2d: channels-
# first permutations, Keras' "same" padded explicitly) in a loop over time:
# z = conv(x_t, kernel; strides, padding) + b + conv(h, recurrent_kernel;
# stride 1, "same"); i, f, o = sigmoid, g = tanh of z's blocks i, f, c, o;
# c' = f c + i g, h' = o tanh(c').  img (3, 3, 5, 4, 2) -> cl1 ConvLSTM2D(3,
# (3,3), strides (2,1), same) -> gap GlobalAveragePooling2D; cl2
# ConvLSTM2D(2, (2,2), valid, no bias, return_sequences, go_backwards) of
# img, flattened; concatenated -> Dense(3, softmax).  Its own
# manual_seed(39).
# ---------------------------------------------------------------------------
CL_B, CL_T, CL_H, CL_W, CL_C = 3, 3, 5, 4, 2
CL_NODES = ["cl1", "gap", "cl2", "cat", "out"]


def conv_lstm2d(x, K, U, b, strides, padding, return_sequences=False, go_backwards=False):
    """x (B,T,H,W,C), Keras' kernel (kh,kw,C,4F), recurrent_kernel (kh,kw,F,4F)"""
    F = U.shape[2]
    h = c = None
    ys = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        z = keras_conv2d(x[:, t], K, b, strides, padding)
        if h is None:
            h = torch.zeros(z.shape[:3] + (F,), dtype=z.dtype)
            c = torch.zeros_like(h)
        z = z + keras_conv2d(h, U, None, (1, 1), "same")
        i, f, g, o = torch.sigmoid(z[..., :F]), torch.sigmoid(z[..., F:2 * F]), torch.tanh(z[..., 2 * F:3 * F]), \
            torch.sigmoid(z[..., 3 * F:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, dim=1) if return_sequences else h


def conv_lstm_model(p, x):
    n = {}
    n["cl1"] = conv_lstm2d(x["img"], p["cl1.kernel"], p["cl1.recurrent_kernel"], p["cl1.bias"], (2, 1), "same")
    n["gap"] = n["cl1"].mean(dim=(1, 2))
    n["cl2"] = conv_lstm2d(x["img"], p["cl2.kernel"], p["cl2.recurrent_kernel"], None, (1, 1), "valid", True, True)
    n["cat"] = torch.cat([n["gap"], flat(n["cl2"])], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    return n, cce_from_logits(z, x["y"]), math.inf


def draw_conv_lstm():
    B = CL_B
    inputs = {"img": u32((B, CL_T, CL_H, CL_W, CL_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([2, 0, 1])] = 1.0
    lim1 = math.sqrt(6.0 / (9 * CL_C + 9 * 12))
    lim2 = math.sqrt(6.0 / (4 * CL_C + 4 * 8))
    params = {
        "cl1.kernel": u32((3, 3, CL_C, 12), -2 * lim1, 2 * lim1),
        "cl1.recurrent_kernel": u32((3, 3, 3, 12), -0.5, 0.5),
        "cl1.bias": u32((12,), -0.5, 0.5),
        "cl2.kernel": u32((2, 2, CL_C, 8), -2 * lim2, 2 * lim2),
        "cl2.recurrent_kernel": u32((2, 2, 2, 8), -0.6, 0.6),
        "out.kernel": glorot32(3, 3 + 3 * 4 * 3 * 2), "out.bias": bias32(3),
    }
    return params, inputs


def conv_lstm_file():
    torch.manual_seed(39)
    return ("conv_lstm.safetensors",
            "ConvLSTM2D: img (3,3,5,4,2) -> cl1 ConvLSTM2D(3,(3,3),strides (2,1),same) -> gap "
            "GlobalAveragePooling2D; cl2 ConvLSTM2D(2,(2,2),valid,no bias,return_sequences,go_backwards) of img, "
            "flattened; concatenated -> Dense(3,softmax); the cell as F.conv2d (channels-first permutations, Keras' "
            "same padded explicitly) in a loop over time; categorical crossentropy from logits; forward, grads, "
            "Keras-3 Adam steps 1 and 2.",
            build_image("conv_lstm", draw_conv_lstm, conv_lstm_model, CL_NODES, 2, SEED_HEAD_MARGIN))


SEEDED_FILES["conv_lstm.safetensors"] = conv_lstm_file



# ---------------------------------------------------------------------------
# conv_lstm3d: ConvLSTM3D (Keras 3, keras/src/layers/rnn/conv_lstm3d.py,
# conv_lstm.py): conv_lstm2d's cell with torch.nn.functional.conv3d (conv3d
# above: channels-first permutations, Keras' "same" padded explicitly) in a
# loop over time.  img (3, 3, 3, 4, 3, 2) -> cl1 ConvLSTM3D(2, (2,2,2),
# strides (1,2,1), same), flattened; cl2 ConvLSTM3D(2, (2,2,2), valid,
# dilation (2,1,1), no bias, return_sequences, go_backwards) of img,
# flattened; concatenated -> Dense(3, softmax).  Its own manual_seed(40).
# ---------------------------------------------------------------------------
C3L_B, C3L_T, C3L_D, C3L_H, C3L_W, C3L_C = 3, 3, 3, 4, 3, 2
C3L_NODES = ["cl1", "cl2", "cat", "out"]


def conv_lstm3d(x, K, U, b, strides, padding, dilation=(1, 1, 1), return_sequences=False, go_backwards=False):
    """x (B,T,D,H,W,C), Keras' kernel (kd,kh,kw,C,4F), recurrent_kernel (kd,kh,kw,F,4F)"""
    F = U.shape[3]
    h = c = None
    ys = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        z = conv3d(x[:, t], K, b, strides, padding, dilation)
        if h is None:
            h = torch.zeros(z.shape[:4] + (F,), dtype=z.dtype)
            c = torch.zeros_like(h)
        z = z + conv3d(h, U, None, (1, 1, 1), "same")
        i, f, g, o = torch.sigmoid(z[..., :F]), torch.sigmoid(z[..., F:2 * F]), torch.tanh(z[..., 2 * F:3 * F]), \
            torch.sigmoid(z[..., 3 * F:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, dim=1) if return_sequences else h


def conv_lstm3d_model(p, x):
    n = {}
    n["cl1"] = conv_lstm3d(x["img"], p["cl1.kernel"], p["cl1.recurrent_kernel"], p["cl1.bias"], (1, 2, 1), "same")
    n["cl2"] = conv_lstm3d(x["img"], p["cl2.kernel"], p["cl2.recurrent_kernel"], None, (1, 1, 1), "valid",
                           (2, 1, 1), True, True)
    n["cat"] = torch.cat([flat(n["cl1"]), flat(n["cl2"])], dim=1)
    z = dense(n["cat"], p["out.kernel"], p["out.bias"])
    n["out"] = torch.softmax(z, dim=1)
    return n, cce_from_logits(z, x["y"]), math.inf


def draw_conv_lstm3d():
    B = C3L_B
    inputs = {"img": u32((B, C3L_T, C3L_D, C3L_H, C3L_W, C3L_C), -1.0, 1.0), "y": torch.zeros((B, 3), dtype=F32)}
    inputs["y"][torch.arange(B), torch.tensor([2, 0, 1])] = 1.0
    lim = math.sqrt(6.0 / (8 * C3L_C + 8 * 8))
    params = {
        "cl1.kernel": u32((2, 2, 2, C3L_C, 8), -2 * lim, 2 * lim),
        "cl1.recurrent_kernel": u32((2, 2, 2, 2, 8), -0.5, 0.5),
        "cl1.bias": u32((8,), -0.5, 0.5),
        "cl2.kernel": u32((2, 2, 2, C3L_C, 8), -2 * lim, 2 * lim),
        "cl2.recurrent_kernel": u32((2, 2, 2, 2, 8), -0.6, 0.6),
        "out.kernel": glorot32(3, 3 * 2 * 3 * 2 + 3 * 1 * 3 * 2 * 2), "out.bias": bias32(3),
    }
    return params, inputs


def conv_lstm3d_file():
    torch.manual_seed(40)
    return ("conv_lstm3d.safetensors",
            "ConvLSTM3D: img (3,3,3,4,3,2) -> cl1 ConvLSTM3D(2,(2,2,2),strides (1,2,1),same), flattened; cl2 "
            "ConvLSTM3D(2,(2,2,2),valid,dilation (2,1,1),no bias,return_sequences,go_backwards) of img, flattened; "
            "concatenated -> Dense(3,softmax); the cell as F.conv3d (channels-first permutations, Keras' same "
            "padded explicitly) in a loop over time; categorical crossentropy from logits; forward, grads, "
            "Keras-3 Adam steps 1 and 2.",
            build_image("conv_lstm3d", draw_conv_lstm3d, conv_lstm3d_model, C3L_NODES, 2, SEED_HEAD_MARGIN))


SEEDED_FILES["conv_lstm3d.safetensors"] = conv_lstm3d_file

if __name__ == "__main__":
    sys.exit(main(sys.argv))
