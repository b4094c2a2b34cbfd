"""Writes the models every side of the peers harness runs, all from one set of random weights:

- source/: a LLaVA-1.5-shaped checkpoint in the llava-hf layout, F32 safetensors: CLIP ViT-L/14-336 (24 layers,
  features from layer -2), the two-layer GELU projector, and a TinyLlama-1.1B-shaped decoder (22 layers, 2048 wide,
  32 query / 4 key-value heads, 5632 MLP, 32,000 ids); a SentencePiece tokenizer trained here (its few hundred pieces
  padded to 32,000 ids by llama.cpp's converter, as the config says). vtp-bench and PyTorch read this folder.
- text-{f32,bf16,f16}.gguf: llama.cpp's `convert_hf_to_gguf.py --outtype ...` of source/;
  text-{q8_0,q4_0}.gguf: `llama-quantize` of text-f32.gguf.
- mmproj-{f32,f16}.gguf: `tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py` (llama.cpp's LLaVA-1.5 path;
  it stores the patch convolution and the projector as F16 in both).
- image.png / image.ppm: the same 336x336 pixels for llama-mtmd-cli and for vtp-bench.

Weights are PyTorch's default initialisation (seeded): timings do not depend on the values, only on the shapes.

    python make_models.py --llama-cpp WORK/llama_cpp_python-0.3.36/vendor/llama.cpp --llama-bin WORK/llama-build/bin --out MODELS
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import sentencepiece as spm
import torch
from PIL import Image
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

TEXT = """USER: What is in the image? Describe the colours, the shapes and the objects you see. ASSISTANT: A cat on a red
chair near the window, two birds on the roof, a small boat on a calm lake at sunset, four apples on the table.
"""


def run(command, env=None):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env)


def tokenizer(folder, work):
    """A LLaMA-style SentencePiece BPE (byte fallback, <image> as a user-defined piece); returns the <image> id."""
    with open(os.path.join(work, "text.txt"), "w") as f:
        f.write(TEXT * 50)
    here = os.getcwd()
    os.chdir(work)
    spm.SentencePieceTrainer.train(
        input="text.txt", model_prefix="sp", vocab_size=400, model_type="bpe", byte_fallback=True,
        character_coverage=1.0, bos_id=1, eos_id=2, unk_id=0, pad_id=-1, hard_vocab_limit=False,
        user_defined_symbols=["<image>"], num_threads=1, minloglevel=2, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=True)
    os.chdir(here)
    shutil.copy(os.path.join(work, "sp.model"), os.path.join(folder, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    image_token = sp.piece_to_id("<image>")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": False,
                   "added_tokens_decoder": {str(image_token): {"content": "<image>", "special": True, "normalized": False,
                                                               "lstrip": False, "rstrip": False, "single_word": False}}},
                  f, indent=2)
    return image_token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source (vendored in llama-cpp-python 0.3.36)")
    ap.add_argument("--llama-bin", required=True, help="folder holding llama-quantize")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    source = os.path.join(out, "source")
    work = tempfile.mkdtemp()
    # Each output is written once: a second run after an interruption makes only what is missing.
    if os.path.exists(os.path.join(source, "preprocessor_config.json")):
        model = LlavaForConditionalGeneration.from_pretrained(source, torch_dtype=torch.float32)
    else:
        os.makedirs(source, exist_ok=True)
        model = checkpoint(source, tokenizer(source, work))
    convert(args, out, source, model, work)
    shutil.rmtree(work)


def checkpoint(source, image_token):
    """Writes the llava-hf folder and returns its model."""
    torch.manual_seed(0)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                       num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
                                       hidden_act="quick_gelu"),
        text_config=LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                                num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
                                rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_index=image_token, vision_feature_layer=-2, vision_feature_select_strategy="default",
        projector_hidden_act="gelu", multimodal_projector_bias=True)
    model = LlavaForConditionalGeneration(config).eval()
    model.save_pretrained(source, safe_serialization=True, max_shard_size="2GB")
    with open(os.path.join(source, "config.json")) as f:
        saved = json.load(f)
    saved.update(bos_token_id=1, eos_token_id=2, pad_token_id=0)  # where llama.cpp's converter looks for them
    with open(os.path.join(source, "config.json"), "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
    with open(os.path.join(source, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 336, "width": 336},
                   "size": {"shortest_edge": 336}, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                   "do_rescale": True, "rescale_factor": 1 / 255, "resample": 3, "do_convert_rgb": True,
                   "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
                  f, indent=2)
    return model


def convert(args, out, source, model, work):
    """llama.cpp's files of the checkpoint, and the image, each unless it is there already."""
    def missing(name):
        return not os.path.exists(os.path.join(out, name))

    llama = os.path.abspath(args.llama_cpp)
    env = dict(os.environ, PYTHONPATH=os.path.join(llama, "gguf-py"))
    for outtype in ["f32", "bf16", "f16"]:
        if missing(f"text-{outtype}.gguf"):
            run([sys.executable, os.path.join(llama, "convert_hf_to_gguf.py"), source, "--outtype", outtype,
                 "--outfile", os.path.join(out, f"text-{outtype}.gguf")], env)
    for kind in ["q8_0", "q4_0"]:
        if missing(f"text-{kind}.gguf"):
            run([os.path.join(args.llama_bin, "llama-quantize"), os.path.join(out, "text-f32.gguf"),
                 os.path.join(out, f"text-{kind}.gguf"), kind.upper()])

    vision = os.path.join(work, "vit")
    model.model.vision_tower.save_pretrained(vision, safe_serialization=True)
    p = model.model.multi_modal_projector
    torch.save({"model.mm_projector.0.weight": p.linear_1.weight.detach().clone(), "model.mm_projector.0.bias": p.linear_1.bias.detach().clone(),
                "model.mm_projector.2.weight": p.linear_2.weight.detach().clone(), "model.mm_projector.2.bias": p.linear_2.bias.detach().clone()},
               os.path.join(vision, "llava.projector"))
    for name, flags in [("mmproj-f32.gguf", ["--use-f32"]), ("mmproj-f16.gguf", [])]:
        if not missing(name):
            continue
        folder = os.path.join(work, name)
        run([sys.executable, os.path.join(llama, "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py"),
             "-m", vision, "--llava-projector", os.path.join(vision, "llava.projector"), "--output-dir", folder,
             "--clip-model-is-vision"] + flags, env)
        shutil.move(os.path.join(folder, "mmproj-model-f16.gguf" if not flags else "mmproj-model-f32.gguf"), os.path.join(out, name))

    y, x = np.mgrid[0:336, 0:336] / 336.0
    pixels = np.stack([np.sin(6 * x) * np.cos(4 * y), np.sin(6 * x + 1) * np.cos(4 * y), (x * y > 0.3) * 1.0], -1)
    pixels = ((pixels - pixels.min()) / (pixels.max() - pixels.min()) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(os.path.join(out, "image.png"))
    Image.fromarray(pixels).save(os.path.join(out, "image.ppm"))


if __name__ == "__main__":
    main()
