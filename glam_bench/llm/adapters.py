"""LoRA on the policy's language model (beyond the paper), built with peft.

The paper fine-tunes every weight of Flan-T5 (§C). LoRA is the usual way to
fine-tune decoder-only agents (lamorel's PPO-LoRA example, TWOSOME): the base
weights are frozen and each targeted linear layer ``W`` becomes
``W x + (alpha / r) B A x`` with trainable ``A`` (r x d_in, random) and ``B``
(d_out x r, zeros). A freshly built adapter therefore changes no score.

The adapter is injected into the model in place (``peft.inject_adapter_in_model``),
so the model keeps its transformers class and the candidate scorer, which reads
``model.config`` and calls ``get_encoder()`` or the model itself, runs
unchanged. The value and action heads stay fully trainable.

A checkpoint of an adapted policy holds only what training changes
(:func:`policy_state_dict`): the LoRA matrices and the heads, plus a
fingerprint of the frozen base; restoring rebuilds the base from the model
files (or the seeded random init of the non-pretrained twin) and refuses a
base whose fingerprint differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from glam_bench.runtime.config import AdapterConfig, ConfigError
from glam_bench.errors import GlamBenchError
from glam_bench.llm.sharding import full_state_dict, is_sharded, load_full_state_dict

#: Checkpoint key of the frozen base's fingerprint, beside the trainable tensors.
FINGERPRINT_KEY = "adapter.base_fingerprint"
#: peft names every adapter tensor ``...lora_A...``/``...lora_B...``; only these train.
ADAPTER_NAME_MARK = "lora_"
#: Model families whose linear layers peft must read transposed (GPT-2's Conv1D).
_FAN_IN_FAN_OUT_TYPES = frozenset({"gpt2"})


class AdapterStateError(GlamBenchError, ValueError):
    """An adapter checkpoint that does not fit the policy it is loaded into."""


def target_modules(model: nn.Module, adapter: AdapterConfig) -> list[str]:
    """The module names LoRA wraps: the preset's, else peft's default for the model family."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING  # peft takes seconds to import

    if adapter.target_modules is not None:
        return list(adapter.target_modules)
    model_type = model.config.model_type
    if model_type not in TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING:
        raise ConfigError(f"adapter.target_modules: no default for model type {model_type!r}; "
                          "name the linear layers to adapt in the adapter block")
    return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING[model_type])


def apply_adapter(model: nn.Module, adapter: AdapterConfig, seed: int) -> nn.Module:
    """Inject LoRA into ``model`` in place (seeded ``A``, zero ``B``); freeze everything else."""
    from peft import LoraConfig, inject_adapter_in_model

    names = target_modules(model, adapter)
    config = LoraConfig(r=adapter.r, lora_alpha=adapter.alpha, lora_dropout=adapter.dropout,
                        target_modules=names, bias="none",
                        fan_in_fan_out=model.config.model_type in _FAN_IN_FAN_OUT_TYPES)
    parameter = next(model.parameters())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            inject_adapter_in_model(config, model)
        except ValueError as error:
            if "not found in the base model" not in str(error):
                raise  # any other ValueError is a bug, not a preset to fix: keep its traceback
            raise ConfigError(f"adapter.target_modules: {error}") from error
    for name, p in model.named_parameters():
        p.requires_grad_(ADAPTER_NAME_MARK in name)
    # peft creates the adapter in float32 on the CPU and in train mode (dropout on):
    # follow the base model, in eval mode as load_model returns it.
    return model.to(device=parameter.device, dtype=parameter.dtype).eval()


def has_adapter(module: nn.Module) -> bool:
    """Whether any layer of ``module`` carries a LoRA adapter."""
    return any(ADAPTER_NAME_MARK in name for name, _ in module.named_parameters())


@contextlib.contextmanager
def adapter_dropout(module: nn.Module, generator: torch.Generator) -> Iterator[None]:
    """Switch LoRA's dropout on for the block (the rest of the model stays in eval mode).

    The masks are drawn from the global RNG reseeded from ``generator`` (a
    checkpointed one), so a resumed run draws the same masks; the global RNG
    is left as it was. Without dropout (p = 0, the default) nothing is drawn.
    """
    dropouts = [d for m in module.modules() if isinstance(getattr(m, "lora_dropout", None), nn.ModuleDict)
                for d in m.lora_dropout.values() if isinstance(d, nn.Dropout) and d.p > 0]
    if not dropouts:
        yield
        return
    device = next(module.parameters()).device
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for dropout in dropouts:
            dropout.train()
        try:
            yield
        finally:
            for dropout in dropouts:
                dropout.eval()


def base_fingerprint(module: nn.Module, per_tensor: int = 16) -> torch.Tensor:
    """Evenly spaced values of every frozen tensor: tells a checkpoint's base model from another.

    Exact values, not sums, so the check does not depend on reduction order.
    """
    from torch.distributed.tensor import DTensor

    picks = []
    with torch.no_grad():
        for p in module.parameters():
            if not p.requires_grad:
                # a sharded (FSDP) base: gather one tensor at a time, on every rank
                whole = p.full_tensor() if isinstance(p, DTensor) else p
                flat = whole.detach().reshape(-1)
                index = torch.linspace(0, flat.numel() - 1, per_tensor, device=flat.device).long()
                picks.append(flat[index].float().cpu())
    return torch.cat(picks)


def policy_state_dict(policy: nn.Module) -> dict[str, torch.Tensor]:
    """The weights a checkpoint holds: everything without an adapter; else trainable ones only.

    A sharded policy (FSDP) is gathered whole on rank 0; every rank must call this.
    """
    state = full_state_dict(policy) if is_sharded(policy) else policy.state_dict()
    if not has_adapter(policy):
        return state
    trainable = {name for name, p in policy.named_parameters() if p.requires_grad}
    kept = {name: tensor for name, tensor in state.items() if name in trainable}
    kept[FINGERPRINT_KEY] = base_fingerprint(policy)
    return kept


def load_policy_state_dict(policy: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Restore :func:`policy_state_dict`'s output into a freshly built policy of the same config."""
    if not has_adapter(policy):
        if FINGERPRINT_KEY in state:
            raise AdapterStateError("the checkpoint holds a LoRA adapter but the run config has no "
                                    "adapter block; evaluate it with the config it was trained with")
        _load(policy, state, strict=True)
        return
    if FINGERPRINT_KEY not in state:
        raise AdapterStateError("the checkpoint holds full weights but the run config asks for an "
                                "adapter; evaluate it with the config it was trained with")
    state = dict(state)
    saved = state.pop(FINGERPRINT_KEY)
    if not torch.equal(saved, base_fingerprint(policy)):
        raise AdapterStateError("the frozen base model differs from the one this adapter was "
                                "trained on (model files or seed changed)")
    trainable = {name for name, p in policy.named_parameters() if p.requires_grad}
    if set(state) != trainable:
        missing, extra = sorted(trainable - set(state)), sorted(set(state) - trainable)
        raise AdapterStateError(f"adapter checkpoint does not fit the policy: missing {missing[:3]}, "
                                f"unexpected {extra[:3]}")
    _load(policy, state, strict=False)


def _load(policy: nn.Module, state: dict[str, torch.Tensor], strict: bool) -> None:
    """``load_state_dict``, or its sharded equivalent under FSDP (each rank keeps its shard)."""
    if is_sharded(policy):
        load_full_state_dict(policy, state, strict=strict)
    else:
        policy.load_state_dict(state, strict=strict)
