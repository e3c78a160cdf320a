"""Tiny random-weight decoders laid out as Hugging Face / optimum folders, with PyTorch references.

Writes models/fixtures/hf/<name>/ for each layout in LAYOUTS: config.json, generation_config.json,
tokenizer.json (the story tokenizer trimmed to a few hundred tokens, plus ChatML specials),
tokenizer_config.json (with a ChatML chat_template), onnx/model.onnx with optimum's I/O names, and
reference.json: greedy continuations computed by the torch model itself (no ONNX) for prompts of
different lengths, and the last-position logits of one prompt.

Run: /usr/bin/python3 models/recipes/build_hf_fixtures.py   (Debian: python3-torch python3-onnx)
torch 1.13 has no `transformers`, so the two architectures are written here by hand, following
transformers' GPT2LMHeadModel and Qwen2ForCausalLM (pre-LN GPT-2 with learned positions; Llama-style
RMSNorm, rotary embeddings, SwiGLU and grouped-query attention).
"""
import json, math, os, shutil
import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
OUT = os.path.join(MODELS, "fixtures", "hf")
KEEP_MERGES = 140
CONTEXT = 128
NEG = -1e9  # finite, so a fully masked (padding) query row stays finite instead of NaN

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# ---------------------------------------------------------------- tokenizer

