"""FSDP for policies that fit no single GPU: sharding, and checkpoints in the single-process format.

``data_parallel: fsdp`` (a preset key, :class:`glam_bench.runtime.config.RunConfig`)
shards the policy with torch's FSDP2 (``fully_shard``): each transformer
block is one unit (all-gathered just before it runs, freed after), the rest of
the policy (embeddings, final norms, LM head, value and action heads) is the
root unit. Weights, gradients and Adam's moments are then split over the
ranks, so a Flan-T5-xl in fp32 with Adam (about 48 GB) spreads over 4 GPUs as
the authors' runs did. With a LoRA adapter the frozen base and the trainable
adapter share units: FSDP2 keeps one ``requires_grad`` per parameter, so the
base stays frozen (checked on CPU with gloo).

A checkpoint stays what a single process writes: the full state dict (or the
adapter-only one, :func:`glam_bench.llm.adapters.policy_state_dict`) and the
optimizer's state keyed by parameter index. Gathering it is a collective that
every rank enters; only rank 0 receives the tensors (on the CPU). Loading
takes the full dict on every rank and keeps each rank's shard. So
``glam-bench evaluate`` (one process) and a resume under any engine or world
size read the same file.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# torch.distributed.checkpoint takes about a second to import: imported where used, so runs
# without FSDP (every one-process run) never pay for it.

#: Options of every gather: whole tensors, on the CPU, on rank 0 only (the rank that writes).
_GATHER = {"full_state_dict": True, "cpu_offload": True}


def is_sharded(module: nn.Module) -> bool:
    """Whether ``module`` is the root of an FSDP2-sharded policy."""
    from torch.distributed.fsdp import FSDPModule

    return isinstance(module, FSDPModule)


def block_classes(model: nn.Module) -> set[str]:
    """Class names of the model's transformer blocks (T5Block, GPT2Block, LlamaDecoderLayer...).

    Hugging Face lists them in ``_no_split_modules``, the modules it never
    splits across devices: exactly the units worth sharding one by one.
    """
    names = set(getattr(model, "_no_split_modules", None) or ())
    if not names:
        raise ValueError(f"{type(model).__name__} names no transformer blocks (_no_split_modules); "
                         "FSDP needs them to shard layer by layer")
    return names


def shard_policy(policy: nn.Module) -> nn.Module:
    """Shard ``policy`` in place over the default process group: each block, then the whole.

    Build the optimizer afterwards: it must hold the sharded parameters.
    """
    from torch.distributed.fsdp import fully_shard

    blocks = block_classes(policy.llm)
    for module in policy.llm.modules():
        if type(module).__name__ in blocks:
            fully_shard(module)
    fully_shard(policy)
    return policy


def full_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded state dict of a sharded ``module`` on rank 0 (CPU tensors); {} elsewhere."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
    )

    return get_model_state_dict(module, options=StateDictOptions(**_GATHER))


def load_full_state_dict(module: nn.Module, state: dict[str, torch.Tensor], strict: bool = True) -> None:
    """Load a full (single-process) state dict into a sharded ``module``; every rank passes it."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_model_state_dict,
    )

    set_model_state_dict(module, state, options=StateDictOptions(full_state_dict=True, strict=strict))


def _parameter_names(module: nn.Module, optimizer: torch.optim.Optimizer) -> list[list[str]]:
    """Each optimizer group's parameters by name, in the optimizer's order (its state's indices)."""
    names = {id(p): name for name, p in module.named_parameters()}
    return [[names[id(p)] for p in group["params"]] for group in optimizer.param_groups]


def full_optimizer_state_dict(module: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """``optimizer.state_dict()`` as one process holding the whole model would write it (rank 0).

    torch's gather keys the state by parameter name; a single-process
    optimizer keys it by index (position in its groups). The index format is
    the one on disk. Other ranks get an empty state.
    """
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_optimizer_state_dict,
    )

    named = get_optimizer_state_dict(module, optimizer, options=StateDictOptions(**_GATHER))
    groups, state, index = [], {}, 0
    for names, group in zip(_parameter_names(module, optimizer), named.get("param_groups", ())):
        for name in names:
            if name in named.get("state", {}):
                state[index] = named["state"][name]
            index += 1
        groups.append({**group, "params": list(range(index - len(names), index))})
    return {"state": state, "param_groups": groups}


def load_full_optimizer_state_dict(module: nn.Module, optimizer: torch.optim.Optimizer,
                                   state: dict[str, Any]) -> None:
    """Load a single-process ``optimizer.state_dict()`` into the optimizer of a sharded ``module``."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_optimizer_state_dict,
    )

    names = [name for group in _parameter_names(module, optimizer) for name in group]
    groups = [{**group, "params": [names[i] for i in group["params"]]}
              for group in state["param_groups"]]
    named = {"state": {names[i]: value for i, value in state["state"].items()}, "param_groups": groups}
    set_optimizer_state_dict(module, optimizer, named, options=StateDictOptions(full_state_dict=True))
    # torch's loader hands tuples back as lists (Adam's betas): keep the saved values as they are
    for group, saved in zip(optimizer.param_groups, state["param_groups"]):
        group.update({key: value for key, value in saved.items() if key != "params"})
