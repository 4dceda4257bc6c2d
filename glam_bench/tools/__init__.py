"""Measurement tools beside the study: ``bench`` (throughput, FLOP rate and memory of PPO cycles)."""
