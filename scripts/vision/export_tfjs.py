#!/usr/bin/python3
"""Exports a trained PlateReader (PyTorch state dict) to the TF.js layers format.

    /usr/bin/python3 scripts/vision/export_tfjs.py --weights tmp/vision/reader.pt --out models/plate-reader

Writes model.json (Keras topology + weights manifest) and group1-shard1of1.bin. Batch norm is
folded into the preceding convolution; kernels go from PyTorch's OIHW to TF's HWIO; the graph
runs NHWC, which gives the same numbers as PyTorch's NCHW. Also writes check.json: a few crops
with the PyTorch outputs, so tests can prove the TF.js model computes the same thing.
"""

import argparse
import json
import os

import numpy as np
import torch
from torch import nn

from plate_model import ALPHABET, BLANK, CROP_H, CROP_W, NUM_CLASSES, PlateReader, normalise


def fold(conv, bn):
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * scale[:, None, None, None]
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
    return w.permute(2, 3, 1, 0).float().numpy(), b.float().numpy()


def conv_layer(name, filters, kernel, padding, activation):
    return {
        "class_name": "Conv2D",
        "config": {
            "name": name,
            "trainable": False,
            "filters": filters,
            "kernel_size": list(kernel),
            "strides": [1, 1],
            "padding": padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": {"class_name": "Zeros", "config": {}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
        },
    }


def export(model, out_dir, meta):
    model.eval()
    mods = list(model.features) + list(model.collapse) + list(model.context) + [model.classify]
    layers = [
        {
            "class_name": "InputLayer",
            "config": {"batch_input_shape": [None, CROP_H, CROP_W, 1], "dtype": "float32", "sparse": False, "name": "crop"},
        }
    ]
    weights = []
    i = 0
    n_conv = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d):
            bn = mods[i + 1] if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d) else None
            relu = bn is not None and i + 2 < len(mods) and isinstance(mods[i + 2], nn.ReLU)
            kernel, bias = fold(m, bn)
            n_conv += 1
            name = f"conv{n_conv}"
            kh, kw = m.kernel_size
            ph, pw = m.padding
            padding = "same" if (ph, pw) == ((kh - 1) // 2, (kw - 1) // 2) and (ph or pw) else "valid"
            if kh == 1 and kw == 1:
                padding = "valid"
            layers.append(conv_layer(name, m.out_channels, (kh, kw), padding, "relu" if relu else "linear"))
            weights.append((f"{name}/kernel", kernel))
            weights.append((f"{name}/bias", bias))
            i += 1 + (bn is not None) + (1 if relu else 0)
        elif isinstance(m, nn.MaxPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
            layers.append(
                {
                    "class_name": "MaxPooling2D",
                    "config": {
                        "name": f"pool{len(layers)}",
                        "trainable": False,
                        "pool_size": list(k),
                        "strides": list(k),
                        "padding": "valid",
                        "data_format": "channels_last",
                    },
                }
            )
            i += 1
        else:
            raise SystemExit(f"export: unexpected module {m}")
    layers.append({"class_name": "Reshape", "config": {"name": "columns", "trainable": False, "target_shape": [CROP_W // 4, NUM_CLASSES]}})
    layers.append({"class_name": "Activation", "config": {"name": "softmax", "trainable": False, "activation": "softmax"}})

    os.makedirs(out_dir, exist_ok=True)
    blob = b"".join(np.ascontiguousarray(w, dtype="<f4").tobytes() for _, w in weights)
    with open(os.path.join(out_dir, "group1-shard1of1.bin"), "wb") as f:
        f.write(blob)
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": n, "shape": list(w.shape), "dtype": "float32"} for n, w in weights]}]
    model_json = {
        "format": "layers-model",
        "generatedBy": "zonegate scripts/vision/export_tfjs.py",
        "convertedBy": None,
        "modelTopology": {
            "class_name": "Sequential",
            "config": {"name": "plate_reader", "layers": layers},
            "keras_version": "2.15.0",
            "backend": "tensorflow",
        },
        "weightsManifest": manifest,
        "userDefinedMetadata": {
            "zonegate": {
                "input": {"height": CROP_H, "width": CROP_W, "channels": 1, "normalise": "per-crop (x - mean) / (std + 8)"},
                "alphabet": ALPHABET,
                "blank": BLANK,
                **meta,
            }
        },
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(model_json, f, indent=1)
    return len(blob)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", help="an .npz of crops to write reference outputs for (check.json)")
    ap.add_argument("--meta", help="a JSON file with figures to store in the model's metadata")
    a = ap.parse_args()
    state = torch.load(a.weights, map_location="cpu")
    model = PlateReader.for_state_dict(state)
    model.load_state_dict(state)
    meta = json.load(open(a.meta)) if a.meta else {}
    size = export(model, a.out, meta)
    print(f"export: {size} bytes of weights -> {a.out}")
    if a.check:
        d = np.load(a.check)
        imgs = torch.from_numpy(d["images"][:2])
        with torch.no_grad():
            probs = model.eval()(normalise(imgs)).softmax(-1)
        check = {"crops": [im.flatten().tolist() for im in imgs.numpy()], "probs": [[round(float(v), 5) for v in p.flatten()] for p in probs.numpy()]}
        with open(os.path.join(a.out, "check.json"), "w") as f:
            json.dump(check, f)


if __name__ == "__main__":
    main()
