#!/usr/bin/env python3
"""The reference approach Cisco's Global Threat Alerts documentation describes, as a plain
Python client with `requests`: the baseline `make bench` compares the receiver with.

Written from the description in the docs (not copied from Cisco's scripts): OAuth2 client
credentials, then every alert and every event, each paged through pageInfo.next until
hasNextPage is false, as the docs' get_all_alerts example pages alerts, one JSON line each.

With "enrich", events are read as the docs' get_security_annotations example reads them: the
enriched resource in modificationSequenceNumber order, then the parent threat detections and
alerts of all events loaded in bulk (at most 1,000 ids a search, continued with
after=endCursor), and each event is written with its parents' attributes.

Usage: cisco_client.py ENDPOINT CUSTOMER_ID CLIENT_ID CLIENT_SECRET [enrich] > summary.json
It writes its JSON lines to os.devnull and prints {"records", "seconds", "peak_rss"}.
"""

import json
import os
import sys
import time

import requests

import bench_summary

PAGE_SIZE = 1000
MAX_BULK_IDS = 1000


class ApiClient:
    def __init__(self, endpoint, client_id, client_secret):
        self.endpoint = endpoint.rstrip("/")
        self.session = requests.Session()
        resp = self.session.post(
            self.endpoint + "/iroh/oauth2/token",
            auth=(client_id, client_secret),
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
        )
        resp.raise_for_status()
        # The token response says "bearer"; the API wants "Bearer".
        self.headers = {"Authorization": "Bearer " + resp.json()["access_token"], "Accept": "application/json"}

    def collection(self, path, params=None):
        """Yields every item of a GET collection, following pageInfo.next."""
        url, query = self.endpoint + path, dict(params or {}, size=PAGE_SIZE)
        while True:
            resp = self.session.get(url, params=query, headers=self.headers)
            resp.raise_for_status()
            data = resp.json()
            yield from data["items"]
            if not data["pageInfo"]["hasNextPage"]:
                return
            url, query = self.endpoint + data["pageInfo"]["next"], None

    def search(self, path, body):
        """Yields every item of a POST search, continuing with after=endCursor."""
        params = {"size": PAGE_SIZE}
        while True:
            resp = self.session.post(self.endpoint + path, params=params, json=body, headers=self.headers)
            resp.raise_for_status()
            data = resp.json()
            yield from data["items"]
            if not data["pageInfo"]["hasNextPage"]:
                return
            params["after"] = data["pageInfo"]["endCursor"]

    def bulk(self, path, key, ids):
        for i in range(0, len(ids), MAX_BULK_IDS):
            yield from self.search(path, {"filter": {key: ids[i:i + MAX_BULK_IDS]}})


def main(endpoint, customer_id, client_id, client_secret, mode="page"):
    start = time.monotonic()
    api = ApiClient(endpoint, client_id, client_secret)
    out = open(os.devnull, "w")
    records = 0

    for alert in api.collection("/alert-management/customer/" + customer_id + "/alerts"):
        out.write(json.dumps(alert) + "\n")
        records += 1
    if mode == "enrich":
        records += enriched_events(api, customer_id, out)
    else:
        for event in api.collection("/event-detection/customer/" + customer_id + "/events"):
            out.write(json.dumps(event) + "\n")
            records += 1

    bench_summary.report(records, start)


def enriched_events(api, customer_id, out):
    base = "/alert-management/customer/" + customer_id
    events, detection_ids = [], set()
    for event in api.collection("/threat-detection/customer/" + customer_id + "/enriched-events-with-threat-detection-ids",
                                {"sort": "modificationSequenceNumber"}):
        events.append(event)
        detection_ids.update(event.get("threatDetectionIds") or [])

    context, alert_ids = {}, set()
    for detection in api.bulk(base + "/enriched-threat-detections-with-alert-ids/search", "threatDetectionIds", sorted(detection_ids)):
        context[detection["id"]] = detection
        alert_ids.update(detection.get("alertIds") or [])
    for alert in api.bulk(base + "/alerts/search", "alertIds", sorted(alert_ids)):
        context[alert["id"]] = alert

    for event in events:
        parents = [context[d] for d in event.get("threatDetectionIds") or [] if d in context]
        attributes = {"eventType": "convicting" if parents else "contextual"}
        for detection in parents:
            attributes["threatDetectionTitle"] = detection.get("title")
            for alert_id in detection.get("alertIds") or []:
                if alert_id in context:
                    attributes["alertId"], attributes["alertRisk"] = alert_id, context[alert_id].get("risk")
        out.write(json.dumps({"event": event, "attributes": attributes}) + "\n")
    return len(events)


if __name__ == "__main__":
    main(*sys.argv[1:])
