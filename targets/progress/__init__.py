"""The progress engine (SPEC §4, docs/engine.md): activity in, progress out.

- `ingest`: store a batch of activities once per (org, external id), update the customers, and
  refresh the progress the new activity touches (`activity_ingest`);
- `refresh`: the one place that writes progress (`progress_refresh`): choose the (customer,
  group) pairs, load, evaluate, sync;
- `scope`: what a run covers (the pairs, and the periods of each it evaluates);
- `catalog`: the compiled configuration, cached per process under the org's version token;
- `load`: configuration and stored state (enrolments, user targets, activity) as plain values;
- `cycles`: a customer's CYCLIC periods, created at the first matching activity;
- `evaluate`: the arithmetic, pure functions over plain values (`evaluate_group`);
- `sync`: desired rows against stored ones — insert, update, delete — for user targets,
  milestones, enrolments and streaks;
- `sql`: bulk INSERT (COPY on PostgreSQL) and UPDATE of plain tuples.

When a period is achieved and how streaks walk the periods are `targets.outcomes`, shared with
the read endpoint and the staff pages; which customers a group covers is
`targets.models.is_associated`."""
