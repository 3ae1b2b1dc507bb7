"""Background jobs on PostgreSQL (pgqueuer): the worker, its tasks and the periodic schedule.

Above the domain like the webhook route: tasks call the same domain functions as requests do.
Jobs are enqueued through core.queue inside the transaction of the change they follow.
"""
