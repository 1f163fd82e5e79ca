"""The plate reader network, shared by training and export.

A fully convolutional CTC reader: a 32x128 greyscale crop goes through four 3x3 conv blocks
(batch norm folded away at export) that pool the height to 4 and the width to 32; a (4,1) conv
collapses the height, a (1,5) conv gives each of the 32 columns the context of its neighbours,
and a 1x1 conv gives 38 scores per column: CTC blank, 0-9, A-Z and the dash. No recurrent layer:
every op is a plain TF.js layer that the WASM backend runs fast.
"""

import torch
from torch import nn

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
BLANK = 0
NUM_CLASSES = len(ALPHABET) + 1
CROP_H, CROP_W = 32, 128

# (out_channels, pool after the block): None, (2, 2) or (2, 1)
BLOCKS = [(12, (2, 2)), (24, (2, 2)), (32, (2, 1)), (48, None)]
HEAD = 64


class PlateReader(nn.Module):
    """channels: the four conv blocks' widths (default BLOCKS'); head: the width after the height collapses."""

    def __init__(self, channels=None, head=HEAD):
        super().__init__()
        channels = list(channels) if channels else [c for c, _ in BLOCKS]
        if len(channels) != len(BLOCKS):
            raise ValueError(f"PlateReader: {len(BLOCKS)} block widths needed, got {channels}")
        self.channels, self.head = channels, head
        layers = []
        c_in = 1
        for c_out, (_, pool) in zip(channels, BLOCKS):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(pool))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.collapse = nn.Sequential(nn.Conv2d(c_in, head, (4, 1), bias=False), nn.BatchNorm2d(head), nn.ReLU(inplace=True))
        self.context = nn.Sequential(
            nn.Conv2d(head, head, (1, 5), padding=(0, 2), bias=False), nn.BatchNorm2d(head), nn.ReLU(inplace=True)
        )
        self.classify = nn.Conv2d(head, NUM_CLASSES, 1)

    @classmethod
    def for_state_dict(cls, state):
        """A PlateReader of the widths a saved state dict has (train.py --channels/--head)."""
        convs = [k for k in state if k.startswith("features.") and k.endswith(".weight") and state[k].dim() == 4]
        convs.sort(key=lambda k: int(k.split(".")[1]))
        return cls([int(state[k].shape[0]) for k in convs], int(state["classify.weight"].shape[1]))

    def forward(self, x):
        """x: N x 1 x 32 x 128, normalised per crop. Returns N x 32 x NUM_CLASSES logits."""
        y = self.classify(self.context(self.collapse(self.features(x))))
        return y.squeeze(2).permute(0, 2, 1)


def normalise(batch_uint8):
    """Per-crop standardisation, the same as src/vision/reader.ts does before inference."""
    x = batch_uint8.float()
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True)
    return ((x - mean) / (std + 8.0)).unsqueeze(1)


def encode_label(text):
    return [ALPHABET.index(c) + 1 for c in text]


def greedy_decode(logits):
    """logits T x C -> (text, per-character probabilities)."""
    probs = logits.softmax(-1)
    best = probs.argmax(-1).tolist()
    out, conf = [], []
    prev = BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != prev:
            out.append(ALPHABET[k - 1])
            conf.append(float(probs[t, k]))
        elif k != BLANK and k == prev:
            conf[-1] = max(conf[-1], float(probs[t, k]))
        prev = k
    return "".join(out), conf
