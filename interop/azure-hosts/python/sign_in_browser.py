"""A stand-in for a person's browser, for ``az login --tenant T`` (the Azure CLI opens the
authorization URL with Python's ``webbrowser``, which runs ``$BROWSER``): it opens the URL, fills
in the hosted sign-in page with KEYWARD_EMAIL and KEYWARD_PASSWORD, and follows the answer (a redirect, or the form_post page) to the Azure CLI's own loopback
server (``http://localhost:PORT``), as a browser would. It trusts
REQUESTS_CA_BUNDLE like the CLI. Not a mock of Keyward: every request goes to the real server."""

import html
import os
import re
import sys
from urllib.parse import urljoin

import requests


def main(url: str) -> None:
    browser = requests.Session()
    page = browser.get(url, timeout=30)
    page.raise_for_status()
    form = re.search(r'<form[^>]*action="([^"]*)"(.*?)</form>', page.text, re.S)
    assert form, page.text
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"', form.group(2))
    }
    fields.update(email=os.environ["KEYWARD_EMAIL"], password=os.environ["KEYWARD_PASSWORD"])
    answer = browser.post(urljoin(page.url, html.unescape(form.group(1))), data=fields, allow_redirects=False, timeout=60)
    location = answer.headers.get("location", "")
    if answer.status_code in (302, 303) and location.startswith("http://localhost"):
        requests.get(location, timeout=30)
        return
    # response_mode=form_post (what MSAL Python asks): the page posts the code to the
    # application, as its script does in a browser.
    posted = re.search(r'<form method="post" action="(http://localhost[^"]*)"(.*?)</form>', answer.text, re.S)
    assert answer.status_code == 200 and posted, (answer.status_code, answer.text[:2000])
    values = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', posted.group(2)))
    requests.post(html.unescape(posted.group(1)), data={k: html.unescape(v) for k, v in values.items()}, timeout=30)

if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except BaseException as error:  # the CLI shows nothing of its browser: leave a trace
        with open(os.environ.get("KEYWARD_BROWSER_LOG", os.devnull), "a", encoding="utf-8") as log:
            log.write(f"{sys.argv[1:]}: {error!r}\n")
        raise
