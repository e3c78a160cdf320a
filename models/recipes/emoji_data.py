"""Renders the colour emoji of Noto Color Emoji (OFL-1.1) to small RGB images labelled with their
Unicode names (lowercased), cached in models/.work/."""
import os, sys, unicodedata
import numpy as np
from PIL import Image, ImageDraw, ImageFont
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import WORK

FONT = os.environ.get("ENSEMBLE_EMOJI_FONT", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
RANGES = [(0x2190, 0x2BFF), (0x1F000, 0x1FAFF), (0x00A9, 0x00AE), (0x203C, 0x2049), (0x2122, 0x2139)]
SKIP = set(range(0x1F3FB, 0x1F400)) | set(range(0x1F1E6, 0x1F200))   # skin-tone modifiers, regional indicators


def _render(font, ch):
    im = Image.new("RGBA", (136, 128), (255, 255, 255, 0))
    d = ImageDraw.Draw(im)
    try:
        d.text((0, 0), ch, font=font, embedded_color=True)
    except Exception:
        return None
    return im


def load(size=32):
    cache = os.path.join(WORK, f"emoji{size}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["images"], list(z["names"]), list(z["codepoints"])
    font = ImageFont.truetype(FONT, 109)
    notdef = np.asarray(_render(font, "\U000E0000"))   # a code point the font lacks
    imgs, names, cps = [], [], []
    for lo, hi in RANGES:
        for cp in range(lo, hi + 1):
            if cp in SKIP:
                continue
            ch = chr(cp)
            name = unicodedata.name(ch, "")
            if not name:
                continue
            im = _render(font, ch)
            if im is None:
                continue
            a = np.asarray(im)
            if a[..., 3].max() == 0 or np.array_equal(a, notdef):
                continue
            # crop to the glyph's bounding box, pad to square, composite on white, downscale
            bbox = im.getbbox()
            im = im.crop(bbox)
            w, h = im.size
            s = max(w, h)
            sq = Image.new("RGBA", (s, s), (255, 255, 255, 0))
            sq.paste(im, ((s - w) // 2, (s - h) // 2))
            bg = Image.new("RGBA", (s, s), (255, 255, 255, 255))
            rgb = Image.alpha_composite(bg, sq).convert("RGB").resize((size, size), Image.LANCZOS)
            imgs.append(np.asarray(rgb, dtype=np.uint8))
            names.append(name.lower())
            cps.append(cp)
    imgs = np.stack(imgs)
    np.savez_compressed(cache, images=imgs, names=np.array(names), codepoints=np.array(cps))
    return imgs, names, cps


if __name__ == "__main__":
    imgs, names, cps = load()
    print(imgs.shape, names[:10], names[-5:])
