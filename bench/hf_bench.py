"""`fanfill hf` speed: a TinyLlama-1.1B-shaped checkpoint (bf16, ~2.2 GB).

1. To a disk directory, beside `dd` of the same byte count to the same
   place. Every writer fsyncs: fanfill's OutputFile fsyncs each file before
   the rename; dd runs with conv=fsync.
2. To a tmpfs (default /dev/shm), beside transformers'
   from_config(config, dtype=bfloat16) + save_pretrained (the same files).

One run each, in this order; the ratios are of that run. Prints a Markdown table.
Usage: bench/hf_bench.py FANFILL_CLI [--disk DIR] [--tmpfs DIR] [--threads N] [--skip-transformers]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

TINYLLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def dir_bytes(d: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--disk", default="/var/tmp")
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--skip-transformers", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fanfill-hf-bench-")
    cfg = os.path.join(work, "config.json")
    with open(cfg, "w") as f:
        json.dump(TINYLLAMA, f)
    threads = ["--threads", str(a.threads)] if a.threads else []
    rows = []

    # 1. tmpfs: fanfill; its model.safetensors is kept as dd's source below
    # (random bytes: a virtual disk may store runs of zeros for free).
    out = os.path.join(a.tmpfs, "fanfill-hf-bench-ff")
    shutil.rmtree(out, ignore_errors=True)
    t_ff2 = timed([a.cli, "hf", cfg, "--seed", "1", "--out", out, *threads])
    size = dir_bytes(out)
    source = os.path.join(out, "model.safetensors")

    # 2. disk: fanfill, then dd of the same bytes (the file just made) to the same place
    disk_out = os.path.join(a.disk, "fanfill-hf-bench-disk")
    shutil.rmtree(disk_out, ignore_errors=True)
    t_ff = timed([a.cli, "hf", cfg, "--seed", "1", "--out", disk_out, *threads])
    weights = os.path.getsize(os.path.join(disk_out, "model.safetensors"))
    shutil.rmtree(disk_out)
    dd_out = os.path.join(a.disk, "fanfill-hf-bench-dd")
    t_dd = timed(["dd", f"if={source}", f"of={dd_out}", "bs=16M", "conv=fsync", "status=none"])
    dd_bytes = os.path.getsize(dd_out)
    os.remove(dd_out)
    shutil.rmtree(out)
    rows.append((f"disk ({a.disk}), fsynced", "fanfill hf", weights, t_ff, ""))
    rows.append(("", "dd if=(that file on tmpfs) bs=16M conv=fsync", dd_bytes, t_dd,
                 f"fanfill / dd = {t_ff / t_dd:.2f}x the time"))
    rows.append((f"tmpfs ({a.tmpfs})", "fanfill hf", size, t_ff2, ""))
    if not a.skip_transformers:
        import torch
        import transformers

        if a.threads:
            torch.set_num_threads(a.threads)
        out = os.path.join(a.tmpfs, "fanfill-hf-bench-tf")
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        config = transformers.AutoConfig.from_pretrained(work)
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        t_init = time.perf_counter() - t
        model.save_pretrained(out)
        t_tf = time.perf_counter() - t
        size_tf = dir_bytes(out)
        del model
        shutil.rmtree(out)
        rows.append(("", f"transformers from_config + save_pretrained "
                     f"(init {t_init:.1f} s)", size_tf, t_tf,
                     f"transformers / fanfill = {t_tf / t_ff2:.1f}x faster"))
    shutil.rmtree(work)

    print(f"TinyLlama-1.1B-shaped config, bf16; threads: {a.threads or 'all'} "
          f"({os.cpu_count()} CPUs)\n")
    print("| target | writer | bytes | seconds | GB/s | ratio |")
    print("|---|---|---:|---:|---:|---|")
    for target, writer, nbytes, secs, ratio in rows:
        rate = nbytes / secs / 1e9
        print(f"| {target} | {writer} | {nbytes} | {secs:.2f} | {rate:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
