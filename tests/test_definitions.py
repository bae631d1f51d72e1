"""The Dagster definitions load, and the resource reaches the index through the owner."""

from dagster import Definitions

from warehouse.definitions import defs
from warehouse.index.remote import RemoteIndexStore


def test_definitions_load():
    assert isinstance(defs, Definitions)
    resource = defs.resources["warehouse"]
    assert isinstance(resource.index(), RemoteIndexStore)
