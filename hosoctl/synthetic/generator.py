"""Seeded synthetic dossier traffic: whole dossier lifecycles as wire-form DossierEvent dicts.

Built for demos and benchmarks, so it has to be deterministic (same options, same output), fast (no pydantic
on the generation path) and realistic enough to exercise every consumer rule: all statuses and their
conditional fields, Vietnamese text near its length limits, phones in several spellings, recipients without
consent or without a phone, consent withdrawn mid-dossier, and the second supplement request or extension the
compliance streams must flag. Validation lives in the tests, not here.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any, TypeVar

from hosoctl.synthetic import reference_data as catalog
from hosoctl.synthetic.paths import draw_path
from hosoctl.synthetic.workclock import WORK_DAY, WORK_DAY_START, WorkCalendar
from schemas.common import VN_TZ
from schemas.dossier_event import SCHEMA_VERSION, STATUS_LABEL_VI, Status

DEFAULT_START = datetime(2025, 7, 14, 7, 30, tzinfo=VN_TZ)
"""A Monday just after NĐ 118/2025 took effect; fixed so that output depends only on the options."""
ND118_EFFECTIVE = "2025-07-01"
"""Dossiers received from this day fall under NĐ 118/2025 (ISO dates compare correctly as strings)."""
INTAKE_CUTOFF = 54_000
"""15:00: a dossier received later counts from the next working day (a common procedure rule)."""
APPOINTMENT_STEP = 1_800
"""Appointments are given on the half hour, as on a printed phiếu hẹn."""

P_ONLINE = 0.55
P_POSTAL = 0.05
ORIGIN_ONLINE: tuple[tuple[str, float], ...] = (("MOT_CUA_TINH", 0.45), ("DVCQG", 0.35), ("VNEID", 0.2))
P_PLUS84 = 0.12
"""Share of phone numbers written ``+84…`` rather than ``0…``, so consumers must normalise."""
P_ZALO_ID_WITH_PHONE = 0.2
"""Consenting recipients who also follow the OA and so have a Zalo user id."""
P_FEMALE = 0.5
P_DOUBLE_MIDDLE_NAME = 0.15
P_MIGRANT = 0.15
"""Applicants whose CCCD was registered in another province."""
P_E_RESULT_ONLINE = 0.5
P_RESULT_LATE = 0.04
"""Dossiers finishing after their appointment without an apology (it happens, and the 766 index counts it)."""
P_SUPPLEMENT_NOTE = 0.35
MAX_MISSING_DOCUMENTS = 3
NOTICE_MAX = 400
"""``noi_dung_hien_thi`` must fit one ZNS paragraph."""
ID_SALT = "hoso-synthetic"

_LABEL_TRANSFERRED_TO = STATUS_LABEL_VI[Status.TRANSFERRED] + " đến "
_IN_PROGRESS_CODES = (2, 4, 5, 6)
_CORRELATED = frozenset(
    {
        Status.SUPPLEMENT_REQUESTED,
        Status.SUPPLEMENT_RECEIVED,
        Status.PAYMENT_REQUESTED,
        Status.PAID,
        Status.OVERDUE,
        Status.DUE_DATE_EXTENDED,
    }
)
_RATIOS = ("consent_ratio", "second_recipient_ratio", "no_phone_ratio", "magic_ratio", "withdraw_consent_ratio")


@dataclass(frozen=True)
class GeneratorOptions:
    """What to generate.

    Ratios apply per recipient, except ``withdraw_consent_ratio`` (per dossier: a consenting recipient of the
    dossier withdraws consent on some later event). ``no_phone_ratio`` applies to consenting recipients, who
    are then reachable by ``zalo_user_id`` only. ``magic_ratio`` gives recipients the Zalo simulator's magic
    numbers 84999000NNN, always with consent so that the failure is actually attempted. ``namespace`` is mixed
    into event ids so two runs with the same seed can share a broker without their events looking like
    duplicates. ``allow_repeats`` permits the rare second supplement request or extension.
    ``dossiers_per_day`` sets the arrival rate, and so how many days the traffic spans.
    """

    dossiers: int
    seed: int = 0
    start: datetime | None = None
    province_codes: tuple[str, ...] | None = None
    consent_ratio: float = 0.9
    second_recipient_ratio: float = 0.25
    no_phone_ratio: float = 0.03
    magic_ratio: float = 0.0
    withdraw_consent_ratio: float = 0.02
    namespace: str = ""
    allow_repeats: bool = True
    dossiers_per_day: int = 1000

    def __post_init__(self) -> None:
        if self.dossiers < 0:
            raise ValueError("dossiers must be >= 0")
        if self.dossiers_per_day < 1:
            raise ValueError("dossiers_per_day must be >= 1")
        for name in _RATIOS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.province_codes is not None:
            unknown = [c for c in self.province_codes if c not in catalog.PROVINCES_BY_CODE]
            if unknown or not self.province_codes:
                known = ", ".join(sorted(catalog.PROVINCES_BY_CODE))
                raise ValueError(f"unknown or empty province codes {unknown} (known: {known})")


def lifecycles(options: GeneratorOptions) -> list[list[dict[str, Any]]]:
    """Every dossier's events in order, as JSON-ready dicts; ``sequence`` runs 1, 2, 3… per dossier."""
    return _Generator(options).run()[0]


