from __future__ import annotations

import pytest

from dvcops.errors import MissingPackageError
from dvcops.system import require_program


def test_finds_debian_programs_including_postgres_bin() -> None:
    assert require_program("nmap").name == "nmap"
    assert "postgresql" in str(require_program("initdb"))


def test_missing_program_names_the_package() -> None:
    with pytest.raises(MissingPackageError) as info:
        require_program("no-such-program-dvcops")
    assert "apt-get install no-such-program-dvcops" in str(info.value)
