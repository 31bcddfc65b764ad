"""Where a citizen wants news from: area names as citizens type them, resolved to QĐ 19/2025 codes.

Broadcasts target a province (2 digits) or a commune-level unit (5 digits), so an area follow must end up as
one of those codes. Citizens write names, not codes, and write them carelessly: without diacritics, in any
case, with or without the kind ("phường", "xã", "tỉnh", "TP"), with words around ("Theo dõi phường Bãi Cháy
ạ"). Names are folded the way chat commands are (``streams.chat_commands.fold``) and the longest run of words
that names a known unit wins. A code typed instead of a name is accepted when the catalogue knows it.

The 34 provinces are the official post-merger list (vn-egov §3.4). The official commune list has 3,321
units; a deployment loads it from ``HOSO_AREA_CATALOGUE`` (JSON ``[{code, name, province}]``, ``name`` with
its kind, e.g. "phường Bãi Cháy"). Without that file the built-in communes are the ones the demo's and
tests' synthetic traffic uses (``hosoctl.synthetic.reference_data``), whose codes are illustrative.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from hoso.errors import ConfigurationError
from schemas.broadcast import AreaLevel
from streams.chat_commands import fold

PROVINCES: dict[str, str] = {
    "01": "thành phố Hà Nội",
    "04": "tỉnh Cao Bằng",
    "08": "tỉnh Tuyên Quang",
    "11": "tỉnh Điện Biên",
    "12": "tỉnh Lai Châu",
    "14": "tỉnh Sơn La",
    "15": "tỉnh Lào Cai",
    "19": "tỉnh Thái Nguyên",
    "20": "tỉnh Lạng Sơn",
    "22": "tỉnh Quảng Ninh",
    "24": "tỉnh Bắc Ninh",
    "25": "tỉnh Phú Thọ",
    "31": "thành phố Hải Phòng",
    "33": "tỉnh Hưng Yên",
    "37": "tỉnh Ninh Bình",
    "38": "tỉnh Thanh Hóa",
    "40": "tỉnh Nghệ An",
    "42": "tỉnh Hà Tĩnh",
    "44": "tỉnh Quảng Trị",
    "46": "thành phố Huế",
    "48": "thành phố Đà Nẵng",
    "51": "tỉnh Quảng Ngãi",
    "52": "tỉnh Gia Lai",
    "56": "tỉnh Khánh Hòa",
    "66": "tỉnh Đắk Lắk",
    "68": "tỉnh Lâm Đồng",
    "75": "tỉnh Đồng Nai",
    "79": "Thành phố Hồ Chí Minh",
    "80": "tỉnh Tây Ninh",
    "82": "tỉnh Đồng Tháp",
    "86": "tỉnh Vĩnh Long",
    "91": "tỉnh An Giang",
    "92": "thành phố Cần Thơ",
    "96": "tỉnh Cà Mau",
}
"""QĐ 19/2025/QĐ-TTg province-level units (34, effective 1/7/2025)."""

PROVINCE_ALIASES: dict[str, str] = {"HCM": "79", "TPHCM": "79", "HANOI": "01"}
"""Folded short forms citizens use for a province."""

_BUILT_IN_COMMUNES: dict[str, tuple[str, ...]] = {
    # province -> "code kind name" (illustrative codes, the same as the synthetic traffic's)
    "22": (
        "06652 phường Hạ Long", "06658 phường Bãi Cháy", "06661 phường Hồng Gai", "06673 phường Hà Tu",
        "06676 phường Cao Xanh", "06685 phường Việt Hưng", "06688 phường Tuần Châu", "06703 phường Hoành Bồ",
        "06778 phường Cẩm Phả", "06784 phường Quang Hanh", "06796 phường Cửa Ông", "06805 phường Mông Dương",
        "06832 phường Uông Bí", "06844 phường Vàng Danh", "06853 phường Yên Tử", "06712 phường Móng Cái 1",
        "06718 phường Móng Cái 2", "07081 phường Đông Triều", "07090 phường Quảng Yên", "06925 xã Tiên Yên",
        "06961 xã Ba Chẽ", "06892 xã Bình Liêu", "06997 xã Đầm Hà", "07030 xã Quảng Hà", "07105 đặc khu Vân Đồn",
        "07192 đặc khu Cô Tô",
    ),
    "44": (
        "15859 phường Đồng Hới", "15865 phường Đồng Thuận", "15871 phường Đồng Sơn", "15712 phường Ba Đồn",
        "15724 phường Bắc Gianh", "19330 phường Đông Hà", "19336 phường Nam Đông Hà", "19363 phường Quảng Trị",
        "16063 xã Lệ Thủy", "15952 xã Bố Trạch", "15961 xã Phong Nha", "15802 xã Quảng Trạch", "15628 xã Tuyên Hóa",
        "15589 xã Minh Hóa", "19405 xã Vĩnh Linh", "19423 xã Gio Linh", "19498 xã Khe Sanh", "19552 xã Cam Lộ",
        "19579 xã Triệu Phong", "19660 xã Hải Lăng", "19741 đặc khu Cồn Cỏ",
    ),
    "01": (
        "00070 phường Hoàn Kiếm", "00004 phường Ba Đình", "00166 phường Cầu Giấy", "00235 phường Đống Đa",
        "09556 phường Hà Đông", "00130 phường Long Biên", "00103 phường Tây Hồ", "00331 phường Hoàng Mai",
        "08980 xã Sóc Sơn", "09022 xã Đông Anh",
    ),
    "79": (
        "26740 phường Sài Gòn", "26743 phường Bến Thành", "26734 phường Tân Định", "26842 phường Thủ Đức",
        "26884 phường Gò Vấp", "26905 phường Bình Thạnh", "25747 phường Thủ Dầu Một", "26506 phường Vũng Tàu",
        "27496 xã Củ Chi", "27664 xã Cần Giờ", "26680 đặc khu Côn Đảo",
    ),
    "38": (
        "14755 phường Hạc Thành", "14914 phường Sầm Sơn", "14797 phường Bỉm Sơn", "16516 phường Nghi Sơn",
        "14872 phường Quảng Phú", "14986 xã Thọ Xuân", "15037 xã Hoằng Hóa", "14602 xã Hậu Lộc", "14665 xã Nga Sơn",
        "14449 xã Ngọc Lặc",
    ),
    "48": (
        "20194 phường Hải Châu", "20227 phường Thanh Khê", "20263 phường Sơn Trà", "20285 phường Ngũ Hành Sơn",
        "20197 phường Liên Chiểu", "20335 phường Hội An", "20341 phường Tam Kỳ", "20306 xã Hòa Vang",
        "20545 xã Điện Bàn",
    ),
}  # fmt: skip

# Folded kind words, longest first; "TP" and "P" are how citizens abbreviate "thành phố" and "phường".
_KINDS: dict[tuple[str, ...], AreaLevel] = {
    ("THANH", "PHO"): AreaLevel.PROVINCE,
    ("TINH",): AreaLevel.PROVINCE,
    ("TP",): AreaLevel.PROVINCE,
    ("DAC", "KHU"): AreaLevel.COMMUNE,
    ("PHUONG",): AreaLevel.COMMUNE,
    ("XA",): AreaLevel.COMMUNE,
    ("P",): AreaLevel.COMMUNE,
    ("X",): AreaLevel.COMMUNE,
    ("THI", "TRAN"): AreaLevel.COMMUNE,
    ("TT",): AreaLevel.COMMUNE,
}
# Folded words for a pre-2025 district (quận, huyện, thị xã; "Q.", "H.", "TX."): that level no longer exists, so
# a name after one is no unit of the catalogue. Chat reads the name anyway ("theo doi huyen Tien Yen" meant the
# commune of that name); an address does not (its commune is named elsewhere, see ``resolve_address``).
_DISTRICTS: tuple[tuple[str, ...], ...] = (("THI", "XA"), ("QUAN",), ("HUYEN",), ("TX",), ("Q",), ("H",))
_KIND_PREFIXES = ("thành phố ", "tỉnh ", "đặc khu ", "phường ", "xã ")
_STRIP = ".,;:!?()[]{}\"'#*<>-"
# Citizens glue abbreviations to names ("Q.Ba Dinh", "TP.HCM") and separate parts with any punctuation.
_SEPARATORS = re.compile(r"[\s,.;:/\\|-]+")
_ADDRESS_PARTS = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class Area:
    """One unit a broadcast can target: its code, level, name with kind, and province."""

    code: str
    level: AreaLevel
    name: str
    province: str


@dataclass(frozen=True)
class Resolved:
    """What a citizen's words named: the areas found, and names that fit several units (need the province)."""

    areas: tuple[Area, ...] = ()
    ambiguous: tuple[tuple[Area, ...], ...] = ()


