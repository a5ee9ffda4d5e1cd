"""The drills' texts in Vietnamese (first) and English: data for the kernel's dvcops.i18n.Messages.

Finding titles and remediation, by rule (`<rule>.title`, `<rule>.remediation`): findings store both
languages, so a report can be rendered in either without re-running checks. Then the after-action
report's headings and labels.
"""

from __future__ import annotations

from typing import Any

from dvcops.i18n import Messages

FINDINGS = Messages({
    "port-unexpected.title": (
        "Cổng {port}/tcp mở ngoài danh mục được duyệt ({service})",
        "Unexpected open port {port}/tcp ({service})",
    ),
    "port-unexpected.remediation": (
        "Tắt dịch vụ hoặc chặn cổng {port} trên tường lửa; nếu cần mở, bổ sung vào vai trò của máy chủ trong danh mục "
        "sau khi được phê duyệt.",
        "Stop the service or block port {port} at the firewall; if it must stay open, add it to the host's role in "
        "the catalogue once approved.",
    ),
    "port-not-answering.title": (
        "Dịch vụ được duyệt không phản hồi trên cổng {port}/tcp ({state})",
        "Approved service not answering on {port}/tcp ({state})",
    ),
    "port-not-answering.remediation": (
        "Kiểm tra dịch vụ và tường lửa; nếu dịch vụ đã ngừng, cập nhật vai trò trong danh mục.",
        "Check the service and the firewall; if the service was retired, update the role in the catalogue.",
    ),
    "tls-expired.title": (
        "Chứng chỉ TLS đã hết hạn ({not_after})",
        "TLS certificate expired ({not_after})",
    ),
    "tls-expired.remediation": (
        "Cài chứng chỉ hợp lệ và đặt cảnh báo hết hạn trước 30 ngày.",
        "Install a valid certificate and alert 30 days before expiry.",
    ),
    "tls-not-yet-valid.title": (
        "Chứng chỉ TLS chưa có hiệu lực (từ {not_before})",
        "TLS certificate not yet valid (from {not_before})",
    ),
    "tls-not-yet-valid.remediation": (
        "Kiểm tra đồng hồ hệ thống và chứng chỉ đã cài.",
        "Check the system clock and the installed certificate.",
    ),
    "tls-expiring.title": (
        "Chứng chỉ TLS sắp hết hạn: còn {days} ngày ({not_after})",
        "TLS certificate expires in {days} days ({not_after})",
    ),
    "tls-expiring.remediation": (
        "Gia hạn chứng chỉ trước khi hết hạn.",
        "Renew the certificate before it expires.",
    ),
    "tls-untrusted.title": (
        "Chứng chỉ TLS không được tin cậy: {error}",
        "TLS certificate not trusted: {error}",
    ),
    "tls-untrusted.remediation": (
        "Dùng chứng chỉ do CA được tin cậy cấp, gửi kèm đầy đủ chuỗi chứng chỉ trung gian.",
        "Use a certificate from a trusted CA and serve the full intermediate chain.",
    ),
    "tls-hostname.title": (
        "Chứng chỉ TLS không khớp tên {name}",
        "TLS certificate does not match {name}",
    ),
    "tls-hostname.remediation": (
        "Cấp chứng chỉ có tên miền (SAN) đúng với địa chỉ người dân truy cập.",
        "Issue a certificate whose SAN covers the name citizens use.",
    ),
    "tls-old-protocol.title": (
        "Máy chủ chấp nhận giao thức cũ {protocol}",
        "Server accepts the obsolete protocol {protocol}",
    ),
    "tls-old-protocol.remediation": (
        "Chỉ bật TLS 1.2 và TLS 1.3.",
        "Enable TLS 1.2 and TLS 1.3 only.",
    ),
    "tls-no-modern.title": (
        "Máy chủ không hỗ trợ TLS 1.2 hoặc TLS 1.3",
        "Server offers neither TLS 1.2 nor TLS 1.3",
    ),
    "tls-no-modern.remediation": (
        "Nâng cấp thư viện TLS và bật TLS 1.2, TLS 1.3.",
        "Upgrade the TLS library and enable TLS 1.2 and 1.3.",
    ),
    "tls-weak-cipher.title": (
        "Máy chủ chấp nhận bộ mã yếu {cipher}",
        "Server accepts the weak cipher {cipher}",
    ),
    "tls-weak-cipher.remediation": (
        "Tắt các bộ mã RC4, 3DES, DES, NULL, EXPORT, ẩn danh và trao đổi khoá RSA tĩnh "
        "(cấu hình Mozilla intermediate).",
        "Disable RC4, 3DES, DES, NULL, EXPORT, anonymous and static-RSA suites (Mozilla intermediate profile).",
    ),
    "header-missing.title": (
        "Thiếu tiêu đề bảo mật {header} (điểm Observatory {score}, hạng {grade})",
        "Missing security header {header} (Observatory score {score}, grade {grade})",
    ),
    "header-missing.remediation": (
        "Thêm tiêu đề {header} trong cấu hình máy chủ web, ví dụ: {example}",
        "Add the {header} header in the web server configuration, e.g. {example}",
    ),
    "header-weak.title": (
        "Tiêu đề bảo mật {header} cấu hình yếu: {problem}",
        "Weak {header} header: {problem}",
    ),
    "header-weak.remediation": (
        "Sửa tiêu đề {header}, ví dụ: {example}",
        "Fix the {header} header, e.g. {example}",
    ),
    "no-https-redirect.title": (
        "Trang HTTP không chuyển hướng sang HTTPS",
        "HTTP page does not redirect to HTTPS",
    ),
    "no-https-redirect.remediation": (
        "Chuyển hướng 301 mọi yêu cầu HTTP sang HTTPS.",
        "Redirect every HTTP request to HTTPS with a 301.",
    ),
    "version-disclosure.title": (
        "Máy chủ để lộ phiên bản phần mềm ({origin}): {value}",
        "Server discloses its software version ({origin}): {value}",
    ),
    "version-disclosure.remediation": (
        "Ẩn phiên bản (nginx: server_tokens off; Apache: ServerTokens Prod).",
        "Hide the version (nginx: server_tokens off; Apache: ServerTokens Prod).",
    ),
    "directory-listing.title": (
        "Liệt kê thư mục được bật tại {path}",
        "Directory listing enabled at {path}",
    ),
    "directory-listing.remediation": (
        "Tắt liệt kê thư mục (nginx: autoindex off; Apache: Options -Indexes).",
        "Disable directory listings (nginx: autoindex off; Apache: Options -Indexes).",
    ),
    "admin-exposed.title": (
        "Đường dẫn quản trị truy cập được không cần xác thực: {path}",
        "Admin path reachable without authentication: {path}",
    ),
    "admin-exposed.remediation": (
        "Chặn đường dẫn quản trị từ Internet, chỉ cho phép từ vùng quản trị, bắt buộc xác thực.",
        "Block the admin path from the Internet, allow it only from the management zone, require authentication.",
    ),
    "defaced.title": (
        "Trang chủ có dấu hiệu bị thay đổi giao diện (\"{marker}\")",
        "Front page shows signs of defacement (\"{marker}\")",
    ),
    "defaced.remediation": (
        "Cô lập máy chủ, khôi phục từ bản sao lưu, lưu chứng cứ, báo cáo sự cố trong 5 ngày.",
        "Isolate the server, restore from backup, keep evidence, report the incident within 5 days.",
    ),
    "content-changed.title": (
        "Nội dung trang chủ thay đổi so với lần kiểm tra trước",
        "Front page content changed since the previous run",
    ),
    "content-changed.remediation": (
        "Xác nhận thay đổi là hợp lệ (đã được duyệt); nếu không, xử lý như sự cố.",
        "Confirm the change was approved; if not, handle it as an incident.",
    ),
})
"""Finding texts by `<rule>.title` and `<rule>.remediation`; `texts(rule, ...)` fills in both languages."""

