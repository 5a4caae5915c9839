"""The live status page: counts of the market as HTML, in zh-CN or English."""

from __future__ import annotations

from html import escape

from sparecap.web.i18n import MESSAGES, STATUS_NAMES

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem auto;
  max-width: 52rem; color: #1d2a33; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #cfd8dc; border-radius: .5rem; padding: 1rem 1.5rem; min-width: 8rem; }
.n { font-size: 2rem; font-weight: 600; }
table { border-collapse: collapse; margin-top: 1rem; }
td { padding: .25rem 1rem; border-bottom: 1px solid #eceff1; }
"""


def render_status_page(
    language: str, counts: dict[str, int], by_status: dict[str, int], database: str
) -> str:
    t = MESSAGES[language]
    names = STATUS_NAMES[language]
    other = "en" if language == "zh-CN" else "zh-CN"
    cards = "".join(
        f'<div class="card"><div class="n" id="{key}">{value}</div>'
        f"<div>{escape(t[key])}</div></div>"
        for key, value in counts.items()
    )
    rows = "".join(
        f"<tr><td>{escape(names.get(s, s))}</td><td>{n}</td></tr>"
        for s, n in sorted(by_status.items())
    )
    return f"""<!doctype html>
<html lang="{language}"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>{escape(t["title"])}</title><style>{STYLE}</style></head><body>
<p style="float:right"><a href="/?lang={other}">{escape(t["other_language"])}</a></p>
<h1>{escape(t["title"])}</h1>
<p>{escape(t["tagline"])}</p>
<h2>{escape(t["live"])}</h2>
<div class="cards">{cards}</div>
<h2>{escape(t["by_status"])}</h2>
<table>{rows}</table>
<p>{escape(t["database"])}: {escape(database)} ·
<a href="/docs">{escape(t["api_docs"])}</a> · <a href="/v1/status">/v1/status</a></p>
</body></html>"""
