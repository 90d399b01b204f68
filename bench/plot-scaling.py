"""Chart of the scaling-latency benchmark: demand and serving capacity (tasks) over time for the three set-ups.

    python3 bench/plot-scaling.py bench/results/scaling-latency.json bench/results/scaling-latency.png

Needs matplotlib (pip install matplotlib); bench/scaling-latency.ts runs it after writing the JSON.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "fast": "FastScalingService (defaults)",
    "native20": "ECS native 20 s target tracking",
    "default60": "ECS default target tracking (60 s)",
}
COLORS = {"fast": "#1b9e77", "native20": "#7570b3", "default60": "#d95f02"}


def main(src: str, dst: str) -> None:
    data = json.load(open(src))
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=110)
    first = next(iter(data["timelines"].values()))["mid"]
    ax.plot([p["t"] for p in first], [p["demand"] for p in first], color="black", linestyle="--", linewidth=1.5, label="demand (tasks' worth of CPU)")
    for key, tl in data["timelines"].items():
        pts = tl["mid"]
        ax.step([p["t"] for p in pts], [p["serving"] for p in pts], where="post", color=COLORS[key], linewidth=2, label=f"{LABELS[key]}: healthy tasks")
        for a in tl["actions"][:1]:
            ax.axvline(a["t"], color=COLORS[key], linestyle=":", linewidth=1)
    rows = {(r["setup"], r["case"]): r for r in data["rows"]}
    fast = next(r for r in data["rows"] if r["setup"].startswith("Fast") and r["case"] == "mid")
    ax.set_title(f"Load step 30 % → 200 % of capacity at t = 0 (mid delays): first scale-out after {fast['firstActionS']:.0f} s (dotted lines mark each set-up's first action)", fontsize=9)
    ax.set_xlabel("seconds since the load step")
    ax.set_ylabel("tasks")
    ax.set_xlim(-30, 600)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(dst)
    del rows


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
