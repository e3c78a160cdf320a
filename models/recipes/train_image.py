"""Ensemble emoji image generator: a conditional VAE trained on Noto Color Emoji glyphs (32x32 RGB)
labelled with their Unicode names. The condition is the L2-normalised output of the ensemble-embed
model for a caption (the name, or word subsets of it), so the decoder's input is exactly what the
runtime computes from a user's prompt. Only the decoder is exported: (text_embedding, noise) -> image."""
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
C, Z, S = 128, 32, 32
COND_SCALE = 11.3   # ~sqrt(128)
NOISE_SCALE = 0.8   # baked into the exported graph: z = 0.8 * noise
STOP = {"a", "an", "the", "with", "of", "and", "sign", "symbol"}


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(Z + C, 512), nn.SiLU(), nn.Linear(512, 128 * 4 * 4), nn.SiLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(128, 96, 4, 2, 1), nn.BatchNorm2d(96), nn.SiLU(),   # 8
            nn.ConvTranspose2d(96, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.SiLU(),    # 16
            nn.ConvTranspose2d(64, 48, 4, 2, 1), nn.BatchNorm2d(48), nn.SiLU(),    # 32
            nn.Conv2d(48, 3, 3, 1, 1))

    def forward(self, c, z):
        # the unit-norm 128-d condition is scaled so its entries are O(1) like the noise's
        h = self.fc(torch.cat([z, c * COND_SCALE], -1)).view(-1, 128, 4, 4)
        return self.net(h)   # logits


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.SiLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(64, 128, 4, 2, 1), nn.SiLU())
        self.fc = nn.Sequential(nn.Linear(128 * 16 + C, 256), nn.SiLU(), nn.Linear(256, 2 * Z))

    def forward(self, x, c):
        h = self.fc(torch.cat([self.conv(x).flatten(1), c], -1))
        return h[:, :Z], h[:, Z:]


class Exported(nn.Module):
    def __init__(self, dec):
        super().__init__()
        self.dec = dec

    def forward(self, text_embedding, noise):
        return torch.sigmoid(self.dec(text_embedding, noise * NOISE_SCALE))


def load_embedder():
    st = torch.load(os.path.join(WORK, "embed.pt"))
    return SIFEmbed(st["vectors"], st["weights"], st["pc"]).eval()


def embed(embedder, texts):
    ids = node_encode(os.path.join(MODELS, "embed", "tokenizer.json"), None, texts)
    out = []
    for i in range(0, len(ids), 512):
        a, m = encode_batch(ids[i:i + 512])
        with torch.no_grad():
            out.append(F.normalize(embedder(a, m), dim=-1))
    return torch.cat(out)


