#!/usr/bin/python3
"""Trains the plate reader on synthetic crops from render_plates.py (Debian's python3-torch, CPU).

    nice -n 15 /usr/bin/python3 scripts/vision/train.py --train 'tmp/vision/train/part*.npz' \
        --val tmp/vision/val.npz --steps 4000 --max-minutes 40 --threads 2 --out tmp/vision/reader.pt

--train takes globs, comma-separated: parts that render_plates.py finishes while training runs join at the next
pass over the data, so training can start before the whole set is rendered.

Only synthetic data: the real clips are for measuring, never for training or tuning.
"""

import argparse
import glob
import json
import math
import time

import numpy as np
import torch
from torch import nn

from plate_model import BLANK, PlateReader, encode_label, greedy_decode, normalise


def load(pattern):
    """One .npz or globs of them, comma-separated (the renderer writes parts while training runs)."""
    images, labels = [], []
    paths = sorted({p for g in pattern.split(",") for p in glob.glob(g)})
    for path in paths:
        d = np.load(path, allow_pickle=False)
        images.append(d["images"])
        labels += [str(x) for x in d["labels"]]
    if not images:
        raise SystemExit(f"train: no data at {pattern}")
    return torch.from_numpy(np.concatenate(images)), labels


def train_mode(model, freeze_bn):
    """model.train(), but with --freeze-bn the batch norm layers stay in eval mode: they keep
    their running statistics and normalise with them (their affine weight and bias still learn).
    Needed when fine-tuning an imported TF.js model, whose batch norm is an identity."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


def evaluate(model, images, labels, batch=512, freeze_bn=False):
    model.eval()
    exact = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(normalise(images[i : i + batch]))
            for j, lg in enumerate(logits):
                text, _ = greedy_decode(lg)
                exact += text == labels[i + j]
    train_mode(model, freeze_bn)
    return exact / len(images)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--epochs", type=float, default=6)
    ap.add_argument("--steps", type=int, default=0, help="total steps (overrides --epochs)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=45, help="wall-time budget; the learning rate anneals to it")
    ap.add_argument("--resume", help="start from these weights (a previous run's --out) instead of from scratch")
    ap.add_argument(
        "--freeze-bn",
        action="store_true",
        help="keep batch norm in eval mode (fine-tuning weights from import_tfjs.py, whose batch norm is folded)",
    )
    ap.add_argument("--channels", default="12,24,32,48", help="widths of the four conv blocks (from scratch only)")
    ap.add_argument("--head", type=int, default=64, help="width after the height collapses (from scratch only)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    images, labels = load(a.train)
    val_images, val_labels = load(a.val)
    targets = [torch.tensor(encode_label(t), dtype=torch.long) for t in labels]
    n = len(images)
    steps_per_epoch = n // a.batch
    total_steps = int(a.steps) if a.steps else int(steps_per_epoch * a.epochs)

    if a.resume:
        state = torch.load(a.resume, map_location="cpu")
        model = PlateReader.for_state_dict(state)
        model.load_state_dict(state)
    else:
        model = PlateReader([int(c) for c in a.channels.split(",")], a.head)
    train_mode(model, a.freeze_bn)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    print(f"train: {n} crops, {params} parameters, {total_steps} steps of {a.batch}", flush=True)
    start_val = None
    if a.resume:
        start_val = evaluate(model, val_images, val_labels, freeze_bn=a.freeze_bn)
        print(f"train: resumed weights val_exact {start_val:.4f}", flush=True)

    started = time.time()
    best = -1.0
    step = 0
    log = []
    g = torch.Generator().manual_seed(a.seed)
    while step < total_steps:
        if step > 0:
            # Parts rendered since the last pass join the training set.
            images, labels = load(a.train)
            targets = [torch.tensor(encode_label(t), dtype=torch.long) for t in labels]
            n = len(images)
            steps_per_epoch = n // a.batch
            print(f"train: {n} crops now", flush=True)
        order = torch.randperm(n, generator=g)
        for k in range(steps_per_epoch):
            if step >= total_steps:
                break
            # The schedule runs on whichever is further along, steps or the time budget, so a
            # slow shared CPU still ends with an annealed model rather than a cut-off one.
            progress = max(step / total_steps, (time.time() - started) / (a.max_minutes * 60))
            if progress >= 1:
                print("train: budget reached", flush=True)
                step = total_steps
                break
            lr = a.lr * (progress / 0.05 if progress < 0.05 else 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (progress - 0.05) / 0.95)))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = order[k * a.batch : (k + 1) * a.batch]
            x = normalise(images[idx])
            tg = [targets[i] for i in idx.tolist()]
            target_lengths = torch.tensor([len(t) for t in tg], dtype=torch.long)
            flat = torch.cat(tg) if int(target_lengths.sum()) > 0 else torch.zeros(0, dtype=torch.long)
            logits = model(x)  # N T C
            log_probs = logits.log_softmax(-1).permute(1, 0, 2)  # T N C
            input_lengths = torch.full((len(idx),), log_probs.shape[0], dtype=torch.long)
            loss = ctc(log_probs, flat, input_lengths, target_lengths)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            if step % 200 == 0 or step == total_steps:
                elapsed = time.time() - started
                acc = evaluate(model, val_images, val_labels, freeze_bn=a.freeze_bn) if step % 1000 == 0 or step == total_steps else math.nan
                print(f"step {step}/{total_steps} lr {lr:.5f} loss {loss.item():.4f} val_exact {acc:.4f} {elapsed / 60:.1f} min", flush=True)
                log.append({"step": step, "loss": loss.item(), "val_exact": acc, "minutes": elapsed / 60})
                if not math.isnan(acc) and acc >= best:
                    best = acc
                    torch.save(model.state_dict(), a.out)
    final = evaluate(model, val_images, val_labels, freeze_bn=a.freeze_bn)
    if final >= best:
        best = final
        torch.save(model.state_dict(), a.out)
    minutes = (time.time() - started) / 60
    summary = {
        "parameters": params,
        "channels": model.channels,
        "head": model.head,
        "train_crops": n,
        "train_crops_seen": step * a.batch,
        "steps": step,
        "batch": a.batch,
        "epochs": a.epochs,
        "threads": a.threads,
        "resumed_from": a.resume,
        "resumed_val_exact": start_val,
        "freeze_bn": a.freeze_bn,
        "train": a.train,
        "lr": a.lr,
        "minutes": round(minutes, 1),
        "val_exact": best,
    }
    with open(a.out + ".json", "w") as f:
        json.dump({"summary": summary, "log": log}, f, indent=1)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
