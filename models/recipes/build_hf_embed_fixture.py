"""A tiny random-weight sentence-embedding encoder laid out the way optimum / onnx-community export
sentence-transformers (all-MiniLM-L6-v2 and the like), with PyTorch reference embeddings.

Writes models/fixtures/hf/bert-embed/ (mean pooling + Normalize, the MiniLM default) and
models/fixtures/hf/bert-embed-cls/ (CLS pooling, no Normalize module), each with config.json
(model_type bert), tokenizer.json (the decoder fixtures' tokenizer with a BERT-style
"<s> $A </s>" post-processor: <s> plays [CLS], </s> [SEP]), tokenizer_config.json, modules.json,
1_Pooling/config.json, onnx/model.onnx (inputs input_ids, attention_mask, token_type_ids; output
last_hidden_state [batch, sequence, hidden]) and reference.json: the torch model's own pooled
sentence embeddings (no ONNX) for texts of different lengths, tokenized by the JS library the
runtime uses (tok.mjs).

Run: /usr/bin/python3 models/recipes/build_hf_embed_fixture.py   (Debian: python3-torch python3-onnx)
The encoder follows transformers' BertModel (post-LN, learned absolute positions, exact GELU).
"""
import json, math, os, shutil, subprocess, tempfile
import torch
import torch.nn as nn
import torch.nn.functional as F

from build_hf_fixtures import HERE, OUT, CONTEXT, NEG, build_tokenizer, split_heads, merge_heads, init_weights

HIDDEN, LAYERS, HEADS, FFN = 32, 2, 4, 64
TEXTS = [
    "Hi.",
    "The dragon slept under the old bridge.",
    "Once upon a time there was a little girl who loved to paint the sky in every colour she could find, "
    "and every evening she climbed the hill to watch the sun go down.",
    "A cat.",
]
VARIANTS = [
    {"name": "bert-embed", "pooling": "mean", "normalize": True},
    {"name": "bert-embed-cls", "pooling": "cls", "normalize": False},
]


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.attn_out = nn.Linear(HIDDEN, HIDDEN)
        self.ln1 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ffn_in = nn.Linear(HIDDEN, FFN)
        self.ffn_out = nn.Linear(FFN, HIDDEN)
        self.ln2 = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, additive_mask):
        q, k, v = (split_heads(t, HEADS, HIDDEN // HEADS) for t in self.qkv(x).split(HIDDEN, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + additive_mask
        x = self.ln1(x + self.attn_out(merge_heads(F.softmax(scores, dim=-1) @ v)))
        return self.ln2(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class Bert(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.word_embed = nn.Embedding(vocab, HIDDEN)
        self.pos_embed = nn.Embedding(CONTEXT, HIDDEN)
        self.type_embed = nn.Embedding(2, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer() for _ in range(LAYERS))

    def forward(self, input_ids, attention_mask, token_type_ids):
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = self.ln(self.word_embed(input_ids) + self.pos_embed(pos) + self.type_embed(token_type_ids))
        # Padding keys get a large finite negative score (as BertModel's extended attention mask).
        additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * NEG
        for layer in self.layers:
            x = layer(x, additive)
        return x


def encode_texts(tok):
    """Ids as the runtime's tokenizer gives them (tok.mjs, no specials), wrapped as <s> ... </s>."""
    with tempfile.TemporaryDirectory() as tmp:
        tj, texts, out = (os.path.join(tmp, n) for n in ("tokenizer.json", "texts.json", "ids.json"))
        json.dump(tok, open(tj, "w", encoding="utf-8"), ensure_ascii=False)
        json.dump(TEXTS, open(texts, "w"))
        subprocess.run(["node", os.path.join(HERE, "tok.mjs"), "encode", tj, "-", texts, out], check=True)
        return [[1] + ids + [2] for ids in json.load(open(out))]


def sentence_embedding(model, ids, pooling, normalize):
    """One text alone (no padding): the reference the engine must match alone and in a batch."""
    x = torch.tensor([ids])
    with torch.no_grad():
        h = model(x, torch.ones_like(x), torch.zeros_like(x))[0]
    v = h.mean(dim=0) if pooling == "mean" else h[0]
    return F.normalize(v, dim=0) if normalize else v


def bert_tokenizer(tok):
    tok = json.loads(json.dumps(tok))
    tok["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "</s>", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                           "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}},
    }
    return tok


def modules(normalize):
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    return mods


def pooling_config(pooling):
    return {"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True}


def export(model, path):
    ids = torch.randint(3, 100, (2, 5))
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), path,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], dynamic_axes=dyn, opset_version=14, do_constant_folding=True)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(10)
    tok, vocab = build_tokenizer()
    tok = bert_tokenizer(tok)
    ids = encode_texts(tok)
    model = Bert(vocab).eval()
    init_weights(model, 10)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": HIDDEN,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": FFN,
              "hidden_act": "gelu", "max_position_embeddings": CONTEXT, "type_vocab_size": 2,
              "layer_norm_eps": 1e-12, "pad_token_id": 0, "torch_dtype": "float32"}
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "cls_token": "<s>", "sep_token": "</s>",
                  "pad_token": "<pad>", "unk_token": None, "model_max_length": CONTEXT,
                  "padding_side": "right", "clean_up_tokenization_spaces": False}
    for var in VARIANTS:
        folder = os.path.join(OUT, var["name"])
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(os.path.join(folder, "onnx"))
        os.makedirs(os.path.join(folder, "1_Pooling"))
        export(model, os.path.join(folder, "onnx", "model.onnx"))
        json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=2)
        json.dump(tok, open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
        json.dump(tok_config, open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
        json.dump(modules(var["normalize"]), open(os.path.join(folder, "modules.json"), "w"), indent=2)
        json.dump(pooling_config(var["pooling"]), open(os.path.join(folder, "1_Pooling", "config.json"), "w"), indent=2)
        ref = {"task": "embedding", "pooling": var["pooling"], "normalize": var["normalize"], "seed": 10,
               "cases": [{"text": t, "ids": i, "embedding": [round(float(v), 7) for v in
                                                              sentence_embedding(model, i, var["pooling"], var["normalize"])]}
                         for t, i in zip(TEXTS, ids)]}
        json.dump(ref, open(os.path.join(folder, "reference.json"), "w"))
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
        print(f"{var['name']}: {[len(i) for i in ids]} tokens, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
