"""ONNX export of the tiny GPT: input_ids (batch, seq) int64 -> logits (batch, seq, vocab).

The API scores traces with it (onnxruntime-node) to pick the one the student finds most likely.
`torch.onnx.export` (the TorchScript exporter) works without the `onnx` Python module.
"""
from __future__ import annotations

import inspect
import os

import torch


class _LogitsOnly(torch.nn.Module):
    """Positional (input_ids) -> logits, no cache, no padding mask: what the scorer needs."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids)


def export_tiny_gpt(model: torch.nn.Module, path: str, opset: int = 14) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    dummy = torch.ones((2, 8), dtype=torch.long, device=device)
    kwargs = dict(
        input_names=["input_ids"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
        opset_version=opset,
        do_constant_folding=True,
    )
    # torch >= 2.5 grew a `dynamo` switch (and later made it the default); this model is exported
    # with the TorchScript exporter, which needs no onnx / onnxscript modules.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    try:
        with torch.no_grad():
            torch.onnx.export(_LogitsOnly(model), (dummy,), path, **kwargs)
    finally:
        model.train(was_training)
    return path
