"""The product profile: the shipped one matches the reference chart, a bad one gets one clear message."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.charts.values_diff import dig
from pytest_jitera.cluster.tools import find_tools
from pytest_jitera.errors import InputError, JiteraError, ToolError
from pytest_jitera.profile import REFERENCE_PROFILE, Profile, load_profile, parse_profile
from pytest_jitera.reference import REFERENCE_ROOT
from pytest_jitera.reference.build import ReleaseBuild, build_reference
from pytest_jitera.release.versions import Version
from pytest_jitera.runner import session_runner

SERIES = ("v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01")
# 891 bytes that expand to 9**9 (387 million) list items once walked.
ALIAS_BOMB = "\n".join(
    [f"a: &a [{','.join(['lol'] * 9)}]"]
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)


def _reference_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REFERENCE_PROFILE.read_text())
    return data


# ----------------------------------------------------------------- the shipped profile


def test_shipped_profile_loads_with_the_reference_names() -> None:
    profile = load_profile(REFERENCE_PROFILE)
    assert profile.release == "jitera"
    assert profile.migration.job == "jitera-migrate"
    assert (
        profile.migration.selector == "app.kubernetes.io/instance=jitera,app.kubernetes.io/component=migrate"
    )
    assert [str(w) for w in profile.workloads.db_clients] == [
        "Deployment/jitera-automation",
        "Deployment/jitera-worker",
        "Deployment/jitera-ultron",
    ]
    assert [d.name for d in profile.datastores] == ["automation", "pgvector", "mongodb"]
    assert profile.datastore("automation").in_cluster is not None
    assert profile.cli_key is not None
    assert (profile.cli_key.secret, profile.cli_key.key) == ("jitera-cli-public-key", "public.pem")
    assert profile.migration_image("automation").app_path == "/app"
    assert profile.smoke.studio.url == "http://jitera-studio:8080/"


def test_other_release_name_renders_every_name_again() -> None:
    profile = load_profile(REFERENCE_PROFILE).with_release("rehearsal-gw1")
    assert profile.release == "rehearsal-gw1"
    assert profile.migration.job == "rehearsal-gw1-migrate"
    assert dict(profile.migration.pod_labels)["app.kubernetes.io/instance"] == "rehearsal-gw1"
    store = profile.datastore("pgvector")
    assert store.in_cluster is not None
    assert store.in_cluster.pod == "rehearsal-gw1-pgvector-0"
    assert store.credentials.secret == "rehearsal-gw1-credentials"
    assert profile == load_profile(REFERENCE_PROFILE, release="rehearsal-gw1")


def test_a_moved_values_key_is_spelled_per_release() -> None:
    host = load_profile(REFERENCE_PROFILE).datastore("automation").endpoint_values.host
    assert host is not None
    assert host.at(Version.parse("v24.05.01.1")) == "externalPostgres.host"
    assert host.at(Version.parse("v24.06.01")) == "externalPostgres.primary.host"
    assert host.at(Version.parse("v24.08.01")) == "externalPostgres.primary.host"
    assert host.at() == "externalPostgres.primary.host"
    assert host.at(Version.parse("v23.01.01")) == "externalPostgres.host"  # older than the profile knows


def test_endpoint_assignments_refuse_a_field_without_a_key() -> None:
    endpoint = load_profile(REFERENCE_PROFILE).datastore("mongodb").endpoint_values
    assert endpoint.assignments(uri="mongodb://restored:27017/") == {
        "externalMongodb.uri": "mongodb://restored:27017/"
    }
    with pytest.raises(JiteraError, match="no endpoint values key for 'host'"):
        endpoint.assignments(host="restored")


def test_image_reference_comes_from_the_values() -> None:
    image = load_profile(REFERENCE_PROFILE).migration_image("automation").image
    values = {"automation": {"image": {"repository": "jitera/automation", "tag": "v24.06.01"}}}
    assert image.reference(values) == "jitera/automation:v24.06.01"
    with pytest.raises(JiteraError, match=r"automation\.image\.tag"):
        image.reference({"automation": {"image": {"repository": "jitera/automation"}}})


@pytest.fixture(scope="module")
def reference_charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReleaseBuild]:
    built = build_reference(tmp_path_factory.mktemp("profile-reference"))
    return {str(release.version): release for release in built.releases}


@pytest.fixture(scope="module")
def helm() -> str:
    runner = session_runner()
    try:
        tools = find_tools(runner, ("helm",), cache_bin=Path.home() / ".cache" / "pytest-jitera" / "bin")
    except ToolError as exc:
        pytest.skip(f"helm is needed to render the reference chart: {exc.message}")
    return tools["helm"]


def _render(helm: str, chart: Path, *sets: str) -> list[dict[str, Any]]:
    argv = [helm, "template", "jitera", str(chart)]
    for assignment in sets:
        argv += ["--set", assignment]
    done = session_runner().run(argv, timeout=120)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _objects(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def _containers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["spec"]["template"]["spec"]["containers"]}


def _has_key(values: dict[str, Any], dotted: str) -> bool:
    *parents, leaf = dotted.split(".")
    node = dig(values, ".".join(parents)) if parents else values
    return isinstance(node, dict) and leaf in node


@pytest.mark.parametrize("version", SERIES)
def test_shipped_profile_names_what_helm_renders(
    helm: str, reference_charts: dict[str, ReleaseBuild], version: str
) -> None:
    profile = load_profile(REFERENCE_PROFILE)
    chart = reference_charts[version].trees["chart"]
    objects = _objects(_render(helm, chart))

    job = objects[("Job", profile.migration.job)]
    assert "post-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert dict(profile.migration.pod_labels).items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert profile.migration.container in _containers(job)

    holding = {
        (kind, name)
        for (kind, name), doc in objects.items()
        if kind in ("Deployment", "StatefulSet")
        and doc["spec"]["template"]["metadata"]["labels"].get("jitera.ai/holds-db-connections") == "true"
    }
    assert {(w.kind, w.name) for w in profile.workloads.db_clients} == holding
    for ref in profile.workloads.user_facing.workloads:
        assert (ref.kind, ref.name) in objects
        assert (ref.kind, ref.name) not in holding

    for store in profile.datastores:
        place = store.in_cluster
        assert place is not None
        statefulset = objects[("StatefulSet", place.statefulset)]
        assert statefulset["spec"]["replicas"] == 1
        assert place.pod == f"{place.statefulset}-0"
        assert statefulset["spec"]["serviceName"] == place.service
        ports = [p["containerPort"] for p in _containers(statefulset)[place.container]["ports"]]
        assert place.port in ports
        assert place.port in [p["port"] for p in objects[("Service", place.service)]["spec"]["ports"]]
        secret = objects[("Secret", store.credentials.secret)]
        assert store.credentials.key in secret["stringData"]

    assert profile.cli_key is not None
    assert profile.cli_key.key in objects[("Secret", profile.cli_key.secret)]["stringData"]

    assert profile.smoke.invite is not None
    assert profile.smoke.cli is not None
    for check in (profile.smoke.studio, profile.smoke.invite.request, profile.smoke.cli.request):
        service = objects[("Service", check.service)]
        assert check.port in [p["port"] for p in service["spec"]["ports"]]

    values = yaml.safe_load((chart / "values.yaml").read_text())
    image = profile.migration_image("automation").image.reference(values, Version.parse(version))
    assert _containers(job)[profile.migration.container]["image"] == image


@pytest.mark.parametrize("version", SERIES)
def test_every_values_key_of_the_profile_is_in_the_chart(
    reference_charts: dict[str, ReleaseBuild], version: str
) -> None:
    values = yaml.safe_load((reference_charts[version].trees["chart"] / "values.yaml").read_text())
    keys = load_profile(REFERENCE_PROFILE).values_keys(Version.parse(version))
    assert keys
    assert {field: key for field, key in keys.items() if not _has_key(values, key)} == {}


@pytest.mark.parametrize("version", SERIES)
def test_endpoint_values_repoint_the_chart(
    helm: str, reference_charts: dict[str, ReleaseBuild], version: str
) -> None:
    """Setting the profile's endpoint keys (and turning the in-cluster store off) moves the chart."""
    profile = load_profile(REFERENCE_PROFILE)
    release = Version.parse(version)
    sets: list[str] = []
    wanted: list[str] = []
    for store in profile.datastores:
        assert store.in_cluster is not None
        assert store.in_cluster.enabled_value is not None
        sets.append(f"{store.in_cluster.enabled_value.at(release)}=false")
        if store.engine == "postgresql":
            given = {
                "host": f"restored-{store.name}.example",
                "port": 6543,
                "database": f"{store.name}_restored",
            }
            wanted.append(f"@restored-{store.name}.example:6543/{store.name}_restored")
        else:
            given = {"uri": f"mongodb://restored-{store.name}.example:27017/"}
            wanted.append(given["uri"])
        sets += [
            f"{key}={value}" for key, value in store.endpoint_values.assignments(release, **given).items()
        ]
    docs = _render(helm, reference_charts[version].trees["chart"], *sets)
    text = yaml.safe_dump_all(docs)
    assert [w for w in wanted if w not in text] == []
    assert [name for kind, name in _objects(docs) if kind == "StatefulSet"] == []


