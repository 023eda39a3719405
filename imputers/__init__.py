"""Imputers: the base class, the registry, the contract checks and one file per method."""

from imputebench.imputers.base import (
    Capabilities,
    Imputer,
    available_imputers,
    get_imputer,
    get_imputer_class,
    register_imputer,
)

__all__ = ["Capabilities", "Imputer", "available_imputers", "get_imputer", "get_imputer_class",
           "register_imputer"]
