"""The DC lab: the province's data centre as real Debian hosts on one machine (root only).

`dvcops dc up --catalog F` boots one host per catalogue host from the playbooks' role-seeded base
with systemd-nspawn (lab.dc.nspawn), each in its own network namespace on a bridge in a namespace
of its own, with a controller namespace where every command that talks to the DC runs
(lab.dc.netns); `dvcops dc provision` converges them over SSH with the production site.yml, and
`dvcops dc demo` runs the whole toolkit against them. lab.dc.datacentre holds up/down/status.
"""

from lab.dc.datacentre import DataCentre
from lab.dc.errors import DCError

__all__ = ["DCError", "DataCentre"]
