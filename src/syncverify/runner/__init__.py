"""A verification run: plan the link checks, run them under the per-node caps, spool and store
every result, resume, trace flows; the job functions the DAGs call (:mod:`.jobs`) and the one
pipeline of steps (:mod:`.pipeline`)."""
