"""Model backends behind one small interface (see `CausalLM`), and `load_model` to pick one."""
from __future__ import annotations

import os
from typing import List, Optional, Protocol, Sequence

import torch


class CausalLM(Protocol):
    """What the stages need from a model, whatever the backend.

    Token ids are plain lists; tensors are on `device`. `logits` is the only method that builds an
    autograd graph. Padding: generation left-pads prompts; `logits` takes a key mask for pads.
    """

    base_model: str
    module: torch.nn.Module
    device: torch.device
    pad_id: int
    eos_id: int

    def encode(self, text: str, bos: bool = False) -> List[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def logits(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """input_ids (B, T) long, attention_mask (B, T) bool (True = real token) -> (B, T, V) float."""
        ...

    def generate(
        self, prompts: List[List[int]], max_new_tokens: int, temperature: float
    ) -> List[List[int]]:
        """One completion per prompt (ids, without EOS). temperature 0 = greedy."""
        ...

    def save(self, directory: str) -> None: ...

    def frozen_copy(self) -> "CausalLM":
        """A copy with gradients off, in eval mode (the KL reference)."""
        ...

    def export_onnx(self, path: str) -> Optional[str]:
        """Write an ONNX export with per-token logits; None if this backend has none."""
        ...


def is_tiny_checkpoint(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, "tiny_gpt.json"))


def load_model(
    checkpoint_uri: Optional[str],
    *,
    model_size: str,
    hf_config: Optional[dict],
    device: torch.device,
    dtype: str,
    seed: int,
) -> CausalLM:
    """The input checkpoint's model, or a fresh one (from `hf_config` if given, else a tiny GPT of
    `model_size`) when the run trains from scratch. Transformers is imported only on the HF path."""
    if checkpoint_uri:
        path = checkpoint_uri[len("file://"):] if checkpoint_uri.startswith("file://") else checkpoint_uri
        if not os.path.isdir(path):
            raise FileNotFoundError(f"input checkpoint {checkpoint_uri!r} is not a directory on this machine")
        if is_tiny_checkpoint(path):
            from .tiny_gpt import TinyBackend

            return TinyBackend.load(path, device)
        from .hf import HFBackend

        return HFBackend.load(path, device, dtype)
    torch.manual_seed(seed)
    if hf_config:
        from .hf import HFBackend

        return HFBackend.from_config(hf_config, device, dtype)
    from .tiny_gpt import TinyBackend, TinyGPTConfig

    return TinyBackend.new(TinyGPTConfig.preset(model_size), device)
