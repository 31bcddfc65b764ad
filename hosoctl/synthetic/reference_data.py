"""Vietnamese reference data for synthetic dossier traffic: people, procedures, provinces, agencies, reasons.

Everything here is *plausible*, not authoritative. Synthetic traffic only has to look like what a provincial
one-stop system emits, so that message templates, length limits and diacritics get exercised on realistic
text; it must never be mistaken for the official catalogues:

- Procedure codes (mã TTHC) and field codes (mã lĩnh vực) have the national shapes (``1.000948``,
  ``G03-GD10``) but are illustrative; they are not looked up in CSDLQG TTHC.
- Province codes follow QĐ 19/2025/QĐ-TTg (34 provinces after the 2025 merger). Commune codes (5 digits) and
  commune names are illustrative, not the official list.
- Agency identifier codes have the ``000.00.NN.Hxx`` shape of QĐ 20/2020/QĐ-TTg. The ``Hxx`` province numbers
  are an *inference*: the codes seen in public code (H22 Hà Giang, H38 Lào Cai, H56 Thanh Hóa) match the 63
  pre-merger provinces sorted alphabetically without diacritics, which gives Quảng Ninh H49, Quảng Bình H46,
  Hà Nội H24, Hồ Chí Minh H29 and Đà Nẵng H15. A merged province is assumed to keep the number of the
  component that hosts its capital, so the new Quảng Trị (capital Đồng Hới) uses Quảng Bình's H46. The
  ``NN`` agency numbers are made up.
- Portal hosts are made up in the style of the provincial public-service portals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# --------------------------------------------------------------------------------------------- people

FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    # Weights follow the commonly cited shares of Vietnamese family names, so "Nguyễn" dominates as in life.
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 3.0),
    ("Huỳnh", 2.1),
    ("Phan", 4.5),
    ("Vũ", 2.5),
    ("Võ", 1.5),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.8),
    ("Trịnh", 0.6),
    ("Mai", 0.5),
    ("Lương", 0.4),
)
MIDDLE_NAMES_MALE: tuple[str, ...] = (
    "Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Công", "Xuân", "Ngọc", "Hoàng", "Anh", "Đình", "Trung",
)  # fmt: skip
MIDDLE_NAMES_FEMALE: tuple[str, ...] = (
    "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Thùy", "Kim", "Bảo", "Khánh", "Mai",
)  # fmt: skip
GIVEN_NAMES_MALE: tuple[str, ...] = (
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khánh", "Long", "Mạnh", "Nam",
    "Phong", "Phúc", "Quân", "Sơn", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Vinh", "Đức", "Khoa", "Lộc",
)  # fmt: skip
GIVEN_NAMES_FEMALE: tuple[str, ...] = (
    "Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Huyền", "Lan", "Linh", "Loan",
    "Mai", "My", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Trang", "Trâm", "Tuyết", "Yến",
)  # fmt: skip
DISPLAY_NAME_MAX = 30
"""ZNS caps a customer-name parameter at 30 characters; every name this catalogue can form must fit."""

# Mobile prefixes (Viettel, VinaPhone, MobiFone, Vietnamobile, Gmobile). 099 is left out so that no random
# number can collide with the Zalo simulator's magic 84999000NNN numbers.
MOBILE_PREFIXES: tuple[str, ...] = (
    "086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039",
    "088", "091", "094", "081", "082", "083", "084", "085",
    "089", "090", "093", "070", "076", "077", "078", "079",
    "092", "056", "058", "059",
)  # fmt: skip
MAGIC_PHONE_SUFFIXES: tuple[int, ...] = (108, 118, 139, 140, 141)
"""The Zalo simulator fails these numbers (84999000NNN) permanently, so demos can show dead letters."""

# ------------------------------------------------------------------------------------------ procedures


@dataclass(frozen=True, slots=True)
class Procedure:
    """One administrative procedure as a one-stop system knows it.

    ``handlers`` are (agency kind, department) pairs, the kind a key of ``AGENCY_KINDS`` or ``UBND_XA`` for the
    commune's people's committee: the first decides, later ones are consulted in an interlinked ("liên thông")
    procedure, which is where extra transfers come from. ``working_days`` is None for
    procedures handled on the spot without an appointment date. ``fee_range`` is the financial obligation
    requested during processing (None: nothing to pay after intake).
    """

    ma_tthc: str
    ten: str
    ma_linh_vuc: str
    ten_linh_vuc: str
    commune_level: bool
    handlers: tuple[tuple[str, str], ...]
    working_days: int | None
    fee_range: tuple[int, int] | None
    result_name: str
    result_prefix: str
    supplement_documents: tuple[str, ...]
    weight: float


_HO_TICH = ("G09-TP03", "Hộ tịch")
_CHUNG_THUC = ("G09-TP05", "Chứng thực")
_LLTP = ("G09-TP08", "Lý lịch tư pháp")
_XAY_DUNG = ("G11-XD04", "Hoạt động xây dựng")
_DAT_DAI = ("G12-DD01", "Đất đai")
_MOI_TRUONG = ("G12-MT02", "Môi trường")
_HKD = ("G06-KD02", "Thành lập và hoạt động của hộ kinh doanh")
_DUONG_BO = ("G10-DB03", "Đường bộ")
_ATTP = ("G15-YT07", "An toàn thực phẩm")
_BTXH = ("G14-XH01", "Bảo trợ xã hội")

# (agency kind, department) pairs: who decides, then who is consulted in interlinked procedures.
_HT = ("UBND_XA", "Văn phòng HĐND và UBND")
_KT_XA = ("UBND_XA", "Phòng Kinh tế, Hạ tầng và Đô thị")
_VHXH_XA = ("UBND_XA", "Phòng Văn hóa - Xã hội")
_SXD = ("SXD", "Phòng Quản lý hoạt động xây dựng")
_VPDK = ("SNNMT", "Văn phòng Đăng ký đất đai")
_SMT = ("SNNMT", "Phòng Môi trường")
_LLTP_STP = ("STP", "Phòng Lý lịch tư pháp")
_CA_HS = ("CA", "Phòng Hồ sơ nghiệp vụ")
_CA_GT = ("CA", "Phòng Cảnh sát giao thông")
_CA_PCCC = ("CA", "Phòng Cảnh sát PCCC và CNCH")
_THUE_TB = ("THUE", "Bộ phận trước bạ và thu khác")
_THUE_HKD = ("THUE", "Phòng Quản lý hộ kinh doanh, cá nhân")
_ATTP_SYT = ("SYT", "Chi cục An toàn vệ sinh thực phẩm")


def _p(
    ma: str,
    ten: str,
    field: tuple[str, str],
    *,
    commune: bool,
    handlers: tuple[tuple[str, str], ...],
    days: int | None,
    fee: tuple[int, int] | None,
    result: str,
    prefix: str,
    docs: tuple[str, ...],
    weight: float,
) -> Procedure:
    return Procedure(ma, ten, field[0], field[1], commune, handlers, days, fee, result, prefix, docs, weight)


PROCEDURES: tuple[Procedure, ...] = (
    _p("1.001193", "Đăng ký khai sinh", _HO_TICH, commune=True, handlers=(_HT,), days=1, fee=None,
       result="Giấy khai sinh (bản chính)", prefix="KS",
       docs=("Tờ khai đăng ký khai sinh có chữ ký của người đi đăng ký", "Giấy chứng sinh",
             "Bản sao Căn cước công dân của cha hoặc mẹ"), weight=9),
    _p("1.000894", "Đăng ký kết hôn", _HO_TICH, commune=True, handlers=(_HT,), days=5, fee=None,
       result="Giấy chứng nhận kết hôn", prefix="KH",
       docs=("Tờ khai đăng ký kết hôn có chữ ký của hai bên", "Giấy xác nhận tình trạng hôn nhân",
             "Bản sao Căn cước công dân của hai bên"), weight=4),
    _p("2.000635", "Cấp bản sao trích lục hộ tịch", _HO_TICH, commune=True, handlers=(_HT,), days=1,
       fee=(8_000, 40_000), result="Bản sao trích lục hộ tịch", prefix="TL",
       docs=("Tờ khai cấp bản sao trích lục hộ tịch có chữ ký", "Văn bản ủy quyền có chứng thực"), weight=6),
    _p("1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân", _HO_TICH, commune=True, handlers=(_HT,),
       days=3, fee=None, result="Giấy xác nhận tình trạng hôn nhân", prefix="XNHN",
       docs=("Tờ khai cấp Giấy xác nhận tình trạng hôn nhân có chữ ký", "Bản án hoặc quyết định ly hôn"),
       weight=5),
    _p("1.000656", "Đăng ký khai tử", _HO_TICH, commune=True, handlers=(_HT,), days=1, fee=None,
       result="Trích lục khai tử", prefix="KT",
       docs=("Tờ khai đăng ký khai tử có chữ ký", "Giấy báo tử hoặc giấy tờ thay thế giấy báo tử"), weight=2),
    _p("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", _CHUNG_THUC, commune=True,
       handlers=(_HT,), days=None, fee=None, result="Bản sao có chứng thực", prefix="CT",
       docs=("Bản chính giấy tờ cần chứng thực",), weight=10),
    _p("2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", _CHUNG_THUC, commune=True,
       handlers=(_HT,), days=None, fee=None, result="Văn bản đã chứng thực chữ ký", prefix="CTCK",
       docs=("Bản sao CCCD của người yêu cầu chứng thực", "Giấy tờ, văn bản cần chứng thực chữ ký"),
       weight=3),
    _p("1.005129", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", _XAY_DUNG, commune=True,
       handlers=(_KT_XA,), days=15, fee=(75_000, 75_000), result="Giấy phép xây dựng", prefix="GPXD",
       docs=("Bản vẽ thiết kế xây dựng", "Giấy tờ chứng minh quyền sử dụng đất",
             "Đơn đề nghị cấp giấy phép xây dựng có chữ ký", "Bản cam kết bảo đảm an toàn công trình liền kề"),
       weight=5),
    _p("1.009974", "Cấp giấy phép xây dựng mới đối với công trình cấp I, II, III", _XAY_DUNG, commune=False,
       handlers=(_SXD,), days=20, fee=(150_000, 150_000), result="Giấy phép xây dựng", prefix="GPXD",
       docs=("Bản vẽ thiết kế xây dựng", "Giấy tờ chứng minh quyền sử dụng đất",
             "Quyết định phê duyệt dự án đầu tư xây dựng", "Văn bản thẩm duyệt thiết kế về phòng cháy chữa cháy"),
       weight=1.5),
    _p("1.001612", "Đăng ký thành lập hộ kinh doanh", _HKD, commune=True, handlers=(_KT_XA, _THUE_HKD), days=3,
       fee=(100_000, 100_000), result="Giấy chứng nhận đăng ký hộ kinh doanh", prefix="HKD",
       docs=("Giấy đề nghị đăng ký hộ kinh doanh có chữ ký", "Bản sao CCCD của chủ hộ kinh doanh",
             "Hợp đồng thuê địa điểm kinh doanh"), weight=4),
    _p("2.000720", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", _HKD, commune=True,
       handlers=(_KT_XA,), days=3, fee=(50_000, 50_000), result="Giấy chứng nhận đăng ký hộ kinh doanh",
       prefix="HKD", docs=("Thông báo thay đổi nội dung đăng ký hộ kinh doanh có chữ ký",), weight=2),
    _p("1.000948", "Đăng ký đất đai, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với "
       "đất lần đầu", _DAT_DAI, commune=False, handlers=(_VPDK, _THUE_TB), days=20,
       fee=(2_000_000, 180_000_000),
       result="Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", prefix="GCN",
       docs=("Đơn đăng ký đất đai, tài sản gắn liền với đất có chữ ký", "Giấy tờ chứng minh quyền sử dụng đất",
             "Mảnh trích đo địa chính thửa đất", "Tờ khai lệ phí trước bạ"), weight=4),
    _p("2.002492", "Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho", _DAT_DAI, commune=False,
       handlers=(_VPDK, _THUE_TB), days=10, fee=(500_000, 60_000_000),
       result="Giấy chứng nhận quyền sử dụng đất đã xác nhận biến động", prefix="BD",
       docs=("Hợp đồng chuyển nhượng quyền sử dụng đất có công chứng", "Bản gốc Giấy chứng nhận đã cấp",
             "Tờ khai thuế thu nhập cá nhân", "Tờ khai lệ phí trước bạ"), weight=3),
    _p("1.004227", "Cấp giấy phép môi trường", _MOI_TRUONG, commune=False, handlers=(_SMT,), days=30,
       fee=(3_000_000, 30_000_000), result="Giấy phép môi trường", prefix="GPMT",
       docs=("Báo cáo đề xuất cấp giấy phép môi trường", "Văn bản đề nghị cấp giấy phép môi trường"),
       weight=0.5),
    _p("2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", _LLTP, commune=False,
       handlers=(_LLTP_STP, _CA_HS), days=10, fee=(200_000, 200_000), result="Phiếu lý lịch tư pháp số 1",
       prefix="LLTP", docs=("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp có chữ ký", "Bản sao CCCD",
                            "Văn bản ủy quyền có chứng thực"), weight=5),
    _p("1.002804", "Cấp đổi giấy phép lái xe", _DUONG_BO, commune=False, handlers=(_CA_GT,), days=5,
       fee=(135_000, 135_000), result="Giấy phép lái xe", prefix="GPLX",
       docs=("Giấy khám sức khỏe của người lái xe", "Bản sao giấy phép lái xe cần đổi", "Ảnh chân dung 3x4"),
       weight=4),
    _p("1.003348", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", _ATTP, commune=False,
       handlers=(_ATTP_SYT,), days=15, fee=(500_000, 1_000_000),
       result="Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", prefix="ATTP",
       docs=("Bản thuyết minh về cơ sở vật chất, trang thiết bị", "Giấy xác nhận đủ sức khỏe của chủ cơ sở",
             "Giấy xác nhận đã được tập huấn kiến thức an toàn thực phẩm"), weight=1.5),
    _p("1.001776", "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng", _BTXH, commune=True,
       handlers=(_VHXH_XA,), days=20, fee=None, result="Quyết định hưởng trợ cấp xã hội hàng tháng",
       prefix="TCXH", docs=("Tờ khai đề nghị trợ giúp xã hội có chữ ký", "Giấy xác nhận khuyết tật"),
       weight=2),
    _p("1.010812", "Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở", _XAY_DUNG, commune=False,
       handlers=(_SXD, _CA_PCCC), days=30, fee=(5_000_000, 50_000_000),
       result="Thông báo kết quả thẩm định thiết kế xây dựng", prefix="TDTK",
       docs=("Hồ sơ thiết kế xây dựng triển khai sau thiết kế cơ sở", "Báo cáo kết quả khảo sát xây dựng"),
       weight=0.5),
    _p("1.008003", "Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất", _DAT_DAI, commune=False,
       handlers=(_VPDK,), days=10, fee=(100_000, 100_000),
       result="Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", prefix="GCN",
       docs=("Đơn đề nghị cấp lại Giấy chứng nhận có chữ ký", "Giấy xác nhận của Công an xã về việc mất giấy"),
       weight=1.5),
)  # fmt: skip

SUPPLEMENT_NOTES: tuple[str, ...] = (
    "Bản chụp không rõ nét, đề nghị nộp lại",
    "Thiếu chữ ký của người yêu cầu",
    "Bản sao chưa được chứng thực",
    "Giấy tờ đã hết thời hạn sử dụng",
    "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư",
)

# ------------------------------------------------------------------------------------ places, agencies


@dataclass(frozen=True, slots=True)
class Commune:
    """A post-2025 commune-level unit (xã, phường or đặc khu) with an illustrative 5-digit code."""

    code: str
    kind: str
    name: str

    @property
    def full_name(self) -> str:
        """``phường Bãi Cháy``: the form used inside agency names."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Province:
    """A province after the 2025 merger: new 2-digit code, inferred ``Hxx`` agency suffix, portal host."""

    code: str
    name: str
    full_name: str
    h_code: str
    portal_host: str
    weight: float
    birth_prefixes: tuple[str, ...]
    communes: tuple[Commune, ...]


