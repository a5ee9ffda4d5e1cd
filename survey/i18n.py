"""User-facing strings, Vietnamese first with English available (`?lang=en`).

Field-error messages are keyed by the `type` of a FieldError so the JSON API (English) and the
citizen form (the reader's language) say the same thing.
"""

from __future__ import annotations

from typing import Any

LANGS = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_service": {
        "vi": "Không có dịch vụ “{value}” trong danh mục.",
        "en": "unknown service {value!r}: use an id from GET /api/v1/services",
    },
    "unknown_instrument": {
        "vi": "Không có bộ câu hỏi “{value}”.",
        "en": "unknown instrument {value!r}: expected one of {expected}",
    },
    "unknown_question": {
        "vi": "Bộ câu hỏi không có câu “{value}”.",
        "en": "unknown question {value!r} for instrument {instrument!r}: expected one of {expected}",
    },
    "unknown_level": {
        "vi": "Mức đánh giá “{value}” không hợp lệ.",
        "en": "unknown level {value!r}: expected one of {expected}",
    },
    "missing_answer": {
        "vi": "Vui lòng chọn một mức đánh giá cho câu hỏi này.",
        "en": "question {question!r} needs an answer: one of {expected}",
    },
    "survey_closed": {
        "vi": "Khảo sát cho dịch vụ này hiện không mở ({window}).",
        "en": "the survey for service {value!r} is closed on {day} (window {window})",
    },
    "dossier_code": {
        "vi": "Mã hồ sơ gồm chữ, số và các dấu . - _ /, tối đa 64 ký tự (ví dụ H26.10-250601-0001).",
        "en": "a dossier code is 1-64 letters, digits and . - _ / (e.g. H26.10-250601-0001)",
    },
    "duplicate": {
        "vi": "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần.",
        "en": "this dossier has already been rated (one rating per dossier)",
    },
    "comment_too_long": {
        "vi": "Ý kiến tối đa 2.000 ký tự.",
        "en": "a comment is at most 2,000 characters",
    },
    "required": {"vi": "Vui lòng điền mục này.", "en": "this field is required"},
    "schema": {"vi": "Giá trị không hợp lệ: {msg}", "en": "{msg}"},
    "invalid": {"vi": "Giá trị không hợp lệ.", "en": "invalid value"},
    "csrf": {
        "vi": "Phiên làm việc đã hết hạn. Vui lòng chọn lại và gửi lần nữa.",
        "en": "Your session expired. Please make your choices again and resubmit.",
    },
}

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Đánh giá mức độ hài lòng",
        "intro": "Ý kiến của ông/bà giúp cơ quan nhà nước phục vụ tốt hơn. Đánh giá là ẩn danh: "
        "chúng tôi không lưu địa chỉ IP, và mã hồ sơ chỉ được lưu dưới dạng mã băm.",
        "other_lang": "English",
        "service": "Dịch vụ công",
        "service_hint": "Chọn thủ tục ông/bà đã thực hiện.",
        "choose": "— Chọn dịch vụ —",
        "dossier": "Mã hồ sơ",
        "dossier_hint": "In trên giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
        "comment": "Ý kiến khác (không bắt buộc)",
        "comment_hint": "Tối đa 2.000 ký tự. Xin đừng ghi thông tin cá nhân.",
        "submit": "Gửi đánh giá",
        "errors_title": "Có lỗi cần sửa",
        "thanks_title": "Cảm ơn ông/bà đã đánh giá",
        "thanks_body": "Đánh giá của ông/bà đã được ghi nhận.",
        "receipt": "Mã biên nhận",
        "again": "Đánh giá hồ sơ khác",
        "closed_title": "Khảo sát đang đóng",
        "not_found": "Không tìm thấy dịch vụ này.",
        "too_many": "Ông/bà gửi quá nhanh. Vui lòng thử lại sau {seconds} giây.",
        "agency": "Cơ quan",
    },
    "en": {
        "title": "Satisfaction survey",
        "intro": "Your opinion helps public agencies serve you better. Ratings are anonymous: we store no IP "
        "address, and the dossier code only as a keyed hash.",
        "other_lang": "Tiếng Việt",
        "service": "Public service",
        "service_hint": "Choose the procedure you went through.",
        "choose": "— Choose a service —",
        "dossier": "Dossier code",
        "dossier_hint": "Printed on the dossier receipt and appointment slip.",
        "comment": "Other comments (optional)",
        "comment_hint": "At most 2,000 characters. Please do not write personal details.",
        "submit": "Send rating",
        "errors_title": "There is a problem",
        "thanks_title": "Thank you for your rating",
        "thanks_body": "Your rating has been recorded.",
        "receipt": "Receipt number",
        "again": "Rate another dossier",
        "closed_title": "The survey is closed",
        "not_found": "This service does not exist.",
        "too_many": "Too many ratings from your connection. Please try again in {seconds} seconds.",
        "agency": "Agency",
    },
}


def lang_of(value: str | None) -> str:
    """The page language: English only when asked for, Vietnamese otherwise."""
    return "en" if value == "en" else "vi"


def message(kind: str, lang: str = "en", **params: Any) -> str:
    texts = MESSAGES.get(kind, MESSAGES["invalid"])
    return texts[lang_of(lang)].format(**params)
