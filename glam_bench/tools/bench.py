"""``glam-bench bench``: throughput, FLOP rate and memory of full PPO cycles on this device.

A cycle is what :class:`~glam_bench.agents.llm_ppo.LLMPPOLearner` does per
update: act in ``num_envs`` envs for ``frames_per_env`` frames (the real
envs, prompts and scorer), then ``epochs`` passes of minibatches of the PPO
update. The batch geometry comes from a preset (optionally shortened with
``frames_per_env`` so a benchmark fits in seconds); the model is a built-in
or local one by name, or a real architecture with random weights
(:data:`SHAPES`; no download, no checkpoint needed).

FLOPs are counted with :class:`torch.utils.flop_counter.FlopCounterMode` over
the first (warm-up) cycle, not guessed; the timed cycles then run without the
counter (its dispatch overhead would distort the timing), and their FLOP rate
is the counted FLOPs per frame times their frames per second. The counter
counts matrix products (``mm``, ``bmm``, attention kernels): the padded
shapes actually computed. A dense matrix product of the same precision,
timed in the same process, is the achievable ceiling the rate is compared to.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from glam_bench.runtime.config import RunConfig, resolve_run, study_grid

from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.runtime.devices import check_precision, resolve_device, set_matmul_precision
from glam_bench.llm.heads import LLMPolicy
from glam_bench.llm.loading import attention_implementation
from glam_bench.paper.study import LLM_AGENTS
from glam_bench.paper.vocabulary import ACTION_SPACES

#: Dense peak TFLOP/s by datasheet (SXM parts), keyed by a substring of the CUDA device name.
DEVICE_PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H100": {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0},
    "H200": {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0},
    "A100": {"bf16": 312.0, "tf32": 156.0, "fp32": 19.5},
}

_T5_VOCAB, _T5_COMMON = 32128, dict(d_kv=64, feed_forward_proj="gated-gelu", tie_word_embeddings=False)

#: Real architectures benchmarked with random weights: the model's ``config.json`` values.
SHAPES: dict[str, dict[str, Any]] = {
    "flan-t5-small": dict(family="t5", d_model=512, d_ff=1024, num_layers=8, num_heads=6, **_T5_COMMON),
    "flan-t5-base": dict(family="t5", d_model=768, d_ff=2048, num_layers=12, num_heads=12, **_T5_COMMON),
    "flan-t5-large": dict(family="t5", d_model=1024, d_ff=2816, num_layers=24, num_heads=16, **_T5_COMMON),
    "flan-t5-xl": dict(family="t5", d_model=2048, d_ff=5120, num_layers=24, num_heads=32, **_T5_COMMON),
    "smollm2-135m": dict(family="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                         tie_word_embeddings=True, rms_norm_eps=1e-5, rope_theta=100000.0,
                         max_position_embeddings=8192),
}


# --- The model --------------------------------------------------------------------


def shape_model(name: str, device: torch.device, seed: int = 0) -> tuple[torch.nn.Module, Any]:
    """A :data:`SHAPES` architecture with seeded random weights, built directly on ``device``.

    The tokenizer is the built-in corpus BPE (:func:`glam_bench.llm.tiny.build_tokenizer`),
    not the model's own, so prompt token counts differ from the real tokenizer's:
    the JSON reports the counts used.
    """
    from transformers import LlamaConfig, LlamaForCausalLM, T5Config, T5ForConditionalGeneration

    from glam_bench.llm.tiny import build_tokenizer

    spec = dict(SHAPES[name])
    family = spec.pop("family")
    if family == "t5":
        config = T5Config(vocab_size=_T5_VOCAB, num_decoder_layers=spec["num_layers"], pad_token_id=0,
                          eos_token_id=1, decoder_start_token_id=0, **spec)
        cls, tokenizer = T5ForConditionalGeneration, build_tokenizer("t5")
    else:
        config = LlamaConfig(pad_token_id=0, bos_token_id=1, eos_token_id=1, **spec)
        cls, tokenizer = LlamaForCausalLM, build_tokenizer("gpt2")
    config._attn_implementation = attention_implementation(device)
    with torch.random.fork_rng(devices=[]), torch.device(device):
        torch.manual_seed(seed)
        model = cls(config)
    return model.eval(), tokenizer


def bench_policy(config: RunConfig, device: torch.device) -> LLMPolicy:
    """The GFlan policy of ``config.model``: a :data:`SHAPES` name, or any loadable model."""
    n_actions = len(ACTION_SPACES[config.action_space])
    from glam_bench.agents.llm_ppo import scoring_config

    scoring = scoring_config(config)
    if config.model not in SHAPES:
        return LLMPolicy.from_pretrained(config.model, "gflan", n_actions=n_actions, scoring=scoring,
                                         head_hidden=config.value_head_hidden,
                                         models_dir=config.models_dir, seed=config.seed, device=device)
    model, tokenizer = shape_model(config.model, device, config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        policy = LLMPolicy(model, tokenizer, "gflan", n_actions, scoring, config.value_head_hidden)
    return policy.to(device)


# --- Measuring ----------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """``fn()``'s result and its wall time in seconds, the device drained before and after."""
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def counted(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()``'s result and the FLOPs it ran, counted by torch's FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


def dense_matmul_tflops(device: torch.device, precision: str, size: int | None = None,
                        repeats: int = 10) -> float:
    """Median TFLOP/s of a square matrix product in ``precision`` on ``device``: the achievable ceiling.

    For ``bf16`` the operands are cast once beforehand, so only the product is timed.
    """
    size = size or (8192 if device.type == "cuda" else 512)
    generator = torch.Generator(device=device).manual_seed(0)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = (torch.randn(size, size, device=device, generator=generator).to(dtype) for _ in range(2))
    set_matmul_precision(precision)
    times = []
    for i in range(repeats + 3):
        _, seconds = timed(lambda: a @ b, device)
        if i >= 3:
            times.append(seconds)
    times.sort()
    return 2 * size**3 / times[len(times) // 2] / 1e12


def peak_memory_bytes(device: torch.device) -> int:
    """Peak device memory allocated (CUDA) or the process's peak resident memory (CPU)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def device_peak_tflops(name: str, precision: str) -> float | None:
    for key, peaks in DEVICE_PEAK_TFLOPS.items():
        if key in name:
            return peaks[precision]
    return None


# --- One benchmark ---------------------------------------------------------------------


@dataclass
class CyclePhases:
    """Seconds of acting and of the update in one PPO cycle, and the frames acted."""

    act_s: float
    update_s: float
    frames: int
    tokens: int


def bench_config(preset_path: str | Path, model: str, precision: str, device: str,
                 experiment: str | None = None, frames_per_env: int | None = None,
                 num_envs: int | None = None) -> tuple[RunConfig, dict]:
    """The GFlan run config of ``experiment`` (default: the preset's first) with the bench's overrides."""
    preset = load_preset(preset_path)
    if experiment is None:
        experiment = next(name for name, spec in study_grid(preset).items() if "gflan" in spec.agents)
    config = resolve_run(preset, experiment, "gflan", preset["seeds"][0])
    overrides = {"model": model, "precision": check_precision(precision), "device": device}
    if frames_per_env:
        overrides["frames_per_env"] = frames_per_env
    if num_envs:
        overrides["num_envs"] = num_envs
    return dataclasses.replace(config, **overrides), preset


def run_cycle(learner, count_flops: bool = False) -> tuple[CyclePhases, int, int]:
    """One PPO cycle of ``learner`` (act, then update), timed per phase; FLOPs of each if asked."""
    from glam_bench.agents.llm_ppo import ppo_update

    config, device = learner.config, learner.device

    def act():
        return learner._collect()

    def update(batch):
        return ppo_update(learner.engine, learner.optimizer, batch, learner.candidates, config.ppo,
                          learner.minibatch_generator, device, config.precision)

    act_flops = update_flops = 0
    if count_flops:
        ((batch, _), act_flops), act_s = timed(lambda: counted(act), device)
        (_, update_flops), update_s = timed(lambda: counted(lambda: update(batch)), device)
    else:
        (batch, _), act_s = timed(act, device)
        _, update_s = timed(lambda: update(batch), device)
    phases = CyclePhases(act_s, update_s, len(batch.prompts), useful_tokens(learner, batch.prompts))
    return phases, act_flops, update_flops


def useful_tokens(learner, prompts: list[str]) -> int:
    """Unpadded tokens the model reads for ``prompts`` once (prompt plus every candidate)."""
    scorer = learner.policy.scorer
    prompt = sum(len(t) for t in scorer._prompt_tokens(prompts))
    candidates = sum(len(t) for t in scorer._candidate_tokens(learner.candidates))
    return prompt + candidates * len(prompts)


def run_bench(preset_path: str | Path, model: str, precision: str, device: str = "auto",
              cycles: int = 2, experiment: str | None = None, frames_per_env: int | None = None,
              num_envs: int | None = None, progress: Callable[[str], None] = print) -> dict:
    """Benchmark ``cycles`` timed PPO cycles after one counted warm-up cycle; the JSON record."""
    from glam_bench.agents.llm_ppo import LLMPPOLearner

    torch_device = resolve_device(device)
    config, preset = bench_config(preset_path, model, precision, device, experiment, frames_per_env,
                                  num_envs)
    config = dataclasses.replace(config, device=str(torch_device))
    if torch_device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(torch_device)
    (policy, build_s) = timed(lambda: bench_policy(config, torch_device), torch_device)
    learner = LLMPPOLearner(config, policy=policy)
    try:
        progress(f"bench {model} {precision}: warm-up cycle (FLOPs counted)")
        warm, act_flops, update_flops = run_cycle(learner, count_flops=True)
        phases = []
        for i in range(cycles):
            progress(f"bench {model} {precision}: timed cycle {i + 1}/{cycles}")
            phases.append(run_cycle(learner)[0])
    finally:
        learner.close()
    matmul = dense_matmul_tflops(torch_device, precision)
    record = summarize(config, preset, warm, act_flops, update_flops, phases, matmul, torch_device)
    record["build_s"] = round(build_s, 3)
    record["parameters"] = sum(p.numel() for p in policy.parameters())
    record["prompt_tokens"] = prompt_token_stats(learner)
    record["tokenizer"] = ("built-in corpus BPE (glam_bench.llm.tiny), not the model's own"
                           if model in SHAPES else f"{model}'s own")
    return record


def prompt_token_stats(learner) -> dict:
    """Token counts of the current prompts with the tokenizer used (reported, never assumed)."""
    lengths = sorted(len(t) for t in learner.policy.scorer._prompt_tokens(learner.prompts))
    return {"min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1]}


def summarize(config: RunConfig, preset: dict, warm: CyclePhases, act_flops: int, update_flops: int,
              phases: list[CyclePhases], matmul_tflops: float, device: torch.device) -> dict:
    """The benchmark record: rates over the timed cycles, FLOP rate, fractions, projections."""
    frames = sum(p.frames for p in phases)
    act_s, update_s = sum(p.act_s for p in phases), sum(p.update_s for p in phases)
    cycle_s = act_s + update_s
    flops_per_frame = (act_flops + update_flops) / warm.frames
    tokens = sum(p.tokens for p in phases) * (1 + config.ppo.epochs)
    achieved = flops_per_frame * frames / cycle_s / 1e12
    name = device_name(device)
    peak = device_peak_tflops(name, config.precision) if device.type == "cuda" else None
    cycle_fps = frames / cycle_s
    return {
        "device": name,
        "model": config.model,
        "precision": config.precision,
        "preset": config.preset,
        "experiment": config.experiment,
        "geometry": {"num_envs": config.num_envs, "frames_per_env": config.frames_per_env,
                     "epochs": config.ppo.epochs, "minibatch_size": config.ppo.minibatch_size,
                     "micro_batch_size": getattr(config.ppo, "micro_batch_size", None)},
        "timed_cycles": len(phases),
        "frames_timed": frames,
        "acting_frames_per_s": frames / act_s,
        "update_frames_per_s": frames / update_s,
        "cycle_frames_per_s": cycle_fps,
        "tokens_per_s": tokens / cycle_s,
        "flops_per_frame": {"acting": act_flops / warm.frames, "update": update_flops / warm.frames,
                            "cycle": flops_per_frame},
        "achieved_tflops": achieved,
        "dense_matmul_tflops": matmul_tflops,
        "fraction_of_matmul": achieved / matmul_tflops,
        "device_peak_tflops": peak,
        "fraction_of_peak": achieved / peak if peak else None,
        "peak_memory_gib": peak_memory_bytes(device) / 2**30,
        "projected_hours": projected_hours(preset, cycle_fps, config.model),
    }


def projected_hours(preset: dict, cycle_frames_per_s: float, model: str) -> dict:
    """Hours of each LLM-PPO run of every experiment at the measured whole-cycle rate.

    Only meaningful for the runs of the benchmarked model; each entry says its own model.
    """
    out = {}
    for experiment, spec in study_grid(preset).items():
        agents = [a for a in spec.agents if a in LLM_AGENTS]
        if not agents:
            continue
        run = resolve_run(preset, experiment, agents[0], preset["seeds"][0])
        hours = run.total_frames / cycle_frames_per_s / 3600
        out[experiment] = {"preset_model": run.model, "benched_model": model,
                           "runs": len(agents) * len(preset["seeds"]), "hours_per_run": round(hours, 4),
                           "total_frames": run.total_frames}
    return out


# --- Output ------------------------------------------------------------------------

TABLE_HEADER = ("| device | model | precision | envs x frames | acting fr/s | update fr/s | cycle fr/s "
                "| tokens/s | TFLOP/s | of matmul | of peak | peak GiB |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|")


def table_row(record: dict) -> str:
    """One markdown row of :data:`TABLE_HEADER` for a benchmark record."""
    g = record["geometry"]
    peak = record["fraction_of_peak"]
    return (f"| {record['device']} | {record['model']} | {record['precision']} "
            f"| {g['num_envs']}x{g['frames_per_env']} | {record['acting_frames_per_s']:.1f} "
            f"| {record['update_frames_per_s']:.1f} | {record['cycle_frames_per_s']:.1f} "
            f"| {record['tokens_per_s']:.0f} | {record['achieved_tflops']:.2f} "
            f"| {record['fraction_of_matmul']:.0%} | {'' if peak is None else f'{peak:.0%}'} "
            f"| {record['peak_memory_gib']:.1f} |")


def write_record(record: dict, path: str | Path) -> None:
    from glam_bench.runtime.results import atomic_open

    with atomic_open(path) as handle:
        json.dump(record, handle, indent=2, sort_keys=True)


def collect(parts: str | Path, json_path: str | Path, markdown_path: str | Path) -> list[dict]:
    """Merge the records of a folder (one JSON per benchmark) into one JSON list and a table.

    Records already in ``json_path`` are kept unless a part replaces them (same device,
    model and precision), so a later partial run adds to an earlier one.
    """
    from glam_bench.runtime.results import atomic_open

    key = lambda r: (r["device"], r["model"], r["precision"])  # noqa: E731
    json_path = Path(json_path)
    merged = {key(r): r for r in (json.loads(json_path.read_text(encoding="utf-8"))
                                  if json_path.is_file() else [])}
    for part in sorted(Path(parts).glob("*.json")):
        record = json.loads(part.read_text(encoding="utf-8"))
        merged[key(record)] = record
    records = sorted(merged.values(), key=key)
    with atomic_open(json_path) as handle:
        json.dump(records, handle, indent=2, sort_keys=True)
    with atomic_open(markdown_path) as handle:
        handle.write("\n".join([TABLE_HEADER, *(table_row(r) for r in records)]) + "\n")
    return records


if __name__ == "__main__":  # python -m glam_bench.tools.bench PARTS_DIR OUT.json OUT.md (benchmarks/gpu.sh)
    import sys

    collect(*sys.argv[1:4])
