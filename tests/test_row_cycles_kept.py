"""The compute layers' row cycles (tlm/mapping/assign.layer_row_cycles) kept for architectures with the same
values of the fields the first one read: test_row_cycles_kept_by_the_values_read fails without it."""
import dataclasses

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.config.workload import load_workload
from tlm.mapping import assign, reuse
from tlm.mapping.packing import comp_mapping


def test_row_cycles_kept_by_the_values_read(root, monkeypatch):
    """ResNet-8 at 1 bit on IMAGINE: a point with another DMA bandwidth (no row reads it) gets the first
    point's row cycles without computing them; one with a slower ADC computes its own -- larger, and the
    number a cold call gives; a recording architecture is computed through (its reads noted)."""
    a = load_arch(root / "configs" / "imagine.yaml")
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), input=1, weight=1, output=1)
    m, comp = comp_mapping(a, wl)
    assign.clear_kept()
    calls = []
    real = assign._row_cycles
    monkeypatch.setattr(assign, "_row_cycles", lambda *x: calls.append(1) or real(*x))
    rc = assign.layer_row_cycles(a, wl, m, comp)
    bw = a.dma.bandwidth_bits_per_cycle * 3
    dma = dataclasses.replace(a, dma=dataclasses.replace(a.dma, bandwidth_bits_per_cycle=bw))
    assert assign.layer_row_cycles(dma, wl, m, comp) == rc and len(calls) == 1
    adc = dataclasses.replace(a, adc=dataclasses.replace(a.adc, cycles_per_bit=a.adc.cycles_per_bit + 2))
    got = assign.layer_row_cycles(adc, wl, m, comp)
    assert len(calls) == 2 and all(got[i][0] > rc[i][0] for i in comp)
    assign.clear_kept()
    assert assign.layer_row_cycles(adc, wl, m, comp) == got
    read = set()
    assert assign.layer_row_cycles(reuse.recording(dma, read), wl, m, comp) == rc and ("adc", "cycles_per_bit") in read
