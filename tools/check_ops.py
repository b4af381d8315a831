#!/usr/bin/env python3
"""Static checks of the operations config that promtool and docker-compose do not make.

Run by tools/check_ops.sh from the repository root. Checks:
- every Grafana dashboard (config/grafana/dashboards/*.json) parses; uids and panel ids are
  unique; each panel queries the provisioned datasource; each query and variable query names
  only metrics the services emit, and uses only variables the dashboard defines;
- the provisioning files and the compose mounts agree (dashboard path, home dashboard,
  datasource uid, scrape targets are compose services);
- every alert rule names only emitted metrics (or one announced below), has summary,
  description and runbook annotations, a promtool unit test and a runbook line in README.md.
"""
import glob
import json
import re
import sys

import yaml

PREFIX = "logistic_package_api_"
# Every metric the two binaries emit, without the prefix (actors/, grpc_gateway/).
EMITTED = {
    "actor_mailbox_depth", "actor_messages_processed_total", "actor_processing_seconds_total",
    "actor_restarts_total", "cud_event_total", "grpc_request_duration_seconds",
    "grpc_requests_total", "not_found_total", "repo_group_size", "repo_queue_wait_seconds",
    "retranslator_batch_size",
    "retranslator_commit_to_ack_seconds", "retranslator_db_errors_total",
    "retranslator_events_failed_total", "retranslator_events_processing",
    "retranslator_events_released_total", "retranslator_events_retried_total",
    "retranslator_events_sent_total", "retranslator_kafka_errors_total",
    "retranslator_oldest_event_age_seconds", "retranslator_producer_resets_total",
    "retranslator_relays_live", "retranslator_send_latency_seconds",
    "retranslator_slot_takeovers_total", "retranslator_slots_owned",
    "tracing_spans_dropped_total", "tracing_spans_exported_total", "tracing_spans_failed_total",
}
HISTOGRAMS = {"grpc_request_duration_seconds", "repo_group_size", "repo_queue_wait_seconds",
              "retranslator_batch_size",
              "retranslator_commit_to_ack_seconds", "retranslator_send_latency_seconds"}
BUILTIN = {"up"}  # Prometheus's own series

GRAFANA_VARIABLES = {"__rate_interval", "__range", "__interval"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}

