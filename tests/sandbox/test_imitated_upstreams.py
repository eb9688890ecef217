"""The sandbox's own list of imitations agrees with the gateway's registry, and each imitation serves its routes."""

from __future__ import annotations

from gateway.upstreams.catalog import SPECS
from sandbox.app import create_app
from sandbox.imitations import IMITATED_UPSTREAMS


def test_the_sandbox_imitates_exactly_the_registered_upstreams() -> None:
    registered = tuple(spec.name for spec in SPECS)
    assert registered == IMITATED_UPSTREAMS, (
        f"gateway.upstreams.catalog.SPECS {registered} != sandbox.imitations.IMITATED_UPSTREAMS {IMITATED_UPSTREAMS}: "
        "an upstream needs its sandbox imitation (and the sandbox imitates only registered upstreams)"
    )


def test_every_imitation_registers_routes_under_its_name() -> None:
    app = create_app()
    route_owners = {route.name.partition(".")[0] for route in app.router.routes() if route.name and "." in route.name}
    assert route_owners == set(IMITATED_UPSTREAMS)
