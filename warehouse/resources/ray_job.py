"""The driver of a batch submitted as a Ray job (the ``ray_job`` executor): ``python -m warehouse.resources.ray_job
CONFIG BATCH_ID COLLECTION_ID DAGSTER_RUN_ID``, run by the cluster's job server.

It processes the partition as :class:`InProcessWarehouse` does in a run worker — joining the cluster the job runs
on, writing through the configured index store — and speaks Dagster Pipes on its stdout: its progress and log
lines become the run's log, its result a custom message the asset turns into the materialization. ``CONFIG`` is
the resource's own settings (home, index owner, object store: nothing secret); the rest (catalog URL, tokens, S3
keys) comes from the cluster's environment, as the deployment gives every Ray pod the warehouse's settings. Ray
stops a job with SIGTERM: the part then stops at the next block and is recorded CANCELED.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from dagster_pipes import open_dagster_pipes

from warehouse.resources.warehouse import InProcessWarehouse, throttled_progress


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m warehouse.resources.ray_job CONFIG_JSON BATCH_ID COLLECTION_ID DAGSTER_RUN_ID",
              file=sys.stderr)
        return 2
    config, batch_id, collection_id, run_id = json.loads(argv[0]), argv[1], argv[2], argv[3] or None
    if os.environ.get("RAY_ADDRESS"):  # the cluster this job runs on, whatever the environment's settings say
        os.environ["WAREHOUSE_RAY_ADDRESS"] = os.environ["RAY_ADDRESS"]
    with open_dagster_pipes() as pipes:
        cancelled = threading.Event()

        def stop(signum, frame) -> None:
            pipes.log.warning("the Ray job was asked to stop: stopping the batch at the next block")
            cancelled.set()

        signal.signal(signal.SIGTERM, stop)
        pipes.log.info(f"processing batch {batch_id} into collection {collection_id} on the Ray cluster at "
                       f"{os.environ.get('WAREHOUSE_RAY_ADDRESS', 'a local Ray')}")
        result = InProcessWarehouse(**config).run_partition(
            batch_id, collection_id, run_id, throttled_progress(pipes.log.info), pipes.log.info, cancelled=cancelled)
        pipes.report_custom_message({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
