"""imgproxy's wildcard patterns: IMGPROXY_URL_REPLACEMENTS and IMGPROXY_ALLOWED_SOURCES."""

from __future__ import annotations

import pytest

from imgproxy_py.config import load_config, read_config
from imgproxy_py.errors import SourceNotAllowedError
from imgproxy_py.sources import SourceFetcher
from imgproxy_py.url.tokenizer import parse_path


def replaced(replacements: str, source: str) -> str:
    grammar = load_config({"IMGPROXY_URL_REPLACEMENTS": replacements}).url
    return parse_path(f"/s/plain/{source}", grammar).source.url


@pytest.mark.parametrize(
    ("replacements", "source", "expected"),
    [
        # imgproxy's documented first example
        ("mys3://=s3://my_bucket/images/", "mys3://image01.jpg", "s3://my_bucket/images/image01.jpg"),
        # imgproxy's own test (options/parser/processing_options_test.go): rules apply in order
        ("test://*/=test2://images.dev/${1}/dolor/;test2://=http://", "test://lorem/ipsum.jpg",
         "http://images.dev/lorem/dolor/ipsum.jpg"),
        # the documented second example gives the documented result: a pattern ending with "/"
        # keeps that boundary when the replacement lacks it (imgproxy's code would glue the names)
        ("mys3://*/=s3://my_bucket/${1}/images", "mys3://items/image01.jpg",
         "s3://my_bucket/items/images/image01.jpg"),
        ("http://old.test/=http://new.test/prefix-", "http://old.test/a.jpg", "http://new.test/prefix-/a.jpg"),
        ("mys3://*/=s3://my_bucket/${1}/images/", "mys3://items/image01.jpg",
         "s3://my_bucket/items/images/image01.jpg"),
        # $1 without braces, two wildcards, $$, an unknown group
        ("a://*/*/=b://$2/$1/$$/${7}x/", "a://one/two/c.jpg", "b://two/one/$/x/c.jpg"),
        # a prefix match only; "*" stops at a slash and takes dots
        ("x://=y://", "http://x://a", "http://x://a"),
        ("s3://*.old/=s3://new/", "s3://img.old/a.jpg", "s3://new/a.jpg"),
        # regexp characters in a pattern are literal
        ("h://a.b/(x)/=h://c/", "h://a.b/(x)/k.jpg", "h://c/k.jpg"),
        ("h://a.b/=h://c/", "h://aXb/k.jpg", "h://aXb/k.jpg"),
    ],
)
def test_url_replacements(replacements: str, source: str, expected: str) -> None:
    assert replaced(replacements, source) == expected


def test_replacement_without_equals_is_a_config_error() -> None:
    _, problems = read_config({"IMGPROXY_URL_REPLACEMENTS": "mys3://"})
    assert any("IMGPROXY_URL_REPLACEMENTS" in p for p in problems)


@pytest.mark.parametrize(
    ("allowed", "url", "ok"),
    [
        ("s3://,https://*.example.com/,local://", "s3://bucket/a.jpg", True),
        ("s3://,https://*.example.com/,local://", "https://img.example.com/a.jpg", True),
        # "*" is anything but "/": dots too, as imgproxy's regexp ([^/]*)
        ("https://*.example.com/", "https://a.b.example.com/a.jpg", True),
        ("https://*.example.com/", "https://example.com/a.jpg", False),
        ("https://*.example.com/", "https://evil.com/x.example.com/a.jpg", False),
        # a prefix: the docs' warning about the missing trailing slash holds here too
        ("https://example.com", "https://example.com.evil.net/a.jpg", True),
        ("https://example.com/", "https://example.com.evil.net/a.jpg", False),
        ("https://example.com/", "http://example.com/a.jpg", False),
    ],
)
def test_allowed_sources(allowed: str, url: str, ok: bool) -> None:
    config = load_config({"IMGPROXY_ALLOWED_SOURCES": allowed})
    fetcher = SourceFetcher(config.fetch, config.security)
    if ok:
        fetcher.check_allowed(url)
    else:
        with pytest.raises(SourceNotAllowedError):
            fetcher.check_allowed(url)
