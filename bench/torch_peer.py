"""torch_peer.py — the PyTorch side of benchmarks B1, B2, B3, B5, B8 and B11.

The same networks, optimizer (Adam, lr 1e-3, eps 1e-7 as Keras), loss,
batch size, epochs and data sizes as bench/engine.c, with the data shuffled
every epoch (randperm + index), as many threads as cores, and the epoch's
mean loss accumulated like Keras' fit does.  Each run builds a fresh model
and optimizer outside the timed region; one untimed warm-up run comes first.

    /usr/bin/python3 bench/torch_peer.py b1 [runs]
    /usr/bin/python3 bench/torch_peer.py b2 [calls]
    /usr/bin/python3 bench/torch_peer.py b3 [rows] [runs] [max_run_s]
    /usr/bin/python3 bench/torch_peer.py b5 DIR EPOCHS [RUNS]
    /usr/bin/python3 bench/torch_peer.py b7 WEBNEWS_DIR [RUNS] [ROWS] [example|large]
    /usr/bin/python3 bench/torch_peer.py b8 [batches] [runs]
    /usr/bin/python3 bench/torch_peer.py b11 [batches] [runs]

B5 trains latefuse's learned fusion networks (src/fusion/learned.c) on the
files bench/gendata.py b5 wrote: see b5() below for what is replicated.
B7 trains bench/cnn.c's image CNN for one epoch on the Web_News images:
see b7() below.

Prints "RESULT <key> <value>" lines read by bench/report.py.
"""
import os
import statistics
import sys
import time

import torch
from torch import nn

# LF_BENCH_THREADS: the harness' thread count for both sides (B7), else every core
torch.set_num_threads(int(os.environ.get("LF_BENCH_THREADS") or 0) or os.cpu_count() or 1)


def result(key, value):
    print(f"RESULT {key} {value}", flush=True)


def result_times(key, times):
    """The timed runs under key: their count, median, min and max."""
    result(f"{key}.runs", len(times))
    result(f"{key}.median_s", f"{statistics.median(times):.6g}")
    result(f"{key}.min_s", f"{min(times):.6g}")
    result(f"{key}.max_s", f"{max(times):.6g}")


def result_torch():
    """What torch is here: version, threads, BLAS."""
    result("torch.version", torch.__version__)
    result("torch.threads", torch.get_num_threads())
    result("torch.blas", BLAS)


def blas_library():
    """The BLAS library torch loaded (from /proc/self/maps): Debian's
    python3-torch calls whatever libblas.so.3 is found, the reference
    (netlib) one unless OpenBLAS is installed or put on LD_LIBRARY_PATH."""
    torch.rand(8, 8) @ torch.rand(8, 8)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.split()[-1].lower()}
    except OSError:
        return "unknown"
    if not libs:
        return "unknown"
    path = sorted(libs)[0]
    kind = "openblas" if any("openblas" in p for p in libs) else "reference" \
        if "/blas/" in path else "other"
    return kind + ":" + path


BLAS = blas_library()


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


# ------------------------------------------------------------ seed network

class WeightedAverage(nn.Module):
    """One trainable weight per input, init U(0,1); y = sum softmax(w)_k x_k."""

    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.rand(n))

    def forward(self, xs):
        a = torch.softmax(self.w, dim=0)
        return sum(a[k] * x for k, x in enumerate(xs))


class SeedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1 = nn.Linear(100, 32)
        self.d2 = nn.Linear(100, 32)
        self.wavg = WeightedAverage(2)
        self.out = nn.Linear(32, 1)

    def forward(self, x1, x2):
        return self.out(self.wavg([torch.relu(self.d1(x1)), torch.relu(self.d2(x2))]))


