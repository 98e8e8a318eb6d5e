"""Stand-ins for the paper profile's downloads, in the layouts the real files have, with random
weights: what the local imitation of the Hub (``tests/localhub.py``) serves in the rehearsal.

Nothing here is real content: the weights are seeded noise, so a stand-in checks where files are and
how they are read, never what a network has learnt.  The tokenizer is the exception: it is CLIP's
real vocabulary, rebuilt from the BPE merges the ``openai-clip`` package ships (pyiqa's dependency).
"""

import gzip
import json
from pathlib import Path

import torch


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's and CLIP's map of the 256 bytes to printable characters."""
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


def clip_tokenizer(folder: Path) -> None:
    """SD 2.1's ``tokenizer/`` (CLIPTokenizer: vocab.json, merges.txt, its config; pad "!", 77 tokens)."""
    import importlib.util

    spec = importlib.util.find_spec("clip")
    bpe = Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    chars = list(_bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    special = {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "!",
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    config = {**special, "model_max_length": 77, "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def clip_text_encoder(folder: Path, hidden: int = 1024, layers: int = 23, heads: int = 16, seed: int = 0) -> None:
    """SD 2.1's ``text_encoder/`` (CLIPTextModel; OpenCLIP ViT-H/14's text tower at the defaults)."""
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, max_position_embeddings=77, hidden_act="gelu", projection_dim=512,
        bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )  # fmt: skip
    CLIPTextModel(config).save_pretrained(folder)
