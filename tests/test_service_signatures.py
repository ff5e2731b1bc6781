"""Every public service function takes keyword arguments only, each typed, and says what it
returns (docs/architecture.md): a call reads as a sentence (`seats_add(subscription=…,
seat_type=…, quantity=…)`) and the type checker sees every door's call.

Public: the names a services package exports (`__all__`) and the functions of a services module
whose names do not start with an underscore."""

import importlib
import inspect

import pytest

SERVICE_MODULES = [
    "catalog.services",
    "subscriptions.services",
    "billing.services",
    "partners.services",
    "integrations.services",
]


def _public_functions():
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
                yield f"{name}.{attribute}", inspect.unwrap(value)


FUNCTIONS = dict(_public_functions())


def test_there_are_service_functions_to_check():
    assert len(FUNCTIONS) > 60


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