def test_rails_root_and_smoke_paths_exist_in_the_reference_apps() -> None:
    profile = load_profile(REFERENCE_PROFILE)
    automation = REFERENCE_ROOT / "app" / "automation"
    dockerfile = (automation / "Dockerfile").read_text()
    assert f"WORKDIR {profile.migration_image('automation').app_path}\n" in dockerfile
    assert (automation / "db" / "migrate").is_dir()
    assert (automation / "db" / "data").is_dir()
    routes = (automation / "config" / "routes.rb").read_text()
    invite, cli = profile.smoke.invite, profile.smoke.cli
    assert invite is not None
    assert cli is not None
    for path in (invite.request.path, cli.request.path):
        assert f"resources :{path.rsplit('/', 1)[-1]}" in routes
    assert (
        f"params.require(:{invite.email_field})"
        in (automation / "app" / "controllers" / "api" / "invites_controller.rb").read_text()
    )
    assert (
        f'"{cli.signature_header}"'
        in (automation / "app" / "controllers" / "api" / "uploads_controller.rb").read_text()
    )


# ----------------------------------------------------------------- invalid profiles


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


def _put(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _rename(new: str, *path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        node[new] = node.pop(path[-1])

    return mutate


INVALID: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "secret-is-a-list",
        _put(["a", "b"], "datastores", "automation", "credentials", "secret"),
        "datastores.automation.credentials.secret: expected a Secret name (string), got a list",
        "secret: ${release}-credentials",
    ),
    (
        "missing-job",
        _drop("migration", "job"),
        "migration.job: missing; expected a Job name (string)",
        "job: ${release}-migrate",
    ),
    (
        "null-container",
        _put(None, "migration", "container"),
        "migration.container: expected a container name (string), got nothing (null)",
        "container: migrate",
    ),
    (
        "missing-section",
        _drop("smoke"),
        "smoke: missing; expected the smoke checks",
        "smoke:",
    ),
    (
        "port-as-string",
        _put("5432", "datastores", "pgvector", "in_cluster", "port"),
        "datastores.pgvector.in_cluster.port: expected a port number (1-65535), got a string ('5432')",
        "port: 5432",
    ),
    (
        "port-out-of-range",
        _put(70000, "smoke", "studio", "port"),
        "smoke.studio.port: expected a port number (1-65535), got a number (70000)",
        "port:",
    ),
    (
        "status-as-boolean",
        _put(True, "smoke", "invite", "expect_status"),
        "smoke.invite.expect_status: expected an HTTP status (100-599), got a boolean (true)",
        "expect_status: 200",
    ),
    (
        "unknown-key",
        _rename("credntials", "datastores", "automation", "credentials"),
        "datastores.automation.credntials: unknown key",
        "did you mean 'credentials'?",
    ),
    (
        "unknown-top-level-key",
        _rename("smoke_checks", "smoke"),
        "smoke_checks: unknown key",
        "did you mean 'smoke'?",
    ),
    (
        "unknown-engine",
        _put("postgres", "datastores", "automation", "engine"),
        "datastores.automation.engine: expected one of postgresql, mongodb, got a string ('postgres')",
        "did you mean 'postgresql'?",
    ),
    (
        "misspelt-isolation",
        _put("scale_down", "workloads", "user_facing", "isolate"),
        "workloads.user_facing.isolate: expected one of scale-down, maintenance",
        "did you mean 'scale-down'?",
    ),
    (
        "misspelt-workload-kind",
        _put(["Deploymnt/${release}-automation"], "workloads", "db_clients"),
        "workloads.db_clients[0]: expected a workload as Kind/name (Deployment or StatefulSet)",
        "did you mean 'Deployment'?",
    ),
    (
        "empty-scale-down-list",
        _put([], "workloads", "db_clients"),
        "workloads.db_clients: expected a non-empty list of workloads holding database connections, "
        "got a list",
        "db_clients: [",
    ),
    (
        "workload-twice",
        _put(["Deployment/${release}-studio"], "workloads", "db_clients"),
        "workloads.user_facing.workloads[0]: Deployment/jitera-studio is listed twice "
        "(first at workloads.db_clients[0])",
        "list each workload once",
    ),
    (
        "unknown-placeholder",
        _put("${relase}-migrate", "migration", "job"),
        "migration.job: unknown placeholder ${relase}",
        "the only placeholder is ${release}",
    ),
    (
        "bad-object-name",
        _put("${release}_migrate", "migration", "job"),
        "migration.job: expected a Job name (string; lowercase letters, digits, '-' and '.', "
        "at most 253 characters), got a string ('${release}_migrate') ('jitera_migrate' once ${release} "
        "is replaced)",
        "job: ${release}-migrate",
    ),
    (
        "bad-release-name",
        _put("Jitera", "release"),
        "release: expected the Helm release name (string; lowercase letters",
        "release: acme",
    ),
    (
        "values-key-with-spaces",
        _put("externalPostgres host", "datastores", "automation", "endpoint_values", "port"),
        "datastores.automation.endpoint_values.port: expected a dotted values key like externalDb.port",
        "helm --set",
    ),
    (
        "moved-key-with-bad-release",
        _put(
            {"v24.6.1": "externalPostgres.primary.host"},
            "datastores",
            "automation",
            "endpoint_values",
            "host",
        ),
        "datastores.automation.endpoint_values.host.v24.6.1: expected a release like v24.06.01 as the key",
        "{first release: key}",
    ),
    (
        "missing-endpoint-host",
        _drop("datastores", "automation", "endpoint_values", "host"),
        "datastores.automation.endpoint_values.host: missing; expected a dotted values key",
        "host: externalDb.host",
    ),
    (
        "mongodb-endpoint-has-no-host",
        _put("externalMongodb.host", "datastores", "mongodb", "endpoint_values", "host"),
        "datastores.mongodb.endpoint_values.host: unknown key",
        "the keys here are: uri, database",
    ),
    (
        "both-in-cluster-and-external",
        _put({"host": "db.example.com"}, "datastores", "automation", "external"),
        "datastores.automation: expected exactly one of in_cluster and external, got both",
        "managed database",
    ),
    (
        "secret-without-key",
        _drop("datastores", "pgvector", "credentials", "key"),
        "datastores.pgvector.credentials.key: missing; secret needs it",
        "together",
    ),
    (
        "no-credentials-at-all",
        _put({}, "datastores", "mongodb", "credentials"),
        "datastores.mongodb.credentials: expected values, or secret and key, got neither",
        "values keys of the login",
    ),
    (
        "hook-database-is-not-postgres",
        _put("mongodb", "migration", "database"),
        "migration.database: expected the name of a PostgreSQL datastore (automation, pgvector), "
        "got a string ('mongodb')",
        "whose schema",
    ),
    (
        "relative-app-path",
        _put("app", "migration_images", "automation", "app_path"),
        "migration_images.automation.app_path: expected an absolute path without '..', got a string ('app')",
        "WORKDIR",
    ),
    (
        "url-path-without-slash",
        _put("healthz", "smoke", "studio", "path"),
        "smoke.studio.path: expected a URL path starting with / (string; no spaces), "
        "got a string ('healthz')",
        "path: /",
    ),
    (
        "label-value-is-a-number",
        _put({"app.kubernetes.io/instance": 7}, "migration", "pods"),
        "migration.pods.app.kubernetes.io/instance: expected a label value (string; quote numbers), "
        "got a number (7)",
        '"true"',
    ),
    (
        "maintenance-without-values",
        _put("maintenance", "workloads", "user_facing", "isolate"),
        "workloads.user_facing.maintenance_values: missing; "
        "expected the values that switch maintenance mode on",
        "maintenance.enabled",
    ),
    (
        "maintenance-values-with-scale-down",
        _put({"maintenance.enabled": True}, "workloads", "user_facing", "maintenance_values"),
        "workloads.user_facing.maintenance_values: only used with `isolate: maintenance`",
        "remove it",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message", "hint"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_profile_names_the_field(
    mutate: Callable[[dict[str, Any]], None], message: str, hint: str
) -> None:
    data = _reference_data()
    mutate(data)
    with pytest.raises(InputError) as info:
        parse_profile(data, "profile.yaml")
    assert info.value.message.startswith(f"profile.yaml: {message}"), info.value.message
    assert info.value.hint is not None
    assert hint in info.value.hint
    assert "Product profile" in info.value.hint


def test_the_readme_example_is_a_valid_profile() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("\n## Product profile\n", 1)[1].split("\n## ", 1)[0]
    example = next(block for block in section.split("```yaml\n")[1:]).split("\n```", 1)[0]
    profile = parse_profile(yaml.safe_load(example), "README example")
    assert profile.release == "acme"
    assert profile.workloads.user_facing.isolate == "maintenance"
    host = profile.datastore("main").endpoint_values.host
    assert host is not None
    assert host.at(Version.parse("v24.09.01")) == "db.primary.host"
    assert profile.datastore("documents").external is not None
    assert profile.cli_key is None


def test_a_maintenance_isolation_is_accepted() -> None:
    data = _reference_data()
    data["workloads"]["user_facing"] = {
        "isolate": "maintenance",
        "maintenance_values": {"maintenance.enabled": True},
        "workloads": [],
    }
    facing = parse_profile(data, "profile.yaml").workloads.user_facing
    assert facing.isolate == "maintenance"
    assert facing.maintenance_values == (("maintenance.enabled", True),)


def test_an_external_datastore_is_accepted() -> None:
    data = _reference_data()
    data["datastores"]["automation"].pop("in_cluster")
    data["datastores"]["automation"]["external"] = {"host": "automation.db.example.com"}
    store = parse_profile(data, "profile.yaml").datastore("automation")
    assert store.external is not None
    assert (store.external.host, store.external.port) == ("automation.db.example.com", 5432)


def test_a_product_without_cli_or_invite_is_accepted() -> None:
    data = _reference_data()
    del data["cli_key"], data["smoke"]["cli"], data["smoke"]["invite"]
    profile = parse_profile(data, "profile.yaml")
    assert profile.cli_key is None
    assert profile.smoke.invite is None
    assert profile.smoke.cli is None


def test_a_bad_release_override_is_refused() -> None:
    with pytest.raises(InputError, match="'Bad_Name' is not a Helm release name"):
        load_profile(REFERENCE_PROFILE, release="Bad_Name")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("release: jitera\nmigration: {job: [x\n", "not valid YAML (line "),
        (ALIAS_BOMB, "alias bomb"),
        ("- a\n- b\n", "(top level): expected a product profile (a mapping with the keys product, release"),
        ("", "(top level): expected a product profile"),
    ],
    ids=["bad-yaml", "alias-bomb", "not-a-mapping", "empty"],
)
def test_unreadable_profile_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_profile(path)
    assert info.value.message.startswith(f"profile {path}: "), info.value.message
    assert message in info.value.message