def main():
    args = training_args(4000, 64, 2e-3, beta=(float, 0.0, "KL weight of the conditional VAE; 0 = no encoder (the picture must come from the caption)"))
    seed_all(99, args.threads)
    os.makedirs(OUT, exist_ok=True)
    rnd = random.Random(99)
    t0 = time.time()
    imgs, names, cps = emoji_data.load(S)
    N = len(names)
    X = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    # captions: the full name, plus each content word alone and up to two random word subsets
    caps, owner = [], []
    for i, n in enumerate(names):
        words = PRETOK.findall(n)
        content = [w for w in words if w not in STOP and w.isalpha()]
        cs = [n]
        cs += sorted(set(content)) if len(content) > 1 else []
        for _ in range(2):
            if len(content) > 2:
                k = rnd.randint(2, len(content) - 1)
                cs.append(" ".join(sorted(rnd.sample(content, k), key=content.index)))
        for c in dict.fromkeys(cs):
            caps.append(c); owner.append(i)
    embedder = load_embedder()
    E = embed(embedder, caps)
    owner = torch.tensor(owner)
    full_idx = torch.tensor([caps.index(n) for n in names])   # first caption of each image is its name
    print(f"{N} images, {len(caps)} captions, embeds {time.time()-t0:.0f}s", flush=True)
    enc, dec = Encoder(), Decoder()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=args.lr)
    g = torch.Generator().manual_seed(99)
    step = 0
    for step in range(args.steps):
        lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        # half the batch uses full names, half uses word-subset captions
        b = torch.randint(0, len(caps), (args.batch,), generator=g)
        bf = full_idx[torch.randint(0, N, (args.batch // 2,), generator=g)]
        b = torch.cat([b[: args.batch - len(bf)], bf])
        c = E[b]
        c = F.normalize(c + 0.05 * torch.randn(c.shape, generator=g), dim=-1)
        x = X[owner[b]]
        if True:  # light augmentation: horizontal flip is wrong for arrows/text, so only 1px shifts
            dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        enc.train(); dec.train()
        if args.beta > 0:   # conditional VAE
            mu, lv = enc(x, c)
            z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * lv)
            kl = (-0.5 * (1 + lv - mu.pow(2) - lv.exp())).sum(1).mean()
        else:               # --beta 0: conditional regression, latent = prior noise independent of the image
            z = torch.randn(x.shape[0], Z, generator=g)
            kl = torch.zeros(())
        logits = dec(c, z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        beta = args.beta * min(1.0, step / max(1, args.steps * 0.3))
        loss = rec + beta * kl
        opt.zero_grad(); loss.backward(); opt.step()
        if step % 100 == 0:
            print(f"step {step} rec {rec.item():.1f} kl {kl.item():.2f} {time.time()-t0:.0f}s", flush=True)
        if args.time_budget and time.time() - t0 > args.time_budget:
            break
    train_s = time.time() - t0
    model = Exported(dec).eval()
    torch.save(dec.state_dict(), os.path.join(WORK, "emoji-image.pt"))
    # ---- metric: generate from each name's embedding, nearest training image (MSE)
    flat = X.flatten(1)
    def nearest(gen):
        d = torch.cdist(gen.flatten(1), flat)
        return d.argsort(1)[:, :5]
    with torch.no_grad():
        g0 = model(E[full_idx], torch.zeros(N, Z))
        gr = model(E[full_idx], torch.randn(N, Z, generator=g))
    res = {}
    for tag, gen in (("noise0", g0), ("noise_random", gr)):
        nn5 = nearest(gen)
        ar = torch.arange(N)
        res[tag] = {"top1": float((nn5[:, 0] == ar).float().mean()), "top5": float((nn5 == ar[:, None]).any(1).float().mean())}
    # shuffled-condition control: same generator, condition from a random other name
    perm = torch.randperm(N, generator=g)
    with torch.no_grad():
        gs = model(E[full_idx][perm], torch.zeros(N, Z))
    nn5 = nearest(gs)
    res["control_shuffled_condition"] = {"top1": float((nn5[:, 0] == torch.arange(N)).float().mean())}
    res["chance_top1"], res["chance_top5"] = 1.0 / N, 5.0 / N
    prompts = ["a cat under the moon", "a red heart", "a happy face", "a dog", "the sun", "a tree", "fire", "a car"]
    with torch.no_grad():
        pe = embed(embedder, prompts)
        pg = model(pe, torch.zeros(len(prompts), Z))
        pz = model(pe.repeat_interleave(4, 0), torch.randn(len(prompts) * 4, Z, generator=g))
    nnp = nearest(pg)
    res["prompts_nearest_training_names"] = {p: [names[j] for j in nnp[k, :3].tolist()] for k, p in enumerate(prompts)}
    # preview: rows = prompts; col 0 noise 0, cols 1-4 random noise
    grid = torch.cat([pg.unsqueeze(1), pz.view(len(prompts), 4, 3, S, S)], 1)   # [P,5,3,S,S]
    grid = grid.permute(0, 3, 1, 4, 2).reshape(len(prompts) * S, 5 * S, 3)
    from PIL import Image
    Image.fromarray((grid.numpy() * 255).round().astype(np.uint8)).resize((5 * S * 2, len(prompts) * S * 2), Image.NEAREST).save(os.path.join(OUT, "preview.png"))
    report = {"images": N, "captions": len(caps), "steps": step + 1, "train_seconds": round(train_s, 1),
              "decoder_params": sum(p.numel() for p in dec.parameters()), "metrics": res, "preview_prompts": prompts}
    print(json.dumps(report, indent=1))
    write_json(os.path.join(WORK, "emoji-image-report.json"), report, indent=1)
    # ---- ONNX
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    torch.onnx.export(model, (E[:2], torch.randn(2, Z)), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["text_embedding", "noise"], output_names=["image"],
                      dynamic_axes={"text_embedding": {0: "batch_size"}, "noise": {0: "batch_size"}, "image": {0: "batch_size"}},
                      opset_version=14)
    # ---- fixture
    fe = embed(embedder, ["a cat under the moon"])
    fz = torch.randn(1, Z, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        im = model(fe, fz)
    fx = {"modelId": "ensemble-emoji-image", "caption": "a cat under the moon",
          "text_embedding": [[round(float(v), 7) for v in fe[0]]], "noise": [[round(float(v), 7) for v in fz[0]]],
          "note": "image_slice = image[0, :, 12:16, 12:16] (channels x rows x cols); image_mean = mean of the whole "
                  "image. Tolerance abs 1e-3.",
          "image_slice": [[[round(float(v), 5) for v in row] for row in ch] for ch in im[0, :, 12:16, 12:16]],
          "image_mean": float(im.mean()), "image_shape": list(im.shape)}
    write_json(os.path.join(MODELS, "fixtures", "ensemble-emoji-image.json"), fx)


if __name__ == "__main__":
    main()
