"""User-facing strings, Vietnamese first with English available (`?lang=en`): data for dvcops.i18n.Messages.

Field-error messages are keyed by the `type` of a FieldError so the JSON API (English) and the
citizen form (the reader's language) say the same thing.
"""

from __future__ import annotations

from typing import Any

from dvcops.i18n import Messages

MESSAGES = Messages({
    "unknown_service": (
        "Không có dịch vụ “{value}” trong danh mục.",
        "unknown service {value!r}: use an id from GET /api/v1/services",
    ),
    "unknown_instrument": (
        "Không có bộ câu hỏi “{value}”.",
        "unknown instrument {value!r}: expected one of {expected}",
    ),
    "unknown_question": (
        "Bộ câu hỏi không có câu “{value}”.",
        "unknown question {value!r} for instrument {instrument!r}: expected one of {expected}",
    ),
    "unknown_level": (
        "Mức đánh giá “{value}” không hợp lệ.",
        "unknown level {value!r}: expected one of {expected}",
    ),
    "missing_answer": (
        "Vui lòng chọn một mức đánh giá cho câu hỏi này.",
        "question {question!r} needs an answer: one of {expected}",
    ),
    "survey_closed": (
        "Khảo sát cho dịch vụ này hiện không mở ({window}).",
        "the survey for service {value!r} is closed on {day} (window {window})",
    ),
    "dossier_code": (
        "Mã hồ sơ gồm chữ, số và các dấu . - _ /, tối đa 64 ký tự (ví dụ H26.10-250601-0001).",
        "a dossier code is 1-64 letters, digits and . - _ / (e.g. H26.10-250601-0001)",
    ),
    "duplicate": (
        "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần.",
        "this dossier has already been rated (one rating per dossier)",
    ),
    "comment_too_long": (
        "Ý kiến tối đa 2.000 ký tự.",
        "a comment is at most 2,000 characters",
    ),
    "required": (
        "Vui lòng điền mục này.",
        "this field is required",
    ),
    "schema": (
        "Giá trị không hợp lệ: {msg}",
        "{msg}",
    ),
    "invalid": (
        "Giá trị không hợp lệ.",
        "invalid value",
    ),
    "unavailable": (
        "Hệ thống đang bận, đánh giá chưa được ghi nhận. Vui lòng gửi lại sau ít phút.",
        "Your rating was not recorded: the system is busy. Please send it again in a few minutes.",
    ),
    "csrf": (
        "Phiên làm việc đã hết hạn. Vui lòng chọn lại và gửi lần nữa.",
        "Your session expired. Please make your choices again and resubmit.",
    ),
})
"""Field errors, by FieldError.type."""

TEXTS = Messages({
    "title": ("Đánh giá mức độ hài lòng", "Satisfaction survey"),
    "intro": ("Ý kiến của ông/bà giúp cơ quan nhà nước phục vụ tốt hơn. Đánh giá là ẩn danh: "
              "chúng tôi không lưu địa chỉ IP, và mã hồ sơ chỉ được lưu dưới dạng mã băm.",
              "Your opinion helps public agencies serve you better. Ratings are anonymous: we store no IP "
              "address, and the dossier code only as a keyed hash."),
    "other_lang": ("English", "Tiếng Việt"),
    "service": ("Dịch vụ công", "Public service"),
    "service_hint": ("Chọn thủ tục ông/bà đã thực hiện.", "Choose the procedure you went through."),
    "choose": ("— Chọn dịch vụ —", "— Choose a service —"),
    "dossier": ("Mã hồ sơ", "Dossier code"),
    "dossier_hint": ("In trên giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
                     "Printed on the dossier receipt and appointment slip."),
    "comment": ("Ý kiến khác (không bắt buộc)", "Other comments (optional)"),
    "comment_hint": ("Tối đa 2.000 ký tự. Xin đừng ghi thông tin cá nhân.",
                     "At most 2,000 characters. Please do not write personal details."),
    "submit": ("Gửi đánh giá", "Send rating"),
    "errors_title": ("Có lỗi cần sửa", "There is a problem"),
    "thanks_title": ("Cảm ơn ông/bà đã đánh giá", "Thank you for your rating"),
    "thanks_body": ("Đánh giá của ông/bà đã được ghi nhận.", "Your rating has been recorded."),
    "receipt": ("Mã biên nhận", "Receipt number"),
    "again": ("Đánh giá hồ sơ khác", "Rate another dossier"),
    "closed_title": ("Khảo sát đang đóng", "The survey is closed"),
    "not_found": ("Không tìm thấy dịch vụ này.", "This service does not exist."),
    "too_many": ("Ông/bà gửi quá nhanh. Vui lòng thử lại sau {seconds} giây.",
                 "Too many ratings from your connection. Please try again in {seconds} seconds."),
    "agency": ("Cơ quan", "Agency"),
})
"""The citizen form's page texts (templates write `t.title`: see `TEXTS.in_lang`)."""


def message(kind: str, lang: str = "en", **params: Any) -> str:
    """The field error `kind` in `lang` (English by default: the JSON API's); unknown kinds read "invalid"."""
    return MESSAGES(kind if kind in MESSAGES else "invalid", lang, **params)
