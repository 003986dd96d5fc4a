"""The built-in student: a character-level GPT with rotary position embeddings (nanoGPT-sized).

Small and short wins on a 2-core CPU: 2 layers at width 64 (~105k parameters) trains at ~50k
tokens/s with OpenBLAS and learns the arithmetic task in minutes; rotary positions learned it far
faster than learned absolute positions (see shared/STACK.md). A checkpoint is one directory:
`tiny_gpt.json` (model config), `model.pt` (weights), `char_tokenizer.json` (the vocabulary).
"""
from __future__ import annotations

import copy
import io
import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "stagewise-tiny-gpt/1"


class CharTokenizer:
    """One token per character: printable ASCII and newline, after four special tokens.

    The vocabulary is fixed (not fitted to data) so every tiny checkpoint reads every data set.
    """

    PAD, BOS, EOS, UNK = 0, 1, 2, 3
    SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]

    def __init__(self, chars: Optional[str] = None):
        self.chars = chars if chars is not None else "\n" + "".join(chr(c) for c in range(32, 127))
        self.stoi: Dict[str, int] = {ch: i + len(self.SPECIALS) for i, ch in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.SPECIALS) + len(self.chars)

    def encode(self, text: str, bos: bool = False) -> List[int]:
        ids = [self.stoi.get(ch, self.UNK) for ch in text]
        return [self.BOS] + ids if bos else ids

    def decode(self, ids: Sequence[int]) -> str:
        n = len(self.SPECIALS)
        return "".join(self.chars[i - n] for i in ids if i >= n)

    def save(self, directory: str) -> None:
        with open(os.path.join(directory, "char_tokenizer.json"), "w") as f:
            json.dump({"format": "stagewise-char/1", "specials": self.SPECIALS, "chars": self.chars}, f)

    @classmethod
    def load(cls, directory: str) -> "CharTokenizer":
        with open(os.path.join(directory, "char_tokenizer.json")) as f:
            return cls(json.load(f)["chars"])


@dataclass
class TinyGPTConfig:
    vocab_size: int = 100
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    rope_base: float = 10000.0
    # Residual dropout, off by default (the built-in task does not need it); generation and the RL
    # update run in eval mode, so it acts in SFT only. Older checkpoints without it load as 0.
    dropout: float = 0.0

    PRESETS = {  # model_size -> (n_layer, n_head, n_embd)
        "tiny": (2, 4, 64),
        "small": (4, 4, 128),
        "medium": (6, 8, 256),
    }

    @classmethod
    def preset(cls, size: str) -> "TinyGPTConfig":
        n_layer, n_head, n_embd = cls.PRESETS[size]
        return cls(vocab_size=CharTokenizer().vocab_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd)


def rope_inv_freq(head_dim: int, base: float) -> torch.Tensor:
    return 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))  # (D/2,)


def rope_tables(positions: torch.Tensor, inv_freq: torch.Tensor):
    """positions (T,), inv_freq (D/2,) -> cos, sin each (T, D), rotate-half layout."""
    freqs = positions.float()[:, None] * inv_freq[None, :]  # (T, D/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, D)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, T, D); cos, sin (T, D)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class LayerCache:
    """Keys and values of the tokens seen so far, for one layer: (B, H, S, D) each."""

    def __init__(self):
        self.k: Optional[torch.Tensor] = None
        self.v: Optional[torch.Tensor] = None


class Attention(nn.Module):
    def __init__(self, cfg: TinyGPTConfig):
        super().__init__()
        self.n_head, self.n_embd = cfg.n_head, cfg.n_embd
        self.scale = 1.0 / math.sqrt(cfg.n_embd // cfg.n_head)
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, mask, cache: Optional[LayerCache]):
        B, T, _ = x.shape
        C, H = self.n_embd, self.n_head  # python ints: the ONNX export stays free of shape constants
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            if cache.k is not None:
                k = torch.cat([cache.k, k], dim=2)  # (B, H, S, D)
                v = torch.cat([cache.v, v], dim=2)
            cache.k, cache.v = k, v
        att = (q @ k.transpose(-2, -1)) * self.scale  # (B, H, T, S)
        # A large negative, not -inf: a left-pad query sees no real key, and must not become NaN.
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        y = F.softmax(att, dim=-1) @ v  # (B, H, T, D)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, cfg: TinyGPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(), nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.drop(self.attn(self.ln1(x), cos, sin, mask, cache))
        return x + self.drop(self.mlp(self.ln2(x)))


