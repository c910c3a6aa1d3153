"""Regenerate the figures of docs/tlm-engine.md (the blocks between <!-- gen:NAME --> markers).

    python scripts/gen_tlm_doc.py          # rewrite the figures
    python scripts/gen_tlm_doc.py --check  # exit 1 if the doc's figures are stale (tests/test_tlm_doc.py)

Every figure is a simulated cycle or event count (deterministic); no wall time is written here.
"""
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.engines.analytic import simulate as analytic  # noqa: E402
from tlm.config.arch import arch_from_dict, load_arch  # noqa: E402
from tlm.engines.transaction.system import System, simulate  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402

DOC = ROOT / "docs" / "tlm-engine.md"
WORKLOADS = ("mnist_cnn", "resnet8", "ds_cnn", "mobilenet_v1_vww", "cifar10_vgg")
CONFIGS = ("imagine", "imagine_4macro")


def cfg(name, **changes):
    d = load_arch(ROOT / "configs" / f"{name}.yaml").to_dict()
    d["mapping"]["policy"] = "sequential"  # this page is about the blocks under the layer-by-layer schedule;
    for k, v in changes.items():            # the multi-macro policies are in docs/mapping.md
        sec, f = k.split(".")
        d[sec][f] = v
    return arch_from_dict(d)


def wl(name):
    return load_workload(ROOT / "workloads" / f"{name}.yaml")


def conv(c_in, c_out):
    p = Path(tempfile.mkdtemp()) / "conv.yaml"
    p.write_text(f"name: conv\ninput: {{shape: [{c_in}, 4, 4], bits: 8}}\nprecision: {{input: 8, weight: 8, output: 8}}\n"
                 f"layers:\n  - {{name: conv, type: conv2d, out_channels: {c_out}, kernel: 3, padding: 1}}\n")
    return load_workload(p)


def stalls(r):
    out = []
    for comp, reasons in sorted(r.component_stall_cycles.items()):
        for why, v in sorted(reasons.items()):
            if why != "weight load":
                out.append(f"{comp} on {why} {v:,}")
    return "; ".join(out) or "-"


def shipped():
    rows = ["| workload | config | analytic cycles | TLM cycles | TLM / analytic | stalls (besides weight loads) |",
            "|---|---|---:|---:|---:|---|"]
    for c in CONFIGS:
        a = cfg(c)
        for w in WORKLOADS:
            x, t = analytic(a, wl(w)), simulate(a, wl(w))
            rows.append(f"| {w} | {c} | {x.cycles:,} | {t.cycles:,} | {t.cycles / x.cycles - 1:+.3%} | {stalls(t)} |")
    return "\n".join(rows)


def nothing_shared_arch():
    return cfg("imagine", **{"sram.capacity_kib": 1 << 17, "sram.banks": 256, "sram.width_bits": 1 << 16})


def nothing():
    a = nothing_shared_arch()
    rows = ["| workload | analytic cycles | TLM cycles |", "|---|---:|---:|"]
    for w in WORKLOADS:
        rows.append(f"| {w} | {analytic(a, wl(w)).cycles:,} | {simulate(a, wl(w)).cycles:,} |")
    return "\n".join(rows)


