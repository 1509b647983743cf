"""The label's naming rules: artist names from a settings file, campaign names by convention."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from datalake.settings import REPO_ROOT, SettingsError, settings_file

DEFAULT_RULES = REPO_ROOT / "config" / "artist_names.toml"
_SPACES = re.compile(r"\s+")
_COPY = re.compile(r"\s+-\s+copy(\s+\d+)?\s*$", re.IGNORECASE)  # Meta's "Duplicate" suffix
_PARTS = re.compile(r"\s+-\s+")


def _clean(name: str) -> str:
    return unicodedata.normalize("NFC", _SPACES.sub(" ", name).strip())


@dataclass(frozen=True)
class ArtistNames:
    """Artist-name rules (see config/artist_names.toml): aliases and accounts."""

    aliases: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    ignore_case: bool = True

    @classmethod
    def load(cls, path: Path | None = None) -> ArtistNames:
        """The rules from `path`, else from BUSINESS_ARTIST_NAMES, else the repository's."""
        path = path or settings_file("BUSINESS_ARTIST_NAMES", DEFAULT_RULES)
        if not path.exists():
            raise SettingsError(f"BUSINESS_ARTIST_NAMES: no rules file at {path}")
        try:
            doc = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(
                f"BUSINESS_ARTIST_NAMES: {path.name} is not TOML: {error}"
            ) from None
        for section in ("aliases", "accounts"):
            values = doc.get(section, {})
            if not isinstance(values, dict) or not all(
                isinstance(v, str) and v.strip() for v in values.values()
            ):
                raise SettingsError(f"{path.name}: [{section}] maps names to non-empty text")
        ignore_case = doc.get("ignore_case", True)
        if not isinstance(ignore_case, bool):
            raise SettingsError(f"{path.name}: ignore_case is true or false")
        fold = str.casefold if ignore_case else str
        return cls(
            {fold(_clean(k)): _clean(v) for k, v in doc.get("aliases", {}).items()},
            {k.strip(): _clean(v) for k, v in doc.get("accounts", {}).items()},
            ignore_case,
        )

    def artist(self, name: str | None) -> str | None:
        """The label's name for an artist name as a platform wrote it (None stays None)."""
        if name is None or not name.strip():
            return None
        name = _clean(name)
        return self.aliases.get(name.casefold() if self.ignore_case else name, name)

    def artists(self, names):
        """`artist()` of every value of a pyarrow text column (each distinct name once)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        distinct = pc.unique(names)
        named = pa.array([self.artist(v) for v in distinct.to_pylist()], pa.string())
        return pc.take(named, pc.index_in(names, distinct))

    def account(self, source: str, account: str | None) -> str | None:
        """The artist a platform account belongs to, if the rules say."""
        return None if account is None else self.accounts.get(f"{source}:{account}")


@dataclass(frozen=True)
class Campaign:
    artist: str | None
    track: str | None
    targeting: str | None


def parse_campaign(name: str | None) -> Campaign:
    """`ARTIST - TRACK - TARGETING` (a trailing "- Copy" / "- Copy 2" ignored; a track may
    itself hold " - "); anything else gives no artist, track or targeting."""
    text = (name or "").strip()
    while _COPY.search(text):
        text = _COPY.sub("", text)
    parts = [part.strip() for part in _PARTS.split(text)]
    if len(parts) < 3 or not all(parts):
        return Campaign(None, None, None)
    return Campaign(parts[0], " - ".join(parts[1:-1]), parts[-1])
