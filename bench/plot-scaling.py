"""Chart of the scaling benchmark: healthy tasks against demand after a 2x and a 4x load step (the JSON's chartCase
delays: drawn from their distributions), for the
phase whose time to enough capacity is the median of its set-up, plus the p10/p50/p90 of that time per set-up.

    python3 bench/plot-scaling.py bench/results/scaling-latency.json bench/results/scaling-latency.png

Needs matplotlib (pip install matplotlib); bench/scaling-latency.ts runs it after writing the JSON.
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {
    "fast": "#1b9e77",
    "flush30": "#66a61e",
    "doubling": "#e6ab02",
    "previous": "#a6761d",
    "native20blocked": "#7570b3",
    "native20recomputed": "#e7298a",
    "default60blocked": "#d95f02",
    "default60recomputed": "#666666",
}


def main(src: str, dst: str) -> None:
    data = json.load(open(src))
    case = data.get("chartCase", "mid")
    labels = data["labels"]
    rep = data["representative"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), dpi=100, gridspec_kw={"width_ratios": [1, 1, 1.05]})
    for ax, step in zip(axes[:2], ["2", "4"]):
        any_tl = next(iter(rep.values()))[step]["timeline"]
        ax.plot([p["t"] for p in any_tl], [p["demand"] for p in any_tl], color="black", linestyle="--", linewidth=1.3, label="demand (tasks)")
        for key, by_step in rep.items():
            tl = by_step[step]["timeline"]
            ax.step([p["t"] for p in tl], [p["healthy"] for p in tl], where="post", color=COLORS.get(key, "grey"), linewidth=1.8, label=labels[key])
        ax.set_title(f"{step}x step at t = 0 ({case} delays, median phase of each set-up)", fontsize=9)
        ax.set_xlabel("seconds since the load step")
        ax.set_ylabel("healthy tasks")
        ax.set_xlim(-30, 900)
        ax.set_ylim(0, None)
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower right", fontsize=7)

    ax = axes[2]
    rows = [r for r in data["results"] if r["case"] == case]
    names = []
    for i, r in enumerate(rows):
        e = r["enoughS"]
        y = len(rows) - i
        p10, p50, p90 = (e[k] if e[k] is not None and math.isfinite(e[k]) else 1800 for k in ("p10", "p50", "p90"))
        ax.plot([p10, p90], [y, y], color=COLORS.get(r["key"], "grey"), linewidth=3)
        ax.plot([p50], [y], marker="o", color="black", markersize=4)
        names.append((y, f"{labels[r['key']]} {r['step']}x"))
    ax.set_yticks([y for y, _ in names])
    ax.set_yticklabels([n for _, n in names], fontsize=7)
    ax.axvline(90, color="#1b9e77", linestyle=":", linewidth=1)
    ax.axvline(140, color="#1b9e77", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("s to enough healthy capacity: p10-p90, dot p50 (dotted: 90 s, 140 s)", fontsize=8)
    ax.set_title(f"{data['phases']} random step phases per row, {case} delays", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
