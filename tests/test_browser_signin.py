"""Signing in with OpenID Connect, in headless chromium: the account, not the browser, owns runs.

A mock OpenID Connect provider (oidc-provider-mock) listens on loopback; the app is served with
an `[auth]` secrets file that names it. One account signed in from two browsers shares its run;
another account has none of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import main_button, serving_app, shot, wait_idle

# A run of minutes: still going when the second browser presses Stop, however slow the sign-ins.
RUN = "dataset=digits&hidden=16&epochs=1000&batch=16&lr=0.01&device=cpu"


@pytest.fixture(scope="module")
def signin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("authlib", reason="pip install Authlib (st.login needs it)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mock's own deprecation warnings
        mock = pytest.importorskip("oidc_provider_mock", reason="pip install oidc-provider-mock")
    folder = tmp_path_factory.mktemp("signin")
    with mock.run_server_in_thread() as provider, serving_app(
        {"RNNVIZ_RUNS_DIR": str(folder / "runs")}, folder / "streamlit.log",
        "--secrets.files", str(folder / "secrets.toml"),
    ) as url:  # fmt: skip
        (folder / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{url}/oauth2callback"\n'
            'cookie_secret = "a cookie secret for this test only"\n'
            'client_id = "rnnviz"\nclient_secret = "not a secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{provider.server_port}'
            '/.well-known/openid-configuration"\n'
        )  # Streamlit reads its secrets on first use, after the server has started
        yield url


def signed_in(browser: Any, url: str, account: str) -> Any:
    """A new browser, signed in as `account`, on the Train page with `RUN`'s settings."""
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.set_default_timeout(60_000)
    tab.goto(f"{url}/train?{RUN}")
    tab.get_by_role("button", name="Sign in").click()
    tab.fill("input[name=sub]", account)  # the provider's own form
    tab.locator("button[type=submit]").first.click()
    tab.get_by_role("button", name="Sign out").wait_for()
    tab.goto(f"{url}/train?{RUN}")
    tab.get_by_role("heading", name="Train", exact=True).wait_for()
    wait_idle(tab)
    return tab


@pytest.mark.browser
def test_one_account_owns_its_run_in_every_browser(browser: Any, signin_url: str) -> None:
    first = signed_in(browser, signin_url, "student@school.example")
    first.get_by_role("button", name="Start training").click()
    first.get_by_text("running · epoch").wait_for()

    again = signed_in(browser, signin_url, "student@school.example")  # another device
    again.get_by_text("running · epoch").wait_for()  # the same account sees its run
    shot(again, "signin-same-account")
    other = signed_in(browser, signin_url, "teacher@school.example")
    other.get_by_text("Nothing trained yet in this tab").wait_for()
    assert main_button(other, "Stop").is_disabled()

    main_button(again, "Stop").click()  # and can stop it from there
    first.locator('[data-testid="stAlertContentWarning"]').get_by_text("Stopped").wait_for()
    for tab in (first, again, other):
        tab.context.close()
