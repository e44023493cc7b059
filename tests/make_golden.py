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
        diffs["adam"] = max((hist[s][k].double() - ref_hist[s][k]).abs().max().item()
                            for s in (1, steps) for k in params64)
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
            assert diffs["adam"] < 1e-5, "%s: float32 Adam disagrees: %r" % (label, diffs)
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


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: make_golden.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

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
    for fname, desc, tensors in files:
        path = os.path.join(outdir, fname)
        size = write_safetensors(path, tensors, desc)
        assert size < 200 * 1024, "%s is too large (%d bytes)" % (path, size)
        _, back = read_safetensors(path)
        for name, t in tensors:
            ref = t.to(F32).numpy().reshape(back[name].shape)
            assert np.array_equal(back[name], ref), "read-back mismatch for " + name
        print("wrote %s (%d tensors, %d bytes)" % (path, len(tensors), size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
