"""Small builders for tests: architectures with changed fields, one-layer workloads."""
import copy

from tlm.config.arch import arch_from_dict
from tlm.config.workload import parse_workload


def with_changes(arch, **changes):
    """A copy of `arch` with dotted-path fields changed: with_changes(a, **{"macro.count": 2})."""
    d = copy.deepcopy(arch.to_dict())
    for path, value in changes.items():
        node = d
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return arch_from_dict(d)


def workload(layers, shape=(4, 6, 6), bits=8, precision=None, batch=1, name="t"):
    data = {"name": name, "input": {"shape": list(shape), "bits": bits}, "batch": batch,
            "layers": [dict(l) for l in layers]}
    if precision:
        data["precision"] = dict(precision)
    return parse_workload(data, "<test>")
