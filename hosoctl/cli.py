"""The ``hoso`` command: one entry point for every process and operator task.

Exit codes, the same for every subcommand (scripts and probes rely on them):

- 0  done
- 1  a check failed (invalid input lines, a broker that is not ready, a dry run that found problems)
- 2  usage error (unknown command or option, bad argument)
- 3  configuration error (a setting, credential or file a human must fix; retrying will not help)
- 4  Kafka or I/O error (broker unreachable, a record not acknowledged, a file or pipe failing)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from hoso import redact
from hoso.errors import BrokerError, ConfigurationError, HosoError, PublishError
from hoso.logs import configure as configure_logging
from hoso.secret_guard import refuse_demo_secrets
from hoso.settings import Settings, describe
from hosoctl.stack import OPTIONAL_ROLES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_IO = 0, 1, 2, 3, 4


def _settings() -> Settings:
    return Settings.from_env()


def _role_settings(role: str) -> Settings:
    """Settings of a long-running role, refused when they would send demo secrets to the real Zalo."""
    settings = _settings()
    refuse_demo_secrets(settings, role)
    return settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hoso")
    except PackageNotFoundError:
        return "unknown"


def cmd_settings(args: argparse.Namespace) -> int:
    """Print every setting with its variable, default and meaning."""
    rows = describe()
    if args.markdown:
        print("| Variable | Default | Meaning |\n|---|---|---|")
        for env, default, doc in rows:
            print(f"| `{env}` | `{default}` | {doc} |")
    else:
        current = _settings().shown_env()
        for env, _default, doc in rows:
            print(f"{env}={current[env]}\n    {doc}")
    return 0


def cmd_kafka(args: argparse.Namespace) -> int:
    """Manage the local single-node broker."""
    settings = _settings()
    if not settings.local_broker and args.action != "status":
        print(f"KAFKA_BOOTSTRAP is set ({settings.kafka_bootstrap}); hoso does not manage that cluster.")
        return EXIT_OK if args.action == "fetch" else EXIT_CONFIG
    from hosoctl.local_kafka import LocalBroker

    broker = LocalBroker.from_settings(settings)
    if args.action == "fetch":
        print(f"kafka jars in {broker.ensure_jars(progress=_progress)}")
    elif args.action == "start":
        broker.start()
        print(f"kafka {settings.kafka_version} ready at {settings.bootstrap}")
    elif args.action == "stop":
        print("stopped" if broker.stop() else "not running")
    elif args.action == "reset":
        broker.wipe()
        print(f"broker stopped and data removed; also remove {settings.state_dir} (Faust tables)")
    else:
        status = broker.status()
        print(orjson.dumps(status.__dict__, default=str).decode())
        return 0 if status.ready else 1
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    """Create or list the declared topics."""
    from hoso.kafka.admin import create_topics
    from hoso.kafka.clients import kafka_python

    settings = _settings()
    topics = settings.topics
    if args.action == "list":
        for t in topics.all():
            pii = " [personal data]" if t.personal_data else ""
            print(f"{t.name}  partitions={t.partitions} cleanup={t.cleanup_policy} key={t.key}{pii}\n    {t.doc}")
        return 0
    for name, outcome in create_topics(kafka_python(settings), topics, settings.replication_factor).items():
        print(f"{outcome:8} {name}")
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    """Run a Faust streams worker."""
    from streams.app import run_worker

    run_worker(_role_settings("worker"))
    return 0


def cmd_webhook(_args: argparse.Namespace) -> int:
    """Run the Zalo webhook receiver."""
    from producers.webhook import run_webhook

    run_webhook(_role_settings("webhook"))
    return 0


def cmd_dispatcher(_args: argparse.Namespace) -> int:
    """Run a dispatcher."""
    from consumers.dispatcher import run_dispatcher

    run_dispatcher(_role_settings("dispatcher"))
    return 0


def cmd_sms(_args: argparse.Namespace) -> int:
    """Run the SMS fallback (needs HOSO_SMS_CONFIG)."""
    from consumers.sms.fallback import run_sms

    run_sms(_settings())
    return 0


def cmd_sms_simulator(args: argparse.Namespace) -> int:
    """Run the brandname-SMS provider simulator."""
    from sms_simulator import SmsSimConfig, serve

    keys = {k: tuple(b.split(",")) for k, _, b in (item.partition("=") for item in args.key)}
    config = SmsSimConfig(keys=keys or SmsSimConfig().keys, fail_first=args.fail_first)
    port = args.port if args.port is not None else _settings().sms_simulator_port
    serve(config, host=args.host, port=port)
    return 0


def cmd_ratings(args: argparse.Namespace) -> int:
    """Post ratings back to agencies (sync), or export an agency's ratings as CSV."""
    settings = _settings()
    if args.action == "sync":
        from consumers.ratings.sync import run_rating_sync

        run_rating_sync(settings)
        return 0
    from consumers.ratings.export import current_ratings, parse_day, select, write_csv
    from hoso.kafka.clients import kafka_python

    if not args.agency:  # wrong arguments are a usage error (exit 2), like argparse's own
        print("hoso ratings export: needs --agency (a code or a pattern such as 000.00.*.H22)", file=sys.stderr)
        return EXIT_USAGE
    try:
        start = parse_day(args.date_from) if args.date_from else parse_day("2000-01-01")
        end = parse_day(args.date_to) if args.date_to else parse_day("2999-12-31")
    except ValueError as exc:
        print(f"hoso ratings export: --from/--to: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ratings = current_ratings(kafka_python(settings), settings.topics.ratings.name)
    rows = write_csv(sys.stdout, select(ratings, args.agency, start, end))
    print(f"{rows} ratings of {args.agency} from {start} to {end}", file=sys.stderr)
    return 0


def cmd_gateway(_args: argparse.Namespace) -> int:
    """Run the HTTP ingest gateway."""
    from producers.gateway import run_gateway

    run_gateway(_role_settings("gateway"))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """Ask this container's role for /healthz (or /readyz): the Compose healthcheck."""
    import urllib.error
    import urllib.request

    port = args.port or _settings().metrics_port
    if not port:
        raise ConfigurationError("HOSO_METRICS_PORT is 0: this process serves no health endpoint")
    path = "/readyz" if args.ready else "/healthz"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=args.timeout) as answer:
            print(answer.read().decode())
            return EXIT_OK
    except urllib.error.HTTPError as exc:
        print(exc.read().decode())
        return EXIT_FAILED