def test_the_profile_package_does_not_import_pytest() -> None:
    import ast

    package = REFERENCE_PROFILE.parent.parent / "profile"
    for module in sorted(package.glob("*.py")):
        tree = ast.parse(module.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] in ("pytest", "_pytest")}, module.name


# ----------------------------------------------------------------- the plugin


@pytest.fixture
def catalog(make_chart: Callable[..., Path], tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    for version in ("v24.05.01", "v24.05.01.1"):
        shutil.move(make_chart(version, zipped=True), folder / f"jitera-helm-{version}.zip")
    return folder


@pytest.fixture
def rehearsal(catalog: Path, pytester: pytest.Pytester) -> list[str]:
    return [
        "--jitera-from=v24.05.01",
        "--jitera-to=v24.05.01.1",
        f"--jitera-charts={catalog}",
        f"--jitera-report={pytester.path / 'report'}",
    ]


def _bad_profile(folder: Path) -> Path:
    data = _reference_data()
    data["datastores"]["automation"]["credentials"]["secret"] = ["jitera-credentials"]
    path = folder / "bad-profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_plugin_refuses_a_bad_profile_before_collection(
    pytester: pytest.Pytester, rehearsal: list[str]
) -> None:
    bad = _bad_profile(pytester.path)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*rehearsal, f"--jitera-profile={bad}", str(pytester.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-jitera: --jitera-profile {bad}: datastores.automation.credentials.secret: "
            "expected a Secret name (string), got a list",
            "  hint: write it like `secret: ${release}-credentials`*",
        ]
    )
    assert "collected" not in result.stdout.str()


