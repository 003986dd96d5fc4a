"""Hugging Face transformers backend (GPU machines), behind the same interface as the tiny GPT.

Imported only when a run uses it: transformers is not installed on the CPU machines. Models come
from a local directory (the input checkpoint's uri) or are built from a config dict (`hf_config`)
with the built-in character tokenizer; nothing is ever downloaded from a hub.
"""
from __future__ import annotations

import copy
import json
import os
from typing import List, Optional, Sequence

import torch

from .tiny_gpt import CharTokenizer, left_pad

META_FILE = "stagewise.json"


def _torch_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "bfloat16":
        return torch.bfloat16
    if dtype == "float32":
        return torch.float32
    bf16_ok = device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_ok else torch.float32


class _CharAdapter:
    """The built-in character tokenizer with the few attributes the backend reads."""

    def __init__(self, tok: CharTokenizer):
        self.tok = tok
        self.pad_token_id, self.bos_token_id, self.eos_token_id = tok.PAD, tok.BOS, tok.EOS

    def encode(self, text: str) -> List[int]:
        return self.tok.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(ids)

    def save_pretrained(self, directory: str) -> None:
        self.tok.save(directory)


class _HFTokenizer:
    def __init__(self, tok):
        self.tok = tok
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self.pad_token_id, self.bos_token_id, self.eos_token_id = tok.pad_token_id, tok.bos_token_id, tok.eos_token_id

    def encode(self, text: str) -> List[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)

    def save_pretrained(self, directory: str) -> None:
        self.tok.save_pretrained(directory)


class HFBackend:
    def __init__(self, model, tokenizer, device: torch.device, base_model: str,
                 compute_dtype: torch.dtype = torch.float32):
        # Mixed precision: float32 master weights (what the optimizer updates), bf16 compute under
        # autocast. Pure-bf16 weights made GRPO updates go to NaN on a GPU within ten steps.
        self.module = model.to(device=device, dtype=torch.float32)
        self.compute_dtype = compute_dtype
        self.tokenizer = tokenizer
        self.device = device
        self.base_model = base_model
        self.pad_id = tokenizer.pad_token_id
        self.eos_id = tokenizer.eos_token_id
        self.bos_id = tokenizer.bos_token_id

    @classmethod
    def load(cls, path: str, device: torch.device, dtype: str) -> "HFBackend":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32,
                                                     local_files_only=True)
        if os.path.exists(os.path.join(path, "char_tokenizer.json")):
            tok = _CharAdapter(CharTokenizer.load(path))
        else:
            tok = _HFTokenizer(AutoTokenizer.from_pretrained(path, local_files_only=True))
        base = getattr(model.config, "_name_or_path", None) or model.config.model_type
        if os.path.exists(os.path.join(path, META_FILE)):
            with open(os.path.join(path, META_FILE)) as f:
                base = json.load(f).get("base_model", base)
        return cls(model, tok, device, base, _torch_dtype(dtype, device))

    @classmethod
    def from_config(cls, hf_config: dict, device: torch.device, dtype: str) -> "HFBackend":
        from transformers import AutoConfig, AutoModelForCausalLM

        cfg = dict(hf_config)
        model_type = cfg.pop("model_type", None)
        if not model_type:
            raise ValueError('hf_config needs "model_type" (e.g. "llama", "qwen2", "gpt2")')
        tok = _CharAdapter(CharTokenizer())
        cfg.update(vocab_size=tok.tok.vocab_size, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                   eos_token_id=tok.eos_token_id)
        config = AutoConfig.for_model(model_type, **cfg)
        model = AutoModelForCausalLM.from_config(config)
        return cls(model, tok, device, f"hf-{model_type}-scratch", _torch_dtype(dtype, device))

    def encode(self, text: str, bos: bool = False) -> List[int]:
        ids = self.tokenizer.encode(text)
        return [self.bos_id] + ids if bos and self.bos_id is not None else ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids)

    def _autocast(self):
        enabled = self.device.type == "cuda" and self.compute_dtype != torch.float32
        return torch.autocast(device_type=self.device.type, dtype=self.compute_dtype, enabled=enabled)

    def logits(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        with self._autocast():
            return self._logits(input_ids, attention_mask)

    def _logits(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if attention_mask is None:
            return self.module(input_ids=input_ids).logits
        mask = attention_mask.long()
        # Absolute-position models need positions that start at the first real token.
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        return self.module(input_ids=input_ids, attention_mask=mask, position_ids=position_ids).logits

    @torch.no_grad()
    def generate(self, prompts: List[List[int]], max_new_tokens: int, temperature: float) -> List[List[int]]:
        was_training = self.module.training
        self.module.eval()
        ids, mask = left_pad(prompts, self.pad_id, self.device)
        # bf16 logits can overflow to inf/nan after an update; sampling from them trips a CUDA assert.
        kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=self.pad_id, eos_token_id=self.eos_id,
                      remove_invalid_values=True)
        if temperature > 0:
            # Plain sampling from the full distribution: what the policy-gradient maths assume.
            kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            kwargs.update(do_sample=False)
        with self._autocast():
            out = self.module.generate(input_ids=ids, attention_mask=mask.long(), **kwargs)
        self.module.train(was_training)
        completions = []
        for row in out[:, ids.shape[1]:].tolist():
            cut = row.index(self.eos_id) if self.eos_id in row else len(row)
            completions.append(row[:cut])
        return completions

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.module.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        with open(os.path.join(directory, META_FILE), "w") as f:
            json.dump({"base_model": self.base_model}, f)

    def frozen_copy(self) -> "HFBackend":
        module = copy.deepcopy(self.module).eval()
        for p in module.parameters():
            p.requires_grad_(False)
        return HFBackend(module, self.tokenizer, self.device, self.base_model, self.compute_dtype)

    def export_onnx(self, path: str) -> Optional[str]:
        return None  # the in-API scorer runs the tiny student; large models are scored elsewhere
