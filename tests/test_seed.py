"""Seeding a rehearsal from the operator's dumps: the checks made before any cluster work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pytest_jitera.datastores import LocalPgTools, PgConnInfo
from pytest_jitera.errors import OptionError
from pytest_jitera.report.model import SeedRow
from pytest_jitera.runbook.seeded_state import describe
from pytest_jitera.seed.dumps import SeedDumps, check_dump_path, mongo_dump_layout, pg_dump_format
from pytest_jitera.seed.masking import ColumnMask, load_masking, parse_masking
from pytest_jitera.seed.recorded_versions import (
    RecordedVersions,
    SeedMismatch,
    parse_table_rows,
    refuse_other_release,
    version_mismatches,
)
from pytest_jitera.seed.reference_data import ReferenceSize, automation_statements, mongo_events

V24_05 = {
    "migrate": {"20240501000001", "20240501000002", "20240501000003", "20240501000004", "20240501000005"},
    "data": {"20240501100001"},
}


# ----------------------------------------------------------------- the dump files


def test_formats_are_told_apart_by_their_first_bytes(tmp_path: Path) -> None:
    custom = tmp_path / "a.dump"
    custom.write_bytes(b"PGDMP\x01\x0e\x00rest")
    folder = tmp_path / "a.dir"
    folder.mkdir()
    (folder / "toc.dat").write_bytes(b"PGDMP")
    tar = tmp_path / "a.tar"
    tar.write_bytes(b"\0" * 257 + b"ustar\0" + b"\0" * 100)
    assert pg_dump_format(custom, "seed-postgres") == "custom"
    assert pg_dump_format(folder, "seed-postgres") == "directory"
    assert pg_dump_format(tar, "seed-postgres") == "tar"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n", "a plain SQL script"),
        (b"", "empty"),
        (b"\x89PNG\r\n", "not a pg_dump archive"),
    ],
)
def test_a_file_pg_restore_cannot_restore_is_refused_with_the_command_that_makes_one(
    tmp_path: Path, content: bytes, what: str
) -> None:
    dump = tmp_path / "prod.sql"
    dump.write_bytes(content)
    with pytest.raises(OptionError) as caught:
        pg_dump_format(dump, "seed-postgres")
    assert f"{dump} is {what}" in caught.value.message
    assert "pg_dump -Fc" in (caught.value.hint or "")


def test_a_folder_without_a_table_of_contents_is_not_a_directory_dump(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"without toc\.dat"):
        pg_dump_format(tmp_path, "seed-postgres")


def test_a_missing_dump_names_the_option_and_where_relative_paths_start(tmp_path: Path) -> None:
    with pytest.raises(OptionError) as caught:
        check_dump_path(Path("nope.dump"), "seed-mongo")
    assert caught.value.message == "--jitera-seed-mongo nope.dump: no such file or folder".replace(
        "--jitera-seed-mongo", "seed-mongo"
    )
    assert "relative paths are taken from" in (caught.value.hint or "")


def test_a_mongodump_folder_must_hold_one_database(tmp_path: Path) -> None:
    for name in ("jitera", "other", "admin"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "events.bson").write_bytes(b"")
    with pytest.raises(OptionError, match="found: jitera, other"):
        mongo_dump_layout(tmp_path, "seed-mongo")
    (tmp_path / "other" / "events.bson").unlink()
    assert mongo_dump_layout(tmp_path, "seed-mongo") == ("directory", "jitera")
    archive = tmp_path / "mongo.archive"
    archive.write_bytes(b"\x6d\xe2\x99\x81")
    assert mongo_dump_layout(archive, "seed-mongo") == ("archive", None)


def test_seed_dumps_name_each_store_once() -> None:
    seeds = SeedDumps(postgresql=Path("/d/prod.dump"), mongodb=Path("/d/mongo"))
    assert seeds.given
    assert not SeedDumps().given
    assert seeds.postgres() == {"postgresql": Path("/d/prod.dump")}
    assert seeds.describe() == "postgresql from prod.dump, mongodb from mongo"


# ----------------------------------------------------------------- the recorded versions

RESTORED = """\
--
-- Data for Name: data_migrations; Type: TABLE DATA; Schema: public; Owner: jitera
--

COPY public.data_migrations (version) FROM stdin;
20240501100001
\\.


COPY public.schema_migrations (version) FROM stdin;
20240501000001
20240501000002
\\.

