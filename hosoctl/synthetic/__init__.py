"""Seeded synthetic dossier traffic with realistic Vietnamese data, for demos, tests and benchmarks."""

from hosoctl.synthetic.generator import GeneratorOptions, events, lifecycles

__all__ = ["GeneratorOptions", "events", "lifecycles"]
