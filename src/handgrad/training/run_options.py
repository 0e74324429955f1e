"""How to run a training, the same for every experiment: `RunOptions`.

Apart from `handgrad.training.experiment` so that what a part of ``handgrad reproduce``
is (`handgrad.training.parts`), which trains with these options, sits below the
experiment interface that lists the parts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handgrad.training.checkpoint import TrainingState, start_or_resume
from handgrad.training.provenance import environment
from handgrad.training.runs import Run


@dataclass(frozen=True)
class RunOptions:
    """How to run a training, the same for every experiment (what to train is the config).

    ``data_dir``: where image files are (experiments on generated data ignore it);
    ``progress``: show progress bars; ``overwrite``: replace a run already in the run
    directory; ``resume``: continue it from its checkpoint; ``log``: receives each line.
    """

    data_dir: str | Path | None = None
    progress: bool = True
    overwrite: bool = False
    resume: bool = False
    log: Callable[[str], None] = print

    def open_run(
        self,
        state: TrainingState,
        out: str | Path,
        config: Any,
        *,
        engine: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Run:
        """The run directory ``out`` for ``config`` (a dataclass), new or resumed as these
        options say (`handgrad.training.checkpoint.start_or_resume`), with the provenance
        of this session: ``engine`` (the engine resolved, e.g. "fused"; None: the
        experiment's own code, no engine) and ``data``
        (`handgrad.training.provenance.image_data` or ``generated_data``)."""
        return start_or_resume(
            state,
            out,
            dataclasses.asdict(config),
            resume=self.resume,
            overwrite=self.overwrite,
            log=self.log,
            provenance={**environment(engine), "data": data},
        )
