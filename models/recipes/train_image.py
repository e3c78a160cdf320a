"""Ensemble emoji image generator: text embedding + noise -> 64x64 RGB, trained on Noto Color Emoji
glyphs labelled with their Unicode names. The condition is the L2-normalised output of the
ensemble-embed model for a caption, i.e. exactly what the runtime computes from a user's prompt.

The exported graph has two stages:
1. Concept sampling (no learned weights): the caption embedding is compared with every emoji
   name's embedding; among the names within SELECT_WINDOW of the best cosine, one is drawn with
   probability ~ exp(cosine / SELECT_TAU) by Gumbel-max, the Gumbel variables coming from the
   `noise` input (Phi(noise . r_j) for fixed random unit vectors r_j). So a seed picks one of the
   emoji a caption fits ("a cat" -> the cat faces, the cat, the lion ...), zero noise picks the
   best fit, and a full emoji name still gives that emoji.
2. A conditional decoder (trained here by per-pixel regression) renders normalize(caption +
   NAME_WEIGHT * chosen name) to 64x64.
Only the exported graph is needed at runtime: (text_embedding, noise) -> image.
"""
import json, os, random, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from common import MODELS, WORK, node_encode, seed_all, training_args, write_json
import emoji_data
from train_embed import SIFEmbed, encode_batch, PRETOK

OUT = os.path.join(MODELS, "emoji-image")
C, Z, S = 128, 32, 64
COND_SCALE = 11.3      # ~sqrt(128): unit-norm condition entries become O(1)
NAME_WEIGHT = 2.0      # decoder input = normalize(caption + NAME_WEIGHT * sampled name)
SELECT_TAU = 0.05      # sampling temperature over name cosines
SELECT_WINDOW = 0.15   # only names within this cosine of the best one can be drawn
STOP = {"a", "an", "the", "with", "of", "and", "sign", "symbol"}


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(C, 512), nn.SiLU(), nn.Linear(512, 160 * 4 * 4), nn.SiLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(160, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.SiLU(),   # 8
            nn.ConvTranspose2d(128, 96, 4, 2, 1), nn.BatchNorm2d(96), nn.SiLU(),     # 16
            nn.ConvTranspose2d(96, 48, 4, 2, 1), nn.BatchNorm2d(48), nn.SiLU(),      # 32
            nn.Upsample(scale_factor=2, mode="nearest"),                             # 64
            nn.Conv2d(48, 24, 3, 1, 1), nn.BatchNorm2d(24), nn.SiLU(),
            nn.Conv2d(24, 3, 3, 1, 1))

    def forward(self, h):
        return self.net(self.fc(h * COND_SCALE).view(-1, 160, 4, 4))   # logits


def mix(caption, name):
    return F.normalize(caption + NAME_WEIGHT * name, dim=-1)


class Exported(nn.Module):
    """(text_embedding [B,128], noise [B,32]) -> image [B,3,64,64] in [0,1]."""
    def __init__(self, dec, name_table, seed=7):
        super().__init__()
        self.dec = dec
        self.register_buffer("names", name_table)                          # [N,128], unit rows
        r = torch.randn(Z, name_table.shape[0], generator=torch.Generator().manual_seed(seed))
        self.register_buffer("proj", r / r.norm(dim=0, keepdim=True))     # unit columns: noise.r_j ~ N(0,1)

    def forward(self, text_embedding, noise):
        sim = torch.matmul(text_embedding, self.names.t())                 # [B,N]
        best = sim.max(dim=-1, keepdim=True).values
        u = 0.5 * (1 + torch.erf(torch.matmul(noise, self.proj) * 0.7071067811865476))
        u = u.clamp(1e-6, 1 - 1e-6)
        gumbel = -torch.log(-torch.log(u))
        score = torch.where(sim >= best - SELECT_WINDOW, sim / SELECT_TAU + gumbel, torch.full_like(sim, -1e9))
        chosen = self.names[score.argmax(dim=-1)]                          # [B,128]
        return torch.sigmoid(self.dec(mix(text_embedding, chosen)))