def build_tokenizer():
    """The story tokenizer's first KEEP_MERGES merges (ids stay as they are) + ChatML specials."""
    src = json.load(open(os.path.join(MODELS, "story-lm", "tokenizer.json"), encoding="utf-8"))
    vocab = src["model"]["vocab"]
    merges = src["model"]["merges"][:KEEP_MERGES]
    limit = 259 + KEEP_MERGES  # 3 specials + 256 bytes, then one token per merge
    keep = {s: i for s, i in vocab.items() if i < limit}
    for a, b in merges:
        assert a in keep and b in keep and (a + b) in keep, (a, b)
    tok = json.loads(json.dumps(src))
    tok["model"]["vocab"] = keep
    tok["model"]["merges"] = merges
    specials = [("<|im_start|>", limit), ("<|im_end|>", limit + 1)]
    for content, tid in specials:
        tok["added_tokens"].append({"id": tid, "content": content, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
    return tok, limit + len(specials)


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": None,
        "add_bos_token": True, "add_eos_token": False, "model_max_length": CONTEXT,
        "padding_side": "left", "clean_up_tokenization_spaces": False,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "chat_template": CHATML,
    }


# ---------------------------------------------------------------- shared attention

def attend(q, k, v, attention_mask, past_len):
    """q [B, nh, T, hd]; k, v [B, nh, S, hd] (past + new); causal + padding mask from attention_mask [B, S]."""
    T, S = q.shape[2], k.shape[2]
    qpos = torch.arange(T) + past_len
    kpos = torch.arange(S)
    allowed = (kpos[None, :] <= qpos[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = torch.where(allowed, scores, torch.full_like(scores, NEG))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def split_heads(x, n, hd):
    B, T, _ = x.shape
    return x.view(B, T, n, hd).transpose(1, 2)


def merge_heads(x):
    B, n, T, hd = x.shape
    return x.transpose(1, 2).reshape(B, T, n * hd)


# ---------------------------------------------------------------- GPT-2

class GPT2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        H, L = c["n_embd"], c["n_layer"]
        self.wte = nn.Embedding(c["vocab_size"], H)
        self.wpe = nn.Embedding(c["n_positions"], H)
        self.ln1 = nn.ModuleList(nn.LayerNorm(H, eps=1e-5) for _ in range(L))
        self.attn = nn.ModuleList(nn.Linear(H, 3 * H) for _ in range(L))
        self.proj = nn.ModuleList(nn.Linear(H, H) for _ in range(L))
        self.ln2 = nn.ModuleList(nn.LayerNorm(H, eps=1e-5) for _ in range(L))
        self.fc = nn.ModuleList(nn.Linear(H, 4 * H) for _ in range(L))
        self.fc_proj = nn.ModuleList(nn.Linear(4 * H, H) for _ in range(L))
        self.ln_f = nn.LayerNorm(H, eps=1e-5)

    @property
    def kv_heads(self):
        return self.c["n_head"]

    @property
    def head_dim(self):
        return self.c["n_embd"] // self.c["n_head"]

    def forward(self, input_ids, attention_mask, position_ids, past, keep=None):
        nh, hd = self.c["n_head"], self.head_dim
        past_len = past[0].shape[2]
        if position_ids is None:  # old exports: positions from the past length (a left-padded row is shifted)
            position_ids = (torch.arange(input_ids.shape[1]) + past_len)[None, :]
        x = self.wte(input_ids.long()) + self.wpe(position_ids)
        presents = []
        for i in range(self.c["n_layer"]):
            q, k, v = self.attn[i](self.ln1[i](x)).split(self.c["n_embd"], dim=2)
            q, k, v = split_heads(q, nh, hd), split_heads(k, nh, hd), split_heads(v, nh, hd)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            x = x + self.proj[i](merge_heads(attend(q, k, v, attention_mask, past_len)))
            x = x + self.fc_proj[i](F.gelu(self.fc[i](self.ln2[i](x)), approximate="tanh"))
        x = self.ln_f(x)
        if keep is not None:
            x = last_positions(x, keep)
        return F.linear(x, self.wte.weight), presents  # tied lm_head, as GPT-2


# ---------------------------------------------------------------- Llama / Qwen2

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Qwen2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        H, L, I = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"]
        nh, nkv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.embed = nn.Embedding(c["vocab_size"], H)
        eps = c["rms_norm_eps"]
        self.in_norm = nn.ModuleList(RMSNorm(H, eps) for _ in range(L))
        self.q = nn.ModuleList(nn.Linear(H, nh * hd, bias=True) for _ in range(L))
        self.k = nn.ModuleList(nn.Linear(H, nkv * hd, bias=True) for _ in range(L))
        self.v = nn.ModuleList(nn.Linear(H, nkv * hd, bias=True) for _ in range(L))
        self.o = nn.ModuleList(nn.Linear(nh * hd, H, bias=False) for _ in range(L))
        self.post_norm = nn.ModuleList(RMSNorm(H, eps) for _ in range(L))
        self.gate = nn.ModuleList(nn.Linear(H, I, bias=False) for _ in range(L))
        self.up = nn.ModuleList(nn.Linear(H, I, bias=False) for _ in range(L))
        self.down = nn.ModuleList(nn.Linear(I, H, bias=False) for _ in range(L))
        self.norm = RMSNorm(H, eps)
        self.lm_head = nn.Linear(H, c["vocab_size"], bias=False)
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    @property
    def kv_heads(self):
        return self.c["num_key_value_heads"]

    @property
    def head_dim(self):
        return self.c["head_dim"]

    def forward(self, input_ids, attention_mask, position_ids, past, keep=None):
        c = self.c
        nh, nkv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        past_len = past[0].shape[2]
        if position_ids is None:
            position_ids = (torch.arange(input_ids.shape[1]) + past_len)[None, :]
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, hd]
        x = self.embed(input_ids.long())
        presents = []
        for i in range(c["num_hidden_layers"]):
            h = self.in_norm[i](x)
            q = split_heads(self.q[i](h), nh, hd)
            k = split_heads(self.k[i](h), nkv, hd)
            v = split_heads(self.v[i](h), nkv, hd)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            rep = nh // nkv  # grouped-query attention: each KV head serves `rep` query heads
            a = attend(q, repeat_kv(k, rep), repeat_kv(v, rep), attention_mask, past_len)
            x = x + self.o[i](merge_heads(a))
            h = self.post_norm[i](x)
            x = x + self.down[i](F.silu(self.gate[i](h)) * self.up[i](h))
        x = self.norm(x)
        if keep is not None:
            x = last_positions(x, keep)
        return self.lm_head(x), presents


def repeat_kv(x, rep):
    """[B, nkv, S, hd] -> [B, nkv * rep, S, hd], as transformers' repeat_kv (exports as Expand + Reshape)."""
    B, nkv, S, hd = x.shape
    return x[:, :, None].expand(B, nkv, rep, S, hd).reshape(B, nkv * rep, S, hd)


def last_positions(x, keep):
    """The last `keep` positions of x [B, T, H] (`keep` a 0-d int64 tensor, as num_logits_to_keep)."""
    T = x.shape[1]
    idx = torch.arange(T - keep, T)
    return torch.index_select(x, 1, idx)


# ---------------------------------------------------------------- export wrapper

class Export(nn.Module):
    """Flat optimum-style signature: input_ids, attention_mask, [position_ids], past..., [num_logits_to_keep]."""

    def __init__(self, model, with_pos, with_keep, fp16_io=False):
        super().__init__()
        self.m, self.with_pos, self.with_keep, self.fp16_io = model, with_pos, with_keep, fp16_io

    def forward(self, *args):
        ids, mask = args[0], args[1]
        rest = list(args[2:])
        pos = rest.pop(0) if self.with_pos else None
        keep = rest.pop() if self.with_keep else None
        if self.fp16_io:  # float16 cache and logits, float32 math inside (what fp16 exports look like from outside)
            rest = [p.float() for p in rest]
        logits, presents = self.m(ids, mask, pos, rest, keep)
        if self.fp16_io:
            return (logits.half(), *[p.half() for p in presents])
        return (logits, *presents)


def n_layers(c):
    return c.get("num_hidden_layers", c.get("n_layer"))


def export(model, c, lay, folder):
    L, nkv, hd = n_layers(c), model.kv_heads, model.head_dim
    B, P, T = 2, 3, 4
    id_type = torch.int32 if lay.get("int32_ids") else torch.int64
    ids = torch.randint(3, c["vocab_size"], (B, T), dtype=id_type)
    mask = torch.ones(B, P + T, dtype=torch.int64)
    args, names = [ids, mask], ["input_ids", "attention_mask"]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"}}
    if lay["position_ids"]:
        args.append(torch.arange(P, P + T).repeat(B, 1))
        names.append("position_ids")
        dyn["position_ids"] = {0: "batch_size", 1: "sequence_length"}
    for i in range(L):
        for kv in ("key", "value"):
            n = f"past_key_values.{i}.{kv}"
            args.append(torch.randn(B, nkv, P, hd, dtype=torch.float16 if lay.get("fp16_io") else torch.float32))
            names.append(n)
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    if lay.get("logits_to_keep"):
        args.append(torch.tensor(1, dtype=torch.int64))
        names.append("num_logits_to_keep")
    outs = ["logits"] + [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    dyn["logits"] = {0: "batch_size", 1: "sequence_length"}
    for n in outs[1:]:
        dyn[n] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    file = "model_fp16.onnx" if lay.get("fp16_io") else "model_q4.onnx" if lay.get("q4") else "model.onnx"
    path = os.path.join(folder, "onnx", file)
    wrapper = Export(model, lay["position_ids"], lay.get("logits_to_keep"), lay.get("fp16_io")).eval()
    with torch.no_grad():
        torch.onnx.export(wrapper, tuple(args), path, input_names=names, output_names=outs,
                          dynamic_axes=dyn, opset_version=14, do_constant_folding=True)
    proto = onnx.load(path)
    if lay.get("q4"):
        proto = to_matmul_nbits(proto)
        onnx.save(proto, path)
    if lay.get("merged"):
        proto = merge_decoder(model, c, lay, proto, names, outs, dyn, folder)
        names = names + ["use_cache_branch"]
        path = os.path.join(folder, "onnx", "decoder_model_merged.onnx")
        os.remove(os.path.join(folder, "onnx", "model.onnx"))
        onnx.save(proto, path)
    if lay.get("external_data"):
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=0)
        proto = onnx.load(path, load_external_data=False)
    got = [i.name for i in proto.graph.input]
    assert got == names, (got, names)


Q_BLOCK = 32


def fake_quantize_q4(model):
    """Rounds every nn.Linear weight to what 4-bit symmetric block quantization (blocks of 32 along
    the input dimension, zero point 8) can hold, so the torch reference computes with exactly the
    weights the MatMulNBits graph stores."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                w = mod.weight  # [N, K]
                N, K = w.shape
                blocks = w.view(N, K // Q_BLOCK, Q_BLOCK)
                scale = blocks.abs().amax(dim=-1, keepdim=True) / 7
                q = torch.clamp(torch.round(blocks / scale), -8, 7)
                w.copy_((q * scale).view(N, K))


def to_matmul_nbits(proto):
    """Every MatMul by a [K, N] weight initializer becomes com.microsoft MatMulNBits (bits=4,
    block_size=32; packed uint8 [N, K/32, 16], float scales [N * K/32], default zero point 8)."""
    from onnx import numpy_helper
    inits = {i.name: i for i in proto.graph.initializer}
    nodes, drop = [], set()
    for node in proto.graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.dims[0] % Q_BLOCK:
            nodes.append(node)
            continue
        W = numpy_helper.to_array(w).astype(np.float32)  # [K, N]
        K, N = W.shape
        blocks = W.T.reshape(N, K // Q_BLOCK, Q_BLOCK)
        scale = np.abs(blocks).max(axis=-1) / 7
        scale[scale == 0] = 1
        q = (np.clip(np.round(blocks / scale[..., None]), -8, 7) + 8).astype(np.uint8)
        packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)  # even k: low nibble
        base = node.input[1]
        drop.add(base)
        proto.graph.initializer.extend([numpy_helper.from_array(packed, base + "_Q4"),
                                        numpy_helper.from_array(scale.astype(np.float32).reshape(-1), base + "_scales")])
        nodes.append(onnx.helper.make_node("MatMulNBits", [node.input[0], base + "_Q4", base + "_scales"], list(node.output),
                                           name=node.name + "_Q4", domain="com.microsoft", K=K, N=N, bits=4, block_size=Q_BLOCK))
    keep = [i for i in proto.graph.initializer if i.name not in drop]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(keep)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    proto.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    assert any(n.op_type == "MatMulNBits" for n in proto.graph.node)
    return proto


class NoPast(nn.Module):
    """The first-pass decoder of a merged export: no past inputs (an empty cache is made inside)."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, ids, mask):
        L, nkv, hd = n_layers(self.m.c), self.m.kv_heads, self.m.head_dim
        empty = torch.zeros(ids.shape[0], nkv, 0, hd)
        logits, presents = self.m(ids, mask, None, [empty] * (2 * L))
        return (logits, *presents)


def merge_decoder(model, c, lay, with_past, names, outs, dyn, folder):
    """optimum's legacy merged decoder: an If on `use_cache_branch` between the with-past graph and
    a no-past graph (both branches read the outer graph's inputs by name)."""
    tmp = os.path.join(folder, "onnx", "no_past.onnx")
    ids = torch.randint(3, c["vocab_size"], (2, 4))
    with torch.no_grad():
        torch.onnx.export(NoPast(model).eval(), (ids, torch.ones(2, 4, dtype=torch.int64)), tmp,
                          input_names=["input_ids", "attention_mask"], output_names=outs,
                          dynamic_axes={k: v for k, v in dyn.items() if k in ("input_ids", "attention_mask") or k in outs},
                          opset_version=14, do_constant_folding=True)
    no_past = onnx.load(tmp)
    os.remove(tmp)

    def branch(g, tag):
        body = onnx.helper.make_graph(list(g.graph.node), f"{tag}_branch", [], [], list(g.graph.initializer))
        rename = {o: f"{tag}/{o}" for o in outs}
        for node in body.node:
            node.output[:] = [rename.get(o, o) for o in node.output]
            node.input[:] = [rename.get(i, i) for i in node.input]
            node.name = f"{tag}/{node.name}"
        for o in g.graph.output:
            vi = onnx.ValueInfoProto()
            vi.CopyFrom(o)
            vi.name = rename[o.name]
            body.output.append(vi)
        return body

    # Initializers and intermediate values of the two branches share names: prefix one side.
    def prefix_all(g, tag):
        keep = set(names) | set(outs)
        for init in g.graph.initializer:
            init.name = f"{tag}/{init.name}"
        for node in g.graph.node:
            node.input[:] = [i if i in keep or i == "" else f"{tag}/{i}" if not i.startswith(tag + "/") else i for i in node.input]
            node.output[:] = [o if o in keep else f"{tag}/{o}" for o in node.output]

    prefix_all(with_past, "past")
    prefix_all(no_past, "first")

    # Both branches hold the same weights: keep one copy in the outer graph (as optimum does).
    from onnx import numpy_helper
    shared, outer = {}, []

    def share(g):
        ren = {}
        for init in g.graph.initializer:
            arr = numpy_helper.to_array(init)
            key = (init.data_type, tuple(init.dims), arr.tobytes())
            if key not in shared:
                shared[key] = f"shared/{len(shared)}"
                outer.append(numpy_helper.from_array(arr, shared[key]))
            ren[init.name] = shared[key]
        del g.graph.initializer[:]
        for node in g.graph.node:
            node.input[:] = [ren.get(i, i) for i in node.input]

    share(with_past)
    share(no_past)
    if_node = onnx.helper.make_node("If", ["use_cache_branch"], outs, name="optimum::if",
                                    then_branch=branch(with_past, "past"), else_branch=branch(no_past, "first"))
    inputs = list(with_past.graph.input) + [onnx.helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])]
    graph = onnx.helper.make_graph([if_node], "merged_decoder", inputs, list(with_past.graph.output), initializer=outer)
    merged = onnx.helper.make_model(graph, opset_imports=list(with_past.opset_import))
    merged.ir_version = with_past.ir_version
    onnx.checker.check_model(merged)
    return merged


