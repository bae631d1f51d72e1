"""The stage contract: ``run(context, documents) -> documents`` with typed parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import compile_filter

STAGES: dict[str, type[Stage]] = {}


@dataclass
class StageContext:
    """What stages share during one execution."""

    services: Any
    namespace_id: str
    collections: list[Any]  # catalog Collection rows the retriever reads
    inputs: dict[str, Any]
    pushed_filter: Any = None  # a CompiledFilter the next attribute_filter handed to feature_search
    limit_hint: int | None = None  # a later limit stage's offset + limit, when nothing between reorders or drops
    mmr: Any = None  # the MmrStage feature_search runs inside its engine query
    metadata: dict[str, Any] = field(default_factory=dict)


class Stage:
    """Base class of every stage. Subclasses set ``stage_id``, ``category``, ``Params``.

    Example:
        >>> @register
        ... class Reverse(Stage):
        ...     stage_id = "reverse"; category = "sort"; Params = NoParams
        ...     def run(self, ctx, docs): return list(reversed(docs))
    """

    stage_id: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str] = ""
    icon: ClassVar[str] = "filter"
    Params: ClassVar[type[BaseModel]]
    #: parameters that are Jinja sources: their ``{{INPUT.x}}`` is filled by Jinja at render time, as data —
    #: never substituted into the source beforehand, where an input like ``{{ 7*7 }}`` would become code
    template_parameters: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        self.name = name
        try:
            self.params = self.Params.model_validate(parameters)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                loc = ".".join(str(x) for x in err["loc"])
                if err["type"] == "extra_forbidden":
                    problems.append(f"unknown parameter {loc!r}")
                elif err["type"] == "missing":
                    problems.append(f"missing parameter {loc!r}")
                else:
                    problems.append(f"{loc}: {err['msg']}")
            raise WarehouseError(422, f"stage {name!r} ({self.stage_id}): " + "; ".join(problems),
                           {"stage_name": name, "stage_id": self.stage_id, "errors": problems}) from None
        self.metadata: dict[str, Any] = {}
        when = getattr(self.params, "when", None)  # stages with a `when` parameter touch only matching documents
        self.when = compile_filter(when, f"stage {name}.when") if when else None

    def selected(self, docs: list[dict[str, Any]]) -> list[int]:
        """Positions of the documents the stage's ``when`` filter selects (all without one)."""
        return [i for i, d in enumerate(docs) if self.when is None or self.when.matches(d)]

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    @classmethod
    def definition(cls) -> dict[str, Any]:
        return {"stage_id": cls.stage_id, "description": cls.description, "category": cls.category,
                "icon": cls.icon, "parameter_schema": cls.Params.model_json_schema()}


def register(cls: type[Stage]) -> type[Stage]:
    STAGES[cls.stage_id] = cls
    return cls