def load_embedder():
    """The ensemble-embed weights: train_embed.py's .work/embed.pt, else the committed ONNX graph's."""
    path = os.path.join(WORK, "embed.pt")
    if os.path.exists(path):
        st = torch.load(path)
        return SIFEmbed(st["vectors"], st["weights"], st["pc"]).eval()
    import onnx
    from onnx import numpy_helper
    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(MODELS, "embed", "onnx", "model.onnx")).graph.initializer}
    pc = [v for k, v in init.items() if v.shape == (1, C)][0][0]
    return SIFEmbed(init["vectors"], init["weights"], pc).eval()


def embed(embedder, texts):
    ids = node_encode(os.path.join(MODELS, "embed", "tokenizer.json"), None, texts)
    out = []
    for i in range(0, len(ids), 512):
        a, m = encode_batch(ids[i:i + 512])
        with torch.no_grad():
            out.append(F.normalize(embedder(a, m), dim=-1))
    return torch.cat(out)


def captions_of(names, rnd):
    """Captions per image: the full name, each content word alone and up to two word subsets."""
    caps, owner = [], []
    for i, n in enumerate(names):
        content = [w for w in PRETOK.findall(n) if w not in STOP and w.isalpha()]
        cs = [n] + (sorted(set(content)) if len(content) > 1 else [])
        for _ in range(2):
            if len(content) > 2:
                k = rnd.randint(2, len(content) - 1)
                cs.append(" ".join(sorted(rnd.sample(content, k), key=content.index)))
        for c in dict.fromkeys(cs):
            caps.append(c); owner.append(i)
    return caps, owner


