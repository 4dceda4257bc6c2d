"""Where a PPO cycle's time goes on a GPU: one acting forward and one update minibatch, per precision.

A diagnostic beside ``glam-bench bench`` (which times whole cycles): it builds the
Flan-T5-large shape with random weights (:data:`glam_bench.tools.bench.SHAPES`), takes
the real prompts of the paper preset's envs, and times, with the device drained
before and after, (a) a no-grad scoring forward over ``num_envs`` prompts and
(b) forward+backward of one PPO minibatch, in fp32, tf32 and bf16, with SDPA
and with eager attention. Then it prints torch.profiler's top kernels of the
bf16 minibatch, so the gap between bf16 and fp32 can be read off, not guessed.

    python benchmarks/profile_gpu.py --model flan-t5-large --out $OUT/profile.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch

from glam_bench.tools.bench import bench_config, bench_policy
from glam_bench.runtime.devices import autocast


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def drained(fn, device, repeats: int = 3) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs after one warm-up, the device drained each time."""
    times = []
    for i in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        if i:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(policy, prompts, candidates, precision, device, minibatch) -> dict:
    acting = prompts[:32]
    batch = (prompts * (minibatch // len(prompts) + 1))[:minibatch]

    def act():
        with torch.no_grad(), autocast(device, precision):
            policy(acting, [candidates] * len(acting))

    def update():
        with autocast(device, precision):
            out = policy(batch, [candidates] * len(batch))
        loss = torch.logsumexp(out.logits.float(), -1).mean() + out.values.float().pow(2).mean()
        loss.backward()
        policy.zero_grad(set_to_none=True)

    return {"act_s": drained(act, device), "minibatch_s": drained(update, device)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="flan-t5-large")
    parser.add_argument("--minibatch", type=int, default=64)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--chunks", action="store_true",
                        help="only compare prompt chunks of 8 with one encoder pass, no profile")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    device = torch.device(args.device)
    config, _ = bench_config("workflows/config/paper.yaml", args.model, "fp32", args.device)
    config = dataclasses.replace(config, device=args.device)
    from glam_bench.agents.llm_ppo import LLMPPOLearner

    policy = bench_policy(config, device)
    learner = LLMPPOLearner(config, policy=policy)
    prompts, candidates = list(learner.prompts), list(learner.candidates)
    results = {}
    if args.chunks:
        for chunk in (8, None):
            policy.scorer.chunk_size = lambda chunk=chunk: chunk
            for precision in ("fp32", "tf32", "bf16"):
                key = f"chunk{chunk}-{precision}"
                results[key] = measure(policy, prompts, candidates, precision, device, args.minibatch)
                print(key, results[key], flush=True)
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
        learner.close()
        return
    for attention in ("sdpa", "eager"):
        policy.llm.config._attn_implementation = attention
        for precision in ("fp32", "tf32", "bf16"):
            key = f"{attention}-{precision}"
            results[key] = measure(policy, prompts, candidates, precision, device, args.minibatch)
            print(key, results[key], flush=True)
    policy.llm.config._attn_implementation = "sdpa"
    batch = (prompts * 2)[:args.minibatch]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        with autocast(device, "bf16"):
            out = policy(batch, [candidates] * len(batch))
        (torch.logsumexp(out.logits.float(), -1).mean() + out.values.float().mean()).backward()
        sync(device)
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=25)
    print(table)
    results["bf16_profile_top25"] = table
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    learner.close()


if __name__ == "__main__":
    main()
