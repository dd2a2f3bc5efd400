"""``syncverify tickets list|show|ack|start|resolve|script|approve|apply|watch|deliver``.

Every subcommand prints for people by default and one JSON document with ``--json``; evidence
is masked (taxpayer ids) in both. Repair scripts are never printed: ``script`` writes them to
files (owner-readable only) and stores them on the ticket; ``approve`` records the approval of
the plan (by hash); ``apply`` runs an approved plan on a writable target connection that only it
resolves.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncverify.errors import ConnectionConfigError
from syncverify.exitcodes import ExitCode

if TYPE_CHECKING:       # SQLAlchemy loads when a command runs, not when the parser is built
    import sqlalchemy as sa


def _store(args: argparse.Namespace, *, create: bool = False) -> Any:
    """The results store. Ticket commands work on tickets that a run opened, so a store that
    does not exist is an error naming it (nothing created); only ``watch`` and ``deliver``, the
    periodic jobs, may start from an empty store."""
    from syncverify.store import Store, default_url

    return Store(args.store or default_url(), create=create)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _who(args: argparse.Namespace) -> str:
    if getattr(args, "by", None):
        return str(args.by)
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def _engine(url: str | None, node_id: str | None, profile: str | None, *, read_only: bool,
            what: str) -> sa.Engine:
    """An engine from an explicit URL, else from the node's connection (read-only unless asked)."""
    import sqlalchemy as sa

    if url:
        try:
            from syncverify.connect.engine import make_engine
        except ImportError:
            return sa.create_engine(url)
        return make_engine(url, read_only=read_only, name=what)
    if not node_id:
        raise ConnectionConfigError(f"the ticket names no {what} node: pass --{what}-url")
    from syncverify.connect.resolve import engine_for_node

    try:
        return engine_for_node(node_id, profile=profile, read_only=read_only)
    except ImportError as exc:
        raise ConnectionConfigError(f"cannot resolve node {node_id!r} ({exc}): pass --{what}-url") from None


# ---- list / show -----------------------------------------------------------------------------------

def _short_time(value: str | None) -> str:
    """A stored time (ISO-8601, UTC) as people read it: Beijing time with its offset shown
    (``--json`` keeps the ISO text with its offset). Unlabelled UTC was eight hours off."""
    from syncverify.timefmt import local_time

    return local_time(value)


def _list(args: argparse.Namespace) -> int:
    from syncverify.tickets.lifecycle import list_tickets
    from syncverify.tickets.views import ticket_view

    tickets = [ticket_view(t) for t in list_tickets(_store(args), status=args.status,
                                                     open_only=not args.all and args.status is None,
                                                     link_id=args.link)]
    if args.json:
        _print_json(tickets)
        return ExitCode.OK
    if not tickets:
        print("no tickets")
        return ExitCode.OK
    print(f"{'ID':>5}  {'STATUS':12} {'DETECTED':23}  {'REPAIR BY':23}  {'CORRECT BY':23}  TITLE")
    for t in tickets:
        print(f"{t['id']:>5}  {t['status']:12} {_short_time(t['detected_at']):23}  "
              f"{_short_time(t['repair_due_at']):23}  {_short_time(t['correct_due_at']):23}  {t['title']}")
    return ExitCode.OK