def main():
    args = training_args(1500, 32, 2e-3)
    seed_all(99, args.threads)
    os.makedirs(OUT, exist_ok=True)
    rnd = random.Random(99)
    t0 = time.time()
    imgs, names, cps = emoji_data.load(S)
    N = len(names)
    X = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    caps, owner = captions_of(names, rnd)
    embedder = load_embedder()
    E = embed(embedder, caps)
    owner = torch.tensor(owner)
    full_idx = torch.tensor([caps.index(n) for n in names])   # first caption of each image is its name
    name_table = E[full_idx].clone()
    print(f"{N} images, {len(caps)} captions, embeds {time.time()-t0:.0f}s", flush=True)
    dec = Decoder()
    opt = torch.optim.Adam(dec.parameters(), lr=args.lr)
    g = torch.Generator().manual_seed(99)
    step = 0
    for step in range(args.steps):
        lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        # half the batch uses full names, half word-subset captions; the target is the owner image
        b = torch.randint(0, len(caps), (args.batch,), generator=g)
        bf = full_idx[torch.randint(0, N, (args.batch // 2,), generator=g)]
        b = torch.cat([b[: args.batch - len(bf)], bf])
        c = F.normalize(E[b] + 0.03 * torch.randn(E[b].shape, generator=g), dim=-1)
        h = mix(c, name_table[owner[b]])
        x = X[owner[b]]
        dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()   # 1px shifts (no flips: arrows, text)
        x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        dec.train()
        rec = F.binary_cross_entropy_with_logits(dec(h), x, reduction="sum") / x.shape[0]
        opt.zero_grad(); rec.backward(); opt.step()
        if step % 100 == 0:
            print(f"step {step} rec {rec.item():.1f} {time.time()-t0:.0f}s", flush=True)
        if args.time_budget and time.time() - t0 > args.time_budget:
            break
    train_s = time.time() - t0
    dec.eval()
    torch.save({"decoder": dec.state_dict(), "names": name_table}, os.path.join(WORK, "emoji-image.pt"))
    model = Exported(dec, name_table).eval()
    report = {"images": N, "captions": len(caps), "steps": step + 1, "train_seconds": round(train_s, 1),
              "decoder_params": sum(p.numel() for p in dec.parameters()), "metrics": check(model, X, E, full_idx, names, embedder, g)}
    print(json.dumps(report, indent=1))
    write_json(os.path.join(WORK, "emoji-image-report.json"), report, indent=1)
    export(model, E)
    write_fixture(model, embedder)


def check(model, X, E, full_idx, names, embedder, g):
    """Each name's own caption -> nearest training image (pixel L2); preview of free prompts."""
    N = len(names)
    flat = X.flatten(1)
    nearest = lambda gen: torch.cdist(gen.flatten(1), flat).argsort(1)[:, :5]
    res = {}
    with torch.no_grad():
        for tag, noise in (("noise0", torch.zeros(N, Z)), ("noise_random", torch.randn(N, Z, generator=g))):
            nn5 = nearest(torch.cat([model(E[full_idx][i:i + 256], noise[i:i + 256]) for i in range(0, N, 256)]))
            ar = torch.arange(N)
            res[tag] = {"top1": float((nn5[:, 0] == ar).float().mean()), "top5": float((nn5 == ar[:, None]).any(1).float().mean())}
    res["chance_top1"], res["chance_top5"] = 1.0 / N, 5.0 / N
    prompts = ["a cat under the moon", "a red heart", "a happy face", "a dog", "the sun", "a tree", "fire", "a car"]
    with torch.no_grad():
        pe = embed(embedder, prompts)
        pg = model(pe, torch.zeros(len(prompts), Z))
        pz = model(pe.repeat_interleave(4, 0), torch.randn(len(prompts) * 4, Z, generator=g))
    res["prompts_nearest_training_names"] = {p: [names[j] for j in nearest(pg)[k, :3].tolist()] for k, p in enumerate(prompts)}
    res["preview_prompts"] = prompts
    grid = torch.cat([pg.unsqueeze(1), pz.view(len(prompts), 4, 3, S, S)], 1)   # [P,5,3,S,S]
    grid = grid.permute(0, 3, 1, 4, 2).reshape(len(prompts) * S, 5 * S, 3)
    from PIL import Image
    Image.fromarray((grid.numpy() * 255).round().astype(np.uint8)).save(os.path.join(OUT, "preview.png"), optimize=True)
    return res


def export(model, E):
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    torch.onnx.export(model, (E[:2], torch.randn(2, Z)), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["text_embedding", "noise"], output_names=["image"],
                      dynamic_axes={"text_embedding": {0: "batch_size"}, "noise": {0: "batch_size"}, "image": {0: "batch_size"}},
                      opset_version=14)
    pin_image_size(os.path.join(OUT, "onnx", "model.onnx"))


def pin_image_size(path):
    """The exporter leaves the output's spatial dims symbolic (they pass through ArgMax/Gather);
    the manifest check and write_manifest.py read the size from the graph, so pin them to S."""
    import onnx
    m = onnx.load(path)
    for d in m.graph.output[0].type.tensor_type.shape.dim[2:]:
        d.Clear(); d.dim_value = S
    onnx.save(m, path)


def write_fixture(model, embedder):
    fe = embed(embedder, ["a cat under the moon"])
    fz = torch.randn(1, Z, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        im = model(fe, fz)
    fx = {"modelId": "ensemble-emoji-image", "caption": "a cat under the moon",
          "text_embedding": [[round(float(v), 7) for v in fe[0]]], "noise": [[round(float(v), 7) for v in fz[0]]],
          "note": "image_slice = image[0, :, 28:32, 28:32] (channels x rows x cols); image_mean = mean of the whole "
                  "image. Tolerance abs 1e-3.",
          "slice_origin": [28, 28],
          "image_slice": [[[round(float(v), 5) for v in row] for row in ch] for ch in im[0, :, 28:32, 28:32]],
          "image_mean": float(im.mean()), "image_shape": list(im.shape)}
    write_json(os.path.join(MODELS, "fixtures", "ensemble-emoji-image.json"), fx)


if __name__ == "__main__":
    main()