def test_plugin_refuses_profile_that_is_not_yaml(pytester: pytest.Pytester, rehearsal: list[str]) -> None:
    broken = pytester.path / "broken.yaml"
    broken.write_text(ALIAS_BOMB)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*rehearsal, f"--jitera-profile={broken}", str(pytester.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-jitera: --jitera-profile {broken}: expands to more than*"])


def test_plugin_refuses_a_bad_profile_from_the_ini_file(
    pytester: pytest.Pytester, rehearsal: list[str]
) -> None:
    _bad_profile(pytester.path)
    pytester.makeini("[pytest]\njitera_profile = bad-profile.yaml\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*rehearsal, str(pytester.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--jitera-profile */bad-profile.yaml: datastores.automation.credentials.secret*"]
    )


def test_plugin_refuses_a_missing_profile_naming_the_option(
    pytester: pytest.Pytester, rehearsal: list[str]
) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*rehearsal, "--jitera-profile=nowhere.yaml", str(pytester.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pytest-jitera: --jitera-profile */nowhere.yaml: no such file*"])


def test_plugin_accepts_a_good_profile_and_shows_it(pytester: pytest.Pytester, rehearsal: list[str]) -> None:
    data = _reference_data()
    data["release"] = "acme"
    good = pytester.path / "acme-profile.yaml"
    good.write_text(yaml.safe_dump(data))
    pytester.makepyfile(
        """
        def test_profile(jitera_profile):
            assert jitera_profile.release == "acme"
            assert jitera_profile.migration.job == "acme-migrate"
        """
    )
    result = pytester.runpytest(*rehearsal, f"--jitera-profile={good}", str(pytester.path))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"jitera: --jitera-profile={good} (command line)"])


def test_the_shipped_profile_is_the_default(pytester: pytest.Pytester, rehearsal: list[str]) -> None:
    pytester.makepyfile(
        """
        from pytest_jitera.profile import REFERENCE_PROFILE

        def test_profile(jitera_profile, jitera_config):
            assert jitera_config.profile == REFERENCE_PROFILE
            assert jitera_profile.migration.job == "jitera-migrate"
        """
    )
    result = pytester.runpytest(*rehearsal, str(pytester.path))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"jitera: --jitera-profile={REFERENCE_PROFILE} (default)"])


def test_without_a_rehearsal_the_profile_is_only_read_when_asked_for(pytester: pytest.Pytester) -> None:
    bad = _bad_profile(pytester.path)
    pytester.makepyfile(
        test_plain="def test_plain(): pass",
        test_uses="def test_uses(jitera_profile): pass",
    )
    result = pytester.runpytest(f"--jitera-profile={bad}", "test_plain.py")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest(f"--jitera-profile={bad}", "test_uses.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*--jitera-profile *bad-profile.yaml: datastores.automation.credentials.secret*"]
    )


def test_profile_type_is_exported() -> None:
    assert isinstance(load_profile(REFERENCE_PROFILE), Profile)
