#!/usr/bin/python3
"""Imports a TF.js plate reader (export_tfjs.py's output) back into a PyTorch PlateReader.

    /usr/bin/python3 scripts/vision/import_tfjs.py --model models/plate-reader --out tmp/vision/imported.pt

The export folds batch norm into the convolutions, so the TF.js model holds, per conv, one HWIO
kernel and one bias. Importing puts the kernel back into the (bias-free) PyTorch conv as OIHW and
turns the batch norm after it into an identity that adds the bias: weight 1, running_mean 0,
running_var 1 - eps (so sqrt(var + eps) = 1), bias = the folded bias. The last conv (classify)
has its own bias. In eval mode the imported network computes what the TF.js model computes;
export_tfjs.py folds it back to the same numbers. Fine-tuning from it must keep batch norm in
eval mode (train.py --freeze-bn): in train mode it would normalise by batch statistics that the
folded weights were never trained with.

With --check (default: the model's own check.json) the imported network's outputs on the check
crops are compared with the stored ones; the import fails if they differ by 1e-3 or more.
"""

import argparse
import json
import os

import numpy as np
import torch
from torch import nn

from plate_model import PlateReader, normalise


def convs_in_order(model):
    """(conv, batch norm after it or None), in the order export_tfjs.py numbers them conv1..convN."""
    mods = list(model.features) + list(model.collapse) + list(model.context) + [model.classify]
    out = []
    for i, m in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            bn = mods[i + 1] if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d) else None
            out.append((m, bn))
    return out


def load_tfjs(model_dir):
    """{weight name: float32 array} from model.json's manifest and its shard(s)."""
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    weights = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w["dtype"] != "float32":
                raise SystemExit(f"import: {w['name']} is {w['dtype']}, only float32 is supported")
            n = int(np.prod(w["shape"]))
            weights[w["name"]] = np.frombuffer(blob, dtype="<f4", count=n, offset=offset).reshape(w["shape"]).copy()
            offset += 4 * n
        if offset != len(blob):
            raise SystemExit(f"import: manifest covers {offset} of {len(blob)} bytes")
    return weights


def import_model(model_dir):
    weights = load_tfjs(model_dir)
    # The widths of the four conv blocks and of the head, from the kernels' output channels (HWIO).
    try:
        model = PlateReader([weights[f"conv{k}/kernel"].shape[3] for k in range(1, 5)], weights["conv5/kernel"].shape[3])
    except KeyError as e:
        raise SystemExit(f"import: no {e} in the model")
    pairs = convs_in_order(model)
    if len(weights) != 2 * len(pairs):
        raise SystemExit(f"import: {len(weights)} tensors, the network needs {2 * len(pairs)}")
    with torch.no_grad():
        for k, (conv, bn) in enumerate(pairs, start=1):
            kernel = torch.from_numpy(weights[f"conv{k}/kernel"]).permute(3, 2, 0, 1)  # HWIO -> OIHW
            bias = torch.from_numpy(weights[f"conv{k}/bias"])
            if kernel.shape != conv.weight.shape:
                raise SystemExit(f"import: conv{k} kernel {tuple(kernel.shape)}, expected {tuple(conv.weight.shape)}")
            conv.weight.copy_(kernel)
            if bn is None:
                conv.bias.copy_(bias)
            else:
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
    return model.eval()


def check(model, check_path):
    """Max abs difference between the model's softmax outputs and those stored in check.json."""
    with open(check_path) as f:
        c = json.load(f)
    crops = torch.tensor(c["crops"], dtype=torch.uint8).reshape(-1, 32, 128)
    with torch.no_grad():
        probs = model.eval()(normalise(crops)).softmax(-1).reshape(len(crops), -1)
    return float((probs - torch.tensor(c["probs"])).abs().max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/plate-reader", help="TF.js model directory (model.json + shard)")
    ap.add_argument("--out", required=True, help="PyTorch state dict to write (train.py --resume, export_tfjs.py --weights)")
    ap.add_argument("--check", help="check.json to compare with (default: the model's own)")
    a = ap.parse_args()
    model = import_model(a.model)
    check_path = a.check or os.path.join(a.model, "check.json")
    if os.path.exists(check_path):
        diff = check(model, check_path)
        print(f"import: max diff {diff:.2e} against {check_path}")
        if diff >= 1e-3:
            raise SystemExit("import: outputs differ from check.json")
    torch.save(model.state_dict(), a.out)
    print(f"import: {sum(p.numel() for p in model.parameters())} parameters -> {a.out}")


if __name__ == "__main__":
    main()