class TinyGPT(nn.Module):
    def __init__(self, cfg: TinyGPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2 / nanoGPT
        self.register_buffer("inv_freq", rope_inv_freq(cfg.n_embd // cfg.n_head, cfg.rope_base), persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # scaled init of residual projections (GPT-2)
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(
        self,
        idx: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        caches: Optional[List[LayerCache]] = None,
        start_pos: int = 0,
    ) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V).

        attention_mask (B, S) bool over all keys (S = start_pos + T; True = real token), or None
        when there is no left padding. With `caches`, the keys of earlier calls are reused.
        RoPE makes scores depend on relative positions only, so left padding needs no position shift.
        """
        B, T = idx.shape
        q_pos = torch.arange(T, device=idx.device) + start_pos  # (T,)
        k_pos = torch.arange(T + start_pos, device=idx.device)  # (S,)
        cos, sin = rope_tables(q_pos, self.inv_freq)
        mask = (k_pos[None, :] <= q_pos[:, None])[None, None]  # (1, 1, T, S)
        if attention_mask is not None:
            mask = mask & attention_mask[:, None, None, :].bool()  # (B, 1, T, S)
        x = self.wte(idx)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, mask, caches[i] if caches is not None else None)
        return self.lm_head(self.ln_f(x))  # (B, T, V)


def sampling_logprobs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits (..., V) -> log-probabilities (..., V) of the distribution sampled at `temperature`
    (temperature <= 0, greedy, reads as 1). The RL loss divides by the same temperature."""
    return F.log_softmax(logits.float() / (temperature if temperature > 0 else 1.0), dim=-1)


def sample_next(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits (B, V) -> token ids (B,). temperature <= 0 is greedy."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = sampling_logprobs(logits, temperature).exp()
    return torch.multinomial(probs, 1).squeeze(1)


def left_pad(prompts: List[List[int]], pad_id: int, device) -> tuple:
    """Prompts -> ids (B, P) and mask (B, P), padded on the left so all end at column P-1."""
    P = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), P), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), P), dtype=torch.bool)
    for i, p in enumerate(prompts):
        ids[i, P - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, P - len(p):] = True
    return ids.to(device), mask.to(device)


class TinyBackend:
    """The tiny GPT behind the `CausalLM` interface."""

    base_model = "tiny-gpt"

    def __init__(self, model: TinyGPT, tokenizer: CharTokenizer, device: torch.device):
        self.module = model.to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.pad_id = CharTokenizer.PAD
        self.eos_id = CharTokenizer.EOS

    @classmethod
    def new(cls, cfg: TinyGPTConfig, device: torch.device) -> "TinyBackend":
        return cls(TinyGPT(cfg), CharTokenizer(), device)

    @classmethod
    def load(cls, directory: str, device: torch.device) -> "TinyBackend":
        with open(os.path.join(directory, "tiny_gpt.json")) as f:
            meta = json.load(f)
        model = TinyGPT(TinyGPTConfig(**meta["config"]))
        model.load_state_dict(torch.load(os.path.join(directory, "model.pt"), map_location="cpu"))
        return cls(model, CharTokenizer.load(directory), device)

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        # Serialised in memory, written by Python: torch's own file writer, failing on a full disk,
        # throws again from its destructor at exit and aborts the process (a core dump, no exit
        # code); Python's write raises a plain OSError(ENOSPC) the runner reports.
        buf = io.BytesIO()
        torch.save(self.module.state_dict(), buf)
        with open(os.path.join(directory, "model.pt"), "wb") as f:
            f.write(buf.getbuffer())
        self.tokenizer.save(directory)
        with open(os.path.join(directory, "tiny_gpt.json"), "w") as f:
            json.dump({"format": FORMAT, "base_model": self.base_model, "config": asdict(self.module.cfg)}, f, indent=1)

    def frozen_copy(self) -> "TinyBackend":
        """A copy that never trains: the reference policy of a KL penalty."""
        module = copy.deepcopy(self.module).eval()
        for p in module.parameters():
            p.requires_grad_(False)
        return TinyBackend(module, self.tokenizer, self.device)

    def encode(self, text: str, bos: bool = False) -> List[int]:
        return self.tokenizer.encode(text, bos=bos)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids)

    def logits(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.module(input_ids, attention_mask)

    def generate(self, prompts: List[List[int]], max_new_tokens: int, temperature: float) -> List[List[int]]:
        return self.generate_with_logprobs(prompts, max_new_tokens, temperature)[0]

    @torch.no_grad()
    def generate_with_logprobs(self, prompts: List[List[int]], max_new_tokens: int,
                               temperature: float) -> Tuple[List[List[int]], List[List[float]]]:
        """Completions (without EOS) and the log-probability, at `temperature`, of every token
        sampled (EOS included when the row stopped by itself): what the policy assigned at sampling
        time, with the KV cache and left padding, for checking the loss's full forward pass."""
        was_training = self.module.training
        self.module.eval()
        ids, mask = left_pad(prompts, self.pad_id, self.device)  # (B, P)
        B, P = ids.shape
        caches = [LayerCache() for _ in self.module.blocks]
        logits = self.module(ids, mask, caches, 0)[:, -1]  # (B, V)
        finished = torch.zeros(B, dtype=torch.bool, device=self.device)
        out, out_logp = [], []
        for t in range(max_new_tokens):
            nxt = sample_next(logits, temperature)  # (B,)
            nxt = torch.where(finished, torch.full_like(nxt, self.pad_id), nxt)
            out.append(nxt)
            out_logp.append(sampling_logprobs(logits, temperature).gather(-1, nxt[:, None]).squeeze(-1))  # (B,)
            finished |= nxt == self.eos_id
            if bool(finished.all()) or t == max_new_tokens - 1:
                break
            mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.bool, device=self.device)], dim=1)
            logits = self.module(nxt[:, None], mask, caches, P + t)[:, -1]
        self.module.train(was_training)
        if not out:
            return [[] for _ in range(B)], [[] for _ in range(B)]
        gen = torch.stack(out, dim=1).tolist()  # (B, N)
        gen_logp = torch.stack(out_logp, dim=1).tolist()  # (B, N)
        completions, logps = [], []
        for row, row_logp in zip(gen, gen_logp):
            cut = row.index(self.eos_id) if self.eos_id in row else len(row)
            completions.append(row[:cut])
            logps.append(row_logp[: cut + 1] if cut < len(row) else row_logp)
        return completions, logps

    def export_onnx(self, path: str) -> Optional[str]:
        from .onnx_export import export_tiny_gpt

        return export_tiny_gpt(self.module, path)
