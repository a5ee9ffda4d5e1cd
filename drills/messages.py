"""Finding titles and remediation in Vietnamese and English, by rule.

Findings store both languages, so a report can be rendered in either without re-running checks.
"""

from __future__ import annotations

from typing import Any

# rule: (title vi, title en, remediation vi, remediation en)
MESSAGES: dict[str, tuple[str, str, str, str]] = {
    "port-unexpected": (
        "Cổng {port}/tcp mở ngoài danh mục được duyệt ({service})",
        "Unexpected open port {port}/tcp ({service})",
        "Tắt dịch vụ hoặc chặn cổng {port} trên tường lửa; nếu cần mở, bổ sung vào vai trò của máy chủ trong danh mục "
        "sau khi được phê duyệt.",
        "Stop the service or block port {port} at the firewall; if it must stay open, add it to the host's role in "
        "the catalogue once approved.",
    ),
    "port-not-answering": (
        "Dịch vụ được duyệt không phản hồi trên cổng {port}/tcp ({state})",
        "Approved service not answering on {port}/tcp ({state})",
        "Kiểm tra dịch vụ và tường lửa; nếu dịch vụ đã ngừng, cập nhật vai trò trong danh mục.",
        "Check the service and the firewall; if the service was retired, update the role in the catalogue.",
    ),
    "tls-expired": (
        "Chứng chỉ TLS đã hết hạn ({not_after})",
        "TLS certificate expired ({not_after})",
        "Cài chứng chỉ hợp lệ và đặt cảnh báo hết hạn trước 30 ngày.",
        "Install a valid certificate and alert 30 days before expiry.",
    ),
    "tls-not-yet-valid": (
        "Chứng chỉ TLS chưa có hiệu lực (từ {not_before})",
        "TLS certificate not yet valid (from {not_before})",
        "Kiểm tra đồng hồ hệ thống và chứng chỉ đã cài.",
        "Check the system clock and the installed certificate.",
    ),
    "tls-expiring": (
        "Chứng chỉ TLS sắp hết hạn: còn {days} ngày ({not_after})",
        "TLS certificate expires in {days} days ({not_after})",
        "Gia hạn chứng chỉ trước khi hết hạn.",
        "Renew the certificate before it expires.",
    ),
    "tls-untrusted": (
        "Chứng chỉ TLS không được tin cậy: {error}",
        "TLS certificate not trusted: {error}",
        "Dùng chứng chỉ do CA được tin cậy cấp, gửi kèm đầy đủ chuỗi chứng chỉ trung gian.",
        "Use a certificate from a trusted CA and serve the full intermediate chain.",
    ),
    "tls-hostname": (
        "Chứng chỉ TLS không khớp tên {name}",
        "TLS certificate does not match {name}",
        "Cấp chứng chỉ có tên miền (SAN) đúng với địa chỉ người dân truy cập.",
        "Issue a certificate whose SAN covers the name citizens use.",
    ),
    "tls-old-protocol": (
        "Máy chủ chấp nhận giao thức cũ {protocol}",
        "Server accepts the obsolete protocol {protocol}",
        "Chỉ bật TLS 1.2 và TLS 1.3.",
        "Enable TLS 1.2 and TLS 1.3 only.",
    ),
    "tls-no-modern": (
        "Máy chủ không hỗ trợ TLS 1.2 hoặc TLS 1.3",
        "Server offers neither TLS 1.2 nor TLS 1.3",
        "Nâng cấp thư viện TLS và bật TLS 1.2, TLS 1.3.",
        "Upgrade the TLS library and enable TLS 1.2 and 1.3.",
    ),
    "tls-weak-cipher": (
        "Máy chủ chấp nhận bộ mã yếu {cipher}",
        "Server accepts the weak cipher {cipher}",
        "Tắt các bộ mã RC4, 3DES, DES, NULL, EXPORT, ẩn danh và trao đổi khoá RSA tĩnh "
        "(cấu hình Mozilla intermediate).",
        "Disable RC4, 3DES, DES, NULL, EXPORT, anonymous and static-RSA suites (Mozilla intermediate profile).",
    ),
    "header-missing": (
        "Thiếu tiêu đề bảo mật {header} (điểm Observatory {score}, hạng {grade})",
        "Missing security header {header} (Observatory score {score}, grade {grade})",
        "Thêm tiêu đề {header} trong cấu hình máy chủ web, ví dụ: {example}",
        "Add the {header} header in the web server configuration, e.g. {example}",
    ),
    "header-weak": (
        "Tiêu đề bảo mật {header} cấu hình yếu: {problem}",
        "Weak {header} header: {problem}",
        "Sửa tiêu đề {header}, ví dụ: {example}",
        "Fix the {header} header, e.g. {example}",
    ),
    "no-https-redirect": (
        "Trang HTTP không chuyển hướng sang HTTPS",
        "HTTP page does not redirect to HTTPS",
        "Chuyển hướng 301 mọi yêu cầu HTTP sang HTTPS.",
        "Redirect every HTTP request to HTTPS with a 301.",
    ),
    "version-disclosure": (
        "Máy chủ để lộ phiên bản phần mềm ({origin}): {value}",
        "Server discloses its software version ({origin}): {value}",
        "Ẩn phiên bản (nginx: server_tokens off; Apache: ServerTokens Prod).",
        "Hide the version (nginx: server_tokens off; Apache: ServerTokens Prod).",
    ),
    "directory-listing": (
        "Liệt kê thư mục được bật tại {path}",
        "Directory listing enabled at {path}",
        "Tắt liệt kê thư mục (nginx: autoindex off; Apache: Options -Indexes).",
        "Disable directory listings (nginx: autoindex off; Apache: Options -Indexes).",
    ),
    "admin-exposed": (
        "Đường dẫn quản trị truy cập được không cần xác thực: {path}",
        "Admin path reachable without authentication: {path}",
        "Chặn đường dẫn quản trị từ Internet, chỉ cho phép từ vùng quản trị, bắt buộc xác thực.",
        "Block the admin path from the Internet, allow it only from the management zone, require authentication.",
    ),
    "defaced": (
        "Trang chủ có dấu hiệu bị thay đổi giao diện (\"{marker}\")",
        "Front page shows signs of defacement (\"{marker}\")",
        "Cô lập máy chủ, khôi phục từ bản sao lưu, lưu chứng cứ, báo cáo sự cố trong 5 ngày.",
        "Isolate the server, restore from backup, keep evidence, report the incident within 5 days.",
    ),
    "content-changed": (
        "Nội dung trang chủ thay đổi so với lần kiểm tra trước",
        "Front page content changed since the previous run",
        "Xác nhận thay đổi là hợp lệ (đã được duyệt); nếu không, xử lý như sự cố.",
        "Confirm the change was approved; if not, handle it as an incident.",
    ),
}


def texts(rule: str, **params: Any) -> dict[str, str]:
    """title, title_en, remediation, remediation_en for a rule, filled in."""
    t_vi, t_en, r_vi, r_en = MESSAGES[rule]
    return {"title": t_vi.format(**params), "title_en": t_en.format(**params),
            "remediation": r_vi.format(**params), "remediation_en": r_en.format(**params)}
