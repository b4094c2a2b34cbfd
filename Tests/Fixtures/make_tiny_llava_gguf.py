"""Makes Tests/Fixtures/tiny-llava-gguf: a generated LLaVA-1.5-shaped checkpoint (llava-hf layout, random weights,
a SentencePiece tokenizer trained here) and the GGUF pair llama.cpp's own converters make of it:

- text-model-f32.gguf: `convert_hf_to_gguf.py --outtype f32` (the language model, q/k rows permuted, SPM vocabulary);
- tokenizer-cases.json: texts and the ids SentencePiece itself gives them (BOS first);
- mmproj-model-f32.gguf: `tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py --use-f32 --clip-model-is-vision
  --llava-projector` on the vision tower saved as a CLIPVisionModel and the projector saved as `llava.projector`,
  as llama.cpp's LLaVA guide does (`llava_surgery_v2.py` writes the same projector file from liuhaotian checkpoints).

That converter always stores the patch convolution and the projector matrices as F16, so those weights are generated
F16-representable: the pair then holds exactly the checkpoint's values and must give exactly its logits.

Pinned: torch 2.13.0+cpu, transformers 4.57.1 (the legacy mmproj converter needs 4.x: it reaches into CLIPVisionModel.vision_model), sentencepiece 0.2.3, safetensors 0.8.0, numpy 2.4.6, and llama.cpp as
vendored in the PyPI sdist llama-cpp-python 0.3.36 (its gguf-py installed with `pip install -e vendor/llama.cpp/gguf-py`).

    python make_tiny_llava_gguf.py --llama-cpp <sdist>/vendor/llama.cpp --out Tests/Fixtures/tiny-llava-gguf
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import sentencepiece as spm
import torch
from transformers import CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

TEXT = """The quick brown fox jumps over the lazy dog. A picture shows a cat sitting on a red chair near the window.
What is in the image? Describe the colours, the shapes and the objects you see. There are two birds on the roof.
The image shows a small boat on a calm lake at sunset. Count the apples on the table: one, two, three, four.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    source = os.path.join(out, "source")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(source)
    work = tempfile.mkdtemp()

    # A SentencePiece BPE with byte fallback, as LLaMA's, trained on the text above.
    with open(os.path.join(work, "text.txt"), "w") as f:
        f.write(TEXT * 20)
    # Relative paths: the model records its training paths, which must not depend on the temporary folder's name.
    here = os.getcwd()
    os.chdir(work)
    spm.SentencePieceTrainer.train(
        input="text.txt", model_prefix="sp", vocab_size=320, model_type="bpe",
        byte_fallback=True, character_coverage=1.0, bos_id=1, eos_id=2, unk_id=0, pad_id=-1, hard_vocab_limit=False,
        user_defined_symbols=["<image>"], num_threads=1, minloglevel=2,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True)  # as LLaMA's
    os.chdir(here)
    shutil.copy(os.path.join(work, "sp.model"), os.path.join(source, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(source, "tokenizer.model"))
    vocab, image_token = sp.get_piece_size(), sp.piece_to_id("<image>")
    # SentencePiece's own ids (with BOS, as the GGUF's add_bos_token asks), the reference for the GGUF tokenizer.
    texts = ["The quick brown fox.", "What is in the image?", "USER: <image>\nDescribe the picture. ASSISTANT:",
             "  two  spaces and Zürich ☕ 🙂 — unseen characters fall back to bytes", "apples\n\n1. one\n2. two", ""]
    with open(os.path.join(out, "tokenizer-cases.json"), "w") as f:
        json.dump([{"text": t, "ids": [1] + sp.encode(t)} for t in texts], f, indent=1, ensure_ascii=False)

    torch.manual_seed(0)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                                       image_size=56, patch_size=14, projection_dim=64, hidden_act="quick_gelu"),
        text_config=LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                                rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_index=image_token, vision_feature_layer=-2, vision_feature_select_strategy="default",
        projector_hidden_act="gelu", multimodal_projector_bias=True)
    model = LlavaForConditionalGeneration(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
        # Stored as F16 by the mmproj converter: make them exactly representable.
        for p in [model.model.vision_tower.vision_model.embeddings.patch_embedding.weight,
                  model.model.multi_modal_projector.linear_1.weight, model.model.multi_modal_projector.linear_2.weight]:
            p.copy_(p.to(torch.float16).to(torch.float32))
    model.save_pretrained(source, safe_serialization=True)
    # The special-token ids at the top level too, where llama.cpp's converter looks for them.
    with open(os.path.join(source, "config.json")) as f:
        saved = json.load(f)
    saved.update(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    with open(os.path.join(source, "config.json"), "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
    with open(os.path.join(source, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": False,
                   # As llava-hf's: the image placeholder is an added special token (a CONTROL token in the GGUF).
                   "added_tokens_decoder": {str(image_token): {"content": "<image>", "special": True, "normalized": False,
                                                               "lstrip": False, "rstrip": False, "single_word": False}}},
                  f, indent=2)

    llama = os.path.abspath(args.llama_cpp)
    env = dict(os.environ, PYTHONPATH=os.path.join(llama, "gguf-py"))
    subprocess.run([sys.executable, os.path.join(llama, "convert_hf_to_gguf.py"), source, "--outtype", "f32",
                    "--outfile", os.path.join(out, "text-model-f32.gguf")], check=True, env=env)

    vision = os.path.join(work, "vit")
    model.model.vision_tower.save_pretrained(vision, safe_serialization=True)
    p = model.model.multi_modal_projector
    torch.save({"model.mm_projector.0.weight": p.linear_1.weight.detach().clone(), "model.mm_projector.0.bias": p.linear_1.bias.detach().clone(),
                "model.mm_projector.2.weight": p.linear_2.weight.detach().clone(), "model.mm_projector.2.bias": p.linear_2.bias.detach().clone()},
               os.path.join(vision, "llava.projector"))
    subprocess.run([sys.executable, os.path.join(llama, "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py"),
                    "-m", vision, "--llava-projector", os.path.join(vision, "llava.projector"), "--output-dir", out,
                    "--clip-model-is-vision", "--use-f32"], check=True, env=env)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
