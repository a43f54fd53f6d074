"""The one EC2 call the simulator answers: DescribeInstanceTypes (EC2's query protocol, XML), for the instance types
of the table batchtui ships (`batchtui.instance_types`), so a client can size instances the way it would on AWS.

    POST /  Action=DescribeInstanceTypes&Version=2016-11-15&InstanceType.1=c6i.large[&MaxResults=N&NextToken=T]
            [&Filter.1.Name=instance-type&Filter.1.Value.1=c6i.*]   (EC2's wildcards; a pattern nothing matches: none)
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Mapping
from xml.sax.saxutils import escape

from batchtui import instance_types as it

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
PAGE_MAX = 100


class Ec2Error(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def handle(form: Mapping[str, str]) -> str:
    """The XML answer to one query-protocol request; Ec2Error for what EC2 refuses."""
    action = form.get("Action")
    if action != "DescribeInstanceTypes":
        raise Ec2Error("InvalidAction", f"The action {action} is not valid for this web service.")
    names = [v for k, v in sorted(form.items(), key=lambda kv: _n(kv[0])) if k.startswith("InstanceType.")]
    unknown = [n for n in names if not it.is_known(n)]
    if unknown:
        raise Ec2Error("InvalidInstanceType", f"The following supplied instance types do not exist: [{unknown[0]}]")
    types = [it.lookup(n) for n in names] if names else list(it.TABLE.values())
    patterns = _instance_type_filter(form)
    if patterns is not None:  # EC2 ANDs a filter with the names; the values of one filter are ORed
        types = [t for t in types if t is not None and any(fnmatch.fnmatchcase(t.name, p) for p in patterns)]
    start = int(form.get("NextToken") or 0) if (form.get("NextToken") or "0").isdigit() else 0
    size = int(form.get("MaxResults") or PAGE_MAX)
    if not names and not 5 <= size <= PAGE_MAX:
        raise Ec2Error("InvalidParameterValue", f"MaxResults must be between 5 and {PAGE_MAX}")
    page = types[start:start + size] if not names else types
    items = "".join(_item(t) for t in page if t is not None)
    more = f"<nextToken>{start + size}</nextToken>" if not names and start + size < len(types) else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstanceTypesResponse xmlns="{NS}">'
            f"<requestId>{uuid.uuid4()}</requestId><instanceTypeSet>{items}</instanceTypeSet>{more}"
            "</DescribeInstanceTypesResponse>")


def error_xml(e: Ec2Error) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(e.code)}</Code>'
            f"<Message>{escape(e.message)}</Message></Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>")


def _item(t: it.InstanceType) -> str:
    gpus = (f"<gpuInfo><gpus><item><name>A10G</name><manufacturer>NVIDIA</manufacturer><count>{t.gpus}</count>"
            f"</item></gpus></gpuInfo>") if t.gpus else ""
    return (f"<item><instanceType>{t.name}</instanceType><vCpuInfo><defaultVCpus>{t.vcpus}</defaultVCpus>"
            f"</vCpuInfo><memoryInfo><sizeInMiB>{t.memory_mib}</sizeInMiB></memoryInfo>{gpus}</item>")


def _instance_type_filter(form: Mapping[str, str]) -> list[str] | None:
    """The values of the `instance-type` filter (Filter.N.Name / Filter.N.Value.M), None without one; other
    filters EC2 knows (vcpu-info…) are not modelled and refused rather than ignored."""
    found: list[str] | None = None
    for key, name in form.items():
        m = key.split(".")
        if len(m) != 3 or m[0] != "Filter" or m[2] != "Name":
            continue
        if name != "instance-type":
            raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is not supported by the simulator")
        prefix = f"Filter.{m[1]}.Value."
        found = (found or []) + [v for k, v in sorted(form.items(), key=lambda kv: _n(kv[0])) if k.startswith(prefix)]
    return found


def _n(key: str) -> int:
    tail = key.rpartition(".")[2]
    return int(tail) if tail.isdigit() else 0
