#!/usr/bin/env python3
"""Helper of tools/check_ops_live.sh (see there): the Prometheus config and the queries.

  check_ops_live.py config OUT API_PORT RETRANSLATOR_PORT
      writes OUT: config/prometheus/prometheus.yml with the targets of the jobs api and
      retranslator on 127.0.0.1, 1 s scrape and evaluation intervals and the rule file
      config/prometheus/alerts.yml by absolute path.
  check_ops_live.py query-value PROM_URL EXPR
      prints the first sample value of an instant query (nothing when it returns no data).
  check_ops_live.py http-get URL
      prints the HTTP status of a GET (0: no answer); exit status 0 on 200.
  check_ops_live.py get-missing URL_PREFIX SECONDS
      GETs URL_PREFIX followed by ids from 900000000 up, 10 a second; prints the status counts.
  check_ops_live.py check PROM_URL
      evaluates every dashboard target, every dashboard template-variable query and every
      alert expression, and reads the rules' health; one line per expression; exit status 1
      on any failure.
"""
import glob
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import time
import urllib.request

import yaml  # python3-yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROM_DIR = os.path.join(ROOT, "config", "prometheus")
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "config", "grafana", "dashboards", "*.json")))

# Grafana's built-in interval variables. 1m: at least 4 scrapes at the 1 s interval used here
# (Grafana's $__rate_interval is at least 4 scrape intervals). $__range: the dashboards'
# default time range is longer, but 5m covers the whole run.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "5m"}


