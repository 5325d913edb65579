"""Response times of the staff web app's main pages with a large PostgreSQL database.

    .venv/bin/python bench/pages.py [--database-url postgres://postgres@127.0.0.1:5432/alphasms_bench]
        [--customers 100000] [--appointments 1000000] [--repeats 20] [--warmups 3] [--regenerate]
        [--only dashboard,customers] [--explain] [--json]

Creates the database when missing (never one named ``test`` or ``test_…``), migrates it, fills it once
with benchmark data (``bench/data.py``: set-based SQL, a few minutes for a million appointments; kept for
later runs unless ``--regenerate``), signs in an owner with the second factor passed (as the web tests
do) and requests every main page in-process with Django's test client: the figures are our views,
templates and queries, without a network or web server. Per page it prints the median and 90th
percentile of ``--repeats`` requests after ``--warmups`` unmeasured ones, the number of SQL queries of one
request, and whether the median meets the target (100 ms). Pages whose URL name does not exist yet are
listed as not built. ``--explain`` prints PostgreSQL's EXPLAIN ANALYZE of the slowest query of each page
over the target.

This is a measurement, not a test: exit code 0 when every built page answered 200 within the target,
1 when one did not, 2 for a database the benchmark refuses or cannot reach.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/alphasms_bench"
TARGET_MS = 100.0


@dataclass(frozen=True)
class Page:
    """A main page: its key, labels, candidate URL names (the first that exists is measured), the
    object a detail page shows ("customer", "message", "appointment", "rule") or None, and a query."""

    key: str
    label_de: str
    label_en: str
    names: tuple[str, ...]
    needs: str | None = None
    query: str = ""  # appended to the URL: a search or filter as staff type it


# The NAV pages of alphasms/web/templatetags/web.py plus the calendar views, the detail pages, the rule
# editor and the searches staff use most.
# Helpers may pick any of the candidate names; a page none of them exists for is "not built yet".
PAGES = [
    Page("dashboard", "Übersicht", "Dashboard", ("web:dashboard",)),
    Page(
        "appointments", "Termine (Liste)", "Appointments (list)", ("web:appointments", "web:appointment_list")
    ),
    Page(
        "appointments_search",
        "Termine (Suche)",
        "Appointments (search)",
        ("web:appointments",),
        query="q=Müller",
    ),
    Page(
        "appointments_day",
        "Termine (Tag)",
        "Appointments (day)",
        ("web:appointments_day", "web:appointment_day", "web:calendar_day", "web:day"),
    ),
    Page(
        "appointments_week",
        "Termine (Woche)",
        "Appointments (week)",
        ("web:appointments_week", "web:appointment_week", "web:calendar_week", "web:week"),
    ),
    Page(
        "appointment",
        "Termin (Detail)",
        "Appointment (detail)",
        ("web:appointment", "web:appointment_detail"),
        "appointment",
    ),
    Page("customers", "Kunden (Liste)", "Customers (list)", ("web:customers", "web:customer_list")),
    Page("customers_search", "Kunden (Suche)", "Customers (search)", ("web:customers",), query="q=Müller"),
    Page(
        "customer",
        "Kunde (Detail)",
        "Customer (detail)",
        ("web:customer", "web:customer_detail", "web:customers_detail"),
        "customer",
    ),
    Page("messages", "Nachrichten (Liste)", "Messages (list)", ("web:messages", "web:message_list")),
    Page(
        "messages_failed",
        "Nachrichten (Fehler)",
        "Messages (failed)",
        ("web:messages",),
        query="status=failed",
    ),
    Page(
        "message",
        "Nachricht (Detail)",
        "Message (detail)",
        ("web:message", "web:message_detail", "web:messages_detail"),
        "message",
    ),
    Page("rules", "Regeln", "Rules", ("web:rules", "web:rule_list")),
    Page("rule", "Regel (Editor)", "Rule (editor)", ("web:rule_edit", "web:rule"), "rule"),
    Page("tomorrow", "Morgen", "Tomorrow", ("web:tomorrow",)),
    Page("imports", "Importe", "Imports", ("web:imports", "web:import_list")),
    Page("settings", "Einstellungen", "Settings", ("web:settings",)),
]


@dataclass
class Result:
    """One page's figures (milliseconds); ``built`` False when no candidate URL name exists."""

    key: str
    label: str
    built: bool
    url: str = ""
    status: int | None = None
    error: str = ""
    median_ms: float | None = None
    p90_ms: float | None = None
    queries: int | None = None
    slowest_query_ms: float | None = None
    slowest_query: str = ""
    meets_target: bool | None = None
    samples_ms: list[float] = field(default_factory=list)


