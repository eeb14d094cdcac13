"""Drives the REST data API with the real simple-salesforce package and prints one
JSON line of observations for the Rust test to check.

usage: python3 simple_salesforce_records.py BASE_URL USERNAME BULK   (stdin: password, security token)

Logs in by SOAP (SalesforceLogin(scratch_url=BASE_URL)), then uses
Salesforce(session_id=…, instance_url=…) — wire-spec §8.1 (a) and (c). Over TLS the
demo CA comes from REQUESTS_CA_BUNDLE.
"""

import csv
import datetime
import io
import json
import sys

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.login import SalesforceLogin


def error_name(e: SalesforceError) -> str:
    content = e.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return f"{type(e).__name__}:{content[0].get('errorCode')}"
    return type(e).__name__


def main() -> None:
    base, username, bulk = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lines = sys.stdin.read().split("\n")
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    session_id, instance = SalesforceLogin(
        username=username, password=lines[0], security_token=lines[1], scratch_url=base
    )
    sf = Salesforce(session_id=session_id, instance_url=f"https://{instance}", version="59.0")
    out = {}

    created = sf.Contact.create({"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.org"})
    out["created"] = created
    cid = created["id"]
    got = sf.Contact.get(cid)
    out["got"] = {"Name": got["Name"], "Email": got["Email"], "type": got["attributes"]["type"]}
    out["update_status"] = sf.Contact.update(cid, {"Title": "Rear Admiral"})
    out["title"] = sf.Contact.get(cid)["Title"]

    for i in range(0, bulk, 200):
        records = [
            {"attributes": {"type": "Contact"}, "LastName": f"Py {j}", "Email": f"py{j}@example.org"}
            for j in range(i, min(bulk, i + 200))
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert all(r["success"] for r in results), results

    # Bulk API 2.0: a query job, polled until complete, its results paged by locator.
    sets = list(
        sf.bulk2.Contact.query("SELECT Id, LastName, Email FROM Contact WHERE Email LIKE 'py%'", max_records=1000, wait=1)
    )
    rows = [row for s in sets for row in csv.DictReader(io.StringIO(s))]
    out["bulk2"] = {
        "sets": len(sets),
        "rows": len(rows),
        "distinct": len({r["Id"] for r in rows}),
        "first": sorted(r["LastName"] for r in rows)[0] if rows else None,
        "columns": sorted(rows[0].keys()) if rows else [],
    }

    # Bulk API 2.0 ingest: a job, its CSV upload, polled to the end, its results.
    loaded = sf.bulk2.Contact.insert(
        records=[{"LastName": f"Bulk2 {i}", "Email": f"b2_{i}@example.org"} for i in range(3000)]
        + [{"LastName": "", "Email": "nolast@example.org"}],
        wait=1,
    )
    job_id = loaded[0]["job_id"]
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Contact.get_failed_records(job_id))))
    succeeded = list(csv.DictReader(io.StringIO(sf.bulk2.Contact.get_successful_records(job_id))))
    out["bulk2_insert"] = {
        "jobs": len(loaded),
        "processed": loaded[0]["numberRecordsProcessed"],
        "failed": loaded[0]["numberRecordsFailed"],
        "failed_error": failed[0]["sf__Error"] if failed else None,
        "succeeded": len(succeeded),
        "created": all(r["sf__Created"] == "true" for r in succeeded),
        "counted": sf.query("SELECT COUNT() FROM Contact WHERE Email LIKE 'b2_%'")["totalSize"],
    }

    everything = sf.query_all("SELECT Id, Name FROM Contact WHERE Email LIKE 'py%'")
    out["query_all_total"] = everything["totalSize"]
    out["query_all_records"] = len(everything["records"])
    out["query_all_done"] = everything["done"]

    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    updated = sf.Contact.updated(start, end)
    out["updated_has_created"] = cid in updated["ids"]

    describe = sf.Contact.describe()
    out["describe_name"] = describe["name"]
    out["describe_has_email"] = any(f["name"] == "Email" for f in describe["fields"])

    out["is_sandbox"] = sf.is_sandbox()
    user_describe = sf.User.describe()
    out["user_describe"] = {
        "name": user_describe["name"],
        "createable": user_describe["createable"],
        "has_username": any(f["name"] == "Username" for f in user_describe["fields"]),
    }
    layout = sf.Contact.describe_layout("012000000000000AAA")
    out["layout_fields"] = [
        item["layoutComponents"][0]["value"]
        for row in layout["detailLayoutSections"][0]["layoutRows"]
        for item in row["layoutItems"]
    ]
    owned = sf.query(f"SELECT Owner.Username FROM Contact WHERE Id = '{cid}'")
    out["owner_username"] = owned["records"][0]["Owner"]["Username"]

    out["delete_status"] = sf.Contact.delete(cid)
    deleted = sf.Contact.deleted(start, end)
    out["deleted_ids"] = [d["id"] for d in deleted["deletedRecords"]]

    for name, call in [
        ("malformed_id", lambda: sf.Contact.get("003bogus")),
        ("not_found", lambda: sf.Lead.get("00Q8L0000000001")),
        ("bad_soql", lambda: sf.query("SELECT Nope FROM Contact")),
        ("too_long", lambda: sf.Contact.create({"LastName": "x" * 81})),
    ]:
        try:
            call()
            out[name] = "no error"
        except SalesforceError as e:
            out[name] = error_name(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
