#!/usr/bin/env python3
"""The staff pages end to end, in a real browser (Chromium through WebDriver), against the real daemon.

The journey: a jcp-leeds work coach refers a claimant to cwp-a; cwp-a's SPOC sees the referral, reports the
start and three sickness absences; the third reaches jcp-leeds's SPOC with its due date; that SPOC answers
"treat as available"; cwp-a's SPOC sees the answer linked to the absence. Along the way cwp-b's SPOC fails
to open cwp-a's notice by its address. Every page is checked with axe-core (no violation of WCAG 2.2 A/AA or
best practice) and for browser console errors, and kept as a screenshot under .build/e2e/.

usage: Tests/e2e/staff_journey.py BINARY AXE_JS
"""
import datetime
import json
import os
import pathlib
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

binary, axe_path = sys.argv[1], sys.argv[2]
repository = pathlib.Path(__file__).resolve().parent.parent.parent
shots = repository / ".build/e2e"
shutil.rmtree(shots, ignore_errors=True)
shots.mkdir(parents=True)
axe_source = pathlib.Path(axe_path).read_text()
work = pathlib.Path(tempfile.mkdtemp(prefix="liaison-e2e-"))
accounts = {
    "coach@jcp-leeds.test": ("Leeds work coach", "jcp-leeds", "[work-coach]"),
    "spoc@jcp-leeds.test": ("Leeds SPOC", "jcp-leeds", "[spoc, nominated-manager]"),
    "spoc@cwp-a.test": ("CWP A SPOC", "cwp-a", "[spoc]"),
    "spoc@cwp-b.test": ("CWP B SPOC", "cwp-b", "[spoc]"),
}
staff = "\n".join(f"    - {{email: {email}, name: {name}, party: {party}, roles: {roles}}}" for email, (name, party, roles) in accounts.items())
(work / "liaison.yaml").write_text(f"""
listen: {{host: 127.0.0.1, port: 0}}
dataDirectory: data
rules: {repository}/config/rules.yaml
holidays: {repository}/config/uk-bank-holidays.json
parties:
  - {{id: jcp-leeds, kind: jobcentre, calendar: england-and-wales, tokens: [e2e-token-jcp-leeds-0123456789]}}
  - {{id: cwp-a, kind: cwp, tokens: [e2e-token-cwp-a-0123456789]}}
  - {{id: cwp-b, kind: cwp, tokens: [e2e-token-cwp-b-0123456789]}}
staff:
  accounts:
{staff}
""")
out = open(work / "out.log", "w")
daemon = subprocess.Popen([binary, "serve", "--config", str(work / "liaison.yaml")], stdout=out, stderr=open(work / "daemon.log", "w"))
driver = None
failures = []
# Every WCAG 2.0-2.2 A and AA rule, and axe's best practices; each violation with where it is.
AXE_RUN = """
const done = arguments[arguments.length - 1];
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(function (results) {
  const found = results.violations.map(function (v) {
    return {id: v.id, impact: v.impact, nodes: v.nodes.map(function (n) { return n.target.join(' '); })};
  });
  done(JSON.stringify(found));
}).catch(function (error) {
  done(JSON.stringify([{id: 'axe-error', impact: String(error), nodes: []}]));
});
"""


def fail(message):
    failures.append(message)
    print("FAIL:", message, flush=True)


