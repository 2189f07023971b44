"""``circle15 serve``, ``users`` and ``report``: the command line's adapters for the
service, its users, and the committee report."""

from __future__ import annotations

import argparse
import os
import sys

from circle15.geo.errors import Circle15Error


def cmd_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from circle15.api.app import setting_name
    from circle15.api.settings import Settings
    from circle15.api.store import StationStore

    # the settings and the database first: each mistake is one clear line, not a traceback
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = [f"CIRCLE15_{'_'.join(map(str, e['loc'])).upper()}: "
                 f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise SystemExit("circle15 serve: " + "; ".join(lines)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        StationStore(settings.sqlalchemy_url()).close()
    except Circle15Error as exc:
        print(f"circle15 serve: {exc.worded(setting_name)}", file=sys.stderr)
        return 2
    # the service's start-up errors are one line (circle15.api.app.stop_serving)
    os.environ["CIRCLE15_SERVE"] = "1"
    if args.verbose:
        os.environ["CIRCLE15_TRACEBACK"] = "1"

    if args.workers > 1 and not args.separate_workers:
        from circle15.api.workers.serve import serve_shared

        try:
            return serve_shared(settings, host=args.host, port=args.port,
                                workers=args.workers, access_log=args.access_log)
        except Circle15Error as exc:
            if args.verbose:
                raise
            raise SystemExit(f"circle15 serve: {exc.worded(setting_name)}") from None
    # uvicorn in a fresh interpreter in this process: the supervisor then holds none of
    # the libraries imported so far (the service's memory is its workers'). A worker
    # loading a district is busy for tens of seconds before it answers the supervisor's
    # health pings: it is given --worker-timeout, not uvicorn's 5 s
    argv = [sys.executable, "-m", "uvicorn", "circle15.api.app:create_app", "--factory",
            "--host", args.host, "--port", str(args.port), "--workers", str(args.workers),
            "--log-level", "info", "--access-log" if args.access_log else "--no-access-log",
            "--timeout-worker-healthcheck", str(args.worker_timeout),
            "--http", "circle15.api.guards.http_limits:LimitedHttp"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_users(args: argparse.Namespace) -> int:
    """``circle15 users add NAME --role R``: the new user's token, once, as the last line."""
    from pathlib import Path

    from circle15.api.guards.users import add_user

    path = args.file or os.environ.get("CIRCLE15_USERS")
    if not path:
        raise SystemExit("circle15 users: give --file, or set CIRCLE15_USERS to the users file "
                         "the service reads")
    token = add_user(Path(path), args.name, args.role)
    print(f"added {args.name} ({args.role}) to {path}; their token (shown only now, give it "
          "to them and keep it nowhere else):")
    print(token)
    return 0


def add_users_parser(sub: argparse._SubParsersAction) -> None:
    from circle15.api.guards.users import ROLES

    p = sub.add_parser("users", help="the service's users and their roles",
                       description="Users of the service, each with a role: viewer (reads), "
                                   "planner (creates and edits scenarios), admin (adopts a "
                                   "scenario into the register, changes the register). The "
                                   "service reads the file CIRCLE15_USERS names.")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add a user and print their token (once)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--file", help="the users file (default: $CIRCLE15_USERS)")
    add.set_defaults(func=cmd_users)


def cmd_report(args: argparse.Namespace) -> int:
    """``circle15 report``: the committee report (HTML and PDF) for an area, with proposed
    sites chosen as ``circle15 site`` chooses them."""
    from pathlib import Path

    from circle15.cli_options import candidate_spec
    from circle15.cli_run import load_run
    from circle15.maps.report import check_printer, print_pdf, report_html
    from circle15.usecases import SitingSpec, build_candidates, site
    from circle15.usecases.report import build_report

    check_printer()  # before anything is computed or written
    run = load_run(args, Path(args.stations))
    outcome = None
    if args.sites:
        cands, dropped = build_candidates(run.area, candidate_spec(args))
        outcome = site(run.cov, cands, SitingSpec(k=args.sites, method=args.method,
                                                  time_limit_s=args.time_limit),
                       dropped_duplicates=dropped)
    title = args.title or ("驿站15分钟服务圈评估报告" if args.lang == "zh" else
                           "15-minute station coverage report")
    data = build_report(run.area, run.demand, run.stations, run.cov, outcome, title=title)
    html = report_html(data, lang=args.lang)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp_pdf = out / ".report.pdf.tmp"
    print_pdf(html, tmp_pdf)
    (out / "report.html").write_text(html, encoding="utf-8")
    tmp_pdf.replace(out / "report.pdf")
    print(f"{out / 'report.pdf'}\n{out / 'report.html'}")
    return 0


def add_report_parser(sub: argparse._SubParsersAction,
                      add_area_options: object, add_candidate_options: object,
                      add_demand_options: object) -> None:
    p = sub.add_parser("report", help="the committee report: coverage now and with proposed "
                                      "sites, per town, at night (PDF and HTML)")
    add_area_options(p)  # type: ignore[operator]
    add_demand_options(p)  # type: ignore[operator]
    g = p.add_argument_group("report")
    g.add_argument("--sites", type=int, default=5,
                   help="propose this many new sites, as circle15 site does (0: none)")
    g.add_argument("--method", choices=("exact", "greedy"), default="greedy")
    g.add_argument("--lang", choices=("zh", "en"), default="zh")
    g.add_argument("--title", help="the report's title")
    add_candidate_options(g)  # type: ignore[operator]
    p.set_defaults(func=cmd_report)
