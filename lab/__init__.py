"""The local lab: the province on one machine, every host on its own loopback address.

`dvcops lab up` starts one background process (lab.server) serving the portal, e-service
endpoints over HTTP and HTTPS (a lab CA, one certificate expiring within 10 days), a slow, a
flapping and a down endpoint, a database host with one unapproved port, and a DNS server for
the lab's names. It writes `lab.yml`, a catalogue of the lab with its real ports, that every part
can be pointed at.
"""

from lab.manager import Lab, LabError
from lab.spec import LabSpec

__all__ = ["Lab", "LabError", "LabSpec"]