try:
    for _ in range(200):
        text = (work / "out.log").read_text()
        if "ui/setup/" in text:
            break
        time.sleep(0.1)
    text = (work / "out.log").read_text()
    base = re.search(r"Staff pages: (https://localhost:\d+)/ui/", text).group(1)
    links = dict(re.findall(r"^  (\S+@\S+) \(.*\)\n    (https://\S+)$", text, re.M))
    assert len(links) == len(accounts), text

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors", "--window-size=1280,1400"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    page_number = [0]

    def check(name, expect=None):
        """Axe, console errors and a screenshot, for the page as it is now. A step that expects an error status
        (a form answered 422, a notice not found) names it; the browser's note of that status is then no error,
        and any other console message still is."""
        page_number[0] += 1
        driver.save_screenshot(str(shots / f"{page_number[0]:02d}-{name}.png"))
        driver.execute_script(axe_source)
        result = driver.execute_async_script(AXE_RUN)
        for violation in json.loads(result):
            fail(f"{name}: axe {violation['id']} ({violation['impact']}) at {violation['nodes'][:3]}")
        for entry in driver.get_log("browser"):
            expected = expect is not None and f"responded with a status of {expect}" in entry["message"]
            if entry["level"] in ("SEVERE", "ERROR") and not expected:
                fail(f"{name}: console {entry['message']}")

    def go(path, name, expect=None):
        driver.get(path if path.startswith("https://") else base + path)
        check(name, expect)

    def fill(field_id, value):
        element = driver.find_element(By.ID, field_id)
        element.clear()
        element.send_keys(value)

    def date(prefix, day):
        fill(f"{prefix}-day", str(day.day))
        fill(f"{prefix}-month", str(day.month))
        fill(f"{prefix}-year", str(day.year))

    def submit(name, expect=None):
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit].govuk-button:not(.govuk-button--secondary)").click()
        check(name, expect)

    def password(email):
        return "journey password for " + email.split("@")[1]

    def sign_in(email):
        driver.delete_all_cookies()
        go("/ui/sign-in", f"sign-in-{email.split('@')[1]}")
        fill("email", email)
        fill("password", password(email))
        submit(f"signed-in-{email.split('@')[1]}")
        assert driver.current_url.rstrip("/").endswith("/ui"), driver.current_url

    # Every account sets its password with its link, in the browser.
    for email, link in links.items():
        driver.delete_all_cookies()
        go(link, f"set-up-{email.split('@')[0]}-{email.split('@')[1]}")
        fill("password", password(email))
        fill("confirm", password(email))
        submit(f"set-up-done-{email.split('@')[1]}")

    today = datetime.date.today()
    referral = today - datetime.timedelta(days=10)
    nino = "QQ123456C".replace("QQ", "AB")

    # 1. A jcp-leeds work coach refers a claimant to cwp-a.
    sign_in("coach@jcp-leeds.test")
    go("/ui/send", "send-choose")
    go("/ui/send/cwp.referral", "referral-form")
    submit("referral-errors", expect=422)  # empty: every required field says what it needs
    if "There is a problem" not in driver.page_source:
        fail("an empty referral form was not refused with an error summary")
    fill("nino", nino)
    driver.find_element(By.CSS_SELECTOR, "input[name=to][value=cwp-a]").click()
    date("body-referralDate", referral)
    date("body-wpciDate", referral - datetime.timedelta(days=14))
    date("body-engagementMeeting", referral + datetime.timedelta(days=1))
    fill("body-engagementMeeting-hour", "10")
    fill("body-engagementMeeting-minute", "00")
    fill("body-restrictions", "None")
    submit("referral-sent")
    if "Liaison accepted the notice" not in driver.page_source:
        fail("the referral was not accepted: " + driver.find_element(By.TAG_NAME, "main").text[:500])
    referral_url = driver.current_url.split("?")[0]

    # 2. cwp-a's SPOC sees the referral, reports the start and three sickness absences.
    sign_in("spoc@cwp-a.test")
    go("/ui/inbox/spoc", "cwp-a-inbox")
    if nino not in driver.page_source:
        fail("cwp-a's SPOC does not see the referral in the inbox")
    driver.find_element(By.LINK_TEXT, "Community Work Placement referral").click()
    check("cwp-a-referral")
    driver.find_element(By.LINK_TEXT, "Send: Placement started").click()
    check("start-form")
    date("body-startDate", referral + datetime.timedelta(days=1))
    submit("start-sent")
    absence_urls = []
    for number, start in enumerate([2, 4, 6], start=1):
        go("/ui/send/cwp.absence", f"absence-form-{number}")
        fill("nino", nino)
        driver.find_element(By.ID, "body-reported").click()
        Select(driver.find_element(By.ID, "body-reason")).select_by_value("sickness")
        date("body-from", referral + datetime.timedelta(days=start))
        date("body-to", referral + datetime.timedelta(days=start + 1))
        submit(f"absence-sent-{number}")
        if "Liaison accepted the notice" not in driver.page_source:
            fail(f"absence {number} was not accepted: " + driver.find_element(By.TAG_NAME, "main").text[:500])
        absence_urls.append(driver.current_url.split("?")[0])
    if "Referred to SPOC" not in driver.page_source:
        fail("the third sickness absence was not referred to the SPOC")

    # Along the way, cwp-b's SPOC fails to open cwp-a's notice by its address.
    sign_in("spoc@cwp-b.test")
    go(absence_urls[-1], "cwp-b-refused", expect=404)
    if "Page not found" not in driver.page_source or nino in driver.page_source:
        fail("cwp-b's SPOC could open cwp-a's notice")

    # 3. The third absence reaches jcp-leeds's SPOC with its due date; 4. the SPOC treats it as available.
    sign_in("spoc@jcp-leeds.test")
    go("/ui/inbox/spoc", "leeds-spoc-inbox")
    if "SPOC advice due by" not in driver.page_source:
        fail("the SPOC's inbox does not show when the advice is due")
    driver.find_element(By.CSS_SELECTOR, "table.app-inbox tbody tr:first-child a").click()
    check("leeds-absence")
    driver.find_element(By.LINK_TEXT, "Send: SPOC advice on an absence").click()
    check("advice-form")
    driver.find_element(By.ID, "body-treatAsAvailable").click()
    fill("body-note", "Fit note seen by telephone")
    submit("advice-sent")
    if "Treat as available" not in driver.page_source:
        fail("the SPOC's advice was not decided treat as available")

    # 5. cwp-a's SPOC sees the answer, linked to the absence.
    sign_in("spoc@cwp-a.test")
    go("/ui/inbox/spoc", "cwp-a-inbox-answer")
    driver.find_element(By.LINK_TEXT, "SPOC advice on an absence").click()
    check("cwp-a-advice")
    driver.find_element(By.LINK_TEXT, "The notice it answers").click()
    check("cwp-a-absence-answered")
    if driver.current_url.split("?")[0] != absence_urls[-1]:
        fail("the answer does not link to the absence")
    if "Answers to this notice" not in driver.page_source:
        fail("the absence does not link to its answer")
    go(referral_url, "cwp-a-timeline")
    go("/ui/", "cwp-a-home")

    # Live updates: a notice sent while the inbox is open shows there without a reload.
    go("/ui/inbox/spoc", "cwp-a-inbox-live")
    time.sleep(1)
    change = {
        "id": str(uuid.uuid4()), "type": "cwp.change-of-circumstances", "nino": nino,
        "sentAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": {"change": "address", "effectiveDate": today.isoformat()},
    }
    context = ssl.create_default_context(cafile=str(work / "data/tls/ca.pem"))
    request = urllib.request.Request(
        base + "/v1/messages", data=json.dumps(change).encode(), method="POST",
        headers={"Authorization": "Bearer e2e-token-jcp-leeds-0123456789", "Content-Type": "application/json"})
    if urllib.request.urlopen(request, context=context).status != 202:
        fail("the change of circumstances was not accepted")
    for _ in range(100):
        if "A new notice has arrived" in driver.find_element(By.ID, "live-updates").text:
            break
        time.sleep(0.1)
    else:
        fail("a new notice did not show on the open inbox page")
    check("cwp-a-inbox-live-news")
finally:
    if driver:
        driver.quit()
    daemon.terminate()
    daemon.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print(f"e2e: {len(failures)} failure(s)")
    sys.exit(1)
print(f"e2e: the staff journey passed in a real browser; {len(list(shots.glob('*.png')))} pages checked with axe-core, "
      f"no violation and no console error; screenshots in {shots}")
