#!/usr/bin/env python3
"""Group CubeCL's kernel profile (CUBECL_DEBUG_OPTION=profile; benches/gpu.sh profile-<family>)
by kernel family: one summary per sync window, launches and GPU time per family.

    python3 benches/profile_summary.py profile-reference.log [window,window,...]

Windows are numbered from 0 in the order the syncs happened; negative numbers count from the
end (-1: the last training step). Without a list every window is shown."""
import re
import sys

UNITS = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1e3}
DURATION = re.compile(r"^([\d.]+)(ns|µs|ms|s)$")


def windows(text):
    """Each summary table as [(kernel family, ms, launches)]."""
    out, cur = [], None
    for line in text.split("\n"):
        if line.startswith("| Name"):
            cur = []
        elif cur is not None and line.startswith("| Total"):
            out.append(cur)
            cur = None
        elif cur is not None and line.startswith("| "):
            # Kernel names contain " | " themselves: the last three cells are the numbers.
            cells = [c.strip() for c in line.strip().rstrip("|").split(" | ")]
            m = DURATION.match(cells[-3]) if len(cells) >= 4 else None
            if m:
                family = cells[0].strip("| ").split(" ")[0]
                out_ms = float(m.group(1)) * UNITS[m.group(2)]
                cur.append((family, out_ms, int(cells[-2])))
    return out


def main():
    tables = windows(open(sys.argv[1], encoding="utf-8").read())
    chosen = [int(i) for i in sys.argv[2].split(",")] if len(sys.argv) > 2 else range(len(tables))
    print(f"{len(tables)} sync windows")
    for i in chosen:
        groups = {}
        for family, ms, n in tables[i]:
            g = groups.setdefault(family, [0.0, 0])
            g[0] += ms
            g[1] += n
        total = sum(g[0] for g in groups.values())
        launches = sum(g[1] for g in groups.values())
        print(f"window {i}: GPU time {total:.2f} ms in {launches} launches")
        for family, (ms, n) in sorted(groups.items(), key=lambda kv: -kv[1][0])[:10]:
            print(f"  {family:<22} {ms:9.2f} ms {100 * ms / total:5.1f}% {n:6d} launches {1000 * ms / n:8.1f} µs each")


if __name__ == "__main__":
    main()