def events(options: GeneratorOptions) -> list[dict[str, Any]]:
    """All events ordered by ``occurred_at``, each dossier's own order kept: the stream a broker would carry."""
    per_dossier, times = _Generator(options).run()
    with _collector_paused():
        flat = [e for dossier in per_dossier for e in dossier]
        keys = [t for dossier in times for t in dossier]
        # A stable sort on the working-seconds clock; each dossier's times strictly increase, so its order holds.
        order = sorted(range(len(flat)), key=keys.__getitem__)
        return [flat[i] for i in order]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic GC: it would rescan millions of fresh, acyclic dicts again and again for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# ------------------------------------------------------------------------------------------ helpers

T = TypeVar("T")


def _weighted(items: Sequence[T], weights: Sequence[float]) -> Callable[[random.Random], T]:
    """A weighted picker with its cumulative table built once (``Random.choices`` rebuilds it every call)."""
    cum = list(accumulate(weights))
    total = cum[-1]

    def pick(rng: random.Random) -> T:
        return items[bisect.bisect_right(cum, rng.random() * total)]

    return pick


def _uuid4(digest: bytes) -> str:
    """``str(uuid.UUID(bytes=digest[:16], version=4))`` by string slicing, at a third of the cost."""
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
"""RFC 4122 variant: the top two bits of byte 8 become ``10``."""


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def _agency(code: str, name: str, department: str) -> dict[str, str]:
    return {"ma_dinh_danh": code, "ten": name, "phong_ban": department}


