"""Digital post-processing: pooling, residual add, partial-sum accumulation between row tiles."""
from __future__ import annotations

from tlm.hw import cv2_pj


def op_cycles(arch, ops):
    return -(-ops // arch.postproc.ops_per_cycle)


def op_energy_pj(arch, ops):
    return cv2_pj(ops * arch.postproc.c_ff_per_op, arch.technology.vdd_digital_v)
