"""The seam between the readable formulas and their fast versions.

A fast version of a class of `handgrad.nn` or `handgrad.optim` is a subclass that keeps
its state and its parameters and changes only how the numbers are computed (fused, in
place, written first instead of added to zeros, compiled), with a test under tests/fast/
proving it equal to the plain formula. An `Engine` names a set of them::

    engine = ENGINES["numpy"]
    engine.prepare(model, optimizer, loss_fn)   # in place: every part with a fast version

``prepare`` switches each object, and every submodule of a model, whose class has a fast
version in the engine, to that version (`FastVersion.adopt`); everything else is left as
it is, so a model mixing known and unknown layers still trains. Checks run on the
prepared objects unchanged (`handgrad.gradcheck.check_module` on a prepared model checks
the fast path). ``plain`` switches them back.

Engines: "plain" (the readable formulas only, the reference) and "numpy" (the NumPy fast
path the training loops use, `handgrad.fast.DEFAULT_ENGINE`). A compiled engine is
another `Engine` whose mapping points at its own subclasses, falling back to NumPy's for
the rest, and `register` makes it selectable by name::

    register(Engine("fused", {**NUMPY.versions, SGD: FusedSGD, Adam: FusedAdam}, "…"))

where ``FusedSGD`` subclasses `handgrad.fast.updates.FastSGD` (so it keeps ``grad_scale``
and the scratch buffers ``adopt`` makes) and has a test proving it equal to `SGD`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from handgrad.errors import HandgradError
from handgrad.nn.module import Module


class FastVersion:
    """Mixin of a fast subclass: `adopt` turns an instance of the plain class into one of
    this class, in place (same attributes, so same parameters, buffers and state)."""

    @classmethod
    def adopt(cls, obj: object) -> None:
        obj.__class__ = cls


class Engine:
    """A named mapping plain class → fast subclass (exact types: a subclass of a plain
    class, e.g. a test's deliberately wrong layer, is not switched)."""

    def __init__(self, name: str, versions: Mapping[type, type[FastVersion]], summary: str):
        self.name = name
        self.versions = dict(versions)
        self.plain_of = {fast: plain for plain, fast in self.versions.items()}
        self.summary = summary

    def prepare(self, *objects: object) -> None:
        """Switch every part of ``objects`` with a fast version in this engine to it."""
        for part in _parts(objects):
            fast = self.versions.get(type(part))
            if fast is not None:
                fast.adopt(part)

    def plain(self, *objects: object) -> None:
        """Switch every part of ``objects`` that this engine prepared back to its plain class."""
        for part in _parts(objects):
            plain = self.plain_of.get(type(part))
            if plain is not None:
                part.__class__ = plain

    def step_for(self, model: Module) -> object | None:
        """A whole training step of ``model`` fused by this engine, or None (then the
        loop calls the model's and loss's own methods): `handgrad.fast.fused.FusedEngine`."""
        return None

    def __repr__(self) -> str:
        return f"Engine({self.name!r})"


def _parts(objects: tuple[object, ...]) -> Iterator[object]:
    for obj in objects:
        yield from obj.modules() if isinstance(obj, Module) else (obj,)


ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make ``engine`` selectable by name."""
    ENGINES[engine.name] = engine
    return engine


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a `HandgradError` naming the choices otherwise."""
    if name not in ENGINES:
        raise HandgradError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return ENGINES[name]
