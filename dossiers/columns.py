"""The columns of a one-stop system's dossier export, their Vietnamese names, and the values they take.

Header names are matched after NFC, trimming and lower-casing, so "Mã hồ sơ", "mã hồ sơ" and "ma_ho_so"
all name dossier_code. Values may be given in English or Vietnamese ("online" or "trực tuyến").
"""

from __future__ import annotations

import unicodedata

REQUIRED = ("dossier_code", "service_id", "received_at", "due_at", "returned_at", "channel", "online_level", "status")
OPTIONAL = ("rating", "complaints")
"""A file that carries either optional column takes part in the Decision 766 satisfaction figure."""

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "dossier_code": ("Mã hồ sơ", "ma_ho_so"),
    "service_id": ("Mã dịch vụ", "ma_dich_vu", "Mã thủ tục", "ma_thu_tuc"),
    "received_at": ("Ngày tiếp nhận", "ngay_tiep_nhan", "Thời điểm tiếp nhận"),
    "due_at": ("Ngày hẹn trả", "ngay_hen_tra", "Hạn giải quyết", "han_giai_quyet"),
    "returned_at": ("Ngày trả kết quả", "ngay_tra_ket_qua", "Ngày trả", "ngay_tra"),
    "channel": ("Kênh nộp", "kenh_nop", "Hình thức nộp", "hinh_thuc_nop"),
    "online_level": ("Mức độ trực tuyến", "muc_do_truc_tuyen", "Mức độ DVCTT", "muc_do_dvctt"),
    "status": ("Trạng thái", "trang_thai"),
    "rating": ("Mức đánh giá", "muc_danh_gia", "Đánh giá", "danh_gia"),
    "complaints": ("Số phản ánh, kiến nghị", "so_phan_anh_kien_nghi", "Phản ánh, kiến nghị", "so_pakn"),
}

VALUES: dict[str, dict[str, str]] = {
    "channel": {"online": "online", "counter": "counter", "post": "post",
                "trực tuyến": "online", "truc-tuyen": "online", "trực tiếp": "counter", "truc-tiep": "counter",
                "bưu chính": "post", "buu-chinh": "post"},
    "online_level": {"toan-trinh": "toan-trinh", "mot-phan": "mot-phan", "none": "none", "toàn trình": "toan-trinh",
                     "một phần": "mot-phan", "không": "none", "khong": "none", "": "none"},
    "status": {"processing": "processing", "returned": "returned", "rejected": "rejected", "withdrawn": "withdrawn",
               "đang xử lý": "processing", "dang-xu-ly": "processing", "đã trả kết quả": "returned",
               "da-tra-ket-qua": "returned", "từ chối": "rejected", "tu-choi": "rejected",
               "rút hồ sơ": "withdrawn", "rut-ho-so": "withdrawn"},
}
CANONICAL: dict[str, tuple[str, ...]] = {"channel": ("online", "counter", "post"),
                                        "online_level": ("toan-trinh", "mot-phan", "none"),
                                        "status": ("processing", "returned", "rejected", "withdrawn")}
"""The values each enumerated column takes, in the order of their numbers: a checked row carries the number (it
binds in a third of the time of its text), the database stores the text (writers.STORED)."""
NUMBERS: dict[str, dict[str, int]] = {column: {raw: values.index(value) for raw, value in VALUES[column].items()}
                                      for column, values in CANONICAL.items()}
"""The number of each value of VALUES, by column."""
PROCESSING = CANONICAL["status"].index("processing")
EXPECTED_VALUES = {column: f"{', '.join(values[:-1])} or {values[-1]}" for column, values in CANONICAL.items()}


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().lower()


_BY_NAME = {_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in (column, *aliases)}


def column_of(header_name: str) -> str | None:
    """The column a header cell names, or None (other columns are ignored)."""
    return _BY_NAME.get(_key(header_name))


def value_of(column: str, raw: str) -> str | None:
    """The canonical value of an enumerated column, or None if it is not one."""
    table = VALUES[column]
    found = table.get(raw)
    if found is None:
        found = table.get(unicodedata.normalize("NFC", raw).strip().lower())
    return found
