"""Cost formulas, one module per hardware block: the single source of truth for cycles and energy.

Every function here works on Python scalars and on numpy arrays alike (broadcasting), so the analytic
core calls them once on arrays of all layers, and the TLM components call them on one transaction.
Energies: a capacitance in fF switched at a supply in V costs C*V^2 fJ; `fj_to_pj` converts.
"""

FJ_PER_PJ = 1000.0


def cv2_pj(c_ff, v):
    """Energy in pJ of switching `c_ff` femtofarads once at supply `v` volts."""
    return c_ff * v * v / FJ_PER_PJ