def cases():
    rows = ["| mechanism | case | TLM cycles | the block's statistics |", "|---|---|---:|---|"]
    w = conv(256, 32)
    for il, label in ((65536, "both halves of the input in bank 0"), (16384, "one half in each bank")):
        a = cfg("imagine", **{"macro.count": 2, "tlm.compute_txn_macs": 10**9, "sram.banks": 2,
                              "sram.interleave_bits": il})
        r = simulate(a, w)
        s = r.extra["instances"]["macro1"]["stall_cycles"].get("sram", 0)
        rows.append(f"| SRAM banks: 2 macros read at once | {label} | {r.cycles:,} | macro1 stalled on sram {s:,} |")
    w = conv(128, 32)
    for depth in (1, 4):
        a = cfg("imagine", **{"adc.pipelined": True, "adc.cycles_per_bit": 10, "adc.fifo_depth": depth,
                              "tlm.compute_txn_macs": 10**9})
        r = simulate(a, w)
        st = r.extra["instances"]["macro0"]["stall_cycles"]
        rows.append(f"| ADC FIFO, t_cv 81 > t_dp 64 | fifo_depth {depth} | {r.cycles:,} | macro0 stalled on adc "
                    f"{st.get('adc', 0):,}, adc drain {st.get('adc drain', 0):,} |")
    a = cfg("imagine", **{"adc.pipelined": True, "sram.width_bits": 1, "tlm.compute_txn_macs": 1})
    r = simulate(a, conv(1, 32))
    rows.append(f"| ADC write-back through a 1-bit port | 16 pixels, 256 bits each | {r.cycles:,} | adc0 stalled on "
                f"sram {r.extra['instances']['adc0']['stall_cycles']['sram']:,}, macro0 on adc "
                f"{r.extra['instances']['macro0']['stall_cycles'].get('adc', 0):,} |")
    w = conv(128, 96)
    for ch in (1, 2):
        a = cfg("imagine", **{"macro.count": 2, "tlm.compute_txn_macs": 10**9, "dma.channels": ch})
        r = simulate(a, w)
        rows.append(f"| DMA: 3 weight tiles on 2 macros | {ch} channel{'s' if ch > 1 else ''} | {r.cycles:,} | macro0 "
                    f"stalled on weight load {r.extra['instances']['macro0']['stall_cycles']['weight load']:,} |")
    return "\n".join(rows)


CONTENDED = (("imagine_4macro", {"sram.banks": 1, "sram.width_bits": 8}, "4 macros, 1 bank x 8 bits"),
             ("imagine_4macro", {"macro.count": 6, "adc.pipelined": True, "sram.width_bits": 4},
              "6 macros, pipelined ADC, 4-bit banks"))


def events(a, w, q):
    s = System(a, w, quantum_cycles=q)
    done, n = s.start(), 0
    while not done.triggered:
        s.env.step()
        n += 1
    return n, s.env.now, s.stats.transactions


def decoupling():
    rows = ["| run | workload | strict cycles | largest difference, quanta 100 / 2,000 / 10^9 | SRAM stall cycles (strict) |",
            "|---|---|---:|---:|---:|"]
    for c, ch, label in CONTENDED:
        a = cfg(c, **ch)
        for w in ("ds_cnn", "resnet8"):
            s = simulate(a, wl(w), quantum_cycles=0)
            diff = max(abs(simulate(a, wl(w), quantum_cycles=q).cycles - s.cycles) for q in (100, 2000, 10**9))
            st = sum(v.get("sram", 0) for v in s.component_stall_cycles.values())
            rows.append(f"| {label} | {w} | {s.cycles:,} | {diff:,} | {st:,} |")
    a = cfg("imagine")
    rows.append("")
    rows.append("| one macro, resnet8 | kernel events | cycles | transactions |")
    rows.append("|---|---:|---:|---:|")
    for q in (0, 2000):
        n, t, x = events(a, wl("resnet8"), q)
        rows.append(f"| quantum {q:,} | {n:,} | {t:,} | {x:,} |")
    return "\n".join(rows)


BLOCKS = {"shipped": shipped, "nothing": nothing, "cases": cases, "decoupling": decoupling}


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pat = re.compile(rf"(<!-- gen:{name} -->\n).*?(<!-- /gen:{name} -->)", re.S)
        if not pat.search(text):
            raise SystemExit(f"{DOC}: no <!-- gen:{name} --> block")
        body = fn()
        text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    old = DOC.read_text()
    new = render(old)
    if "--check" in sys.argv[1:]:
        if new != old:
            print(f"{DOC} is stale: run python scripts/gen_tlm_doc.py", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    DOC.write_text(new)
    print(f"wrote {DOC}")
