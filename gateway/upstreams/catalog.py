"""The registry's one list: every upstream the gateway knows, by its spec (stdlib and domain types only).

Settings, clients, the `sources` field, query costs and the choice of sources for a query are derived from it.
Adding an upstream: its adapter package (spec + adapter), its sandbox imitation, their tests, and one line here.
"""

from __future__ import annotations

from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.canadabuys.spec import SPEC as CANADABUYS
from gateway.upstreams.contractsfinder.spec import SPEC as CONTRACTSFINDER
from gateway.upstreams.findatender.spec import SPEC as FINDATENDER
from gateway.upstreams.ita.spec import SPEC as ITA
from gateway.upstreams.sam.spec import SPEC as SAM
from gateway.upstreams.samopps.spec import SPEC as SAMOPPS
from gateway.upstreams.spec import UpstreamSpec

SPECS: tuple[UpstreamSpec, ...] = (ITA, CANADA, SAM, CANADABUYS, SAMOPPS, CONTRACTSFINDER, FINDATENDER)