HEADINGS = Messages({
    "title": ("Báo cáo sau diễn tập", "After-action report"),
    "scope": ("Phạm vi và phê duyệt", "Scope and approval"),
    "timeline": ("Diễn biến", "Timeline"),
    "score": ("Thời gian phát hiện, xử lý và điểm", "Time to detect, time to respond and score"),
    "findings": ("Phát hiện theo mức độ", "Findings by severity"),
    "by_host": ("Phát hiện theo máy chủ", "Findings by host"),
    "waived": ("Phát hiện được miễn trừ", "Waived findings"),
    "changes": ("Thay đổi so với lần trước", "Changes since the previous run"),
    "compliance": ("Tuân thủ theo hệ thống và cấp độ", "Compliance per system and security level"),
    "incidents": ("Dự thảo thông báo sự cố", "Draft incident notifications"),
    "scan": ("Thông tin lần quét", "Scan record"),
})
"""The after-action report's section headings (Vietnamese with English beside them)."""

SEVERITY_NAMES = Messages({
    "critical": ("Nghiêm trọng", "Critical"), "high": ("Cao", "High"), "medium": ("Trung bình", "Medium"),
    "low": ("Thấp", "Low"), "info": ("Thông tin", "Info"),
})
KIND_NAMES = Messages({
    "drill": ("Diễn tập thực chiến", "Live drill"), "check": ("Kiểm tra tuân thủ", "Compliance check"),
})
EVENT_NAMES = Messages({
    "inject": ("Tình huống", "Inject"), "tool-detect": ("Công cụ phát hiện", "Tool detection"),
    "detected": ("Đội xanh phát hiện", "Blue team detected"), "responded": ("Đội xanh xử lý", "Blue team responded"),
    "note": ("Ghi chú", "Note"), "end": ("Kết thúc", "End"),
})

