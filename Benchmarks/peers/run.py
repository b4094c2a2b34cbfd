"""Runs vtp-bench, llama.cpp and PyTorch on the same models in one sitting, interleaved, and prints one table of
ratios (ours / peer) with each figure's spread. See README.md beside this file for the commands.

Every configuration runs once per round, the rounds one after another, so a change in the machine's speed during
the sitting reaches every side alike. A figure is the mean of all its samples over the rounds, its spread their
sample standard deviation; a ratio's spread is propagated from the two (relative spreads added in quadrature).

    python run.py --models MODELS --bin WORK/llama-build/bin --vtp-bench .build/release/vtp-bench --rounds 2
"""
import argparse, json, os, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTION = "What is in the image? Describe the colours and the shapes."
# Ours by weight precision (loaded from the F32 checkpoint) against llama.cpp's GGUF of the same bytes per weight.
# llama.cpp multiplies Q8_0 and Q4_0 weights by activations it quantises to Q8_0: ours runs those two with
# `--activations int8` too (which quantises them where this CPU has the dot products for it, see vtp-bench help).
DECODER = [("f32", "f32"), ("bf16", "bf16"), ("f16", "f16"), ("int8", "q8_0"), ("int4", "q4_0")]
INT8_ACTIVATIONS = {"int8", "int4"}


class Sitting:
    def __init__(self, args):
        self.args = args
        self.samples = {}  # (part, side, config, metric) -> [values]
        self.log = open(os.path.join(args.out, "runs.jsonl"), "a")

    def add(self, key, values):
        self.samples.setdefault(key, []).extend(values)

    def run(self, command, env=None):
        print("+", " ".join(command), file=sys.stderr, flush=True)
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        self.log.write(json.dumps({"command": command, "seconds": time.time() - started, "rc": done.returncode,
                                   "stdout": done.stdout[-20000:], "stderr": done.stderr[-20000:]}) + "\n")
        self.log.flush()
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
        return done

    def json_line(self, command, env=None):
        return json.loads(self.run(command, env).stdout.strip().splitlines()[-1])

    # --- the sides -------------------------------------------------------------------------------------------
    def ours(self, *options):
        a = self.args
        return [a.vtp_bench, *options, "--threads", str(a.threads)]

    def ours_decoder(self, precision):
        extra = ["--activations", "int8"] if precision in INT8_ACTIVATIONS else []
        r = self.json_line(self.ours("time", "--json", "--part", "decoder", "--model", self.path("source"),
                                     "--weights", precision, "--reps", str(self.args.reps), *extra))
        self.add(("decoder", "ours", precision, "prefill"), r["prefill_tokens_per_s"]["samples"])
        self.add(("decoder", "ours", precision, "decode"), r["decode_tokens_per_s"]["samples"])

    def llama_decoder(self, kind):
        a = self.args
        for metric, flags in [("prefill", ["-p", "640", "-n", "0"]), ("decode", ["-p", "0", "-n", "32", "-d", "640"])]:
            rows = json.loads(self.run([os.path.join(a.bin, "llama-bench"), "-m", self.path(f"text-{kind}.gguf"),
                                        "-t", str(a.threads), "-r", str(a.reps), "-o", "json", *flags]).stdout)
            self.add(("decoder", "llama.cpp", kind, metric), rows[0]["samples_ts"])

    def torch_decoder(self, dtype):
        r = self.json_line([self.args.python, os.path.join(HERE, "torch_peer.py"), "--model", self.path("source"),
                            "--part", "decoder", "--dtype", dtype, "--threads", str(self.args.threads),
                            "--reps", str(self.args.reps)])
        self.add(("decoder", "torch", dtype, "prefill"), r["prefill_tokens_per_s"]["samples"])
        self.add(("decoder", "torch", dtype, "decode"), r["decode_tokens_per_s"]["samples"])

    def ours_vision(self, precision):
        extra = [] if precision == "f32" else ["--activations", precision]
        r = self.json_line(self.ours("time", "--json", "--part", "vision", "--model", self.path("source"),
                                     "--weights", precision, "--reps", str(self.args.reps), *extra))
        self.add(("vision", "ours", precision, "seconds"), r["vision_s"]["samples"])

    def torch_vision(self, dtype):
        r = self.json_line([self.args.python, os.path.join(HERE, "torch_peer.py"), "--model", self.path("source"),
                            "--part", "vision", "--dtype", dtype, "--threads", str(self.args.threads),
                            "--reps", str(self.args.reps)])
        self.add(("vision", "torch", dtype, "seconds"), r["vision_s"]["samples"])

    def ours_ask(self, kind, keep):
        pruning = ["--scorer", "cls", "--keep", str(keep)] if keep else []
        done = self.run(self.ours("ask", "--model", self.path(f"text-{kind}.gguf"), "--mmproj", self.path(f"mmproj-{kind}.gguf"),
                                  "--image", self.path("image.ppm"), "--max-tokens", "1", *pruning, QUESTION))
        seconds = float(re.search(r"time to first token ([0-9.]+) s", done.stderr).group(1))
        self.add(("ask", "ours", kind, f"pruned to {keep}" if keep else "unpruned"), [seconds])

    def llama_ask(self, kind):
        done = self.run([os.path.join(self.args.bin, "llama-mtmd-cli"), "-m", self.path(f"text-{kind}.gguf"),
                         "--mmproj", self.path(f"mmproj-{kind}.gguf"), "--image", self.path("image.png"),
                         "-p", QUESTION, "-n", "1", "-t", str(self.args.threads), "--temp", "0", "--chat-template", "vicuna",
                         "-v"])
        # llama.cpp's prompt-eval timer runs from the first text chunk's decode to the last prompt token, so it
        # holds the image encoding between them: its time to the first token (the one sampling step aside).
        prompt = float(re.search(r"prompt eval time =\s*([0-9.]+) ms", done.stdout + done.stderr).group(1))
        self.add(("ask", "llama.cpp", kind, "unpruned"), [prompt / 1000])

    def path(self, name):
        return os.path.join(self.args.models, name)


