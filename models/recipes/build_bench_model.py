"""A realistically shaped random-weight Qwen2 decoder for bench/real-model-bench.ts (never committed).

Writes a Hugging Face / optimum folder OUTSIDE the repo (default /tmp/ensemble-bench-model):
config.json, generation_config.json, tokenizer.json (the fixtures' story BPE padded with filler
tokens up to the vocabulary size, so the embedding and lm_head have real shapes), tokenizer_config.json,
onnx/model.onnx (fp32) and onnx/model_q4.onnx (4-bit MatMulNBits, the fixtures recipe's converter).
The architecture, export and quantization are build_hf_fixtures.py's, imported, not copied.

Run: /usr/bin/python3 models/recipes/build_bench_model.py [--out DIR] [--shape bench|vocab150k]
  bench      8 layers, hidden 512, 8 heads / 2 KV heads (head 64), MLP 1536, vocab 32768: ~58M params
  vocab150k  Qwen2.5's 151,936-token vocabulary on a small trunk (2 layers, hidden 256), written twice:
             DIR/keep (with a num_logits_to_keep input) and DIR/full (logits for every position), to
             measure the peak memory of a prefill with and without it.
  --q4-accuracy-level 4  sets MatMulNBits' accuracy_level (4: int8 activations, ONNX Runtime's fast
             CPU path on AVX512-VNNI/AVX2) on every node of model_q4.onnx; the default leaves it unset (0).
"""
import argparse, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx  # noqa: E402
import torch  # noqa: E402
import build_hf_fixtures as fx  # noqa: E402

SHAPES = {
    "bench": dict(vocab_size=32768, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048),
    "vocab150k": dict(vocab_size=151936, hidden_size=256, intermediate_size=768, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=4096),
}


def padded_tokenizer(vocab_size):
    """The fixtures' tokenizer with filler BPE tokens (never produced by a merge) up to vocab_size."""
    tok, n = fx.build_tokenizer()
    vocab = tok["model"]["vocab"]
    taken = set(vocab) | {a["content"] for a in tok["added_tokens"]}
    i = 0
    for tid in range(n, vocab_size):
        while f"Ġw{i}" in taken:
            i += 1
        vocab[f"Ġw{i}"] = tid  # ByteLevel-safe text, so decoding a sampled filler gives " w123"
        i += 1
    return tok


def write_folder(folder, c, model, keep_logits, with_q4, accuracy_level=0):
    os.makedirs(folder, exist_ok=True)
    t = time.time()
    fx.export(model, c, {"position_ids": True, "logits_to_keep": keep_logits}, folder)
    print(f"{folder}/onnx/model.onnx exported in {time.time() - t:.0f} s")
    if with_q4:
        t = time.time()
        proto = fx.to_matmul_nbits(onnx.load(os.path.join(folder, "onnx", "model.onnx")))
        if accuracy_level:
            for node in proto.graph.node:
                if node.op_type == "MatMulNBits":
                    node.attribute.append(onnx.helper.make_attribute("accuracy_level", accuracy_level))
        onnx.save(proto, os.path.join(folder, "onnx", "model_q4.onnx"))
        print(f"{folder}/onnx/model_q4.onnx (MatMulNBits) in {time.time() - t:.0f} s")
    json.dump(c, open(os.path.join(folder, "config.json"), "w"), indent=2)
    gen = {"bos_token_id": 1, "eos_token_id": [2, c["vocab_size"] - 1], "pad_token_id": 0, "do_sample": True}
    json.dump(gen, open(os.path.join(folder, "generation_config.json"), "w"), indent=2)
    json.dump(padded_tokenizer(c["vocab_size"]), open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    tc = fx.tokenizer_config()
    tc["model_max_length"] = c["max_position_embeddings"]
    json.dump(tc, open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="bench")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--q4-accuracy-level", type=int, default=0, choices=[0, 1, 2, 3, 4])
    a = ap.parse_args()
    out = os.path.abspath(a.out or ("/tmp/ensemble-bench-model" if a.shape == "bench" else "/tmp/ensemble-bench-vocab150k"))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out == repo or out.startswith(repo + os.sep):
        raise SystemExit(f"--out {out} is inside the repository: bench models are hundreds of MB and never committed")
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    c = fx.qwen2_config(SHAPES[a.shape]["vocab_size"])
    c.update(SHAPES[a.shape])
    model = fx.Qwen2(c).eval()
    fx.init_weights(model, a.seed)
    params = sum(p.numel() for p in model.parameters())
    print(f"{a.shape}: {params / 1e6:.1f}M parameters ({c['num_hidden_layers']} layers, hidden {c['hidden_size']}, "
          f"{c['num_attention_heads']}/{c['num_key_value_heads']} heads, vocab {c['vocab_size']})")
    if a.shape == "bench":
        write_folder(out, c, model, keep_logits=False, with_q4=True, accuracy_level=a.q4_accuracy_level)
    else:
        write_folder(os.path.join(out, "keep"), c, model, keep_logits=True, with_q4=False)
        write_folder(os.path.join(out, "full"), c, model, keep_logits=False, with_q4=False)


if __name__ == "__main__":
    main()
