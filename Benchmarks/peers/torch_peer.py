"""PyTorch's side of the peers harness: the same parts `vtp-bench time` measures, on the same checkpoint folder,
reported the same way (one warm-up, then mean and sample standard deviation over the repetitions), as one JSON line.

- decoder: prefill of N pseudo-random ids from an empty cache (logits of the last), then runs of M single-token
  steps continuing that context with the KV cache (a warm-up run, then one per repetition; transformers'
  LlavaForConditionalGeneration, text only);
- vision: the CLIP tower's forward pass through every layer on one 336x336 view.

    python torch_peer.py --model MODELS/source --part decoder --dtype bfloat16 --threads 2 --reps 3
"""
import argparse, json, statistics, time

import torch
from transformers import LlavaForConditionalGeneration


def summary(values):
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "samples": values}


def measure(reps, body):
    body()  # warm-up
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        body()
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--part", choices=["decoder", "vision"], default="decoder")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=640)
    ap.add_argument("--decode-tokens", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = LlavaForConditionalGeneration.from_pretrained(args.model, torch_dtype=getattr(torch, args.dtype)).eval()
    report = {"peer": f"torch {torch.__version__}", "dtype": args.dtype, "threads": args.threads,
              "repetitions": args.reps, "load_s": time.perf_counter() - start}
    with torch.inference_mode():
        if args.part == "decoder":
            n, m = args.prompt_tokens, args.decode_tokens
            ids = torch.randint(3, model.config.text_config.vocab_size, (1, n + (args.reps + 1) * m),
                                generator=torch.Generator().manual_seed(7))

            def prefill():
                out = model(input_ids=ids[:, :n], use_cache=True, logits_to_keep=1)
                return out.past_key_values

            prefill_seconds = measure(args.reps, prefill)
            # Decoding continues one cache: a warm-up run of m steps, then one timed run per repetition.
            cache, position, decode_seconds = prefill(), n, []
            for rep in range(args.reps + 1):
                start = time.perf_counter()
                for _ in range(m):
                    out = model(input_ids=ids[:, position:position + 1], past_key_values=cache, use_cache=True)
                    cache, position = out.past_key_values, position + 1
                if rep > 0:
                    decode_seconds.append(time.perf_counter() - start)
            report.update(prompt_tokens=n, decode_tokens=m,
                          prefill_tokens_per_s=summary([n / s for s in prefill_seconds]),
                          decode_tokens_per_s=summary([m / s for s in decode_seconds]))
        else:
            tower = model.model.vision_tower
            size = tower.config.image_size
            pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(3)).to(getattr(torch, args.dtype))
            report.update(vision_layers=tower.config.num_hidden_layers,
                          vision_s=summary(measure(args.reps, lambda: tower(pixel_values=pixels))))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