LABELS = Messages({
    "to": ("Gửi", "To"),
    "started": ("Bắt đầu", "Started"),
    "finished": ("Kết thúc", "Finished"),
    "exit_code": ("Mã kết quả", "Exit code"),
    "generated": ("Lập báo cáo", "Generated"),
    "roe": ("Kế hoạch (RoE)", "Rules of engagement"),
    "approval_ref": ("Quyết định phê duyệt", "Approval reference"),
    "approver": ("Người phê duyệt", "Approver"),
    "authorised_window": ("Thời gian được phép", "Authorised window"),
    "ports": ("Cổng", "Ports"),
    "checks": ("Kiểm tra", "Checks"),
    "resolver": ("Máy phân giải tên", "Resolver"),
    "host": ("Máy chủ", "Host"),
    "address": ("Địa chỉ", "Address"),
    "zone": ("Vùng", "Zone"),
    "level": ("Cấp độ", "Level"),
    "system": ("Hệ thống", "System"),
    "approved_ports": ("Cổng được duyệt", "Approved ports"),
    "out_of_scope": ("Không tác động (ngoài phạm vi):", "Not touched (out of scope):"),
    "time": ("Thời điểm", "Time"),
    "event": ("Sự kiện", "Event"),
    "inject": ("Tình huống", "Inject"),
    "by": ("Người ghi", "By"),
    "note": ("Ghi chú", "Note"),
    "ttd": ("Thời gian phát hiện (TTD)", "Time to detect"),
    "goal": ("Mục tiêu", "Goal"),
    "ttr": ("Thời gian xử lý (TTR)", "Time to respond"),
    "points": ("Điểm", "Points"),
    "total_score": ("Tổng điểm", "Score"),
    "no_open_findings": ("Không còn phát hiện nào chưa xử lý.", "No open findings."),
    "finding": ("Phát hiện", "Finding"),
    "evidence": ("Bằng chứng", "Evidence"),
    "remediation": ("Khắc phục", "Remediation"),
    "first_seen": ("Phát hiện lần đầu", "First seen"),
    "justification": ("Lý do", "Justification"),
    "expires": ("Hết hạn", "Expires"),
    "compared_with_scan": ("So với lần quét", "Compared with scan"),
    "no_scan_changes": ("Không có thay đổi về cổng và dịch vụ.", "No port or service changes."),
    "no_earlier_scan": ("Chưa có lần quét trước cùng loại để so sánh.",
                        "No earlier scan of the same kind to compare with."),
    "new_findings": ("Phát hiện mới", "New findings"),
    "fixed": ("Đã khắc phục", "Fixed"),
    "legal_basis": ("Căn cứ", "Legal basis"),
    "policy": ("Chính sách", "Policy"),
    "last_drill": ("Diễn tập gần nhất", "Last drill"),
    "last_check": ("Kiểm tra gần nhất", "Last check"),
    "status": ("Tình trạng", "Status"),
    "overdue_inline": ("quá hạn", "overdue"),
    "ok": ("Đạt", "OK"),
    "overdue": ("Quá hạn", "Overdue"),
    "no_incident": ("Không có phát hiện nghiêm trọng cần thông báo.", "No critical finding to notify."),
    "incident_draft": ("DỰ THẢO — BÁO CÁO BAN ĐẦU SỰ CỐ AN TOÀN THÔNG TIN MẠNG",
                       "DRAFT — INITIAL CYBER-SECURITY INCIDENT REPORT"),
    "caused_by_drill": ("Tình huống do diễn tập tạo ra: chỉ gửi nếu xác định là sự cố thật.",
                        "Caused by a drill inject: send only if it turns out to be a real incident."),
    "to_recipients": ("Kính gửi", "To"),
    "level_inline": ("cấp độ", "level"),
    "host_inline": ("máy chủ", "host"),
    "detected": ("Thời điểm phát hiện", "Detected"),
    "report_by": ("Hạn báo cáo", "Report by"),
    "days_from_detection": ("{days} ngày kể từ khi phát hiện", "{days} days from detection"),
    "description": ("Mô tả", "Description"),
    "measures": ("Biện pháp xử lý", "Measures"),
    "scan": ("quét", "scan"),
    "privileged": ("quyền root", "privileged"),
    "unprivileged": ("không có quyền root", "unprivileged"),
    "command": ("Lệnh", "Command"),
})
"""The after-action report's labels (`t("key")` in templates/aar.html.j2)."""