def _round_up(w: int, step: int = APPOINTMENT_STEP) -> int:
    return -(-w // step) * step


@dataclass(frozen=True, slots=True)
class _Place:
    """A province with its agencies resolved to codes and names once, rather than per dossier."""

    province: catalog.Province
    source_system: str
    intake: tuple[str, str]
    agencies: dict[str, tuple[str, str]]
    commune_intake: tuple[tuple[str, str], ...]
    commune_ubnd: tuple[tuple[str, str], ...]
    base_url: str

    @classmethod
    def of(cls, p: catalog.Province) -> _Place:
        kinds = catalog.AGENCY_KINDS
        agencies = {key: (f"000.00.{k.number}.{p.h_code}", f"{k.name} {p.full_name}") for key, k in kinds.items()}
        first = catalog.COMMUNE_AGENCY_BASE
        centre = kinds["TTPVHCC"].name
        return cls(
            province=p,
            source_system=agencies["UBND"][0],
            intake=agencies["TTPVHCC"],
            agencies=agencies,
            commune_intake=tuple(
                (f"000.01.{first + i:02d}.{p.h_code}", f"{centre} {c.full_name}") for i, c in enumerate(p.communes)
            ),
            commune_ubnd=tuple(
                (f"000.00.{first + i:02d}.{p.h_code}", f"UBND {c.full_name}") for i, c in enumerate(p.communes)
            ),
            base_url=f"https://{p.portal_host}",
        )


# ------------------------------------------------------------------------------------------ generator


class _Generator:
    """One generation run: the shared RNG, the calendar and the per-agency-per-day dossier counters."""

    def __init__(self, options: GeneratorOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.cal, self.start_w = WorkCalendar.starting_at(options.start or DEFAULT_START)
        codes = options.province_codes or tuple(p.code for p in catalog.PROVINCES)
        places = [_Place.of(catalog.PROVINCES_BY_CODE[c]) for c in dict.fromkeys(codes)]
        self.pick_place = _weighted(places, [pl.province.weight for pl in places])
        self.pick_procedure = _weighted(catalog.PROCEDURES, [p.weight for p in catalog.PROCEDURES])
        self.pick_family = _weighted([n for n, _ in catalog.FAMILY_NAMES], [w for _, w in catalog.FAMILY_NAMES])
        self.pick_origin = _weighted([o for o, _ in ORIGIN_ONLINE], [w for _, w in ORIGIN_ONLINE])
        self.all_birth_prefixes = [bp for p in catalog.PROVINCES for bp in p.birth_prefixes]
        self.counters: dict[tuple[str, int], int] = {}
        ns = options.namespace.encode()
        self.id_base = hashlib.blake2b(b"%d:%s:%d" % (len(ns), ns, options.seed), digest_size=16)

    def run(self) -> tuple[list[list[dict[str, Any]]], list[list[int]]]:
        """Per dossier: its events and their working-second times (the sort key for interleaving)."""
        gap = WORK_DAY / self.options.dossiers_per_day
        w = float(self.start_w)
        out: list[list[dict[str, Any]]] = []
        times: list[list[int]] = []
        with _collector_paused():
            for index in range(self.options.dossiers):
                dossier = _Dossier(self, index, int(w))
                out.append(dossier.build())
                times.append(dossier.times)
                w += self.rng.expovariate(1.0) * gap  # Poisson arrivals
        return out, times

    def event_id(self, index: int, sequence: int) -> str:
        """A v4-shaped UUID that depends only on (namespace, seed, dossier index, sequence)."""
        h = self.id_base.copy()
        h.update(b"%d:%d" % (index, sequence))
        return _uuid4(h.digest())

    def dossier_code(self, agency_code: str, day: int) -> str:
        """``{agency}-{yyMMdd}-{NNNN}`` with a counter per receiving agency and day (§3.1).

        The date is the dossier's first event: for an online dossier that is the submission, because the
        SUBMITTED event already needs the key the whole dossier will be partitioned by.
        """
        key = (agency_code, day)
        n = self.counters.get(key, 0) + 1
        self.counters[key] = n
        return f"{agency_code}-{self.cal.yymmdd[day]}-{n:04d}"

    def name(self) -> str:
        rng = self.rng
        family = self.pick_family(rng)
        if rng.random() < P_FEMALE:
            middle = rng.choice(catalog.MIDDLE_NAMES_FEMALE)
            if middle == "Thị" and rng.random() < P_DOUBLE_MIDDLE_NAME:
                middle += " " + rng.choice(catalog.MIDDLE_NAMES_FEMALE[1:])
            given = rng.choice(catalog.GIVEN_NAMES_FEMALE)
        else:
            middle = rng.choice(catalog.MIDDLE_NAMES_MALE)
            given = rng.choice(catalog.GIVEN_NAMES_MALE)
        return f"{family} {middle} {given}"

    def phone(self) -> str:
        rng = self.rng
        prefix = rng.choice(catalog.MOBILE_PREFIXES)
        rest = f"{rng.randrange(10_000_000):07d}"
        return f"+84{prefix[1:]}{rest}" if rng.random() < P_PLUS84 else prefix + rest

    def recipient(self, role: str, recorded_at: str) -> dict[str, Any]:
        rng, o = self.rng, self.options
        r: dict[str, Any] = {"vai_tro": role, "ho_ten_hien_thi": self.name()}
        consent = rng.random() < o.consent_ratio
        if o.magic_ratio and rng.random() < o.magic_ratio:
            r["phone"] = f"84999000{rng.choice(catalog.MAGIC_PHONE_SUFFIXES)}"
            consent = True
        elif consent and rng.random() < o.no_phone_ratio:
            r["zalo_user_id"] = str(rng.randrange(10**17, 10**19))
        else:
            r["phone"] = self.phone()
            if consent and rng.random() < P_ZALO_ID_WITH_PHONE:
                r["zalo_user_id"] = str(rng.randrange(10**17, 10**19))
        r["dong_y_zalo"] = consent
        r["dong_y_sms"] = False  # SMS consent is given separately; the demo never texts anyone
        if consent:
            r["dong_y_luc"] = recorded_at
        return r

    def id_hash(self, province: catalog.Province) -> str:
        """Salted hash of a plausible 12-digit CCCD (§3.5); the number itself never leaves this function."""
        rng = self.rng
        prefixes = self.all_birth_prefixes if rng.random() < P_MIGRANT else province.birth_prefixes
        year = rng.randrange(1945, 2008)
        century_sex = (0 if year < 2000 else 2) + rng.randrange(2)
        cccd = f"{rng.choice(prefixes)}{century_sex}{year % 100:02d}{rng.randrange(1_000_000):06d}"
        return hashlib.sha256(f"{ID_SALT}:{cccd}".encode()).hexdigest()


Handler = Callable[["_Dossier", dict[str, Any]], "str | None"]


class _Dossier:
    """One dossier while its events are built: the fixed payload, what carries over, and the clock ``t``.

    Each status has a handler that advances ``t`` (working seconds), sets the national code, adds the fields
    only that event carries to ``extra`` and returns the short Vietnamese notice, if any.
    """

    def __init__(self, gen: _Generator, index: int, arrival: int) -> None:
        rng, cal = gen.rng, gen.cal
        self.gen, self.rng, self.cal, self.index = gen, rng, cal, index
        place: _Place = gen.pick_place(rng)
        prov = place.province
        proc: catalog.Procedure = gen.pick_procedure(rng)
        self.proc = proc
        u = rng.random()
        self.channel = 2 if u < P_ONLINE else 3 if u < P_ONLINE + P_POSTAL else 1
        self.origin = gen.pick_origin(rng) if self.channel == 2 else "BCCI" if self.channel == 3 else "MOT_CUA_TINH"
        self.path = draw_path(
            rng,
            online=self.channel == 2,
            fee=proc.fee_range is not None,
            has_due_date=proc.working_days is not None,
            allow_repeats=gen.options.allow_repeats,
        )
        # Commune procedures are received by the commune's one-stop centre and decided by its UBND.
        ci = rng.randrange(len(prov.communes))
        self.handlers = [
            (*(place.commune_ubnd[ci] if kind == "UBND_XA" else place.agencies[kind]), department)
            for kind, department in proc.handlers
        ]
        self.intake = _agency(*(place.commune_intake[ci] if proc.commune_level else place.intake),
                              catalog.INTAKE_DEPARTMENT)  # fmt: skip
        area = {"tinh": prov.code, "catalog": "QD19-2025"}
        if proc.commune_level:
            area["xa"] = prov.communes[ci].code
        self.area = area

        day0 = cal.day(arrival)
        code = gen.dossier_code(self.intake["ma_dinh_danh"], day0)
        self.code = code
        self.base_url = place.base_url
        self.documents_url = f"{place.base_url}/van-ban/{code}/"
        self.legal = "ND118_2025" if cal.iso[day0] >= ND118_EFFECTIVE else "ND61_2018"
        self.source_system = place.source_system

        first_at = cal.at(arrival)
        recipients = [gen.recipient("CHU_HO_SO", first_at)]
        if rng.random() < gen.options.second_recipient_ratio:
            recipients.append(gen.recipient("NGUOI_UY_QUYEN", first_at))
        self.recipients = recipients
        self.withdraw_seq = self.withdrawer = -1
        if len(self.path) > 1 and rng.random() < gen.options.withdraw_consent_ratio:
            consenting = [i for i, r in enumerate(recipients) if r["dong_y_zalo"]]
            if consenting:
                self.withdrawer = rng.choice(consenting)
                self.withdraw_seq = rng.randrange(2, len(self.path) + 1)

        self.fixed: dict[str, Any] = {
            "ma_ho_so": code,
            "ma_tthc": proc.ma_tthc,
            "ten_tthc": proc.ten,
            "ma_linh_vuc": proc.ma_linh_vuc,
            "kenh_thuc_hien": self.channel,
            "tra_cuu_url": f"{place.base_url}/tra-cuu?mhs={code}",
            "chu_ho_so_dinh_danh_hash": gen.id_hash(prov),
        }
        self.carried: dict[str, Any] = {"ngay_nop_ho_so": first_at}
        self.holder = self.intake
        self.transfers = 0
        self.t = arrival
        self.due = -1  # working second of the appointment; -1 while there is none
        self.dvcqg = 1
        self.label = ""
        self.prev: Status | None = None
        self.supplements = self.extensions = 0
        self.supplement_started = self.supplement_deadline = self.payment_deadline = 0
        self.payment: dict[str, Any] = {}
        self.result: dict[str, Any] = {}
        self.correlation: str | None = None
        self.times: list[int] = []

    def build(self) -> list[dict[str, Any]]:
        out = []
        cal, rand = self.cal, self.rng.random
        for seq, st in enumerate(self.path, start=1):
            if seq > 1:
                self.t += 1  # strictly increasing per dossier, whatever the handler adds
            value, self.label, handler, correlated = _SPECS[st]
            extra: dict[str, Any] = {}
            notice = handler(self, extra)
            occurred = cal.at(self.t)
            if seq == self.withdraw_seq:
                i = self.withdrawer
                self.recipients[i] = dict(self.recipients[i], dong_y_zalo=False, dong_y_luc=occurred)
            data: dict[str, Any] = {
                **self.fixed,
                "trang_thai_dvcqg": self.dvcqg,
                "trang_thai": value,
                "trang_thai_label_vi": self.label,
                "don_vi_tiep_nhan": dict(self.intake),
                "don_vi_xu_ly": dict(self.holder),
                "ma_dvhc": dict(self.area),
                **self.carried,
                **extra,
                "nguoi_nhan_thong_bao": [dict(r) for r in self.recipients],
            }
            if notice is not None:
                data["noi_dung_hien_thi"] = notice if len(notice) <= NOTICE_MAX else notice[: NOTICE_MAX - 1] + "…"
            event: dict[str, Any] = {
                "event_id": self.gen.event_id(self.index, seq),
                "event_type": value,
                "schema_version": SCHEMA_VERSION,
                "legal_basis": self.legal,
                "occurred_at": occurred,
                "emitted_at": cal.at(self.t, 1 + int(rand() * 20)),
                "source_system": self.source_system,
                "origin_channel": self.origin,
                "sequence": seq,
                "data": data,
            }
            if correlated and self.correlation is not None:
                event["correlation_id"] = self.correlation
            out.append(event)
            self.times.append(self.t)
            self.prev = st
        return out

    # -- helpers

    def wait(self, low: float, high: float) -> None:
        """Advance the clock by a uniform draw in [low, high) working seconds."""
        self.t += int(low + self.rng.random() * (high - low))

    def set_due(self, due: int) -> None:
        self.due = _round_up(due)
        self.carried["ngay_hen_tra"] = self.cal.deadline(self.due)

    def set_step_deadline(self) -> None:
        """``han_buoc_hien_tai``: a share of the time left before the appointment (none once it has passed)."""
        if self.due > self.t:
            step = int((0.3 + self.rng.random() * 0.5) * (self.due - self.t))
            self.carried["han_buoc_hien_tai"] = self.cal.deadline(self.t + max(step, 1))
        else:
            self.carried.pop("han_buoc_hien_tai", None)

    def keep_in_progress_code(self) -> None:
        """Paid / overdue / extension keep the dossier's national in-progress code (§7.3)."""
        if self.dvcqg not in _IN_PROGRESS_CODES:
            self.dvcqg = 4

    def close(self, extra: dict[str, Any], reason: str, document: str) -> None:
        """A terminal refusal or stop: reason, signed notice, end of processing."""
        extra["ly_do"] = reason
        extra["van_ban_url"] = self.documents_url + document
        self.carried["ngay_ket_thuc_xu_ly"] = self.cal.at(self.t)
        self.carried.pop("han_buoc_hien_tai", None)

    # -- one handler per status

    def submitted(self, extra: dict[str, Any]) -> str | None:
        self.dvcqg = 1
        return f"Hồ sơ {self.code} đã được nộp trực tuyến, đang chờ {self.intake['ten']} tiếp nhận."

    def received(self, extra: dict[str, Any]) -> str | None:
        if self.prev is not None:
            self.wait(600, WORK_DAY)
        self.dvcqg = 2
        at = self.cal.at(self.t)
        self.carried["ngay_tiep_nhan"] = at
        if self.prev is None:
            self.carried["ngay_nop_ho_so"] = at
        extra["van_ban_url"] = self.documents_url + "phieu-tiep-nhan.pdf"
        days = self.proc.working_days
        if days is None:
            return f"Hồ sơ {self.code} ({self.proc.ten}) đã được tiếp nhận, không có ngày hẹn trả."
        t = self.t
        begin = t if WORK_DAY_START + t % WORK_DAY < INTAKE_CUTOFF else (t // WORK_DAY + 1) * WORK_DAY
        self.set_due(begin + days * WORK_DAY)
        return (
            f"Hồ sơ {self.code} ({self.proc.ten}) đã được tiếp nhận. "
            f"Hẹn trả kết quả ngày {self.cal.deadline_vi(self.due)}."
        )

    def rejected(self, extra: dict[str, Any]) -> str | None:
        if self.prev is not None:
            self.wait(600, WORK_DAY * 1.5)
        self.dvcqg = 3
        reason = self.rng.choice(catalog.REJECTION_REASONS)
        self.close(extra, reason, "phieu-tu-choi-tiep-nhan.pdf")
        return f"Hồ sơ {self.code} không được tiếp nhận. Lý do: {reason}."

    def transferred(self, extra: dict[str, Any]) -> str | None:
        self.wait(300, 4 * 3600)
        self.dvcqg = 4
        # The first transfer reaches the deciding agency; later ones the next interlinked agency or, when
        # there is none, the agency's leadership for signature.
        if self.transfers < len(self.handlers):
            code, name, department = self.handlers[self.transfers]
        else:
            code, name, _ = self.handlers[-1]
            department = catalog.LEADERSHIP_DEPARTMENT
        self.transfers += 1
        self.holder = _agency(code, name, department)
        self.label = _LABEL_TRANSFERRED_TO + name
        self.set_step_deadline()
        return f"Hồ sơ {self.code} đã được chuyển đến {name} để giải quyết."

    def in_process(self, extra: dict[str, Any]) -> str | None:
        self.wait(1800, WORK_DAY)
        self.dvcqg = 4
        return None

    def supplement_requested(self, extra: dict[str, Any]) -> str | None:
        rng, cal, docs = self.rng, self.cal, self.proc.supplement_documents
        self.wait(WORK_DAY / 2, WORK_DAY * 3)
        self.dvcqg = 5
        self.supplements += 1
        self.supplement_started = self.t
        self.carried.pop("han_buoc_hien_tai", None)  # the processing clock stops until the citizen answers
        self.supplement_deadline = self.t + rng.randrange(5, 16) * WORK_DAY
        items = []
        for doc in rng.sample(docs, k=rng.randint(1, min(MAX_MISSING_DOCUMENTS, len(docs)))):
            item = {"ten": doc, "ma_thanh_phan": f"TP{docs.index(doc) + 1:02d}"}
            if rng.random() < P_SUPPLEMENT_NOTE:
                item["ghi_chu"] = rng.choice(catalog.SUPPLEMENT_NOTES)
            items.append(item)
        reason = rng.choice(catalog.SUPPLEMENT_REASONS)
        extra["ly_do"] = reason
        extra["bo_sung"] = {
            "lan_thu": self.supplements,
            "han_bo_sung": cal.deadline(self.supplement_deadline),
            "giay_to": items,
        }
        extra["van_ban_url"] = self.documents_url + f"phieu-yeu-cau-bo-sung-{self.supplements}.pdf"
        self.correlation = f"{self.code}/bo-sung-{self.supplements}"
        return (
            f"Hồ sơ {self.code} cần bổ sung {len(items)} giấy tờ trước ngày "
            f"{cal.deadline_vi(self.supplement_deadline)}. Lý do: {reason}."
        )

    def supplement_received(self, extra: dict[str, Any]) -> str | None:
        self.wait(WORK_DAY / 2, WORK_DAY * 8)
        self.dvcqg = 4
        if self.due < 0:
            return f"Đã nhận hồ sơ bổ sung cho hồ sơ {self.code}."
        # The processing clock stops while the citizen supplements, so the appointment moves by that long.
        extra["ngay_hen_tra_truoc"] = self.carried["ngay_hen_tra"]
        self.set_due(self.due + self.t - self.supplement_started)
        self.set_step_deadline()
        return f"Đã nhận hồ sơ bổ sung cho hồ sơ {self.code}. Hẹn trả mới: {self.cal.deadline_vi(self.due)}."

    def payment_requested(self, extra: dict[str, Any]) -> str | None:
        self.wait(WORK_DAY * 0.3, WORK_DAY * 2)
        self.dvcqg = 6
        low, high = self.proc.fee_range or (0, 0)
        amount = (low + int(self.rng.random() * (high - low))) // 1000 * 1000
        self.payment_deadline = self.t + 5 * WORK_DAY
        self.payment = {
            "tong_tien_vnd": amount,
            "han_nop": self.cal.deadline(self.payment_deadline),
            "link_thanh_toan": f"{self.base_url}/thanh-toan?mhs={self.code}",
        }
        extra["nghia_vu_tai_chinh"] = dict(self.payment)
        self.correlation = f"{self.code}/thanh-toan"
        return (
            f"Hồ sơ {self.code}: đề nghị nộp {_money(amount)} trước ngày {self.cal.deadline_vi(self.payment_deadline)}."
        )

    def paid(self, extra: dict[str, Any]) -> str | None:
        self.wait(600, WORK_DAY * 3)
        self.dvcqg = 4
        extra["nghia_vu_tai_chinh"] = dict(self.payment)
        return f"Hồ sơ {self.code}: đã nhận thanh toán phí, lệ phí."

    def overdue(self, extra: dict[str, Any]) -> str | None:
        self.t = max(self.t + 60, self.due + 60 + int(self.rng.random() * 7200))
        self.keep_in_progress_code()
        self.correlation = f"{self.code}/gia-han-{self.extensions + 1}"
        return None

    def extended(self, extra: dict[str, Any]) -> str | None:
        rng = self.rng
        if self.prev is Status.OVERDUE:
            self.wait(300, 4 * 3600)
        else:  # the apology goes out before the appointment is missed
            self.t = max(self.t + 60, self.due - int(rng.random() * WORK_DAY))
        self.keep_in_progress_code()
        self.extensions += 1
        extra["ngay_hen_tra_truoc"] = self.carried["ngay_hen_tra"]
        self.set_due(max(self.t, self.due) + rng.randrange(2, 11) * WORK_DAY)
        self.set_step_deadline()
        letter = self.documents_url + f"van-ban-xin-loi-{self.extensions}.pdf"
        extra["ly_do"] = rng.choice(catalog.EXTENSION_REASONS)
        extra["gia_han"] = {
            "lan_thu": self.extensions,
            "ngay_hen_tra_moi": self.carried["ngay_hen_tra"],
            "van_ban_url": letter,
        }
        extra["van_ban_url"] = letter
        self.correlation = f"{self.code}/gia-han-{self.extensions}"
        return (
            f"{self.holder['ten']} xin lỗi vì hồ sơ {self.code} chưa có kết quả đúng hẹn. "
            f"Hẹn lại ngày {self.cal.deadline_vi(self.due)}."
        )

    def withdrawal_requested(self, extra: dict[str, Any]) -> str | None:
        self.wait(WORK_DAY / 2, WORK_DAY * 5)
        self.dvcqg = 7
        extra["ly_do"] = self.rng.choice(catalog.WITHDRAWAL_REASONS)
        return f"Đã nhận đề nghị rút hồ sơ {self.code} của ông/bà."

    def stopped(self, extra: dict[str, Any]) -> str | None:
        rng = self.rng
        if self.prev is Status.WITHDRAWAL_REQUESTED:
            cause = "WITHDRAWN"
            self.wait(3600, WORK_DAY * 2)
        elif self.prev is Status.SUPPLEMENT_REQUESTED:  # stopped once the supplement deadline has passed
            cause = "NO_SUPPLEMENT"
            self.t = max(self.t + 60, self.supplement_deadline + int(rng.random() * WORK_DAY * 2))
        elif self.prev is Status.PAYMENT_REQUESTED:
            cause = "UNPAID"
            self.t = max(self.t + 60, self.payment_deadline + int(rng.random() * WORK_DAY * 2))
        else:
            cause = "APPRAISAL"
            self.wait(WORK_DAY, WORK_DAY * 5)
        self.dvcqg = 8
        reason = rng.choice(catalog.STOP_REASONS[cause])
        self.close(extra, reason, "thong-bao-dung-giai-quyet.pdf")
        return f"Hồ sơ {self.code} đã dừng giải quyết. Lý do: {reason}."

    def result_ready(self, extra: dict[str, Any]) -> str | None:
        rng, cal = self.rng, self.cal
        if self.due < 0:
            self.wait(WORK_DAY / 2, WORK_DAY * 2.5)
        elif self.due > self.t + 600 and rng.random() >= P_RESULT_LATE:
            self.t += max(60, int((0.3 + rng.random() * 0.7) * (self.due - self.t)))
        else:
            self.wait(WORK_DAY / 5, WORK_DAY * 3)
        self.dvcqg = 9
        if self.channel == 3:
            delivery, where = "BUU_CHINH", "qua bưu chính"
        elif self.channel == 2 and rng.random() < P_E_RESULT_ONLINE:
            delivery, where = "DIEN_TU", "bản điện tử trên Cổng dịch vụ công"
        else:
            delivery, where = "TRUC_TIEP", f"tại {self.intake['ten']}"
        self.result = {
            "ma_ket_qua": f"{self.proc.result_prefix}-{cal.yymmdd[cal.day(self.t)][:2]}-{rng.randrange(10**6):06d}",
            "ten_giay_to": self.proc.result_name,
            "link": f"{self.base_url}/ket-qua/{self.code}.pdf",
            "hinh_thuc_nhan": delivery,
        }
        extra["ket_qua"] = dict(self.result)
        self.carried["ngay_ket_thuc_xu_ly"] = cal.at(self.t)
        self.carried.pop("han_buoc_hien_tai", None)
        self.holder = self.intake  # the result goes back to the one-stop unit to be handed over
        return f"Hồ sơ {self.code} đã có kết quả ({self.proc.result_name}). Mời ông/bà nhận kết quả {where}."

    def result_returned(self, extra: dict[str, Any]) -> str | None:
        self.wait(600, WORK_DAY * 5)
        self.dvcqg = 10
        self.carried["ngay_tra"] = self.cal.at(self.t)
        extra["ket_qua"] = dict(self.result)
        extra["danh_gia_url"] = f"{self.base_url}/danh-gia?mhs={self.code}"
        return f"Hồ sơ {self.code} đã trả kết quả. Mời ông/bà đánh giá mức độ hài lòng."

    def survey_invited(self, extra: dict[str, Any]) -> str | None:
        self.wait(60, 7200)
        self.dvcqg = 10
        extra["ket_qua"] = dict(self.result)
        extra["danh_gia_url"] = f"{self.base_url}/danh-gia?mhs={self.code}"
        return f"Mời ông/bà đánh giá việc giải quyết hồ sơ {self.code} theo đường dẫn kèm theo."


_HANDLERS: dict[Status, Handler] = {  # every status but SURVEY_SUBMITTED, which only the citizen causes
    Status.SUBMITTED: _Dossier.submitted,
    Status.RECEIVED: _Dossier.received,
    Status.REJECTED_AT_INTAKE: _Dossier.rejected,
    Status.TRANSFERRED: _Dossier.transferred,
    Status.IN_PROCESS: _Dossier.in_process,
    Status.SUPPLEMENT_REQUESTED: _Dossier.supplement_requested,
    Status.SUPPLEMENT_RECEIVED: _Dossier.supplement_received,
    Status.PAYMENT_REQUESTED: _Dossier.payment_requested,
    Status.PAID: _Dossier.paid,
    Status.OVERDUE: _Dossier.overdue,
    Status.DUE_DATE_EXTENDED: _Dossier.extended,
    Status.WITHDRAWAL_REQUESTED: _Dossier.withdrawal_requested,
    Status.STOPPED: _Dossier.stopped,
    Status.RESULT_READY: _Dossier.result_ready,
    Status.RESULT_RETURNED: _Dossier.result_returned,
    Status.SURVEY_INVITED: _Dossier.survey_invited,
}
_SPECS: dict[Status, tuple[str, str, Handler, bool]] = {
    # One lookup per event instead of four: Enum hashing runs in Python.
    st: (st.value, STATUS_LABEL_VI[st], handler, st in _CORRELATED)
    for st, handler in _HANDLERS.items()
}