def export_gqa_op(model, c, folder):
    """The Qwen2 model as onnxruntime-genai's model builder writes it: com.microsoft
    GroupQueryAttention (rotary inside, positions from seqlens_k = sum(attention_mask) - 1),
    SimplifiedLayerNormalization, no position_ids input. Built node by node from the torch weights."""
    from onnx import TensorProto, helper, numpy_helper
    L, nh, nkv, hd, H = c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["hidden_size"]
    nodes, inits = [], []

    def init(name, t):
        inits.append(numpy_helper.from_array(t.detach().numpy().astype(np.float32), name))
        return name

    def node(op, ins, outs, domain="", **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=f"n{len(nodes)}_{op}", domain=domain, **attrs))
        return outs[0]

    def linear(x, lin, name):
        y = node("MatMul", [x, init(name + ".weight", lin.weight.T.contiguous())], [name + "/mm"])
        return node("Add", [y, init(name + ".bias", lin.bias)], [name + "/out"]) if lin.bias is not None else y

    def rms(x, norm, name):
        return node("SimplifiedLayerNormalization", [x, init(name + ".weight", norm.weight)], [name + "/out"],
                    axis=-1, epsilon=c["rms_norm_eps"])

    pos = torch.arange(c["max_position_embeddings"]).float()[:, None] * model.inv_freq[None, :]
    init("cos_cache", pos.cos())
    init("sin_cache", pos.sin())
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "one"))
    mask_sum = node("ReduceSum", ["attention_mask", "one_axes"], ["mask_sum"], keepdims=0)
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "one_axes"))
    seqlens = node("Cast", [node("Sub", [mask_sum, "one"], ["seqlens64"])], ["seqlens_k"], to=TensorProto.INT32)
    shape = node("Shape", ["attention_mask"], ["mask_shape"])
    inits.append(numpy_helper.from_array(np.array(1, dtype=np.int64), "idx1"))
    total = node("Cast", [node("Gather", [shape, "idx1"], ["total64"], axis=0)], ["total_seq_len"], to=TensorProto.INT32)
    x = node("Gather", [init("embed.weight", model.embed.weight), "input_ids"], ["embeds"], axis=0)
    for i in range(L):
        h = rms(x, model.in_norm[i], f"l{i}.in_norm")
        q, k, v = linear(h, model.q[i], f"l{i}.q"), linear(h, model.k[i], f"l{i}.k"), linear(h, model.v[i], f"l{i}.v")
        attn = node("GroupQueryAttention", [q, k, v, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total,
                                            "cos_cache", "sin_cache"],
                    [f"l{i}.attn", f"present.{i}.key", f"present.{i}.value"], domain="com.microsoft",
                    num_heads=nh, kv_num_heads=nkv, do_rotary=1, rotary_interleaved=0, scale=1.0 / math.sqrt(hd))
        x = node("Add", [x, linear(attn, model.o[i], f"l{i}.o")], [f"l{i}.res1"])
        h = rms(x, model.post_norm[i], f"l{i}.post_norm")
        g = linear(h, model.gate[i], f"l{i}.gate")
        act = node("Mul", [g, node("Sigmoid", [g], [f"l{i}.sig"])], [f"l{i}.silu"])
        m = node("Mul", [act, linear(h, model.up[i], f"l{i}.up")], [f"l{i}.gated"])
        x = node("Add", [x, linear(m, model.down[i], f"l{i}.down")], [f"l{i}.res2"])
    x = rms(x, model.norm, "norm")
    node("MatMul", [x, init("lm_head.weight", model.lm_head.weight.T.contiguous())], ["logits"])
    V = c["vocab_size"]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", V])]
    for i in range(L):
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", TensorProto.FLOAT, ["batch_size", nkv, "past_sequence_length", hd]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", TensorProto.FLOAT, ["batch_size", nkv, "total_sequence_length", hd]))
    graph = helper.make_graph(nodes, "qwen2_gqa_op", inputs, outputs, initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.microsoft", 1)])
    proto.ir_version = 8
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    onnx.save(proto, os.path.join(folder, "onnx", "model.onnx"))


# ---------------------------------------------------------------- references

def greedy(model, ids, n):
    """Greedy continuation by full recompute (no cache): the plainest torch reference."""
    nkv, hd, L = model.kv_heads, model.head_dim, n_layers(model.c)
    seq, margins = list(ids), []
    with torch.no_grad():
        for _ in range(n):
            x = torch.tensor([seq])
            past = [torch.zeros(1, nkv, 0, hd) for _ in range(2 * L)]
            logits, _ = model(x, torch.ones_like(x), torch.arange(len(seq))[None, :], past)
            last = logits[0, -1]
            top = torch.topk(last, 2).values
            margins.append(float(top[0] - top[1]))
            seq.append(int(last.argmax()))
    return seq[len(ids):], min(margins), last


def last_logits(model, ids):
    nkv, hd, L = model.kv_heads, model.head_dim, n_layers(model.c)
    with torch.no_grad():
        x = torch.tensor([ids])
        past = [torch.zeros(1, nkv, 0, hd) for _ in range(2 * L)]
        logits, _ = model(x, torch.ones_like(x), torch.arange(len(ids))[None, :], past)
    return logits[0, -1]


def init_weights(model, seed):
    """Wider than HF's 0.02 init so logits are spread out and greedy choices have clear margins."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]) * (1.0 if "wte" in name or "embed" in name else 1.2))
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


# ---------------------------------------------------------------- layouts

def gpt2_config(vocab):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab, "n_embd": 64,
            "n_layer": 2, "n_head": 4, "n_positions": CONTEXT, "n_ctx": CONTEXT, "n_inner": None,
            "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 1,
            "eos_token_id": 2, "tie_word_embeddings": True, "use_cache": True, "torch_dtype": "float32"}


def qwen2_config(vocab):
    return {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": vocab, "hidden_size": 64,
            "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 16, "max_position_embeddings": CONTEXT, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
            "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False,
            "use_cache": True, "torch_dtype": "float32"}


LAYOUTS = [
    {"name": "gpt2-position-ids", "arch": "gpt2", "position_ids": True, "seed": 11},
    {"name": "qwen2-gqa", "arch": "qwen2", "position_ids": True, "seed": 12},
    {"name": "gpt2-no-position-ids", "arch": "gpt2", "position_ids": False, "seed": 13},
    {"name": "qwen2-int32-ids", "arch": "qwen2", "position_ids": True, "int32_ids": True, "seed": 14},
    {"name": "qwen2-logits-to-keep", "arch": "qwen2", "position_ids": True, "logits_to_keep": True, "seed": 15},
    {"name": "gpt2-external-data", "arch": "gpt2", "position_ids": True, "external_data": True, "seed": 16},
    # Only onnx/model_fp16.onnx: loads with ENSEMBLE_TEXT_DTYPE=fp16; float16 KV cache and logits.
    # optimum's legacy merged decoder (as Xenova/distilgpt2): decoder_model_merged.onnx, an If on
    # use_cache_branch, and no position_ids input.
    {"name": "gpt2-merged-decoder", "arch": "gpt2", "position_ids": False, "merged": True, "seed": 18},
    # Only onnx/model_q4.onnx (ENSEMBLE_TEXT_DTYPE=q4): 4-bit MatMulNBits weights, float32 I/O.
    {"name": "qwen2-q4-matmulnbits", "arch": "qwen2", "position_ids": True, "q4": True, "seed": 19},
    # onnxruntime-genai style: the GroupQueryAttention contrib op, no position_ids input.
    {"name": "qwen2-gqa-op", "arch": "qwen2", "position_ids": False, "gqa_op": True, "seed": 20},
    {"name": "qwen2-fp16-io", "arch": "qwen2", "position_ids": True, "fp16_io": True, "seed": 17},
]

PROMPT_LENGTHS = [3, 7, 12, 20]
NEW_TOKENS = 12
MIN_MARGIN = 2e-2  # greedy steps closer than this could flip between torch and ONNX Runtime (float16 logits step by ~0.004 at 4..8)


def build(lay, tok, vocab):
    folder = os.path.join(OUT, lay["name"])
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for attempt in range(50):
        seed = lay["seed"] * 1000 + attempt
        torch.manual_seed(seed)
        c = gpt2_config(vocab) if lay["arch"] == "gpt2" else qwen2_config(vocab)
        model = (GPT2 if lay["arch"] == "gpt2" else Qwen2)(c).eval()
        init_weights(model, seed)
        if lay.get("q4"):
            fake_quantize_q4(model)
        g = torch.Generator().manual_seed(seed + 7)
        # Prompts: BOS then ordinary tokens (ids 3 .. vocab-3: no specials inside).
        prompts = [[1] + torch.randint(3, vocab - 2, (n - 1,), generator=g).tolist() for n in PROMPT_LENGTHS]
        runs = [greedy(model, p, NEW_TOKENS) for p in prompts]
        margin = min(r[1] for r in runs)
        # EOS (2) and the specials must not be the greedy choice: the engine bans or stops on them.
        clean = all(t >= 3 and t < vocab - 2 for r in runs for t in r[0])
        if margin >= MIN_MARGIN and clean:
            break
    else:
        raise SystemExit(f"{lay['name']}: no seed gave clear greedy margins")
    if lay.get("gqa_op"):
        export_gqa_op(model, c, folder)
    else:
        export(model, c, lay, folder)
    json.dump(c, open(os.path.join(folder, "config.json"), "w"), indent=2)
    gen = {"bos_token_id": 1, "eos_token_id": [2, vocab - 1], "pad_token_id": 0, "do_sample": False, "max_new_tokens": 64}
    json.dump(gen, open(os.path.join(folder, "generation_config.json"), "w"), indent=2)
    json.dump(tok, open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    json.dump(tokenizer_config(), open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
    ref = {
        "layout": {k: v for k, v in lay.items() if k != "seed"},
        "seed": seed,
        "new_tokens": NEW_TOKENS,
        "min_greedy_margin": margin,
        "cases": [{"prompt_ids": p, "greedy": r[0]} for p, r in zip(prompts, runs)],
        "last_logits": {"prompt_ids": prompts[1], "logits": [round(float(v), 6) for v in last_logits(model, prompts[1])]},
    }
    json.dump(ref, open(os.path.join(folder, "reference.json"), "w"))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    print(f"{lay['name']}: seed {seed}, min greedy margin {margin:.3f}, {size / 1024:.0f} KiB")


def main():
    torch.set_num_threads(2)
    tok, vocab = build_tokenizer()
    for lay in LAYOUTS:
        build(lay, tok, vocab)


if __name__ == "__main__":
    main()
