"""EC2 instance types AWS Batch can launch, and whether a job fits one of them.

Pure data and arithmetic, shared by the simulator (placement) and the client-side capacity diagnosis. Figures are
AWS's published ones (vCPUs, memory in MiB, NVIDIA GPUs). The rules follow the AWS Batch user guide pages "Compute
resource memory management" and "Reserve system memory": a job is placed on *one* instance, and the memory that
instance offers is less than its nominal memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GIB = 1024


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]


# (size, vCPUs, GiB) per family; g5 also carries its GPU count.
_GENERAL = (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16), ("8xlarge", 32), ("12xlarge", 48),
            ("16xlarge", 64), ("24xlarge", 96))
# GiB per vCPU: c = 2, m = 4, r = 8.
_FAMILIES: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "m6i": (4, _GENERAL + (("32xlarge", 128),)),
    "c6i": (2, _GENERAL + (("32xlarge", 128),)),
    "r6i": (8, _GENERAL + (("32xlarge", 128),)),
    "c7i": (2, _GENERAL + (("48xlarge", 192),)),
}
# g5: (size, vCPUs, GiB, GPUs) — not a fixed GiB/vCPU ratio, and no .large.
_G5 = (("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1), ("8xlarge", 32, 128, 1),
       ("12xlarge", 48, 192, 4), ("16xlarge", 64, 256, 1), ("24xlarge", 96, 384, 4), ("48xlarge", 192, 768, 8))


def _build() -> dict[str, InstanceType]:
    table: dict[str, InstanceType] = {}
    for family, (gib_per_vcpu, sizes) in _FAMILIES.items():
        for size, vcpus in sizes:
            name = f"{family}.{size}"
            table[name] = InstanceType(name, vcpus, vcpus * gib_per_vcpu * GIB)
    for size, vcpus, gib, gpus in _G5:
        name = f"g5.{size}"
        table[name] = InstanceType(name, vcpus, gib * GIB, gpus)
    return table


TABLE: dict[str, InstanceType] = _build()
FAMILIES: frozenset[str] = frozenset(t.family for t in TABLE.values())
# What `optimal` and `default_x86_64` stand for in a compute environment's instanceTypes.
DEFAULT_FAMILIES: tuple[str, ...] = ("m6i", "c6i", "r6i", "c7i")
ALIASES: frozenset[str] = frozenset({"optimal", "default_x86_64"})

# The kernel and the ECS agent keep part of the installed memory: an 8 GiB m4.large registers about 7,985 MiB
# (≈2.53 % less), and the Batch AMI reserves 32 MiB more for the agent.
PLATFORM_OVERHEAD_FRACTION = 0.0253
AMI_RESERVED_MIB = 32


def lookup(name: str) -> InstanceType | None:
    return TABLE.get(name)


def is_known(name: str) -> bool:
    """A size in the table, a family in the table, or one of the aliases."""
    return name in TABLE or name in FAMILIES or name in ALIASES


def expand(instance_types: Sequence[str]) -> tuple[InstanceType, ...]:
    """Every table entry a compute environment's instanceTypes allows, smallest first, no duplicates.

    Names the table does not know are skipped (the simulator refuses them earlier, with a ClientException)."""
    families: set[str] = set()
    sizes: set[str] = set()
    for name in instance_types:
        if name in ALIASES:
            families.update(DEFAULT_FAMILIES)
        elif name in FAMILIES:
            families.add(name)
        elif name in TABLE:
            sizes.add(name)
    chosen = [t for t in TABLE.values() if t.family in families or t.name in sizes]
    return tuple(sorted(chosen, key=lambda t: (t.vcpus, t.memory_mib, t.gpus, t.name)))


def registered_memory_mib(t: InstanceType) -> int:
    """What the instance registers with ECS: nominal memory less the platform overhead."""
    return t.memory_mib - int(t.memory_mib * PLATFORM_OVERHEAD_FRACTION)


def usable_memory_mib(t: InstanceType) -> int:
    """What a job may ask for on this instance: registered memory less the Batch AMI's reserve."""
    return registered_memory_mib(t) - AMI_RESERVED_MIB


def fits(t: InstanceType, vcpus: float, memory_mib: int, gpus: int = 0) -> bool:
    """Whether one instance of type t holds a job asking this much."""
    return vcpus <= t.vcpus and memory_mib <= usable_memory_mib(t) and gpus <= t.gpus


def smallest_fit(types: Sequence[InstanceType], vcpus: float, memory_mib: int,
                 gpus: int = 0) -> InstanceType | None:
    """The first of types (callers pass them smallest first) that holds the job, as BEST_FIT would choose."""
    for t in types:
        if fits(t, vcpus, memory_mib, gpus):
            return t
    return None


# Fargate task sizes: vCPU → the memory values (MiB) allowed with it (Fargate's documented combinations).
def _mib_range(start_gib: int, stop_gib: int, step_gib: int) -> tuple[int, ...]:
    return tuple(g * GIB for g in range(start_gib, stop_gib + 1, step_gib))


FARGATE_COMBINATIONS: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: _mib_range(1, 4, 1),
    1.0: _mib_range(2, 8, 1),
    2.0: _mib_range(4, 16, 1),
    4.0: _mib_range(8, 30, 1),
    8.0: _mib_range(16, 60, 4),
    16.0: _mib_range(32, 120, 8),
}


def fargate_valid(vcpus: float, memory_mib: int) -> bool:
    """Whether (vCPU, memory) is one of the sizes Fargate runs."""
    return memory_mib in FARGATE_COMBINATIONS.get(float(vcpus), ())


def fargate_max_vcpus() -> float:
    return max(FARGATE_COMBINATIONS)
