"""Discovery of service scripts by file name: a new service folder needs no registration.

`src/<service>/extractors/*_extractor.py` are extractors; `src/<service>/cleaners/
<service>_{landing2raw,raw2staging,staging2curated,curated2business}.py` are cleaners. Any other
`.py` in those folders (except `__init__.py` and `_private.py` helpers) is ignored with a
warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from datalake.paths import CODE_ROOT

# curated2business: cross-platform tables built from the other services' curated tables only
STAGES = ("extract", "landing2raw", "raw2staging", "staging2curated", "curated2business")
CLEANER_STAGES = STAGES[1:]
_NOT_SERVICES = {"datalake"}
_SERVICE_RE = re.compile(r"^[a-z][a-z0-9]*$")


@dataclass(frozen=True)
class Script:
    """One discovered script."""

    service: str
    stage: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.service}.{self.stage}" + (
            f".{self.path.stem}" if self.stage == "extract" else ""
        )

    @property
    def is_extractor(self) -> bool:
        return self.stage == "extract"


def _looks_like_service(folder: Path) -> bool:
    return (folder / "extractors").is_dir() or (folder / "cleaners").is_dir()


def _classify(service: str, path: Path) -> str | None:
    if path.parent.name == "extractors" and path.stem.endswith("_extractor"):
        return "extract"
    if path.parent.name == "cleaners":
        for stage in CLEANER_STAGES:
            if path.stem == f"{service}_{stage}":
                return stage
    return None


def discover(code_root: Path = CODE_ROOT) -> tuple[list[Script], list[str]]:
    """All scripts in zone order (stage, then service, then name), and warnings about strays."""
    scripts, warnings = [], []
    for service_dir in sorted(p for p in Path(code_root).iterdir() if p.is_dir()):
        service = service_dir.name
        if service in _NOT_SERVICES or not _looks_like_service(service_dir):
            continue
        if not _SERVICE_RE.match(service):
            warnings.append(
                f"ignored {service_dir.name}/: a service name is lowercase letters and digits "
                f"only (no '_' or '-': script names are <service>_<stage>.py); rename the folder"
            )
            continue
        for folder in ("extractors", "cleaners"):
            for path in sorted((service_dir / folder).glob("*.py")):
                if path.name.startswith("_"):
                    continue
                stage = _classify(service, path)
                if stage is None:
                    warnings.append(
                        f"ignored {path.relative_to(code_root).as_posix()}: not named "
                        f"like *_extractor.py or {service}_<stage>.py"
                    )
                else:
                    scripts.append(Script(service, stage, path))
    scripts.sort(key=lambda s: (STAGES.index(s.stage), s.service, s.path.name))
    return scripts, warnings
