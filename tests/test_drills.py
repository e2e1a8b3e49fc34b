"""The fault drill of issue 15 (bench/drills.py): write lock, Redis outage, SIGKILL of `sapa run`."""

from __future__ import annotations

import shutil

import pytest

from bench import drills
from tests.conftest import POSTGRES_URL, _postgres_up, service_or_skip


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                                                pytest.mark.redis])])
def test_sapa_survives_the_fault_drill(backend, nlu_model_path, capsys):
    if backend == "postgres":
        service_or_skip("PostgreSQL", _postgres_up())
        service_or_skip("redis-server", shutil.which("redis-server") is not None)
    code = drills.main(["--backend", backend, "--postgres-url", POSTGRES_URL, "--nlu-model", nlu_model_path])
    output = capsys.readouterr().out
    assert code == 0, output
