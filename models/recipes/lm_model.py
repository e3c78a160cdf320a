"""Llama-style decoder (RMSNorm, RoPE, SwiGLU, tied embeddings) with an ONNX-friendly KV-cache
forward that follows the HF/optimum decoder-with-past I/O convention."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.nh, self.nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = d // self.nh
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        if self.nkv != self.nh:  # GQA via expand+reshape (no repeat_interleave, for ONNX export)
            r = self.nh // self.nkv
            S = k.shape[2]
            k = k[:, :, None].expand(B, self.nkv, r, S, self.hd).reshape(B, self.nh, S, self.hd)
            v = v[:, :, None].expand(B, self.nkv, r, S, self.hd).reshape(B, self.nh, S, self.hd)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y), present


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, bias, pk, pv):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, pk, pv)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class StoryLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg["num_hidden_layers"]))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """input_ids [B,T]; attention_mask [B,P+T] (1 real, 0 pad); position_ids [B,T];
        past: list of (k, v) [B,kvH,P,hd] or None. Returns logits [B,T,V], list of presents."""
        B, T = input_ids.shape
        P = 0 if past is None else past[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(T).unsqueeze(0).expand(B, T) + P
        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq          # [B,T,hd/2]
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)                 # [B,1,T,hd]
        cos, sin = emb.cos(), emb.sin()
        S = P + T
        kpos = torch.arange(S).unsqueeze(0)                                  # [1,S]
        qpos = torch.arange(T).unsqueeze(1) + (S - T)                        # [T,1]
        allowed = (kpos <= qpos).unsqueeze(0).unsqueeze(0)                   # [1,1,T,S]
        if attention_mask is not None:
            allowed = allowed & (attention_mask[:, None, None, :] > 0)      # [B,1,T,S]
        # finite large negative: fully padded query rows stay finite (their output is unused)
        bias = (~allowed).float() * -1e9
        x = self.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = (None, None) if past is None else past[i]
            x, pr = layer(x, cos, sin, bias, pk, pv)
            presents.append(pr)
        x = self.norm(x)
        logits = torch.matmul(x, self.embed_tokens.weight.t())
        return logits, presents


class OnnxWrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.m(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def export_onnx(model, path, opset=14):
    import os
    cfg = model.cfg
    L, nkv = cfg["num_hidden_layers"], cfg["num_key_value_heads"]
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    B, T, P = 2, 3, 4
    ids = torch.randint(3, cfg["vocab_size"], (B, T))
    am = torch.ones(B, P + T, dtype=torch.long)
    pos = torch.arange(P, P + T).unsqueeze(0).expand(B, T).contiguous()
    past = []
    for _ in range(L):
        past += [torch.randn(B, nkv, P, hd), torch.randn(B, nkv, P, hd)]
    in_names = ["input_ids", "attention_mask", "position_ids"]
    out_names = ["logits"]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(L):
        for kv in ("key", "value"):
            n = f"past_key_values.{i}.{kv}"
            in_names.append(n)
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
            o = f"present.{i}.{kv}"
            out_names.append(o)
            dyn[o] = {0: "batch_size", 2: "total_sequence_length"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w = OnnxWrapper(model).eval()
    with torch.no_grad():
        torch.onnx.export(w, (ids, am, pos, *past), path, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=opset, do_constant_folding=True)
