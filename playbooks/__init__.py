"""Playbooks: provision the province's data centre with Ansible roles driven by ansible-runner.

The Ansible content (site.yml, roles/) lives in this folder; the Python modules around it build the
inventory from the catalogue (inventory.py), gather secrets without leaking them (secrets.py), build
the dvcops wheel the survey and prober roles install (wheel.py), make Debian chroots to rehearse on
(chroots.py) and run site.yml through ansible-runner (runner.py).
"""

from __future__ import annotations

from pathlib import Path

PLAYBOOK_DIR = Path(__file__).resolve().parent
"""Where site.yml, ansible.cfg and roles/ are (shipped as package data)."""
SITE = PLAYBOOK_DIR / "site.yml"
ANSIBLE_CFG = PLAYBOOK_DIR / "ansible.cfg"
