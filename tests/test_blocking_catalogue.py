"""The blocking catalogue is data: check that it is consistent and that it covers
what flake8-async and Ruff flag for asyncio."""

from __future__ import annotations

import pytest

from asyncmigrate.catalogue import AsyncApiCatalogue, BlockingCatalogue
from lint_rules import ALL_RULES

NORMALIZE = AsyncApiCatalogue().normalize
CATALOGUE = BlockingCatalogue(NORMALIZE)

# What flake8-async / Ruff report for asyncio code (ASYNC210-ASYNC251), by their code.
FLAKE8_ASYNC = {
    "ASYNC210": ["requests.get", "requests.post", "httpx.get", "urllib.request.urlopen", "urllib3.request"],
    "ASYNC212": ["httpx.Client.get", "httpx.Client.send"],
    "ASYNC220": ["os.popen", "os.spawnl", "os.posix_spawn", "subprocess.Popen"],
    "ASYNC221": ["subprocess.run", "subprocess.call", "subprocess.check_output", "os.system",
                 "subprocess.getoutput"],
    "ASYNC222": ["os.wait", "os.waitpid", "os.wait3", "os.waitid"],
    "ASYNC230": ["builtins.open", "io.open", "io.open_code", "pathlib.Path.open"],
    "ASYNC231": ["os.fdopen"],
    "ASYNC232": ["io.TextIOWrapper.read", "io.TextIOWrapper.write"],
    "ASYNC240": ["os.path.exists", "os.path.getsize", "os.path.isdir", "pathlib.Path.exists",
                 "pathlib.Path.is_file"],
    "ASYNC250": ["builtins.input"],
    "ASYNC251": ["time.sleep"],
}
OUR_CODE = {"ASYNC210": "AM202", "ASYNC212": "AM202", "ASYNC220": "AM203", "ASYNC221": "AM203",
            "ASYNC222": "AM203", "ASYNC230": "AM204", "ASYNC231": "AM204", "ASYNC232": "AM204",
            "ASYNC240": "AM204", "ASYNC250": "AM206", "ASYNC251": "AM201"}


@pytest.mark.parametrize("theirs", sorted(FLAKE8_ASYNC))
def test_covers_flake8_async(theirs):
    for name in FLAKE8_ASYNC[theirs]:
        entry = CATALOGUE.match(name)
        assert entry is not None and entry.code == OUR_CODE[theirs], name


def test_every_entry_belongs_to_a_registered_rule():
    codes = {rule.CODE for rule in ALL_RULES}
    families = {"sleep", "http", "subprocess", "file", "network", "django-orm", "input", "thread-wait"}
    for entry in CATALOGUE.entries:
        assert entry.code in codes and entry.family in families
        assert entry.message and entry.replacement


def test_names_are_written_in_normal_form():
    # A name the resolver never produces (it normalises aliases) would never match.
    for entry in CATALOGUE.entries:
        for pattern in entry.patterns:
            assert NORMALIZE(pattern) == pattern, pattern


def test_pure_lookalikes_are_not_listed():
    for name in ("os.path.join", "os.path.basename", "pathlib.Path.joinpath", "pathlib.Path.name",
                 "asyncio.sleep", "asyncio.Queue.get", "redis.asyncio.Redis.get",
                 "queue.Queue.get_nowait", "threading.Lock.release", "requests.Session"):
        assert CATALOGUE.match(name) is None, name


def test_aliases_reach_the_same_entry():
    assert CATALOGUE.match("requests.api.get") is CATALOGUE.match("requests.get")
    assert CATALOGUE.match("pathlib.PosixPath.read_text") is CATALOGUE.match("pathlib.Path.read_text")
    assert CATALOGUE.match("smtplib.SMTP_SSL.login").code == "AM205"


def test_configured_patterns_are_am210_with_their_hint():
    catalogue = BlockingCatalogue(NORMALIZE, {"myapp.db.*.query": "use myapp.db.aquery", "sdk.*": ""})
    entry = catalogue.match("myapp.db.Database.query")
    assert entry.code == "AM210"
    assert entry.describe("myapp.db.Database.query") == (
        "`myapp.db.Database.query` is configured as blocking (`myapp.db.*.query`); "
        "use myapp.db.aquery"
    )
    assert catalogue.match("sdk.client.call").describe("sdk.client.call") == (
        "`sdk.client.call` is configured as blocking (`sdk.*`)"
    )
    # the bundled entries win: time.sleep keeps its own code and fix
    assert BlockingCatalogue(NORMALIZE, {"time.*": ""}).match("time.sleep").code == "AM201"
    assert catalogue.fingerprint != CATALOGUE.fingerprint