DASHBOARDS = "config/grafana/dashboards"
PROVISIONING = "config/grafana/provisioning"
PROMETHEUS = "config/prometheus"

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def metric_names(expr):
    """The metric names a PromQL expression selects (a lexical approximation that is exact for
    the expressions of this project: no string or label may hide a selector)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', "", expr)  # strings
    s = re.sub(r"\{[^}]*\}", "", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)  # ranges
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", s)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(?!\s*\()", s):
        if m.group(1).lower() not in KEYWORDS:
            names.add(m.group(1))
    return names


def check_names(where, expr, allowed):
    for name in sorted(metric_names(expr)):
        if name in BUILTIN:
            continue
        base = name[len(PREFIX):] if name.startswith(PREFIX) else None
        for suffix in ("_bucket", "_sum", "_count"):  # the series of a histogram
            if base and base.endswith(suffix) and base[: -len(suffix)] in HISTOGRAMS:
                base = base[: -len(suffix)]
        if base not in allowed:
            problem(where, f"unknown metric {name!r} in {expr!r}")


def check_variables(where, expr, defined):
    for m in re.finditer(r"\$\{?(\w+)", expr):
        if m.group(1) not in defined and m.group(1) not in GRAFANA_VARIABLES:
            problem(where, f"undefined variable ${m.group(1)} in {expr!r}")


def variable_query_expr(query):
    """The PromQL part of a Grafana Prometheus variable query."""
    if isinstance(query, dict):
        query = query.get("query", "")
    m = re.fullmatch(r"\s*label_values\((.*)\)\s*", query, re.S)
    if m:
        args = m.group(1)
        return args.rsplit(",", 1)[0] if "," in args else ""
    m = re.fullmatch(r"\s*(?:query_result|metrics)\((.*)\)\s*", query, re.S)
    return m.group(1) if m else query


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def check_dashboards(datasource_uid):
    files = sorted(glob.glob(f"{DASHBOARDS}/*.json"))
    if not files:
        problem(DASHBOARDS, "no dashboards")
    uids, queries, panel_count = {}, 0, 0
    for path in files:
        try:
            with open(path) as f:
                d = json.load(f)
        except ValueError as e:
            problem(path, f"not valid JSON: {e}")
            continue
        for key in ("uid", "title", "panels"):
            if key not in d:
                problem(path, f"no {key!r}")
        if d.get("uid") in uids:
            problem(path, f"uid {d['uid']!r} also in {uids[d['uid']]}")
        uids[d.get("uid")] = path
        variables = d.get("templating", {}).get("list", [])
        defined = {v["name"] for v in variables}
        for v in variables:
            where = f"{path}: variable {v['name']}"
            if v.get("type") == "query":
                expr = variable_query_expr(v.get("query", ""))
                check_names(where, expr, EMITTED)
                check_variables(where, expr, defined)
                if v.get("datasource", {}).get("uid") != datasource_uid:
                    problem(where, f"datasource is not the provisioned uid {datasource_uid!r}")
        ids = set()
        for p in walk_panels(d.get("panels", [])):
            where = f"{path}: panel {p.get('title', p.get('id'))!r}"
            if p.get("id") in ids:
                problem(where, f"duplicate panel id {p.get('id')}")
            ids.add(p.get("id"))
            if "gridPos" not in p:
                problem(where, "no gridPos")
            if p.get("type") == "row":
                continue
            panel_count += 1
            if p.get("datasource", {}).get("uid") != datasource_uid:
                problem(where, f"datasource is not the provisioned uid {datasource_uid!r}")
            targets = p.get("targets", [])
            if not targets:
                problem(where, "no queries")
            for t in targets:
                expr = t.get("expr", "")
                if not expr.strip():
                    problem(where, f"query {t.get('refId')} has no expr")
                    continue
                queries += 1
                check_names(where, expr, EMITTED)
                check_variables(where, expr, defined)
    return len(files), panel_count, queries


def check_provisioning(compose):
    datasources = []
    for path in sorted(glob.glob(f"{PROVISIONING}/datasources/*.yaml")):
        doc = load_yaml(path)
        if doc.get("apiVersion") != 1:
            problem(path, "apiVersion is not 1")
        datasources += doc.get("datasources", [])
    prometheus = [ds for ds in datasources if ds.get("type") == "prometheus"]
    if len(prometheus) != 1:
        problem(f"{PROVISIONING}/datasources", "want exactly one Prometheus datasource")
        return None
    ds = prometheus[0]
    host = re.match(r"https?://([^:/]+)", ds.get("url", ""))
    if not host or host.group(1) not in compose["services"]:
        problem(f"{PROVISIONING}/datasources", f"url {ds.get('url')!r} is no compose service")

    grafana = compose["services"].get("grafana", {})
    mounts = {}
    for volume in grafana.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[source.rstrip("/")] = target
    dashboards_dir = mounts.get(f"./{DASHBOARDS}")
    if not dashboards_dir:
        problem("docker-compose.yml", f"grafana does not mount ./{DASHBOARDS}")
    if mounts.get(f"./{PROVISIONING}") != "/etc/grafana/provisioning":
        problem("docker-compose.yml", f"grafana does not mount ./{PROVISIONING} on /etc/grafana/provisioning")
    for path in sorted(glob.glob(f"{PROVISIONING}/dashboards/*.yaml")):
        doc = load_yaml(path)
        if doc.get("apiVersion") != 1:
            problem(path, "apiVersion is not 1")
        for provider in doc.get("providers", []):
            if provider.get("type") != "file":
                problem(path, f"provider {provider.get('name')!r} is not of type file")
            elif provider.get("options", {}).get("path") != dashboards_dir:
                problem(path, f"provider path is not the mount of ./{DASHBOARDS} ({dashboards_dir})")
    home = grafana.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and dashboards_dir:
        local = home.replace(dashboards_dir, DASHBOARDS, 1)
        if not glob.glob(local):
            problem("docker-compose.yml", f"home dashboard {home} is not in {DASHBOARDS}")
    return ds.get("uid")


def check_prometheus(compose):
    config = load_yaml(f"{PROMETHEUS}/prometheus.yml")
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                if target.split(":")[0] not in compose["services"]:
                    problem(f"{PROMETHEUS}/prometheus.yml", f"target {target} is no compose service")

    rules = load_yaml(f"{PROMETHEUS}/alerts.yml")
    tests = load_yaml(f"{PROMETHEUS}/alerts_test.yml")
    tested = {case.get("alertname") for test in tests.get("tests", [])
              for case in test.get("alert_rule_test", [])}
    with open("README.md") as f:
        readme = f.read()
    alerts = 0
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" not in rule:
                continue
            alerts += 1
            name = rule["alert"]
            where = f"{PROMETHEUS}/alerts.yml: {name}"
            check_names(where, rule["expr"], EMITTED)
            missing = {"summary", "description", "runbook"} - set(rule.get("annotations", {}))
            if missing:
                problem(where, f"no annotation {', '.join(sorted(missing))}")
            if name not in tested:
                problem(where, "no unit test in alerts_test.yml")
            if f"`{name}`" not in readme:
                problem(where, "no runbook line in README.md")
    return alerts


def main():
    with open("docker-compose.yml") as f:
        compose = yaml.safe_load(f)
    uid = check_provisioning(compose)
    files, panels, queries = check_dashboards(uid)
    alerts = check_prometheus(compose)
    for p in problems:
        print(f"check_ops: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_ops: {files} dashboards ({panels} panels, {queries} queries) and {alerts} alerts "
          "name only emitted metrics; provisioning matches docker-compose.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