def _communes(kind_names: str, codes: tuple[int, ...]) -> tuple[Commune, ...]:
    items = [item.strip() for item in kind_names.split(";")]
    if len(items) != len(codes):
        raise ValueError("commune names and codes differ in number")
    out = []
    for item, code in zip(items, codes, strict=True):
        kind, name = item.split(" ", 1) if not item.startswith("đặc khu") else ("đặc khu", item[8:])
        out.append(Commune(f"{code:05d}", kind, name))
    return tuple(out)


PROVINCES: tuple[Province, ...] = (
    Province("22", "Quảng Ninh", "tỉnh Quảng Ninh", "H49", "dichvucong.quangninh.gov.vn", 30.0, ("022",),
             _communes("phường Hạ Long; phường Bãi Cháy; phường Hồng Gai; phường Hà Tu; phường Cao Xanh; "
                       "phường Việt Hưng; phường Tuần Châu; phường Hoành Bồ; phường Cẩm Phả; phường Quang Hanh; "
                       "phường Cửa Ông; phường Mông Dương; phường Uông Bí; phường Vàng Danh; phường Yên Tử; "
                       "phường Móng Cái 1; phường Móng Cái 2; phường Đông Triều; phường Quảng Yên; "
                       "xã Tiên Yên; xã Ba Chẽ; xã Bình Liêu; xã Đầm Hà; xã Quảng Hà; đặc khu Vân Đồn; "
                       "đặc khu Cô Tô",
                       (6652, 6658, 6661, 6673, 6676, 6685, 6688, 6703, 6778, 6784, 6796, 6805, 6832, 6844,
                        6853, 6712, 6718, 7081, 7090, 6925, 6961, 6892, 6997, 7030, 7105, 7192))),
    Province("44", "Quảng Trị", "tỉnh Quảng Trị", "H46", "dichvucong.quangtri.gov.vn", 25.0,
             ("044", "045"),
             _communes("phường Đồng Hới; phường Đồng Thuận; phường Đồng Sơn; phường Ba Đồn; phường Bắc Gianh; "
                       "phường Đông Hà; phường Nam Đông Hà; phường Quảng Trị; xã Lệ Thủy; xã Bố Trạch; "
                       "xã Phong Nha; xã Quảng Trạch; xã Tuyên Hóa; xã Minh Hóa; xã Vĩnh Linh; xã Gio Linh; "
                       "xã Khe Sanh; xã Cam Lộ; xã Triệu Phong; xã Hải Lăng; đặc khu Cồn Cỏ",
                       (15859, 15865, 15871, 15712, 15724, 19330, 19336, 19363, 16063, 15952, 15961, 15802,
                        15628, 15589, 19405, 19423, 19498, 19552, 19579, 19660, 19741))),
    Province("01", "Hà Nội", "thành phố Hà Nội", "H24", "dichvucong.hanoi.gov.vn", 15.0, ("001",),
             _communes("phường Hoàn Kiếm; phường Ba Đình; phường Cầu Giấy; phường Đống Đa; phường Hà Đông; "
                       "phường Long Biên; phường Tây Hồ; phường Hoàng Mai; xã Sóc Sơn; xã Đông Anh",
                       (70, 4, 166, 235, 9556, 130, 103, 331, 8980, 9022))),
    Province("79", "Hồ Chí Minh", "Thành phố Hồ Chí Minh", "H29", "dichvucong.hochiminhcity.gov.vn", 15.0,
             ("079", "074", "077"),
             _communes("phường Sài Gòn; phường Bến Thành; phường Tân Định; phường Thủ Đức; phường Gò Vấp; "
                       "phường Bình Thạnh; phường Thủ Dầu Một; phường Vũng Tàu; xã Củ Chi; xã Cần Giờ; "
                       "đặc khu Côn Đảo",
                       (26740, 26743, 26734, 26842, 26884, 26905, 25747, 26506, 27496, 27664, 26680))),
    Province("38", "Thanh Hóa", "tỉnh Thanh Hóa", "H56", "dichvucong.thanhhoa.gov.vn", 8.0, ("038",),
             _communes("phường Hạc Thành; phường Sầm Sơn; phường Bỉm Sơn; phường Nghi Sơn; phường Quảng Phú; "
                       "xã Thọ Xuân; xã Hoằng Hóa; xã Hậu Lộc; xã Nga Sơn; xã Ngọc Lặc",
                       (14755, 14914, 14797, 16516, 14872, 14986, 15037, 14602, 14665, 14449))),
    Province("48", "Đà Nẵng", "thành phố Đà Nẵng", "H15", "dichvucong.danang.gov.vn", 7.0, ("048", "049"),
             _communes("phường Hải Châu; phường Thanh Khê; phường Sơn Trà; phường Ngũ Hành Sơn; "
                       "phường Liên Chiểu; phường Hội An; phường Tam Kỳ; xã Hòa Vang; xã Điện Bàn",
                       (20194, 20227, 20263, 20285, 20197, 20335, 20341, 20306, 20545))),
)  # fmt: skip
PROVINCES_BY_CODE: dict[str, Province] = {p.code: p for p in PROVINCES}


