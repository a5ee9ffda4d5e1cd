"""`dvcops survey invite`: rating links for real dossiers, one at a time or in bulk for an SMS gateway.

In bulk it reads a dossier list as CSV, the columns of `dvcops dossiers export` (or the one-stop system's own
export, English or Vietnamese headers): the dossiers returned in the period get a link each. The survey reads
the file rather than the dossiers' database: parts never import each other, the signing key stays in the
survey, and the file is the record of who was invited. A `phone` column, if the export has one, is passed
through to the output for the gateway and never stored.
"""

from __future__ import annotations

import csv
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from dvcops.catalog import Catalog
from dvcops.periods import Period
from survey.errors import SurveyError
from survey.invitations import link, sign
from survey.schemas import DOSSIER_PATTERN

DAY = 86_400
_CODE = re.compile(DOSSIER_PATTERN)
HEADERS = {
    "dossier_code": ("mã hồ sơ", "ma_ho_so"),
    "service_id": ("mã dịch vụ", "ma_dich_vu", "mã thủ tục", "ma_thu_tuc"),
    "returned_at": ("ngày trả kết quả", "ngay_tra_ket_qua", "ngày trả", "ngay_tra"),
    "status": ("trạng thái", "trang_thai"),
    "phone": ("số điện thoại", "so_dien_thoai", "điện thoại", "dien_thoai"),
}
RETURNED = {"returned", "đã trả kết quả", "da-tra-ket-qua"}
OUT_COLUMNS = ["dossier_code", "service_id", "phone", "link", "expires_at"]


@dataclass(frozen=True)
class Invitation:
    dossier_code: str
    service_id: str
    link: str
    expires_at: datetime
    phone: str = ""


def normalise_code(raw: str) -> str:
    return unicodedata.normalize("NFC", raw.strip()).upper()


def invite(key: bytes, catalog: Catalog, dossier_code: str, service_id: str, base_url: str, days: int,
           now: float | None = None) -> Invitation:
    """One link for one dossier of one service, valid `days` days."""
    code = normalise_code(dossier_code)
    problems = []
    if not _CODE.match(code):
        problems.append(f"--dossier {dossier_code!r}: expected 1-64 letters, digits and . - _ / (the survey's codes)")
    if service_id not in {s.id for s in catalog.services}:
        problems.append(f"--service {service_id!r}: expected a service id of the catalogue")
    if problems:
        raise SurveyError(*problems)
    expires = int((time.time() if now is None else now) + days * DAY)
    token = sign(key, code, service_id, expires)
    return Invitation(code, service_id, link(base_url, service_id, code, token),
                      datetime.fromtimestamp(expires, ZoneInfo(catalog.province.timezone)))


def _columns(header: list[str], path: Path) -> dict[str, int]:
    names = {unicodedata.normalize("NFC", h).strip().lower(): i for i, h in enumerate(header)}
    found = {}
    for column, aliases in HEADERS.items():
        for name in (column, *aliases):
            if name in names:
                found[column] = names[name]
                break
    missing = [c for c in ("dossier_code", "service_id", "returned_at") if c not in found]
    if missing:
        raise SurveyError(*[f"{path}:1: (header): {c}: missing: expected a column named {c}" for c in missing])
    return found


def from_dossiers(key: bytes, catalog: Catalog, path: Path, period: Period, base_url: str, days: int,
                  now: float | None = None) -> tuple[list[Invitation], int]:
    """Links for the dossiers of `path` returned in `period`; (links, rows skipped as not returned in it).
    Every bad row is a `FILE:LINE: column: value: what is expected` line of one SurveyError."""
    services = {s.id for s in catalog.services}
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SurveyError(f"{path}: cannot read: {exc.strerror}") from None
    with f:
        sample = f.readline()
        f.seek(0)
        reader = csv.reader(f, delimiter=";" if sample.count(";") > sample.count(",") else ",")
        header = next(reader, None)
        if header is None:
            raise SurveyError(f"{path}:1: (file): empty: expected a header line")
        cols = _columns(header, path)
        problems: list[str] = []
        chosen: list[tuple[str, str, str]] = []
        skipped = 0
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(f"{path}:{line}: (row): {len(row)} fields: expected {len(header)}, as in the header")
                continue
            code, service, returned = (row[cols[c]].strip() for c in ("dossier_code", "service_id", "returned_at"))
            status = row[cols["status"]].strip().lower() if "status" in cols else "returned"
            when = None
            if returned:
                try:
                    when = datetime.fromisoformat(returned)
                except ValueError:
                    pass
                if when is None or when.tzinfo is None:
                    problems.append(f"{path}:{line}: returned_at: {returned}: expected an ISO 8601 time with an "
                                    "offset, e.g. 2025-06-01T08:30:00+07:00")
                    continue
            if when is None or status not in RETURNED or not period.contains(when):
                skipped += 1
                continue
            if not _CODE.match(normalise_code(code)):
                problems.append(f"{path}:{line}: dossier_code: {code or '(empty)'}: expected 1-64 letters, digits "
                                "and . - _ / (the survey's codes)")
            if service not in services:
                problems.append(f"{path}:{line}: service_id: {service or '(empty)'}: expected a service id of the "
                                "catalogue")
            chosen.append((code, service, row[cols["phone"]].strip() if "phone" in cols else ""))
    if problems:
        raise SurveyError(*problems, f"{path}: {len(problems)} problem(s): no invitation written")
    out = []
    for code, service, phone in chosen:
        one = invite(key, catalog, code, service, base_url, days, now)
        out.append(Invitation(one.dossier_code, one.service_id, one.link, one.expires_at, phone))
    return out, skipped


def write_csv(out: TextIO, invitations: list[Invitation]) -> None:
    """dossier_code, service_id, phone, link, expires_at: one line per SMS."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(OUT_COLUMNS)
    for i in invitations:
        writer.writerow([i.dossier_code, i.service_id, i.phone, i.link, i.expires_at.isoformat()])