def t(de: str, en: str) -> str:
    from alphasms.cli_text import t as pick

    return pick(de, en)


def _param_value(name: str, pk: int | None, today: dt.date) -> list[Any]:
    if pk is not None and (name in ("pk", "id") or name.endswith(("_id", "_pk"))):
        return [pk, str(pk)]
    if "date" in name or name == "day":
        return [today, today.isoformat()]
    year, week, _ = today.isocalendar()
    return {"year": [year], "week": [week], "month": [today.month]}.get(name, [])


def resolve(page: Page, objects: dict[str, int]) -> str | None:
    """The URL of ``page``: the first candidate name that reverses, its parameters filled with the
    detail object's pk or today's date; None when none exists (not built yet)."""
    from django.urls import NoReverseMatch, get_resolver, reverse

    pk = objects.get(page.needs) if page.needs else None
    today = dt.date.today()
    for name in page.names:
        namespace, _, short = name.rpartition(":")
        resolver = get_resolver()
        if namespace:
            if namespace not in resolver.namespace_dict:
                continue
            resolver = resolver.namespace_dict[namespace][1]
        for possibilities, *_ in resolver.reverse_dict.getlist(short):
            for _format, params in possibilities:
                if page.needs and not params:
                    continue
                for kwargs in _kwargs_options(params, pk, today):
                    try:
                        url = reverse(name, kwargs=kwargs)
                    except (NoReverseMatch, ValueError, TypeError):
                        continue
                    return f"{url}?{page.query}" if page.query else url
    return None


def _kwargs_options(params: list[str], pk: int | None, today: dt.date) -> Iterable[dict[str, Any]]:
    options = [_param_value(p, pk, today) for p in params]
    if any(not values for values in options):
        return []
    return [{p: values[i] for p, values in zip(params, options, strict=True)} for i in (0, -1)]


