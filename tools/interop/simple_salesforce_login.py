"""Logs in with the real simple-salesforce package and prints one JSON line.

usage: python3 simple_salesforce_login.py soap  BASE_URL USERNAME   (stdin: password, security token)
       python3 simple_salesforce_login.py oauth BASE_URL USERNAME   (stdin: password, consumer key, consumer secret)
       python3 simple_salesforce_login.py jwt   BASE_URL USERNAME   (stdin: consumer key, private key file)

SOAP goes through SalesforceLogin(scratch_url=BASE_URL). For OAuth and JWT, simple-salesforce
hard-codes https://login.salesforce.com, so a requests.Session rewrites that prefix to
BASE_URL (wire-spec §8.1 (b)); nothing else about the client is changed.
"""

import json
import sys

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin


class Loopback(requests.Session):
    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        for prefix in ("https://login.salesforce.com", "https://test.salesforce.com"):
            if url.startswith(prefix):
                url = self.base + url[len(prefix):]
        return super().request(method, url, *args, **kwargs)


def main() -> None:
    mode, base, username = sys.argv[1:4]
    lines = sys.stdin.read().split("\n")
    try:
        if mode == "soap":
            session_id, instance = SalesforceLogin(
                username=username, password=lines[0], security_token=lines[1], scratch_url=base
            )
        elif mode == "jwt":
            # The assertion is simple-salesforce's own: aud https://login.salesforce.com,
            # exp a string of seconds three minutes ahead.
            session_id, instance = SalesforceLogin(
                username=username,
                consumer_key=lines[0],
                privatekey_file=lines[1],
                session=Loopback(base),
            )
        else:
            session_id, instance = SalesforceLogin(
                username=username,
                password=lines[0],
                consumer_key=lines[1],
                consumer_secret=lines[2],
                session=Loopback(base),
            )
        print(json.dumps({"ok": True, "instance": instance, "has_session": len(session_id) > 20}))
    except SalesforceAuthenticationFailed as e:
        print(json.dumps({"ok": False, "code": e.code, "message": e.auth_message, "text": str(e)}))
    except requests.exceptions.SSLError as e:
        print(json.dumps({"ok": False, "code": "SSL", "message": str(e)}))


if __name__ == "__main__":
    main()
