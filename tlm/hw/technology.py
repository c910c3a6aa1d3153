"""The technology rule: how capacitances and areas change with the CMOS node.  Stated once, here.

    capacitance  C(node) = C(ref) x (node / ref)          wire and gate capacitance per feature: the
                                                          lengths shrink with the node, C per length and
                                                          per gate width stay roughly constant
    area         A(node) = A(ref) x (node / ref)^2        every layout dimension shrinks with the node
    capacitance density (fF/um2) = C / A, so  x (ref / node)

It is applied to the *inherited* values of a config that `extends:` a base written for another node
(`tlm.config.arch.load_arch`): a 65nm design extending the 22nm IMAGINE config gets IMAGINE's assumed
capacitances x 65/22 and areas x (65/22)^2, while every value the 65nm file writes itself is taken as
written (at its own node).  Which fields are capacitances or areas is read from their names (the unit
is in every name): `c_..._ff...` is a capacitance, `..._ff_per_um2` a capacitance density, `..._um2...`
and `..._mm2` areas.  A first-order rule (no FinFET/planar, metal-stack or Vt differences): the
shipped published designs say which of their values it produced (configs/published/).

Leakage and supply (optional, `technology.leakage_v_per_decade` = d): leakage current ~ 10^(V / d) (drain-
induced barrier lowering), so leakage power P(V) = P(V_ref) x V / V_ref x 10^((V - V_ref) / d).

Clock and supply: the optional alpha-power law (Sakurai-Newton, IEEE JSSC 25(2), 1990) gives the
clock at another supply, f(V) = f_ref x ((V - Vt) / (V_ref - Vt))^alpha x V_ref / V.
"""
from __future__ import annotations

import math


def length_ratio(from_nm: float, to_nm: float) -> float:
    return float(to_nm) / float(from_nm)


def kind_of(field: str) -> str | None:
    """'capacitance', 'density', 'area' or None for a parameter name (units are in the names)."""
    if field.endswith("_ff_per_um2"):
        return "density"
    if field.startswith("c_") and "_ff" in field:
        return "capacitance"
    if "area_um2" in field or "area_mm2" in field:
        return "area"
    return None


def scale_value(field: str, value, from_nm: float, to_nm: float):
    """`value` of parameter `field` written for `from_nm`, at `to_nm` (unchanged when not scaled)."""
    k, s = kind_of(field), length_ratio(from_nm, to_nm)
    if k is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return value * {"capacitance": s, "area": s * s, "density": 1.0 / s}[k]


SCALED_SECTIONS = ("macro", "adc", "sram", "dma", "controller", "postproc", "technology")


def scale_data(data: dict, from_nm: float, to_nm: float) -> dict:
    """A config mapping (sections of fields) with every capacitance, density and area scaled from
    `from_nm` to `to_nm`; the mapping is changed in place and returned."""
    if from_nm == to_nm:
        return data
    for sec in SCALED_SECTIONS:
        fields = data.get(sec)
        if isinstance(fields, dict):
            for k in list(fields):
                fields[k] = scale_value(k, fields[k], from_nm, to_nm)
    return data


def alpha_power_clock_mhz(f_ref_mhz: float, v_ref: float, v: float, vt: float, alpha: float) -> float:
    """Clock at supply `v` from the clock `f_ref_mhz` at `v_ref` (alpha-power law, delay ~ V / (V-Vt)^a)."""
    if v <= vt or v_ref <= vt:
        raise ValueError(f"supply {min(v, v_ref)} V at or below the threshold {vt} V")
    return f_ref_mhz * math.pow((v - vt) / (v_ref - vt), alpha) * v_ref / v


def leakage_factor(v_ref: float, v: float, v_per_decade: float) -> float:
    """Leakage power at supply `v` over leakage power at `v_ref` (1 when `v_per_decade` is 0)."""
    if not v_per_decade:
        return 1.0
    return v / v_ref * math.pow(10.0, (v - v_ref) / v_per_decade)