COMPLIANCE = Messages({
    "months": ("{n} tháng", "{n} months"),
    "by_level": ("thời hạn theo cấp độ ({parts})", "the interval of their level ({parts})"),
    "level": ("cấp độ {level}: {n} tháng", "level {level}: {n} months"),
    "no_level": ("chưa xác định", "none"),
    "rule": (
        "Mỗi hệ thống thông tin phải được diễn tập thực chiến trong vòng {drill} và được kiểm tra, đánh giá an "
        "toàn thông tin trong vòng {check} tính đến cuối kỳ báo cáo (tháng dương lịch; chính sách diễn tập "
        "phiên bản {version}). Chỉ tiêu tổng hợp chỉ đạt khi mọi hệ thống đều đạt. Các cuộc diễn tập, kiểm tra "
        "do đơn vị khác tổ chức được ghi nhận kèm số văn bản phê duyệt.",
        "Each information system must have a live drill within {drill} and a security compliance check within "
        "{check} up to the end of the period (calendar months; drill policy version {version}). The headline is "
        "met only when every system meets it. Exercises run by others are counted when recorded with their "
        "approval reference.",
    ),
    "legal_security_levels": ("Bảo đảm an toàn hệ thống thông tin theo cấp độ; kiểm tra, đánh giá định kỳ",
                              "Information system security by level; periodic compliance checks"),
    "legal_incidents": ("Ứng cứu sự cố: báo cáo trong {days} ngày", "Incident response: report within {days} days"),
})
"""The compliance rule's words (drills.compliance): intervals, the methodology sentence, what each law governs."""


def texts(rule: str, **params: Any) -> dict[str, str]:
    """title, title_en, remediation, remediation_en for a rule, filled in."""
    title, title_en = FINDINGS.both(f"{rule}.title", **params)
    remediation, remediation_en = FINDINGS.both(f"{rule}.remediation", **params)
    return {"title": title, "title_en": title_en, "remediation": remediation, "remediation_en": remediation_en}