def write_config(out, api_port, relay_port):
    with open(os.path.join(PROM_DIR, "prometheus.yml")) as f:
        cfg = yaml.safe_load(f)
    cfg.setdefault("global", {})
    cfg["global"]["scrape_interval"] = "1s"
    cfg["global"]["evaluation_interval"] = "1s"
    cfg["rule_files"] = [os.path.join(PROM_DIR, "alerts.yml")]
    ports = {"api": api_port, "retranslator": relay_port}
    jobs = [sc["job_name"] for sc in cfg["scrape_configs"]]
    if sorted(jobs) != sorted(ports):
        sys.exit(f"check_ops_live: prometheus.yml has jobs {jobs}, expected {sorted(ports)}")
    for sc in cfg["scrape_configs"]:
        sc["static_configs"] = [{"targets": [f"127.0.0.1:{ports[sc['job_name']]}"]}]
    with open(out, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def query(url, expr):
    """(status, result type, result, error text) of an instant query."""
    data = urllib.parse.urlencode({"query": expr}).encode()
    try:
        with urllib.request.urlopen(url + "/api/v1/query", data=data, timeout=30) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:  # 400/422: bad expression, with Prometheus's reason
        try:
            body = json.load(e)
        except ValueError:
            return "error", None, None, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return "error", None, None, str(e)
    if body.get("status") != "success":
        return "error", None, None, f"{body.get('errorType')}: {body.get('error')}"
    return "success", body["data"]["resultType"], body["data"]["result"], None


def http_get(url):
    """HTTP status of a GET, 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def has_data(rtype, result):
    if rtype in ("vector", "matrix"):
        return len(result) > 0
    return rtype == "scalar"  # a scalar always has a value (possibly NaN)


def substitute(expr, variables, where):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in variables:
            # The dashboards' variables are multi-value with "All" and used as job=~"$job":
            # a regex matching everything, as Grafana sends for All.
            return ".*"
        raise KeyError(f"{where}: variable ${name} is neither built in nor defined")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def dashboard_exprs():
    """(where, expression, template variable query?) for every dashboard."""
    for path in DASHBOARDS:
        with open(path) as f:
            dash = json.load(f)
        name = os.path.basename(path)
        variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
        for var in dash.get("templating", {}).get("list", []):
            q = var.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if var.get("type") != "query" or not q:
                continue
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q, re.S)
            if not m:
                raise ValueError(f"{name}: variable {var['name']}: unsupported query {q!r}")
            # label_values(METRIC, LABEL) lists LABEL's values among METRIC's series.
            expr = f"count by ({m.group(2)}) ({m.group(1)})"
            yield f"{name} variable ${var['name']}", substitute(expr, variables, name), True

        def panels(ps):
            for p in ps:
                yield p
                yield from panels(p.get("panels", []))

        for p in panels(dash.get("panels", [])):
            for t in p.get("targets", []):
                if t.get("expr"):
                    where = f"{name} \"{p.get('title')}\" {t.get('refId', '')}".rstrip()
                    yield where, substitute(t["expr"], variables, name), False


COMPARISON = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*-?[0-9.]+(e[+-]?[0-9]+)?(?![\w.])")


def alert_exprs():
    with open(os.path.join(PROM_DIR, "alerts.yml")) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                yield rule["alert"], " ".join(rule["expr"].split())


def check(url):
    failures = 0

    def line(verdict, where, expr, detail=""):
        print(f"{verdict:6} {where}: {expr}{'  -- ' + detail if detail else ''}", flush=True)

    for where, expr, _ in dashboard_exprs():
        status, rtype, result, err = query(url, expr)
        if status != "success":
            failures += 1
            line("error", where, expr, err)
        elif rtype not in ("vector", "matrix", "scalar"):
            failures += 1
            line("error", where, expr, f"result type {rtype}")
        elif not has_data(rtype, result):
            failures += 1  # a dashboard query without data is an empty panel
            line("empty", where, expr)
        else:
            nan = sum(1 for r in result if r.get("value", [0, ""])[1] == "NaN") if rtype == "vector" else 0
            line("ok", where, expr, f"{len(result) if rtype != 'scalar' else 1} series"
                 + (f", {nan} NaN" if nan else ""))

    for alert, expr in alert_exprs():
        # The alert's expression as is: it must evaluate (it is empty unless the alert fires).
        status, rtype, result, err = query(url, expr)
        if status != "success" or rtype not in ("vector", "matrix", "scalar"):
            failures += 1
            line("error", f"alert {alert}", expr, err or f"result type {rtype}")
            continue
        firing = has_data(rtype, result)
        # Without its comparisons with constants (`> 0`, `== 0`, ...) it must return data:
        # that shows the metrics and label matching it relies on exist.
        bare = COMPARISON.sub("", expr)
        status, rtype, result, err = query(url, bare)
        if status != "success" or rtype not in ("vector", "matrix", "scalar"):
            failures += 1
            line("error", f"alert {alert} without comparisons", bare, err or f"result type {rtype}")
        elif not has_data(rtype, result):
            failures += 1
            line("empty", f"alert {alert} without comparisons", bare)
        else:
            line("ok", f"alert {alert}", expr,
                 f"{'FIRING condition true' if firing else 'condition false'}; without comparisons "
                 f"{len(result)} series")
    # Prometheus evaluates the rules itself every second: each must report health "ok".
    try:
        with urllib.request.urlopen(url + "/api/v1/rules", timeout=30) as resp:
            groups = json.load(resp)["data"]["groups"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        failures += 1
        line("error", "rules", "/api/v1/rules", str(e))
        groups = []
    loaded = [r for g in groups for r in g["rules"] if r.get("type") == "alerting"]
    if len(loaded) != len(list(alert_exprs())):
        failures += 1
        line("error", "rules", "/api/v1/rules", f"{len(loaded)} alerting rules loaded")
    for r in loaded:
        if r.get("health") != "ok":
            failures += 1
            line("error", f"rule {r['name']}", "evaluation by Prometheus",
                 f"health {r.get('health')} {r.get('lastError', '')}".rstrip())
        else:
            line("ok", f"rule {r['name']}", "evaluation by Prometheus", f"state {r.get('state')}")
    return failures


def main(argv):
    if len(argv) == 5 and argv[1] == "config":
        write_config(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 4 and argv[1] == "query-value":
        status, rtype, result, _ = query(argv[2], argv[3])
        if status == "success" and rtype == "vector" and result:
            print(result[0]["value"][1])
    elif len(argv) == 3 and argv[1] == "http-get":
        code = http_get(argv[2])
        print(code)
        return 0 if code == 200 else 1
    elif len(argv) == 4 and argv[1] == "get-missing":
        # GET PREFIX<n> for n = 900000000, 900000001, ... every 0.1 s for SECONDS seconds.
        end, n, codes = time.monotonic() + float(argv[3]), 0, {}
        while time.monotonic() < end:
            code = http_get(f"{argv[2]}{900000000 + n}")
            codes[code] = codes.get(code, 0) + 1
            n += 1
            time.sleep(0.1)
        print(" ".join(f"HTTP {c}: {k}" for c, k in sorted(codes.items())))
    elif len(argv) == 3 and argv[1] == "check":
        failures = check(argv[2])
        print(f"check_ops_live: {failures} failure(s)", flush=True)
        return 1 if failures else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
