"""The landing page at ``/``: a few example URLs next to their results."""

from __future__ import annotations

import html
from pathlib import Path

from imgproxy_py.config import Config
from imgproxy_py.security.signature import sign_path

Example = tuple[str, str, str, str]  # title, options, file, extension

ANIMATED: Example = ("Animated GIF, 150 px", "rs:fit:150:150", "iss634.gif", "")
# What the animated example becomes when the server processes first frames only.
PASSED_THROUGH: Example = (
    "Animated GIF, unprocessed (skp:gif): with IMGPROXY_MAX_ANIMATION_FRAMES=1 a resize keeps the first frame only",
    "skp:gif", "iss634.gif", "")
EXAMPLES: tuple[Example, ...] = (
    ("Fit into 300x300", "rs:fit:300:300", "astronaut.jpg", ""),
    ("Fill 300x200, smart crop", "rs:fill:300:200/g:sm", "chelsea.jpg", ""),
    ("Fill 200x200, WebP", "rs:fill:200:200", "coffee.jpg", "@webp"),
    ("Blur + padding + background", "rs:fit:250:250/bl:3/pd:20/bg:f5deb3", "rocket.jpg", ""),
    ANIMATED,
    ("Rotate 90, flip", "rs:fit:200:200/rot:90/fl:1", "astronaut.jpg", "@png"),
)


def examples(config: Config) -> tuple[Example, ...]:
    """The examples as this server can show them.  As in imgproxy, only
    IMGPROXY_MAX_ANIMATION_FRAMES frames of an animation are processed (default 1: the first)
    and no URL option raises that, so under the default the animated example skips
    processing, which keeps every frame, rather than show one still frame."""
    if config.security.max_animation_frames > 1:
        return EXAMPLES
    return tuple(PASSED_THROUGH if example is ANIMATED else example for example in EXAMPLES)


def example_path(config: Config, options: str, file: str, ext: str) -> str:
    path = f"/{options}/plain/local:///{file}{ext}"
    sec = config.security
    if sec.signing_enabled:
        key, salt = sec.key_salt_pairs[0]
        return "/" + sign_path(key, salt, path, sec.signature_size) + path
    return "/insecure" + path


def landing_page(config: Config) -> str:
    root = config.fetch.local_filesystem_root
    rows = []
    for title, options, file, ext in examples(config):
        if not root or not (Path(root) / file).is_file():
            continue
        url = config.server.path_prefix + example_path(config, options, file, ext)
        rows.append(f"<tr><td>{html.escape(title)}</td><td><code>{html.escape(url)}</code></td>"
                    f'<td><img src="{html.escape(url)}" alt="{html.escape(title)}"></td></tr>')
    table = ("<table><tr><th>What</th><th>URL</th><th>Result</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>Set IMGPROXY_LOCAL_FILESYSTEM_ROOT to a folder of images to see examples.</p>")
    health = html.escape(config.server.path_prefix + "/health")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>imgproxy_py</title>
<style>body{{font-family:sans-serif;margin:2em}}td{{padding:.5em;border-bottom:1px solid #ddd;
vertical-align:middle}}code{{font-size:.85em}}</style></head>
<body><h1>imgproxy_py</h1>
<p>An image proxy that speaks imgproxy's URL language. <a href="{health}">/health</a></p>
{table}
</body></html>"""
