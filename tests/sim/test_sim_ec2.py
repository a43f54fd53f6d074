"""The simulator answers EC2 DescribeInstanceTypes (query protocol, XML) for its instance-type table, as a stock
boto3 ec2 client sends and reads it: sizes, GPUs, pagination, and InvalidInstanceType for a type it does not know."""

from __future__ import annotations

import asyncio

import pytest

from batchtui import instance_types as it
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer

boto3 = pytest.importorskip("boto3")


async def test_describe_instance_types_through_boto3():
    async with SimServer(SimConfig(speed=0.0, pipeline="none")) as sim:
        def ask():
            ec2 = boto3.client("ec2", endpoint_url=sim.url, region_name="us-east-1", aws_access_key_id="x",
                               aws_secret_access_key="y")
            one = ec2.describe_instance_types(InstanceTypes=["c6i.large", "g5.xlarge"])["InstanceTypes"]
            pages = list(ec2.get_paginator("describe_instance_types").paginate(PaginationConfig={"PageSize": 20}))
            with pytest.raises(ec2.exceptions.ClientError) as e:
                ec2.describe_instance_types(InstanceTypes=["z9.huge"])
            return one, pages, e.value.response["Error"]["Code"]

        one, pages, code = await asyncio.to_thread(ask)
    assert [(t["InstanceType"], t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"]) for t in one] == [
        ("c6i.large", 2, 4096), ("g5.xlarge", 4, 16384)]
    assert one[1]["GpuInfo"]["Gpus"][0]["Count"] == 1 and "GpuInfo" not in one[0]
    assert len(pages) > 1 and sum(len(p["InstanceTypes"]) for p in pages) == len(it.TABLE)
    assert code == "InvalidInstanceType"


async def test_the_instance_type_filter_matches_ec2_wildcards_and_an_unknown_family_matches_nothing():
    async with SimServer(SimConfig(speed=0.0, pipeline="none")) as sim:
        def ask(values):
            ec2 = boto3.client("ec2", endpoint_url=sim.url, region_name="us-east-1", aws_access_key_id="x",
                               aws_secret_access_key="y")
            pages = ec2.get_paginator("describe_instance_types").paginate(
                Filters=[{"Name": "instance-type", "Values": values}])
            return sorted(t["InstanceType"] for p in pages for t in p["InstanceTypes"])

        g5 = await asyncio.to_thread(ask, ["g5.*", "c6i.large"])
        none = await asyncio.to_thread(ask, ["m7g.*"])
    assert g5 == sorted([n for n in it.TABLE if n.startswith("g5.")] + ["c6i.large"])
    assert none == []
