"""Model loading (offline, init options of §B.4) and the tiny models built from the corpus."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest
import torch

from glam_bench.llm import tiny
from glam_bench.llm.corpus import corpus_sentences
from glam_bench.llm.loading import ModelNotAvailableError, fetch_command, load_model
from tests.llm_fixtures import tiny_gpt2, tiny_models_dir, tiny_t5  # noqa: F401  (fixtures)



@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_missing_real_model_fails_fast_offline_with_the_fetch_command(tmp_path, no_network):
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError) as error:
        load_model("google/flan-t5-large", models_dir=tmp_path)
    assert time.perf_counter() - start < 1.0
    message = str(error.value)
    assert "google/flan-t5-large" in message
    assert "hf download google/flan-t5-large --revision " in message
    assert f"--local-dir {tmp_path / 'flan-t5-large'}" in message
    assert fetch_command("google/flan-t5-large", tmp_path) in message


def test_missing_local_folder_fails_with_a_clear_error(tmp_path, no_network):
    with pytest.raises(ModelNotAvailableError, match="not available offline"):
        load_model(str(tmp_path / "nothing-here"), models_dir=tmp_path)


def test_folder_without_weights_is_enough_for_random_init_only(tmp_path, tiny_models_dir):
    folder = tmp_path / "config-only"
    folder.mkdir()
    for file in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / file).write_bytes((tiny_models_dir / "tiny-t5" / file).read_bytes())
    with pytest.raises(ModelNotAvailableError):
        load_model(str(folder))
    random_model = load_model(str(folder), pretrained=False)
    assert random_model.is_encoder_decoder


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_building_twice_gives_identical_files(tmp_path, tiny_models_dir):
    again = tiny.save_model("tiny-t5", tmp_path / "tiny-t5")
    assert _digests(again) == _digests(tiny_models_dir / "tiny-t5")
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(_digests(again))


def test_ensure_built_is_idempotent(tiny_models_dir):
    before = {p.name: p.stat().st_mtime_ns for p in (tiny_models_dir / "tiny-t5").iterdir()}
    assert tiny.ensure_built("tiny-t5", tiny_models_dir) == tiny_models_dir / "tiny-t5"
    assert before == {p.name: p.stat().st_mtime_ns for p in (tiny_models_dir / "tiny-t5").iterdir()}


def test_tiny_models_load_through_the_generic_loader(tiny_t5, tiny_gpt2, tiny_models_dir):
    assert type(tiny_t5.model).__name__ == "T5ForConditionalGeneration" and tiny_t5.is_encoder_decoder
    assert type(tiny_gpt2.model).__name__ == "GPT2LMHeadModel" and not tiny_gpt2.is_encoder_decoder
    by_path = load_model(str(tiny_models_dir / "tiny-t5"))
    for key, value in tiny_t5.model.state_dict().items():
        assert torch.equal(value, by_path.model.state_dict()[key]), key
    # Flan-T5 keeps a separate output embedding (T5 v1.1); so do the tiny T5s.
    assert tiny_t5.model.lm_head.weight is not tiny_t5.model.shared.weight
    assert not torch.equal(tiny_t5.model.lm_head.weight, tiny_t5.model.shared.weight)


def test_tokenizer_special_ids_and_round_trip_of_the_whole_corpus(tiny_t5, tiny_gpt2):
    tokenizer = tiny_t5.tokenizer
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    assert tokenizer("go forward")["input_ids"][-1] == 1  # T5 appends </s>
    assert tiny_gpt2.tokenizer("go forward")["input_ids"][-1] != 1
    sentences = corpus_sentences()
    encoded = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    assert not any(tokenizer.unk_token_id in ids for ids in encoded)
    assert tokenizer.batch_decode(encoded) == sentences
    assert tiny_t5.model.config.vocab_size >= len(tokenizer)


def test_random_init_is_seeded_and_differs_from_the_checkpoint(tiny_models_dir, tiny_t5):
    a = load_model("tiny-t5", models_dir=tiny_models_dir, pretrained=False, seed=3).model.state_dict()
    b = load_model("tiny-t5", models_dir=tiny_models_dir, pretrained=False, seed=3).model.state_dict()
    c = load_model("tiny-t5", models_dir=tiny_models_dir, pretrained=False, seed=4).model.state_dict()
    pretrained = tiny_t5.model.state_dict()
    key = "encoder.block.0.layer.0.SelfAttention.q.weight"
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a[key], c[key]) and not torch.equal(a[key], pretrained[key])
    assert not torch.equal(a["lm_head.weight"], a["shared.weight"])  # untied, as the config says


def test_embedding_only_loads_exactly_the_embed_and_shared_tensors(tiny_models_dir, tiny_t5):
    loaded = load_model("tiny-t5", models_dir=tiny_models_dir, pretrained=False, load_embedding_only=True)
    state, pretrained = loaded.model.state_dict(), tiny_t5.model.state_dict()
    for key in ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
        assert torch.equal(state[key], pretrained[key]), key
    for key in ("lm_head.weight", "encoder.block.0.layer.0.SelfAttention.q.weight", "decoder.block.1.layer.2.DenseReluDense.wo.weight"):
        assert not torch.equal(state[key], pretrained[key]), key
    with pytest.raises(ValueError, match="pretrained=False"):
        load_model("tiny-t5", models_dir=tiny_models_dir, load_embedding_only=True)


def test_embedding_only_for_a_causal_model_loads_its_embedding_modules(tiny_models_dir, tiny_gpt2):
    loaded = load_model("tiny-gpt2", models_dir=tiny_models_dir, pretrained=False, load_embedding_only=True)
    state, pretrained = loaded.model.state_dict(), tiny_gpt2.model.state_dict()
    assert torch.equal(state["transformer.wte.weight"], pretrained["transformer.wte.weight"])
    assert torch.equal(state["transformer.wpe.weight"], pretrained["transformer.wpe.weight"])
    key = "transformer.h.0.attn.c_attn.weight"
    assert not torch.equal(state[key], pretrained[key])


def test_size_study_variants_grow_and_the_benchmark_shape_is_flan_t5_small(tmp_path):
    sizes = []
    for name in ("tiny-t5-small", "tiny-t5-large", "tiny-t5-xl"):
        model = load_model(name, models_dir=tmp_path).model
        sizes.append(sum(p.numel() for p in model.parameters()))
    assert sizes[0] < sizes[1] < sizes[2]
    spec = tiny.TINY_MODELS["random-flan-t5-small"]
    assert (spec.d_model, spec.num_layers, spec.num_heads, spec.d_ff, spec.d_kv, spec.vocab_size) == (512, 8, 6, 1024, 64, 32128)