def stats(values):
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def ratio(ours, peer, higher_is_better=True):
    (m1, s1), (m2, s2) = stats(ours), stats(peer)
    r = m1 / m2 if higher_is_better else m2 / m1
    return r, r * ((s1 / m1) ** 2 + (s2 / m2) ** 2) ** 0.5


def table(samples):
    lines = ["| part | ours | figure (ours) | peer | figure (peer) | ours / peer |", "|---|---|---|---|---|---|"]
    unit = {"prefill": "tok/s", "decode": "tok/s", "seconds": "s"}

    def row(part, mine, peer, metric, higher=True):
        if mine not in samples or peer not in samples:
            return
        (m1, s1), (m2, s2) = stats(samples[mine]), stats(samples[peer])
        r, sr = ratio(samples[mine], samples[peer], higher)
        u = unit.get(metric, "s")
        lines.append(f"| {part} | {mine[2]} | {m1:.2f} ± {s1:.2f} {u} | {peer[1]} {peer[2]} | {m2:.2f} ± {s2:.2f} {u} | **{r:.2f}x** ± {sr:.2f} |")

    for metric in ["prefill", "decode"]:
        for ours, kind in DECODER:
            row(f"decoder {metric}, 640", ("decoder", "ours", ours, metric), ("decoder", "llama.cpp", kind, metric), metric)
        for ours, dtype in [("f32", "float32"), ("bf16", "bfloat16")]:
            row(f"decoder {metric}, 640", ("decoder", "ours", ours, metric), ("decoder", "torch", dtype, metric), metric)
    for ours, dtype in [("f32", "float32"), ("bf16", "bfloat16")]:
        row("CLIP-L/336 forward", ("vision", "ours", ours, "seconds"), ("vision", "torch", dtype, "seconds"), "seconds", False)
    for kind in ["f32", "f16"]:
        for setting in ["unpruned", "pruned to 64"]:
            row(f"image + question, first token ({setting})", ("ask", "ours", kind, setting), ("ask", "llama.cpp", kind, "unpruned"),
                "seconds", False)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="the folder make_models.py wrote")
    ap.add_argument("--bin", required=True, help="llama.cpp's build/bin (llama-bench, llama-mtmd-cli)")
    ap.add_argument("--vtp-bench", required=True, help="a release vtp-bench")
    ap.add_argument("--python", default=sys.executable, help="the Python that has torch and transformers")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="repetitions inside each run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--parts", default="decoder,vision,ask")
    ap.add_argument("--out", default="peers-results")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    parts = args.parts.split(",")
    s = Sitting(args)
    for round in range(args.rounds):
        print(f"round {round + 1}/{args.rounds}", file=sys.stderr, flush=True)
        if "decoder" in parts:
            for ours, kind in DECODER:
                s.ours_decoder(ours)
                s.llama_decoder(kind)
            for dtype in ["float32", "bfloat16"]:
                s.torch_decoder(dtype)
        if "vision" in parts:
            for ours, dtype in [("f32", "float32"), ("bf16", "bfloat16")]:
                s.ours_vision(ours)
                s.torch_vision(dtype)
        if "ask" in parts:
            for kind in ["f32", "f16"]:
                for _ in range(args.reps):
                    s.ours_ask(kind, None)
                    s.ours_ask(kind, 64)
                    s.llama_ask(kind)
    with open(os.path.join(args.out, "samples.json"), "w") as f:
        json.dump([{"key": list(k), "samples": v} for k, v in s.samples.items()], f, indent=1)
    text = table(s.samples)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
