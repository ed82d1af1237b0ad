#!/usr/bin/python3
"""Renders images of known text for OCR tests and demos.

  render_text.py set OUT_DIR [--count N] [--seed S]
      N images (img_000.png ...) with their text in img_000.txt, one line per text line,
      varying font, size, line count, rotation (within +-5 degrees) and light/dark colours.
  render_text.py one OUT.png "first line" ["second line" ...] [--size PX] [--font NAME]
                 [--angle DEG] [--dark] [--margin PX]
      one image of the given lines.
"""
import argparse
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "condensed": "DejaVuSansCondensed.ttf",
}

WORDS = (
    "the quick brown fox jumps over lazy dog edge inference engine model image text line "
    "runtime kernel tensor memory thread layer graph input output batch scale shift weight "
    "camera sensor device battery power signal window table chair paper river mountain "
    "garden market station ticket coffee morning evening window yellow orange purple silver "
    "Monday Friday April October London Paris Berlin Tokyo Oslo Lisbon Total Invoice Order "
    "Price Amount Street Road Avenue Room Floor Open Closed Exit Entrance Hello World"
).split()


def load_font(name, size):
    path = os.path.join(FONT_DIR, FONTS[name])
    return ImageFont.truetype(path, size)


def render(lines, size=28, font="sans", angle=0.0, dark=False, margin=None, line_gap=0.8):
    """Image (RGB) of the lines stacked top to bottom, then rotated by angle degrees."""
    f = load_font(font, size)
    margin = size if margin is None else margin
    boxes = [f.getbbox(t) for t in lines]
    width = max(b[2] for b in boxes) + 2 * margin
    step = int(size * (1 + line_gap))
    height = step * (len(lines) - 1) + size + 2 * margin + size // 3
    bg, fg = ((25, 30, 40), (235, 235, 225)) if dark else ((250, 250, 245), (20, 20, 30))
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((margin, margin + i * step), text, font=f, fill=fg)
    if angle:
        img = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=bg)
    return img


def random_line(rng):
    n = rng.randint(2, 5)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, n), str(rng.randint(1, 9999)))
    if rng.random() < 0.2:
        words[0] = words[0].capitalize()
    return " ".join(words)


def make_set(out_dir, count, seed):
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        lines = [random_line(rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        angle = rng.choice([0, 0, 0, rng.uniform(-5, 5)])
        img = render(lines, size=rng.choice([20, 24, 28, 32, 40, 48]),
                     font=rng.choice(sorted(FONTS)), angle=angle, dark=rng.random() < 0.3)
        base = os.path.join(out_dir, "img_%03d" % i)
        img.save(base + ".png")
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("set")
    s.add_argument("out_dir")
    s.add_argument("--count", type=int, default=50)
    s.add_argument("--seed", type=int, default=1)
    o = sub.add_parser("one")
    o.add_argument("out")
    o.add_argument("lines", nargs="+")
    o.add_argument("--size", type=int, default=28)
    o.add_argument("--font", choices=sorted(FONTS), default="sans")
    o.add_argument("--angle", type=float, default=0.0)
    o.add_argument("--dark", action="store_true")
    o.add_argument("--margin", type=int)
    a = ap.parse_args()
    if a.cmd == "set":
        make_set(a.out_dir, a.count, a.seed)
    else:
        render(a.lines, a.size, a.font, a.angle, a.dark, a.margin).save(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
