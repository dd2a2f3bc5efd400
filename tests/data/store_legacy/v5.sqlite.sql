-- A results store at version 5 on sqlite, as syncverify created it before Alembic:
-- the DDL its migrate() sent to a fresh database, recorded from the code of commit 075ae01 (hand-written migrations 1-5, the last before Alembic),
-- and the rows of its version table. Statements are separated by a blank line.

CREATE TABLE sv_schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	description VARCHAR(200) NOT NULL, 
	PRIMARY KEY (version)
);

CREATE TABLE sv_runs (
	id VARCHAR(40) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	month VARCHAR(7), 
	window_start DATETIME, 
	window_end DATETIME, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(20) NOT NULL, 
	params JSON NOT NULL, 
	summary JSON NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_sv_runs_month ON sv_runs (month);

CREATE INDEX ix_sv_runs_kind ON sv_runs (kind);

CREATE TABLE sv_tickets (
	id INTEGER NOT NULL, 
	open_key VARCHAR(250), 
	dedup_key VARCHAR(250) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	link_id VARCHAR(60), 
	table_name VARCHAR(128) NOT NULL, 
	check_id VARCHAR(200) NOT NULL, 
	source_node VARCHAR(60), 
	target_node VARCHAR(60), 
	title VARCHAR(400) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	detected_at DATETIME NOT NULL, 
	occurred_at DATETIME, 
	repair_due_at DATETIME NOT NULL, 
	correct_due_at DATETIME NOT NULL, 
	acknowledged_at DATETIME, 
	repair_started_at DATETIME, 
	repaired_at DATETIME, 
	verified_at DATETIME, 
	closed_at DATETIME, 
	reopen_count INTEGER NOT NULL, 
	last_run_id VARCHAR(40), 
	last_seen_at DATETIME, 
	evidence JSON NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (open_key)
);

CREATE INDEX ix_sv_tickets_status ON sv_tickets (status);

CREATE INDEX ix_sv_tickets_dedup_key ON sv_tickets (dedup_key);

CREATE TABLE sv_synclog_analyses (
	id INTEGER NOT NULL, 
	run_id VARCHAR(40), 
	month VARCHAR(7) NOT NULL, 
	created_at DATETIME NOT NULL, 
	payload JSON NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_sv_synclog_analyses_run_id ON sv_synclog_analyses (run_id);

CREATE INDEX ix_sv_synclog_analyses_month ON sv_synclog_analyses (month);

CREATE TABLE sv_check_results (
	id INTEGER NOT NULL, 
	run_id VARCHAR(40) NOT NULL, 
	check_id VARCHAR(200) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	link_id VARCHAR(60), 
	table_name VARCHAR(128) NOT NULL, 
	source_node VARCHAR(60), 
	target_node VARCHAR(60), 
	window_start DATETIME, 
	window_end DATETIME, 
	outcome VARCHAR(20) NOT NULL, 
	source_rows BIGINT, 
	target_rows BIGINT, 
	missing_count BIGINT NOT NULL, 
	extra_count BIGINT NOT NULL, 
	changed_count BIGINT NOT NULL, 
	duplicate_count BIGINT NOT NULL, 
	in_flight_count BIGINT NOT NULL, 
	payload JSON NOT NULL, 
	error TEXT, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_sv_result_run_check UNIQUE (run_id, check_id), 
	FOREIGN KEY(run_id) REFERENCES sv_runs (id)
);

CREATE INDEX ix_sv_check_results_outcome ON sv_check_results (outcome);

CREATE INDEX ix_sv_check_results_run_id ON sv_check_results (run_id);

CREATE INDEX ix_sv_check_results_kind ON sv_check_results (kind);

CREATE INDEX ix_sv_check_results_link_id ON sv_check_results (link_id);

CREATE TABLE sv_ticket_events (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	event VARCHAR(40) NOT NULL, 
	detail JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(ticket_id) REFERENCES sv_tickets (id)
);

CREATE INDEX ix_sv_ticket_events_ticket_id ON sv_ticket_events (ticket_id);

CREATE TABLE sv_deliveries (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	sink VARCHAR(60) NOT NULL, 
	idempotency_key VARCHAR(120) NOT NULL, 
	payload JSON NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	attempts INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	delivered_at DATETIME, 
	last_error TEXT, 
	claim_token VARCHAR(40), 
	claimed_until DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_sv_delivery_sink_key UNIQUE (sink, idempotency_key), 
	FOREIGN KEY(ticket_id) REFERENCES sv_tickets (id)
);

CREATE INDEX ix_sv_deliveries_status ON sv_deliveries (status);

CREATE INDEX ix_sv_deliveries_ticket_id ON sv_deliveries (ticket_id);

CREATE TABLE sv_repair_scripts (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	dialect VARCHAR(20) NOT NULL, 
	target_node VARCHAR(60), 
	apply_sql TEXT NOT NULL, 
	rollback_sql TEXT NOT NULL, 
	precheck_sql TEXT NOT NULL, 
	generated_at DATETIME NOT NULL, 
	approved_by VARCHAR(100), 
	applied_at DATETIME, 
	applied_by VARCHAR(100), 
	outcome VARCHAR(40), 
	"plan" JSON, 
	plan_kind VARCHAR(20), 
	plan_hash VARCHAR(64), 
	approved_at DATETIME, 
	approval_note TEXT, 
	approved_hash VARCHAR(64), 
	lease_owner VARCHAR(100), 
	lease_until DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(ticket_id) REFERENCES sv_tickets (id)
);

CREATE INDEX ix_sv_repair_scripts_ticket_id ON sv_repair_scripts (ticket_id);

CREATE TABLE sv_ticket_escalations (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	level VARCHAR(40) NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_sv_escalation_ticket_level UNIQUE (ticket_id, level), 
	FOREIGN KEY(ticket_id) REFERENCES sv_tickets (id)
);

CREATE INDEX ix_sv_ticket_escalations_ticket_id ON sv_ticket_escalations (ticket_id);

CREATE TABLE sv_schema_snapshots (
	id INTEGER NOT NULL, 
	node VARCHAR(60) NOT NULL, 
	table_name VARCHAR(128) NOT NULL, 
	month VARCHAR(7), 
	captured_at DATETIME NOT NULL, 
	run_id VARCHAR(40), 
	columns JSON NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_sv_schema_snapshots_month ON sv_schema_snapshots (month);

CREATE INDEX ix_sv_schema_snapshot_node_table ON sv_schema_snapshots (node, table_name, captured_at);

CREATE TABLE sv_offset_snapshots (
	id INTEGER NOT NULL, 
	taken_at DATETIME NOT NULL, 
	run_id VARCHAR(40), 
	link_id VARCHAR(60), 
	group_id VARCHAR(200) NOT NULL, 
	topic VARCHAR(249) NOT NULL, 
	partition INTEGER NOT NULL, 
	end_offset BIGINT NOT NULL, 
	committed_offset BIGINT, 
	lag BIGINT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_sv_offset_snapshot_group ON sv_offset_snapshots (group_id, topic, partition, taken_at);

INSERT INTO sv_schema_version (version, applied_at, description) VALUES (1, '2026-11-01 08:00:00+00:00', 'runs, check results, tickets, events, deliveries, repair scripts, sync-log analyses');

INSERT INTO sv_schema_version (version, applied_at, description) VALUES (2, '2026-11-02 08:00:00+00:00', 'repair scripts: structured plan (pre-check, apply, rollback statements)');

INSERT INTO sv_schema_version (version, applied_at, description) VALUES (3, '2026-11-03 08:00:00+00:00', 'tickets: occurred_at; repair scripts: plan kind and hash, approval, apply lease; deliveries: sender claim; escalations raised once per ticket and level');

INSERT INTO sv_schema_version (version, applied_at, description) VALUES (4, '2026-11-04 08:00:00+00:00', 'schema snapshots: the normalised shape of each copy of a table, per month and change');

INSERT INTO sv_schema_version (version, applied_at, description) VALUES (5, '2026-11-05 08:00:00+00:00', 'offset snapshots: consumer groups'' end and committed offsets over time (consumer health)');