def _show(args: argparse.Namespace) -> int:
    from syncverify.tickets.lifecycle import get_ticket
    from syncverify.tickets.views import ticket_view

    ticket, events = get_ticket(_store(args), args.id)
    view = ticket_view(ticket, events=events)
    if args.json:
        _print_json(view)
        return ExitCode.OK
    print(f"ticket {view['id']}: {view['title']}")
    for label, key in (("status", "status"), ("kind", "kind"), ("link", "link_id"), ("table", "table"),
                       ("check", "check_id"), ("source", "source_node"), ("target", "target_node"),
                       ("occurred", "occurred_at"), ("detected", "detected_at"),
                       ("repair start due", "repair_due_at"),
                       ("correction due", "correct_due_at"), ("acknowledged", "acknowledged_at"),
                       ("repair started", "repair_started_at"), ("repaired", "repaired_at"),
                       ("verified", "verified_at"), ("reopened", "reopen_count")):
        if view.get(key) not in (None, 0, ""):
            print(f"  {label:17} {_short_time(view[key]) if key.endswith('_at') else view[key]}")
    print(f"  {'SLA':17} repair start {view['sla']['repair_start']}, correction {view['sla']['correction']}")
    for check_id, check in (view["evidence"].get("checks") or {}).items():
        # A totals check's keys are days and a count's windows, not rows: say so.
        unit = check.get("key_unit") or "rows"
        counts = ", ".join(f"{k} {check.get(k + '_count')} {unit if k != 'duplicate' else 'keys'}"
                           for k in ("missing", "extra", "changed", "duplicate") if check.get(k + "_count"))
        print(f"  evidence {check_id}: rows {check.get('source_rows')} (source) / {check.get('target_rows')} "
              f"(target)" + (f"; {counts}" if counts else ""))
        for name, keys in (check.get("sample_keys") or {}).items():
            shown = ", ".join(json.dumps(k, ensure_ascii=False) for k in keys[:10])
            print(f"    {name} {'keys' if unit == 'rows' else unit} (sample): {shown}")
    cause = view["evidence"].get("root_cause") or {}
    if cause.get("text"):
        print(f"  {'root cause':17} {cause['text']}")
        for e in cause.get("log_events") or []:
            print(f"    log event ({e.get('explains')}): {e.get('title')} "
                  f"[{_short_time(e.get('start'))} – {_short_time(e.get('end'))}]")
    for section, label in (("traces", "trace"), ("echoes", "echo")):
        for check_id, item in (view["evidence"].get(section) or {}).items():
            print(f"  {label} {check_id}: {item.get('because')}")
    print("  events:")
    for e in view["events"]:
        detail = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
        print(f"    {_short_time(e['at'])}  {e['event']:24} {e['actor']:20} {detail[:160]}")
    return ExitCode.OK


# ---- operator actions -----------------------------------------------------------------------------