INSERT INTO public.schema_migrations VALUES ('20240501000003');
INSERT INTO public.projects VALUES (1, 'not a migration table');
"""


def test_copy_blocks_and_inserts_are_both_read() -> None:
    rows = parse_table_rows(RESTORED, ["schema_migrations", "data_migrations"])
    assert rows == {
        "data_migrations": ["20240501100001"],
        "schema_migrations": ["20240501000001", "20240501000002", "20240501000003"],
    }


def test_an_empty_table_differs_from_an_absent_one() -> None:
    rows = parse_table_rows("COPY public.data_migrations (version) FROM stdin;\n\\.\n", ["data_migrations"])
    assert rows == {"data_migrations": []}
    assert parse_table_rows("", ["data_migrations"]) == {}


def _recorded(schema: set[str], data: set[str] | None) -> RecordedVersions:
    return RecordedVersions(
        {"schema_migrations": frozenset(schema), "data_migrations": None if data is None else frozenset(data)}
    )


def test_a_dump_of_the_release_matches() -> None:
    assert version_mismatches(_recorded(V24_05["migrate"], V24_05["data"]), V24_05) == []


def test_a_newer_dump_names_the_versions_the_release_does_not_ship() -> None:
    newer = _recorded(V24_05["migrate"] | {"20240601000001", "20240601000002"}, V24_05["data"])
    assert version_mismatches(newer, V24_05) == [
        "schema_migrations has 20240601000001, 20240601000002, which the release does not ship"
    ]


def test_an_older_dump_names_what_it_lacks_and_a_missing_table() -> None:
    older = _recorded(V24_05["migrate"] - {"20240501000005"}, None)
    assert version_mismatches(older, V24_05) == [
        "schema_migrations lacks 20240501000005",
        "it has no data_migrations table; the release ships 1 such migration(s)",
    ]


def test_a_long_list_is_cut_with_a_count() -> None:
    many = {f"2024050200{i:04d}" for i in range(20)}
    problems = version_mismatches(_recorded(V24_05["migrate"] | many, V24_05["data"]), V24_05)
    assert problems[0].endswith("and 12 more, which the release does not ship")


def test_the_refusal_names_the_release_and_the_way_out() -> None:
    with pytest.raises(SeedMismatch) as caught:
        refuse_other_release(
            Path("prod.dump"), "v24.05.01", ["schema_migrations has 1"],
            name="seed-postgres", matches="v24.06.01",
        )
    assert caught.value.message == (
        "seed-postgres prod.dump was not taken from v24.05.01: schema_migrations has 1; "
        "its versions are those of v24.06.01"
    )
    assert "start the rehearsal from the dump's release with source" in (caught.value.hint or "")
    refuse_other_release(Path("prod.dump"), "v24.05.01", [], name="seed-postgres")  # no problem, no error


# ----------------------------------------------------------------- the generator and the report


def test_counts_not_given_follow_from_the_projects() -> None:
    assert ReferenceSize(1000).counts() == {
        "projects": 1000, "users": 100, "uploads": 500, "vectors": 1000, "events": 100
    }
    assert ReferenceSize(5, users=0).counts()["users"] == 0
    assert ReferenceSize(0).counts()["users"] == 1
    with pytest.raises(ValueError, match="uploads must be 0 or more"):
        ReferenceSize(10, uploads=-1)


def test_the_statements_carry_the_run_token_and_the_sizes() -> None:
    users, projects, uploads = automation_statements(ReferenceSize(1_000_000), "ab'cd")
    assert "generate_series(1, 100000)" in users
    assert "generate_series(1, 1000000)" in projects
    assert "'ab''cd'" in users
    assert "'ab''cd'" in projects
    assert "generate_series(1, 500000)" in uploads


def test_events_come_in_batches_of_fresh_documents() -> None:
    batches = list(mongo_events(ReferenceSize(0, events=12), "t1", batch=5))
    assert [len(b) for b in batches] == [5, 5, 2]
    assert [d["seq"] for b in batches for d in b] == list(range(12))


def test_a_seeded_store_reads_as_counts_size_and_time() -> None:
    row = SeedRow("postgresql", "prod.dump", 1_000_412, 6, 212_400_000, 41.2)
    assert describe(row) == (
        "postgresql from prod.dump: 1,000,412 rows in 6 tables, 212.4 MB, restored in 41 s"
    )
    mongo = describe(SeedRow("mongodb", "m", 3, 1, 0, 1))
    assert mongo.startswith("mongodb from m: 3 documents in 1 collections")


# ----------------------------------------------------------------- under pytest, before any cluster work


def _rehearse(pytester: pytest.Pytester, *args: str, cluster: bool = False) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--jitera-from=v24.05.01", "--jitera-to=v24.07.01", *([] if cluster else ["--jitera-no-cluster"]),
        f"--jitera-report={pytester.path / 'report'}", *args,
    )


def _one_usage_error(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(list(patterns))
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_plain_sql_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "prod.sql").write_text("--\n-- PostgreSQL database dump\n--\nSET x = 0;\n")
    result = _rehearse(pytester, "--jitera-seed-postgres=prod.sql")
    _one_usage_error(
        result,
        f"ERROR: pytest-jitera: --jitera-seed-postgres {pytester.path / 'prod.sql'} is a plain SQL script*",
        "*hint: take the dump with: pg_dump -Fc*",
    )


def test_a_seed_for_a_matrix_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "prod.dump").write_bytes(b"PGDMP")
    result = pytester.runpytest_subprocess(
        "--jitera-from=v24.05.01,v24.06.01", "--jitera-to=v24.07.01", "--jitera-no-cluster",
        "--jitera-seed-postgres=prod.dump", f"--jitera-report={pytester.path / 'report'}",
    )
    _one_usage_error(
        result, "*--jitera-seed-postgres: a dump holds one release's data, and this run rehearses 2*"
    )


def test_a_missing_pg_restore_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "prod.dump").write_bytes(b"PGDMP")
    empty = pytester.path / "bin"
    empty.mkdir()
    python = Path(os.__file__).parents[2] / "bin"
    monkeypatch.setenv("PATH", f"{empty}{os.pathsep}{python}")
    result = _rehearse(pytester, "--jitera-seed-postgres=prod.dump")
    _one_usage_error(result, "*needs pg_restore on this machine*", "*apt install postgresql-client*")


def _dump_with_versions(login: PgConnInfo, versions: list[str], dest: Path) -> Path:
    statements = [
        "CREATE TABLE schema_migrations (version varchar PRIMARY KEY)",
        "CREATE TABLE data_migrations (version varchar PRIMARY KEY)",
        "INSERT INTO data_migrations VALUES ('20240501100001')",
        *(f"INSERT INTO schema_migrations VALUES ('{v}')" for v in versions),
    ]
    env = {**os.environ, **login.client_env()}
    server = [*login.client_args(), "-d", login.dbname]
    for sql in statements:
        subprocess.run(["psql", *server, "-X", "-q", "-c", sql], check=True, env=env)
    subprocess.run(["pg_dump", *server, "-Fc", "-f", str(dest)], check=True, env=env)
    return dest


@pytest.mark.postgres
def test_a_dump_of_a_later_release_is_refused_naming_the_versions_and_its_release(
    pytester: pytest.Pytester, jitera_postgres_database: PgConnInfo
) -> None:
    later = sorted(V24_05["migrate"] | {"20240601000001", "20240601000002"})
    dump = _dump_with_versions(jitera_postgres_database, later, pytester.path / "prod.dump")
    # A full rehearsal, not --jitera-no-cluster: refused while configuring, so no test (and no
    # cluster) ever starts.
    result = _rehearse(pytester, f"--jitera-seed-postgres={dump}", cluster=True)
    _one_usage_error(
        result,
        f"ERROR: pytest-jitera: --jitera-seed-postgres {dump} was not taken from v24.05.01: "
        "schema_migrations has 20240601000001, 20240601000002, which the release does not ship; "
        "its versions are those of v24.06.01",
        "*hint: pass a dump of a database at v24.05.01*--jitera-from*",
    )
    assert not (pytester.path / "report" / "summary.json").exists()
    assert "collected" not in result.stdout.str()


@pytest.mark.postgres
def test_a_dump_of_the_first_release_is_accepted(
    pytester: pytest.Pytester, jitera_postgres_database: PgConnInfo
) -> None:
    versions = sorted(V24_05["migrate"])
    dump = _dump_with_versions(jitera_postgres_database, versions, pytester.path / "prod.dump")
    result = _rehearse(pytester, f"--jitera-seed-postgres={dump}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"*--jitera-seed-postgres={dump} (command line)*"])


# ----------------------------------------------------------------- masking


def _masks(tmp_path: Path, text: str) -> tuple[ColumnMask, ...]:
    path = tmp_path / "masking.yaml"
    path.write_text(text)
    return load_masking(path)


def test_a_masking_file_names_columns_and_rules(tmp_path: Path) -> None:
    masks = _masks(
        tmp_path,
        "users.email: email\nusers.name: hash\nprojects.legacy_notes: null\n"
        "audit.events.actor: 'constant:someone'\npgvector:ultron_embeddings.embedding: null\n",
    )
    assert [(m.store, m.schema, m.table, m.column, m.rule, m.constant) for m in masks] == [
        ("postgresql", "public", "users", "email", "email", None),
        ("postgresql", "public", "users", "name", "hash", None),
        ("postgresql", "public", "projects", "legacy_notes", "null", None),
        ("postgresql", "audit", "events", "actor", "constant", "someone"),
        ("pgvector", "public", "ultron_embeddings", "embedding", "null", None),
    ]
    assert [m.name for m in masks][-2:] == ["audit.events.actor", "pgvector:ultron_embeddings.embedding"]


def test_every_bad_line_is_named_with_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(OptionError) as caught:
        _masks(
            tmp_path, "users: email\nusers.email: shuffle\nusers.name: constant\nmongodb:events.actor: null\n"
        )
    message = caught.value.message
    assert "users: not table.column" in message
    assert "users.email: unknown rule 'shuffle'" in message
    assert "users.name: unknown rule 'constant'" in message
    assert "mongodb:events.actor: not table.column" in message
    assert "null, hash, email, constant:VALUE" in (caught.value.hint or "")


def test_an_empty_masking_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="names no column"):
        parse_masking(tmp_path / "m.yaml", {})


def test_each_rule_is_one_update_and_one_proof(tmp_path: Path) -> None:
    email, name, notes, actor = _masks(
        tmp_path,
        "users.email: email\nusers.name: hash\nprojects.legacy_notes: null\nt.c: \"constant:it's\"\n",
    )
    assert email.update_sql("s1") == (
        'WITH changed AS (UPDATE "public"."users" SET "email" = \'masked-\' || md5(\'s1\' || "email"::text) '
        "|| '@masked.invalid' WHERE \"email\" IS NOT NULL RETURNING 1) SELECT count(*) FROM changed"
    )
    assert "md5('s1' || \"name\"::text)" in name.update_sql("s1")
    assert 'SET "legacy_notes" = NULL' in notes.update_sql("s1")
    assert "SET \"c\" = 'it''s'" in actor.update_sql("s1")
    assert notes.left_sql() == 'SELECT count(*) FROM "public"."projects" WHERE "legacy_notes" IS NOT NULL'
    assert "<> 'it''s'" in actor.left_sql()


@pytest.mark.postgres
def test_masking_leaves_no_original_value_and_keeps_unique_values_unique(
    jitera_postgres_database: PgConnInfo,
    tmp_path: Path,
) -> None:
    login = jitera_postgres_database
    tools = LocalPgTools()
    tools.execute(login, "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text, note text)")
    tools.execute(
        login,
        "INSERT INTO users SELECT g, 'person' || g || '@corp.example', 'Person ' || (g % 3), "
        "CASE WHEN g % 2 = 0 THEN 'secret ' || g END FROM generate_series(1, 200) g",
    )
    masks = _masks(tmp_path, "users.email: email\nusers.name: hash\nusers.note: null\n")
    changed = [tools.query_json(login, m.update_sql("salt")) for m in masks]
    assert changed == [200, 200, 100]
    assert [tools.query_json(login, m.left_sql()) for m in masks] == [0, 0, 0]
    found = tools.query_json(
        login,
        "SELECT json_build_object('originals', (SELECT count(*) FROM users WHERE email LIKE '%@corp.example' "
        "OR name LIKE 'Person %' OR note IS NOT NULL), 'emails', (SELECT count(DISTINCT email) FROM users), "
        "'names', (SELECT count(DISTINCT name) FROM users))",
    )
    assert found == {"originals": 0, "emails": 200, "names": 3}


def test_a_mask_of_a_store_without_a_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "masking.yaml").write_text("pgvector:ultron_embeddings.embedding: null\n")
    (pytester.path / "prod.dump").write_bytes(b"PGDMP")
    result = _rehearse(pytester, "--jitera-mask=masking.yaml", "--jitera-seed-postgres=prod.dump")
    _one_usage_error(
        result,
        f"*--jitera-mask {pytester.path / 'masking.yaml'} masks pgvector, which is not seeded from a dump*",
        "*hint: give --jitera-seed-pgvector too*",
    )


def test_the_example_masking_file_reads() -> None:
    example = Path(__file__).parents[1] / "examples" / "masking.yaml"
    masks = load_masking(example)
    assert {m.name for m in masks} >= {"users.email", "users.name", "invites.token"}
    assert {m.rule for m in masks} == {"email", "hash", "constant", "null"}
