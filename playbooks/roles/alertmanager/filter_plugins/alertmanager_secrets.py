"""Put secret webhook URLs into the alertmanager.yml `dvcops alerts render` wrote (where it has placeholders)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

PLACEHOLDER = re.compile(r"https://dvcops-secret\.invalid/([a-z0-9_]+)")


def alertmanager_secret_urls(text: str, urls: dict[str, str]) -> str:
    """Each https://dvcops-secret.invalid/<name> becomes urls[name]; a missing one is an error naming it."""
    missing = sorted({m for m in PLACEHOLDER.findall(text) if not urls.get(m)})
    if missing:
        raise AnsibleFilterError(
            "alertmanager.yml needs these secrets (webhook_secrets in the catalogue): " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda m: urls[m.group(1)], text)


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"alertmanager_secret_urls": alertmanager_secret_urls}