def _bare(name: str) -> str:
    for prefix in _KIND_PREFIXES:
        if name.lower().startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass(frozen=True)
class _Hit:
    """One run of words that names units: the kind word before it, and what it could be."""

    kind: AreaLevel | None
    candidates: tuple[Area, ...]
    district: bool = False
    """Named after a district word ("quận Ba Đình"): a pre-2025 unit, not one of the catalogue's."""
    whole: bool = False
    """The name (and its kind word) is all the text says: not a street or a house inside a longer text."""


def _words(text: str) -> list[str]:
    return [w for w in (w.strip(_STRIP) for w in _SEPARATORS.split(fold(text))) if w]


@dataclass
class AreaCatalogue:
    """Province and commune units by code and by folded name (with and without the kind word)."""

    by_code: dict[str, Area] = field(default_factory=dict)
    by_name: dict[tuple[str, ...], list[Area]] = field(default_factory=dict)
    longest: int = 1

    def add(self, area: Area, *aliases: str) -> None:
        """Index ``area`` under its code, its folded name, its bare name and ``aliases``."""
        self.by_code[area.code] = area
        for name in {area.name, _bare(area.name), *aliases}:
            words = tuple(fold(name).replace("-", " ").split())
            bucket = self.by_name.setdefault(words, [])
            if area not in bucket:
                bucket.append(area)
            self.longest = max(self.longest, len(words))

    def province_of(self, code: str) -> str | None:
        """The province of a known code (itself for a province); None when the catalogue does not know it."""
        area = self.by_code.get(code)
        return area.province if area else None

    def examples(self, province: str | None = None, count: int = 2) -> list[Area]:
        """A few communes to show in a reply, from ``province`` when given."""
        communes = [a for a in self.by_code.values() if a.level is AreaLevel.COMMUNE]
        if province:
            communes = [a for a in communes if a.province == province] or communes
        return communes[:count]

    def resolve(self, text: str) -> Resolved:
        """The areas named in ``text``: longest match first, a kind word deciding between province and commune.

        "Quảng Trị" alone is the province (a commune of that name exists too: the wider area wins, the
        citizen can say "phường Quảng Trị"); a commune name shared by several provinces is narrowed by a
        province named in the same message, otherwise reported as ambiguous.
        """
        return self._settle(self._scan(text))

    def resolve_address(self, address: str, *, ward: str = "", city: str = "") -> Resolved:
        """The one area a postal address places a citizen in (``areas`` empty: none could be told for sure).

        An address names a house, a street, then the commune, a pre-2025 district and the province, each
        written as the citizen likes ("số 5 Đội Cấn, P. Ba Đình, Q.Ba Dinh, Hà Nội"). It is read with the same
        matcher as ``THEO DOI``, but only where it cannot mistake a street for a unit:

        * a commune counts when a commune word introduces it ("P.", "phường", "X.", "xã", "TT."), or when it
          is a whole comma-separated part on its own ("Bãi Cháy, Quảng Ninh"); a name inside other words
          ("12 Quang Trung") may be a street and only counts as a province;
        * a name after a district word ("Q.", "huyện", "TX.") is skipped: districts were abolished in 2025,
          and a former district's name now belongs to one of its several communes;
        * a commune word before a name the catalogue knows only as a province ("xã Thanh Hóa") names a
          commune it does not know, not the province;
        * numbers are house numbers, never area codes.

        ``ward`` and ``city`` are the form's separate fields, when Zalo sends them. The result is the commune
        when exactly one is found (and any province named agrees), else the province when exactly one is,
        else nothing; a commune name shared by provinces, with no province to tell them apart, is ambiguous.
        """
        hits: list[_Hit] = []
        for part in _ADDRESS_PARTS.split(address or ""):
            hits += [h for h in (self._address_hit(h) for h in self._scan(part, codes=False)) if h is not None]
        for h in self._scan(ward or "", codes=False):
            hits += [h for h in [self._address_hit(replace(h, kind=AreaLevel.COMMUNE, district=False))] if h]
        for h in self._scan(city or "", codes=False):
            hits += [h for h in [self._address_hit(replace(h, kind=AreaLevel.PROVINCE, district=False))] if h]
        settled = self._settle(hits)
        communes = [a for a in settled.areas if a.level is AreaLevel.COMMUNE]
        provinces = [a for a in settled.areas if a.level is AreaLevel.PROVINCE]
        if len(communes) == 1 and not provinces:
            return Resolved((communes[0],))
        if not communes and len(provinces) == 1 and not settled.ambiguous:
            return Resolved((provinces[0],))
        if not settled.areas and len(settled.ambiguous) == 1:
            return Resolved(ambiguous=settled.ambiguous)
        return Resolved()

    @staticmethod
    def _address_hit(hit: _Hit) -> _Hit | None:
        if hit.district:
            return None
        level = hit.kind
        if level is None and not hit.whole:
            level = AreaLevel.PROVINCE
        if level is None:
            return hit
        kept = tuple(a for a in hit.candidates if a.level is level)
        return replace(hit, candidates=kept) if kept else None

    def _scan(self, text: str, *, codes: bool = True) -> list[_Hit]:
        words = _words(text)
        found: list[_Hit] = []
        i = 0
        while i < len(words):
            district = _district_at(words, i)
            kind, skip = (None, district) if district else _kind_at(words, i)
            hit = self._match(words, i + skip, codes=codes)
            if hit is None:
                i += 1
                continue
            end, candidates = hit
            found.append(_Hit(kind, tuple(candidates), district=district > 0, whole=i == 0 and end == len(words)))
            i = end
        return found

    @staticmethod
    def _settle(found: list[_Hit]) -> Resolved:
        provinces = {
            a.code for h in found for a in h.candidates if a.level is AreaLevel.PROVINCE and len(h.candidates) == 1
        }
        areas: list[Area] = []
        ambiguous: list[tuple[Area, ...]] = []
        for h in found:
            kind, candidates = h.kind, list(h.candidates)
            pick = [a for a in candidates if kind is None or a.level is kind] or candidates
            if len(pick) > 1 and kind is None and any(a.level is AreaLevel.PROVINCE for a in pick):
                pick = [a for a in pick if a.level is AreaLevel.PROVINCE]
            if len(pick) > 1:
                narrowed = [a for a in pick if a.province in provinces]
                pick = narrowed or pick
            if len(pick) == 1:
                if pick[0] not in areas:
                    areas.append(pick[0])
            else:
                ambiguous.append(tuple(pick))
        communes_of = {a.province for a in areas if a.level is AreaLevel.COMMUNE}
        # A province named only to say which commune is meant ("Bãi Cháy, Quảng Ninh") is not a second area.
        areas = [a for a in areas if not (a.level is AreaLevel.PROVINCE and a.code in communes_of)]
        return Resolved(tuple(areas), tuple(ambiguous))

    def _match(self, words: list[str], start: int, *, codes: bool = True) -> tuple[int, list[Area]] | None:
        if start >= len(words):
            return None
        if codes and words[start].isdigit() and words[start] in self.by_code:
            return start + 1, [self.by_code[words[start]]]
        for n in range(min(self.longest, len(words) - start), 0, -1):
            candidates = self.by_name.get(tuple(words[start : start + n]))
            if candidates:
                return start + n, list(candidates)
        return None


