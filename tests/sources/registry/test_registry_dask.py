"""``--dask`` with image references: the client pins tags, the workers fetch blobs by digest."""

from __future__ import annotations

import logging

import pytest

from cdcviewer.analysis.workspace import analyze
from cdcviewer.base.params import ChunkerParams
from cdcviewer.report.document import report_dict
from cdcviewer.sources.registry.fetch import input_for_workers
from cdcviewer.sources.registry.settings import RegistrySettings
from tests.sources.registry.conftest import needs_registry

distributed = pytest.importorskip("distributed")
pytestmark = needs_registry
PARAMS = ChunkerParams.for_avg(8192)


def test_workers_fetch_the_blobs_of_pinned_references(plain_registry, tmp_path):
    from cdcviewer.distributed.job import analyze_distributed

    host = plain_registry.host
    refs = [f"docker://{host}/app:1", f"{host}/app:2"]
    pinned = input_for_workers(refs[0], RegistrySettings())
    assert pinned.startswith(f"docker://{host}/app:1@sha256:")
    assert input_for_workers("oci:rel/layout:1", RegistrySettings()).endswith("/rel/layout:1")
    with analyze(refs, PARAMS) as analysis:
        expected = report_dict(analysis)
    # A fresh blob cache: whatever the workers load, they fetch.
    tmp_cache = tmp_path / "worker-cache"
    settings = RegistrySettings(blob_cache=tmp_cache)
    before = len(plain_registry.requests(r"^GET /v2/app/blobs/"))
    with (
        distributed.LocalCluster(
            n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
        ) as local,
        distributed.Client(local) as client,
        analyze_distributed(refs, PARAMS, client=client, registry=settings) as result,
    ):  # fmt: skip
        report = report_dict(result)
    fetched = plain_registry.requests(r"^GET /v2/app/blobs/")[before:]
    assert len(fetched) == 5 and len(list(tmp_cache.glob("sha256/*"))) == 7
    assert report["layers"] == expected["layers"]
    assert report["totals"] == expected["totals"]
