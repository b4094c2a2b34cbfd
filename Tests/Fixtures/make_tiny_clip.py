"""Makes Tests/Fixtures/tiny-clip: a tiny CLIP model (CLIPModel: text tower with projection, vision projection)
and a CLIP BPE tokenizer in the on-disk layout of openai/clip-vit-large-patch14-336, with what transformers and
tokenizers compute from them. The oracle for the library's CLIP text tower and CLIP tokenizer (CDPruner's
relevance). Run by hand; the tests only read the outputs.

    python3 -m venv venv
    venv/bin/pip install filelock typing-extensions sympy networkx jinja2 fsspec setuptools
    venv/bin/pip install --no-deps torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu
    venv/bin/pip install transformers==5.23.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
    venv/bin/python Tests/Fixtures/make_tiny_clip.py

Deterministic: the vocabulary is trained on the GPL-3 text Debian ships (/usr/share/common-licenses/GPL-3),
weights come from torch.manual_seed(0). The image side reads tiny-llava's reference features
(../shared/fixtures/tiny-llava/reference.safetensors, `vision.selected_features` sample 0).
"""
import json
import os
import sys

import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers, Regex
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny-clip")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "tiny-llava", "reference.safetensors")
MAX_POSITIONS = 24


def train_vocabulary(workdir):
    """A CLIP-style BPE (byte-level alphabet, '</w>' word ends) trained on GPL-3; written as CLIP's own
    vocab.json / merges.txt (bytes, bytes + '</w>', merged tokens in merge order, then the two specials)."""
    bpe = Tokenizer(models.BPE(unk_token="<|endoftext|>", end_of_word_suffix="</w>", continuing_subword_prefix=""))
    bpe.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=900, min_frequency=2, show_progress=False, end_of_word_suffix="</w>",
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    with open("/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
        text = f.read()
    bpe.train_from_iterator([text], trainer=trainer)
    merges = json.loads(bpe.to_str())["model"]["merges"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet(), key=lambda c: ord(c))
    vocab = alphabet + [c + "</w>" for c in alphabet]
    for a, b in merges:
        if a + b not in vocab:
            vocab.append(a + b)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(workdir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(workdir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return len(vocab)


CASES = [
    "", "a", "What is in the image?", "what color is the cat", "Is there a DOG on the left?",
    "It's the cat's toy, isn't it? They're here; we'll see, I'd say you've I'm",
    "''s and 'S and 'x", "The year 2024 had 366 days, 3.14159!", "hello!!! ... ?!? (parenthesised) [brackets] {braces}",
    "  leading and trailing spaces  ", "tabs\tand\nnewlines\r\nand  double  spaces", "café naïve façade résumé",
    "Ünïcödé ÀÉÎÕÜ", "cafe\u0301 (combining acute)", "ΣΊΣΥΦΟΣ and σοφός", "日本語のテキスト", "emoji 🐱🐶 and ❤️",
    "under_score dash-ed slash/ed back\\slash", "e-mail: someone@example.com, https://example.org/path?q=1",
    "x" * 40, "GNU General Public License version 3 of the License, or any later version.",
    "1234567890 0.5 -7 +8 1e5", "<|startoftext|>literal specials<|endoftext|> in text",
]

EMBED = [
    "What is in the image?", "what color is the cat", "Is there a DOG on the left?", "a",
    "The program is distributed in the hope that it will be useful, but without any warranty; see the license for details.",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    vocab_size = train_vocabulary(OUT)
    tokenizer = CLIPTokenizer(vocab=os.path.join(OUT, "vocab.json"), merges=os.path.join(OUT, "merges.txt"),
                              model_max_length=MAX_POSITIONS)
    tokenizer.save_pretrained(OUT)
    for name in ["vocab.json", "merges.txt", "special_tokens_map.json", "chat_template.jinja"]:
        path = os.path.join(OUT, name)
        if os.path.exists(path):
            os.remove(path)
    fast = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    bos, eos = fast.token_to_id("<|startoftext|>"), fast.token_to_id("<|endoftext|>")

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=MAX_POSITIONS, bos_token_id=0, eos_token_id=2,
                         pad_token_id=1),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=16)
    model = CLIPModel(config).eval()
    with torch.no_grad():  # random weights, larger than the init so the layers matter
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(OUT)

    cases = []
    for text in CASES:
        cases.append({"text": text, "ids": fast.encode(text).ids,
                      "ids_without_special": fast.encode(text, add_special_tokens=False).ids})
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"bos": bos, "eos": eos, "max_positions": MAX_POSITIONS, "cases": cases}, f, ensure_ascii=False, indent=1)

    reference = {}
    with torch.no_grad():
        for i, text in enumerate(EMBED):
            batch = tokenizer(text, truncation=True, max_length=MAX_POSITIONS, return_tensors="pt")
            out = model.text_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            reference[f"text.input_ids.{i}"] = batch.input_ids[0].numpy().astype("int64")
            reference[f"text.last_hidden_state.{i}"] = out.last_hidden_state[0].numpy()
            reference[f"text.text_embeds.{i}"] = model.text_projection(out.pooler_output)[0].numpy()
        features = torch.from_numpy(load_file(SHARED)["vision.selected_features"][0])
        reference["image.features"] = features.numpy()
        reference["image.image_embeds"] = model.visual_projection(model.vision_model.post_layernorm(features)).numpy()
    save_file(reference, os.path.join(OUT, "reference.safetensors"), metadata={"format": "pt"})
    print("wrote", OUT, "vocab", vocab_size, "bos", bos, "eos", eos)


if __name__ == "__main__":
    sys.exit(main())
