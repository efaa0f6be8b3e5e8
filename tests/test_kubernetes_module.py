"""The Kubernetes wrapper module follows the release's own go.mod, not a list kept by hand."""

from __future__ import annotations

import pytest

from pytest_jitera.bootstrap.airgapped import data_path, render
from pytest_jitera.bootstrap.kubernetes_module import parse_upstream

# The shape of k8s.io/kubernetes v1.37.2's go.mod, cut down: two staging modules that 1.34 did
# not have (streaming, cri-streaming), a non-staging replacement and a directive-only godebug.
UPSTREAM_137 = """module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tgithub.com/google/go-cmp v0.7.0
\tk8s.io/api v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming
\tk8s.io/streaming => ./staging/src/k8s.io/streaming
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/example/forked => github.com/example/forked v1.2.3
)
"""


def test_staging_modules_come_from_the_release() -> None:
    upstream = parse_upstream(UPSTREAM_137)
    assert upstream.go == "1.26.0"
    assert upstream.godebug == "default=go1.26"
    assert upstream.staging == (
        "k8s.io/api", "k8s.io/client-go", "k8s.io/cri-streaming", "k8s.io/streaming",
    )
    block = upstream.replace_block("v0.37.2")
    assert "\tk8s.io/streaming => k8s.io/streaming v0.37.2" in block.splitlines()
    assert "forked" not in block


def test_missing_godebug_follows_the_go_line() -> None:
    text = UPSTREAM_137.replace("godebug default=go1.26\n", "").replace("go 1.26.0", "go 1.25.3")
    assert parse_upstream(text).godebug == "default=go1.25"


def test_a_go_mod_without_staging_is_refused() -> None:
    with pytest.raises(ValueError, match="staging"):
        parse_upstream("module example.com/x\n\ngo 1.26\n")


def test_the_template_renders_into_a_complete_wrapper() -> None:
    upstream = parse_upstream(UPSTREAM_137)
    text = render(
        data_path("templates", "kubernetes", "go.mod.tpl").read_text(),
        {
            "KUBERNETES_VERSION": "v1.37.2",
            "GO_VERSION": upstream.go,
            "GODEBUG": upstream.godebug,
            "STAGING_REPLACES": upstream.replace_block("v0.37.2"),
        },
    )
    assert "{{" not in text
    assert "require k8s.io/kubernetes v1.37.2" in text
    assert "go 1.26.0" in text.splitlines()
    assert "\tk8s.io/cri-streaming => k8s.io/cri-streaming v0.37.2" in text.splitlines()
