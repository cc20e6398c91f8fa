"""The landing page at ``/``: a few example URLs next to their results."""

from __future__ import annotations

import html
from pathlib import Path

from imgproxy_py.config import Config
from imgproxy_py.security.signature import sign_path

EXAMPLES = (
    ("Fit into 300x300", "rs:fit:300:300", "astronaut.jpg", ""),
    ("Fill 300x200, smart crop", "rs:fill:300:200/g:sm", "chelsea.jpg", ""),
    ("Fill 200x200, WebP", "rs:fill:200:200", "coffee.jpg", "@webp"),
    ("Blur + padding + background", "rs:fit:250:250/bl:3/pd:20/bg:f5deb3", "rocket.jpg", ""),
    ("Animated GIF, 150 px", "rs:fit:150:150", "iss634.gif", ""),
    ("Rotate 90, flip", "rs:fit:200:200/rot:90/fl:1", "astronaut.jpg", "@png"),
)


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
    for title, options, file, ext in EXAMPLES:
        if not root or not (Path(root) / file).is_file():
            continue
        url = config.server.path_prefix + example_path(config, options, file, ext)
        rows.append(f"<tr><td>{html.escape(title)}</td><td><code>{html.escape(url)}</code></td>"
                    f'<td><img src="{html.escape(url)}" alt="{html.escape(title)}"></td></tr>')
    table = ("<table><tr><th>What</th><th>URL</th><th>Result</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>Set IMGPROXY_LOCAL_FILESYSTEM_ROOT to a folder of images to see examples.</p>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>imgproxy_py</title>
<style>body{{font-family:sans-serif;margin:2em}}td{{padding:.5em;border-bottom:1px solid #ddd;
vertical-align:middle}}code{{font-size:.85em}}</style></head>
<body><h1>imgproxy_py</h1>
<p>An image proxy that speaks imgproxy's URL language. <a href="/health">/health</a></p>
{table}
</body></html>"""
