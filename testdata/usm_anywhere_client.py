#!/usr/bin/env python3
"""How public integrations page USM Anywhere alarms (the XSOAR and Siemplify style), as a plain
Python client with `requests`: the baseline `make bench` compares the receiver with.

Written from the vendor's API description and the shape of those integrations' loops (not copied
from them): an OAuth2 client-credentials token, then one fixed time window, timestamp_occured_gte
to timestamp_occured_lte, sorted ascending, read page after page with page=0, 1, 2, ... and
size=100 until page.totalElements alarms were read, one request at a time. Each alarm is written
as a JSON line as its page arrives (the integrations collect them all first; this is kinder to
the client's memory). A 429 is waited out for its Retry-After and asked again, where the
integrations would fail the run.

Usage: usm_anywhere_client.py ENDPOINT CLIENT_ID CLIENT_SECRET > summary.json
It writes its JSON lines to os.devnull and prints {"records", "seconds", "peak_rss"}.
"""

import json
import os
import sys
import time

import requests

import bench_summary

PAGE_SIZE = 100
LOOKBACK_MS = 25 * 3600 * 1000


def token(session, endpoint, client_id, client_secret):
    resp = session.post(endpoint + "/api/2.0/oauth/token", params={"grant_type": "client_credentials"},
                        auth=(client_id, client_secret))
    resp.raise_for_status()
    return "Bearer " + resp.json()["access_token"]


def get(session, url, params):
    """GET with the API's rate limit waited out."""
    while True:
        resp = session.get(url, params=params)
        if resp.status_code != 429:
            resp.raise_for_status()
            return resp.json()
        time.sleep(float(resp.headers.get("Retry-After", "1")))


def alarms(session, endpoint):
    """Yields every alarm of the last LOOKBACK_MS, paging with page=N."""
    now = int(time.time() * 1000)
    params = {"page": 0, "size": PAGE_SIZE, "sort": "timestamp_occured,asc",
              "timestamp_occured_gte": now - LOOKBACK_MS, "timestamp_occured_lte": now}
    read = 0
    while True:
        data = get(session, endpoint + "/api/2.0/alarms", params)
        page = data.get("_embedded", {}).get("alarms", [])
        yield from page
        read += len(page)
        if not page or read >= data["page"]["totalElements"]:
            return
        params["page"] += 1


def main(endpoint, client_id, client_secret):
    start = time.monotonic()
    endpoint = endpoint.rstrip("/")
    session = requests.Session()
    session.headers["Authorization"] = token(session, endpoint, client_id, client_secret)
    session.headers["Accept"] = "application/json"
    out = open(os.devnull, "w")
    records = 0
    for alarm in alarms(session, endpoint):
        out.write(json.dumps(alarm) + "\n")
        records += 1
    bench_summary.report(records, start)


if __name__ == "__main__":
    main(*sys.argv[1:])
