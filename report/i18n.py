"""The report's labels in Vietnamese (first) and English: data for the kernel's dvcops.i18n.Messages."""

from __future__ import annotations

from dvcops.i18n import Messages

LABELS = Messages({
    "title": ("Báo cáo tình hình cung cấp dịch vụ công trực tuyến", "Report on online public services"),
    "to": ("Kính gửi", "To"),
    "period": ("Kỳ báo cáo", "Period"),
    "due": ("Hạn nộp", "Due"),
    "generated": ("Lập lúc", "Generated"),
    "summary": ("Tóm tắt", "Summary"),
    "availability": ("Tính sẵn sàng của hệ thống", "Availability"),
    "satisfaction": ("Mức độ hài lòng của người dân, doanh nghiệp", "Citizen satisfaction"),
    "security": ("Bảo đảm an toàn thông tin", "Information security"),
    "roadmap": ("Tiến độ lộ trình cung cấp dịch vụ công trực tuyến", "Roadmap progress"),
    "methodology": ("Phương pháp tính", "Methodology"),
    "legal": ("Căn cứ pháp lý", "Legal references"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "value": ("Kết quả", "Value"),
    "target": ("Mục tiêu", "Target"),
    "status": ("Đánh giá", "Status"),
    "green": ("Đạt", "Met"),
    "amber": ("Cần theo dõi", "Watch"),
    "red": ("Không đạt", "Not met"),
    "none": ("Chưa có số liệu", "No data"),
    "province_uptime": ("Tỷ lệ sẵn sàng toàn tỉnh", "Province uptime"),
    "services_slo": ("Dịch vụ đạt SLO", "Services meeting their SLO"),
    "ratio_766": ("Tỷ lệ hài lòng (QĐ 766)", "Satisfaction ratio (Decision 766)"),
    "drill": ("Hệ thống được diễn tập thực chiến trong {interval}", "Systems with a live drill within {interval}"),
    "check": ("Hệ thống được kiểm tra, đánh giá trong {interval}", "Systems with a compliance check within {interval}"),
    "critical_findings": ("Lỗ hổng nghiêm trọng/cao đang mở", "Open critical/high findings"),
    "level3": ("Dịch vụ mức độ 3 / một phần", "Level 3 / partly online services"),
    "level4": ("Dịch vụ mức độ 4 / toàn trình", "Level 4 / fully online services"),
    "online_rate": ("Tỷ lệ hồ sơ trực tuyến", "Online application rate"),
    "typed_in": ("nhập tay, không từ dữ liệu hồ sơ", "typed in, not from dossier data"),
    "dossiers_full_online_rate": ("Tỷ lệ hồ sơ trực tuyến toàn trình", "Fully online application rate"),
    "dossiers_on_time_rate": ("Tỷ lệ hồ sơ giải quyết đúng hạn", "On-time rate"),
    "dossiers_satisfaction_766": ("Mức độ hài lòng theo dữ liệu hồ sơ (QĐ 766)",
                                  "Satisfaction from dossier data (Decision 766)"),
    "dossiers": ("Hồ sơ thủ tục hành chính (hệ thống một cửa)", "Dossiers (one-stop system)"),
    "received": ("Hồ sơ tiếp nhận", "Received"),
    "returned": ("Hồ sơ đã trả kết quả", "Returned"),
    "overdue_open": ("Đang giải quyết, quá hạn", "Open and overdue"),
    "legacy_codes": ("Mã hồ sơ định dạng cũ", "Codes in older formats"),
    "index_points": ("Điểm (QĐ 766)", "Points (Decision 766)"),
    "portal": ("Cổng DVCQG", "National portal"),
    "difference": ("Chênh lệch", "Difference"),
    "unverified": ("chưa đối chiếu văn bản gốc", "not yet checked against the official text"),
    "no_dossiers": ("Chưa có dữ liệu hồ sơ trong kỳ (dvcops dossiers import).",
                    "No dossier data in the period (dvcops dossiers import)."),
    "full_online_rate": ("Tỷ lệ hồ sơ trực tuyến toàn trình", "Fully online application rate"),
    "agency": ("Cơ quan", "Agency"),
    "service": ("Dịch vụ", "Service"),
    "level": ("Mức độ", "Level"),
    "uptime": ("Sẵn sàng", "Uptime"),
    "downtime": ("Thời gian gián đoạn", "Downtime"),
    "incidents": ("Sự cố", "Incidents"),
    "p95": ("Độ trễ p95", "p95 latency"),
    "start": ("Bắt đầu", "Start"),
    "end": ("Kết thúc", "End"),
    "duration": ("Thời lượng", "Duration"),
    "ongoing": ("đang diễn ra", "ongoing"),
    "certificates": ("Chứng thư số sắp hết hạn (30 ngày)", "Certificates expiring within 30 days"),
    "endpoint": ("Điểm truy cập", "Endpoint"),
    "expires": ("Hết hạn", "Expires"),
    "days_left": ("Còn (ngày)", "Days left"),
    "no_incidents": ("Không có sự cố trong kỳ.", "No incidents in the period."),
    "no_certs": ("Không có chứng thư số sắp hết hạn.", "No certificate expires soon."),
    "ratings": ("Số hồ sơ được đánh giá", "Rated dossiers"),
    "khl": ("Không hài lòng", "Not satisfied"),
    "mean_score": ("Điểm trung bình (0–100)", "Mean score (0–100)"),
    "previous": ("Kỳ trước", "Previous period"),
    "change": ("Thay đổi", "Change"),
    "levels": ("Phân bố mức đánh giá", "Rating levels"),
    "factors": ("Theo yếu tố SIPAS", "By SIPAS factor"),
    "answers": ("Số câu trả lời", "Answers"),
    "comments": ("Một số ý kiến gần đây", "Recent comments"),
    "no_ratings": ("Chưa có đánh giá trong kỳ.", "No ratings in the period."),
    "last_drill": ("Lần diễn tập gần nhất", "Last drill"),
    "last_check": ("Lần kiểm tra gần nhất", "Last compliance check"),
    "open_findings": ("Phát hiện đang mở theo mức độ", "Open findings by severity"),
    "severity": ("Mức độ nghiêm trọng", "Severity"),
    "host": ("Máy chủ", "Host"),
    "system": ("Hệ thống", "System"),
    "security_level": ("Cấp độ", "Security level"),
    "finding": ("Phát hiện", "Finding"),
    "first_seen": ("Phát hiện lần đầu", "First seen"),
    "remediation": ("Khắc phục", "Remediation"),
    "waivers": ("Ngoại lệ sắp hết hạn (30 ngày)", "Waivers expiring within 30 days"),
    "approver": ("Người phê duyệt", "Approver"),
    "justification": ("Lý do", "Justification"),
    "no_level": ("Hệ thống chưa được phê duyệt cấp độ", "Systems without an approved security level"),
    "compliance": ("Tuân thủ theo hệ thống", "Compliance per system"),
    "systems_ok": ("{ok}/{n} hệ thống đạt (trong {interval})", "{ok}/{n} systems in time (within {interval})"),
    "none_found": ("Không có.", "None."),
    "never": ("chưa thực hiện", "never"),
    "ok": ("Đạt", "OK"),
    "overdue": ("Quá hạn", "Overdue"),
    "year": ("Năm", "Year"),
    "count": ("Số lượng", "Count"),
    "not_measured": ("chưa đo", "not measured"),
    "incident_note": ("Phát hiện nghiêm trọng là sự cố phải báo cáo trong {days} ngày kể từ khi phát hiện.",
                      "A critical finding is an incident to be reported within {days} days of detection."),
    "end_exclusive": ("không bao gồm ngày cuối", "end exclusive"),
    "points": ("điểm %", "pts"),
    "by_month": ("theo tháng", "by month"),
    "method_uptime": (
        "Tỷ lệ sẵn sàng = số lần kiểm tra thành công / số lần kiểm tra được tính. Các lần kiểm tra trong khung bảo "
        "trì đã công bố trong danh mục và các lần mất kết nối của chính hệ thống giám sát không được tính vào mẫu số "
        "(không bị coi là gián đoạn, cũng không được coi là sẵn sàng).",
        "Uptime = successful checks / charged checks. Checks inside the catalogue's announced maintenance windows and "
        "checks made while the monitor itself had no connectivity are left out of the denominator (neither down nor "
        "up).",
    ),
    "method_incidents": (
        "Một sự cố bắt đầu ở lần kiểm tra thất bại đầu tiên và kết thúc ở lần kiểm tra thành công kế tiếp; thời gian "
        "gián đoạn của dịch vụ là tổng thời lượng các sự cố (gộp các điểm truy cập).",
        "An incident starts at the first failed check and ends at the next successful one; a service's downtime is "
        "the total length of its incidents (endpoints merged).",
    ),
    "method_ratio_766": (
        "Tỷ lệ hài lòng theo Quyết định 766/QĐ-TTg = (số hồ sơ được đánh giá − số hồ sơ đánh giá \"không hài lòng\") "
        "/ số hồ sơ được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần; một hồ sơ có bất kỳ câu trả lời ở mức \"không "
        "hài lòng\" được tính là không hài lòng.",
        "Satisfaction ratio per Decision 766/QĐ-TTg = (rated dossiers − dossiers rated \"not satisfied\") / rated "
        "dossiers. Each dossier is rated once; a dossier with any answer at a \"not satisfied\" level counts as not "
        "satisfied.",
    ),
    "method_as_of": (
        "Mọi số liệu được tính đến cuối kỳ báo cáo: kết quả giám sát, đánh giá của người dân, diễn tập và kiểm tra có "
        "thời điểm sau cuối kỳ không làm thay đổi báo cáo của kỳ đã kết thúc.",
        "Every figure is as of the end of the period: probe results, ratings, drills and checks dated after it do not "
        "change the report of a closed period.",
    ),
})

METHODOLOGY = ("method_uptime", "method_incidents", "method_ratio_766", "method_as_of")
"""The methodology section's paragraphs, in order (the drills add their rule's sentence)."""

LEVEL_LABELS = Messages({
    "1": ("Mức độ 1", "Level 1"), "2": ("Mức độ 2", "Level 2"), "3": ("Mức độ 3", "Level 3"),
    "4": ("Mức độ 4", "Level 4"), "toan-trinh": ("Toàn trình", "Fully online"),
    "mot-phan": ("Một phần", "Partly online"),
})
SEVERITY_LABELS = Messages({
    "critical": ("Nghiêm trọng", "Critical"), "high": ("Cao", "High"), "medium": ("Trung bình", "Medium"),
    "low": ("Thấp", "Low"), "info": ("Thông tin", "Info"),
})


def label(key: str, lang: str) -> str:
    return LABELS(key, lang)
