"""The mapping policies and objectives (one list, used everywhere), and the mapper's size limits."""

POLICIES = ("sequential", "resident", "pipelined", "replicate", "auto")
STREAM = ("pipelined", "replicate")  # policies whose layers overlap
CONCRETE = ("sequential", "resident", "pipelined", "replicate")
OBJECTIVES = ("latency", "throughput", "energy", "edp")
MAX_PACK_TILES = 100_000  # weight tiles the resident policies place one by one (Python objects each)
MAX_JOBS = 60_000  # jobs of a streamed schedule (a few Python objects and events each): coarser rows past this