def fit(model, xs, y, batch, epochs, loss_fn):
    opt = adam(model)
    n = y.shape[0]
    loss_epoch = 0.0
    for _ in range(epochs):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            out = model(*[x[idx] for x in xs])
            loss = loss_fn(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        loss_epoch = total / n
    return loss_epoch


def b1(runs):
    torch.manual_seed(1)
    x1, x2, y = torch.rand(1000, 100), torch.rand(1000, 100), torch.rand(1000, 1)
    mse = nn.MSELoss()
    times, loss = [], 0.0
    for r in range(runs + 1):  # run 0 is the warm-up
        model = SeedNet()
        t0 = time.perf_counter()
        loss = fit(model, [x1, x2], y, 32, 10, mse)
        dt = time.perf_counter() - t0
        if r > 0:
            times.append(dt)
    result("b1.torch.runs", runs)
    result("b1.torch.median_s", f"{statistics.median(times):.6g}")
    result("b1.torch.min_s", f"{min(times):.6g}")
    result("b1.torch.final_loss", f"{loss:.6g}")


def b2(calls):
    torch.manual_seed(2)
    model = SeedNet()
    model.eval()
    x1, x2 = torch.rand(1, 100), torch.rand(1, 100)
    times = [0.0] * calls
    clock = time.perf_counter_ns
    with torch.no_grad():
        for _ in range(1000):  # warm-up
            model(x1, x2)
        for i in range(calls):
            t0 = clock()
            model(x1, x2)
            times[i] = clock() - t0
    times.sort()
    result("b2.torch.calls", calls)
    result("b2.torch.median_s", f"{statistics.median(times) * 1e-9:.6g}")
    result("b2.torch.p99_s", f"{times[int(0.99 * (calls - 1))] * 1e-9:.6g}")


# --------------------------------------------------- embedding-fusion MLP

# bench/engine.c's B3_FLOPS_ROW: 2 per multiply-add forward, 4 backward, 2
# for the input layers (no input gradient)
B3_FLOPS_ROW = 4 * (2048 * 512 + 768 * 512) + 6 * (1024 * 256 + 256 * 10)


class FusionMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_dense = nn.Linear(2048, 512)
        self.text_dense = nn.Linear(768, 512)
        self.hidden = nn.Linear(1024, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, img, txt):
        h = torch.cat([torch.relu(self.image_dense(img)), torch.relu(self.text_dense(txt))], dim=1)
        return self.out(torch.relu(self.hidden(h)))  # logits: softmax fused in the loss


def b3(rows, runs, max_run_s=0):
    """One epoch of `rows` rows.  On the reference BLAS, when the warm-up
    projects an epoch longer than max_run_s, one timed run only, and past
    twice that limit on a prefix of the rows sized to take about max_run_s:
    throughput is per row, so it stays comparable."""
    torch.manual_seed(3)
    img, txt = torch.rand(rows, 2048), torch.rand(rows, 768)
    y = torch.randint(0, 10, (rows,))
    ce = nn.CrossEntropyLoss()
    times, loss, r, timed = [], 0.0, 0, rows
    while r <= runs:
        n = min(rows, 2560) if r == 0 else timed  # warm-up of 10 batches
        model = FusionMLP()
        t0 = time.perf_counter()
        loss = fit(model, [img[:n], txt[:n]], y[:n], 256, 1, ce)
        dt = time.perf_counter() - t0
        if r == 0:
            projected = dt / n * rows
            # Only a slow BLAS (the reference one) is cut short: with
            # OpenBLAS every epoch runs whole, since a warm-up disturbed by
            # other work on the machine can project far too long.
            limit = max_run_s * (1 if BLAS.startswith("reference") else 4)
            if max_run_s and projected > limit and not BLAS.startswith("openblas"):
                runs = 1
                if projected > 2 * max_run_s:
                    timed = max(2560, int(rows * max_run_s / projected) // 256 * 256)
                    timed = min(timed, rows)
                print(f"torch_peer: B3 projects {projected:.0f} s per epoch: "
                      f"one timed epoch of {timed} rows", file=sys.stderr)
                result("b3.torch.projected_s", f"{projected:.4g}")
        else:
            times.append(dt)
            print(f"torch_peer: B3 run {r}: {dt:.3f} s", file=sys.stderr)
        r += 1
    med = statistics.median(times)
    result("b3.torch.rows", timed)
    result("b3.torch.runs", runs)
    result("b3.torch.median_s", f"{med:.6g}")
    result("b3.torch.samples_per_s", f"{timed / med:.6g}")
    result("b3.torch.gflops", f"{B3_FLOPS_ROW * timed / med * 1e-9:.6g}")
    result("b3.torch.final_loss", f"{loss:.6g}")


# ------------------------------------------- attention encoder block (B8)

B8_T, B8_D, B8_H, B8_FF, B8_CLASSES, B8_BATCH = 128, 128, 4, 512, 10, 32


class EncoderBlock(nn.Module):
    """bench/engine.c's encoder_block: PyTorch's own MultiheadAttention
    (one input projection of 3 D outputs, as PyTorch users write it; the
    same products as Keras' three), residuals, LayerNorm (eps 1e-3),
    Linear(FF) relu Linear(D), the mean over the steps, Linear(10)."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(B8_D, B8_H, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(B8_D, eps=1e-3), nn.LayerNorm(B8_D, eps=1e-3)
        self.ff1, self.ff2 = nn.Linear(B8_D, B8_FF), nn.Linear(B8_FF, B8_D)
        self.out = nn.Linear(B8_D, B8_CLASSES)

    def forward(self, x):
        a, _ = self.mha(x, x, x, need_weights=False)
        h = self.ln1(x + a)
        h = self.ln2(h + self.ff2(torch.relu(self.ff1(h))))
        return self.out(h.mean(dim=1))


def b8(batches=16, runs=3):
    """One model and optimizer; a warm-up epoch, then `runs` timed epochs
    of `batches` steps (each: gather the batch, forward, loss, backward,
    Adam), as bench/engine.c's b8."""
    torch.manual_seed(8)
    rows = batches * B8_BATCH
    x = torch.rand(rows, B8_T, B8_D)
    y = torch.randint(0, B8_CLASSES, (rows,))
    time_epochs("b8", EncoderBlock(), x, y, B8_BATCH, batches, runs)


def time_epochs(tag, model, x, y, batch, batches, runs):
    """B8's and B11's measure: model trained with Adam and cross-entropy,
    a warm-up epoch of `batches` steps of `batch` rows (each: gather the
    batch, forward, loss, backward, Adam), then `runs` timed epochs; the
    RESULT lines "<tag>.torch.*" as bench/engine.c's time_epochs."""
    rows = batches * batch
    model.train()
    opt = adam(model)
    ce = nn.CrossEntropyLoss()
    times, loss = [], 0.0
    for r in range(runs + 1):  # run 0 is the warm-up
        t0 = time.perf_counter()
        perm = torch.randperm(rows)
        total = 0.0
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            out = model(x[idx])
            lo = ce(out, y[idx])
            opt.zero_grad(set_to_none=True)
            lo.backward()
            opt.step()
            total += lo.item() * idx.shape[0]
        dt = (time.perf_counter() - t0) / batches
        loss = total / rows
        print(f"torch_peer: {tag} epoch {r}{'' if r else ' (warm-up)'}: {dt * 1e3:.1f} ms per step", file=sys.stderr)
        if r:
            times.append(dt)
    result_times(tag + ".torch", times)
    result(tag + ".torch.final_loss", f"{loss:.6g}")


# ------------------------------------------------ C3D-style network (B11)

B11_D, B11_HW, B11_C, B11_CLASSES, B11_BATCH = 16, 32, 3, 10, 8


class C3D(nn.Module):
    """bench/engine.c's c3d_net in PyTorch's own layout (batch, channels, D,
    H, W), as PyTorch users write it: Conv3d(32, 3, padding 1) relu,
    MaxPool3d((1, 2, 2)), Conv3d(64, 3, padding 1) relu, MaxPool3d(2), the
    mean over the voxels, Linear(10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(B11_C, 32, 3, padding=1)
        self.conv2 = nn.Conv3d(32, 64, 3, padding=1)
        self.out = nn.Linear(64, B11_CLASSES)

    def forward(self, x):
        h = nn.functional.max_pool3d(torch.relu(self.conv1(x)), (1, 2, 2))
        h = nn.functional.max_pool3d(torch.relu(self.conv2(h)), 2)
        return self.out(h.mean(dim=(2, 3, 4)))


def b11(batches=4, runs=3):
    """As b8: one model and optimizer; a warm-up epoch, then `runs` timed
    epochs of `batches` steps."""
    torch.manual_seed(10)
    rows = batches * B11_BATCH
    x = torch.rand(rows, B11_C, B11_D, B11_HW, B11_HW)
    y = torch.randint(0, B11_CLASSES, (rows,))
    time_epochs("b11", C3D(), x, y, B11_BATCH, batches, runs)


# ------------------------------------------------- learned fusion (B5)

# src/fusion/learned.c, its records: learning rate and batch size per method
B5_CFG = {"wavg": (0.01, 64), "wavg-class": (0.01, 64), "stack-lr": (0.003, 64)}
# learned.c's penalty on more than 20000 rows (no inner CV): the weakest of
# the method's grid x 20000 / rows; the pools' weakest is 0
B5_WEAKEST = {"wavg": 0.0, "wavg-class": 0.0, "stack-lr": 0.003}
CLIP = 1e-7  # Keras' clipping of probabilities in the categorical loss
LOG_FLOOR = 1e-7  # learned.c: log inputs of stack-lr


class FuseWavg(nn.Module):
    """WeightedAverage: one weight per model, init 0 (learned.c starts the
    shrunk pools at the mean rule); y = sum softmax(w)_k p_k."""

    def __init__(self, m):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(m))

    def forward(self, ps):
        a = torch.softmax(self.w, dim=0)
        return sum(a[k] * p for k, p in enumerate(ps))


class FuseWavgClass(nn.Module):
    """ClassWeightedAverage: weights (models x classes), init 0, softmax
    over the models per class."""

    def __init__(self, m, c):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(m, c))

    def forward(self, ps):
        a = torch.softmax(self.w, dim=0)
        return sum(a[k] * p for k, p in enumerate(ps))


class FuseStackLR(nn.Module):
    """The product rule plus a linear correction: mean_k log p_k (every model
    present: the mask is ones) + Linear(Concatenate(log p_1..log p_M, mask)),
    kernel and bias initialised to 0 (learned.c); returns the logits (the
    softmax is fused in the loss, as latefuse does).  The L2 penalty on the
    kernel is in b5_fit's loss."""

    def __init__(self, m, c):
        super().__init__()
        self.m, self.c = m, c
        self.out = nn.Linear(m * c + m, c)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        mean = x[:, :self.m * self.c].view(-1, self.m, self.c).mean(dim=1)
        return mean + self.out(x)


def prob_ce(q, y):
    """Keras' categorical cross-entropy on probabilities: renormalise, clip."""
    q = q / q.sum(dim=1, keepdim=True)
    return -torch.log(q.gather(1, y[:, None]).clamp(CLIP, 1 - CLIP)).mean()


def b5_load(folder, part):
    import numpy as np
    ps = [torch.from_numpy(np.load(os.path.join(folder, f"{part}_{k}.npy"))) for k in "abc"]
    y = torch.from_numpy(np.load(os.path.join(folder, f"{part}_y.npy")).astype("int64"))
    return ps, y


def b5_fit(method, ps, y, epochs):
    """What lf_fusion_fit does with modality_dropout 0: the inputs prepared
    (for stack-lr: log max(p, 1e-7) and a mask of ones, concatenated), the
    rows shuffled once and the last 10 % held out for validation, then
    `epochs` epochs of Adam (lr and batch of config(), eps 1e-7) over the
    training rows reshuffled each epoch, the epoch's mean loss accumulated,
    the validation loss computed after each epoch, early stopping with
    patience 8 restoring the best weights; the moving average of the
    weights (Keras' use_ema, learned.c's momentum) written into the weights
    at the end."""
    lr, batch = B5_CFG[method]
    n, c, m = y.shape[0], ps[0].shape[1], len(ps)
    l2 = B5_WEAKEST[method] * min(1.0, 20000 / n)  # learned.c: n > 20000 (B5's 10^6)
    if method == "stack-lr":
        x = torch.cat([torch.log(p.clamp_min(LOG_FLOOR)) for p in ps] + [torch.ones(n, m)], dim=1)
        model = FuseStackLR(m, c)

        def loss_fn(xb, yb):
            return (nn.functional.cross_entropy(model(xb), yb) +
                    l2 * (model.out.weight ** 2).sum())
    else:
        x = torch.stack(ps, dim=1)  # n x M x C: one gather per batch
        model = FuseWavg(m) if method == "wavg" else FuseWavgClass(m, c)

        def loss_fn(xb, yb):
            loss = prob_ce(model(xb.unbind(1)), yb)
            return loss + l2 * (model.w ** 2).sum() if l2 else loss
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    order = torch.randperm(n)
    n_train = int(n * 0.9)
    tr, va = order[:n_train], order[n_train:]
    xv, yv = x[va], y[va]
    best, best_state, wait = float("inf"), None, 0
    # the moving average of the weights (Keras' use_ema, as learned.c):
    # momentum 1 - 10 / steps within [0, 0.999], 0 on the first step
    steps = epochs * ((n_train + batch - 1) // batch)
    mom = min(max(1.0 - 10.0 / steps, 0.0), 0.999)
    ema = [p.detach().clone() for p in model.parameters()]
    step = 0
    for _ in range(epochs):
        perm = tr[torch.randperm(n_train)]
        total = 0.0
        for i in range(0, n_train, batch):
            idx = perm[i:i + batch]
            loss = loss_fn(x[idx], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                m = mom if step > 0 else 0.0
                with torch.no_grad():
                    for a, p in zip(ema, model.parameters()):
                        a.mul_(m).add_(p, alpha=1.0 - m)
            step += 1
            total += loss.item() * idx.shape[0]
        with torch.no_grad():
            vloss = loss_fn(xv, yv).item()
        if vloss < best:
            best, wait = vloss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            wait += 1
            if wait >= 8:
                model.load_state_dict(best_state)
                break
    if ema is not None:
        with torch.no_grad():
            for a, p in zip(ema, model.parameters()):
                p.copy_(a)
    return model


def b5_predict(method, model, ps):
    with torch.no_grad():
        if method == "stack-lr":
            n, m = ps[0].shape[0], len(ps)
            x = torch.cat([torch.log(p.clamp_min(LOG_FLOOR)) for p in ps] + [torch.ones(n, m)], 1)
            q = torch.softmax(model(x), dim=1)
        else:
            q = model(ps)
        return q / q.sum(dim=1, keepdim=True)  # latefuse renormalises every row


def logloss(q, y):
    """lf_fusion_metrics' log-loss: -mean log clip(q_y, 1e-15, 1), in double."""
    return float(-torch.log(q.double().gather(1, y[:, None]).clamp(1e-15, 1.0)).mean())


def b5(folder, epochs, runs=1):
    torch.manual_seed(5)
    ps, y = b5_load(folder, "train")
    pt, yt = b5_load(folder, "test")
    for method in ("wavg", "wavg-class", "stack-lr"):
        times = []
        for r in range(runs + 1):  # r = 0: the warm-up, as latefuse's
            t0 = time.perf_counter()
            model = b5_fit(method, ps, y, epochs)
            dt = time.perf_counter() - t0
            print(f"torch_peer: B5 {method} fit {dt:.3f} s{'' if r else ' (warm-up)'}", file=sys.stderr)
            if r:
                times.append(dt)
        q = b5_predict(method, model, pt)
        acc = float((q.argmax(dim=1) == yt).double().mean())
        result_times(f"b5.{method}.torch", times)
        result(f"b5.{method}.torch.logloss", f"{logloss(q, yt):.6g}")
        result(f"b5.{method}.torch.accuracy", f"{acc:.6g}")


# ------------------------------------------------- image CNN (B7)

# bench/cnn.c's two networks: name -> (filters, AveragePooling2D(2) first,
# Keras' BatchNormalization momentum, Dropout before the Dense (0: none))
B7_NETS = {"example": ((16, 32, 64, 128), True, 0.9, 0.3),
           "large": ((32, 64, 128, 128), False, 0.99, 0.0)}


class ImageCNN(nn.Module):
    """bench/cnn.c's networks on channels-last images: [AveragePooling2D(2)]
    -> 4 x [Conv2D(f, 3x3, same, no bias) -> BatchNormalization (Keras: eps
    1e-3, momentum m, i.e. PyTorch's 1 - m) -> ReLU -> MaxPooling2D(2)] ->
    global average -> [Dropout] -> Dense(10) (the softmax fused in the
    loss).  Glorot-uniform kernels."""

    def __init__(self, net="example"):
        super().__init__()
        filters, pool, momentum, dropout = B7_NETS[net]
        layers, c = [nn.AvgPool2d(2)] if pool else [], 3
        for f in filters:
            conv = nn.Conv2d(c, f, 3, padding=1, bias=False)
            nn.init.xavier_uniform_(conv.weight)
            layers += [conv, nn.BatchNorm2d(f, eps=1e-3, momentum=1 - momentum), nn.ReLU(), nn.MaxPool2d(2)]
            c = f
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(c, 10)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        return self.out(self.drop(self.features(x).mean(dim=(2, 3))))


def augment(xb, flip_p=0.5, factor=0.1):
    """RandomFlip("horizontal") then RandomTranslation(factor, factor) as
    latefuse does them (src/layers/augment.c): per image a mirror with
    probability 1/2 and a shift of round(u H) rows, round(v W) columns, u, v
    uniform in [-factor, factor], zeros shifted in; one gather for the batch.
    xb: (B, H, W, C)."""
    b, h, w, _ = xb.shape
    flip = torch.rand(b) < flip_p
    dy = torch.floor((torch.rand(b) * 2 - 1) * factor * h + 0.5).long()
    dx = torch.floor((torch.rand(b) * 2 - 1) * factor * w + 0.5).long()
    sy = torch.arange(h)[None, :] - dy[:, None]  # (B, H): source row of each output row
    tx = torch.arange(w)[None, :] - dx[:, None]  # (B, W): column in the flipped image
    sx = torch.where(flip[:, None], w - 1 - tx, tx)
    valid = ((sy >= 0) & (sy < h))[:, :, None] & ((tx >= 0) & (tx < w))[:, None, :]
    out = xb[torch.arange(b)[:, None, None], sy.clamp(0, h - 1)[:, :, None], sx.clamp(0, w - 1)[:, None, :]]
    return out * valid[..., None]


def b7(folder, runs, rows=0, net="example"):
    """Epochs of an image CNN (B7_NETS) on the Web_News training images: Adam
    (Keras' defaults), batch 32, reshuffled, the epoch's mean loss
    accumulated; the augmentation and the 1/255 rescaling inside the timed
    loop, as in latefuse's model.  One model, built outside the timer,
    trains 1 + runs epochs, each timed; the first is the warm-up (the one
    that meets fresh memory), reported apart, as bench/cnn.c does."""
    import numpy as np
    torch.manual_seed(7)
    x = torch.from_numpy(np.load(os.path.join(folder, "train_images.npy"))).float()  # (N, 64, 64, 3)
    y = torch.from_numpy(np.load(os.path.join(folder, "train_labels.npy")).astype("int64"))
    if rows:
        x, y = x[:rows], y[:rows]
    n = y.shape[0]
    ce = nn.CrossEntropyLoss()
    times, cpus, loss = [], [], 0.0
    model = ImageCNN(net).to(memory_format=torch.channels_last)
    k = "b7" if net == "example" else "b7l"
    model.train()
    opt = adam(model)
    for r in range(runs + 1):  # epoch 1 (r = 0) is the warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, 32):
            idx = perm[i:i + 32]
            xb = augment(x[idx]) * (1.0 / 255.0)
            out = model(xb.permute(0, 3, 1, 2))  # NCHW view of NHWC memory: channels_last
            lb = ce(out, y[idx])
            opt.zero_grad(set_to_none=True)
            lb.backward()
            opt.step()
            total += lb.item() * idx.shape[0]
        loss = total / n
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"torch_peer: B7 epoch {r + 1}{'' if r else ' (warm-up)'}: {dt:.3f} s", file=sys.stderr)
        if r:
            times.append(dt)
            cpus.append(cpu)
        else:
            result(f"{k}.torch.first_epoch_s", f"{dt:.6g}")
    result(f"{k}.torch.rows", n)
    result_times(f"{k}.torch", times)
    result(f"{k}.torch.cpu_median_s", f"{statistics.median(cpus):.6g}")
    result(f"{k}.torch.final_loss", f"{loss:.6g}")
    result(f"{k}.torch.mkldnn", int(torch.backends.mkldnn.is_available()))


def main(argv):
    which = argv[1] if len(argv) > 1 else ""
    if which == "b5":
        if len(argv) < 4:
            print("usage: torch_peer.py b5 DIR EPOCHS [RUNS]", file=sys.stderr)
            return 2
        result_torch()
        b5(argv[2], int(argv[3]), int(argv[4]) if len(argv) > 4 else 1)
        return 0
    if which == "b7":
        if len(argv) < 3:
            print("usage: torch_peer.py b7 WEBNEWS_DIR [RUNS] [ROWS] [example|large]", file=sys.stderr)
            return 2
        result_torch()
        if len(argv) > 5 and argv[5] not in B7_NETS:
            print(f"torch_peer.py: unknown network {argv[5]!r} (example or large)", file=sys.stderr)
            return 2
        b7(argv[2], int(argv[3]) if len(argv) > 3 else 3, int(argv[4]) if len(argv) > 4 else 0,
           argv[5] if len(argv) > 5 else "example")
        return 0
    nums = [float(a) for a in argv[2:]]
    nums = [int(v) for v in nums[:2]] + nums[2:]  # counts, then a time limit
    result_torch()
    if which == "b1":
        b1(*(nums or [7]))
    elif which == "b2":
        b2(*(nums or [20000]))
    elif which == "b3":
        b3(*(nums or [100000, 3]))
    elif which == "b8":
        b8(*(nums or [16, 3]))
    elif which == "b11":
        b11(*(nums or [4, 3]))
    else:
        print("usage: torch_peer.py b1 [runs] | b2 [calls] | b3 [rows] [runs] [max_run_s] | "
              "b5 DIR EPOCHS [RUNS] | b7 WEBNEWS_DIR [RUNS] [ROWS] [example|large] | b8 [batches] [runs] | "
              "b11 [batches] [runs]",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
