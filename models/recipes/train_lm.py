"""Trains the Ensemble story LM (Llama-style, ~2.6M params) on the story corpora, evaluates held-out
perplexity against bigram baselines on the same token split, exports ONNX with KV cache, and writes
the test fixture. Token ids come from @huggingface/tokenizers (node tok.mjs), i.e. the runtime's
own tokenizer."""
import json, math, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torch.nn.functional as F
from common import MODELS, WORK, node_encode, node_encode_stream, seed_all, training_args, write_json
from books import load_all_docs
from lm_model import StoryLM, export_onnx

OUT = os.path.join(MODELS, "story-lm")
CFG = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"],
    "vocab_size": 8192, "hidden_size": 192, "intermediate_size": 512,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 48,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "hidden_act": "silu", "tie_word_embeddings": True,
    "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "torch_dtype": "float32",
}
# Share of training windows per corpus. The books are most of the tokens (14M of 14.7M); the small
# corpora keep a fixed share so their style (and today's held-out split) is not drowned out.
MIX = {"books": 0.58, "tinystories": 0.12, "sherlock": 0.1, "shakespeare": 0.2}
# Checkpoint selection looks at every held-out token of the small corpora plus this many tokens of
# the held-out books (evenly spaced slices), so an evaluation stays cheap.
BOOKS_VALIDATION_TOKENS = 32768


def streams():
    """{corpus: (train_ids, heldout_ids)}: `<s> doc </s>` concatenated, runtime tokenizer ids."""
    docs = load_all_docs()
    tj = os.path.join(OUT, "tokenizer.json")
    return {k: (node_encode_stream(tj, tr), node_encode_stream(tj, ho)) for k, (tr, ho) in sorted(docs.items())}


def validation_slice(stream, n_tokens, n_slices=8):
    """n_slices evenly spaced pieces of the stream, n_tokens in all."""
    step, size = len(stream) // n_slices, n_tokens // n_slices
    return np.concatenate([stream[i * step:i * step + size] for i in range(n_slices)])


def eval_windows(stream, T):
    """Non-overlapping windows of T+1 tokens with stride T: every token but the first is predicted
    exactly once (the last partial window is kept)."""
    ws = []
    for s in range(0, len(stream) - 1, T):
        ws.append(stream[s:s + T + 1])
    return ws


@torch.no_grad()
def lm_nll(model, stream, T):
    tot, n = 0.0, 0
    for w in eval_windows(stream, T):
        x = torch.from_numpy(w).unsqueeze(0)
        logits, _ = model(x[:, :-1])
        tot += F.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        n += x.shape[1] - 1
    return tot, n


def bigram_nll(train_streams, test_stream, V):
    """Add-one and interpolated bigram baselines; pair counts are kept sparse (V*V is too big)."""
    tr = np.concatenate(train_streams)
    codes, counts = np.unique(tr[:-1] * V + tr[1:], return_counts=True)
    uni = np.bincount(tr, minlength=V).astype(np.float64)
    ctx = np.bincount(tr[:-1], minlength=V).astype(np.float64)
    a, b = test_stream[:-1], test_stream[1:]
    q = a * V + b
    idx = np.clip(np.searchsorted(codes, q), 0, len(codes) - 1)
    pair = np.where(codes[idx] == q, counts[idx], 0).astype(np.float64)
    res = {}
    p_add1 = (pair + 1) / (ctx[a] + V)
    res["add_one"] = float(-np.log(p_add1).sum())
    p_uni = (uni[b] + 1) / (uni.sum() + V)
    best = None
    for lam in [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]:
        p_bi = np.where(ctx[a] > 0, pair / np.maximum(ctx[a], 1), 0.0)
        nll = float(-np.log(lam * p_bi + (1 - lam) * p_uni).sum())
        if best is None or nll < best[0]:
            best = (nll, lam)
    res["interpolated"], res["interpolated_lambda"] = best
    return res, len(b)


