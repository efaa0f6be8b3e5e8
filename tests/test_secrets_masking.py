"""Secrets in chart defaults, user overrides and templates never reach any output.

Two charts differ in credentials (values.yaml and a Secret template); every output path
(``diff`` human, ``--json`` and ``--show-diff``, ``classify`` human and ``--json``, and the
pytest suites with their report files) must name what changed without printing a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.charts.values_diff import KeyChange
from pytest_jitera.cli import main
from pytest_jitera.redact import MASK, is_secret_key, mask_value, redact_lines
from tests.classify.conftest import FIXTURES
from tests.conftest import DEPLOYMENT, write_chart, zip_folder

SUITE = Path(__file__).parents[1] / "suites" / "test_before_upgrade.py"

OLD_VERSION, NEW_VERSION = "v24.05.01", "v24.05.01.1"
USER_PG_PASSWORD = "user-pg-Pa55-7f3c91"


def _pem(tag: str, changed_line: int | None = None) -> tuple[str, list[str]]:
    """A PEM block with distinctive body lines, and those lines (the secrets to look for)."""
    body = [f"MII{tag}{i:02d}" + "Qk" * 24 for i in range(8)]
    if changed_line is not None:
        body[changed_line] = f"MII{tag}NEW{changed_line:02d}" + "Zx" * 24
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----\n", body


OLD_CLI_PEM, OLD_CLI_LINES = _pem("oldcli")
NEW_CLI_PEM, NEW_CLI_LINES = _pem("newcli")
OLD_TLS_PEM, OLD_TLS_LINES = _pem("oldtls")
NEW_TLS_PEM, NEW_TLS_LINES = _pem("newtls")
# Only one line in the middle of the template's key changes: its hunk does not reach BEGIN.
OLD_TPL_PEM, OLD_TPL_LINES = _pem("tplkey")
NEW_TPL_PEM, NEW_TPL_LINES = _pem("tplkey", changed_line=6)

SCALAR_SECRETS = {
    "credentials.adminPassword": ("adm-old-Xq81k2", "adm-new-Rt94m7"),
    "credentials.jwtSecret": ("jwt-old-9c0ffee1", "jwt-new-5eed5eed"),
    "smtp.password": ("smtp-old-h7Gq2w", "smtp-new-p3Lk8v"),
    "api.token": ("tok-old-a1b2c3d4", "tok-new-e5f6a7b8"),
}
TEMPLATE_PASSWORDS = ("tpl-old-pw-4411", "tpl-new-pw-9922")
TIMEOUTS = ("7771", 7772)  # credentials.sessionTimeout changes type: string -> int

SECRETS: list[str] = [
    *(value for pair in SCALAR_SECRETS.values() for value in pair),
    *TEMPLATE_PASSWORDS,
    *OLD_CLI_LINES,
    *NEW_CLI_LINES,
    *OLD_TLS_LINES,
    *NEW_TLS_LINES,
    *OLD_TPL_LINES,
    *NEW_TPL_LINES,
    USER_PG_PASSWORD,
    "7771",
    "7772",
]


def _values(side: int) -> dict[str, Any]:
    """values.yaml of the old (0) or new (1) chart."""
    new = side == 1
    return {
        "image": {"repository": "jitera/automation", "tag": OLD_VERSION},
        "credentials": {
            "adminPassword": SCALAR_SECRETS["credentials.adminPassword"][side],
            "jwtSecret": SCALAR_SECRETS["credentials.jwtSecret"][side],
            "sessionTimeout": TIMEOUTS[side],
        },
        "smtp": {"host": "smtp.example.com", "password": SCALAR_SECRETS["smtp.password"][side]},
        "api": {"token": SCALAR_SECRETS["api.token"][side]},
        "cli": {"privateKey": NEW_CLI_PEM if new else OLD_CLI_PEM},
        # Not a secret-looking name: masked because the value is a PEM block.
        "ingress": {"tls": {"key": NEW_TLS_PEM if new else OLD_TLS_PEM}},
        "ui": {"theme": "dark" if new else "light"},
        # The password moves: a user who overrides it gets a hazard naming the key.
        "externalPostgres": {"host": "db.internal", **_pg_password(new)},
        "replicas": 1,
    }


def _pg_password(new: bool) -> dict[str, Any]:
    return {"auth": {"password": ""}} if new else {"password": ""}


def _secret_template(side: int) -> str:
    pem = NEW_TPL_PEM if side else OLD_TPL_PEM
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: jitera-admin\nstringData:\n"
        f"  password: {TEMPLATE_PASSWORDS[side]}\n"
        "  admin: {{ .Values.credentials.adminPassword | quote }}\n"
        "  tls.key: |\n" + "".join(f"    {line}\n" for line in pem.splitlines())
    )


def _write(folder: Path, side: int) -> Path:
    version = NEW_VERSION if side else OLD_VERSION
    templates = {"deployment.yaml": DEPLOYMENT.format(version=version), "secret.yaml": _secret_template(side)}
    return write_chart(folder, version, values=_values(side), templates=templates)


@pytest.fixture
def charts(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "old", 0), _write(tmp_path / "new", 1)


@pytest.fixture
def user_values(tmp_path: Path) -> Path:
    path = tmp_path / "prod-values.yaml"
    path.write_text(yaml.safe_dump({"externalPostgres": {"password": USER_PG_PASSWORD}, "replicas": 3}))
    return path


def assert_no_secret(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"secrets printed: {leaked}"


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert_no_secret(text)
    return code, captured.out


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("credentials.smtp.user", True),
        ("Credentials", True),
        ("smtp.password", True),
        ("externalPostgres.auth.PASSWD", True),
        ("api.token", True),
        ("boost.api-key", True),
        ("openai.apiKey", True),
        ("cli.private_key", True),
        ("jwtSecret", True),
        ("ui.theme", False),
        ("externalPostgres.host", False),
        ("credentialsHelper.path", False),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_mask_value_keeps_harmless_parts() -> None:
    value = {"host": "db", "password": "pw-x1", "env": [{"name": "DB_PASSWORD", "value": "pw-x2"}]}
    masked = mask_value("externalPostgres", value)
    assert masked == {"host": "db", "password": MASK, "env": [{"name": "DB_PASSWORD", "value": MASK}]}
    assert mask_value("ingress.tls.key", OLD_TLS_PEM) == MASK
    assert mask_value("ui.url", "postgres://u:pw-x3@h/db") == f"postgres://u:{MASK}@h/db"
    assert mask_value("credentials.unset", None) is None


def test_key_change_repr_and_type_are_masked_but_typed() -> None:
    change = KeyChange("credentials.sessionTimeout", "type", "7771", 7772)
    assert change.describe() == f"credentials.sessionTimeout: type string -> int ({MASK} -> {MASK})"
    assert change.to_json()["old_type"] == "string"
    assert "7771" not in repr(change)


def test_redact_lines_masks_pem_body_line_by_line() -> None:
    text = _secret_template(0)
    masked = redact_lines(text)
    assert masked.count("\n") == text.count("\n")
    assert_no_secret(masked)
    assert "{{ .Values.credentials.adminPassword | quote }}" in masked


# --- pytest-jitera diff ----------------------------------------------------------------------


def test_diff_human_masks_secrets(
    charts: tuple[Path, Path], user_values: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = charts
    code, out = _run(capsys, ["diff", str(old), str(new), "--values", str(user_values)])
    assert code == 3  # the user's externalPostgres.password moved
    assert "ui.theme: default changed ('light' -> 'dark')" in out
    assert f"credentials.jwtSecret: default changed ({MASK} -> {MASK})" in out
    assert f"credentials.sessionTimeout: type string -> int ({MASK} -> {MASK})" in out
    for key in (*SCALAR_SECRETS, "cli.privateKey", "ingress.tls.key"):
        assert f"{key}: default changed ({MASK} -> {MASK})" in out
    assert "externalPostgres.password (set in" in out


def test_diff_json_masks_secrets(
    charts: tuple[Path, Path], user_values: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = charts
    _, out = _run(capsys, ["diff", str(old), str(new), "--values", str(user_values), "--json"])
    values = json.loads(out)["values"]
    defaults = {c["key"]: (c["old"], c["new"]) for c in values["changed_default"]}
    assert defaults["ui.theme"] == ("light", "dark")
    for key in (*SCALAR_SECRETS, "cli.privateKey", "ingress.tls.key"):
        assert defaults[key] == (MASK, MASK)
    [retyped] = values["type_changed"]
    assert (retyped["key"], retyped["old_type"], retyped["new_type"]) == (
        "credentials.sessionTimeout", "string", "int")
    assert [h["key"] for h in values["override_hazards"]] == ["externalPostgres.password"]


def test_diff_show_diff_masks_templates(
    charts: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = charts
    _, out = _run(capsys, ["diff", str(old), str(new), "--show-diff"])
    assert "+++ new/templates/secret.yaml" in out
    assert f"-  password: {MASK}" in out
    assert f"+  password: {MASK}" in out
    assert f"+    {MASK}" in out  # the changed PEM line, shown as changed


# --- pytest-jitera classify ------------------------------------------------------------------


def _classify(charts: tuple[Path, Path], *extra: str) -> list[str]:
    old, new = charts
    app = FIXTURES / "scenario1"
    return ["classify", "--old-chart", str(old), "--new-chart", str(new),
            "--old-app", str(app / "old" / "app"), "--new-app", str(app / "new" / "app"), *extra]


def test_classify_json_masks_secrets(charts: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, _classify(charts, "--json"))
    assert code == 0
    chart = json.loads(out)["chart"]
    assert "values key ui.theme: default changed ('light' -> 'dark')" in chart["structural_reasons"]
    assert "values key api.token: default changed (***** -> *****)" in chart["structural_reasons"]


def test_classify_human_masks_secrets(charts: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, _classify(charts))
    assert code == 0
    assert f"api.token: default changed ({MASK} -> {MASK})" in out


# --- the pytest suites -----------------------------------------------------------------------


def test_suites_mask_secrets(pytester: pytest.Pytester, tmp_path: Path, user_values: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for side, version in enumerate((OLD_VERSION, NEW_VERSION)):
        zip_folder(_write(tmp_path / f"src-{version}", side), catalog / f"jitera-helm-{version}.zip")
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    report = pytester.path / "report"
    result = pytester.runpytest(
        f"--jitera-from={OLD_VERSION}",
        f"--jitera-to={NEW_VERSION}",
        f"--jitera-charts={catalog}",
        f"--jitera-values={user_values}",
        f"--jitera-report={report}",
        "--jitera-rollback=none",  # the fake charts name no image to classify the rollback from
        "-vv",
    )
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str() + result.stderr.str()
    assert_no_secret(output)
    assert f"credentials.adminPassword: default changed ({MASK} -> {MASK})" in output
    assert "externalPostgres.password (set in" in output
    written = sorted((report / "diffs").iterdir())
    assert written
    for path in written:
        assert_no_secret(path.read_text())

