# The syncverify image for docker-compose.yml: Airflow 3.3 with the project installed.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root pyproject.toml README.md /opt/syncverify/
COPY --chown=airflow:root src /opt/syncverify/src
RUN pip install --no-cache-dir "/opt/syncverify[dev]" "apache-airflow==3.3.2" "apache-airflow-providers-celery"
ENV SYNCVERIFY_PROJECT=/opt/syncverify