def _district_at(words: list[str], i: int) -> int:
    """How many words of a district word start at ``i`` (0: none)."""
    return next((len(d) for d in _DISTRICTS if tuple(words[i : i + len(d)]) == d), 0)


def _kind_at(words: list[str], i: int) -> tuple[AreaLevel | None, int]:
    for kind_words, level in _KINDS.items():
        if tuple(words[i : i + len(kind_words)]) == kind_words:
            return level, len(kind_words)
    return None, 0


def built_in() -> AreaCatalogue:
    """The 34 provinces and the built-in (illustrative) communes."""
    catalogue = _provinces()
    for province, items in _BUILT_IN_COMMUNES.items():
        for item in items:
            code, name = item.split(" ", 1)
            catalogue.add(Area(code, AreaLevel.COMMUNE, name, province))
    return catalogue


def _provinces() -> AreaCatalogue:
    catalogue = AreaCatalogue()
    aliases: dict[str, list[str]] = {}
    for alias, code in PROVINCE_ALIASES.items():
        aliases.setdefault(code, []).append(alias)
    for code, name in PROVINCES.items():
        catalogue.add(Area(code, AreaLevel.PROVINCE, name, code), *aliases.get(code, []))
    return catalogue


def load(path: str | Path | None) -> AreaCatalogue:
    """The catalogue of a deployment: the provinces plus the communes of ``path`` (built-in when empty)."""
    if not path:
        return built_in()
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"HOSO_AREA_CATALOGUE={path}: cannot read a JSON list ({exc})") from exc
    if not isinstance(items, list):
        raise ConfigurationError(f"HOSO_AREA_CATALOGUE={path}: expected a JSON list of {{code, name, province}}")
    catalogue = _provinces()
    for n, item in enumerate(items):
        code = str(item.get("code", "")) if isinstance(item, dict) else ""
        province = str(item.get("province", "")) if isinstance(item, dict) else ""
        name = str(item.get("name", "")).strip() if isinstance(item, dict) else ""
        if not (len(code) == 5 and code.isdigit() and province in PROVINCES and name):
            raise ConfigurationError(
                f"HOSO_AREA_CATALOGUE={path}: item {n} needs a 5-digit code, a name and one of the 34 province codes"
            )
        catalogue.add(Area(code, AreaLevel.COMMUNE, name, province))
    return catalogue