@dataclass(frozen=True, slots=True)
class AgencyKind:
    """A kind of agency present in every province, with its (made-up) ``NN`` number in ``000.00.NN.Hxx``."""

    number: str
    name: str


# Province-level agencies. The one-stop centre receives province-level dossiers; the others decide them.
AGENCY_KINDS: dict[str, AgencyKind] = {
    "UBND": AgencyKind("00", "Ủy ban nhân dân"),
    "TTPVHCC": AgencyKind("01", "Trung tâm Phục vụ hành chính công"),
    "STP": AgencyKind("05", "Sở Tư pháp"),
    "SXD": AgencyKind("08", "Sở Xây dựng"),
    "SNNMT": AgencyKind("12", "Sở Nông nghiệp và Môi trường"),
    "SYT": AgencyKind("15", "Sở Y tế"),
    "CA": AgencyKind("20", "Công an"),
    "THUE": AgencyKind("21", "Thuế"),
}
COMMUNE_AGENCY_BASE = 30
"""Commune UBNDs are ``000.00.NN.Hxx`` with NN = 30 + their index in the province's list; their one-stop
centres are ``000.01.NN.Hxx`` (a unit below the UBND). Made up, like the other agency numbers."""
INTAKE_DEPARTMENT = "Bộ phận tiếp nhận và trả kết quả"
LEADERSHIP_DEPARTMENT = "Lãnh đạo cơ quan (trình ký)"
"""Where a dossier goes for signature; a single-agency procedure's second transfer lands here."""

