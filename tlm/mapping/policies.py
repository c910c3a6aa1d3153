"""The mapping policies and objectives (one list, used everywhere), and the mapper's size limits."""

from tlm.config.arch import MAPPING_POLICIES as POLICIES  # the schema's choices: sequential .. replicate, auto

STREAM = ("pipelined", "replicate")  # policies whose layers overlap
CONCRETE = tuple(p for p in POLICIES if p != "auto")  # what an engine runs (auto is resolved above them)
OBJECTIVES = ("latency", "throughput", "energy", "edp")
MAX_PACK_TILES = 100_000  # weight tiles the resident policies place one by one (Python objects each)
MAX_JOBS = 60_000  # jobs of a streamed schedule (a few Python objects and events each): coarser rows past this
