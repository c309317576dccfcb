"""The web pages of the read-only database, served by the API's app: search, a polymer's page, structure images.

``register(app)`` adds

* ``GET /``: the search page (text/SMILES, SMARTS, similarity, a value range, a group), the results with structure
  images, a download of the selection and plots of the values. Its script (``web/static/search.js``) only reads the
  JSON API and builds the page with ``textContent``: no data is ever parsed as HTML;
* ``GET /polymer/{identifier}``: a polymer's page, rendered on the server (Jinja2, autoescaped) from the same record
  as ``GET /api/v1/polymers/{identifier}``: identity, values with std, n and unit per source and protocol, and the
  processes that made them (``verdi process show PK``);
* ``GET /api/v1/depict.svg?smiles=...``: an RDKit drawing of a repeat unit (SVG), or a 422 ``{"error", "item"}``;
* ``/static/web/``: the page's script and style sheet.

No build toolchain and no CDN: plain HTML, CSS and JavaScript shipped in the package, so the pages work offline.
"""

from __future__ import annotations

import functools
import pathlib

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

WEB = pathlib.Path(__file__).resolve().parent / 'web'
API = '/api/v1'  # as in .app, not imported from it: app.py imports this module
MAX_SMILES = 500
MAX_ATOMS = 200
SIZE_RANGE = (40, 1000)
#: The pages load only their own script, style sheet and images: no inline script could run even if one got in.
PAGE_HEADERS = {'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin'}


class DepictError(ValueError):
    pass


def _sanitise(smiles: str) -> str:
    """The SMILES as drawn: stripped, at most MAX_SMILES printable ASCII characters (what any SMILES is made of)."""
    text = smiles.strip()
    if not text:
        raise DepictError('empty SMILES')
    if len(text) > MAX_SMILES:
        raise DepictError(f'longer than {MAX_SMILES} characters')
    if not all(33 <= ord(c) < 127 for c in text):
        raise DepictError('a SMILES is made of printable ASCII characters without spaces')
    return text


@functools.lru_cache(maxsize=1024)
def depict(smiles: str, width: int = 220, height: int = 160) -> str:
    """An SVG drawing of ``smiles`` (the ``*`` connection points drawn as such). Raises :class:`DepictError`."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Draw import rdMolDraw2D

    text = _sanitise(smiles)
    RDLogger.DisableLog('rdApp.*')
    try:
        mol = Chem.MolFromSmiles(text)
    finally:
        RDLogger.EnableLog('rdApp.*')
    if mol is None:
        raise DepictError(f'unparsable SMILES {text!r}')
    if mol.GetNumAtoms() > MAX_ATOMS:
        raise DepictError(f'{mol.GetNumAtoms()} atoms, more than the {MAX_ATOMS} drawn')
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().clearBackground = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def _fmt(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.6g}'
    return str(value)


def source_label(entry: dict) -> str:
    """How a values Dict's origin is named on the page: ``PI1070 (external:radonpy)``, ``aiida-polyinf (fast)``."""
    source, protocol = entry.get('source') or 'unknown source', entry.get('protocol')
    return f'{source} ({protocol})' if protocol else source


def dict_caption(entry: dict) -> str:
    caption = entry['link']
    if entry.get('descriptor_set'):
        caption += f" ({entry['descriptor_set']})"
    if entry.get('trial') is not None:
        caption += f" trial {entry['trial']}"
    return caption


def sections(value_table: list[dict]) -> list[dict]:
    """The value tables grouped by source and protocol, in the order they first appear; aggregates first."""
    out: dict[str, dict] = {}
    order = {'aggregate': 0, 'properties': 1, 'descriptors': 2}
    for entry in value_table:
        label = source_label(entry)
        section = out.setdefault(label, {'label': label, 'source': entry.get('source'),
                                         'protocol': entry.get('protocol'), 'tables': []})
        section['tables'].append(entry)
    for section in out.values():
        section['tables'].sort(key=lambda e: (order.get(e['link'], 3), e.get('trial') or 0))
    return list(out.values())


def creators(value_table: list[dict]) -> list[dict]:
    """The processes that made the values, once each, with what they made and their inputs."""
    out: dict[int, dict] = {}
    for entry in value_table:
        creator = entry['creator']
        item = out.setdefault(creator['pk'], {**creator, 'verdi': entry['verdi'], 'made': []})
        item['made'].append(f'{source_label(entry)} {dict_caption(entry)}')
    return list(out.values())


def _endpoint(app: FastAPI, path: str):
    for route in app.routes:
        if getattr(route, 'path', None) == path and 'GET' in getattr(route, 'methods', ()):
            return route.endpoint
    raise LookupError(f'the app has no GET {path}')


def _root(request: Request) -> str:
    return request.scope.get('root_path', '')


def _api(request: Request) -> str:
    """The API's path as the browser sees it (behind a proxy that serves the app under a prefix too)."""
    return _root(request) + API


def register(app: FastAPI) -> None:
    """Add the pages, the structure images and the static files to the API's ``app``."""
    templates = Jinja2Templates(directory=str(WEB / 'templates'))
    templates.env.autoescape = True  # every value is escaped, whatever the template's name
    templates.env.filters['fmt'] = _fmt
    templates.env.globals['caption'] = dict_caption
    app.mount('/static/web', StaticFiles(directory=str(WEB / 'static')), name='web')

    @app.get(f'{API}/depict.svg', response_class=Response,
             responses={200: {'content': {'image/svg+xml': {}}}, 422: {'description': 'not a drawable SMILES'}})
    def depict_svg(smiles: str,
                   width: int = Query(220, ge=SIZE_RANGE[0], le=SIZE_RANGE[1]),
                   height: int = Query(160, ge=SIZE_RANGE[0], le=SIZE_RANGE[1])):
        """An SVG drawing of a repeat unit (any SMILES of at most 500 characters and 200 atoms)."""
        try:
            svg = depict(smiles, width, height)
        except DepictError as error:
            return JSONResponse(status_code=422, content={'error': str(error), 'item': 'smiles'})
        return Response(svg, media_type='image/svg+xml', headers={
            'Cache-Control': 'public, max-age=86400', 'X-Content-Type-Options': 'nosniff',
            'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'"})

    @app.get('/', response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request):
        return templates.TemplateResponse(request, 'index.html', {'api': _api(request), 'root': _root(request)},
                                          headers=PAGE_HEADERS)

    @app.get('/polymer/{identifier:path}', response_class=HTMLResponse, include_in_schema=False)
    def polymer_page(request: Request, identifier: str):
        try:
            data = _endpoint(app, f'{API}/polymers/{{identifier}}')(identifier)
        except Exception as error:
            status = getattr(error, 'status', None)  # the API's ApiError: a 4xx naming the item
            if not isinstance(status, int):
                raise
            return templates.TemplateResponse(
                request, 'error.html', {'status': status, 'item': getattr(error, 'item', ''), 'message': str(error),
                                        'identifier': identifier}, status_code=status, headers=PAGE_HEADERS)
        return templates.TemplateResponse(request, 'polymer.html', {
            'api': _api(request), 'p': data, 'sections': sections(data['value_table']),
            'creators': creators(data['value_table'])}, headers=PAGE_HEADERS)
