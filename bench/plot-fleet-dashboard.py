"""A sketch of a CloudWatch dashboard from its DashboardBody: every widget at its x/y/width/height on the 24-column grid,
with its type, title and what it reads. Not AWS's renderer: no data, only what the body says.

    python3 bench/plot-fleet-dashboard.py bench/results/fleet-dashboard.json bench/results/fleet-dashboard.png

Needs matplotlib (pip install matplotlib); bench/fleet-dashboard.ts writes the JSON and runs this.
"""
import json
import re
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

UNIT_W = 0.62  # inches per grid column
UNIT_H = 0.25  # inches per grid row
COLORS = {"text": "#f4f4f4", "alarm": "#fde8e8", "log": "#e7f0fb", "metric": "#eaf6ea"}
KIND = {
    ("log", "table"): "Logs Insights table",
    ("log", "bar"): "Logs Insights bar chart",
    ("metric", "table"): "metric table",
    ("metric", "timeSeries"): "graph",
    ("alarm", None): "alarm status",
    ("text", None): "text",
}


def describe(w: dict) -> list:
    """What the widget reads, in a few lines."""
    p = w["properties"]
    if w["type"] == "log":
        q = re.sub(r"^(SOURCE '[^']*' \| )+", "", p["query"])
        groups = p["query"].count("SOURCE '")
        lines = q.split("\n| ")
        families = len(re.findall(r'family = "', lines[0]))
        out = [f"{families} jobs, {groups} log group(s)"]
        for line in lines[1:]:
            if line.startswith("fields "):
                # split on the commas between columns, not those inside a function's parentheses
                cols = [c.split(" as ")[-1].strip() for c in re.split(r",\s*(?![^()]*\))", line[len("fields "):])]
                out.append("columns: " + " | ".join(cols))
            else:
                out.append(line)
        return out
    if w["type"] == "metric":
        labels = [m[-1].get("label", m[1]) if isinstance(m[-1], dict) else m[1] for m in p.get("metrics", [])]
        out = [f"{len(labels)} metric(s): " + ", ".join(labels[:6]) + (" …" if len(labels) > 6 else "")]
        if p.get("annotations"):
            out.append("thresholds: " + ", ".join(str(a["value"]) for a in p["annotations"].get("horizontal", [])))
        return out
    if w["type"] == "alarm":
        return [f"{len(p['alarms'])} alarm(s), most recently changed first"]
    md = p["markdown"]
    md = re.sub(r"\(https://[^)]*\)", "", md)  # link targets: the link text stays
    return [line for line in md.split("\n") if line.strip()]


def main(src: str, dst: str) -> None:
    body = json.load(open(src))
    widgets = body["widgets"]
    bottom = max(w["y"] + w["height"] for w in widgets)
    fig = plt.figure(figsize=(24 * UNIT_W, bottom * UNIT_H + 0.6), dpi=110)
    ax = fig.add_axes([0, 0, 1, bottom * UNIT_H / (bottom * UNIT_H + 0.6)])
    ax.set_xlim(0, 24)
    ax.set_ylim(bottom, 0)
    ax.axis("off")
    fig.text(0.005, 1 - 0.2 / (bottom * UNIT_H + 0.6),
             f"FleetDashboard, as synthesized: {len(widgets)} widgets, opens on {body.get('start')}, "
             f"periodOverride {body.get('periodOverride')} (a sketch of the body's grid, not AWS's renderer)",
             fontsize=11, weight="bold", va="top")
    for w in widgets:
        x, y, wd, ht = w["x"], w["y"], w["width"], w["height"]
        ax.add_patch(Rectangle((x + 0.05, y + 0.05), wd - 0.1, ht - 0.1, facecolor=COLORS.get(w["type"], "#fff"),
                               edgecolor="#555", linewidth=0.8))
        p = w["properties"]
        view = p.get("view") if w["type"] in ("log", "metric") else None
        kind = KIND.get((w["type"], view or ("timeSeries" if w["type"] == "metric" else None)), w["type"])
        chars = max(10, int(wd * UNIT_W * 110 / 7.4))
        title = p.get("title")
        lines = [f"[{kind}]"]
        lines += textwrap.wrap(title, chars) if title else []
        for d in describe(w):
            lines += textwrap.wrap(d, chars) or [""]
        room = max(1, int(ht * UNIT_H * 72 / 9.5))
        if ht == 1:  # a section header: its text only
            lines = describe(w)[:1]
        if len(lines) > room:
            lines = lines[: room - 1] + ["…"]
        for i, line in enumerate(lines):
            weight = "bold" if i == 0 or ht == 1 or (title and 0 < i <= len(textwrap.wrap(title, chars))) else "normal"
            ax.text(x + 0.2, y + 0.25 + i * (9.5 / 72) / UNIT_H, line, fontsize=7.5, va="top", ha="left",
                    family="DejaVu Sans", weight=weight)
    fig.savefig(dst)
    print(f"{len(widgets)} widgets, {bottom} grid rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
