"""The shared instance-type table: real figures, expansion of instanceTypes, memory AWS keeps back, fit."""

from batchtui import instance_types as it


def test_real_figures_for_sizes_in_each_family():
    assert it.lookup("m6i.large") == it.InstanceType("m6i.large", 2, 8192, 0)
    assert it.lookup("c6i.8xlarge") == it.InstanceType("c6i.8xlarge", 32, 65536, 0)
    assert it.lookup("r6i.32xlarge") == it.InstanceType("r6i.32xlarge", 128, 1048576, 0)
    assert it.lookup("c7i.48xlarge") == it.InstanceType("c7i.48xlarge", 192, 393216, 0)
    assert it.lookup("g5.12xlarge") == it.InstanceType("g5.12xlarge", 48, 196608, 4)
    assert it.lookup("c7i.32xlarge") is None
    assert it.lookup("nope.large") is None


def test_expand_families_sizes_and_aliases():
    c6i = it.expand(["c6i"])
    assert [t.name for t in c6i][:2] == ["c6i.large", "c6i.xlarge"]
    assert c6i[-1].name == "c6i.32xlarge" and len(c6i) == 9
    assert [t.name for t in it.expand(["c6i.8xlarge", "m6i.large"])] == ["m6i.large", "c6i.8xlarge"]
    optimal = it.expand(["optimal"])
    assert {t.family for t in optimal} == {"m6i", "c6i", "r6i", "c7i"}
    assert optimal == it.expand(["default_x86_64"]) == it.expand(["optimal", "c6i", "m6i.large"])
    assert it.expand(["unknown"]) == ()
    assert it.is_known("g5") and it.is_known("optimal") and not it.is_known("x9.large")


def test_memory_an_8_gib_instance_offers():
    m6i_large = it.lookup("m6i.large")
    assert 7980 <= it.registered_memory_mib(m6i_large) <= 7990
    assert it.usable_memory_mib(m6i_large) == it.registered_memory_mib(m6i_large) - 32
    assert not it.fits(m6i_large, 2, 8192)
    assert it.fits(m6i_large, 2, 7900)
    assert not it.fits(m6i_large, 3, 1024)


def test_gpu_jobs_need_gpu_instances():
    assert not it.fits(it.lookup("m6i.32xlarge"), 4, 1024, gpus=1)
    assert it.fits(it.lookup("g5.xlarge"), 4, 1024, gpus=1)
    assert not it.fits(it.lookup("g5.xlarge"), 4, 1024, gpus=2)
    assert it.smallest_fit(it.expand(["g5"]), 4, 1024, gpus=2).name == "g5.12xlarge"


def test_smallest_fit_is_one_instance_not_the_family_total():
    c6i = it.expand(["c6i"])
    assert it.smallest_fit(c6i, 200, 1024) is None
    assert it.smallest_fit(c6i, 32, 16384).name == "c6i.8xlarge"
    assert it.smallest_fit(c6i, 32, 65536).name == "c6i.12xlarge"  # 64 GiB nominal does not hold 64 GiB


def test_fargate_combinations():
    assert it.fargate_valid(0.25, 512)
    assert it.fargate_valid(1, 2048)
    assert not it.fargate_valid(1, 1024)
    assert it.fargate_valid(8, 20480) and not it.fargate_valid(8, 18432)
    assert it.fargate_valid(16, 122880) and not it.fargate_valid(32, 65536)
    assert it.fargate_max_vcpus() == 16