def cmd_alerts(args: argparse.Namespace) -> int:
    """Print hoso's alert rules with runbook links on this deployment's base URL."""
    from hosoctl.alert_rules import render

    try:
        sys.stdout.write(render(Path(args.rules), args.runbook_base, args.format))
    except ValueError as exc:
        raise ConfigurationError(f"--runbook-base: {exc}") from exc
    return EXIT_OK


def cmd_simulator(args: argparse.Namespace) -> int:
    """Run the Zalo API simulator."""
    import dataclasses

    from zalo_simulator import FaultSpec, SimulatorConfig, load_config, serve

    config = load_config(args.config) if args.config else SimulatorConfig()
    try:
        faults = FaultSpec.parse(args.faults)
    except ValueError as exc:
        raise ConfigurationError(f"--faults: {exc}") from exc
    config = dataclasses.replace(config, faults=faults, webhook_url=args.webhook_url or config.webhook_url)
    port = args.port if args.port is not None else _settings().simulator_port
    serve(config, host=args.host, port=port)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write synthetic dossier events as JSON lines."""
    from hosoctl.synthetic import GeneratorOptions, events

    out = sys.stdout.buffer
    for e in events(GeneratorOptions(dossiers=args.dossiers, seed=args.seed)):
        out.write(orjson.dumps(e) + b"\n")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Validate and publish JSON-lines dossier events; invalid lines are reported, valid ones still published."""
    from hoso.kafka.clients import kafka_python
    from producers.publisher import Publisher
    from schemas.codec import decode_event

    settings = _settings()
    stream = sys.stdin.buffer if args.file == "-" else Path(args.file).open("rb")  # noqa: SIM115
    valid, bad = [], 0
    with stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            event, problems = decode_event(line)
            if event is None:
                bad += 1
                for p in problems:
                    print(f"line {lineno}: {p}", file=sys.stderr)
                continue
            valid.append(event)
    topic = settings.topics.dossier_events.name
    with Publisher(kafka_python(settings), topic) as publisher:
        report = publisher.publish_many(valid)
    print(f"published {report.published} events to {topic}; {bad} invalid lines rejected")
    return 1 if bad else 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """List or replay dead-lettered notifications."""
    from consumers import dlq
    from hoso.kafka.clients import kafka_python

    settings = _settings()
    topics = settings.topics
    client = kafka_python(settings)
    letters = [d for d in dlq.read(client, topics) if not args.oa or d.oa_id == args.oa]
    if args.limit is not None:
        letters = letters[: args.limit]
    if args.action == "list":
        for d in letters:
            print(f"{d.offset:8} {d.dead_at} oa={d.oa_id} attempts={d.attempts} tracking={d.tracking_id} {d.reason}")
        print(f"{len(letters)} dead letters")
        return EXIT_OK
    try:
        count = dlq.replay(client, topics, letters, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"hoso: nothing replayed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    done = "would replay" if args.dry_run else "replayed"
    print(f"{done} {count} notifications to {topics.notifications.name}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole pipeline live on synthetic traffic."""
    from hosoctl.demo import DemoOptions, run_demo

    options = DemoOptions(
        dossiers=args.dossiers,
        seed=args.seed,
        json=args.json,
        keep_running=args.keep_running,
        zalo_faults=args.zalo_faults,
        invalid=args.invalid,
        timeout_s=args.timeout,
        magic_ratio=args.magic_ratio,
        quiet_hours=args.quiet_hours,
        extra_roles=tuple(dict.fromkeys(args.with_roles)),
    )
    return run_demo(_settings(), options)


def cmd_chaos(args: argparse.Namespace) -> int:
    """Crash, restart and fault the live pipeline under load, then reconcile what Zalo received."""
    from hosoctl.chaos import ChaosOptions, run_chaos

    options = ChaosOptions(
        duration_s=args.duration,
        rate=args.rate,
        kills=args.kills,
        broker_restarts=args.broker_restarts,
        seed=args.seed,
        json=args.json,
        drain_timeout_s=args.drain_timeout,
        run_root=Path(args.run_dir) if args.run_dir else None,
        workers=args.workers,
        dispatchers=args.dispatchers,
        token_ttl_s=args.token_ttl,
        outage_s=args.outage,
    )
    return run_chaos(_settings(), options)


def cmd_broadcast(args: argparse.Namespace) -> int:
    """Publish an area broadcast (emergency alert or policy news), or preview its audience with --dry-run."""
    import secrets

    from hoso.kafka.clients import kafka_python
    from producers.broadcast import publish_broadcast
    from schemas.broadcast import level_of
    from schemas.common import now_vn

    settings = _settings()
    try:
        level = level_of(args.area)
    except ValueError as exc:
        raise ConfigurationError(f"--area: {exc}") from exc
    request = {
        "broadcast_id": args.id or f"bc-{now_vn():%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
        "area_level": level.value,
        "area_code": args.area,
        "text": args.text,
        "issued_by": args.issued_by,
        "issued_at": now_vn().isoformat(),
        "priority": args.kind,
    }
    if args.template_id:
        request["template_id"] = args.template_id
    topics = settings.topics
    if args.dry_run:
        from hoso.errors import InvalidRecord
        from hosoctl.broadcast_preview import preview
        from schemas.broadcast import Broadcast
        from schemas.codec import validate

        model, problems = validate(Broadcast, request)
        if model is None:
            raise InvalidRecord(problems)
        print(preview(settings, kafka_python(settings), model).line(model))
        return 0
    receipt = publish_broadcast(kafka_python(settings), topics, request)
    where = f"{level.value.lower()} {args.area}"
    print(f"broadcast {receipt.broadcast_id} ({where}) written to {len(receipt.offsets)} partitions")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Benchmark the stages against their baselines, measured in the same run."""
    import shlex

    from hosoctl.bench.runner import BenchOptions, parse_scenarios, run_bench

    options = BenchOptions(
        scenarios=parse_scenarios(args.scenario),
        quick=args.quick,
        json=args.json,
        report=Path(args.report),
        command=shlex.join(["hoso", *sys.argv[1:]]),
    )
    return run_bench(_settings(), options)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="hoso",
        description="Zalo notifications for administrative dossiers.",
        epilog="exit codes: 0 ok, 1 a check failed, 2 usage, 3 configuration, 4 Kafka or I/O",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    p = add("settings", cmd_settings, "Show settings (environment variables) and their values.")
    p.add_argument("--markdown", action="store_true", help="print the documentation table")
    p = add("kafka", cmd_kafka, "Start, stop or inspect the local Kafka broker.")
    p.add_argument("action", choices=["fetch", "start", "stop", "status", "reset"])
    p = add("topics", cmd_topics, "Create (idempotently) or list the declared topics.")
    p.add_argument("action", choices=["create", "list"])
    add("worker", cmd_worker, "Run a Faust streams worker.")
    add("webhook", cmd_webhook, "Run the Zalo webhook receiver (chat messages, follows, ZNS receipts).")
    add("dispatcher", cmd_dispatcher, "Run a Zalo dispatcher.")
    add("sms", cmd_sms, "Run the SMS fallback: text the facts of undeliverable Zalo messages to consenting citizens.")
    p = add("ratings", cmd_ratings, "Sync satisfaction ratings back to agencies, or export them as CSV.")
    p.add_argument("action", choices=["sync", "export"])
    p.add_argument("--agency", default=None, help="export: receiving agency code or pattern (000.00.*.H22)")
    p.add_argument("--from", dest="date_from", default=None, help="export: first day, YYYY-MM-DD or DD/MM/YYYY")
    p.add_argument("--to", dest="date_to", default=None, help="export: last day (inclusive)")
    p = add("sms-simulator", cmd_sms_simulator, "Run the brandname-SMS provider simulator.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: HOSO_SMS_SIMULATOR_PORT")
    p.add_argument("--key", action="append", default=[], help="API key and its brandnames: KEY=BRAND[,BRAND]")
    p.add_argument("--fail-first", type=int, default=0, help="answer the first N sends with 503")
    add("gateway", cmd_gateway, "Run the HTTP ingest gateway (agency API keys, DVCQG payloads).")
    p = add("probe", cmd_probe, "Check this host's role: exit 0 when /healthz (or /readyz) answers 200, 1 when not.")
    p.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    p.add_argument("--port", type=int, default=None, help="default: HOSO_METRICS_PORT")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    p = add("alerts", cmd_alerts, "Print the alert rules with runbook links on your base URL (Prometheus or Operator).")
    p.add_argument("--runbook-base", required=True, help="where docs/runbook.md is published, e.g. https://wiki/hoso")
    p.add_argument("--format", choices=["prometheus", "prometheus-rule"], default="prometheus")
    p.add_argument("--rules", default="deploy/prometheus/rules/hoso.rules.yml", help="the rules file (a checkout's)")
    p = add("simulator", cmd_simulator, "Run the Zalo API simulator.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: HOSO_SIMULATOR_PORT")
    p.add_argument("--faults", default="", help="e.g. 5xx=0.05,timeout=0.02,rate_limit=0.05,token_ttl=20s")
    p.add_argument("--webhook-url", default=None, help="where delivery receipts are posted")
    p.add_argument("--config", default=None, help="JSON file with OAs and limits")
    p = add("generate", cmd_generate, "Write synthetic dossier events (JSON lines) to stdout.")
    p.add_argument("--dossiers", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p = add("publish", cmd_publish, "Validate and publish dossier events from a JSON-lines file (- for stdin).")
    p.add_argument("file", nargs="?", default="-")
    p = add("dlq", cmd_dlq, "List or replay the dead-letter topic (replays keep tracking ids: no double sends).")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("--oa", default=None, help="only this Official Account")
    p.add_argument("--limit", type=_positive, default=None, help="at most this many (oldest first)")
    p.add_argument("--dry-run", action="store_true", help="replay: validate and count, publish nothing")
    p = add("demo", cmd_demo, "Run the live pipeline on synthetic dossiers and reconcile what Zalo received.")
    p.add_argument("--dossiers", type=int, default=50)
    p.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    p.add_argument("--json", action="store_true", help="last stdout line is a JSON summary")
    p.add_argument("--keep-running", action="store_true", help="leave the stack up afterwards")
    p.add_argument("--zalo-faults", default="", help="fault spec for the simulator")
    p.add_argument("--invalid", type=int, default=2, help="malformed records to inject (shows the invalid path)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for delivery")
    p.add_argument(
        "--magic-ratio",
        type=float,
        default=None,
        help="share of recipients given the simulator's always-failing numbers (default 0.02 with faults, else 0)",
    )
    p.add_argument(
        "--quiet-hours", action="store_true", help="keep HOSO_QUIET_HOURS (at night messages then wait for morning)"
    )
    p.add_argument(
        "--with",
        dest="with_roles",
        action="append",
        default=[],
        choices=OPTIONAL_ROLES,
        help="also run this optional role (repeatable): sms (with an SMS provider simulator), ratings-sync",
    )
    p = add("chaos", cmd_chaos, "Kill, restart and fault the live pipeline under load; reconcile what Zalo received.")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of steady load")
    p.add_argument("--rate", type=float, default=20.0, help="dossier events published per second")
    p.add_argument("--kills", type=int, default=4, help="SIGKILLs, alternating worker and dispatcher")
    p.add_argument("--broker-restarts", type=int, default=1, help="broker restarts (local broker only)")
    p.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    p.add_argument("--json", action="store_true", help="last stdout line is a JSON summary")
    p.add_argument("--drain-timeout", type=float, default=240.0, help="seconds to wait for delivery after the load")
    p.add_argument("--run-dir", default=None, help="folder for run folders (logs); default next to HOSO_KAFKA_HOME")
    p.add_argument("--workers", type=int, default=1, help="Faust worker processes (kills alternate between them)")
    p.add_argument("--dispatchers", type=int, default=1, help="dispatcher processes (kills move partitions)")
    p.add_argument("--token-ttl", type=float, default=0.0, help="simulator access-token lifetime in s (0: 25 h)")
    p.add_argument("--outage", type=float, default=0.0, help="seconds the broker stays down per restart")
    p = add(
        "broadcast",
        cmd_broadcast,
        "Send an emergency alert (dossier followers and OA followers of an area) or policy news (OA followers).",
    )
    p.add_argument("--area", required=True, help="province (2 digits) or commune (5 digits) code, QĐ 19/2025")
    p.add_argument("--text", required=True, help="the alert, at most 2000 characters")
    p.add_argument("--id", default=None, help="broadcast id (re-using one re-sends to nobody twice); default: new")
    p.add_argument("--issued-by", default="Ban Chỉ huy phòng chống thiên tai", help="issuing authority")
    p.add_argument("--template-id", default=None, help="ZNS template (default: the catalogue's ALERT template)")
    p.add_argument(
        "--kind",
        choices=["EMERGENCY", "POLICY"],
        default="EMERGENCY",
        help="EMERGENCY: at once, any hour; POLICY: news, quiet hours and HOSO_POLICY_NEWS_PER_DAY respected",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print how many people it would reach (deduplicated); send nothing"
    )
    p = add("bench", cmd_bench, "Benchmark each stage against its baseline (same run); Markdown report, JSON lines.")
    p.add_argument("--scenario", default="all", help="comma-separated: dispatcher,streams,e2e,broadcast,memory")
    p.add_argument("--quick", action="store_true", help="CI smoke sizes (whole run a few minutes)")
    p.add_argument("--json", action="store_true", help="one JSON line per figure on stdout (progress on stderr)")
    p.add_argument("--report", default="bench-results/report.md", help="Markdown report path (chart beside it)")
    return parser


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def exit_code(exc: BaseException) -> int:
    """The documented exit code for an error that ended a command."""
    from kafka.errors import KafkaError as SyncKafkaError

    if isinstance(exc, ConfigurationError):
        return EXIT_CONFIG
    if isinstance(exc, BrokerError | PublishError | SyncKafkaError | OSError | TimeoutError):
        return EXIT_IO
    try:
        from aiokafka.errors import KafkaError as AsyncKafkaError
    except ImportError:  # pragma: no cover (a dependency of every role)
        return EXIT_FAILED
    return EXIT_IO if isinstance(exc, AsyncKafkaError) else EXIT_FAILED


def _quiet_broken_pipe() -> int:
    """stdout closed early (``hoso settings | head``): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hoso`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        level, fmt = settings.log_level.upper(), settings.log_format
    except HosoError:
        level, fmt = "INFO", "json" if os.environ.get("HOSO_LOG_FORMAT") == "json" else "text"
    configure_logging(level, fmt)
    redact.install()  # every process started through `hoso` (worker, dispatcher, gateway, ...) logs no payloads
    for noisy in ("kafka", "aiokafka", "httpx"):  # client chatter at INFO hides what hoso says
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:
        if not isinstance(exc, HosoError) and exit_code(exc) != EXIT_IO:
            raise  # a bug: keep the traceback
        logging.getLogger("hoso").debug("command failed", exc_info=True)
        print(f"hoso: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
