"""Every public service function takes keyword arguments only, each typed, and says what it
returns (docs/architecture.md): a call reads as a sentence (`seats_add(subscription=…,
seat_type=…, quantity=…)`) and the type checker sees every door's call.

Public: the names a services package exports (`__all__`) and the functions of a services module
whose names do not start with an underscore.

A service decorated with @previewable declares its own `dry_run` keyword (the decorator reads
it): the signature mypy checks each call against is then the whole of what the service takes."""

import importlib
import inspect

import pytest

from subscriptions.services._base import previewable

SERVICE_MODULES = [
    "catalog.services",
    "subscriptions.services",
    "billing.services",
    "payments.services",
    "partners.services",
    "integrations.services",
    "storefront.services.signup",
    "storefront.services.limits",
    "storefront.services.links",
]


def _public_services():
    for name in SERVICE_MODULES:
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None) or [
            attribute
            for attribute, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == name
        ]
        for attribute in names:
            value = getattr(module, attribute)
            if inspect.isfunction(value) and not attribute.startswith("_"):
                yield f"{name}.{attribute}", value


SERVICES = dict(_public_services())
FUNCTIONS = {name: inspect.unwrap(value) for name, value in SERVICES.items()}
# functools.wraps gives the wrapper the service's name: known by its code, that of every
# function previewable returns.
_PREVIEWABLE_WRAPPER = previewable(lambda: None).__code__
PREVIEWABLE = {
    name: FUNCTIONS[name]
    for name, value in SERVICES.items()
    if value.__code__ is _PREVIEWABLE_WRAPPER
}


def test_there_are_service_functions_to_check():
    assert len(FUNCTIONS) > 60


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_each_services_module_has_functions_checked(module):
    # A package whose __all__ were lost would otherwise be checked for nothing.
    assert any(name.startswith(f"{module}.") for name in FUNCTIONS), module


def test_the_previewable_services_are_found():
    assert "subscriptions.services.subscription_create" in PREVIEWABLE
    assert len(PREVIEWABLE) >= 8


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_public_service_function_is_keyword_only_and_typed(name):
    signature = inspect.signature(FUNCTIONS[name])
    positional = [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    untyped = [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.annotation is inspect.Parameter.empty
    ]
    assert not positional, f"{name}: make {positional} keyword-only"
    assert not untyped, f"{name}: type {untyped}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name}: return type"


@pytest.mark.parametrize("name", sorted(PREVIEWABLE))
def test_a_previewable_service_declares_its_dry_run(name):
    parameter = inspect.signature(PREVIEWABLE[name]).parameters.get("dry_run")
    assert parameter is not None, f"{name}: declare `dry_run: bool = False` (read by @previewable)"
    assert parameter.kind is parameter.KEYWORD_ONLY, f"{name}: dry_run is keyword-only"
    assert parameter.default is False, f"{name}: dry_run defaults to False"
    assert parameter.annotation in ("bool", bool), f"{name}: dry_run is a bool"
