#!/usr/bin/python3
"""Renders text with DejaVu Sans (Debian fonts-dejavu-core) and writes the PP-OCR model inputs
for the parity tests, preprocessed the way PaddleOCR does; or writes a sample PNG.

Usage:
  /usr/bin/python3 tools/ocr_inputs.py tensors OUTDIR   -> OUTDIR/{det,rec,cls}/x.npy
  /usr/bin/python3 tools/ocr_inputs.py sample FILE.png  -> the demo image (text in SAMPLE_LINES)

det: 1x3x320x320, three lines of text on white, (x/255 - ImageNet mean) / ImageNet std.
rec: 1x3x48x320, one line of text, x/127.5 - 1.
cls: 1x3x48x192, one line of text, x/127.5 - 1.
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SAMPLE_LINES = ("Hello edgerun", "PP-OCRv4 runs on CPU", "Total: 42.50 EUR")
DET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def render(lines, width, height, font_size, margin=8, spacing=1.5):
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, font_size)
    for i, line in enumerate(lines):
        draw.text((margin, margin + int(i * font_size * spacing)), line, fill="black", font=font)
    return img


def to_chw(img):
    return np.asarray(img, dtype=np.float32).transpose(2, 0, 1)[None]


def det_tensor():
    x = to_chw(render(SAMPLE_LINES[:3], 320, 320, 24)) / 255.0
    return ((x - DET_MEAN[None, :, None, None]) / DET_STD[None, :, None, None]).astype(np.float32)


def line_tensor(text, width):
    return (to_chw(render([text], width, 48, 28, margin=6)) / 127.5 - 1.0).astype(np.float32)


def write_tensors(outdir):
    tensors = {"det": det_tensor(), "rec": line_tensor("Hello edgerun 2024", 320), "cls": line_tensor("Total 42.50", 192)}
    for name, x in tensors.items():
        os.makedirs(os.path.join(outdir, name), exist_ok=True)
        np.save(os.path.join(outdir, name, "x.npy"), x)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("tensors", "sample"):
        sys.exit(__doc__)
    if sys.argv[1] == "tensors":
        write_tensors(sys.argv[2])
    else:
        render(SAMPLE_LINES, 640, 200, 40, margin=20).save(sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