def detail_objects() -> dict[str, int]:
    """Primary keys of the objects the detail pages show: the middle customer (ten appointments and
    their messages), a delivered SMS with an attempt, a report and a reply where there is one, the
    first appointment from tomorrow on with its reminders, and the SMS rule."""
    from django.utils import timezone

    from alphasms.appointments.models import Appointment, Customer, ReminderRule
    from alphasms.messaging.models import InboundMessage, OutboundMessage

    found: dict[str, int] = {}
    tomorrow = timezone.now() + dt.timedelta(days=1)
    appointment = Appointment.objects.filter(start_at__gte=tomorrow, messages__isnull=False).first()
    if appointment is not None:
        found["appointment"] = appointment.pk
    rule = ReminderRule.objects.order_by("pk").values_list("pk", flat=True).first()
    if rule is not None:
        found["rule"] = rule
    count = Customer.objects.count()
    customer = Customer.objects.order_by("pk").values_list("pk", flat=True)[count // 2 : count // 2 + 1]
    if customer:
        found["customer"] = customer[0]
    reply = InboundMessage.objects.filter(message__isnull=False).order_by("-received_at").first()
    message_id = reply.message_id if reply else None
    if message_id is None:
        message_id = OutboundMessage.objects.order_by("-due_at").values_list("pk", flat=True).first()
    if message_id is not None:
        found["message"] = message_id
    return found


def signed_in_client() -> Any:
    """A Django test client signed in as the benchmark owner with the second factor passed."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bench.data import owner

    user = owner()
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = (
        TOTPDevice.objects.filter(user=user, confirmed=True).first().persistent_id
    )
    session.save()
    return client


def measure(client: Any, page: Page, url: str, repeats: int, warmups: int, target_ms: float) -> Result:
    """Request ``url`` ``warmups`` times unmeasured, ``repeats`` times measured, then once more counting
    the SQL queries. A non-200 answer or an exception stops and is reported in the result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = Result(page.key, t(page.label_de, page.label_en), True, url)
    try:
        for _ in range(warmups):
            result.status = client.get(url).status_code
        for _ in range(repeats):
            began = time.perf_counter()
            result.status = client.get(url).status_code
            result.samples_ms.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as captured:
            result.status = client.get(url).status_code
    except Exception as exc:  # a page being built may break; the others still get measured
        result.error = f"{type(exc).__name__}: {exc}"[:200]
        return result
    samples = result.samples_ms
    if samples:
        result.median_ms = statistics.median(samples)
        result.p90_ms = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
        result.meets_target = result.median_ms < target_ms and result.status == 200
    result.queries = len(captured.captured_queries)
    if captured.captured_queries:
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        result.slowest_query_ms, result.slowest_query = float(slowest["time"]) * 1000, slowest["sql"]
    return result


def explain(sql: str) -> str:
    """PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of a captured SELECT; empty for anything else."""
    from django.db import connection

    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith("SELECT"):
        return ""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def run(
    customers: int,
    appointments: int,
    repeats: int = 20,
    warmups: int = 3,
    regenerate: bool = False,
    only: set[str] | None = None,
    target_ms: float = TARGET_MS,
    show_explain: bool = False,
    as_json: bool = False,
    out: TextIO = sys.stdout,
) -> list[Result]:
    """Make sure the data is there, then measure every page (``only``: those keys) and print the
    table (or JSON). Needs a configured Django on PostgreSQL; returns the results."""
    from django.db import connection
    from django.utils import timezone

    from bench.data import ensure_data

    log: Callable[[str], None] = (
        (lambda line: None) if as_json else (lambda line: print(line, file=out, flush=True))
    )
    log(t("Benchmark-Daten prüfen …", "Checking benchmark data …"))
    summary = ensure_data(customers, appointments, timezone.now(), regenerate, log)
    if summary.generated:
        log(t(f"erzeugt in {summary.seconds:.0f} s", f"generated in {summary.seconds:.0f} s"))
    # What the running worker does every few seconds: plan (incremental after its first, full run). The
    # pages see its state — tomorrow's run plans incrementally from it, as the worker's next cycle would.
    from alphasms.appointments.services.planning import plan

    began = time.perf_counter()
    plan()
    log(
        t(
            f"Planung wie im Worker: {time.perf_counter() - began:.1f} s",
            f"worker's planning: {time.perf_counter() - began:.1f} s",
        )
    )
    client = signed_in_client()
    objects = detail_objects()
    results = []
    for page in PAGES:
        if only and page.key not in only:
            continue
        url = resolve(page, objects)
        if url is None:
            results.append(Result(page.key, t(page.label_de, page.label_en), False))
            continue
        results.append(measure(client, page, url, repeats, warmups, target_ms))
    database = str(connection.settings_dict["NAME"])
    if as_json:
        payload = {
            "database": database,
            "counts": summary.counts,
            "repeats": repeats,
            "warmups": warmups,
            "target_ms": target_ms,
            "pages": [asdict(r) for r in results],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=out)
    else:
        _print_table(results, summary.counts, database, repeats, warmups, target_ms, out)
        if show_explain:
            _print_explains(results, out)
    return results


def _print_table(
    results: list[Result],
    counts: dict[str, int],
    database: str,
    repeats: int,
    warmups: int,
    target_ms: float,
    out: TextIO,
) -> None:
    rows = ", ".join(f"{value:,}".replace(",", t(".", ",")) + f" {name}" for name, value in counts.items())
    print(f"\n{database}: {rows}", file=out)
    print(
        t(
            f"{repeats} Messungen je Seite nach {warmups} Aufwärmläufen, "
            f"Ziel: Median unter {target_ms:.0f} ms\n",
            f"{repeats} requests per page after {warmups} warm-ups, "
            f"target: median under {target_ms:.0f} ms\n",
        ),
        file=out,
    )
    header = [t("Seite", "Page"), "Median", "p90", "SQL", t("langsamste", "slowest"), t("Ziel", "Target")]
    print(_row([*header, "URL"]), file=out)
    for r in results:
        if not r.built:
            print(_row([r.label, "–", "–", "–", "–", t("noch nicht gebaut", "not built yet"), ""]), file=out)
            continue
        verdict = "ok" if r.meets_target else t("ÜBER", "OVER")
        if r.error or r.status != 200:
            verdict = r.error or f"HTTP {r.status}"
        cells = [r.median_ms, r.p90_ms, r.queries, r.slowest_query_ms]
        shown = ["–" if c is None else f"{c:.1f} ms" if isinstance(c, float) else str(c) for c in cells]
        print(_row([r.label, *shown, verdict, r.url]), file=out)


def _row(cells: list[str]) -> str:
    label, median, p90, queries, slowest, verdict, url = cells
    return f"{label:<22} {median:>10} {p90:>10} {queries:>4} {slowest:>10}  {verdict:<7} {url}".rstrip()


def _print_explains(results: list[Result], out: TextIO) -> None:
    for r in results:
        if r.built and r.meets_target is False and r.slowest_query:
            print(f"\n--- {r.label}: {r.slowest_query_ms:.1f} ms\n{r.slowest_query}\n", file=out)
            print(explain(r.slowest_query) or t("(kein SELECT)", "(not a SELECT)"), file=out)


def ensure_database(url: str) -> str:
    """Create the PostgreSQL database of ``url`` when it does not exist; returns its name. Raises
    SystemExit(2) for anything but PostgreSQL, a test database name, or an unreachable server."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = str(config.get("NAME") or "")
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(
            t("Der Benchmark braucht PostgreSQL (postgres://…).", "The benchmark needs PostgreSQL.")
        )
    if name == "test" or name.startswith("test_") or not name:
        raise SystemExit(
            t(
                f"Die Datenbank {name!r} gehört den Tests; bitte eine eigene nennen.",
                f"Database {name!r} belongs to the tests; name one of its own.",
            )
        )
    params: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise SystemExit(t(f"PostgreSQL nicht erreichbar: {exc}", f"PostgreSQL unreachable: {exc}")) from exc
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    parser.add_argument(
        "--only", default="", help="comma-separated page keys: " + ",".join(p.key for p in PAGES)
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of slow pages"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.appointments < 1 or args.repeats < 1 or args.warmups < 0:
        parser.error("--customers, --appointments and --repeats must be at least 1, --warmups at least 0")
    only = {key for key in args.only.split(",") if key}
    unknown = only - {p.key for p in PAGES}
    if unknown:
        parser.error(f"--only: unknown page keys {', '.join(sorted(unknown))}")
    try:
        ensure_database(args.database_url)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    data_dir = None
    if not os.environ.get("ALPHASMS_DATA_DIR"):
        data_dir = tempfile.mkdtemp(prefix="alphasms-bench-")
        os.environ["ALPHASMS_DATA_DIR"] = data_dir
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphasms.project.settings")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from bench.data import NotBenchmarkData

        try:
            results = run(
                args.customers,
                args.appointments,
                args.repeats,
                args.warmups,
                args.regenerate,
                only,
                args.target_ms,
                args.explain,
                args.json,
            )
        except NotBenchmarkData as exc:
            print(
                t(
                    f"Diese Datenbank enthält fremde Daten ({exc}); der Benchmark löscht sie nicht.",
                    f"This database holds other data ({exc}); the benchmark does not wipe it.",
                ),
                file=sys.stderr,
            )
            return 2
    finally:
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if all(r.meets_target for r in results if r.built) else 1


if __name__ == "__main__":
    sys.exit(main())
