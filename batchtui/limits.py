"""AWS Batch's own limits, defined once: the client facade, the poller, scope and the planner keep to them, and the
simulator enforces the same ones."""

from __future__ import annotations

DESCRIBE_CHUNK = 100  # DescribeJobs takes at most 100 ids
BULK_CHUNK = 50  # CancelJobs / TerminateJobs take at most 50 ids
CHILD_PAGE = 1000  # ListJobs maxResults with jobStatus (an array's children)
FILTER_PAGE = 100  # ListJobs maxResults with filters (a queue's jobs)
MIN_ARRAY_SIZE, MAX_ARRAY_SIZE = 2, 10_000  # an array job's size
MAX_DEPENDS_ON = 20  # dependsOn entries of one job