def _action(fn_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from syncverify.tickets import lifecycle
        from syncverify.tickets.views import ticket_view

        fn = getattr(lifecycle, fn_name)
        ticket = fn(_store(args), args.id, actor=_who(args), note=args.note)
        view = ticket_view(ticket)
        if args.json:
            _print_json(view)
        else:
            print(f"ticket {view['id']} is now {view['status']}")
        return ExitCode.OK
    return run


# ---- repair scripts --------------------------------------------------------------------------------

def _script(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog
    from syncverify.store import home
    from syncverify.tickets.lifecycle import get_ticket
    from syncverify.tickets.repair import generate_repair_script, write_script_files

    store = _store(args)
    catalog = load_catalog(args.catalog)
    ticket, _ = get_ticket(store, args.id)
    source = _engine(args.source_url, ticket.source_node, args.profile, read_only=True, what="source")
    target_node = catalog.nodes.get(ticket.target_node or "")
    target = None
    if target_node is None or not target_node.is_kafka:       # a Kafka target gets a re-publish plan
        target = _engine(args.target_url, ticket.target_node, args.profile, read_only=True, what="target")
    script = generate_repair_script(store, args.id, source_engine=source, target_engine=target,
                                    catalog=catalog, actor=_who(args))
    paths = write_script_files(script, Path(args.out) if args.out else home() / "repair-scripts")
    plan = script.plan or {}
    out: dict[str, Any] = {"ticket_id": args.id, "script_id": script.id, "kind": script.plan_kind,
                           "dialect": script.dialect, "plan_hash": script.plan_hash,
                           "files": [str(p) for p in paths]}
    if script.plan_kind == "republish":
        out.update(topic=plan.get("topic"), messages=len(plan.get("messages") or []),
                   consumer_groups=[g["group"] for g in plan.get("consumer_groups") or []], notes=plan.get("notes"))
    else:
        out.update({k: plan.get(k) for k in ("inserts", "updates", "deletes", "duplicate_copies_deleted",
                                             "skipped", "notes")})
    if args.json:
        _print_json(out)
    else:
        if script.plan_kind == "republish":
            print(f"re-publish plan {script.id} for ticket {args.id}: {out['messages']} message(s) to topic "
                  f"{out['topic']}; consumer groups: {', '.join(out['consumer_groups']) or 'none in the catalog'}")
        else:
            print(f"repair script {script.id} for ticket {args.id} ({script.dialect}): "
                  f"{out['inserts']} insert(s), {out['updates']} update(s), {out['deletes']} delete(s), "
                  f"{out['duplicate_copies_deleted']} duplicate copy(ies) removed, "
                  f"{out['skipped']} already consistent")
        for note in out["notes"] or []:
            print(f"  note: {note}")
        for p in paths:
            print(f"  {p}")
        print(f"review, then: syncverify tickets approve {args.id} --script {script.id} --by NAME --note TEXT")
    return ExitCode.OK


def _approve(args: argparse.Namespace) -> int:
    from syncverify.tickets.repair import approve_repair_script

    script = approve_repair_script(_store(args), args.id, by=args.by, note=args.note, script_id=args.script)
    out = {"ticket_id": args.id, "script_id": script.id, "approved_by": script.approved_by,
           "approved_at": script.approved_at.isoformat() if script.approved_at else None,
           "plan_hash": script.approved_hash}
    if args.json:
        _print_json(out)
    else:
        print(f"repair script {script.id} of ticket {args.id} approved by {script.approved_by} "
              f"(plan {str(script.approved_hash)[:12]}); apply with: syncverify tickets apply {args.id} "
              f"--script {script.id} --by NAME")
    return ExitCode.OK


def _kafka_target(url: str | None, node_id: str | None, profile: str | None) -> tuple[str, dict[str, str]]:
    """Bootstrap servers and client settings of a Kafka target: kafka://HOST:PORT or the node's."""
    if url:
        if not url.startswith("kafka://"):
            raise ConnectionConfigError("a re-publish plan needs a Kafka target: --target-url kafka://HOST:PORT")
        return url.removeprefix("kafka://"), {}
    if not node_id:
        raise ConnectionConfigError("the ticket names no target node: pass --target-url kafka://HOST:PORT")
    from syncverify.connect.resolve import resolve_node

    conn = resolve_node(node_id, profile=profile)
    if not conn.bootstrap:
        raise ConnectionConfigError(f"node {node_id!r} is not a Kafka cluster: pass --target-url kafka://HOST:PORT")
    return conn.bootstrap, dict(conn.kafka_config)


def _apply(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog
    from syncverify.tickets.lifecycle import get_ticket
    from syncverify.tickets.repair import apply_repair_script, latest_script
    from syncverify.tickets.reverify import reverify_pair

    store = _store(args)
    ticket, _ = get_ticket(store, args.id)
    script = latest_script(store, args.id, args.script)
    kwargs: dict[str, Any] = {}
    if script.plan_kind == "republish":
        kwargs["kafka_bootstrap"], kwargs["kafka_config"] = _kafka_target(args.target_url, ticket.target_node,
                                                                          args.profile)
    else:
        # The one writable connection of syncverify: resolved here, for this command only.
        target = _engine(args.target_url, ticket.target_node, args.profile, read_only=False, what="target")
        kwargs["target_engine"] = target
        if not args.rollback and not args.no_reverify:
            catalog = load_catalog(args.catalog)
            source = _engine(args.source_url, ticket.source_node, args.profile, read_only=True, what="source")
            kwargs["reverify"] = lambda t: reverify_pair(t, catalog, source, target)
    outcome = apply_repair_script(store, args.id, by=args.by, script_id=script.id, rollback=args.rollback,
                                  **kwargs)
    if args.json:
        _print_json(outcome.to_dict())
    else:
        print(f"{outcome.action} of repair script {outcome.script_id} (ticket {outcome.ticket_id}) by "
              f"{outcome.by}, approved by {outcome.approved_by}: {outcome.outcome}"
              + (" (found after an interrupted run)" if outcome.detail.get("recovered") else "")
              + f"; ticket is {outcome.ticket_status}")
        for key in ("error", "reverify_error"):
            if outcome.detail.get(key):
                print(f"  {key.replace('_', ' ')}: {outcome.detail[key]}", file=sys.stderr)
        if outcome.detail.get("lease_lost"):
            print("  the lease ran out and another process took the script over: its outcome stands",
                  file=sys.stderr)
    if outcome.outcome == "failed" or outcome.detail.get("lease_lost"):
        return ExitCode.ERROR
    if not outcome.ok or outcome.detail.get("reverified") is False:
        return ExitCode.DIFFERENCES
    return ExitCode.OK


# ---- SLA watch and outbox --------------------------------------------------------------------------

def _watch(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog
    from syncverify.tickets.reverify import reverifier
    from syncverify.tickets.sinks import configured_sinks
    from syncverify.tickets.sla import sla_watch

    store = _store(args, create=True)
    reverify = None
    if not args.no_reverify:
        from syncverify.connect.resolve import engine_for_node

        catalog = load_catalog(args.catalog)
        reverify = reverifier(catalog, lambda node: engine_for_node(node, profile=args.profile))
    report = sla_watch(store, reverify=reverify, sinks=configured_sinks())
    data = report.to_dict()
    if args.json:
        _print_json(data)
    else:
        print(f"escalations {len(report.escalations)}, verified {len(report.verified)}, "
              f"reopened {len(report.reopened)}, undecided {len(report.undecided)}, "
              f"decided by another watch {len(report.decided_elsewhere)}, errors {len(report.errors)}")
        for e in report.escalations:
            print(f"  ticket {e['ticket_id']}: {e['event']} (deadline {_short_time(e['deadline'])})")
        for e in report.errors:
            print(f"  ticket {e['ticket_id']}: {e['error']}", file=sys.stderr)
        if report.deliveries:
            d = report.deliveries
            print(f"deliveries: {len(d.delivered)} delivered, {len(d.failed)} failed, "
                  f"{len(d.skipped)} skipped")
    return ExitCode.ERROR if report.errors else ExitCode.OK


def _deliver(args: argparse.Namespace) -> int:
    from syncverify.tickets.outbox import deliver_pending
    from syncverify.tickets.sinks import configured_sinks

    report = deliver_pending(_store(args, create=True), configured_sinks())
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"{len(report.delivered)} delivered, {len(report.failed)} failed (kept pending), "
              f"{len(report.skipped)} for sinks not configured here")
        for d in report.delivered:
            print(f"  ticket {d['ticket_id']} -> {d['sink']}: {d['attempts']} attempt(s), "
                  f"delay {d['delay_s']:.0f} s")
        for d in report.failed:
            print(f"  ticket {d['ticket_id']} -> {d['sink']}: {d['error']}", file=sys.stderr)
    return ExitCode.DIFFERENCES if report.failed else ExitCode.OK


def register(subparsers: Any) -> None:
    """Add ``syncverify tickets ...`` to the top-level parser."""
    p = subparsers.add_parser(
        "tickets", help="repair tickets: list, show, acknowledge, resolve, repair scripts",
        description="Repair tickets opened by the verifier, with the 8 h repair-start and 24 h correction "
                    "deadlines. Repair scripts are generated for review, approved (tickets approve) and only then applied.")
    sub = p.add_subparsers(dest="tickets_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--store", default=None, help="results store URL (default: the embedded store)")
        q.add_argument("--json", action="store_true", help="one JSON document on stdout")

    q = sub.add_parser("list", help="list tickets (open ones by default)")
    common(q)
    q.add_argument("--status", help="only tickets in this status")
    q.add_argument("--all", action="store_true", help="closed tickets too")
    q.add_argument("--link", help="only tickets of this link")
    q.set_defaults(func=_list)

    q = sub.add_parser("show", help="one ticket with its evidence (masked) and events")
    common(q)
    q.add_argument("id", type=int)
    q.set_defaults(func=_show)

    for name, fn, text in (("ack", "acknowledge",
                            "acknowledge a ticket (the repair-start clock keeps running)"),
                           ("start", "start_repair", "repair has started (stops the 8 h clock)"),
                           ("resolve", "mark_repaired",
                            "the data is corrected (stops the 24 h clock; the SLA watch re-verifies)")):
        q = sub.add_parser(name, help=text)
        common(q)
        q.add_argument("id", type=int)
        q.add_argument("--by", help="who (default: the login name)")
        q.add_argument("--note", help="a note recorded on the event")
        q.set_defaults(func=_action(fn))

    def engines(q: argparse.ArgumentParser) -> None:
        q.add_argument("--catalog", default="checks", help="catalog folder (default: checks)")
        q.add_argument("--profile", help="connection profile (default: embedded)")
        q.add_argument("--source-url", help="source database URL (default: the ticket's source node)")
        q.add_argument("--target-url", help="target database URL (default: the ticket's target node)")

    q = sub.add_parser("script", help="generate the repair script of a ticket (never applied here)")
    common(q)
    engines(q)
    q.add_argument("id", type=int)
    q.add_argument("--out", help="folder for the .sql files (default: $SYNCVERIFY_HOME/repair-scripts)")
    q.add_argument("--by", help="who generates it (default: the login name)")
    q.set_defaults(func=_script)

    q = sub.add_parser("approve", help="record the approval of a reviewed repair script (who, when, note, hash)",
                       description="Record who approved the ticket's repair script, when (UTC), a note (e.g. "
                                   "the approval's reference) and the hash of the plan approved. `tickets "
                                   "apply` refuses a script without an approval or whose plan changed since.")
    common(q)
    q.add_argument("id", type=int)
    q.add_argument("--script", "--script-id", dest="script", type=int, metavar="N",
                   help="a specific script of the ticket (default: the latest)")
    q.add_argument("--by", required=True, metavar="NAME", help="who approves (required)")
    q.add_argument("--note", required=True, metavar="TEXT", help="approval note or reference (required)")
    q.set_defaults(func=_approve)

    q = sub.add_parser("apply", help="apply an approved repair script (or --rollback it), then re-verify",
                       description="Apply the ticket's approved repair script on a WRITABLE connection to "
                                   "the target (--target-url, or the target node's connection opened "
                                   "writable for this command only): the pre-check and the statements run "
                                   "in one transaction, which aborts when a row is no longer as found. "
                                   "A re-publish plan (Kafka target) is produced to the cluster "
                                   "(--target-url kafka://HOST:PORT or the node's connection).")
    common(q)
    engines(q)
    q.add_argument("id", type=int)
    q.add_argument("--by", "--approved-by", dest="by", required=True, metavar="NAME",
                   help="who applies it (required; the approval is `tickets approve`)")
    q.add_argument("--script", "--script-id", dest="script", type=int, metavar="N",
                   help="a specific script of the ticket (default: the latest)")
    q.add_argument("--rollback", action="store_true", help="run the rollback script of an applied script")
    q.add_argument("--no-reverify", action="store_true", help="do not re-verify after applying")
    q.set_defaults(func=_apply)

    q = sub.add_parser("watch", help="one pass of the SLA watch: escalate, re-verify, deliver")
    common(q)
    q.add_argument("--catalog", default="checks")
    q.add_argument("--profile")
    q.add_argument("--no-reverify", action="store_true", help="escalate and deliver only")
    q.set_defaults(func=_watch)

    q = sub.add_parser("deliver", help="send pending ticket events to the configured sinks")
    common(q)
    q.set_defaults(func=_deliver)
