"""What the DAG files call: the task bodies, their Airflow states, a notifier and a link.

The job functions (:mod:`syncverify.runner.jobs`) know nothing of Airflow: they record results
and return summaries. This package turns those summaries into task states an operator can act
on — a check that could not run fails its task (so retries and alerting fire), work outside the
selection is skipped, anomalies are recorded and the run's last task fails the DAG run — and
adds what the UI shows around them. Only the DAGs import it: it imports Airflow.
"""