# ------------------------------------------------------------------------------------------ reasons

REJECTION_REASONS: tuple[str, ...] = (
    "Thủ tục hành chính không thuộc thẩm quyền giải quyết của cơ quan tiếp nhận",
    "Hồ sơ không đủ điều kiện tiếp nhận theo quy định của thủ tục hành chính",
    "Người nộp hồ sơ không phải là người có quyền yêu cầu và không có văn bản ủy quyền hợp lệ",
    "Thông tin kê khai trên tờ khai không khớp với Cơ sở dữ liệu quốc gia về dân cư",
    "Hồ sơ trùng với hồ sơ đang được giải quyết tại cơ quan",
)
SUPPLEMENT_REASONS: tuple[str, ...] = (
    "Hồ sơ chưa đầy đủ thành phần theo quy định",
    "Một số giấy tờ trong hồ sơ chưa hợp lệ, đề nghị hoàn thiện",
    "Thông tin trên tờ khai chưa thống nhất với giấy tờ kèm theo",
    "Qua thẩm định, hồ sơ cần bổ sung giấy tờ để đủ căn cứ giải quyết",
)
STOP_REASONS: dict[str, tuple[str, ...]] = {
    "APPRAISAL": (
        "Qua thẩm định, hồ sơ không đủ điều kiện giải quyết theo quy định",
        "Thửa đất đang có tranh chấp, chưa đủ điều kiện giải quyết",
        "Công trình đề nghị cấp phép không phù hợp với quy hoạch được duyệt",
    ),
    "NO_SUPPLEMENT": (
        "Quá thời hạn bổ sung, hoàn thiện hồ sơ nhưng công dân không bổ sung",
        "Công dân không bổ sung đủ giấy tờ theo phiếu yêu cầu bổ sung",
    ),
    "UNPAID": ("Công dân không thực hiện nghĩa vụ tài chính trong thời hạn quy định",),
    "WITHDRAWN": ("Dừng giải quyết theo đề nghị rút hồ sơ của công dân",),
}
WITHDRAWAL_REASONS: tuple[str, ...] = (
    "Công dân không còn nhu cầu giải quyết thủ tục",
    "Công dân nộp nhầm thủ tục, đề nghị rút để nộp lại",
    "Công dân cần điều chỉnh thông tin và sẽ nộp hồ sơ mới",
    "Công dân không bổ sung được giấy tờ theo yêu cầu",
)
EXTENSION_REASONS: tuple[str, ...] = (
    "Hồ sơ cần lấy ý kiến của cơ quan phối hợp nên chưa giải quyết đúng hẹn. Cơ quan thành thật xin lỗi",
    "Cần xác minh thực địa nên kéo dài thời gian thẩm định. Cơ quan thành thật xin lỗi ông/bà",
    "Số lượng hồ sơ tăng đột biến dẫn đến chậm trễ. Cơ quan thành thật xin lỗi ông/bà",
    "Đang chờ kết quả xác minh từ cơ sở dữ liệu chuyên ngành. Cơ quan thành thật xin lỗi ông/bà",
)

# ------------------------------------------------------------------------------------------ calendar


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


HOLIDAYS: frozenset[date] = frozenset(
    # Public-sector days off for 2025-2026, from general knowledge rather than the official announcements
    # (check before relying on them). Only used to push appointment dates past holidays realistically.
    [
        date(2025, 1, 1),
        *_days(date(2025, 1, 25), date(2025, 2, 2)),
        date(2025, 4, 7),
        *_days(date(2025, 4, 30), date(2025, 5, 4)),
        *_days(date(2025, 8, 30), date(2025, 9, 2)),
        date(2026, 1, 1),
        *_days(date(2026, 2, 14), date(2026, 2, 22)),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 1),
        date(2026, 9, 2),
    ]
)