def main():
    args = training_args(3000, 16, 3e-3, seq=(int, 256, "tokens per training sequence"), eval_every=(int, 250, "steps between held-out evaluations"),
                         layers=(int, CFG["num_hidden_layers"], "decoder layers"), hidden=(int, CFG["hidden_size"], "hidden size"),
                         heads=(int, CFG["num_attention_heads"], "attention heads"), ffn=(int, CFG["intermediate_size"], "SwiGLU width"),
                         measure=(float, 0, "only measure training tokens/s for this many seconds, then exit"))
    seed_all(1234, args.threads)
    CFG.update({"num_hidden_layers": args.layers, "hidden_size": args.hidden, "num_attention_heads": args.heads,
                "num_key_value_heads": args.heads, "head_dim": args.hidden // args.heads, "intermediate_size": args.ffn})
    if not args.measure:
        write_json(os.path.join(OUT, "config.json"), CFG, indent=2)
    st = streams()
    rng = np.random.default_rng(1234)
    model = StoryLM(CFG)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params {nparams}", {k: (len(a), len(b)) for k, (a, b) in st.items()}, flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    warm = max(1, min(200, args.steps // 10))
    sched = lambda s: (s + 1) / warm if s < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, args.steps - warm)))
    names = sorted(MIX)
    probs = np.array([MIX[k] for k in names])
    T = args.seq
    ho_cat = {k: st[k][1] for k in names}
    ho_val = dict(ho_cat, books=validation_slice(ho_cat["books"], BOOKS_VALIDATION_TOKENS))
    best = (float("inf"), None, -1)
    t0 = time.time()
    log = []
    step = 0
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = args.lr * sched(step)
        which = rng.choice(len(names), size=args.batch, p=probs)
        xs = []
        for c in which:
            s = st[names[c]][0]
            o = rng.integers(0, len(s) - T - 1)
            xs.append(s[o:o + T + 1])
        x = torch.from_numpy(np.stack(xs))
        model.train()
        logits, _ = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, CFG["vocab_size"]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if args.measure and step == 2:
            t_measure = time.time()                  # skip the first steps (allocations, warm-up)
        if args.measure and step > 2 and time.time() - t_measure > args.measure:
            tps = (step - 2) * args.batch * T / (time.time() - t_measure)
            print(json.dumps({"layers": args.layers, "hidden": args.hidden, "params": nparams, "tokens_per_s": round(tps),
                              "steps_per_s": round(tps / args.batch / T, 4)}), flush=True)
            return
        last = step == args.steps - 1 or (args.time_budget and time.time() - t0 > args.time_budget)
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.3f} {time.time()-t0:.0f}s", flush=True)
        if (step + 1) % args.eval_every == 0 or last:
            model.eval()
            tot = sum(lm_nll(model, ho_val[k], T)[0] for k in names)
            n = sum(len(ho_val[k]) - 1 for k in names)
            ppl = math.exp(tot / n)
            log.append({"step": step + 1, "heldout_ppl": ppl, "seconds": time.time() - t0})
            print(f"eval step {step+1} heldout ppl {ppl:.2f}", flush=True)
            if ppl < best[0]:
                best = (ppl, {k: v.clone() for k, v in model.state_dict().items()}, step + 1)
                torch.save(best[1], os.path.join(WORK, "story-lm-best.pt"))   # survives an interrupted run
        if last:
            break
    train_s = time.time() - t0
    model.load_state_dict(best[1])
    model.eval()
    torch.save(model.state_dict(), os.path.join(WORK, "story-lm.pt"))
    # ---- metrics: LM vs bigram baselines on the same held-out tokens
    report = {"params": nparams, "train_steps": step + 1, "best_step": best[2], "batch": args.batch,
              "seq": T, "train_seconds": round(train_s, 1), "threads": args.threads, "mix": MIX,
              "eval_log": log, "heldout": {}}
    totals = {"lm": 0.0, "add_one": 0.0, "interpolated": 0.0, "n": 0}
    for k in names:
        lm_tot, n = lm_nll(model, ho_cat[k], T)
        bg, n2 = bigram_nll([st[j][0] for j in names], ho_cat[k], CFG["vocab_size"])
        assert n == n2
        report["heldout"][k] = {"tokens": n, "lm_ppl": math.exp(lm_tot / n),
                                "bigram_add_one_ppl": math.exp(bg["add_one"] / n),
                                "bigram_interpolated_ppl": math.exp(bg["interpolated"] / n),
                                "bigram_lambda": bg["interpolated_lambda"]}
        totals["lm"] += lm_tot; totals["add_one"] += bg["add_one"]; totals["interpolated"] += bg["interpolated"]; totals["n"] += n
    n = totals["n"]
    report["heldout"]["all"] = {"tokens": n, "lm_ppl": math.exp(totals["lm"] / n),
                                "bigram_add_one_ppl": math.exp(totals["add_one"] / n),
                                "bigram_interpolated_ppl": math.exp(totals["interpolated"] / n)}
    print(json.dumps(report["heldout"], indent=1))
    # ---- ONNX export
    onnx_path = os.path.join(OUT, "onnx", "model.onnx")
    export_onnx(model, onnx_path)
    # ---- fixture + samples
    prompt = "Once upon a time, there was a little cat"
    ids = [1] + node_encode(os.path.join(OUT, "tokenizer.json"), None, [prompt])[0]
    with torch.no_grad():
        x = torch.tensor([ids])
        logits, _ = model(x)
        vocab_subset = list(range(0, 64)) + list(range(64, CFG["vocab_size"], 61))
        greedy, seq = [], list(ids)
        for _ in range(16):
            lg, _ = model(torch.tensor([seq]))
            nxt = int(lg[0, -1].argmax())
            greedy.append(nxt); seq.append(nxt)
    fx = {"modelId": "ensemble-story-lm", "prompt": prompt, "input_ids": ids,
          "note": "logits[t][j] is the logit at position t for token id vocab_subset[j]; full recompute, "
                  "attention_mask all ones, position_ids 0..T-1. greedy_next_tokens: 16 greedy steps (argmax) from "
                  "input_ids. Tolerance: abs 1e-3.",
          "vocab_subset": vocab_subset,
          "logits": [[round(float(v), 5) for v in logits[0, t, vocab_subset]] for t in range(len(ids))],
          "argmax": [int(v) for v in logits[0].argmax(-1)],
          "greedy_next_tokens": greedy}
    write_json(os.path.join(MODELS, "fixtures", "ensemble-story-lm.json"), fx)
    samples = []
    g = torch.Generator().manual_seed(7)
    for p in ["Once upon a time", "The little dog", "Holmes looked at"]:
        seq = [1] + node_encode(os.path.join(OUT, "tokenizer.json"), None, [p])[0]
        with torch.no_grad():
            for _ in range(48):
                lg, _ = model(torch.tensor([seq[-256:]]))
                pr = torch.softmax(lg[0, -1] / 0.8, -1)
                seq.append(int(torch.multinomial(pr, 1, generator=g)))
        samples.append(seq)
    report["sample_ids"] = samples
    write_json(os.path.join(WORK, "story-lm-report.json"), report, indent=1)
    print("done", json.dumps({k: report[k] for k in ["params", "train_steps", "best_step", "train_seconds"]}))


if __name__ == "__main__":
    main()
